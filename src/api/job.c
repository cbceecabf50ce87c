/* job.c — running a handler's work on the writer or the offload pool, and shared answer
 * helpers. The request stays suspended from hand-off until its finish callback. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "http/metrics.h"
#include "http/offload.h"

static enum status api_job_apply(struct db *db, struct writer_cmd *cmd) {
    struct api_job *job = (struct api_job *)cmd;
    if (job->applied_ns == 0) job->applied_ns = clock_monotonic_ns(); /* a re-run keeps it */
    return job->apply(db, job);
}

static void api_job_done(struct writer_cmd *cmd) {
    struct api_job *job = (struct api_job *)cmd;
    job->status = cmd->status;
    if (job->applied_ns != 0) { /* 0: the batch failed before this command ran */
        metrics_stage(METRICS_STAGE_WRITER_QUEUE, job->applied_ns - job->submitted_ns);
        metrics_stage(METRICS_STAGE_WRITER_DURABLE, clock_monotonic_ns() - job->applied_ns);
    }
    request_resume(job->req);
}

void api_job_write_next(struct api_job *job, api_apply_fn apply) {
    verify(job != 0 && apply != 0);
    job->apply = apply;
    job->cmd.apply = api_job_apply;
    job->cmd.done = api_job_done;
    if (job->now_s == 0) job->now_s = clock_now_s();
    job->submitted_ns = clock_monotonic_ns();
    job->applied_ns = 0;
    if (writer_submit(request_writer(job->req), &job->cmd) != STATUS_OK) {
        job->status = STATUS_BUSY;
        request_resume(job->req);
    }
}

void api_job_write(struct request *req, struct api_job *job, api_apply_fn apply,
                   request_finish_fn finish) {
    verify(req != 0 && job != 0 && finish != 0);
    job->req = req;
    request_wait(req, finish, job);
    api_job_write_next(job, apply);
}

void api_job_offload_to(struct request *req, struct offload *pool, struct api_job *job,
                        void (*fn)(void *), request_finish_fn finish) {
    verify(req != 0 && pool != 0 && job != 0 && fn != 0 && finish != 0);
    job->req = req;
    request_wait(req, finish, job);
    if (offload_submit(pool, fn, job) != STATUS_OK) {
        job->status = STATUS_BUSY;
        request_resume(req);
    }
}

void api_job_offload(struct request *req, struct api_job *job, void (*fn)(void *),
                     request_finish_fn finish) {
    api_job_offload_to(req, request_offload(req), job, fn, finish);
}

bool api_parse(struct request *req, struct json_field *fields, int count, json_t **root) {
    char message[160];
    enum status status = json_parse_fields(req->body.data, req->body.len, fields, count, root,
                                           message, sizeof message);
    if (status == STATUS_OK) return true;
    request_error(req, status, message[0] ? message : 0);
    return false;
}

enum status api_append_codes(struct request *req, const struct store_order_result *result) {
    enum status status = buf_append(&req->response, "[", 1);
    char code[LIMIT_CODE_BYTES + 1];
    for (int i = 0; status == STATUS_OK && i < result->code_count; i++) {
        const struct store_sealed_code *sealed = &result->codes[i];
        size_t len = 0;
        status = vault_code_open(request_vault(req), sealed->id, sealed->sealed, sealed->len, code,
                                 sizeof code, &len);
        if (status != STATUS_OK) {
            log_error("api: code %lld of order %lld failed authentication", (long long)sealed->id,
                      (long long)result->order.id);
            break;
        }
        if (i > 0) status = buf_append(&req->response, ",", 1);
        if (status == STATUS_OK) status = json_append_string(&req->response, code);
    }
    memset(code, 0, sizeof code);
    if (status == STATUS_OK) status = buf_append(&req->response, "]", 1);
    return status;
}

bool api_content_type_is(struct request *req, const char *type) {
    verify(req != 0 && type != 0);
    const char *header = request_header(req, "Content-Type");
    if (header == 0) return false;
    size_t len = strcspn(header, "; ");
    return len == strlen(type) && strncasecmp(header, type, len) == 0;
}

bool api_parse_id(const char *text, int64_t *id) {
    verify(text != 0 && id != 0);
    /* one spelling per id: "01" is not order 1 */
    return text[0] != '0' && text_parse_int(text, strlen(text), id) == STATUS_OK && *id > 0;
}

bool api_idempotency_key(struct request *req, bool required, const char **key) {
    verify(req != 0 && key != 0);
    *key = request_header(req, "Idempotency-Key");
    if (*key == 0 || ((*key)[0] == 0 && required)) {
        if (!required) return true;
        request_error(req, STATUS_MISSING_IDEMPOTENCY, 0);
        return false;
    }
    size_t len = strlen(*key);
    if (len == 0 || len > LIMIT_IDEMPOTENCY_KEY_BYTES || !text_printable(*key, len)) {
        request_error(req, STATUS_INVALID_VALUE,
                      "Idempotency-Key must be 1 to 128 bytes of printable UTF-8");
        return false;
    }
    return true;
}
