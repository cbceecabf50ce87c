/* fuzz_pay_response.c — libFuzzer harness for the readers of payment providers' answers
 * (src/pay/: wechatpay_api.c, alipay_api.c, epay_api.c, stripe_api.c). Byte 0 picks the
 * target, the rest is the input:
 *   0 the raw member of an Alipay answer (pay_alipay_member)
 *   1 an Alipay answer through pay_alipay_answer (its signature and response object)
 *   2 an Alipay trade.query response object    3 a WeChat Pay query answer
 *   4 a WeChat Pay refund answer                5 a WeChat Pay answer's signature (headers,
 *   6 an EPay query answer                        a blank line, the body)
 *   7 an EPay refund answer                     8 a Stripe PaymentIntent
 *   9 a Stripe answer (its status from the first byte of the input, then the body)
 * The configuration is built here with freshly generated RSA keys, so forged signatures are
 * what the fuzzer mostly makes: the readers around the checks are what it explores.
 * Invariants: a member found lies inside the input; an answer read has printable references
 * within their limits and an amount within LIMIT_AMOUNT_MINOR; a failure always says why;
 * nothing crashes, reads past the input or leaks. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "fuzz_headers.h"
#include "pay/api.h"

static struct pay_config config;

static void fuzz_setup(void) {
    if (config.wechatpay.on) return;
    config.wechatpay.on = config.alipay.on = config.epay.on = config.stripe.on = true;
    memcpy(config.wechatpay.mchid, "1900000109", 11);
    config.wechatpay.keys[0].key = EVP_RSA_gen(2048);
    memcpy(config.wechatpay.keys[0].id, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", 41);
    config.wechatpay.key_count = 1;
    memcpy(config.alipay.app_id, "2021000117600001", 17);
    config.alipay.public_key = EVP_RSA_gen(2048);
    memcpy(config.epay.pid, "1001", 5);
    verify(config.wechatpay.keys[0].key != 0 && config.alipay.public_key != 0);
}

static void fuzz_check_ref(const char *text) {
    size_t len = strlen(text);
    verify(len <= LIMIT_PAY_REF_BYTES);
    verify(text_printable(text, len));
}

static void fuzz_check_call(enum status status, const struct pay_call *call) {
    if (status == STATUS_OK) return;
    /* unavailable: a provider's "outcome unknown, call again" (Alipay 20000, WeChat Pay
     * SYSTEM_ERROR) */
    verify(status == STATUS_PROVIDER_REFUSED || status == STATUS_PROVIDER_INVALID_RESPONSE ||
           status == STATUS_PROVIDER_UNAVAILABLE);
    verify(call->message[0] != 0);
    fuzz_check_ref(call->provider_code);
}

static void fuzz_check_query(enum status status, const struct pay_query_result *q) {
    fuzz_check_call(status, &q->call);
    if (status != STATUS_OK) return;
    verify(q->found);
    fuzz_check_ref(q->state);
    fuzz_check_ref(q->transaction);
    if (q->has_amount) {
        verify(q->amount >= 0 && q->amount <= LIMIT_AMOUNT_MINOR);
        verify(money_currency_valid(q->currency));
    }
}

static void fuzz_check_refund(enum status status, const struct pay_refund_result *r) {
    fuzz_check_call(status, &r->call);
    if (status != STATUS_OK) return;
    verify(r->accepted);
    fuzz_check_ref(r->state);
    fuzz_check_ref(r->refund_id);
}

/* The headers and body of the input, as an answer that arrived. */
static void fuzz_response(char *text, size_t len, struct pay_http_response *response) {
    const char *body = 0;
    size_t body_len = 0;
    response->header_count = fuzz_split_headers(text, len, response->headers, &body, &body_len);
    if (body_len > 0) verify(buf_append(&response->body, body, body_len) == STATUS_OK);
}

static void fuzz_json_targets(int target, const char *copy, size_t len) {
    json_error_t error;
    json_t *root = json_loadb(copy, len, JSON_REJECT_DUPLICATES, &error);
    struct pay_query_result q;
    memset(&q, 0, sizeof q);
    if (target == 2) {
        fuzz_check_query(pay_alipay_query_parse(&config, "T1001", root, &q), &q);
    } else {
        fuzz_check_query(pay_stripe_intent_parse("T1001", root, &q, &q.call), &q);
    }
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_setup();
    if (size == 0) return 0;
    int target = data[0] % 10;
    size_t len = 0;
    char *copy = fuzz_copy_after_target(data, size, &len);
    struct pay_query_result q;
    struct pay_refund_result r;
    memset(&q, 0, sizeof q);
    memset(&r, 0, sizeof r);
    if (target == 0) {
        const char *member = 0;
        size_t member_len = 0;
        if (pay_alipay_member(copy, len, "alipay_trade_query_response", &member, &member_len)) {
            verify(member >= copy && member + member_len <= copy + len && member_len > 0);
        }
    } else if (target == 1) {
        json_t *answer = 0;
        enum status status =
            pay_alipay_answer(&config, "alipay.trade.query", copy, len, &answer, &q.call);
        fuzz_check_call(status, &q.call);
        verify((status == STATUS_OK) == (answer != 0));
        json_decref(answer);
    } else if (target == 2 || target == 8) {
        fuzz_json_targets(target, copy, len);
    } else if (target == 3) {
        fuzz_check_query(pay_wechatpay_query_parse(&config, "T1001", copy, len, &q), &q);
    } else if (target == 4) {
        fuzz_check_refund(pay_wechatpay_refund_parse("R1", copy, len, &r), &r);
    } else if (target == 5) {
        struct pay_http_response *response = malloc(sizeof *response);
        verify(response != 0);
        pay_http_response_init(response);
        fuzz_response(copy, len, response);
        fuzz_check_call(pay_wechatpay_answer_verify(&config, response, 1764583200, &q.call),
                        &q.call);
        pay_http_response_free(response);
        free(response);
    } else if (target == 6) {
        fuzz_check_query(pay_epay_query_parse(&config, "T1001", copy, len, &q), &q);
    } else if (target == 7) {
        fuzz_check_refund(pay_epay_refund_parse(copy, len, &r), &r);
    } else {
        struct pay_http_response *response = malloc(sizeof *response);
        verify(response != 0);
        pay_http_response_init(response);
        response->status = len > 0 ? 200 + (unsigned char)copy[0] % 300 : 200;
        if (len > 1) verify(buf_append(&response->body, copy + 1, len - 1) == STATUS_OK);
        json_t *answer = 0;
        enum status status = pay_stripe_answer(response, &answer, &q.call);
        fuzz_check_call(status, &q.call);
        verify((status == STATUS_OK) == (answer != 0));
        json_decref(answer);
        pay_http_response_free(response);
        free(response);
    }
    free(copy);
    return 0;
}
