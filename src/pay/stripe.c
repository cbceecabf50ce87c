/* stripe.c — Stripe webhooks: `Stripe-Signature: t=…,v1=…` is an HMAC-SHA256 (hex) of
 * "t.RAW_BODY" with the endpoint secret; any v1 may match; t within the tolerance
 * (PROTOCOLS.md). The event then names a PaymentIntent or a Checkout Session whose
 * metadata.order_id (or client_reference_id) is our order. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "pay/crypto.h"
#include "pay/providers.h"

bool pay_stripe_header_parse(const char *header, int64_t *t_out,
                             char signatures[PAY_STRIPE_SIGNATURES][65], int *count_out) {
    verify(header != 0 && t_out != 0 && signatures != 0 && count_out != 0);
    int count = 0, ts = 0;
    int64_t t = 0;
    const char *p = header;
    while (*p != 0) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq == 0) return false;
        size_t key_len = (size_t)(eq - p), value_len = len - key_len - 1;
        const char *value = eq + 1;
        if (key_len == 1 && p[0] == 't') {
            if (ts++ > 0 || value_len == 0 || value_len > 12) return false;
            t = 0;
            for (size_t i = 0; i < value_len; i++) {
                if (!isdigit((unsigned char)value[i])) return false;
                t = t * 10 + (value[i] - '0');
            }
        } else if (key_len == 2 && p[0] == 'v' && p[1] == '1') {
            if (value_len != 64 || count == PAY_STRIPE_SIGNATURES) return false;
            for (size_t i = 0; i < 64; i++) {
                if (!isxdigit((unsigned char)value[i])) return false;
                signatures[count][i] = (char)tolower((unsigned char)value[i]);
            }
            signatures[count][64] = 0;
            count++;
        } /* other schemes (v0, …) are ignored */
        p += len;
        if (*p == ',') p++;
    }
    *t_out = t;
    *count_out = count;
    return ts == 1 && count > 0;
}

static bool stripe_amount(json_t *object, const char *name, int64_t *out) {
    json_t *value = json_object_get(object, name);
    if (!json_is_integer(value)) return false;
    json_int_t amount = json_integer_value(value);
    if (amount < 0 || amount > LIMIT_AMOUNT_MINOR) return false;
    *out = (int64_t)amount;
    return true;
}

static bool stripe_currency(json_t *object, char out[MONEY_CURRENCY_BYTES]) {
    json_t *value = json_object_get(object, "currency");
    if (!json_is_string(value) || json_string_length(value) != 3) return false;
    const char *text = json_string_value(value);
    for (int i = 0; i < 3; i++) {
        if (!isalpha((unsigned char)text[i])) return false;
        out[i] = (char)toupper((unsigned char)text[i]);
    }
    out[3] = 0;
    return true;
}

enum status pay_stripe_event_parse(const char *body, size_t len, struct pay_notice *out,
                                   char *reason, size_t reason_size) {
    verify(body != 0 && out != 0);
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    enum status status = STATUS_OK;
    json_t *object = json_object_get(json_object_get(root, "data"), "object");
    char type[LIMIT_PAY_REF_BYTES + 1];
    if (!json_is_object(root) || !json_is_object(object)) {
        status = pay_refuse(reason, reason_size, "the body is not a Stripe event");
    } else if (!pay_json_ref(root, "id", true, out->event, sizeof out->event) ||
               !pay_json_ref(root, "type", true, type, sizeof type)) {
        status = pay_refuse(reason, reason_size, "the event's id or type is missing");
    }
    if (status == STATUS_OK) {
        memcpy(out->state, type, sizeof out->state);
        json_t *metadata = json_object_get(object, "metadata");
        bool refs =
            pay_json_ref(metadata, "order_id", false, out->order_ref, sizeof out->order_ref);
        if (refs && out->order_ref[0] == 0) {
            refs = pay_json_ref(object, "client_reference_id", false, out->order_ref,
                                sizeof out->order_ref);
        }
        bool session = strncmp(type, "checkout.session.", 17) == 0;
        if (refs && session) {
            refs = pay_json_ref(object, "payment_intent", false, out->transaction,
                                sizeof out->transaction);
        }
        if (refs && out->transaction[0] == 0) {
            refs = pay_json_ref(object, "id", true, out->transaction, sizeof out->transaction);
        }
        out->has_amount = session ? stripe_amount(object, "amount_total", &out->amount)
                                  : stripe_amount(object, "amount_received", &out->amount) ||
                                        stripe_amount(object, "amount", &out->amount);
        if (!refs || !out->has_amount || !stripe_currency(object, out->currency)) {
            status = pay_refuse(reason, reason_size,
                                "the event's object has no usable id, order, amount or currency");
        }
        char payment_status[LIMIT_PAY_REF_BYTES + 1];
        if (status == STATUS_OK && session) {
            out->paid = strcmp(type, "checkout.session.completed") == 0 &&
                        pay_json_ref(object, "payment_status", true, payment_status,
                                     sizeof payment_status) &&
                        strcmp(payment_status, "paid") == 0;
        } else if (status == STATUS_OK) {
            out->paid = strcmp(type, "payment_intent.succeeded") == 0;
        }
    }
    json_decref(root);
    return status;
}

enum status pay_hmac_header_verify(const char *secret, const char *name,
                                   const struct pay_request *request, char *reason,
                                   size_t reason_size) {
    verify(secret != 0 && name != 0 && request != 0);
    int64_t t = 0;
    char signatures[PAY_STRIPE_SIGNATURES][65];
    int count = 0;
    const char *header = pay_header(request, name);
    if (header == 0 || !pay_stripe_header_parse(header, &t, signatures, &count)) {
        snprintf(reason, reason_size, "%s is missing or malformed", name);
        return STATUS_INVALID_NOTICE;
    }
    if (llabs(request->now_s - t) > LIMIT_PAY_TOLERANCE_S) {
        return pay_refuse(reason, reason_size, "the signed timestamp is outside the tolerance");
    }
    struct buf text;
    buf_init(&text, LIMIT_PAY_NOTICE_BYTES + 32);
    enum status status = buf_printf(&text, "%lld.", (long long)t);
    if (status == STATUS_OK && request->len > 0)
        status = buf_append(&text, request->body, request->len);
    if (status != STATUS_OK) {
        buf_free(&text);
        return status;
    }
    char expected[65];
    pay_hmac_sha256_hex(secret, strlen(secret), text.data, text.len, expected);
    buf_free(&text);
    bool matched = false;
    for (int i = 0; i < count; i++)
        matched |= pay_equal(expected, 64, signatures[i], 64);
    sodium_memzero(expected, sizeof expected);
    if (!matched) return pay_refuse(reason, reason_size, "no v1 signature matches");
    return STATUS_OK;
}

void pay_hmac_header_make(const char *secret, const void *body, size_t len, int64_t now_s,
                          char header[PAY_SIGNATURE_HEADER_BYTES]) {
    verify(secret != 0 && (body != 0 || len == 0) && now_s >= 0 && header != 0);
    struct buf text;
    buf_init(&text, LIMIT_PAY_NOTICE_BYTES + 32);
    verify(buf_printf(&text, "%lld.", (long long)now_s) == STATUS_OK);
    if (len > 0) verify(buf_append(&text, body, len) == STATUS_OK);
    char mac[65];
    pay_hmac_sha256_hex(secret, strlen(secret), text.data, text.len, mac);
    buf_free(&text);
    snprintf(header, PAY_SIGNATURE_HEADER_BYTES, "t=%lld,v1=%s", (long long)now_s, mac);
    sodium_memzero(mac, sizeof mac);
}

enum status pay_stripe_verify(const struct pay_config *config, const struct pay_request *request,
                              struct pay_notice *out, char *reason, size_t reason_size) {
    verify(config != 0 && config->stripe.on && request != 0 && out != 0);
    enum status status = pay_hmac_header_verify(config->stripe.webhook_secret, "Stripe-Signature",
                                                request, reason, reason_size);
    if (status != STATUS_OK) return status;
    return pay_stripe_event_parse(request->body, request->len, out, reason, reason_size);
}
