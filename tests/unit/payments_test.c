/* payments_test.c — gateway orders in the store: an order waits for its payment holding its
 * codes and taking no money; a verified notice pays it (clearing → revenue, delivered) once,
 * however often it repeats; a second transaction or a payment after expiry is money to give
 * back, never a second delivery; a wrong amount, currency or provider changes nothing; an
 * order the risk engine held goes to review when paid, and a rejected one sends its money
 * back to the gateway. `store_check` holds after every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_db.h"

#define NOW 1800000000LL
#define PRICE 300
#define CODES 4
#define TIMEOUT 900

static int fixture_setup(void **state) {
    struct unit_shop *f = unit_shop_open("SKU-G", PRICE, NOW);
    unit_db_end(&f->t, STATUS_OK);
    unit_db_stock(&f->t, f->product, "G", CODES, NOW);
    *state = f;
    return 0;
}

static int64_t count(struct unit_shop *f, const char *sql) { return unit_db_int(&f->t, sql); }

/* A gateway order for quantity codes, decided `outcome` by the (absent) risk engine. */
static struct store_order order(struct unit_shop *f, const char *key, int64_t quantity,
                                enum store_order_outcome outcome) {
    struct store_order_request r;
    memset(&r, 0, sizeof r);
    r.buyer_id = f->buyer;
    r.sku = "SKU-G";
    r.quantity = quantity;
    r.idempotency_key = key;
    memset(r.request_hash, key[0], sizeof r.request_hash);
    r.now_s = NOW;
    r.provider = "sandbox";
    r.pay_timeout_s = TIMEOUT;
    struct store_order_plan plan;
    struct store_order_result result;
    memset(&result, 0, sizeof result);
    unit_db_begin(&f->t);
    enum status status = store_order_prepare(&f->t.db, &r, &plan, &result);
    if (status == STATUS_OK) status = store_order_commit(&f->t.db, &r, &plan, outcome, &result);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    assert_int_equal(result.code_count, 0); /* nothing is shown before the payment */
    store_order_result_free(&result);
    return result.order;
}

static enum status pay(struct unit_shop *f, int64_t order_id, const char *transaction,
                       int64_t amount, const char *currency, const char *provider, int64_t now_s,
                       enum store_payment_outcome *outcome, struct store_order *now) {
    struct store_payment p = {provider, order_id, transaction, "EV", amount, currency};
    unit_db_begin(&f->t);
    enum status status = store_payment_apply(&f->t.db, &p, now_s, outcome, now);
    unit_db_end(&f->t, status);
    return status;
}

static void an_order_waits_then_a_payment_delivers_it(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k1", 2, STORE_ORDER_DELIVER);
    assert_string_equal(o.status, "pending_payment");
    assert_string_equal(o.provider, "sandbox");
    assert_int_equal(o.expires_at, NOW + TIMEOUT);
    assert_int_equal(count(f, "SELECT stock FROM products WHERE sku = 'SKU-G'"), CODES - 2);
    assert_int_equal(count(f, "SELECT count(*) FROM transfers WHERE order_id IS NOT NULL"), 0);
    assert_true(unit_db_check_ok(&f->t));

    enum store_payment_outcome outcome;
    struct store_order now;
    assert_int_equal(pay(f, o.id, "TX1", 2 * PRICE, "CNY", "sandbox", NOW + 5, &outcome, &now),
                     STATUS_OK);
    assert_int_equal(outcome, STORE_PAYMENT_APPLIED);
    assert_string_equal(now.status, "delivered");
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'platform_revenue'"),
                     2 * PRICE);
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'gateway_clearing'"),
                     -2 * PRICE);
    assert_true(unit_db_check_ok(&f->t));
    /* the same notice again, any number of times: nothing changes */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pay(f, o.id, "TX1", 2 * PRICE, "CNY", "sandbox", NOW + 9, &outcome, &now),
                         STATUS_OK);
        assert_int_equal(outcome, STORE_PAYMENT_REPEATED);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM payments"), 1);
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'platform_revenue'"),
                     2 * PRICE);
    /* another transaction for the paid order: recorded as money to give back */
    assert_int_equal(pay(f, o.id, "TX2", 2 * PRICE, "CNY", "sandbox", NOW + 9, &outcome, &now),
                     STATUS_OK);
    assert_int_equal(outcome, STORE_PAYMENT_DUPLICATE);
    assert_int_equal(count(f, "SELECT refund_due FROM payments WHERE transaction_id = 'TX2'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM codes WHERE state = 1"), 2); /* not twice */
    assert_true(unit_db_check_ok(&f->t));
}

static void a_notice_that_does_not_fit_changes_nothing(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k2", 1, STORE_ORDER_DELIVER);
    enum store_payment_outcome outcome;
    struct store_order now;
    assert_int_equal(pay(f, o.id, "TX1", PRICE - 1, "CNY", "sandbox", NOW, &outcome, &now),
                     STATUS_PAYMENT_MISMATCH);
    assert_int_equal(pay(f, o.id, "TX1", PRICE, "USD", "sandbox", NOW, &outcome, &now),
                     STATUS_PAYMENT_MISMATCH);
    assert_int_equal(pay(f, o.id, "TX1", PRICE, "CNY", "epay", NOW, &outcome, &now),
                     STATUS_UNKNOWN_ORDER);
    assert_int_equal(pay(f, o.id + 100, "TX1", PRICE, "CNY", "sandbox", NOW, &outcome, &now),
                     STATUS_UNKNOWN_ORDER);
    assert_int_equal(count(f, "SELECT count(*) FROM payments"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM orders WHERE status = 'pending_payment'"), 1);
    assert_true(unit_db_check_ok(&f->t));
}

static void an_unpaid_order_expires_and_a_late_payment_is_refund_due(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k3", 3, STORE_ORDER_DELIVER);
    int64_t expired = 0;
    unit_db_begin(&f->t);
    assert_int_equal(store_orders_expire(&f->t.db, NOW + TIMEOUT - 1, 10, &expired), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_int_equal(expired, 0); /* not yet */
    unit_db_begin(&f->t);
    assert_int_equal(store_orders_expire(&f->t.db, NOW + TIMEOUT, 10, &expired), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(count(f, "SELECT stock FROM products WHERE sku = 'SKU-G'"), CODES);
    assert_true(unit_db_check_ok(&f->t));
    enum store_payment_outcome outcome;
    struct store_order now;
    assert_int_equal(
        pay(f, o.id, "TX9", 3 * PRICE, "CNY", "sandbox", NOW + TIMEOUT + 1, &outcome, &now),
        STATUS_OK);
    assert_int_equal(outcome, STORE_PAYMENT_LATE);
    assert_string_equal(now.status, "expired");
    assert_int_equal(count(f, "SELECT refund_due FROM payments"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM codes WHERE state = 1"), 0);
    assert_true(unit_db_check_ok(&f->t));
}

/* An unpaid order whose code list is out of step with its codes (a broken database) fails
 * its expiry — the command, not the server — and the tick changes nothing. */
static void an_order_with_a_broken_code_list_fails_its_expiry(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k6", 2, STORE_ORDER_DELIVER);
    char sql[128];
    snprintf(sql, sizeof sql,
             "UPDATE orders SET code_ids = json_remove(code_ids, '$[1]') "
             "WHERE id = %lld",
             (long long)o.id);
    unit_db_exec(&f->t, sql);
    int64_t expired = 0;
    unit_db_begin(&f->t);
    enum status status = store_orders_expire(&f->t.db, NOW + TIMEOUT, 10, &expired);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_DB);
    assert_int_equal(count(f, "SELECT count(*) FROM orders WHERE status = 'pending_payment'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM codes WHERE state = 1"), 2);
    assert_int_equal(count(f, "SELECT stock FROM products WHERE sku = 'SKU-G'"), CODES - 2);
}

static void a_held_order_is_reviewed_once_paid(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k4", 1, STORE_ORDER_REVIEW);
    assert_string_equal(o.status, "pending_payment");
    assert_true(o.hold);
    enum store_payment_outcome outcome;
    struct store_order now;
    assert_int_equal(pay(f, o.id, "TX4", PRICE, "CNY", "sandbox", NOW, &outcome, &now), STATUS_OK);
    assert_string_equal(now.status, "review");
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'escrow'"), PRICE);
    assert_true(unit_db_check_ok(&f->t));
    unit_db_begin(&f->t);
    enum status status = store_review_decide(&f->t.db, o.id, false, "stolen card", 1, NOW, &now);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    assert_string_equal(now.status, "cancelled");
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'escrow'"), 0);
    assert_int_equal(count(f, "SELECT balance FROM accounts WHERE kind = 'gateway_clearing'"), 0);
    assert_int_equal(count(f, "SELECT refund_due FROM payments WHERE transaction_id = 'TX4'"), 1);
    assert_int_equal(count(f, "SELECT stock FROM products WHERE sku = 'SKU-G'"), CODES);
    assert_true(unit_db_check_ok(&f->t));
}

static void order_references(void **state) {
    (void)state;
    char ref[24];
    store_order_ref(1234, ref);
    assert_string_equal(ref, "T1234");
    int64_t id = 0;
    assert_true(store_order_ref_parse(ref, &id));
    assert_int_equal(id, 1234);
    static const char *const bad[] = {
        "", "T", "T0", "T01", "1234", "T12a", "t12", "T-1", "T99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(store_order_ref_parse(bad[i], &id));
}

static void check_names_a_second_applied_payment(void **state) {
    struct unit_shop *f = *state;
    struct store_order o = order(f, "k5", 1, STORE_ORDER_DELIVER);
    enum store_payment_outcome outcome;
    struct store_order now;
    assert_int_equal(pay(f, o.id, "TX5", PRICE, "CNY", "sandbox", NOW, &outcome, &now), STATUS_OK);
    assert_true(unit_db_check_ok(&f->t));
    unit_db_exec(&f->t, "UPDATE payments SET outcome = 'applied', refund_due = 0");
    unit_db_exec(&f->t, "INSERT INTO payments(order_id, provider, transaction_id, event_id, "
                        "amount, currency, outcome, refund_due, created_at) SELECT order_id, "
                        "provider, 'TX6', '', amount, currency, 'applied', 0, created_at "
                        "FROM payments");
    assert_false(unit_db_check_ok(&f->t));
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, unit_db_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(an_order_waits_then_a_payment_delivers_it),
        FIXTURE_TEST(a_notice_that_does_not_fit_changes_nothing),
        FIXTURE_TEST(an_unpaid_order_expires_and_a_late_payment_is_refund_due),
        FIXTURE_TEST(an_order_with_a_broken_code_list_fails_its_expiry),
        FIXTURE_TEST(a_held_order_is_reviewed_once_paid),
        cmocka_unit_test(order_references),
        FIXTURE_TEST(check_names_a_second_applied_payment),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
