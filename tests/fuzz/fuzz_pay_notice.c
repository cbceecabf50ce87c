/* fuzz_pay_notice.c — libFuzzer harness for the payment notice parsers (src/pay/). Byte 0
 * picks the target, the rest is the input:
 *   0 a form / query string (pay_form_parse, then the signed string)
 *   1 an EPay notice through pay_verify       2 a Stripe-Signature header
 *   3 a Stripe event body (after the signature) 4 a WeChat Pay decrypted resource
 *   5 a WeChat Pay notice (headers, a blank line, the body) through pay_verify
 *   6 an Alipay notice through pay_verify
 * The configuration is built here with freshly generated RSA keys, so forged signatures are
 * what the fuzzer mostly makes: the parsers around the signature checks are what it
 * explores. Invariants: a notice that verifies has printable references within their
 * limits, an amount within LIMIT_AMOUNT_MINOR and a valid currency; a refusal always has a
 * reason; nothing crashes, reads past the input or leaks. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "fuzz_headers.h"
#include "pay/config.h"
#include "pay/form.h"
#include "pay/providers.h"

static struct pay_config config;

static void fuzz_setup(void) {
    if (config.epay.on) return;
    config.epay.on = config.stripe.on = config.wechatpay.on = config.alipay.on = true;
    memcpy(config.epay.pid, "1001", 5);
    memcpy(config.epay.key, "fuzz-epay-key", 14);
    memcpy(config.stripe.webhook_secret, "whsec_fuzz", 11);
    memcpy(config.wechatpay.mchid, "1900000109", 11);
    memcpy(config.wechatpay.apiv3_key, "0123456789abcdef0123456789abcdef", 32);
    config.wechatpay.has_apiv3_key = true;
    config.wechatpay.keys[0].key = EVP_RSA_gen(2048);
    memcpy(config.wechatpay.keys[0].id, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", 41);
    config.wechatpay.key_count = 1;
    memcpy(config.alipay.app_id, "2021000117600001", 17);
    config.alipay.public_key = EVP_RSA_gen(2048);
    verify(config.wechatpay.keys[0].key != 0 && config.alipay.public_key != 0);
}

static void fuzz_check_ref(const char *text) {
    size_t len = strlen(text);
    verify(len <= LIMIT_PAY_REF_BYTES);
    verify(text_printable(text, len));
}

static void fuzz_check(enum status status, const struct pay_notice *notice, const char *reason) {
    if (status != STATUS_OK) {
        verify(status == STATUS_INVALID_NOTICE && reason[0] != 0);
        return;
    }
    fuzz_check_ref(notice->order_ref);
    fuzz_check_ref(notice->transaction);
    fuzz_check_ref(notice->merchant);
    fuzz_check_ref(notice->event);
    fuzz_check_ref(notice->state);
    if (notice->has_amount) {
        verify(notice->amount >= 0 && notice->amount <= LIMIT_AMOUNT_MINOR);
        verify(money_currency_valid(notice->currency));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_setup();
    if (size == 0) return 0;
    int target = data[0] % 7;
    size_t len = 0;
    char *copy = fuzz_copy_after_target(data, size, &len);
    char reason[200] = "";
    struct pay_notice notice;
    memset(&notice, 0, sizeof notice);
    struct pay_request request = {copy, len, 0, 0, 1764583200};
    enum status status = STATUS_OK;
    if (target == 0) {
        struct pay_form form;
        status = pay_form_parse(copy, len, &form, reason, sizeof reason);
        if (status == STATUS_OK) {
            struct buf out;
            buf_init(&out, LIMIT_PAY_NOTICE_BYTES * 2);
            static const char *const skip[] = {"sign", 0};
            verify(pay_form_sign_string(&form, skip, len > 0 && (copy[0] & 1), &out) == STATUS_OK);
            for (int i = 0; i < form.count; i++)
                verify(pay_form_get(&form, form.fields[i].key) != 0);
            buf_free(&out);
            pay_form_free(&form);
        } else {
            verify(status == STATUS_INVALID_NOTICE && reason[0] != 0 && form.count == 0);
        }
    } else if (target == 1) {
        status = pay_verify(&config, PAY_EPAY, &request, &notice, 0, reason, sizeof reason);
        fuzz_check(status, &notice, reason);
    } else if (target == 2) {
        int64_t t = 0;
        char signatures[PAY_STRIPE_SIGNATURES][65];
        int count = 0;
        if (pay_stripe_header_parse(copy, &t, signatures, &count)) {
            verify(t >= 0 && count >= 1 && count <= PAY_STRIPE_SIGNATURES);
            for (int i = 0; i < count; i++)
                verify(strlen(signatures[i]) == 64);
        }
    } else if (target == 3) {
        status = pay_stripe_event_parse(copy, len, &notice, reason, sizeof reason);
        fuzz_check(status, &notice, reason);
    } else if (target == 4) {
        status = pay_wechatpay_resource_parse(copy, len, &notice, reason, sizeof reason);
        fuzz_check(status, &notice, reason);
    } else if (target == 5) {
        struct pay_header headers[LIMIT_HEADER_COUNT];
        request.header_count = fuzz_split_headers(copy, len, headers, &request.body, &request.len);
        request.headers = headers;
        struct buf resource;
        buf_init(&resource, LIMIT_PAY_NOTICE_BYTES);
        status =
            pay_verify(&config, PAY_WECHATPAY, &request, &notice, &resource, reason, sizeof reason);
        fuzz_check(status, &notice, reason);
        buf_free(&resource);
    } else {
        status = pay_verify(&config, PAY_ALIPAY, &request, &notice, 0, reason, sizeof reason);
        fuzz_check(status, &notice, reason);
    }
    free(copy);
    return 0;
}
