/* sandbox.c — the built-in test provider, so a fresh install shows the whole paid-order flow
 * without a merchant account: its "payment page" is Tessera's own (api/pay.c), and its
 * notices are signed like Stripe's — `Sandbox-Signature: t=…,v1=HMAC-SHA256(secret,
 * "t.body")` — with the configuration's sandbox secret. The body:
 *   {"id":"sbx_evt_…","order_ref":"T12","transaction":"sbx_…","amount":300,
 *    "currency":"CNY","state":"paid"|"failed"} */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "pay/providers.h"

static enum status sandbox_parse(const char *body, size_t len, struct pay_notice *out, char *reason,
                                 size_t reason_size) {
    json_error_t error;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &error);
    json_t *amount = json_object_get(root, "amount");
    char currency[8];
    enum status status = STATUS_OK;
    if (!json_is_object(root) || !pay_json_ref(root, "id", true, out->event, sizeof out->event) ||
        !pay_json_ref(root, "order_ref", true, out->order_ref, sizeof out->order_ref) ||
        !pay_json_ref(root, "transaction", true, out->transaction, sizeof out->transaction) ||
        !pay_json_ref(root, "state", true, out->state, sizeof out->state) ||
        !pay_json_ref(root, "currency", true, currency, sizeof currency) ||
        !money_currency_valid(currency) || !json_is_integer(amount) ||
        json_integer_value(amount) < 0 || json_integer_value(amount) > LIMIT_AMOUNT_MINOR) {
        status = pay_refuse(reason, reason_size, "the body is not a sandbox notice");
    } else {
        out->has_amount = true;
        out->amount = (int64_t)json_integer_value(amount);
        memcpy(out->currency, currency, MONEY_CURRENCY_BYTES);
        out->paid = strcmp(out->state, "paid") == 0;
    }
    json_decref(root);
    return status;
}

enum status pay_sandbox_verify(const struct pay_config *config, const struct pay_request *request,
                               struct pay_notice *out, char *reason, size_t reason_size) {
    verify(config != 0 && config->sandbox.on && request != 0 && out != 0);
    enum status status = pay_hmac_header_verify(config->sandbox.secret, "Sandbox-Signature",
                                                request, reason, reason_size);
    if (status != STATUS_OK) return status;
    return sandbox_parse(request->body, request->len, out, reason, reason_size);
}

enum status pay_sandbox_notice(const struct pay_config *config, const char *order_ref,
                               int64_t amount, const char *currency, bool paid, int64_t now_s,
                               struct buf *body, char header[PAY_SIGNATURE_HEADER_BYTES]) {
    verify(config != 0 && config->sandbox.on && order_ref != 0 && currency != 0 && body != 0);
    unsigned char random[12];
    randombytes_buf(random, sizeof random);
    char id[2 * sizeof random + 1];
    sodium_bin2hex(id, sizeof id, random, sizeof random);
    size_t start = body->len;
    enum status status =
        buf_printf(body,
                   "{\"id\":\"sbx_evt_%s\",\"order_ref\":\"%s\",\"transaction\":\"sbx_%s\","
                   "\"amount\":%lld,\"currency\":\"%s\",\"state\":\"%s\"}",
                   id, order_ref, id, (long long)amount, currency, paid ? "paid" : "failed");
    if (status != STATUS_OK) return status;
    pay_hmac_header_make(config->sandbox.secret, body->data + start, body->len - start, now_s,
                         header);
    return STATUS_OK;
}
