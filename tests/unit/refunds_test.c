/* refunds_test.c — refunds in the store: a gateway order's refund is booked back to the
 * provider's clearing account at once and waits for the provider; the provider's silence
 * retries it with backoff; its refusal books the money back and makes the order refundable
 * again; its acceptance is final, and a second answer changes nothing. Payments owed back
 * become refunds by themselves, once. `store_check` holds after every step, and catches a
 * refunded amount that does not match its refunds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_db.h"

#define NOW 1800000000LL
#define PRICE 500

struct fixture {
    struct unit_db t;
    int64_t product, buyer, support;
    struct store_order order; /* a delivered sandbox order of 2 codes */
};

static int64_t count(struct fixture *f, const char *sql) { return unit_db_int(&f->t, sql); }

static int fixture_setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    unit_db_open_shop(&f->t, "SKU-R", PRICE, NOW, &f->product, &f->buyer);
    assert_int_equal(store_user_create(&f->t.db, "helper", "h", ROLE_SUPPORT, NOW, &f->support),
                     STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    unit_db_stock(&f->t, f->product, "R", 4, NOW);

    struct store_order_request r;
    memset(&r, 0, sizeof r);
    r.buyer_id = f->buyer;
    r.sku = "SKU-R";
    r.quantity = 2;
    r.idempotency_key = "k";
    r.now_s = NOW;
    r.provider = "sandbox";
    r.pay_timeout_s = 900;
    struct store_order_plan plan;
    struct store_order_result result;
    memset(&result, 0, sizeof result);
    unit_db_begin(&f->t);
    enum status status = store_order_prepare(&f->t.db, &r, &plan, &result);
    if (status == STATUS_OK)
        status = store_order_commit(&f->t.db, &r, &plan, STORE_ORDER_DELIVER, &result);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    store_order_result_free(&result);
    struct store_payment p = {"sandbox", result.order.id, "TX1", "EV", 2 * PRICE, "CNY"};
    enum store_payment_outcome outcome;
    unit_db_begin(&f->t);
    status = store_payment_apply(&f->t.db, &p, NOW + 1, &outcome, &f->order);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    assert_string_equal(f->order.status, "delivered");
    *state = f;
    return 0;
}

UNIT_DB_FIXTURE(struct fixture);

static enum status mark(struct fixture *f, const char *code) {
    const char *codes[] = {code};
    int bad = 0, marked = 0;
    struct store_order order;
    struct store_refundable refundable;
    unit_db_begin(&f->t);
    enum status status =
        store_codes_report(&f->t.db, &f->t.vault, f->order.id, codes, 1, "dead", f->support,
                           NOW + 2, &bad, &marked, &order, &refundable);
    unit_db_end(&f->t, status);
    return status;
}

/* The text of the order's code number index (0 or 1), opened from its seal. */
static const char *order_code(struct fixture *f, int index) {
    static char text[2][LIMIT_CODE_BYTES + 1];
    struct store_sealed_code codes[2];
    int count = 0;
    assert_int_equal(store_order_codes(&f->t.db, f->order.id, codes, 2, &count), STATUS_OK);
    assert_int_equal(count, 2);
    size_t len = 0;
    assert_int_equal(vault_code_open(&f->t.vault, codes[index].id, codes[index].sealed,
                                     codes[index].len, text[index], sizeof text[index], &len),
                     STATUS_OK);
    return text[index];
}

static enum status refund(struct fixture *f, int64_t amount, struct store_refund *out) {
    struct store_refund_request request = {.order_id = f->order.id,
                                           .amount = amount,
                                           .actor_id = f->support,
                                           .now_s = NOW + 3,
                                           .reason = "dead code"};
    bool replayed = false;
    unit_db_begin(&f->t);
    enum status status = store_refund_create(&f->t.db, &request, &replayed, out);
    unit_db_end(&f->t, status);
    return status;
}

static enum status settle(struct fixture *f, int64_t id, enum store_refund_result result,
                          int64_t now_s, struct store_refund *out) {
    unit_db_begin(&f->t);
    enum status status = store_refund_settle(&f->t.db, id, result, "PRF1", "refused", now_s, out);
    unit_db_end(&f->t, status);
    return status;
}

static int due(struct fixture *f, int64_t now_s, struct store_refund *out, int capacity) {
    int n = 0;
    unit_db_begin(&f->t);
    enum status status = store_refunds_due(&f->t.db, now_s, out, capacity, &n);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    return n;
}

/* A second payment of the delivered order at NOW + 5 (another transaction): owed back. */
static void pay_again(struct fixture *f, const char *transaction, const char *event) {
    struct store_payment p = {"sandbox", f->order.id, transaction, event, 2 * PRICE, "CNY"};
    enum store_payment_outcome outcome;
    struct store_order order;
    unit_db_begin(&f->t);
    assert_int_equal(store_payment_apply(&f->t.db, &p, NOW + 5, &outcome, &order), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_int_equal(outcome, STORE_PAYMENT_DUPLICATE);
}

static int64_t clearing(struct fixture *f) {
    return count(f, "SELECT balance FROM accounts WHERE kind = 'gateway_clearing'");
}

static void a_refused_refund_is_booked_back(void **state) {
    struct fixture *f = *state;
    struct store_refund r;
    assert_int_equal(refund(f, PRICE, &r), STATUS_NOT_REFUNDABLE); /* nothing marked yet */
    assert_int_equal(mark(f, "R-9"), STATUS_INVALID_VALUE);        /* not this order's */
    assert_int_equal(mark(f, order_code(f, 0)), STATUS_OK);
    assert_int_equal(refund(f, PRICE + 1, &r), STATUS_NOT_REFUNDABLE);
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    assert_string_equal(r.status, "pending");
    assert_string_equal(r.instrument, "gateway");
    assert_string_equal(r.transaction, "TX1");
    assert_int_equal(r.payment_amount, 2 * PRICE);
    assert_int_equal(clearing(f), -2 * PRICE + PRICE); /* booked back to the provider */
    assert_true(unit_db_check_ok(&f->t));
    assert_int_equal(refund(f, 1, &r), STATUS_NOT_REFUNDABLE); /* the marked code is spent */

    struct store_refund list[4];
    assert_int_equal(due(f, NOW + 3, list, 4), 1);
    /* the provider does not answer: tried again later, 10 s then 20 s */
    struct store_refund now;
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_RETRY, NOW + 4, &now), STATUS_OK);
    assert_string_equal(now.status, "pending");
    assert_int_equal(due(f, NOW + 5, list, 4), 0);
    assert_int_equal(due(f, NOW + 14, list, 4), 1);
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_RETRY, NOW + 14, &now), STATUS_OK);
    assert_int_equal(due(f, NOW + 30, list, 4), 0);
    assert_int_equal(due(f, NOW + 34, list, 4), 1);
    /* past the retry window (a provider forgets its dedupe key after a day) a person decides:
     * tested on a copy of the state, then undone */
    unit_db_exec(&f->t, "SAVEPOINT window");
    assert_int_equal(store_refund_settle(&f->t.db, list[0].id, STORE_REFUND_RETRY, "", "no answer",
                                         NOW + LIMIT_REFUND_RETRY_WINDOW_S + 10, &now),
                     STATUS_OK);
    assert_string_equal(now.status, "unknown");
    unit_db_exec(&f->t, "ROLLBACK TO window");
    unit_db_exec(&f->t, "RELEASE window");
    /* the provider refuses: booked back, refundable again, audited */
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_FAILED, NOW + 35, &now), STATUS_OK);
    assert_string_equal(now.status, "failed");
    assert_int_equal(now.attempts, 3);
    assert_int_equal(clearing(f), -2 * PRICE);
    assert_int_equal(count(f, "SELECT refunded FROM orders"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM audit WHERE action = 'refund.fail'"), 1);
    assert_true(unit_db_check_ok(&f->t));
    /* a late second answer changes nothing */
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_SUCCEEDED, NOW + 36, &now), STATUS_OK);
    assert_string_equal(now.status, "failed");
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    assert_int_equal(settle(f, r.id, STORE_REFUND_SUCCEEDED, NOW + 40, &now), STATUS_OK);
    assert_string_equal(now.status, "succeeded");
    assert_string_equal(now.provider_refund_id, "PRF1");
    assert_int_equal(due(f, NOW + 100000, list, 4), 0);
    assert_true(unit_db_check_ok(&f->t));
    /* the check sees a refunded amount that its refunds do not explain */
    unit_db_exec(&f->t, "UPDATE orders SET refunded = refunded + 1");
    assert_false(unit_db_check_ok(&f->t));
}

static void a_payment_owed_back_becomes_one_refund(void **state) {
    struct fixture *f = *state;
    pay_again(f, "TX2", "EV2");
    struct store_refund list[4];
    assert_int_equal(due(f, NOW + 6, list, 4), 1);
    assert_string_equal(list[0].kind, "payment");
    assert_string_equal(list[0].transaction, "TX2");
    assert_int_equal(list[0].amount, 2 * PRICE);
    assert_int_equal(due(f, NOW + 6, list, 4), 1); /* still the same one, not a second */
    struct store_refund now;
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_SUCCEEDED, NOW + 7, &now), STATUS_OK);
    assert_int_equal(count(f, "SELECT refund_due FROM payments WHERE transaction_id = 'TX2'"), 0);
    assert_int_equal(due(f, NOW + 8, list, 4), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM refunds"), 1);
    assert_int_equal(clearing(f), -2 * PRICE); /* never booked: the order's books unchanged */
    assert_true(unit_db_check_ok(&f->t));
}

static enum status resolve(struct fixture *f, int64_t id, enum store_refund_resolution how,
                           struct store_refund *out) {
    unit_db_begin(&f->t);
    enum status status =
        store_refund_resolve(&f->t.db, id, how, "PRF9", "checked", f->support, NOW + 50, out);
    unit_db_end(&f->t, status);
    return status;
}

static void an_unclear_refund_waits_for_a_person(void **state) {
    struct fixture *f = *state;
    struct store_refund r, now, list[4];
    assert_int_equal(mark(f, order_code(f, 0)), STATUS_OK);
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    assert_int_equal(settle(f, r.id, STORE_REFUND_UNKNOWN, NOW + 4, &now), STATUS_OK);
    assert_string_equal(now.status, "unknown");
    assert_int_equal(due(f, NOW + 100000, list, 4), 0); /* never sent again by itself */
    assert_int_equal(clearing(f), -2 * PRICE + PRICE);  /* still booked as given back */
    assert_true(unit_db_check_ok(&f->t));
    assert_int_equal(refund(f, 1, &r), STATUS_NOT_REFUNDABLE); /* it still counts */
    /* the person finds it was not refunded: booked back, refundable again */
    assert_int_equal(resolve(f, now.id, STORE_REFUND_RESOLVE_FAILED, &now), STATUS_OK);
    assert_string_equal(now.status, "failed");
    assert_int_equal(clearing(f), -2 * PRICE);
    assert_true(unit_db_check_ok(&f->t));
    /* a failed refund of an order is settled for good: support makes a new one */
    assert_int_equal(resolve(f, now.id, STORE_REFUND_RESOLVE_RETRY, &now), STATUS_REFUND_SETTLED);
    assert_int_equal(resolve(f, 999, STORE_REFUND_RESOLVE_RETRY, &now), STATUS_UNKNOWN_REFUND);
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    assert_int_equal(settle(f, r.id, STORE_REFUND_UNKNOWN, NOW + 5, &now), STATUS_OK);
    assert_int_equal(resolve(f, r.id, STORE_REFUND_RESOLVE_RETRY, &now), STATUS_OK);
    assert_string_equal(now.status, "pending");
    assert_int_equal(due(f, NOW + 50, list, 4), 1);
    assert_int_equal(settle(f, r.id, STORE_REFUND_SUCCEEDED, NOW + 51, &now), STATUS_OK);
    assert_int_equal(resolve(f, r.id, STORE_REFUND_RESOLVE_SUCCEEDED, &now), STATUS_REFUND_SETTLED);
    assert_true(unit_db_check_ok(&f->t));
}

/* A refund to a provider that cannot take it twice is marked being sent first: whatever
 * happens next (a crash, a lost answer), it is never sent again by itself. */
static void a_refund_being_sent_is_never_sent_twice(void **state) {
    struct fixture *f = *state;
    struct store_refund r, now, list[4];
    assert_int_equal(mark(f, order_code(f, 0)), STATUS_OK);
    assert_int_equal(mark(f, order_code(f, 1)), STATUS_OK);
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    unit_db_begin(&f->t);
    assert_int_equal(store_refund_sending(&f->t.db, r.id, NOW + 4, &now), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_string_equal(now.status, "unknown");
    assert_int_equal(due(f, NOW + 100000, list, 4), 0); /* a crash here: not due again */
    assert_int_equal(settle(f, r.id, STORE_REFUND_RETRY, NOW + 5, &now), STATUS_OK);
    assert_string_equal(now.status, "unknown"); /* no answer: a person, not a second request */
    assert_int_equal(due(f, NOW + 100000, list, 4), 0);
    unit_db_begin(&f->t);
    assert_int_equal(store_refund_sending(&f->t.db, r.id, NOW + 4, &now), STATUS_REFUND_SETTLED);
    unit_db_end(&f->t, STATUS_REFUND_SETTLED);
    /* the answer arrives for another one: recorded */
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    unit_db_begin(&f->t);
    assert_int_equal(store_refund_sending(&f->t.db, r.id, NOW + 4, &now), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    assert_int_equal(settle(f, r.id, STORE_REFUND_SUCCEEDED, NOW + 6, &now), STATUS_OK);
    assert_string_equal(now.status, "succeeded");
    assert_int_equal(now.last_error[0], 0);
    assert_true(unit_db_check_ok(&f->t));
}

/* A person cannot settle a refund whose request may still be on the way; the provider's
 * answer after a person's settlement is kept on the record, never silently dropped. */
static void a_refund_in_flight_waits_for_its_answer(void **state) {
    struct fixture *f = *state;
    struct store_refund r, now;
    assert_int_equal(mark(f, order_code(f, 0)), STATUS_OK);
    assert_int_equal(refund(f, PRICE, &r), STATUS_OK);
    unit_db_begin(&f->t);
    assert_int_equal(store_refund_sending(&f->t.db, r.id, NOW + 10, &now), STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    struct store_refund after;
    unit_db_begin(&f->t);
    enum status status = store_refund_resolve(&f->t.db, r.id, STORE_REFUND_RESOLVE_FAILED, "",
                                              "too soon", f->support, NOW + 20, &after);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_REFUND_IN_FLIGHT);
    /* long after (a crash: no answer ever came) a person settles it */
    unit_db_begin(&f->t);
    status = store_refund_resolve(&f->t.db, r.id, STORE_REFUND_RESOLVE_FAILED, "", "checked",
                                  f->support, NOW + 10 + LIMIT_REFUND_IN_FLIGHT_S, &after);
    unit_db_end(&f->t, status);
    assert_int_equal(status, STATUS_OK);
    assert_string_equal(after.status, "failed");
    /* then the provider says it did refund: recorded in the audit log, the refund unchanged */
    assert_int_equal(settle(f, r.id, STORE_REFUND_SUCCEEDED, NOW + 400, &now), STATUS_OK);
    assert_string_equal(now.status, "failed");
    assert_int_equal(count(f, "SELECT count(*) FROM audit WHERE action = "
                              "'refund.answer_after_settlement'"),
                     1);
    assert_true(unit_db_check_ok(&f->t));
}

static void a_failed_payment_refund_can_be_sent_again(void **state) {
    struct fixture *f = *state;
    pay_again(f, "TX3", "EV3");
    struct store_refund list[4], now;
    assert_int_equal(due(f, NOW + 6, list, 4), 1);
    assert_int_equal(settle(f, list[0].id, STORE_REFUND_FAILED, NOW + 7, &now), STATUS_OK);
    assert_int_equal(due(f, NOW + 8, list, 4), 0); /* not adopted a second time */
    assert_int_equal(resolve(f, now.id, STORE_REFUND_RESOLVE_RETRY, &now), STATUS_OK);
    assert_int_equal(due(f, NOW + 50, list, 4), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM refunds"), 1);
    assert_true(unit_db_check_ok(&f->t));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_refused_refund_is_booked_back, fixture_setup,
                                        unit_db_teardown),
        cmocka_unit_test_setup_teardown(a_payment_owed_back_becomes_one_refund, fixture_setup,
                                        unit_db_teardown),
        cmocka_unit_test_setup_teardown(an_unclear_refund_waits_for_a_person, fixture_setup,
                                        unit_db_teardown),
        cmocka_unit_test_setup_teardown(a_failed_payment_refund_can_be_sent_again, fixture_setup,
                                        unit_db_teardown),
        cmocka_unit_test_setup_teardown(a_refund_being_sent_is_never_sent_twice, fixture_setup,
                                        unit_db_teardown),
        cmocka_unit_test_setup_teardown(a_refund_in_flight_waits_for_its_answer, fixture_setup,
                                        unit_db_teardown),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
