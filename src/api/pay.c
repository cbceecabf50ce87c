/* pay.c — payment gateways over HTTP (no login: the gateways call these):
 *   POST|GET /api/v1/pay/{provider}/notify   a gateway's notice: verified on the HTTP thread
 *            (src/pay/, signature first), then applied to its order by the writer in one
 *            transaction (store/payments.c); answered exactly as that gateway expects
 *   GET  /pay/sandbox/{ref}                  the sandbox gateway's payment page for an order
 *   POST /pay/sandbox/{ref}                  "pay" (or "fail") on it: the sandbox signs a notice
 *            and it goes through the same verification and application as any notice
 *   POST /api/v1/orders/{id}/confirmations   (admin) 补单: a payment confirmed by hand
 * A notice that fails verification, names no order of that gateway, or does not match the
 * order's amount or currency changes nothing, is answered as a failure (the gateway retries or
 * gives up) and becomes a risk event. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "pay/form.h"
#include "pay/pay.h"

/* The headers any gateway's notice is verified with. */
static const char *const pay_header_names[] = {
    "Wechatpay-Timestamp", "Wechatpay-Nonce",  "Wechatpay-Signature",
    "Wechatpay-Serial",    "Stripe-Signature", "Sandbox-Signature",
};
#define PAY_HEADER_NAMES (int)(sizeof pay_header_names / sizeof pay_header_names[0])

struct notice_job {
    struct api_job base;
    enum pay_provider provider;
    struct pay_notice notice;
    enum status verified; /* STATUS_OK, or why the notice was refused */
    char reason[160];
    int64_t order_id;
    enum store_payment_outcome outcome;
    struct store_order order;
    int64_t event_row;
    struct risk_decision decision;
    bool html; /* the sandbox page: answer with a page, not the gateway's ack */
};

/* ---- the answer each gateway expects ---- */

static void notice_answer(struct request *req, const struct notice_job *job, bool ok) {
    req->response.len = 0;
    enum status status = STATUS_OK;
    switch (job->provider) {
    case PAY_WECHATPAY: /* 204 acknowledges; anything else is retried */
        if (!ok) {
            status = buf_printf(&req->response, "{\"code\":\"FAIL\",\"message\":");
            if (status == STATUS_OK) status = json_append_string(&req->response, job->reason);
            if (status == STATUS_OK) status = buf_append(&req->response, "}", 1);
        }
        verify(status == STATUS_OK);
        if (ok) {
            request_text(req, 204, "text/plain; charset=utf-8");
        } else {
            request_json(req, 400);
        }
        return;
    case PAY_ALIPAY:
    case PAY_EPAY: /* the body is read: exactly "success", or anything else */
        verify(buf_printf(&req->response, "%s",
                          ok                            ? "success"
                          : job->provider == PAY_ALIPAY ? "failure"
                                                        : "fail") == STATUS_OK);
        request_text(req, ok ? 200 : 400, "text/plain; charset=utf-8");
        return;
    case PAY_STRIPE:
    case PAY_SANDBOX:
    case PAY_PROVIDER_COUNT:
        break;
    }
    if (ok) {
        verify(buf_printf(&req->response, "{\"received\":true}") == STATUS_OK);
        request_json(req, 200);
    } else {
        request_error(req, job->verified != STATUS_OK ? job->verified : STATUS_INVALID_NOTICE,
                      job->reason);
    }
}

/* ---- the writer's side ---- */

/* A refused notice, or a payment, as a risk event of the order's buyer (or "gateway:NAME"
 * when the notice names no order it can be tied to). */
static enum status notice_risk(struct db *db, struct notice_job *job, bool refused) {
    struct risk_live *risk = request_risk(job->base.req);
    if (risk == 0) return STATUS_OK;
    char user[LIMIT_USERNAME_BYTES + 16];
    snprintf(user, sizeof user, "gateway:%s", pay_provider_name(job->provider));
    struct store_order order;
    struct store_user buyer;
    if (job->order_id > 0 && store_order_get(db, job->order_id, &order) == STATUS_OK &&
        store_user_by_id(db, order.buyer_id, &buyer) == STATUS_OK) {
        (void)text_copy(user, sizeof user, buyer.username);
    }
    static struct risk_event event; /* the writer thread's */
    risk_event_notice(&event, user, pay_provider_name(job->provider), &job->notice,
                      refused ? job->reason : 0, job->base.now_s);
    return risk_live_emit(risk, db, &event, &job->decision, &job->event_row, job->base.now_s);
}

static enum status notice_apply(struct db *db, struct api_job *base) {
    struct notice_job *job = (struct notice_job *)base;
    if (job->verified != STATUS_OK) return notice_risk(db, job, true);
    struct store_payment payment = {pay_provider_name(job->provider),
                                    job->order_id,
                                    job->notice.transaction,
                                    job->notice.event,
                                    job->notice.amount,
                                    job->notice.currency};
    enum status status = store_payment_apply(db, &payment, base->now_s, &job->outcome, &job->order);
    if (status == STATUS_OK && job->provider == PAY_SANDBOX) /* its own record, for queries */
        status = store_sandbox_record(db, job->notice.order_ref, job->notice.transaction,
                                      job->notice.amount, job->notice.currency, base->now_s);
    if (status == STATUS_UNKNOWN_ORDER || status == STATUS_PAYMENT_MISMATCH) {
        /* nothing was written; the refusal is what gets recorded */
        job->verified = status;
        snprintf(job->reason, sizeof job->reason, "%s", status_message(status));
        return notice_risk(db, job, true);
    }
    if (status == STATUS_OK && job->outcome != STORE_PAYMENT_REPEATED)
        status = notice_risk(db, job, false);
    return status;
}

static void notice_log(const struct notice_job *job) {
    static const char *const outcomes[] = {"applied", "repeated", "duplicate: refund due",
                                           "late: refund due"};
    if (job->verified != STATUS_OK) {
        log_warn("pay: %s notice refused: %s", pay_provider_name(job->provider), job->reason);
    } else {
        log_info("pay: %s payment for order %lld %s", pay_provider_name(job->provider),
                 (long long)job->order_id, outcomes[job->outcome]);
    }
}

static void sandbox_page_paid(struct request *req, const struct notice_job *job, bool ok);

static void notice_finish(struct request *req) {
    struct notice_job *job = req->work;
    bool ok = job->base.status == STATUS_OK && job->verified == STATUS_OK;
    if (job->base.status != STATUS_OK && job->verified == STATUS_OK) {
        job->verified = job->base.status; /* busy or a database error: the gateway retries */
        snprintf(job->reason, sizeof job->reason, "%s", status_message(job->base.status));
    }
    notice_log(job);
    if (job->html) {
        sandbox_page_paid(req, job, ok);
    } else {
        notice_answer(req, job, ok);
    }
    free(job);
}

/* ---- the HTTP thread's side ---- */

/* Verifies body (with the request's headers) as provider's notice, then queues it. */
static void notice_submit(struct request *req, struct notice_job *job, const char *body, size_t len,
                          const struct pay_header *headers, int header_count) {
    struct pay_request notice = {body, len, headers, header_count, clock_now_s()};
    job->verified = pay_verify(request_pay(req), job->provider, &notice, &job->notice, 0,
                               job->reason, sizeof job->reason);
    if (job->verified == STATUS_OK && !job->notice.paid) {
        /* a gateway telling us a payment did not happen (closed, failed): nothing to do */
        log_info("pay: %s notice for %s says %s", pay_provider_name(job->provider),
                 job->notice.order_ref, job->notice.state);
        if (job->html) {
            sandbox_page_paid(req, job, false);
        } else {
            notice_answer(req, job, true);
        }
        free(job);
        return;
    }
    if (job->verified == STATUS_OK &&
        (!job->notice.has_amount ||
         !store_order_ref_parse(job->notice.order_ref, &job->order_id))) {
        job->verified = STATUS_INVALID_NOTICE;
        snprintf(job->reason, sizeof job->reason, "the notice names no order of this shop");
    }
    api_job_write(req, &job->base, notice_apply, notice_finish);
}

void api_pay_notify(struct request *req) {
    enum pay_provider provider = PAY_SANDBOX;
    if (!pay_provider_parse(req->params[0], &provider) ||
        !pay_provider_on(request_pay(req), provider)) {
        request_error(req, STATUS_NOT_FOUND, "no such payment provider is set up here");
        return;
    }
    struct pay_header headers[PAY_HEADER_NAMES];
    int count = 0;
    for (int i = 0; i < PAY_HEADER_NAMES; i++) {
        const char *value = request_header(req, pay_header_names[i]);
        if (value != 0) headers[count++] = (struct pay_header){pay_header_names[i], value};
    }
    struct notice_job *job = mem_calloc(1, sizeof *job);
    job->provider = provider;
    if (strcmp(req->method, "GET") == 0) {
        struct buf query;
        buf_init(&query, LIMIT_PAY_NOTICE_BYTES);
        if (request_query(req, &query) != STATUS_OK) {
            free(job);
            buf_free(&query);
            request_error(req, STATUS_URI_TOO_LONG, 0);
            return;
        }
        notice_submit(req, job, query.data ? query.data : "", query.len, headers, count);
        buf_free(&query); /* verified before notice_submit returned: nothing points into it */
        return;
    }
    notice_submit(req, job, req->body.data ? req->body.data : "", req->body.len, headers, count);
}

/* ---- the sandbox gateway's page ---- */

static bool sandbox_order(struct request *req, struct store_order *order) {
    int64_t id = 0;
    if (!pay_provider_on(request_pay(req), PAY_SANDBOX) ||
        !store_order_ref_parse(req->params[0], &id) ||
        store_order_get(request_reader(req), id, order) != STATUS_OK ||
        strcmp(order->provider, "sandbox") != 0) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return false;
    }
    return true;
}

static void sandbox_html(struct request *req, unsigned http, const char *title,
                         const struct store_order *order, const char *text, bool form) {
    char ref[24];
    store_order_ref(order->id, ref);
    req->response.len = 0;
    enum status status = buf_printf(
        &req->response,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Sandbox gateway — %s</title><style>body{font:16px system-ui;margin:3em auto;"
        "max-width:32em}button{font-size:1em;padding:.5em 1.5em;margin-right:1em}</style>"
        "</head><body><h1>%s</h1><p>Order <b>%s</b>: %lld × SKU <code>",
        title, title, ref, (long long)order->quantity);
    struct buf escaped;
    buf_init(&escaped, 4 * LIMIT_SKU_BYTES + 1);
    for (const char *p = order->sku; status == STATUS_OK && *p; p++) {
        const char *entity = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : 0;
        status = entity ? buf_append(&escaped, entity, strlen(entity)) : buf_append(&escaped, p, 1);
    }
    if (status == STATUS_OK) {
        status =
            buf_printf(&req->response, "%s</code>, %lld.%02lld %s. Status: <b>%s</b>.</p><p>%s</p>",
                       escaped.data ? escaped.data : "", (long long)(order->amount / 100),
                       (long long)(order->amount % 100), order->currency, order->status, text);
    }
    buf_free(&escaped);
    if (status == STATUS_OK && form) {
        status = buf_printf(&req->response,
                            "<form method=\"post\"><button name=\"outcome\" value=\"paid\">Pay"
                            "</button><button name=\"outcome\" value=\"failed\">Fail</button>"
                            "<button name=\"outcome\" value=\"paid_lost\">Pay, lose the "
                            "notice</button></form>");
    }
    if (status == STATUS_OK) status = buf_printf(&req->response, "</body></html>");
    verify(status == STATUS_OK);
    request_text(req, http, "text/html; charset=utf-8");
}

void api_pay_sandbox_page(struct request *req) {
    struct store_order order;
    if (!sandbox_order(req, &order)) return;
    bool pending = strcmp(order.status, "pending_payment") == 0;
    sandbox_html(req, 200, "Sandbox payment", &order,
                 pending ? "This is Tessera's built-in test gateway: no money moves."
                         : "This order is not waiting for a payment.",
                 pending);
}

static void sandbox_page_paid(struct request *req, const struct notice_job *job, bool ok) {
    struct store_order order;
    if (store_order_get(request_reader(req), job->order_id, &order) != STATUS_OK) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    char text[220];
    snprintf(text, sizeof text, "%s",
             !job->notice.paid ? "The payment failed: the order still waits for one."
             : !ok             ? job->reason
             : strcmp(order.status, "review") == 0
                 ? "Paid. A person reviews the order before its codes are released."
                 : "Paid. The buyer's codes are in GET /api/v1/orders/ID/codes.");
    sandbox_html(req, ok || !job->notice.paid ? 200 : 409, ok ? "Paid" : "Not paid", &order, text,
                 false);
}

/* "Pay, lose the notice": the sandbox takes the money but its notice never arrives, as
 * happens with real gateways; reconciliation (api/pay_worker.c) finds the payment. */
struct sandbox_lost_job {
    struct api_job base;
    struct store_order order;
    char ref[24];
    char transaction[LIMIT_PAY_REF_BYTES + 1];
};

static enum status sandbox_lost_apply(struct db *db, struct api_job *base) {
    struct sandbox_lost_job *job = (struct sandbox_lost_job *)base;
    return store_sandbox_record(db, job->ref, job->transaction, job->order.amount,
                                job->order.currency, base->now_s);
}

static void sandbox_lost_finish(struct request *req) {
    struct sandbox_lost_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        sandbox_html(req, 200, "Paid, notice lost", &job->order,
                     "The sandbox took the payment but sent no notice. Tessera's reconciliation "
                     "asks the sandbox about pending orders and will apply it.",
                     false);
    }
    free(job);
}

static void sandbox_pay_lost(struct request *req, const struct store_order *order) {
    struct sandbox_lost_job *job = mem_calloc(1, sizeof *job);
    job->order = *order;
    store_order_ref(order->id, job->ref);
    unsigned char random[12];
    randombytes_buf(random, sizeof random);
    char hex[2 * sizeof random + 1];
    sodium_bin2hex(hex, sizeof hex, random, sizeof random);
    snprintf(job->transaction, sizeof job->transaction, "sbx_%s", hex);
    api_job_write(req, &job->base, sandbox_lost_apply, sandbox_lost_finish);
}

void api_pay_sandbox_pay(struct request *req) {
    struct store_order order;
    if (!sandbox_order(req, &order)) return;
    struct pay_form form;
    char reason[120];
    const char *outcome = 0;
    if (pay_form_parse(req->body.data ? req->body.data : "", req->body.len, &form, reason,
                       sizeof reason) == STATUS_OK) {
        outcome = pay_form_get(&form, "outcome");
    }
    bool paid = outcome != 0 && strcmp(outcome, "paid") == 0;
    bool failed = outcome != 0 && strcmp(outcome, "failed") == 0;
    bool lost = outcome != 0 && strcmp(outcome, "paid_lost") == 0;
    if (outcome != 0) pay_form_free(&form);
    if (!paid && !failed && !lost) {
        request_error(req, STATUS_INVALID_VALUE, "the form's outcome is paid, failed or paid_lost");
        return;
    }
    if (lost) {
        sandbox_pay_lost(req, &order);
        return;
    }
    char ref[24], header[PAY_SIGNATURE_HEADER_BYTES];
    store_order_ref(order.id, ref);
    struct buf notice;
    buf_init(&notice, LIMIT_PAY_NOTICE_BYTES);
    if (pay_sandbox_notice(request_pay(req), ref, order.amount, order.currency, paid, clock_now_s(),
                           &notice, header) != STATUS_OK) {
        buf_free(&notice);
        request_error(req, STATUS_NOMEM, 0);
        return;
    }
    struct notice_job *job = mem_calloc(1, sizeof *job);
    job->provider = PAY_SANDBOX;
    job->html = true;
    job->order_id = order.id;
    struct pay_header signature = {"Sandbox-Signature", header};
    notice_submit(req, job, notice.data, notice.len, &signature, 1);
    buf_free(&notice);
}

/* ---- 补单: a payment confirmed by hand (admin) ----
 * POST /api/v1/orders/{id}/confirmations {"transaction","reason"}: 200 with the order when
 * applied; 202 {"order_id","status":"awaiting_second_admin"} when the amount needs a second
 * admin; 409 second_admin_required when the same admin confirms twice. */

struct confirm_job {
    struct api_job base;
    int64_t order_id, actor_id, second_above;
    char transaction[LIMIT_PAY_REF_BYTES + 1];
    char reason[LIMIT_REASON_BYTES + 1];
    bool awaiting;
    enum store_payment_outcome outcome;
    struct store_order order;
};

static enum status confirm_apply(struct db *db, struct api_job *base) {
    struct confirm_job *job = (struct confirm_job *)base;
    return store_payment_confirm(db, job->order_id, job->transaction, job->reason, job->actor_id,
                                 job->second_above, base->now_s, &job->awaiting, &job->outcome,
                                 &job->order);
}

static void confirm_finish(struct request *req) {
    struct confirm_job *job = req->work;
    static const char *const outcomes[] = {"applied", "repeated", "duplicate", "late"};
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else if (job->awaiting) {
        verify(buf_printf(&req->response,
                          "{\"order_id\":%lld,\"status\":\"awaiting_second_admin\"}",
                          (long long)job->order_id) == STATUS_OK);
        request_json(req, 202);
    } else {
        verify(buf_printf(&req->response,
                          "{\"order_id\":%lld,\"payment\":\"%s\",\"status\":\"%s\"}",
                          (long long)job->order_id, outcomes[job->outcome],
                          job->order.status) == STATUS_OK);
        request_json(req, 200);
    }
    free(job);
}

void api_pay_confirm(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    const char *transaction = 0, *reason = 0;
    struct json_field fields[] = {
        {"transaction", JSON_FIELD_STRING, true, LIMIT_PAY_REF_BYTES, &transaction, 0, 0, 0},
        {"reason", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &reason, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 2, &root)) return;
    struct confirm_job *job = mem_calloc(1, sizeof *job);
    job->order_id = id;
    job->actor_id = req->user.id;
    job->second_above = pay_second_admin_above(request_pay(req));
    (void)text_copy(job->transaction, sizeof job->transaction, transaction);
    (void)text_copy(job->reason, sizeof job->reason, reason);
    json_decref(root);
    api_job_write(req, &job->base, confirm_apply, confirm_finish);
}
