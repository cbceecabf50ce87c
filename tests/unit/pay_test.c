/* pay_test.c — the pieces of notice verification that are not cryptography: decimal amounts,
 * form decoding, the signed string EPay and Alipay build, the Stripe-Signature header, and
 * the fields read from a Stripe event and a WeChat Pay resource. (Signed notices end to end:
 * tests/api/test_pay_verify.py.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pay/form.h"
#include "pay/providers.h"

static void decimal_amounts(void **state) {
    static const struct {
        const char *text;
        int64_t minor; /* -1: refused */
    } cases[] = {{"0", 0},
                 {"1", 100},
                 {"1.5", 150},
                 {"1.05", 105},
                 {"0.01", 1},
                 {"12.34", 1234},
                 {"1000000000", 100000000000LL},
                 {"1000000000.01", -1},
                 {"1.", -1},
                 {".5", -1},
                 {"1.234", -1},
                 {"-1", -1},
                 {"+1", -1},
                 {"01", -1},
                 {"1e3", -1},
                 {"", -1},
                 {" 1", -1},
                 {"1 ", -1},
                 {"1,00", -1},
                 {"9999999999999", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t minor = -7;
        bool ok = pay_parse_decimal(cases[i].text, &minor);
        assert_int_equal(ok, cases[i].minor >= 0);
        if (ok) assert_int_equal(minor, cases[i].minor);
    }
}

static enum status parse(const char *text, struct pay_form *form, char *reason) {
    return pay_form_parse(text, strlen(text), form, reason, 100);
}

static void forms_decode(void **state) {
    struct pay_form form;
    char reason[100];
    assert_int_equal(parse("a=1&b=x+y%20z&&c=&d=%E4%B8%AD&e", &form, reason), STATUS_OK);
    assert_int_equal(form.count, 5);
    assert_string_equal(pay_form_get(&form, "b"), "x y z");
    assert_string_equal(pay_form_get(&form, "c"), "");
    assert_string_equal(pay_form_get(&form, "d"), "中");
    assert_string_equal(pay_form_get(&form, "e"), "");
    assert_null(pay_form_get(&form, "f"));
    pay_form_free(&form);
    static const char *const bad[] = {"a=%zz", "a=%4",    "a=%",      "a=%00b",
                                      "=1",    "a=1&a=2", "a=%ff%fe", "%3D=1&%3D=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason[0] = 0;
        assert_int_equal(parse(bad[i], &form, reason), STATUS_INVALID_NOTICE);
        assert_int_equal(form.count, 0);
        assert_true(reason[0] != 0);
    }
    char many[LIMIT_PAY_FIELDS * 8 + 16] = "";
    for (int i = 0; i <= LIMIT_PAY_FIELDS; i++) {
        char part[16];
        snprintf(part, sizeof part, "k%d=1&", i);
        strcat(many, part);
    }
    assert_int_equal(parse(many, &form, reason), STATUS_INVALID_NOTICE);
    assert_string_equal(reason, "too many fields");
}

static void the_signed_string(void **state) {
    struct pay_form form;
    char reason[100];
    assert_int_equal(parse("sign=S&b=2&a=1&sign_type=MD5&empty=&c=x%26y", &form, reason),
                     STATUS_OK);
    struct buf out;
    buf_init(&out, 1024);
    static const char *const skip[] = {"sign", "sign_type", 0};
    assert_int_equal(pay_form_sign_string(&form, skip, false, &out), STATUS_OK);
    assert_string_equal(out.data, "a=1&b=2&c=x&y"); /* sorted, decoded, empty values left out */
    out.len = 0;
    assert_int_equal(pay_form_sign_string(&form, skip, true, &out), STATUS_OK);
    assert_string_equal(out.data, "a=1&b=2&c=x&y&empty="); /* kept when asked */
    assert_true(pay_form_has_empty(&form));
    buf_free(&out);
    pay_form_free(&form);
}

static void stripe_signature_header(void **state) {
    char sig[PAY_STRIPE_SIGNATURES][65];
    int count = 0;
    int64_t t = 0;
    char header[300];
    char hex[65];
    memset(hex, 'a', 64);
    hex[64] = 0;
    snprintf(header, sizeof header, "t=1764583200,v1=%s,v0=zz,v1=%s", hex, hex);
    assert_true(pay_stripe_header_parse(header, &t, sig, &count));
    assert_int_equal(t, 1764583200);
    assert_int_equal(count, 2);
    snprintf(header, sizeof header, "v1=%s", hex);
    assert_false(pay_stripe_header_parse(header, &t, sig, &count));       /* no t */
    assert_false(pay_stripe_header_parse("t=1,v0=abc", &t, sig, &count)); /* no v1 */
    snprintf(header, sizeof header, "t=1,t=2,v1=%s", hex);
    assert_false(pay_stripe_header_parse(header, &t, sig, &count));
    assert_false(pay_stripe_header_parse("t=1,v1=abc", &t, sig, &count)); /* short v1 */
    assert_false(pay_stripe_header_parse("t=x1,v1=", &t, sig, &count));
}

static void stripe_event_fields(void **state) {
    const char *body =
        "{\"id\":\"evt_1\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":"
        "{\"id\":\"cs_1\",\"payment_intent\":\"pi_9\",\"amount_total\":1250,\"currency\":\"usd\","
        "\"client_reference_id\":\"T7\",\"payment_status\":\"paid\"}}}";
    struct pay_notice n;
    memset(&n, 0, sizeof n);
    char reason[100];
    assert_int_equal(pay_stripe_event_parse(body, strlen(body), &n, reason, sizeof reason),
                     STATUS_OK);
    assert_string_equal(n.event, "evt_1");
    assert_string_equal(n.order_ref, "T7");
    assert_string_equal(n.transaction, "pi_9");
    assert_string_equal(n.currency, "USD");
    assert_int_equal(n.amount, 1250);
    assert_true(n.paid);
    const char *failed = "{\"id\":\"evt_2\",\"type\":\"payment_intent.payment_failed\",\"data\":"
                         "{\"object\":{\"id\":\"pi_1\",\"amount\":5,\"currency\":\"cny\"}}}";
    memset(&n, 0, sizeof n);
    assert_int_equal(pay_stripe_event_parse(failed, strlen(failed), &n, reason, sizeof reason),
                     STATUS_OK);
    assert_false(n.paid);
    const char *dup = "{\"id\":\"a\",\"id\":\"b\",\"type\":\"x\",\"data\":{\"object\":{}}}";
    assert_int_equal(pay_stripe_event_parse(dup, strlen(dup), &n, reason, sizeof reason),
                     STATUS_INVALID_NOTICE);
}

static void wechatpay_resource_fields(void **state) {
    const char *plain = "{\"mchid\":\"1900000109\",\"out_trade_no\":\"T1\",\"transaction_id\":"
                        "\"4200\",\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":100}}";
    struct pay_notice n;
    memset(&n, 0, sizeof n);
    char reason[100];
    assert_int_equal(pay_wechatpay_resource_parse(plain, strlen(plain), &n, reason, sizeof reason),
                     STATUS_OK);
    assert_int_equal(n.amount, 100);
    assert_string_equal(n.currency, "CNY"); /* WeChat's default */
    assert_true(n.paid);
    const char *negative = "{\"mchid\":\"1\",\"out_trade_no\":\"T1\",\"transaction_id\":\"4\","
                           "\"trade_state\":\"SUCCESS\",\"amount\":{\"total\":-1}}";
    assert_int_equal(
        pay_wechatpay_resource_parse(negative, strlen(negative), &n, reason, sizeof reason),
        STATUS_INVALID_NOTICE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_amounts),     cmocka_unit_test(forms_decode),
        cmocka_unit_test(the_signed_string),   cmocka_unit_test(stripe_signature_header),
        cmocka_unit_test(stripe_event_fields), cmocka_unit_test(wechatpay_resource_fields),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
