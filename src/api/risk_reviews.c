/* risk_reviews.c — what the engine decided and the people who check it (risk, admin):
 *   GET  /api/v1/risk/decisions/{order_id}  an order's decision: rules fired with reasons,
 *                                           feature values, score, rule version, review
 *   GET  /api/v1/risk/events/{row}          any recorded event's decision (blocked orders
 *                                           have no order: their 403 names this row)
 *   GET  /api/v1/risk/reviews               orders held for review, oldest first
 *   POST /api/v1/risk/reviews/{order_id}    {"decision":"approve"|"reject","note":"…"}:
 *                                           approve delivers, reject releases and refunds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/text.h"

#define REVIEWS_PAGE 200 /* held orders listed per request */

static void decision_answer(struct request *req, int64_t order_id, int64_t event_row) {
    enum status status =
        store_risk_decision_json(request_reader(req), order_id, event_row, &req->response);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

void api_risk_decision_get(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    decision_answer(req, id, 0);
}

void api_risk_event_get(struct request *req) {
    int64_t row = 0;
    if (!api_parse_id(req->params[0], &row)) {
        request_error(req, STATUS_UNKNOWN_DECISION, 0);
        return;
    }
    decision_answer(req, 0, row);
}

static enum status reviews_row(void *context, const struct store_review *review) {
    struct buf *out = context;
    char created[21];
    text_format_time(review->created_at, created);
    enum status status =
        buf_printf(out, "%s{\"order_id\":%lld,\"buyer\":", out->len > 12 ? "," : "",
                   (long long)review->order_id);
    if (status == STATUS_OK) status = json_append_string(out, review->buyer);
    if (status == STATUS_OK) status = buf_append(out, ",\"sku\":", 7);
    if (status == STATUS_OK) status = json_append_string(out, review->sku);
    if (status == STATUS_OK) {
        status = buf_printf(out,
                            ",\"quantity\":%lld,\"amount\":%lld,\"currency\":\"%s\","
                            "\"created_at\":\"%s\",\"score\":%.2f,\"rules\":%s}",
                            (long long)review->quantity, (long long)review->amount,
                            review->currency, created, review->score, review->rules_json);
    }
    return status;
}

void api_risk_reviews_list(struct request *req) {
    enum status status = buf_append(&req->response, "{\"reviews\":[", 12);
    if (status == STATUS_OK) {
        status = store_review_each(request_reader(req), REVIEWS_PAGE, reviews_row, &req->response);
    }
    if (status == STATUS_OK) status = buf_append(&req->response, "]}", 2);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

struct review_job {
    struct api_job base;
    int64_t order_id, actor_id;
    bool approve;
    char note[LIMIT_REASON_BYTES + 1];
    struct store_order order;
};

static enum status review_apply(struct db *db, struct api_job *base) {
    struct review_job *job = (struct review_job *)base;
    return store_review_decide(db, job->order_id, job->approve, job->note, job->actor_id,
                               base->now_s, &job->order);
}

static void review_finish(struct request *req) {
    struct review_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        verify(buf_printf(&req->response,
                          "{\"order_id\":%lld,\"decision\":\"%s\",\"status\":\"%s\"}",
                          (long long)job->order_id, job->approve ? "approve" : "reject",
                          job->order.status) == STATUS_OK);
        request_json(req, 200);
    }
    free(job);
}

void api_risk_review_decide(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    const char *decision = 0, *note = 0;
    struct json_field fields[] = {
        {"decision", JSON_FIELD_STRING, true, 16, &decision, 0, 0},
        {"note", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &note, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 2, &root)) return;
    bool approve = strcmp(decision, "approve") == 0;
    if (!approve && strcmp(decision, "reject") != 0) {
        json_decref(root);
        request_error(req, STATUS_INVALID_VALUE, "decision must be approve or reject");
        return;
    }
    struct review_job *job = mem_calloc(1, sizeof *job);
    job->order_id = id;
    job->actor_id = req->user.id;
    job->approve = approve;
    (void)text_copy(job->note, sizeof job->note, note);
    json_decref(root);
    api_job_write(req, &job->base, review_apply, review_finish);
}
