/* wechatpay.c — WeChat Pay API v3 notices: SHA256withRSA over "timestamp\nnonce\nbody\n"
 * with the platform key that Wechatpay-Serial names, the timestamp within 300 s, then the
 * resource decrypted with AES-256-GCM under the APIv3 key (PROTOCOLS.md). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "pay/crypto.h"
#include "pay/providers.h"

/* Serial numbers compare without case and without leading zeros; public key ids exactly. */
static bool wechatpay_same_id(const char *a, const char *b) {
    while (*a == '0')
        a++;
    while (*b == '0')
        b++;
    return strcasecmp(a, b) == 0;
}

static EVP_PKEY *wechatpay_key(const struct pay_config *config, const char *serial) {
    for (int i = 0; i < config->wechatpay.key_count; i++) {
        if (wechatpay_same_id(config->wechatpay.keys[i].id, serial))
            return config->wechatpay.keys[i].key;
    }
    return 0;
}

static bool wechatpay_timestamp(const char *text, int64_t *out) {
    size_t len = strlen(text);
    if (len == 0 || len > 12) return false;
    int64_t t = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i])) return false;
        t = t * 10 + (text[i] - '0');
    }
    *out = t;
    return true;
}

enum status pay_wechatpay_resource_parse(const char *plain, size_t len, struct pay_notice *out,
                                         char *reason, size_t reason_size) {
    verify(plain != 0 && out != 0);
    json_error_t error;
    json_t *root = json_loadb(plain, len, JSON_REJECT_DUPLICATES, &error);
    json_t *amount = json_object_get(root, "amount");
    json_t *total = json_object_get(amount, "total");
    char currency[8];
    enum status status = STATUS_OK;
    if (!json_is_object(root)) {
        status = pay_refuse(reason, reason_size, "the resource is not a JSON object");
    } else if (!pay_json_ref(root, "mchid", true, out->merchant, sizeof out->merchant) ||
               !pay_json_ref(root, "out_trade_no", true, out->order_ref, sizeof out->order_ref) ||
               !pay_json_ref(root, "transaction_id", true, out->transaction,
                             sizeof out->transaction) ||
               !pay_json_ref(root, "trade_state", true, out->state, sizeof out->state)) {
        status = pay_refuse(reason, reason_size,
                            "mchid, out_trade_no, transaction_id or trade_state is missing");
    } else if (!json_is_integer(total) || json_integer_value(total) < 0 ||
               json_integer_value(total) > LIMIT_AMOUNT_MINOR) {
        status = pay_refuse(reason, reason_size, "amount.total is not an amount of fen");
    } else if (!pay_json_ref(amount, "currency", false, currency, sizeof currency) ||
               (currency[0] != 0 && !money_currency_valid(currency))) {
        status = pay_refuse(reason, reason_size, "amount.currency is not a currency");
    } else {
        out->has_amount = true;
        out->amount = (int64_t)json_integer_value(total);
        memcpy(out->currency, currency[0] ? currency : "CNY", MONEY_CURRENCY_BYTES);
        out->paid = strcmp(out->state, "SUCCESS") == 0;
    }
    json_decref(root);
    return status;
}

/* The body's resource, decrypted and parsed. */
static enum status wechatpay_resource(const struct pay_config *config, json_t *root,
                                      struct pay_notice *out, struct buf *resource, char *reason,
                                      size_t reason_size) {
    json_t *r = json_object_get(root, "resource");
    json_t *algorithm = json_object_get(r, "algorithm");
    json_t *ciphertext = json_object_get(r, "ciphertext");
    json_t *nonce = json_object_get(r, "nonce");
    json_t *aad = json_object_get(r, "associated_data");
    if (!json_is_object(r) || !json_is_string(algorithm) ||
        strcmp(json_string_value(algorithm), "AEAD_AES_256_GCM") != 0 ||
        !json_is_string(ciphertext) || !json_is_string(nonce) ||
        (aad != 0 && !json_is_null(aad) && !json_is_string(aad))) {
        return pay_refuse(reason, reason_size, "resource is not an AEAD_AES_256_GCM object");
    }
    struct buf sealed, plain;
    buf_init(&sealed, LIMIT_PAY_NOTICE_BYTES);
    buf_init(&plain, LIMIT_PAY_NOTICE_BYTES);
    const char *aad_text = json_is_string(aad) ? json_string_value(aad) : "";
    size_t aad_len = json_is_string(aad) ? json_string_length(aad) : 0;
    enum status status = STATUS_OK;
    if (!pay_base64_decode(json_string_value(ciphertext), json_string_length(ciphertext),
                           &sealed)) {
        status = pay_refuse(reason, reason_size, "resource.ciphertext is not base64");
    } else if (!pay_aes256gcm_open(config->wechatpay.apiv3_key, json_string_value(nonce),
                                   json_string_length(nonce), aad_text, aad_len,
                                   (const unsigned char *)(sealed.data ? sealed.data : ""),
                                   sealed.len, &plain)) {
        status =
            pay_refuse(reason, reason_size, "the resource does not decrypt with the APIv3 key");
    }
    if (status == STATUS_OK) {
        status = pay_wechatpay_resource_parse(plain.data ? plain.data : "", plain.len, out, reason,
                                              reason_size);
    }
    if (status == STATUS_OK && strcmp(out->merchant, config->wechatpay.mchid) != 0) {
        status = pay_refuse(reason, reason_size, "mchid is not this merchant's");
    }
    if (status == STATUS_OK && resource != 0 && plain.len > 0) {
        status = buf_append(resource, plain.data, plain.len);
    }
    buf_free(&sealed);
    buf_free(&plain);
    return status;
}

enum status pay_wechatpay_signature_check(const struct pay_config *config,
                                          const struct pay_request *request, char *reason,
                                          size_t reason_size) {
    verify(config != 0 && config->wechatpay.on && request != 0);
    verify(request->body != 0 || request->len == 0);
    const char *timestamp = pay_header(request, "Wechatpay-Timestamp");
    const char *nonce = pay_header(request, "Wechatpay-Nonce");
    const char *signature = pay_header(request, "Wechatpay-Signature");
    const char *serial = pay_header(request, "Wechatpay-Serial");
    int64_t t = 0;
    if (timestamp == 0 || nonce == 0 || signature == 0 || serial == 0) {
        return pay_refuse(reason, reason_size,
                          "a Wechatpay-Timestamp, -Nonce, -Signature or -Serial header is missing");
    }
    if (!wechatpay_timestamp(timestamp, &t)) {
        return pay_refuse(reason, reason_size, "Wechatpay-Timestamp is not a number of seconds");
    }
    if (llabs(request->now_s - t) >= LIMIT_PAY_TOLERANCE_S) {
        return pay_refuse(reason, reason_size, "Wechatpay-Timestamp is outside the 300 s window");
    }
    EVP_PKEY *key = wechatpay_key(config, serial);
    if (key == 0) return pay_refuse(reason, reason_size, "Wechatpay-Serial names no known key");
    struct buf message, sig;
    buf_init(&message, request->len + 2 * LIMIT_PAY_HEADER_BYTES + 4);
    buf_init(&sig, LIMIT_PAY_HEADER_BYTES);
    enum status status = buf_printf(&message, "%s\n%s\n", timestamp, nonce);
    if (status == STATUS_OK && request->len > 0)
        status = buf_append(&message, request->body, request->len);
    if (status == STATUS_OK) status = buf_append(&message, "\n", 1);
    if (status == STATUS_OK && !pay_base64_decode(signature, strlen(signature), &sig)) {
        status = pay_refuse(reason, reason_size, "Wechatpay-Signature is not base64");
    }
    if (status == STATUS_OK &&
        !pay_rsa_sha256_verify(key, message.data, message.len,
                               (const unsigned char *)(sig.data ? sig.data : ""), sig.len)) {
        status = pay_refuse(reason, reason_size, "the signature does not verify");
    }
    buf_free(&message);
    buf_free(&sig);
    if (status != STATUS_OK && reason[0] == 0)
        pay_refuse(reason, reason_size, "a header is too long");
    return status == STATUS_OK ? STATUS_OK : STATUS_INVALID_NOTICE;
}

enum status pay_wechatpay_verify(const struct pay_config *config, const struct pay_request *request,
                                 struct pay_notice *out, struct buf *resource, char *reason,
                                 size_t reason_size) {
    verify(config != 0 && config->wechatpay.on && request != 0 && out != 0);
    enum status status = pay_wechatpay_signature_check(config, request, reason, reason_size);
    if (status != STATUS_OK) return status;
    json_error_t error;
    json_t *root = json_loadb(request->body, request->len, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(root) || !pay_json_ref(root, "id", true, out->event, sizeof out->event)) {
        json_decref(root);
        return pay_refuse(reason, reason_size, "the body is not a notice with an id");
    }
    char event_type[LIMIT_PAY_REF_BYTES + 1];
    if (!pay_json_ref(root, "event_type", true, event_type, sizeof event_type)) {
        json_decref(root);
        return pay_refuse(reason, reason_size, "event_type is missing");
    }
    memcpy(out->state, event_type, sizeof out->state);
    if (config->wechatpay.has_apiv3_key) { /* without it: signature and time only */
        status = wechatpay_resource(config, root, out, resource, reason, reason_size);
        if (status == STATUS_OK)
            out->paid = out->paid && strcmp(event_type, "TRANSACTION.SUCCESS") == 0;
    }
    json_decref(root);
    return status;
}
