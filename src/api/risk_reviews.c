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
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/text.h"
#include "risk/decision.h"

#define REVIEWS_PAGE 200 /* held orders listed per request */

/* The program of a rule file version, compiled from its recorded source: decisions are
 * stored packed and explained with the rules that made them. One per request, kept across
 * its rows (a page of reviews is mostly one version). program is NULL when that source no
 * longer compiles here. */
struct decision_programs {
    struct db *db;
    int64_t version;
    struct risk_program *program;
};

static const struct risk_program *decision_program(struct decision_programs *programs,
                                                   int64_t version) {
    if (programs->program != 0 && programs->version == version) return programs->program;
    risk_program_free(programs->program);
    programs->program = 0;
    programs->version = version;
    struct buf source;
    buf_init(&source, LIMIT_RISK_RULE_FILE_BYTES + 1);
    struct risk_diags diags;
    if (store_ruleset_get(programs->db, version, &source) == STATUS_OK &&
        risk_compile(source.data ? source.data : "", source.len, &programs->program, &diags) !=
            STATUS_OK) {
        programs->program = 0;
    }
    buf_free(&source);
    return programs->program;
}

static enum status decision_append_rules(struct buf *out, struct decision_programs *programs,
                                         int64_t version, const void *blob, size_t len) {
    const struct risk_program *program = decision_program(programs, version);
    return program ? risk_decision_render_rules(out, program, blob, len)
                   : buf_append(out, "null", 4);
}

static enum status decision_render(struct buf *out, struct decision_programs *programs,
                                   const struct store_risk_decision *d) {
    char decided[21];
    text_format_time(d->decided_at, decided);
    enum status status = buf_printf(out, "{\"event_row\":%lld,", (long long)d->event_row);
    if (status == STATUS_OK && d->order_id > 0) {
        status = buf_printf(out, "\"order_id\":%lld,", (long long)d->order_id);
    }
    if (status == STATUS_OK) {
        status = buf_printf(out, "\"action\":\"%s\",\"score\":%.2f,", d->action, d->score);
    }
    if (status == STATUS_OK && d->model_score >= 0) {
        status = buf_printf(out, "\"model_score\":%.2f,", d->model_score);
    }
    if (status == STATUS_OK) {
        status = buf_printf(out, "\"decided_at\":\"%s\",\"rules_version\":%lld,\"rules\":", decided,
                            (long long)d->rules_version);
    }
    if (status == STATUS_OK) {
        status =
            decision_append_rules(out, programs, d->rules_version, d->rules.data, d->rules.len);
    }
    if (status == STATUS_OK) status = buf_append(out, ",\"features\":", 12);
    if (status == STATUS_OK) {
        const struct risk_program *program = decision_program(programs, d->rules_version);
        status =
            program ? risk_decision_render_features(out, program, d->features.data, d->features.len)
                    : buf_append(out, "null", 4);
    }
    if (status == STATUS_OK) status = buf_append(out, ",\"event\":", 9);
    if (status == STATUS_OK) status = buf_append(out, d->body.data, d->body.len);
    if (status == STATUS_OK && d->reviewed) {
        char reviewed[21];
        text_format_time(d->reviewed_at, reviewed);
        status = buf_printf(out,
                            ",\"review\":{\"decision\":\"%s\",\"reviewer\":%lld,\"at\":\"%s\","
                            "\"note\":",
                            d->review, (long long)d->reviewer_id, reviewed);
        if (status == STATUS_OK) status = json_append_string(out, d->note);
        if (status == STATUS_OK) status = buf_append(out, "}", 1);
    }
    if (status == STATUS_OK) status = buf_append(out, "}", 1);
    return status;
}

static void decision_answer(struct request *req, int64_t order_id, int64_t event_row) {
    struct store_risk_decision decision;
    memset(&decision, 0, sizeof decision);
    buf_init(&decision.body, LIMIT_RISK_EVENT_BYTES * 2);
    buf_init(&decision.rules, 1 << 20);
    buf_init(&decision.features, 1 << 20);
    struct decision_programs programs = {request_reader(req), 0, 0};
    enum status status = store_risk_decision_get(programs.db, order_id, event_row, &decision);
    if (status == STATUS_OK) status = decision_render(&req->response, &programs, &decision);
    risk_program_free(programs.program);
    buf_free(&decision.body);
    buf_free(&decision.rules);
    buf_free(&decision.features);
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

struct reviews_page {
    struct buf *out;
    struct decision_programs programs;
};

static enum status reviews_row(void *context, const struct store_review *review) {
    struct reviews_page *page = context;
    struct buf *out = page->out;
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
                            "\"created_at\":\"%s\",\"score\":%.2f,\"rules\":",
                            (long long)review->quantity, (long long)review->amount,
                            review->currency, created, review->score);
    }
    if (status == STATUS_OK) {
        status = decision_append_rules(out, &page->programs, review->rules_version, review->rules,
                                       review->rules_len);
    }
    if (status == STATUS_OK) status = buf_append(out, "}", 1);
    return status;
}

void api_risk_reviews_list(struct request *req) {
    enum status status = buf_append(&req->response, "{\"reviews\":[", 12);
    struct reviews_page page = {&req->response, {request_reader(req), 0, 0}};
    if (status == STATUS_OK) {
        status = store_review_each(page.programs.db, REVIEWS_PAGE, reviews_row, &page);
    }
    risk_program_free(page.programs.program);
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
    int64_t event_row; /* a reject's refund event, once recorded */
    struct risk_decision decision;
};

static enum status review_apply(struct db *db, struct api_job *base) {
    struct review_job *job = (struct review_job *)base;
    enum status status = store_review_decide(db, job->order_id, job->approve, job->note,
                                             job->actor_id, base->now_s, &job->order);
    struct risk_live *risk = request_risk(base->req);
    if (status != STATUS_OK || job->approve || risk == 0) return status;
    struct store_user buyer;
    status = store_user_by_id(db, job->order.buyer_id, &buyer);
    if (status != STATUS_OK) return status;
    static struct risk_event event; /* the writer thread's */
    risk_event_refund(&event, buyer.username, &job->order, job->order.amount, "review_reject",
                      base->now_s);
    /* not linked to the order (that link is the order's own decision): attrs.order_id */
    return risk_live_emit(risk, db, &event, &job->decision, &job->event_row, base->now_s);
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
        {"decision", JSON_FIELD_STRING, true, 16, &decision, 0, 0, 0},
        {"note", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &note, 0, 0, 0},
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
