/* credit_test.c — credit orders in the store: a buyer holds at most LIMIT_CREDIT_PLANS open
 * plans (the next credit order is refused, never silently beyond what a repayment walks);
 * a plan paid off closes and makes room; repayments see every open plan; `store_check` holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_db.h"

#define NOW 1800000000LL
#define PRICE 100

static int fixture_setup(void **state) {
    struct unit_shop *f = unit_shop_open("SKU-C", PRICE, NOW);
    unit_db_exec(&f->t, "UPDATE products SET liquidity = 'low'");
    assert_int_equal(store_credit_set(&f->t.db, f->buyer, 1000000, "CNY", 1, NOW), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    unit_db_stock(&f->t, f->product, "C", LIMIT_CREDIT_PLANS + 2, NOW);
    *state = f;
    return 0;
}

static enum status credit_order_at(struct unit_shop *f, int n, int periods, int64_t now_s,
                                   int64_t *order_id) {
    char key[32];
    snprintf(key, sizeof key, "k%d", n);
    struct store_order_request r;
    memset(&r, 0, sizeof r);
    r.buyer_id = f->buyer;
    r.sku = "SKU-C";
    r.quantity = 1;
    r.idempotency_key = key;
    memset(r.request_hash, n & 0xFF, sizeof r.request_hash);
    r.now_s = now_s;
    r.credit_periods = periods;
    struct store_order_result result;
    memset(&result, 0, sizeof result);
    unit_db_begin(&f->t);
    enum status status = store_order_place(&f->t.db, &r, &result);
    unit_db_end(&f->t, status);
    if (status == STATUS_OK) *order_id = result.order.id;
    store_order_result_free(&result);
    return status;
}

static enum status credit_order(struct unit_shop *f, int n, int64_t *order_id) {
    return credit_order_at(f, n, 3, NOW, order_id);
}

static void top_up(struct unit_shop *f, int64_t amount) {
    int64_t id = 0;
    unit_db_begin(&f->t);
    assert_int_equal(store_wallet_credit(&f->t.db, "payer", amount, "CNY", "top-up", 1, NOW, &id),
                     STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
}

static struct installment_amounts repay(struct unit_shop *f, int64_t amount, int64_t now_s) {
    struct installment_amounts applied;
    bool replayed = true;
    unit_db_begin(&f->t);
    assert_int_equal(store_credit_repay(&f->t.db, f->buyer, amount, 0, now_s, &applied, &replayed),
                     STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    return applied;
}

/* An overdue installment of a newer plan is paid before one not yet due of an older plan. */
static void what_is_due_is_paid_first(void **state) {
    struct unit_shop *f = *state;
    int64_t a = 0, b = 0;
    const int64_t day = 86400;
    assert_int_equal(credit_order_at(f, 1, 12, NOW, &a), STATUS_OK);
    assert_int_equal(credit_order_at(f, 2, 3, NOW + 20 * day, &b), STATUS_OK);
    top_up(f, 10 * PRICE);
    struct store_credit_plan plan;
    struct installment_amounts due;
    assert_int_equal(store_credit_plan_load(&f->t.db, a, &plan), STATUS_OK);
    installment_due(&plan.plan, NOW + 32 * day, &due);
    (void)repay(f, due.total, NOW + 32 * day); /* A's first installment, on time */
    /* day 56: B's first installment is overdue, A's second is not due yet */
    assert_int_equal(store_credit_plan_load(&f->t.db, b, &plan), STATUS_OK);
    installment_due(&plan.plan, NOW + 56 * day, &due);
    assert_true(due.total > 0);
    struct installment_amounts applied = repay(f, due.total, NOW + 56 * day);
    assert_int_equal(applied.total, due.total);
    assert_int_equal(store_credit_plan_load(&f->t.db, b, &plan), STATUS_OK);
    installment_due(&plan.plan, NOW + 56 * day, &due);
    assert_int_equal(due.total, 0); /* B is no longer overdue */
    assert_int_equal(store_credit_plan_load(&f->t.db, a, &plan), STATUS_OK);
    assert_int_equal(plan.plan.period[1].principal_paid, 0); /* A's future installment untouched */
    assert_true(unit_db_check_ok(&f->t));
}

static void a_buyer_holds_at_most_the_limit_of_open_plans(void **state) {
    struct unit_shop *f = *state;
    int64_t first = 0, id = 0;
    for (int i = 0; i < LIMIT_CREDIT_PLANS; i++)
        assert_int_equal(credit_order(f, i, i == 0 ? &first : &id), STATUS_OK);
    assert_int_equal(credit_order(f, LIMIT_CREDIT_PLANS, &id), STATUS_TOO_MANY_PLANS);
    assert_int_equal(unit_db_int(&f->t, "SELECT used FROM credit_lines"),
                     (int64_t)LIMIT_CREDIT_PLANS * PRICE);
    /* the oldest plan paid off: closed, room for one more */
    struct installment_amounts quote, applied;
    struct store_credit_plan plan;
    assert_int_equal(store_credit_plan_load(&f->t.db, first, &plan), STATUS_OK);
    assert_int_equal(installment_payoff_quote(&plan.plan, NOW, &quote), STATUS_OK);
    assert_int_equal(quote.total, PRICE); /* no period due: the fees are waived */
    unit_db_begin(&f->t);
    assert_int_equal(
        store_wallet_credit(&f->t.db, "payer", 10 * PRICE, "CNY", "top-up", 1, NOW, &id),
        STATUS_OK);
    bool replayed = true;
    assert_int_equal(
        store_credit_payoff(&f->t.db, f->buyer, first, quote.total, 0, NOW, &applied, &replayed),
        STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_false(replayed);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM credit_plans WHERE closed = 1"), 1);
    assert_int_equal(credit_order(f, LIMIT_CREDIT_PLANS + 1, &id), STATUS_OK);
    /* a repayment reaches the newest plan too: everything owed can be paid */
    int64_t owed = unit_db_int(&f->t, "SELECT sum(principal + fee - principal_paid - "
                                      "principal_cancelled - fee_paid - fee_waived) FROM "
                                      "credit_periods");
    unit_db_begin(&f->t);
    assert_int_equal(store_wallet_credit(&f->t.db, "payer", owed, "CNY", "top-up", 1, NOW, &id),
                     STATUS_OK);
    assert_int_equal(store_credit_repay(&f->t.db, f->buyer, owed, 0, NOW, &applied, &replayed),
                     STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_int_equal(applied.total, owed);
    assert_int_equal(unit_db_int(&f->t, "SELECT used FROM credit_lines"), 0);
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM credit_plans WHERE closed = 0"), 0);
    assert_true(unit_db_check_ok(&f->t));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_buyer_holds_at_most_the_limit_of_open_plans,
                                        fixture_setup, unit_db_teardown),
        cmocka_unit_test_setup_teardown(what_is_due_is_paid_first, fixture_setup, unit_db_teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
