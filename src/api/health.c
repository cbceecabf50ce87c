/* health.c — liveness and Prometheus metrics. */
#include "api/api.h"
#include "api/pay_worker.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "http/metrics.h"

void api_healthz(struct request *req) {
    verify(buf_append(&req->response, "{\"ok\":true}", 11) == STATUS_OK);
    request_json(req, 200);
}

/* The risk engine's counters (atomics the writer updates). */
static enum status health_risk(struct buf *out, struct risk_live *risk) {
    if (risk == 0) return STATUS_OK;
    enum status status = buf_printf(out,
                                    "# TYPE tessera_risk_events_total counter\n"
                                    "tessera_risk_events_total %llu\n"
                                    "# TYPE tessera_risk_decisions_total counter\n",
                                    (unsigned long long)atomic_load(&risk->events));
    for (int a = 0; status == STATUS_OK && a < RISK_ACTION_COUNT; a++) {
        status = buf_printf(out, "tessera_risk_decisions_total{action=\"%s\"} %llu\n",
                            risk_action_name((enum risk_action)a),
                            (unsigned long long)atomic_load(&risk->actions[a]));
    }
    if (status == STATUS_OK) {
        status = buf_printf(out,
                            "# TYPE tessera_risk_state_keys gauge\n"
                            "tessera_risk_state_keys %llu\n"
                            "# TYPE tessera_risk_state_evictions_total counter\n"
                            "tessera_risk_state_evictions_total %llu\n"
                            "# TYPE tessera_risk_rules_version gauge\n"
                            "tessera_risk_rules_version %lld\n",
                            (unsigned long long)atomic_load(&risk->state_used),
                            (unsigned long long)atomic_load(&risk->state_evictions),
                            (long long)atomic_load(&risk->version));
    }
    return status;
}

/* The payment worker's counters: refunds by outcome, orders reconciled, rounds. */
static enum status health_pay(struct buf *out, struct pay_worker *worker) {
    if (worker == 0) return STATUS_OK;
    struct pay_worker_stats stats;
    pay_worker_stats(worker, &stats);
    return buf_printf(
        out,
        "# TYPE tessera_pay_refunds_total counter\n"
        "tessera_pay_refunds_total{outcome=\"succeeded\"} %llu\n"
        "tessera_pay_refunds_total{outcome=\"failed\"} %llu\n"
        "tessera_pay_refunds_total{outcome=\"retried\"} %llu\n"
        "tessera_pay_refunds_total{outcome=\"unknown\"} %llu\n"
        "# TYPE tessera_pay_orders_reconciled_total counter\n"
        "tessera_pay_orders_reconciled_total %llu\n"
        "# TYPE tessera_pay_worker_rounds_total counter\n"
        "tessera_pay_worker_rounds_total %llu\n",
        (unsigned long long)stats.refunds_succeeded, (unsigned long long)stats.refunds_failed,
        (unsigned long long)stats.refunds_retried, (unsigned long long)stats.refunds_unknown,
        (unsigned long long)stats.orders_reconciled, (unsigned long long)stats.rounds);
}

void api_metrics(struct request *req) {
    enum status status = metrics_render(&req->response, request_reader(req), request_writer(req));
    if (status == STATUS_OK) status = health_risk(&req->response, request_risk(req));
    if (status == STATUS_OK) status = health_pay(&req->response, request_pay_worker(req));
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_text(req, 200, "text/plain; version=0.0.4");
}
