/* alipay.c — Alipay asynchronous notices (RSA2): a form POST whose sorted fields, without
 * sign and sign_type (and empty values), are signed SHA256withRSA with Alipay's key; some
 * notice types keep sign_type in the signed string, so that is tried second (PROTOCOLS.md);
 * a notice with an empty value is also tried with it kept, as Alipay's Node SDK signs.
 * app_id (and seller_id, when configured) must be ours. */
#include <string.h>

#include "base/assert.h"
#include "pay/crypto.h"
#include "pay/form.h"
#include "pay/providers.h"

static bool alipay_signed(const struct pay_config *config, const struct pay_form *form,
                          const struct buf *signature, const char *const *skip, bool keep_empty) {
    struct buf text;
    buf_init(&text, LIMIT_PAY_NOTICE_BYTES + 1);
    bool ok = pay_form_sign_string(form, skip, keep_empty, &text) == STATUS_OK &&
              pay_rsa_sha256_verify(config->alipay.public_key, text.data ? text.data : "", text.len,
                                    (const unsigned char *)signature->data, signature->len);
    buf_free(&text);
    return ok;
}

static enum status alipay_fields(const struct pay_config *config, const struct pay_form *form,
                                 struct pay_notice *out, char *reason, size_t reason_size) {
    const char *app_id = pay_form_get(form, "app_id");
    const char *seller_id = pay_form_get(form, "seller_id");
    if (app_id == 0 || strcmp(app_id, config->alipay.app_id) != 0)
        return pay_refuse(reason, reason_size, "app_id is not this merchant's");
    if (config->alipay.seller_id[0] != 0 &&
        (seller_id == 0 || strcmp(seller_id, config->alipay.seller_id) != 0))
        return pay_refuse(reason, reason_size, "seller_id is not this merchant's");
    if (!pay_copy_ref(app_id, true, out->merchant, sizeof out->merchant) ||
        !pay_copy_ref(pay_form_get(form, "out_trade_no"), true, out->order_ref,
                      sizeof out->order_ref) ||
        !pay_copy_ref(pay_form_get(form, "trade_no"), true, out->transaction,
                      sizeof out->transaction) ||
        !pay_copy_ref(pay_form_get(form, "trade_status"), true, out->state, sizeof out->state) ||
        !pay_copy_ref(pay_form_get(form, "notify_id"), false, out->event, sizeof out->event)) {
        return pay_refuse(reason, reason_size,
                          "out_trade_no, trade_no or trade_status is missing or too long");
    }
    const char *total = pay_form_get(form, "total_amount");
    if (total == 0 || !pay_parse_decimal(total, &out->amount))
        return pay_refuse(reason, reason_size, "total_amount is not an amount of yuan");
    out->has_amount = true;
    memcpy(out->currency, "CNY", sizeof out->currency);
    out->paid =
        strcmp(out->state, "TRADE_SUCCESS") == 0 || strcmp(out->state, "TRADE_FINISHED") == 0;
    return STATUS_OK;
}

enum status pay_alipay_verify(const struct pay_config *config, const struct pay_request *request,
                              struct pay_notice *out, char *reason, size_t reason_size) {
    verify(config != 0 && config->alipay.on && config->alipay.public_key != 0);
    verify(request != 0 && out != 0);
    struct pay_form form;
    enum status status = pay_form_parse(request->body, request->len, &form, reason, reason_size);
    if (status != STATUS_OK) return status;
    const char *sign = pay_form_get(&form, "sign");
    const char *sign_type = pay_form_get(&form, "sign_type");
    struct buf signature;
    buf_init(&signature, LIMIT_PAY_VALUE_BYTES);
    if (sign == 0 || !pay_base64_decode(sign, strlen(sign), &signature) || signature.len == 0) {
        status = pay_refuse(reason, reason_size, "sign is missing or not base64");
    } else if (sign_type != 0 && strcmp(sign_type, "RSA2") != 0) {
        status = pay_refuse(reason, reason_size, "sign_type is not RSA2");
    } else {
        static const char *const without[] = {"sign", "sign_type", 0};
        static const char *const with[] = {"sign", 0};
        /* Alipay's Java SDK leaves empty values out of the string, its Node SDK keeps
         * them; both are tried when the notice has one */
        bool empties = pay_form_has_empty(&form), ok = false;
        for (int keep = 0; !ok && keep <= (int)empties; keep++) {
            ok = alipay_signed(config, &form, &signature, without, keep) ||
                 (sign_type != 0 && alipay_signed(config, &form, &signature, with, keep));
        }
        if (!ok) status = pay_refuse(reason, reason_size, "the signature does not verify");
    }
    buf_free(&signature);
    if (status == STATUS_OK) status = alipay_fields(config, &form, out, reason, reason_size);
    pay_form_free(&form);
    return status;
}
