/* pay_outbound_test.c — the parts of the outbound requests that need no network: decimal
 * amounts written, references allowed in URLs, what a configuration can call, WeChat Pay's
 * Authorization header and Alipay's signed form (checked with the keys' public halves), the
 * raw member an Alipay answer is signed over, and the readers of answers. (Requests end to
 * end against fake providers: tests/api/test_pay_outbound.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pay/api.h"
#include "pay/crypto.h"
#include "pay/form.h"

static struct pay_config *config_with_keys(void) {
    struct pay_config *config = pay_config_empty();
    config->wechatpay.on = config->alipay.on = config->epay.on = config->stripe.on = true;
    snprintf(config->wechatpay.mchid, sizeof config->wechatpay.mchid, "1900000109");
    snprintf(config->wechatpay.appid, sizeof config->wechatpay.appid, "wxd678efh567hg6787");
    snprintf(config->wechatpay.merchant_serial_no, sizeof config->wechatpay.merchant_serial_no,
             "444F4864EA9B34415CC4C1B4A0FE8DC05AA12D2B");
    config->wechatpay.merchant_key = EVP_RSA_gen(2048);
    snprintf(config->alipay.app_id, sizeof config->alipay.app_id, "2021000117600001");
    config->alipay.app_private_key = EVP_RSA_gen(2048);
    config->alipay.public_key = EVP_RSA_gen(2048);
    snprintf(config->alipay.notify_url, sizeof config->alipay.notify_url, "https://shop/notify");
    snprintf(config->epay.pid, sizeof config->epay.pid, "1001");
    assert_non_null(config->wechatpay.merchant_key);
    assert_non_null(config->alipay.app_private_key);
    return config;
}

static void decimals_written(void **state) {
    static const struct {
        int64_t minor;
        const char *text;
    } cases[] = {
        {0, "0.00"}, {1, "0.01"}, {10, "0.10"}, {1230, "12.30"}, {100000000000LL, "1000000000.00"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[PAY_DECIMAL_BYTES];
        pay_format_decimal(cases[i].minor, text);
        assert_string_equal(text, cases[i].text);
        int64_t back = -1;
        assert_true(pay_parse_decimal(text, &back));
        assert_int_equal(back, cases[i].minor);
    }
}

static void references_in_urls(void **state) {
    assert_true(pay_ref_safe("T1001"));
    assert_true(pay_ref_safe("pi_3MtwBwLkdIwHu7ix28a3tqPa"));
    assert_true(pay_ref_safe("a-b_c"));
    char longest[LIMIT_PAY_REF_BYTES + 2];
    memset(longest, 'x', sizeof longest);
    longest[LIMIT_PAY_REF_BYTES] = 0;
    assert_true(pay_ref_safe(longest));
    longest[LIMIT_PAY_REF_BYTES] = 'x';
    longest[LIMIT_PAY_REF_BYTES + 1] = 0;
    assert_false(pay_ref_safe(longest));
    const char *bad[] = {"", "T/1", "T?x=1", "T 1", "T%201", "../T", "T\n", "订单"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(pay_ref_safe(bad[i]));
    assert_false(pay_ref_safe(0));
}

static void what_a_configuration_can_call(void **state) {
    struct pay_config *config = pay_config_empty();
    for (int p = 0; p < PAY_PROVIDER_COUNT; p++)
        for (int op = 0; op < PAY_OPERATION_COUNT; op++)
            assert_false(pay_can_call(config, (enum pay_provider)p, (enum pay_operation)op));
    pay_config_free(config);
    config = config_with_keys();
    assert_false(pay_can_call(config, PAY_WECHATPAY, PAY_CREATE)); /* no notify_url */
    assert_true(pay_can_call(config, PAY_WECHATPAY, PAY_QUERY));
    assert_true(pay_can_call(config, PAY_ALIPAY, PAY_CREATE));
    assert_false(pay_can_call(config, PAY_EPAY, PAY_QUERY));    /* no api_url */
    assert_false(pay_can_call(config, PAY_STRIPE, PAY_REFUND)); /* no secret_key */
    snprintf(config->epay.api_url, sizeof config->epay.api_url, "https://epay/api.php");
    snprintf(config->stripe.secret_key, sizeof config->stripe.secret_key, "sk_test_x");
    assert_true(pay_can_call(config, PAY_EPAY, PAY_REFUND));
    assert_false(pay_can_call(config, PAY_EPAY, PAY_CREATE)); /* no submit_url */
    assert_true(pay_can_call(config, PAY_STRIPE, PAY_REFUND));
    config->stripe.on = false; /* a provider that is off can do nothing */
    assert_false(pay_can_call(config, PAY_STRIPE, PAY_QUERY));
    assert_int_equal(config->outbound.timeout_ms, LIMIT_PAY_HTTP_TIMEOUT_MS);
    assert_int_equal(config->outbound.retries, LIMIT_PAY_RETRIES);
    pay_config_free(config);
}

/* The value of name="…" in a WeChat Pay Authorization header. */
static void auth_field(const char *header, const char *name, char *out, size_t size) {
    char key[32];
    snprintf(key, sizeof key, "%s=\"", name);
    const char *start = strstr(header, key);
    assert_non_null(start);
    start += strlen(key);
    const char *end = strchr(start, '"');
    assert_non_null(end);
    assert_true((size_t)(end - start) < size);
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = 0;
}

static void wechatpay_authorization(void **state) {
    struct pay_config *config = config_with_keys();
    const char *body = "{\"mchid\":\"1900000109\"}";
    struct buf header;
    buf_init(&header, 4096);
    assert_int_equal(pay_wechatpay_authorization(config, "POST", "/v3/pay/transactions/native",
                                                 body, strlen(body), 1764583200,
                                                 "5K8264ILTKCH16CQ2502SI8ZNMTM67VS", &header),
                     STATUS_OK);
    const char *prefix = "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\","
                         "nonce_str=\"5K8264ILTKCH16CQ2502SI8ZNMTM67VS\",timestamp=\"1764583200\","
                         "serial_no=\"444F4864EA9B34415CC4C1B4A0FE8DC05AA12D2B\",signature=\"";
    assert_memory_equal(header.data, prefix, strlen(prefix));
    char signature[1024];
    auth_field(header.data, "signature", signature, sizeof signature);
    struct buf raw;
    buf_init(&raw, 1024);
    assert_true(pay_base64_decode(signature, strlen(signature), &raw));
    char message[256];
    snprintf(message, sizeof message,
             "POST\n/v3/pay/transactions/native\n1764583200\n"
             "5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n%s\n",
             body);
    EVP_PKEY *key = config->wechatpay.merchant_key;
    assert_true(pay_rsa_sha256_verify(key, message, strlen(message),
                                      (const unsigned char *)raw.data, raw.len));
    message[0] = 'G'; /* another method: the signature no longer holds */
    assert_false(pay_rsa_sha256_verify(key, message, strlen(message),
                                       (const unsigned char *)raw.data, raw.len));
    buf_free(&raw);
    buf_free(&header);
    pay_config_free(config);
}

static void alipay_signed_form(void **state) {
    struct pay_config *config = config_with_keys();
    struct buf form_text;
    buf_init(&form_text, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    const char *biz =
        "{\"out_trade_no\":\"T1\",\"total_amount\":\"1.00\",\"subject\":\"点卡 & more\"}";
    assert_int_equal(
        pay_alipay_form(config, "alipay.trade.precreate", biz, true, 1764583200, &form_text),
        STATUS_OK);
    struct pay_form form;
    char reason[100];
    assert_int_equal(pay_form_parse(form_text.data, form_text.len, &form, reason, sizeof reason),
                     STATUS_OK);
    assert_string_equal(pay_form_get(&form, "app_id"), "2021000117600001");
    assert_string_equal(pay_form_get(&form, "method"), "alipay.trade.precreate");
    assert_string_equal(pay_form_get(&form, "charset"), "utf-8");
    assert_string_equal(pay_form_get(&form, "sign_type"), "RSA2");
    assert_string_equal(pay_form_get(&form, "version"), "1.0");
    assert_string_equal(pay_form_get(&form, "timestamp"), "2025-12-01 18:00:00"); /* UTC+8 */
    assert_string_equal(pay_form_get(&form, "notify_url"), "https://shop/notify");
    assert_string_equal(pay_form_get(&form, "biz_content"), biz);
    /* the signed string: every parameter but sign (sign_type kept), sorted, decoded */
    struct buf text, signature;
    buf_init(&text, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    buf_init(&signature, 1024);
    static const char *const skip[] = {"sign", 0};
    assert_int_equal(pay_form_sign_string(&form, skip, false, &text), STATUS_OK);
    const char *sign = pay_form_get(&form, "sign");
    assert_true(pay_base64_decode(sign, strlen(sign), &signature));
    EVP_PKEY *key = config->alipay.app_private_key;
    assert_true(pay_rsa_sha256_verify(key, text.data, text.len,
                                      (const unsigned char *)signature.data, signature.len));
    buf_free(&text);
    buf_free(&signature);
    pay_form_free(&form);
    buf_free(&form_text);
    pay_config_free(config);
}

static void alipay_member_text(void **state) {
    static const struct {
        const char *json, *name, *member; /* member NULL: not found */
    } cases[] = {
        {"{\"a_response\":{\"code\":\"10000\"},\"sign\":\"xx\"}", "a_response",
         "{\"code\":\"10000\"}"},
        {"{\"sign\":\"xx\", \"a_response\" : {\"s\":\"}{\\\"\",\"n\":[1,{\"x\":2}]} }",
         "a_response", "{\"s\":\"}{\\\"\",\"n\":[1,{\"x\":2}]}"},
        {"{\"a_response\":{\"u\":\"\\/中\"}}", "a_response", "{\"u\":\"\\/中\"}"},
        {"{\"a_response\":1}", "a_response", "1"},
        {"{\"b_response\":{}}", "a_response", 0},
        {"{\"a_response\":{\"x\":1}", "a_response", 0}, /* not closed */
        {"{\"a_response\":{\"x\":\"1}}", "a_response", 0},
        {"[\"a_response\"]", "a_response", 0},
        {"", "a_response", 0},
        {"{\"a_response\":}", "a_response", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *member = 0;
        size_t len = 0;
        bool found =
            pay_alipay_member(cases[i].json, strlen(cases[i].json), cases[i].name, &member, &len);
        assert_int_equal(found, cases[i].member != 0);
        if (found) {
            assert_int_equal(len, strlen(cases[i].member));
            assert_memory_equal(member, cases[i].member, len);
        }
    }
}

static void answers_read(void **state) {
    struct pay_config *config = config_with_keys();
    struct pay_query_result q;
    memset(&q, 0, sizeof q);
    const char *ok = "{\"mchid\":\"1900000109\",\"out_trade_no\":\"T1\",\"trade_state\":"
                     "\"SUCCESS\",\"transaction_id\":\"42\",\"amount\":{\"total\":100}}";
    assert_int_equal(pay_wechatpay_query_parse(config, "T1", ok, strlen(ok), &q), STATUS_OK);
    assert_true(q.found && q.paid && q.has_amount);
    assert_int_equal(q.amount, 100);
    assert_string_equal(q.currency, "CNY");
    memset(&q, 0, sizeof q);
    assert_int_equal(pay_wechatpay_query_parse(config, "T2", ok, strlen(ok), &q),
                     STATUS_PROVIDER_INVALID_RESPONSE); /* another order */
    assert_false(q.found);
    const char *other = "{\"mchid\":\"1900000999\",\"out_trade_no\":\"T1\",\"trade_state\":\"X\"}";
    assert_int_equal(pay_wechatpay_query_parse(config, "T1", other, strlen(other), &q),
                     STATUS_PROVIDER_INVALID_RESPONSE);
    memset(&q, 0, sizeof q);
    const char *epay = "{\"code\":\"1\",\"out_trade_no\":\"T1\",\"trade_no\":\"9\",\"pid\":1001,"
                       "\"money\":\"0.50\",\"status\":\"0\"}";
    assert_int_equal(pay_epay_query_parse(config, "T1", epay, strlen(epay), &q), STATUS_OK);
    assert_true(q.found && !q.paid);
    assert_int_equal(q.amount, 50);
    const char *refused = "{\"code\":-1,\"msg\":\"x\"}";
    assert_int_equal(pay_epay_query_parse(config, "T1", refused, strlen(refused), &q),
                     STATUS_PROVIDER_REFUSED);
    assert_string_equal(q.call.provider_code, "-1");
    struct pay_refund_result r;
    memset(&r, 0, sizeof r);
    const char *refund = "{\"refund_id\":\"5\",\"out_refund_no\":\"R1\",\"status\":\"SUCCESS\"}";
    assert_int_equal(pay_wechatpay_refund_parse("R1", refund, strlen(refund), &r), STATUS_OK);
    assert_true(r.accepted && r.succeeded && !r.pending);
    assert_int_equal(pay_wechatpay_refund_parse("R2", refund, strlen(refund), &r),
                     STATUS_PROVIDER_INVALID_RESPONSE);
    pay_config_free(config);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimals_written),
        cmocka_unit_test(references_in_urls),
        cmocka_unit_test(what_a_configuration_can_call),
        cmocka_unit_test(wechatpay_authorization),
        cmocka_unit_test(alipay_signed_form),
        cmocka_unit_test(alipay_member_text),
        cmocka_unit_test(answers_read),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
