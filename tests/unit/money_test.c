/* money_test.c — checked money arithmetic at and past its boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/limits.h"
#include "base/money.h"

static void add_and_sub(void **state) {
    int64_t out = 7;
    assert_int_equal(money_add(1, 2, &out), STATUS_OK);
    assert_int_equal(out, 3);
    assert_int_equal(money_add(INT64_MAX, 1, &out), STATUS_OVERFLOW);
    assert_int_equal(out, 3); /* untouched on overflow */
    assert_int_equal(money_add(INT64_MIN, -1, &out), STATUS_OVERFLOW);
    assert_int_equal(money_add(INT64_MAX, 0, &out), STATUS_OK);
    assert_int_equal(money_sub(INT64_MIN, 1, &out), STATUS_OVERFLOW);
    assert_int_equal(money_sub(0, INT64_MIN, &out), STATUS_OVERFLOW);
    assert_int_equal(money_sub(10, 25, &out), STATUS_OK);
    assert_int_equal(out, -15);
}

static void multiply(void **state) {
    int64_t out = 0;
    assert_int_equal(money_mul(LIMIT_AMOUNT_MINOR, LIMIT_ORDER_QUANTITY, &out), STATUS_OK);
    assert_int_equal(out, LIMIT_AMOUNT_MINOR * LIMIT_ORDER_QUANTITY);
    assert_int_equal(money_mul(INT64_MAX / 2 + 1, 2, &out), STATUS_OVERFLOW);
    assert_int_equal(money_mul(INT64_MIN, -1, &out), STATUS_OVERFLOW);
    assert_int_equal(money_mul(-3, 4, &out), STATUS_OK);
    assert_int_equal(out, -12);
}

static void amount_and_currency(void **state) {
    assert_false(money_amount_valid(0));
    assert_false(money_amount_valid(-1));
    assert_true(money_amount_valid(1));
    assert_true(money_amount_valid(LIMIT_AMOUNT_MINOR));
    assert_false(money_amount_valid(LIMIT_AMOUNT_MINOR + 1));
    assert_true(money_currency_valid("CNY"));
    assert_false(money_currency_valid("cny"));
    assert_false(money_currency_valid("CN"));
    assert_false(money_currency_valid("CNYY"));
    assert_false(money_currency_valid(""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_and_sub),
        cmocka_unit_test(multiply),
        cmocka_unit_test(amount_and_currency),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
