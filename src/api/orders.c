/* orders.c — POST /api/v1/orders (buyer, wallet, idempotent), GET /api/v1/orders/{id}
 * (its buyer, support, admin) and GET /api/v1/orders/{id}/codes (its buyer; audited).
 * Codes are opened from their seals only here, into the response of their buyer.
 *
 * Every new order gets a risk decision between the checks (stock, funds) and the first
 * write, in the same writer command: allow delivers (201 with codes), review holds codes
 * and money (202, nothing shown), block and challenge write only the recorded event (403). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "pay/config.h"
#include "pay/outbound.h"
#include "pay/pay.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/text.h"
#include "http/metrics.h"

struct order_job {
    struct api_job base;
    char sku[LIMIT_SKU_BYTES + 1];
    char provider[16]; /* "" for a wallet order */
    char idempotency_key[LIMIT_IDEMPOTENCY_KEY_BYTES + 1];
    char username[LIMIT_USERNAME_BYTES + 1];
    struct store_order_request request;
    struct store_order_plan plan;
    int64_t order_id; /* reveal */
    int64_t buyer_id;
    struct store_order_result result;
    /* the risk decision, made once: a batch re-run reuses it */
    struct risk_origin origin;
    struct risk_event event;
    struct risk_decision decision;
    bool decided;
    int64_t event_row;
    enum status refused; /* STATUS_RISK_BLOCKED or STATUS_CHALLENGE_REQUIRED, else OK */
    /* a payment created at the provider (WeChat Pay, Alipay, Stripe) */
    enum status created;
    bool create_ran, abandoned;
    struct pay_create_result *payment; /* allocated when the provider is asked (12 KB: not
                                        * zeroed for every wallet order) */
};

/* The link a provider's API gave for the order: WeChat Pay's code_url (the QR content),
 * Alipay's qr_code (shown as code_url too), Stripe's client_secret (for Stripe.js) with its
 * PaymentIntent. */
static enum status orders_append_link(struct request *req, struct buf *out,
                                      const struct store_order *order, enum pay_provider provider) {
    struct buf link;
    buf_init(&link, LIMIT_PAY_LINK_BYTES + 1);
    char intent[LIMIT_PAY_REF_BYTES + 1];
    enum status status = store_order_link(request_reader(req), order->id, &link, intent);
    /* Alipay's precreate qr_code is, like WeChat Pay's code_url, what the QR code holds */
    const char *name = provider == PAY_STRIPE ? "client_secret" : "code_url";
    if (status == STATUS_OK && link.len > 0) {
        status = buf_printf(out, ",\"%s\":", name);
        if (status == STATUS_OK) status = json_append_string(out, link.data);
    }
    if (status == STATUS_OK && intent[0] != 0) {
        status = buf_printf(out, ",\"provider_payment_id\":");
        if (status == STATUS_OK) status = json_append_string(out, intent);
    }
    buf_free(&link);
    return status;
}

static enum status orders_append(struct request *req, struct buf *out,
                                 const struct store_order *order) {
    char created[21];
    text_format_time(order->created_at, created);
    /* built by appends, not printf: this answers every order */
    struct {
        const char *key; /* the text before the value */
        int64_t number;
        const char *text; /* a JSON string when set, else number */
    } fields[] = {
        {"{\"id\":", order->id, 0},
        {",\"status\":", 0, order->status},
        {",\"sku\":", 0, order->sku},
        {",\"product_name\":", 0, order->product_name},
        {",\"quantity\":", order->quantity, 0},
        {",\"unit_price\":", order->unit_price, 0},
        {",\"face_value\":", order->face_value, 0},
        {",\"amount\":", order->amount, 0},
        {",\"currency\":", 0, order->currency},
        {",\"payment\":", 0, order->payment},
        {",\"created_at\":", 0, created},
    };
    enum status status = STATUS_OK;
    for (size_t i = 0; status == STATUS_OK && i < sizeof fields / sizeof fields[0]; i++) {
        status = buf_append(out, fields[i].key, strlen(fields[i].key));
        if (status == STATUS_OK) {
            status = fields[i].text != 0 ? json_append_string(out, fields[i].text)
                                         : text_append_int64(out, fields[i].number);
        }
    }
    if (status == STATUS_OK && order->refunded > 0)
        status = buf_printf(out, ",\"refunded\":%lld", (long long)order->refunded);
    if (status == STATUS_OK && order->provider[0] != 0) {
        char ref[24];
        store_order_ref(order->id, ref);
        status =
            buf_printf(out, ",\"provider\":\"%s\",\"payment_ref\":\"%s\"", order->provider, ref);
    }
    if (status == STATUS_OK && strcmp(order->status, "pending_payment") == 0) {
        char expires[21], ref[24];
        text_format_time(order->expires_at, expires);
        store_order_ref(order->id, ref);
        status = buf_printf(out, ",\"expires_at\":\"%s\"", expires);
        /* where the buyer pays, while this server can still take the order there */
        enum pay_provider provider = PAY_SANDBOX;
        bool known = pay_provider_parse(order->provider, &provider);
        if (status == STATUS_OK && known && pay_creates_remotely(provider))
            status = orders_append_link(req, out, order, provider);
        else if (status == STATUS_OK && known && pay_takes_orders(request_pay(req), provider)) {
            struct buf url;
            buf_init(&url, 8 * PAY_URL_BYTES);
            status =
                pay_url(request_pay(req), provider, ref, order->product_name, order->amount, &url);
            if (status == STATUS_OK) status = buf_printf(out, ",\"pay_url\":");
            if (status == STATUS_OK) status = json_append_string(out, url.data);
            buf_free(&url);
        }
    }
    return status;
}

static void orders_answer_codes(struct request *req, struct order_job *job, unsigned http_status) {
    enum status status = orders_append(req, &req->response, &job->result.order);
    if (status == STATUS_OK) status = buf_append(&req->response, ",\"codes\":", 9);
    if (status == STATUS_OK) status = api_append_codes(req, &job->result);
    if (status == STATUS_OK) status = buf_append(&req->response, "}", 1);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, http_status);
}

static void orders_free(struct order_job *job) {
    store_order_result_free(&job->result);
    free(job->payment);
    free(job);
}

static enum status orders_place_apply(struct db *db, struct api_job *base) {
    struct order_job *job = (struct order_job *)base;
    job->request.now_s = base->now_s;
    job->refused = STATUS_OK;
    enum status status = store_order_prepare(db, &job->request, &job->plan, &job->result);
    if (status != STATUS_OK || job->result.replayed) return status;
    struct risk_live *risk = request_risk(base->req);
    if (risk == 0) {
        return store_order_commit(db, &job->request, &job->plan, STORE_ORDER_DELIVER, &job->result);
    }
    if (!job->decided) {
        risk_event_order(&job->event, &job->origin, job->username, &job->plan, &job->request,
                         base->now_s);
        risk_live_decide(risk, &job->event, &job->decision, &job->event_row);
        job->decided = true;
    }
    job->request.risk_event_id = job->event_row; /* the order names the event deciding it */
    enum risk_action action = job->decision.action;
    if (action == RISK_BLOCK || action == RISK_CHALLENGE) {
        store_order_result_free(&job->result); /* nothing reserved */
        job->refused = action == RISK_BLOCK ? STATUS_RISK_BLOCKED : STATUS_CHALLENGE_REQUIRED;
        return risk_live_record(risk, db, &job->event, &job->decision, job->event_row, 0,
                                base->now_s);
    }
    status = store_order_commit(db, &job->request, &job->plan,
                                action == RISK_REVIEW ? STORE_ORDER_REVIEW : STORE_ORDER_DELIVER,
                                &job->result);
    if (status == STATUS_OK) {
        status = risk_live_record(risk, db, &job->event, &job->decision, job->event_row,
                                  job->result.order.id, base->now_s);
    }
    return status;
}

/* 403 with the recorded decision's row, for support to look up (the reasons are not told:
 * they would teach an attacker the rules). */
static void orders_refused(struct request *req, struct order_job *job) {
    req->response.len = 0;
    enum status status = buf_printf(
        &req->response, "{\"error\":{\"code\":\"%s\",\"message\":", status_code(job->refused));
    if (status == STATUS_OK)
        status = json_append_string(&req->response, status_message(job->refused));
    if (status == STATUS_OK) {
        status = buf_printf(&req->response, ",\"decision\":%lld}}", (long long)job->event_row);
    }
    verify(status == STATUS_OK);
    request_json(req, (unsigned)status_http(job->refused));
}

/* ---- a payment created at the provider (WeChat Pay, Alipay, Stripe) ----
 * The order is written first (pending, codes reserved); then the provider is asked for the
 * payment on the offload pool, never on the writer; then the writer keeps what it answered.
 * A provider that cannot create it leaves nothing waiting: the order is expired at once,
 * its codes back in stock, and the provider's error is the answer. */

static void orders_pending_answer(struct request *req, struct order_job *job);

static enum status orders_link_apply(struct db *db, struct api_job *base) {
    struct order_job *job = (struct order_job *)base;
    if (job->created != STATUS_OK)
        return store_order_abandon(db, job->result.order.id, base->now_s);
    const struct pay_create_result *r = job->payment;
    verify(r != 0); /* created: the provider was asked */
    const char *link = r->code_url[0] ? r->code_url : r->qr_code[0] ? r->qr_code : r->client_secret;
    return store_order_link_set(db, job->result.order.id, link, r->provider_id);
}

static void orders_create_payment(void *arg) {
    struct order_job *job = arg;
    job->create_ran = true;
    const struct store_order *order = &job->result.order;
    enum pay_provider provider = PAY_SANDBOX;
    verify(pay_provider_parse(order->provider, &provider));
    char ref[24];
    store_order_ref(order->id, ref);
    struct pay_create_request request = {ref, order->product_name, order->amount, order->currency};
    verify(job->payment == 0);
    job->payment = mem_calloc(1, sizeof *job->payment);
    job->created = pay_create(request_pay(job->base.req), provider, &request, job->payment);
    job->base.now_s = 0; /* the writer's time of its own step */
    api_job_write_next(&job->base, orders_link_apply);
}

static void orders_created_finish(struct request *req) {
    struct order_job *job = req->work;
    if (!job->create_ran && !job->abandoned && request_can_wait(req)) {
        /* the provider was never asked (its pool is full): nothing may stay reserved */
        job->abandoned = true;
        job->created = STATUS_BUSY;
        job->base.status = STATUS_OK;
        job->base.now_s = 0;
        api_job_write(req, &job->base, orders_link_apply, orders_created_finish);
        return;
    }
    if (job->base.status == STATUS_OK && job->created != STATUS_OK) {
        char message[LIMIT_REASON_BYTES + 64];
        snprintf(message, sizeof message, "the provider could not create the payment: %s",
                 job->payment != 0 && job->payment->call.message[0] ? job->payment->call.message
                                                                    : status_message(job->created));
        request_error(req, job->created, message);
    } else if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        orders_pending_answer(req, job);
    }
    orders_free(job);
}

/* Waiting for its payment, held for review, or a replay of one: nothing shown. */
static void orders_pending_answer(struct request *req, struct order_job *job) {
    const struct store_order *order = &job->result.order;
    enum status status = orders_append(req, &req->response, order);
    if (status == STATUS_OK) status = buf_append(&req->response, "}", 1);
    /* a replay answers as the first answer did */
    unsigned http = strcmp(order->status, "pending_payment") == 0 ? 201
                    : strcmp(order->status, "review") == 0        ? 202
                                                                  : 200;
    if (status != STATUS_OK) {
        request_error(req, status, 0);
    } else {
        request_json(req, http);
    }
}

static void orders_place_finish(struct request *req) {
    struct order_job *job = req->work;
    const struct store_order *order = &job->result.order;
    enum pay_provider provider = PAY_SANDBOX;
    if (job->base.status == STATUS_OK && job->refused == STATUS_OK && !job->result.replayed &&
        request_can_wait(req) && strcmp(order->status, "pending_payment") == 0 &&
        pay_provider_parse(order->provider, &provider) && pay_creates_remotely(provider)) {
        api_job_offload_to(req, request_pay_calls(req), &job->base, orders_create_payment,
                           orders_created_finish);
        return;
    }
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else if (job->refused != STATUS_OK) {
        orders_refused(req, job);
    } else if (strcmp(order->status, "delivered") != 0) {
        orders_pending_answer(req, job);
    } else {
        if (!job->result.replayed) metrics_order_delivered(job->result.code_count);
        orders_answer_codes(req, job, 201);
    }
    orders_free(job);
}

/* The payment object: wallet (the default), or a gateway this server takes orders through
 * (the sandbox; EPay with its submit URL). The other gateways need their payment creation
 * (a QR code, a client secret) over their APIs; until then they only verify notices. */
static enum status orders_payment(struct request *req, const char *method, const char *provider,
                                  bool has_periods, int64_t periods, char *message, size_t size) {
    message[0] = 0;
    bool credit = method != 0 && strcmp(method, "credit") == 0;
    if (has_periods && !credit) {
        snprintf(message, size, "payment.periods goes with the method credit");
        return STATUS_INVALID_FIELD;
    }
    if (method == 0 || strcmp(method, "wallet") == 0) {
        if (provider == 0) return STATUS_OK;
        snprintf(message, size, "payment.provider goes with the method gateway");
        return STATUS_INVALID_FIELD;
    }
    if (credit) {
        if (provider != 0) {
            snprintf(message, size, "payment.provider goes with the method gateway");
            return STATUS_INVALID_FIELD;
        }
        if (!has_periods) {
            snprintf(message, size, "payment.periods (3, 6 or 12) is required for credit");
            return STATUS_INVALID_FIELD;
        }
        if (periods != 3 && periods != 6 && periods != 12) {
            snprintf(message, size, "payment.periods must be 3, 6 or 12");
            return STATUS_INVALID_PLAN;
        }
        return STATUS_OK;
    }
    if (strcmp(method, "gateway") != 0) {
        snprintf(message, size, "payment.method must be wallet, gateway or credit");
        return STATUS_INVALID_VALUE;
    }
    enum pay_provider which = PAY_SANDBOX;
    if (provider == 0) {
        snprintf(message, size, "payment.provider is required for a gateway payment");
        return STATUS_INVALID_FIELD;
    }
    if (!pay_provider_parse(provider, &which) || !pay_provider_on(request_pay(req), which)) {
        snprintf(message, size, "payment.provider is not a gateway set up on this server");
        return STATUS_UNKNOWN_PROVIDER;
    }
    if (!pay_takes_orders(request_pay(req), which)) {
        snprintf(message, size, "this gateway verifies notices here but cannot take orders yet");
        return STATUS_UNKNOWN_PROVIDER;
    }
    return STATUS_OK;
}

void api_orders_create(struct request *req) {
    const char *key = 0;
    if (!api_idempotency_key(req, true, &key)) return;
    const char *sku = 0, *method = 0, *provider_name = 0;
    int64_t quantity = 0, periods = 0;
    bool has_periods = false;
    json_t *payment = 0;
    struct json_field fields[] = {
        {"sku", JSON_FIELD_STRING, true, LIMIT_SKU_BYTES, &sku, 0, 0, 0},
        {"quantity", JSON_FIELD_INT, true, 0, 0, &quantity, 0, 0},
        {"payment", JSON_FIELD_OBJECT, false, 0, 0, 0, 0, &payment},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 3, &root)) return;
    char message[160];
    struct json_field payment_fields[] = {
        {"method", JSON_FIELD_STRING, true, 16, &method, 0, 0, 0},
        {"provider", JSON_FIELD_STRING, false, 16, &provider_name, 0, 0, 0},
        {"periods", JSON_FIELD_INT, false, 0, 0, &periods, &has_periods, 0},
    };
    enum status status = STATUS_OK;
    if (payment != 0) {
        status = json_take_fields(payment, "payment", payment_fields, 3, message, sizeof message);
    }
    if (status == STATUS_OK && quantity >= 1 && quantity <= LIMIT_ORDER_QUANTITY) {
        status = orders_payment(req, method, provider_name, has_periods, periods, message,
                                sizeof message);
    }
    if (status != STATUS_OK) {
        json_decref(root);
        request_error(req, status, message);
        return;
    }
    if (quantity < 1 || quantity > LIMIT_ORDER_QUANTITY) {
        json_decref(root);
        request_error(req, STATUS_INVALID_QUANTITY, 0);
        return;
    }
    struct risk_origin origin;
    status = risk_origin_capture(req, &origin, message, sizeof message);
    if (status != STATUS_OK) {
        json_decref(root);
        request_error(req, status, message);
        return;
    }
    struct order_job *job = mem_calloc(1, sizeof *job);
    job->origin = origin;
    (void)text_copy(job->sku, sizeof job->sku, sku);
    (void)text_copy(job->idempotency_key, sizeof job->idempotency_key, key);
    bool gateway = method != 0 && strcmp(method, "gateway") == 0;
    bool credit = method != 0 && strcmp(method, "credit") == 0;
    if (gateway) (void)text_copy(job->provider, sizeof job->provider, provider_name);
    json_decref(root);
    job->request.buyer_id = req->user.id;
    (void)text_copy(job->username, sizeof job->username, req->user.username);
    job->request.sku = job->sku;
    job->request.quantity = quantity;
    job->request.idempotency_key = job->idempotency_key;
    job->request.provider = gateway ? job->provider : 0;
    job->request.pay_timeout_s = request_pay_timeout(req);
    job->request.credit_periods = credit ? (int)periods : 0;
    char how[24]; /* the payment, as the request hash covers it */
    if (credit) {
        snprintf(how, sizeof how, "credit:%d", job->request.credit_periods);
    } else {
        snprintf(how, sizeof how, "%s", gateway ? "gateway:" : "wallet");
    }
    char canonical[LIMIT_SKU_BYTES + 80];
    int n = snprintf(canonical, sizeof canonical, "%s%s\n%s\n%lld", how, job->provider, job->sku,
                     (long long)quantity);
    verify(n > 0 && (size_t)n < sizeof canonical);
    verify(crypto_generichash(job->request.request_hash, STORE_REQUEST_HASH_BYTES,
                              (const unsigned char *)canonical, (unsigned long long)n, 0, 0) == 0);
    api_job_write(req, &job->base, orders_place_apply, orders_place_finish);
}

void api_orders_get(struct request *req) {
    int64_t id = 0;
    struct store_order order;
    enum status status = api_parse_id(req->params[0], &id)
                             ? store_order_get(request_reader(req), id, &order)
                             : STATUS_UNKNOWN_ORDER;
    if (status == STATUS_OK && req->user.role == ROLE_BUYER && order.buyer_id != req->user.id) {
        status = STATUS_UNKNOWN_ORDER; /* another buyer's order does not exist for you */
    }
    if (status == STATUS_OK) status = orders_append(req, &req->response, &order);
    if (status == STATUS_OK) status = buf_append(&req->response, "}", 1);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

static enum status orders_reveal_apply(struct db *db, struct api_job *base) {
    struct order_job *job = (struct order_job *)base;
    return store_order_reveal(db, job->order_id, job->buyer_id, base->now_s, &job->result);
}

static void orders_reveal_finish(struct request *req) {
    struct order_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        orders_answer_codes(req, job, 200);
    }
    orders_free(job);
}

void api_orders_codes(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    struct order_job *job = mem_calloc(1, sizeof *job);
    job->order_id = id;
    job->buyer_id = req->user.id;
    api_job_write(req, &job->base, orders_reveal_apply, orders_reveal_finish);
}
