/* alipay_api.c — calling the Alipay open platform gateway (RSA2): alipay.trade.precreate
 * (→ qr_code), alipay.trade.query and alipay.trade.refund. Each call is a form POST of
 * app_id, method, format=JSON, charset=utf-8, sign_type=RSA2, timestamp (Beijing time),
 * version=1.0, notify_url (precreate) and biz_content (JSON), signed SHA256withRSA with the
 * app private key over every parameter but sign, sorted, as k=v joined by '&' (a request
 * keeps sign_type in the string; notices do not). The answer
 * {"<method>_response":{…},"sign":"…"} is believed only when sign verifies, with the Alipay
 * public key, over the raw text of the _response member exactly as it arrived. Amounts are
 * yuan with two decimals. Every call carries a reference Alipay dedupes on (out_trade_no,
 * out_request_no), so each is retried. It never reports the key or a signature. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/text.h"
#include "pay/api.h"
#include "pay/crypto.h"
#include "pay/form.h"
#include "pay/providers.h"

enum status pay_alipay_form(const struct pay_config *config, const char *method,
                            const char *biz_content, bool notify, int64_t now_s, struct buf *out) {
    verify(config != 0 && config->alipay.app_private_key != 0);
    verify(method != 0 && biz_content != 0 && out != 0 && now_s >= 0);
    char timestamp[21]; /* "yyyy-MM-dd HH:mm:ss" in UTC+8, as Alipay reads it */
    text_format_time(now_s + 8 * 3600, timestamp);
    timestamp[10] = ' ';
    timestamp[19] = 0;
    const char *notify_url = notify ? config->alipay.notify_url : "";
    /* sorted by key: the signed string's order */
    const char *keys[] = {"app_id",     "biz_content", "charset",   "format", "method",
                          "notify_url", "sign_type",   "timestamp", "version"};
    const char *values[] = {config->alipay.app_id,
                            biz_content,
                            "utf-8",
                            "JSON",
                            method,
                            notify_url,
                            "RSA2",
                            timestamp,
                            "1.0"};
    struct buf text, signature;
    buf_init(&text, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    buf_init(&signature, 2048);
    enum status status = pay_signed_fields(keys, values, sizeof keys / sizeof keys[0], &text, out);
    if (status == STATUS_OK) {
        status =
            pay_rsa_sha256_sign(config->alipay.app_private_key, text.data, text.len, &signature);
    }
    if (status == STATUS_OK) status = buf_append(out, "sign=", 5);
    if (status == STATUS_OK) status = pay_url_escape(out, signature.data);
    buf_free(&text);
    buf_free(&signature);
    return status;
}

/* Past a JSON string starting at text[i] == '"'; len when it does not end. */
static size_t alipay_skip_string(const char *text, size_t len, size_t i) {
    for (i++; i < len; i++) {
        if (text[i] == '\\') {
            i++;
        } else if (text[i] == '"') {
            return i + 1;
        }
    }
    return len;
}

static size_t alipay_skip_space(const char *text, size_t len, size_t i) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    return i;
}

/* Past one JSON value at text[i] (without recursion: brackets are counted); len when it
 * does not end. The value is checked by jansson afterwards; this finds its extent. */
static size_t alipay_skip_value(const char *text, size_t len, size_t i) {
    if (i < len && text[i] == '"') return alipay_skip_string(text, len, i);
    if (i < len && (text[i] == '{' || text[i] == '[')) {
        size_t depth = 0;
        while (i < len) {
            char c = text[i];
            if (c == '"') {
                i = alipay_skip_string(text, len, i);
                continue;
            }
            if (c == '{' || c == '[') depth++;
            if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            i++;
        }
        return len;
    }
    while (i < len && text[i] != ',' && text[i] != '}' && text[i] != ' ' && text[i] != '\n' &&
           text[i] != '\r' && text[i] != '\t')
        i++;
    return i;
}

bool pay_alipay_member(const char *text, size_t len, const char *name, const char **member,
                       size_t *member_len) {
    verify(text != 0 && name != 0 && member != 0 && member_len != 0);
    *member = 0;
    *member_len = 0;
    size_t name_len = strlen(name);
    size_t i = alipay_skip_space(text, len, 0);
    if (i >= len || text[i] != '{') return false;
    i = alipay_skip_space(text, len, i + 1);
    while (i < len && text[i] != '}') {
        if (text[i] != '"') return false;
        size_t key = i + 1, key_end = alipay_skip_string(text, len, i);
        if (key_end >= len) return false;
        i = alipay_skip_space(text, len, key_end);
        if (i >= len || text[i] != ':') return false;
        i = alipay_skip_space(text, len, i + 1);
        size_t value = i;
        i = alipay_skip_value(text, len, i);
        if (i >= len || i == value) return false;
        if (key_end - 1 - key == name_len && memcmp(text + key, name, name_len) == 0) {
            *member = text + value;
            *member_len = i - value;
        }
        i = alipay_skip_space(text, len, i);
        if (i < len && text[i] == ',') i = alipay_skip_space(text, len, i + 1);
    }
    return i < len && *member != 0;
}

/* The code of an answer's member, and its sub_code kept as the provider code. */
static enum status alipay_refused(json_t *response, struct pay_call *call) {
    if (!pay_json_ref(response, "sub_code", true, call->provider_code,
                      sizeof call->provider_code) &&
        !pay_json_ref(response, "code", true, call->provider_code, sizeof call->provider_code)) {
        call->provider_code[0] = 0;
    }
    /* code 20000 (isp.unknow-error) and *.SYSTEM_ERROR mean Alipay does not know the
     * outcome: call again with the same parameters (its error table) — not a refusal */
    json_t *code = json_object_get(response, "code");
    size_t n = strlen(call->provider_code);
    bool unknown = (json_is_string(code) && strcmp(json_string_value(code), "20000") == 0) ||
                   (n >= 13 && strcmp(call->provider_code + n - 13, ".SYSTEM_ERROR") == 0);
    snprintf(call->message, sizeof call->message, "Alipay %s the request%s%s%s",
             unknown ? "could not complete" : "refused", call->provider_code[0] ? " (" : "",
             call->provider_code, call->provider_code[0] ? ")" : "");
    return unknown ? STATUS_PROVIDER_UNAVAILABLE : STATUS_PROVIDER_REFUSED;
}

static bool alipay_code_ok(json_t *response) {
    json_t *code = json_object_get(response, "code");
    return json_is_string(code) && strcmp(json_string_value(code), "10000") == 0;
}

enum status pay_alipay_answer(const struct pay_config *config, const char *method, const char *body,
                              size_t len, json_t **out, struct pay_call *call) {
    verify(config != 0 && config->alipay.public_key != 0 && method != 0 && body != 0);
    verify(out != 0 && call != 0);
    *out = 0;
    char name[LIMIT_PAY_REF_BYTES + 16];
    size_t n = text_copy(name, sizeof name - 9, method);
    verify(n < sizeof name - 9);
    for (size_t i = 0; i < n; i++)
        if (name[i] == '.') name[i] = '_';
    memcpy(name + n, "_response", 10);
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    json_t *response = json_object_get(root, name);
    if (response == 0) response = json_object_get(root, "error_response");
    json_t *sign = json_object_get(root, "sign");
    const char *raw = 0;
    size_t raw_len = 0;
    enum status status = STATUS_OK;
    struct buf signature;
    buf_init(&signature, LIMIT_PAY_VALUE_BYTES);
    if (!json_is_object(response)) {
        status = pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Alipay's answer has no response object");
    } else if (!json_is_string(sign)) {
        status = alipay_code_ok(response) ? pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                                                          "Alipay's answer is not signed")
                                          : alipay_refused(response, call);
    } else if (!pay_alipay_member(body, len, name, &raw, &raw_len) ||
               !pay_base64_decode(json_string_value(sign), json_string_length(sign), &signature) ||
               signature.len == 0 ||
               !pay_rsa_sha256_verify(config->alipay.public_key, raw, raw_len,
                                      (const unsigned char *)signature.data, signature.len)) {
        status = pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Alipay's answer is not believed: the signature does not verify");
    } else {
        *out = json_incref(response);
    }
    buf_free(&signature);
    json_decref(root);
    return status;
}

/* Posts method with biz_content to the gateway; the verified response member through *out,
 * whatever its code (the caller reads it). */
static enum status alipay_call(const struct pay_config *config, const char *method, json_t *biz,
                               bool notify, json_t **out, struct pay_call *call) {
    char *biz_content = biz ? json_dumps(biz, JSON_COMPACT) : 0;
    if (biz_content == 0) return pay_call_fail(call, STATUS_NOMEM, "the request cannot be built");
    struct buf form;
    buf_init(&form, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    enum status status =
        pay_alipay_form(config, method, biz_content, notify, (int64_t)time(0), &form);
    free(biz_content);
    if (status != STATUS_OK) {
        buf_free(&form);
        return pay_call_fail(call, status, "the request cannot be built");
    }
    struct pay_http_request request = {
        .method = "POST",
        .url = config->alipay.gateway,
        .headers = {"Accept: application/json",
                    "Content-Type: application/x-www-form-urlencoded;charset=utf-8"},
        .body = form.data,
        .len = form.len,
        .idempotent = true, /* out_trade_no, out_request_no: Alipay dedupes on them */
    };
    struct pay_http_response response;
    pay_http_response_init(&response);
    status = pay_http_send(config, &request, &response, call);
    if (status == STATUS_OK && response.status != 200) {
        snprintf(call->message, sizeof call->message, "Alipay answered HTTP %d", response.status);
        status = STATUS_PROVIDER_REFUSED;
    }
    if (status == STATUS_OK) {
        status = pay_alipay_answer(config, method, response.body.data ? response.body.data : "",
                                   response.body.len, out, call);
    }
    pay_http_response_free(&response);
    buf_free(&form);
    return status;
}

static bool alipay_same_ref(json_t *response, const char *order_ref) {
    char ref[LIMIT_PAY_REF_BYTES + 1];
    return pay_json_ref(response, "out_trade_no", true, ref, sizeof ref) &&
           strcmp(ref, order_ref) == 0;
}

enum status pay_alipay_create(const struct pay_config *config,
                              const struct pay_create_request *request,
                              struct pay_create_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_ALIPAY, PAY_CREATE));
    char amount[PAY_DECIMAL_BYTES];
    pay_format_decimal(request->amount, amount);
    json_t *biz = json_pack("{s:s,s:s,s:s}", "out_trade_no", request->order_ref, "total_amount",
                            amount, "subject", request->subject);
    json_t *answer = 0;
    enum status status =
        alipay_call(config, "alipay.trade.precreate", biz, true, &answer, &result->call);
    json_decref(biz);
    if (status == STATUS_OK && !alipay_code_ok(answer))
        status = alipay_refused(answer, &result->call);
    if (status == STATUS_OK &&
        (!alipay_same_ref(answer, request->order_ref) ||
         !pay_json_text(answer, "qr_code", true, result->qr_code, sizeof result->qr_code))) {
        result->qr_code[0] = 0;
        status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Alipay's answer has no qr_code for this order");
    }
    json_decref(answer);
    return status;
}

enum status pay_alipay_query_parse(const struct pay_config *config, const char *order_ref,
                                   json_t *answer, struct pay_query_result *out) {
    verify(config != 0 && order_ref != 0 && out != 0);
    char total[PAY_DECIMAL_BYTES];
    const char *why = 0;
    if (!alipay_same_ref(answer, order_ref)) {
        why = "Alipay's answer is about another order";
    } else if (!pay_json_ref(answer, "trade_no", true, out->transaction, sizeof out->transaction) ||
               !pay_json_ref(answer, "trade_status", true, out->state, sizeof out->state) ||
               !pay_json_text(answer, "total_amount", true, total, sizeof total)) {
        why = "Alipay's answer lacks trade_no, trade_status or total_amount";
    } else if (!pay_parse_decimal(total, &out->amount)) {
        why = "Alipay's total_amount is not an amount of yuan";
    }
    if (why != 0) {
        out->transaction[0] = out->state[0] = 0;
        out->amount = 0;
        return pay_call_fail(&out->call, STATUS_PROVIDER_INVALID_RESPONSE, why);
    }
    out->found = true;
    out->paid =
        strcmp(out->state, "TRADE_SUCCESS") == 0 || strcmp(out->state, "TRADE_FINISHED") == 0;
    out->has_amount = true;
    memcpy(out->currency, "CNY", MONEY_CURRENCY_BYTES);
    return STATUS_OK;
}

enum status pay_alipay_query(const struct pay_config *config,
                             const struct pay_query_request *request,
                             struct pay_query_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_ALIPAY, PAY_QUERY));
    json_t *biz = json_pack("{s:s}", "out_trade_no", request->order_ref);
    json_t *answer = 0;
    enum status status =
        alipay_call(config, "alipay.trade.query", biz, false, &answer, &result->call);
    json_decref(biz);
    if (status == STATUS_OK && !alipay_code_ok(answer)) {
        status = alipay_refused(answer, &result->call);
        if (strcmp(result->call.provider_code, "ACQ.TRADE_NOT_EXIST") == 0) { /* signed: true */
            status = STATUS_OK;
            result->call.message[0] = 0;
            snprintf(result->state, sizeof result->state, "TRADE_NOT_EXIST");
        }
    } else if (status == STATUS_OK) {
        status = pay_alipay_query_parse(config, request->order_ref, answer, result);
    }
    json_decref(answer);
    return status;
}

enum status pay_alipay_refund(const struct pay_config *config,
                              const struct pay_refund_request *request,
                              struct pay_refund_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_ALIPAY, PAY_REFUND));
    char amount[PAY_DECIMAL_BYTES];
    pay_format_decimal(request->amount, amount);
    json_t *biz = json_pack("{s:s,s:s,s:s}", "out_trade_no", request->order_ref, "refund_amount",
                            amount, "out_request_no", request->refund_ref);
    if (biz != 0 && request->transaction != 0)
        json_object_set_new(biz, "trade_no", json_string(request->transaction));
    if (biz != 0 && request->reason != 0 && request->reason[0] != 0)
        json_object_set_new(biz, "refund_reason", json_string(request->reason));
    json_t *answer = 0;
    enum status status =
        alipay_call(config, "alipay.trade.refund", biz, false, &answer, &result->call);
    json_decref(biz);
    if (status == STATUS_OK && !alipay_code_ok(answer))
        status = alipay_refused(answer, &result->call);
    char fund_change[8] = "";
    if (status == STATUS_OK &&
        (!alipay_same_ref(answer, request->order_ref) ||
         !pay_json_ref(answer, "fund_change", false, fund_change, sizeof fund_change))) {
        status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Alipay's answer is about another order");
    }
    if (status == STATUS_OK) { /* code 10000: refunded; fund_change N: by an earlier request */
        result->accepted = result->succeeded = true;
        snprintf(result->state, sizeof result->state, "fund_change=%s",
                 fund_change[0] ? fund_change : "?");
    }
    json_decref(answer);
    return status;
}
