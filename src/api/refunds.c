/* refunds.c — after-sales on an order (support, admin; its buyer may read):
 *   POST /api/v1/orders/{id}/invalid-codes {"codes":["…"],"reason"}   codes the buyer reported
 *        as not working, marked invalid: 200 {"order_id","marked","invalid_codes",
 *        "refunded","refundable"}
 *   POST /api/v1/orders/{id}/refunds {"amount","reason"} [Idempotency-Key]   a refund back to
 *        where the money came from: 201 with the refund — "succeeded" for a wallet order,
 *        "pending" for a gateway order until its provider accepts it (api/pay_worker.c)
 *   GET  /api/v1/orders/{id}/refunds   the order's refunds and what is still refundable
 *   POST /api/v1/refunds/{id}/settlement (admin)   a person settles a refund whose outcome
 *        at the provider is unknown, or sends a failed refund of a payment owed back again
 * Codes the buyer was shown are refundable only once marked invalid (store/refunds.c). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/text.h"

/* A refund as JSON; the provider's error text only for staff (staff), never for the buyer. */
static enum status refund_append(struct buf *out, const struct store_refund *refund, bool staff) {
    char created[21];
    text_format_time(refund->created_at, created);
    enum status status = buf_printf(
        out,
        "{\"id\":%lld,\"order_id\":%lld,\"kind\":\"%s\",\"amount\":%lld,\"currency\":\"%s\","
        "\"instrument\":\"%s\",\"status\":\"%s\",\"created_at\":\"%s\"",
        (long long)refund->id, (long long)refund->order_id, refund->kind, (long long)refund->amount,
        refund->currency, refund->instrument, refund->status, created);
    if (status == STATUS_OK && refund->provider[0] != 0)
        status = buf_printf(out, ",\"provider\":\"%s\"", refund->provider);
    if (status == STATUS_OK && refund->settled_at > 0) {
        char settled[21];
        text_format_time(refund->settled_at, settled);
        status = buf_printf(out, ",\"settled_at\":\"%s\"", settled);
    }
    if (status == STATUS_OK && refund->provider_refund_id[0] != 0) {
        status = buf_printf(out, ",\"provider_refund_id\":");
        if (status == STATUS_OK) status = json_append_string(out, refund->provider_refund_id);
    }
    if (status == STATUS_OK && staff && refund->last_error[0] != 0) {
        status = buf_printf(out, ",\"error\":");
        if (status == STATUS_OK) status = json_append_string(out, refund->last_error);
    }
    return status == STATUS_OK ? buf_append(out, "}", 1) : status;
}

/* The refund's risk event, of the order's buyer. The event, its decision and its row live in
 * the job: a batch re-run records the same decision again instead of deciding twice. */
struct refund_event {
    struct risk_event event;
    struct risk_decision decision;
    int64_t row; /* 0 until decided */
};

static enum status refund_risk(struct db *db, struct api_job *base, const struct store_order *order,
                               int64_t amount, struct refund_event *record) {
    struct risk_live *risk = request_risk(base->req);
    if (risk == 0) return STATUS_OK;
    struct store_user buyer;
    enum status status = store_user_by_id(db, order->buyer_id, &buyer);
    if (status != STATUS_OK) return status;
    if (record->row == 0)
        risk_event_refund(&record->event, buyer.username, order, amount, "refund", base->now_s);
    return risk_live_emit(risk, db, &record->event, &record->decision, &record->row, base->now_s);
}

/* ---- POST /api/v1/orders/{id}/invalid-codes ---- */

struct report_job {
    struct api_job base;
    int64_t order_id, actor_id;
    char reason[LIMIT_REASON_BYTES + 1];
    int count, bad_index, marked;
    char codes[LIMIT_REPORT_CODES][LIMIT_CODE_BYTES + 1]; /* wiped when freed */
    const char *code_list[LIMIT_REPORT_CODES];
    struct store_order order;
    struct store_refundable refundable;
};

static void report_free(struct report_job *job) {
    sodium_memzero(job->codes, sizeof job->codes);
    free(job);
}

static enum status report_apply(struct db *db, struct api_job *base) {
    struct report_job *job = (struct report_job *)base;
    return store_codes_report(db, request_vault(base->req), job->order_id, job->code_list,
                              job->count, job->reason, job->actor_id, base->now_s, &job->bad_index,
                              &job->marked, &job->order, &job->refundable);
}

static void report_finish(struct request *req) {
    struct report_job *job = req->work;
    if (job->base.status == STATUS_INVALID_VALUE && job->bad_index >= 0) {
        char message[96];
        snprintf(message, sizeof message, "codes[%d] is not one of this order's codes",
                 job->bad_index);
        request_error(req, STATUS_INVALID_VALUE, message);
    } else if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        verify(buf_printf(&req->response,
                          "{\"order_id\":%lld,\"marked\":%d,\"invalid_codes\":%lld,"
                          "\"refunded\":%lld,\"refundable\":%lld,\"currency\":\"%s\"}",
                          (long long)job->order_id, job->marked,
                          (long long)job->refundable.invalid_codes,
                          (long long)job->refundable.refunded,
                          (long long)job->refundable.refundable, job->order.currency) == STATUS_OK);
        request_json(req, 200);
    }
    report_free(job);
}

void api_orders_invalid_codes(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    const char *reason = 0;
    json_t *codes = 0, *root = 0;
    struct json_field fields[] = {
        {"codes", JSON_FIELD_ARRAY, true, 0, 0, 0, 0, &codes},
        {"reason", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &reason, 0, 0, 0},
    };
    if (!api_parse(req, fields, 2, &root)) return;
    size_t count = json_array_size(codes);
    if (count == 0 || count > LIMIT_REPORT_CODES) {
        json_decref(root);
        char message[96];
        snprintf(message, sizeof message, "codes must hold 1 to %d codes", LIMIT_REPORT_CODES);
        request_error(req, STATUS_INVALID_VALUE, message);
        return;
    }
    struct report_job *job = mem_calloc(1, sizeof *job);
    for (size_t i = 0; i < count; i++) {
        json_t *code = json_array_get(codes, i);
        size_t len = json_is_string(code) ? json_string_length(code) : 0;
        if (len == 0 || len > LIMIT_CODE_BYTES || memchr(json_string_value(code), 0, len) != 0) {
            json_decref(root);
            report_free(job);
            char message[96];
            snprintf(message, sizeof message, "codes[%zu] must be a code of 1 to %d bytes", i,
                     LIMIT_CODE_BYTES);
            request_error(req, STATUS_INVALID_FIELD, message);
            return;
        }
        memcpy(job->codes[job->count], json_string_value(code), len);
        job->code_list[job->count] = job->codes[job->count];
        job->count++;
    }
    job->order_id = id;
    job->actor_id = req->user.id;
    (void)text_copy(job->reason, sizeof job->reason, reason);
    json_decref(root);
    api_job_write(req, &job->base, report_apply, report_finish);
}

/* ---- POST /api/v1/orders/{id}/refunds ---- */

struct refund_job {
    struct api_job base;
    struct store_refund_request request;
    char reason[LIMIT_REASON_BYTES + 1];
    char key[LIMIT_IDEMPOTENCY_KEY_BYTES + 1];
    bool replayed;
    struct store_refund refund;
    struct refund_event risk;
};

static enum status refund_apply(struct db *db, struct api_job *base) {
    struct refund_job *job = (struct refund_job *)base;
    job->request.now_s = base->now_s;
    enum status status = store_refund_create(db, &job->request, &job->replayed, &job->refund);
    if (status != STATUS_OK || job->replayed) return status;
    struct store_order order;
    status = store_order_get(db, job->refund.order_id, &order);
    return status == STATUS_OK ? refund_risk(db, base, &order, job->refund.amount, &job->risk)
                               : status;
}

static void refund_finish(struct request *req) {
    struct refund_job *job = req->work;
    enum status status = job->base.status;
    if (status == STATUS_OK) status = refund_append(&req->response, &job->refund, true);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
    } else {
        request_json(req, job->replayed ? 200 : 201);
    }
    free(job);
}

void api_orders_refund(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    const char *key = 0;
    if (!api_idempotency_key(req, false, &key)) return;
    int64_t amount = 0;
    const char *reason = 0;
    struct json_field fields[] = {
        {"amount", JSON_FIELD_INT, true, 0, 0, &amount, 0, 0},
        {"reason", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &reason, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 2, &root)) return;
    if (amount <= 0 || amount > LIMIT_AMOUNT_MINOR) {
        json_decref(root);
        request_error(req, STATUS_INVALID_AMOUNT,
                      "amount must be a positive number of minor units");
        return;
    }
    struct refund_job *job = mem_calloc(1, sizeof *job);
    (void)text_copy(job->reason, sizeof job->reason, reason);
    json_decref(root);
    if (key != 0) (void)text_copy(job->key, sizeof job->key, key);
    job->request = (struct store_refund_request){.order_id = id,
                                                 .amount = amount,
                                                 .actor_id = req->user.id,
                                                 .reason = job->reason,
                                                 .idempotency_key = key != 0 ? job->key : 0};
    api_job_write(req, &job->base, refund_apply, refund_finish);
}

/* ---- GET /api/v1/orders/{id}/refunds ---- */

struct refund_list {
    struct buf *out;
    int count;
    bool staff;
};

static enum status refund_list_one(void *context, const struct store_refund *refund) {
    struct refund_list *list = context;
    enum status status = list->count++ > 0 ? buf_append(list->out, ",", 1) : STATUS_OK;
    return status == STATUS_OK ? refund_append(list->out, refund, list->staff) : status;
}

void api_orders_refunds_list(struct request *req) {
    int64_t id = 0;
    struct store_order order;
    struct db *db = request_reader(req);
    enum status status =
        api_parse_id(req->params[0], &id) ? store_order_get(db, id, &order) : STATUS_UNKNOWN_ORDER;
    if (status == STATUS_OK && req->user.role == ROLE_BUYER && order.buyer_id != req->user.id)
        status = STATUS_UNKNOWN_ORDER; /* another buyer's order does not exist for you */
    struct store_refundable refundable = {0, 0, 0};
    if (status == STATUS_OK) status = store_order_refundable(db, &order, &refundable);
    if (status == STATUS_OK)
        status = buf_printf(&req->response,
                            "{\"order_id\":%lld,\"amount\":%lld,\"currency\":\"%s\","
                            "\"invalid_codes\":%lld,\"refunded\":%lld,\"refundable\":%lld,"
                            "\"refunds\":[",
                            (long long)id, (long long)order.amount, order.currency,
                            (long long)refundable.invalid_codes, (long long)refundable.refunded,
                            (long long)refundable.refundable);
    struct refund_list list = {&req->response, 0, req->user.role != ROLE_BUYER};
    if (status == STATUS_OK) status = store_refund_each(db, id, refund_list_one, &list);
    if (status == STATUS_OK) status = buf_append(&req->response, "]}", 2);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

/* ---- POST /api/v1/refunds/{id}/settlement (admin) ----
 * {"outcome":"succeeded"|"failed"|"retry","reason"[,"provider_refund_id"]}: a person settles
 * a refund the payment worker could not (status unknown: checked at the provider), or has a
 * failed refund of a payment owed back sent again. */

struct settle_job {
    struct api_job base;
    int64_t refund_id, actor_id;
    enum store_refund_resolution resolution;
    char reason[LIMIT_REASON_BYTES + 1];
    char provider_refund_id[LIMIT_PAY_REF_BYTES + 1];
    struct store_refund refund;
};

static enum status settle_apply(struct db *db, struct api_job *base) {
    struct settle_job *job = (struct settle_job *)base;
    return store_refund_resolve(db, job->refund_id, job->resolution, job->provider_refund_id,
                                job->reason, job->actor_id, base->now_s, &job->refund);
}

static void settle_finish(struct request *req) {
    struct settle_job *job = req->work;
    enum status status = job->base.status;
    if (status == STATUS_OK) status = refund_append(&req->response, &job->refund, true);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
    } else {
        request_json(req, 200);
    }
    free(job);
}

void api_refunds_settle(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_REFUND, 0);
        return;
    }
    const char *outcome = 0, *reason = 0, *provider_refund_id = 0;
    struct json_field fields[] = {
        {"outcome", JSON_FIELD_STRING, true, 16, &outcome, 0, 0, 0},
        {"reason", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &reason, 0, 0, 0},
        {"provider_refund_id", JSON_FIELD_STRING, false, LIMIT_PAY_REF_BYTES, &provider_refund_id,
         0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 3, &root)) return;
    static const char *const names[] = {"succeeded", "failed", "retry"};
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(outcome, names[i]) == 0) which = i;
    if (which < 0) {
        json_decref(root);
        request_error(req, STATUS_INVALID_VALUE, "outcome must be succeeded, failed or retry");
        return;
    }
    struct settle_job *job = mem_calloc(1, sizeof *job);
    job->refund_id = id;
    job->actor_id = req->user.id;
    job->resolution = (enum store_refund_resolution)which;
    (void)text_copy(job->reason, sizeof job->reason, reason);
    if (provider_refund_id != 0)
        (void)text_copy(job->provider_refund_id, sizeof job->provider_refund_id,
                        provider_refund_id);
    json_decref(root);
    api_job_write(req, &job->base, settle_apply, settle_finish);
}
