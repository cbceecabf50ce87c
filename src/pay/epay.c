/* epay.c — EPay (易支付) notices: a GET query string signed with MD5 over the sorted fields
 * and the merchant key (PROTOCOLS.md). No timestamp or nonce is signed, so a captured notice
 * replays: the caller dedupes on out_trade_no and checks the amount. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "pay/crypto.h"
#include "pay/form.h"
#include "pay/providers.h"

static bool epay_hex32(const char *sign, char lower[33]) {
    if (strlen(sign) != 32) return false;
    for (int i = 0; i < 32; i++) {
        if (!isxdigit((unsigned char)sign[i])) return false;
        lower[i] = (char)tolower((unsigned char)sign[i]);
    }
    lower[32] = 0;
    return true;
}

static enum status epay_fields(const struct pay_config *config, const struct pay_form *form,
                               struct pay_notice *out, char *reason, size_t reason_size) {
    if (strcmp(pay_form_get(form, "pid") ? pay_form_get(form, "pid") : "", config->epay.pid) != 0)
        return pay_refuse(reason, reason_size, "pid is not this merchant's");
    if (!pay_copy_ref(pay_form_get(form, "pid"), true, out->merchant, sizeof out->merchant) ||
        !pay_copy_ref(pay_form_get(form, "out_trade_no"), true, out->order_ref,
                      sizeof out->order_ref) ||
        !pay_copy_ref(pay_form_get(form, "trade_no"), true, out->transaction,
                      sizeof out->transaction) ||
        !pay_copy_ref(pay_form_get(form, "trade_status"), true, out->state, sizeof out->state)) {
        return pay_refuse(reason, reason_size,
                          "pid, out_trade_no, trade_no or trade_status is missing or too long");
    }
    const char *money = pay_form_get(form, "money");
    if (money == 0 || !pay_parse_decimal(money, &out->amount)) {
        return pay_refuse(reason, reason_size, "money is not an amount of yuan");
    }
    out->has_amount = true;
    memcpy(out->currency, "CNY", sizeof out->currency);
    out->paid = strcmp(out->state, "TRADE_SUCCESS") == 0;
    return STATUS_OK;
}

enum status pay_epay_verify(const struct pay_config *config, const struct pay_request *request,
                            struct pay_notice *out, char *reason, size_t reason_size) {
    verify(config != 0 && config->epay.on && request != 0 && out != 0);
    struct pay_form form;
    enum status status = pay_form_parse(request->body, request->len, &form, reason, reason_size);
    if (status != STATUS_OK) return status;
    const char *sign = pay_form_get(&form, "sign");
    const char *sign_type = pay_form_get(&form, "sign_type");
    char given[33];
    if (sign == 0 || !epay_hex32(sign, given)) {
        status = pay_refuse(reason, reason_size, "sign is missing or not 32 hex digits");
    } else if (sign_type != 0 && strcmp(sign_type, "MD5") != 0) {
        status = pay_refuse(reason, reason_size, "sign_type is not MD5");
    }
    struct buf text;
    buf_init(&text, LIMIT_PAY_NOTICE_BYTES + PAY_SECRET_BYTES + 1);
    static const char *const skip[] = {"sign", "sign_type", 0};
    if (status == STATUS_OK) status = pay_form_sign_string(&form, skip, false, &text);
    if (status == STATUS_OK) status = buf_append(&text, config->epay.key, strlen(config->epay.key));
    if (status == STATUS_OK) {
        char expected[33];
        pay_md5_hex(text.data, text.len, expected);
        if (!pay_equal(expected, 32, given, 32)) {
            status = pay_refuse(reason, reason_size, "the signature does not match");
        }
        sodium_memzero(expected, sizeof expected);
    }
    if (text.data != 0) sodium_memzero(text.data, text.len);
    buf_free(&text);
    if (status == STATUS_OK) status = epay_fields(config, &form, out, reason, reason_size);
    pay_form_free(&form);
    return status;
}

enum status pay_epay_submit_url(const struct pay_config *config, const char *order_ref,
                                const char *subject, int64_t amount, struct buf *out) {
    verify(config != 0 && config->epay.submit_url[0] != 0 && order_ref != 0 && subject != 0);
    char money[PAY_DECIMAL_BYTES];
    pay_format_decimal(amount, money);
    const char *keys[] = {"money", "name",       "notify_url", "out_trade_no",
                          "pid",   "return_url", "type"}; /* sorted: the signed string's order */
    const char *values[] = {money,
                            subject,
                            config->epay.notify_url,
                            order_ref,
                            config->epay.pid,
                            config->epay.return_url,
                            config->epay.type};
    struct buf text;
    buf_init(&text, 4 * PAY_URL_BYTES + PAY_SECRET_BYTES + 256);
    enum status status = buf_printf(out, "%s?", config->epay.submit_url);
    if (status == STATUS_OK)
        status = pay_signed_fields(keys, values, sizeof keys / sizeof keys[0], &text, out);
    if (status == STATUS_OK) status = buf_append(&text, config->epay.key, strlen(config->epay.key));
    if (status == STATUS_OK) {
        char sign[33];
        pay_md5_hex(text.data, text.len, sign);
        status = buf_printf(out, "sign=%s&sign_type=MD5", sign);
    }
    if (text.data != 0) sodium_memzero(text.data, text.len);
    buf_free(&text);
    return status;
}
