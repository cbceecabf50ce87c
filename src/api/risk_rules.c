/* risk_rules.c — the rule file over HTTP (risk, admin):
 *   GET  /api/v1/risk/rules        the active file (text/plain; X-Rules-Version)
 *   PUT  /api/v1/risk/rules        a new file (text/plain): compiled, its new features
 *                                  rebuilt from the recorded events (offload pool), recorded
 *                                  as the next version and made current; a file that does
 *                                  not compile is refused with its errors and the running
 *                                  one stays
 *   POST /api/v1/risk/rules/test   a candidate file replayed over every recorded event by a
 *                                  fresh engine (on the offload pool, from a read
 *                                  connection): what it would decide, what would change,
 *                                  and AUC / precision / recall where events have labels */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/text.h"
#include "risk/metrics.h"

struct rules_job {
    struct api_job base;
    char *source;
    size_t len;
    int64_t actor_id;
    struct risk_diags diags;
    int64_t version;
    int rules, features, lists;
    struct risk_live_rebuild rebuild; /* PUT */
    struct buf report;                /* rules/test: the answer */
};

static void rules_free(struct rules_job *job) {
    risk_engine_free(job->rebuild.engine); /* one that never went live */
    free(job->source);
    buf_free(&job->report);
    free(job);
}

/* 422 with every compile error. */
static void rules_refused(struct request *req, const struct risk_diags *diags) {
    req->response.len = 0;
    enum status status = buf_printf(&req->response,
                                    "{\"error\":{\"code\":\"invalid_rules\",\"message\":\"%s\","
                                    "\"errors\":[",
                                    status_message(STATUS_INVALID_RULES));
    for (int i = 0; status == STATUS_OK && i < diags->count; i++) {
        const struct risk_diag *d = &diags->items[i];
        status = buf_printf(&req->response, "%s{\"line\":%d,\"col\":%d,\"message\":", i ? "," : "",
                            d->line, d->col);
        if (status == STATUS_OK) status = json_append_string(&req->response, d->message);
        if (status == STATUS_OK) status = buf_append(&req->response, "}", 1);
    }
    if (status == STATUS_OK) {
        status =
            buf_printf(&req->response, "],\"truncated\":%s}}", diags->truncated ? "true" : "false");
    }
    verify(status == STATUS_OK);
    request_json(req, 422);
}

/* The body as a rule file: text/plain, UTF-8 (the compiler also checks, per line). */
static bool rules_body(struct request *req, struct rules_job **out) {
    if (!api_content_type_is(req, "text/plain")) {
        request_error(req, STATUS_UNSUPPORTED_MEDIA, "send the rule file as text/plain");
        return false;
    }
    if (memchr(req->body.data ? req->body.data : "", 0, req->body.len) != 0) {
        request_error(req, STATUS_INVALID_VALUE, "the rule file holds a NUL byte");
        return false;
    }
    struct rules_job *job = mem_calloc(1, sizeof *job);
    job->source = mem_strndup(req->body.data ? req->body.data : "", req->body.len);
    job->len = req->body.len;
    job->actor_id = req->user.id;
    buf_init(&job->report, 1 << 20);
    *out = job;
    return true;
}

void api_risk_rules_get(struct request *req) {
    int64_t version = 0;
    enum status status = store_ruleset_active(request_reader(req), &version, &req->response);
    if (status != STATUS_OK) {
        request_error(req, status, status == STATUS_NOT_FOUND ? "no rule file is recorded yet" : 0);
        return;
    }
    snprintf(req->extra_value_storage, sizeof req->extra_value_storage, "%lld", (long long)version);
    req->extra_header = "X-Rules-Version";
    req->extra_value = req->extra_value_storage;
    request_text(req, 200, "text/plain; charset=utf-8");
}

static enum status rules_put_apply(struct db *db, struct api_job *base) {
    struct rules_job *job = (struct rules_job *)base;
    struct risk_live *risk = request_risk(base->req);
    verify(risk != 0);
    enum status status = risk_live_install(risk, db, job->source, job->len, &job->rebuild,
                                           job->actor_id, base->now_s, &job->diags);
    if (status == STATUS_OK) {
        const struct risk_program *p = risk_engine_program(risk->engine);
        job->version = atomic_load(&risk->version);
        job->rules = p->rule_count;
        job->features = p->feature_count;
        job->lists = p->list_count;
    }
    return status;
}

/* Answers a failed job (422 with the compile errors, or the status's error); false when it
 * succeeded and the caller answers. */
static bool rules_failed(struct request *req, struct rules_job *job) {
    if (job->base.status == STATUS_INVALID_RULES) {
        rules_refused(req, &job->diags);
    } else if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    }
    return job->base.status != STATUS_OK;
}

static void rules_put_finish(struct request *req) {
    struct rules_job *job = req->work;
    if (!rules_failed(req, job)) {
        verify(buf_printf(&req->response,
                          "{\"version\":%lld,\"rules\":%d,\"features\":%d,\"lists\":%d,"
                          "\"rebuilt\":%s,\"replayed\":%llu}",
                          (long long)job->version, job->rules, job->features, job->lists,
                          job->rebuild.rebuilt ? "true" : "false",
                          (unsigned long long)job->rebuild.replayed) == STATUS_OK);
        request_json(req, 200);
    }
    rules_free(job);
}

/* On the offload pool: compile, and rebuild feature state when the file needs it. */
static void rules_put_prepare(void *context) {
    struct rules_job *job = context;
    enum status status =
        risk_live_prepare(request_risk(job->base.req), request_reader(job->base.req), job->source,
                          job->len, &job->rebuild, &job->diags);
    if (status != STATUS_OK) {
        job->base.status = status;
        request_resume(job->base.req);
        return;
    }
    api_job_write_next(&job->base, rules_put_apply);
}

void api_risk_rules_put(struct request *req) {
    struct rules_job *job = 0;
    if (!rules_body(req, &job)) return;
    api_job_offload(req, &job->base, rules_put_prepare, rules_put_finish);
}

/* ---- backtest ---- */

struct backtest {
    struct risk_engine *engine;
    struct risk_metrics metrics;
    uint64_t events, decided, changed, malformed;
    uint64_t actions[RISK_ACTION_COUNT];
};

static enum status backtest_row(void *context, int64_t id, const char *body, size_t len, int label,
                                const char *action) {
    (void)id;
    struct backtest *run = context;
    static _Thread_local struct risk_event event;
    char message[160];
    if (risk_event_parse(body, len, &event, message, sizeof message) != STATUS_OK) {
        run->malformed++;
        return STATUS_OK;
    }
    event.label = label;
    struct risk_decision decision;
    risk_engine_process(run->engine, &event, &decision);
    run->events++;
    if (!decision.decided) return STATUS_OK;
    run->decided++;
    run->actions[decision.action]++;
    if (action[0] != 0 && strcmp(action, risk_action_name(decision.action)) != 0) run->changed++;
    if (label >= 0) risk_metrics_add(&run->metrics, &decision, label);
    return STATUS_OK;
}

static enum status backtest_report(struct backtest *run, struct buf *out) {
    enum status status =
        buf_printf(out,
                   "{\"events\":%llu,\"decided\":%llu,\"changed\":%llu,"
                   "\"malformed\":%llu,\"actions\":{",
                   (unsigned long long)run->events, (unsigned long long)run->decided,
                   (unsigned long long)run->changed, (unsigned long long)run->malformed);
    for (int a = 0; status == STATUS_OK && a < RISK_ACTION_COUNT; a++) {
        status =
            buf_printf(out, "%s\"%s\":%llu", a ? "," : "", risk_action_name((enum risk_action)a),
                       (unsigned long long)run->actions[a]);
    }
    if (status == STATUS_OK) status = buf_append(out, "},\"labeled\":", 12);
    if (status == STATUS_OK && run->metrics.labeled > 0) {
        status = risk_metrics_json(&run->metrics, risk_engine_program(run->engine), out);
    } else if (status == STATUS_OK) {
        status = buf_append(out, "null", 4);
    }
    if (status == STATUS_OK) status = buf_append(out, "}", 1);
    return status;
}

/* On the offload pool: a fresh engine (the live one's model and memory bound, growing as it
 * fills) over the recorded events, read in one transaction of this thread's read
 * connection. */
static void rules_test_run(void *context) {
    struct rules_job *job = context;
    struct risk_live *risk = request_risk(job->base.req); /* only its immutable parts */
    struct backtest run;
    memset(&run, 0, sizeof run);
    struct db *reader = request_reader(job->base.req);
    enum status status = db_begin_read(reader); /* one snapshot: lists and events */
    if (status == STATUS_OK) {
        status =
            risk_live_engine(risk, reader, job->source, job->len, false, &run.engine, &job->diags);
    }
    if (status == STATUS_OK) {
        risk_metrics_init(&run.metrics);
        status = store_risk_event_each(reader, 0, backtest_row, &run);
        if (status == STATUS_OK) status = backtest_report(&run, &job->report);
        risk_metrics_free(&run.metrics);
    }
    db_rollback(reader);
    risk_engine_free(run.engine);
    job->base.status = status;
    request_resume(job->base.req);
}

static void rules_test_finish(struct request *req) {
    struct rules_job *job = req->work;
    if (!rules_failed(req, job)) {
        verify(buf_append(&req->response, job->report.data, job->report.len) == STATUS_OK);
        request_json(req, 200);
    }
    rules_free(job);
}

void api_risk_rules_test(struct request *req) {
    struct rules_job *job = 0;
    if (!rules_body(req, &job)) return;
    api_job_offload(req, &job->base, rules_test_run, rules_test_finish);
}
