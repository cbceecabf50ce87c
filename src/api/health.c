/* health.c — liveness and Prometheus metrics. */
#include "api/api.h"
#include "base/assert.h"
#include "http/metrics.h"

void api_healthz(struct request *req) {
    verify(buf_append(&req->response, "{\"ok\":true}", 11) == STATUS_OK);
    request_json(req, 200);
}

void api_metrics(struct request *req) {
    enum status status = metrics_render(&req->response, request_reader(req), request_writer(req));
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_text(req, 200, "text/plain; version=0.0.4");
}
