/* wechatpay_api.c — calling WeChat Pay API v3 (PROTOCOLS.md): Native orders
 * (POST /v3/pay/transactions/native → code_url), queries by out_trade_no
 * (GET /v3/pay/transactions/out-trade-no/{ref}?mchid=…) and refunds
 * (POST /v3/refund/domestic/refunds). Every request is signed with the merchant key
 * (Authorization: WECHATPAY2-SHA256-RSA2048 …); every answer we believe (a 2xx, or the 404
 * that says an order does not exist) must carry a valid platform signature, checked by the
 * notices' own code (wechatpay.c). Retries resend the same signed bytes, well inside the
 * 300 s window. It never reports the signature or the key. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "pay/api.h"
#include "pay/crypto.h"
#include "pay/form.h"
#include "pay/providers.h"

enum status pay_wechatpay_authorization(const struct pay_config *config, const char *method,
                                        const char *path, const char *body, size_t len,
                                        int64_t now_s, const char *nonce, struct buf *out) {
    verify(config != 0 && config->wechatpay.merchant_key != 0);
    verify(method != 0 && path != 0 && path[0] == '/' && (body != 0 || len == 0));
    verify(nonce != 0 && out != 0);
    struct buf message, signature;
    buf_init(&message, len + LIMIT_URL_BYTES + 128);
    buf_init(&signature, 2048);
    enum status status =
        buf_printf(&message, "%s\n%s\n%lld\n%s\n", method, path, (long long)now_s, nonce);
    if (status == STATUS_OK && len > 0) status = buf_append(&message, body, len);
    if (status == STATUS_OK) status = buf_append(&message, "\n", 1);
    if (status == STATUS_OK) {
        status = pay_rsa_sha256_sign(config->wechatpay.merchant_key, message.data, message.len,
                                     &signature);
    }
    if (status == STATUS_OK) {
        status = buf_printf(out,
                            "WECHATPAY2-SHA256-RSA2048 mchid=\"%s\",nonce_str=\"%s\","
                            "timestamp=\"%lld\",serial_no=\"%s\",signature=\"%s\"",
                            config->wechatpay.mchid, nonce, (long long)now_s,
                            config->wechatpay.merchant_serial_no, signature.data);
    }
    buf_free(&message);
    buf_free(&signature);
    return status;
}

enum status pay_wechatpay_answer_verify(const struct pay_config *config,
                                        const struct pay_http_response *response, int64_t now_s,
                                        struct pay_call *call) {
    verify(config != 0 && response != 0 && call != 0);
    struct pay_request request = {response->body.data ? response->body.data : "",
                                  response->body.len, response->headers, response->header_count,
                                  now_s};
    char reason[160] = "";
    if (pay_wechatpay_signature_check(config, &request, reason, sizeof reason) == STATUS_OK)
        return STATUS_OK;
    snprintf(call->message, sizeof call->message, "WeChat Pay's answer is not believed: %s",
             reason);
    return STATUS_PROVIDER_INVALID_RESPONSE;
}

/* The error object of a refused call ({"code","message"}): its code kept, not its text. */
static enum status wechatpay_refused(const struct pay_http_response *response,
                                     struct pay_call *call) {
    json_error_t error;
    json_t *root = json_loadb(response->body.data ? response->body.data : "", response->body.len,
                              JSON_REJECT_DUPLICATES, &error);
    if (!pay_json_ref(root, "code", true, call->provider_code, sizeof call->provider_code))
        call->provider_code[0] = 0;
    json_decref(root);
    /* SYSTEM_ERROR, FREQUENCY_LIMITED and BANKERROR are WeChat Pay saying "try again with the
     * same request", not a refusal */
    bool again = strcmp(call->provider_code, "SYSTEM_ERROR") == 0 ||
                 strcmp(call->provider_code, "FREQUENCY_LIMITED") == 0 ||
                 strcmp(call->provider_code, "BANKERROR") == 0;
    snprintf(call->message, sizeof call->message, "WeChat Pay %s the request (HTTP %d%s%s)",
             again ? "could not complete" : "refused", response->status,
             call->provider_code[0] ? ", " : "", call->provider_code);
    return again ? STATUS_PROVIDER_UNAVAILABLE : STATUS_PROVIDER_REFUSED;
}

/* Sends a signed request to api_base + path; STATUS_OK with a verified answer that is a 2xx,
 * or (when not_found_ok) the 404 that says there is no such order (*not_found set). */
static enum status wechatpay_call(const struct pay_config *config, const char *method,
                                  const char *path, const char *body, bool not_found_ok,
                                  struct pay_http_response *response, struct pay_call *call,
                                  bool *not_found) {
    size_t len = body ? strlen(body) : 0;
    int64_t now = (int64_t)time(0);
    char nonce[33];
    pay_nonce(nonce);
    struct buf url, authorization;
    buf_init(&url, LIMIT_URL_BYTES);
    buf_init(&authorization, 4096);
    enum status status = buf_printf(&url, "%s%s", config->wechatpay.api_base, path);
    if (status == STATUS_OK) status = buf_append(&authorization, "Authorization: ", 15);
    if (status == STATUS_OK) { /* the path as the server sees it, with any prefix of api_base */
        const char *signed_path = strchr(strstr(url.data, "://") + 3, '/');
        verify(signed_path != 0);
        status = pay_wechatpay_authorization(config, method, signed_path, body ? body : "", len,
                                             now, nonce, &authorization);
    }
    if (status != STATUS_OK) {
        buf_free(&url);
        buf_free(&authorization);
        return pay_call_fail(call, status, "the request cannot be built");
    }
    struct pay_http_request request = {
        .method = method,
        .url = url.data,
        .headers = {authorization.data, "Accept: application/json",
                    body ? "Content-Type: application/json" : 0},
        .body = body,
        .len = len,
        .idempotent = true, /* out_trade_no and out_refund_no are deduplicated by WeChat Pay */
    };
    status = pay_http_send(config, &request, response, call);
    sodium_memzero(authorization.data, authorization.len);
    buf_free(&url);
    buf_free(&authorization);
    if (status != STATUS_OK) return status;
    *not_found = false;
    bool believed = (response->status >= 200 && response->status < 300) ||
                    (not_found_ok && response->status == 404);
    if (!believed) return wechatpay_refused(response, call);
    status = pay_wechatpay_answer_verify(config, response, (int64_t)time(0), call);
    if (status == STATUS_OK && response->status == 404) {
        status = wechatpay_refused(response, call);
        *not_found = strcmp(call->provider_code, "ORDER_NOT_EXIST") == 0;
        if (*not_found) status = STATUS_OK;
    }
    return status;
}

enum status pay_wechatpay_create(const struct pay_config *config,
                                 const struct pay_create_request *request,
                                 struct pay_create_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_WECHATPAY, PAY_CREATE));
    json_t *root =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:I,s:s}}", "appid", config->wechatpay.appid, "mchid",
                  config->wechatpay.mchid, "description", request->subject, "out_trade_no",
                  request->order_ref, "notify_url", config->wechatpay.notify_url, "amount", "total",
                  (json_int_t)request->amount, "currency", request->currency);
    char *body = root ? json_dumps(root, JSON_COMPACT) : 0;
    json_decref(root);
    if (body == 0) return pay_call_fail(&result->call, STATUS_NOMEM, "the request cannot be built");
    struct pay_http_response response;
    pay_http_response_init(&response);
    bool not_found = false;
    enum status status = wechatpay_call(config, "POST", "/v3/pay/transactions/native", body, false,
                                        &response, &result->call, &not_found);
    free(body);
    if (status == STATUS_OK) {
        json_error_t error;
        json_t *answer = json_loadb(response.body.data ? response.body.data : "", response.body.len,
                                    JSON_REJECT_DUPLICATES, &error);
        if (!pay_json_text(answer, "code_url", true, result->code_url, sizeof result->code_url))
            status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                                   "WeChat Pay's answer has no code_url");
        json_decref(answer);
    }
    pay_http_response_free(&response);
    return status;
}

enum status pay_wechatpay_query_parse(const struct pay_config *config, const char *order_ref,
                                      const char *body, size_t len, struct pay_query_result *out) {
    verify(config != 0 && order_ref != 0 && body != 0 && out != 0);
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    json_t *amount = json_object_get(root, "amount");
    json_t *total = json_object_get(amount, "total");
    char mchid[LIMIT_PAY_REF_BYTES + 1], ref[LIMIT_PAY_REF_BYTES + 1], currency[8];
    enum status status = STATUS_PROVIDER_INVALID_RESPONSE;
    const char *why = 0;
    if (!pay_json_ref(root, "mchid", true, mchid, sizeof mchid) ||
        !pay_json_ref(root, "out_trade_no", true, ref, sizeof ref) ||
        !pay_json_ref(root, "trade_state", true, out->state, sizeof out->state) ||
        !pay_json_ref(root, "transaction_id", false, out->transaction, sizeof out->transaction)) {
        why = "WeChat Pay's answer lacks mchid, out_trade_no or trade_state";
    } else if (strcmp(mchid, config->wechatpay.mchid) != 0 || strcmp(ref, order_ref) != 0) {
        why = "WeChat Pay's answer is about another merchant or order";
    } else if (total != 0 && (!json_is_integer(total) || json_integer_value(total) < 0 ||
                              json_integer_value(total) > LIMIT_AMOUNT_MINOR)) {
        why = "WeChat Pay's amount.total is not an amount of fen";
    } else if (!pay_json_ref(amount, "currency", false, currency, sizeof currency) ||
               (currency[0] != 0 && !money_currency_valid(currency))) {
        why = "WeChat Pay's amount.currency is not a currency";
    } else {
        status = STATUS_OK;
        out->found = true;
        out->paid = strcmp(out->state, "SUCCESS") == 0;
        out->has_amount = total != 0;
        out->amount = total ? (int64_t)json_integer_value(total) : 0;
        memcpy(out->currency, currency[0] ? currency : "CNY", MONEY_CURRENCY_BYTES);
    }
    json_decref(root);
    if (status != STATUS_OK) {
        out->found = out->paid = false;
        return pay_call_fail(&out->call, status, why);
    }
    return STATUS_OK;
}

enum status pay_wechatpay_query(const struct pay_config *config,
                                const struct pay_query_request *request,
                                struct pay_query_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_ref_safe(request->order_ref));
    struct buf path;
    buf_init(&path, LIMIT_URL_BYTES);
    enum status status =
        buf_printf(&path, "/v3/pay/transactions/out-trade-no/%s?mchid=", request->order_ref);
    if (status == STATUS_OK) status = pay_url_escape(&path, config->wechatpay.mchid);
    struct pay_http_response response;
    pay_http_response_init(&response);
    bool not_found = false;
    if (status == STATUS_OK) {
        status =
            wechatpay_call(config, "GET", path.data, 0, true, &response, &result->call, &not_found);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    if (status == STATUS_OK && !not_found) {
        status = pay_wechatpay_query_parse(config, request->order_ref,
                                           response.body.data ? response.body.data : "",
                                           response.body.len, result);
    }
    if (status == STATUS_OK && not_found)
        snprintf(result->state, sizeof result->state, "NOT_FOUND");
    pay_http_response_free(&response);
    buf_free(&path);
    return status;
}

enum status pay_wechatpay_refund_parse(const char *refund_ref, const char *body, size_t len,
                                       struct pay_refund_result *out) {
    verify(refund_ref != 0 && body != 0 && out != 0);
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    char ref[LIMIT_PAY_REF_BYTES + 1];
    const char *why = 0;
    if (!pay_json_ref(root, "refund_id", true, out->refund_id, sizeof out->refund_id) ||
        !pay_json_ref(root, "out_refund_no", true, ref, sizeof ref) ||
        !pay_json_ref(root, "status", true, out->state, sizeof out->state)) {
        why = "WeChat Pay's answer lacks refund_id, out_refund_no or status";
    } else if (strcmp(ref, refund_ref) != 0) {
        why = "WeChat Pay's answer is about another refund";
    }
    json_decref(root);
    if (why != 0) {
        out->refund_id[0] = out->state[0] = 0;
        return pay_call_fail(&out->call, STATUS_PROVIDER_INVALID_RESPONSE, why);
    }
    out->accepted = true;
    out->succeeded = strcmp(out->state, "SUCCESS") == 0;
    out->pending = strcmp(out->state, "PROCESSING") == 0;
    return STATUS_OK;
}

enum status pay_wechatpay_refund(const struct pay_config *config,
                                 const struct pay_refund_request *request,
                                 struct pay_refund_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_WECHATPAY, PAY_REFUND));
    json_t *root = json_pack("{s:s,s:{s:I,s:I,s:s}}", "out_refund_no", request->refund_ref,
                             "amount", "refund", (json_int_t)request->amount, "total",
                             (json_int_t)request->total, "currency", request->currency);
    bool ok = root != 0;
    if (ok && request->transaction != 0) {
        ok = json_object_set_new(root, "transaction_id", json_string(request->transaction)) == 0;
    } else if (ok) {
        ok = json_object_set_new(root, "out_trade_no", json_string(request->order_ref)) == 0;
    }
    if (ok && request->reason != 0 && request->reason[0] != 0)
        ok = json_object_set_new(root, "reason", json_string(request->reason)) == 0;
    char *body = ok ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : 0;
    json_decref(root);
    if (body == 0) return pay_call_fail(&result->call, STATUS_NOMEM, "the request cannot be built");
    struct pay_http_response response;
    pay_http_response_init(&response);
    bool not_found = false;
    enum status status = wechatpay_call(config, "POST", "/v3/refund/domestic/refunds", body, false,
                                        &response, &result->call, &not_found);
    free(body);
    if (status == STATUS_OK) {
        status = pay_wechatpay_refund_parse(request->refund_ref,
                                            response.body.data ? response.body.data : "",
                                            response.body.len, result);
    }
    pay_http_response_free(&response);
    return status;
}
