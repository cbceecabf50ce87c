/* epay_api.c — calling EPay (易支付, the 彩虹 family's api.php): a payment is the signed
 * submit.php URL the buyer opens (epay.c, no request from us); a query is
 * GET api.php?act=order&pid=…&key=…&out_trade_no=… answering {"code":1,"trade_no",
 * "out_trade_no","money":"12.34","status":1,…} (status 1: paid); a refund is a form POST to
 * api.php?act=refund of pid, key, out_trade_no (and trade_no when known) and money,
 * answering {"code":1,"msg"}. These calls authenticate with the merchant key itself, not a
 * signature: the URL and the form carry it, so neither is ever logged or reported. EPay
 * answers are not signed; a query's answer must name our pid (when it says one) and the
 * order asked about. A refund carries no reference EPay dedupes on, so it is sent once
 * and never retried. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "pay/api.h"
#include "pay/form.h"
#include "pay/providers.h"

/* An integer member that EPay writes as a number or as a string of digits. */
static bool epay_int(json_t *object, const char *name, json_int_t *out) {
    json_t *value = json_object_get(object, name);
    if (json_is_integer(value)) {
        *out = json_integer_value(value);
        return true;
    }
    if (!json_is_string(value)) return false;
    const char *text = json_string_value(value);
    size_t len = json_string_length(value), i = text[0] == '-' ? 1 : 0;
    if (len == i || len > 12) return false;
    json_int_t n = 0;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        n = n * 10 + (text[i] - '0');
    }
    *out = text[0] == '-' ? -n : n;
    return true;
}

/* The JSON of a 200 answer whose code is 1; otherwise the call failed (its code kept). */
static enum status epay_answer(const char *body, size_t len, json_t **out, struct pay_call *call) {
    *out = 0;
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    json_int_t code = 0;
    if (!json_is_object(root) || !epay_int(root, "code", &code)) {
        json_decref(root);
        return pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                             "EPay's answer is not a JSON object with a code");
    }
    if (code != 1) {
        json_decref(root);
        snprintf(call->provider_code, sizeof call->provider_code, "%lld", (long long)code);
        snprintf(call->message, sizeof call->message, "EPay refused the request (code %lld)",
                 (long long)code);
        return STATUS_PROVIDER_REFUSED;
    }
    *out = root;
    return STATUS_OK;
}

/* Any status but 200 is a refusal (EPay answers its own errors with 200 and a code). */
static enum status epay_status(const struct pay_http_response *response, struct pay_call *call) {
    if (response->status == 200) return STATUS_OK;
    snprintf(call->message, sizeof call->message, "EPay answered HTTP %d", response->status);
    return STATUS_PROVIDER_REFUSED;
}

enum status pay_epay_create(const struct pay_config *config,
                            const struct pay_create_request *request,
                            struct pay_create_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_EPAY, PAY_CREATE));
    struct buf url;
    buf_init(&url, LIMIT_PAY_LINK_BYTES);
    enum status status =
        pay_epay_submit_url(config, request->order_ref, request->subject, request->amount, &url);
    if (status == STATUS_OK) {
        memcpy(result->pay_url, url.data, url.len + 1);
    } else {
        status = pay_call_fail(&result->call, STATUS_INVALID_VALUE,
                               "the EPay payment URL would be over its limit");
    }
    buf_free(&url);
    return status;
}

enum status pay_epay_query_parse(const struct pay_config *config, const char *order_ref,
                                 const char *body, size_t len, struct pay_query_result *out) {
    verify(config != 0 && order_ref != 0 && body != 0 && out != 0);
    json_t *root = 0;
    enum status status = epay_answer(body, len, &root, &out->call);
    if (status != STATUS_OK) return status;
    char ref[LIMIT_PAY_REF_BYTES + 1], money[PAY_DECIMAL_BYTES], pid[LIMIT_PAY_REF_BYTES + 1];
    json_int_t paid = 0;
    const char *why = 0;
    json_t *pid_value = json_object_get(root, "pid");
    if (json_is_integer(pid_value)) {
        snprintf(pid, sizeof pid, "%lld", (long long)json_integer_value(pid_value));
    } else if (!pay_json_ref(root, "pid", false, pid, sizeof pid)) {
        pid[0] = 1; /* neither a number nor a string: never ours */
    }
    if (!pay_json_ref(root, "out_trade_no", true, ref, sizeof ref) ||
        !pay_json_ref(root, "trade_no", false, out->transaction, sizeof out->transaction) ||
        !pay_json_text(root, "money", true, money, sizeof money) ||
        !epay_int(root, "status", &paid)) {
        why = "EPay's answer lacks out_trade_no, money or status";
    } else if (strcmp(ref, order_ref) != 0 || (pid[0] != 0 && strcmp(pid, config->epay.pid) != 0)) {
        why = "EPay's answer is about another merchant or order";
    } else if (!pay_parse_decimal(money, &out->amount)) {
        why = "EPay's money is not an amount of yuan";
    }
    json_decref(root);
    if (why != 0) {
        out->transaction[0] = 0;
        out->amount = 0;
        return pay_call_fail(&out->call, STATUS_PROVIDER_INVALID_RESPONSE, why);
    }
    out->found = true;
    out->paid = paid == 1;
    out->has_amount = true;
    memcpy(out->currency, "CNY", MONEY_CURRENCY_BYTES);
    snprintf(out->state, sizeof out->state, "%lld", (long long)paid);
    return STATUS_OK;
}

/* api_url?act=…, then the fields as a query (GET) or a form (POST); the key among them. */
static enum status epay_fields(struct buf *out, const char *const *keys, const char *const *values,
                               int count) {
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        if (values[i] == 0) continue;
        status = buf_printf(out, "%s%s=", out->len > 0 ? "&" : "", keys[i]);
        if (status == STATUS_OK) status = pay_url_escape(out, values[i]);
    }
    return status;
}

static void epay_wipe(struct buf *text) {
    if (text->data != 0) sodium_memzero(text->data, text->len);
    buf_free(text);
}

enum status pay_epay_query(const struct pay_config *config, const struct pay_query_request *request,
                           struct pay_query_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_EPAY, PAY_QUERY));
    struct buf url;
    buf_init(&url, LIMIT_URL_BYTES + PAY_URL_BYTES);
    const char *keys[] = {"act", "pid", "key", "out_trade_no"};
    const char *values[] = {"order", config->epay.pid, config->epay.key, request->order_ref};
    enum status status = buf_printf(&url, "%s?", config->epay.api_url);
    if (status == STATUS_OK) {
        struct buf fields;
        buf_init(&fields, LIMIT_URL_BYTES);
        status = epay_fields(&fields, keys, values, 4);
        if (status == STATUS_OK) status = buf_append(&url, fields.data, fields.len);
        epay_wipe(&fields);
    }
    struct pay_http_response response;
    pay_http_response_init(&response);
    if (status == STATUS_OK) {
        struct pay_http_request http = {.method = "GET",
                                        .url = url.data,
                                        .headers = {"Accept: application/json"},
                                        .idempotent = true};
        status = pay_http_send(config, &http, &response, &result->call);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    if (status == STATUS_OK) status = epay_status(&response, &result->call);
    if (status == STATUS_OK) {
        status = pay_epay_query_parse(config, request->order_ref,
                                      response.body.data ? response.body.data : "",
                                      response.body.len, result);
    }
    pay_http_response_free(&response);
    epay_wipe(&url);
    return status;
}

enum status pay_epay_refund_parse(const char *body, size_t len, struct pay_refund_result *out) {
    verify(body != 0 && out != 0);
    json_t *root = 0;
    enum status status = epay_answer(body, len, &root, &out->call);
    json_decref(root);
    if (status != STATUS_OK) return status;
    out->accepted = out->succeeded = true; /* EPay answers once the channel refunded */
    snprintf(out->state, sizeof out->state, "1");
    return STATUS_OK;
}

enum status pay_epay_refund(const struct pay_config *config,
                            const struct pay_refund_request *request,
                            struct pay_refund_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_EPAY, PAY_REFUND));
    char money[PAY_DECIMAL_BYTES];
    pay_format_decimal(request->amount, money);
    const char *keys[] = {"pid", "key", "out_trade_no", "trade_no", "money"};
    const char *values[] = {config->epay.pid, config->epay.key, request->order_ref,
                            request->transaction, money};
    struct buf url, form;
    buf_init(&url, LIMIT_URL_BYTES + PAY_URL_BYTES);
    buf_init(&form, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    enum status status = buf_printf(&url, "%s?act=refund", config->epay.api_url);
    if (status == STATUS_OK) status = epay_fields(&form, keys, values, 5);
    struct pay_http_response response;
    pay_http_response_init(&response);
    if (status == STATUS_OK) {
        struct pay_http_request http = {
            .method = "POST",
            .url = url.data,
            .headers = {"Accept: application/json",
                        "Content-Type: application/x-www-form-urlencoded"},
            .body = form.data,
            .len = form.len,
            .idempotent = false, /* no refund reference: a second POST could refund twice */
        };
        status = pay_http_send(config, &http, &response, &result->call);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    if (status == STATUS_OK) status = epay_status(&response, &result->call);
    if (status == STATUS_OK) {
        status = pay_epay_refund_parse(response.body.data ? response.body.data : "",
                                       response.body.len, result);
    }
    pay_http_response_free(&response);
    buf_free(&url);
    epay_wipe(&form);
    return status;
}
