/* ledger_test.c — double-entry transfers: what ledger_transfer_check accepts (balanced per
 * currency, at least two postings, no overflow) and what store_transfer_post writes to a
 * real database (cached balances equal the sum of postings; a wallet never goes negative). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/ledger.h"
#include "unit_db.h"

static void move_is_two_balanced_postings(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "order");
    assert_string_equal(transfer.kind, "order");
    assert_int_equal(transfer.count, 0);
    assert_int_equal(ledger_transfer_move(&transfer, 1, LEDGER_BUYER_WALLET, 2,
                                          LEDGER_PLATFORM_REVENUE, 9850, "CNY"),
                     STATUS_OK);
    assert_int_equal(transfer.count, 2);
    assert_int_equal(transfer.postings[0].account_id, 1);
    assert_int_equal(transfer.postings[0].kind, LEDGER_BUYER_WALLET);
    assert_int_equal(transfer.postings[0].amount, -9850);
    assert_string_equal(transfer.postings[0].currency, "CNY");
    assert_int_equal(transfer.postings[1].account_id, 2);
    assert_int_equal(transfer.postings[1].amount, 9850);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OK);
}

static void unbalanced_transfers_are_rejected(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_BUYER_WALLET, -100, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 2, LEDGER_PLATFORM_REVENUE, 99, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
    assert_int_equal(ledger_transfer_add(&transfer, 3, LEDGER_FEES, 1, "CNY"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 3, LEDGER_FEES, 1, "CNY"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);

    /* Same-sign postings never balance. */
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_FUNDING, 50, "CNY"), STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 2, LEDGER_BUYER_WALLET, 50, "CNY"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
}

static void too_few_postings_are_rejected(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_FUNDING, 10, "CNY"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
}

static void a_zero_posting_is_rejected(void **state) {
    /* ledger_transfer_add asserts amount != 0; a transfer built by hand must still fail. */
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(
        ledger_transfer_move(&transfer, 1, LEDGER_FUNDING, 2, LEDGER_BUYER_WALLET, 5, "CNY"),
        STATUS_OK);
    transfer.postings[transfer.count] = transfer.postings[0];
    transfer.postings[transfer.count].amount = 0;
    transfer.count++;
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
}

static void currencies_balance_separately(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "fx");
    assert_int_equal(ledger_transfer_move(&transfer, 1, LEDGER_BUYER_WALLET, 2,
                                          LEDGER_PLATFORM_REVENUE, 700, "CNY"),
                     STATUS_OK);
    assert_int_equal(
        ledger_transfer_move(&transfer, 3, LEDGER_GATEWAY_CLEARING, 4, LEDGER_ESCROW, 100, "USD"),
        STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OK);

    /* The grand total is zero, but neither currency balances on its own. */
    ledger_transfer_init(&transfer, "fx");
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_BUYER_WALLET, -100, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 2, LEDGER_ESCROW, 100, "USD"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);

    /* One currency balanced, a lone posting in another. */
    ledger_transfer_init(&transfer, "fx");
    assert_int_equal(ledger_transfer_move(&transfer, 1, LEDGER_BUYER_WALLET, 2,
                                          LEDGER_PLATFORM_REVENUE, 700, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 5, LEDGER_FEES, 3, "EUR"), STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_INVALID_VALUE);
}

static void sums_that_overflow_are_rejected(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_FUNDING, INT64_MAX, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 2, LEDGER_FUNDING, INT64_MAX, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 3, LEDGER_FUNDING, -INT64_MAX, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 4, LEDGER_FUNDING, -INT64_MAX, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OVERFLOW);

    /* Wrapping must not make an unbalanced transfer look balanced: MIN + MIN wraps to 0. */
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_add(&transfer, 1, LEDGER_FUNDING, INT64_MIN, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&transfer, 2, LEDGER_FUNDING, INT64_MIN, "CNY"),
                     STATUS_OK);
    assert_int_not_equal(ledger_transfer_check(&transfer), STATUS_OK);

    /* The extremes themselves are fine when they do balance. */
    ledger_transfer_init(&transfer, "order");
    assert_int_equal(ledger_transfer_move(&transfer, 1, LEDGER_FUNDING, 2, LEDGER_BUYER_WALLET,
                                          INT64_MAX, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OK);
}

static void the_largest_transfer_fits(void **state) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "split");
    for (int i = 0; i < LEDGER_MAX_POSTINGS / 2; i++) {
        assert_int_equal(ledger_transfer_move(&transfer, 10 + i, LEDGER_ESCROW, 20 + i,
                                              LEDGER_SUPPLIER_PAYABLE, 1 + i, "CNY"),
                         STATUS_OK);
    }
    assert_int_equal(transfer.count, LEDGER_MAX_POSTINGS);
    assert_int_equal(ledger_transfer_check(&transfer), STATUS_OK);
}

static void kinds_have_names_and_sign_rules(void **state) {
    assert_string_equal(ledger_kind_name(LEDGER_BUYER_WALLET), "buyer_wallet");
    assert_string_equal(ledger_kind_name(LEDGER_FUNDING), "funding");
    for (int kind = 0; kind < LEDGER_KIND_COUNT; kind++) {
        assert_non_null(ledger_kind_name((enum ledger_kind)kind));
    }
    assert_true(ledger_kind_nonnegative(LEDGER_BUYER_WALLET));
    assert_true(ledger_kind_nonnegative(LEDGER_SUPPLIER_PAYABLE));
    assert_true(ledger_kind_nonnegative(LEDGER_RESELLER_PAYABLE));
    assert_false(ledger_kind_nonnegative(LEDGER_FUNDING));
    assert_false(ledger_kind_nonnegative(LEDGER_PLATFORM_REVENUE));
    assert_false(ledger_kind_nonnegative(LEDGER_GATEWAY_CLEARING));
}

/* ---- store_transfer_post against a real database ---- */

struct ledger_accounts {
    int64_t wallet, funding, revenue, fees, wallet_usd, funding_usd;
};

static void ledger_accounts_create(struct unit_db *t, struct ledger_accounts *a) {
    unit_db_begin(t);
    assert_int_equal(store_account_id(&t->db, LEDGER_BUYER_WALLET, 7, "CNY", true, &a->wallet),
                     STATUS_OK);
    assert_int_equal(store_account_id(&t->db, LEDGER_FUNDING, 0, "CNY", true, &a->funding),
                     STATUS_OK);
    assert_int_equal(store_account_id(&t->db, LEDGER_PLATFORM_REVENUE, 0, "CNY", true, &a->revenue),
                     STATUS_OK);
    assert_int_equal(store_account_id(&t->db, LEDGER_FEES, 0, "CNY", true, &a->fees), STATUS_OK);
    assert_int_equal(store_account_id(&t->db, LEDGER_BUYER_WALLET, 7, "USD", true, &a->wallet_usd),
                     STATUS_OK);
    assert_int_equal(store_account_id(&t->db, LEDGER_FUNDING, 0, "USD", true, &a->funding_usd),
                     STATUS_OK);
    unit_db_end(t, STATUS_OK);
    int64_t again = 0;
    assert_int_equal(store_account_id(&t->db, LEDGER_BUYER_WALLET, 7, "CNY", false, &again),
                     STATUS_OK);
    assert_int_equal(again, a->wallet);
    assert_int_equal(store_account_id(&t->db, LEDGER_BUYER_WALLET, 8, "CNY", false, &again),
                     STATUS_NOT_FOUND);
}

static enum status ledger_post(struct unit_db *t, const struct ledger_transfer *transfer) {
    int64_t id = 0;
    unit_db_begin(t);
    enum status status = store_transfer_post(&t->db, transfer, 0, 1, "test", 1800000000, &id);
    unit_db_end(t, status);
    if (status == STATUS_OK) assert_true(id > 0);
    return status;
}

static enum status ledger_post_move(struct unit_db *t, int64_t from, enum ledger_kind from_kind,
                                    int64_t to, enum ledger_kind to_kind, int64_t amount,
                                    const char *currency) {
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "test");
    assert_int_equal(
        ledger_transfer_move(&transfer, from, from_kind, to, to_kind, amount, currency), STATUS_OK);
    return ledger_post(t, &transfer);
}

static int64_t ledger_balance(struct unit_db *t, enum ledger_kind kind, int64_t owner,
                              const char *currency) {
    int64_t balance = -1;
    assert_int_equal(store_account_balance(&t->db, kind, owner, currency, &balance), STATUS_OK);
    return balance;
}

/* Every account's cached balance equals the sum of its postings; every transfer sums to 0. */
static void ledger_assert_books(struct unit_db *t) {
    assert_int_equal(unit_db_int(t, "SELECT count(*) FROM accounts a WHERE a.balance != "
                                    "(SELECT coalesce(sum(amount), 0) FROM postings p "
                                    "WHERE p.account_id = a.id)"),
                     0);
    assert_int_equal(unit_db_int(t, "SELECT count(*) FROM (SELECT transfer_id FROM postings "
                                    "GROUP BY transfer_id, currency HAVING sum(amount) != 0)"),
                     0);
    struct buf out;
    buf_init(&out, 1 << 16);
    bool ok = false;
    assert_int_equal(store_check(&t->db, &out, &ok), STATUS_OK);
    assert_true(ok);
    buf_free(&out);
}

static void store_post_caches_balances(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    struct ledger_accounts a;
    ledger_accounts_create(&t, &a);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 0);
    assert_int_equal(
        ledger_post_move(&t, a.funding, LEDGER_FUNDING, a.wallet, LEDGER_BUYER_WALLET, 1000, "CNY"),
        STATUS_OK);
    assert_int_equal(
        ledger_post_move(&t, a.funding, LEDGER_FUNDING, a.wallet, LEDGER_BUYER_WALLET, 234, "CNY"),
        STATUS_OK);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 1234);
    assert_int_equal(ledger_balance(&t, LEDGER_FUNDING, 0, "CNY"), -1234); /* may go negative */

    /* Three postings: the buyer pays 300, of which 20 are fees. */
    struct ledger_transfer split;
    ledger_transfer_init(&split, "order");
    assert_int_equal(ledger_transfer_add(&split, a.wallet, LEDGER_BUYER_WALLET, -300, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&split, a.revenue, LEDGER_PLATFORM_REVENUE, 280, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_transfer_add(&split, a.fees, LEDGER_FEES, 20, "CNY"), STATUS_OK);
    assert_int_equal(ledger_post(&t, &split), STATUS_OK);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 934);
    assert_int_equal(ledger_balance(&t, LEDGER_PLATFORM_REVENUE, 0, "CNY"), 280);
    assert_int_equal(ledger_balance(&t, LEDGER_FEES, 0, "CNY"), 20);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM transfers"), 3);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM postings"), 7);

    /* A second currency keeps its own balances. */
    assert_int_equal(ledger_post_move(&t, a.funding_usd, LEDGER_FUNDING, a.wallet_usd,
                                      LEDGER_BUYER_WALLET, 55, "USD"),
                     STATUS_OK);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "USD"), 55);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 934);
    ledger_assert_books(&t);
    unit_db_close(&t);
}

static void a_wallet_cannot_go_negative(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    struct ledger_accounts a;
    ledger_accounts_create(&t, &a);
    assert_int_equal(ledger_post_move(&t, a.wallet, LEDGER_BUYER_WALLET, a.revenue,
                                      LEDGER_PLATFORM_REVENUE, 1, "CNY"),
                     STATUS_INSUFFICIENT_FUNDS);
    assert_int_equal(
        ledger_post_move(&t, a.funding, LEDGER_FUNDING, a.wallet, LEDGER_BUYER_WALLET, 600, "CNY"),
        STATUS_OK);
    assert_int_equal(ledger_post_move(&t, a.wallet, LEDGER_BUYER_WALLET, a.revenue,
                                      LEDGER_PLATFORM_REVENUE, 601, "CNY"),
                     STATUS_INSUFFICIENT_FUNDS);
    /* The failed transfers left nothing behind: no transfer, no posting, same balances. */
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM transfers"), 1);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM postings"), 2);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 600);
    assert_int_equal(ledger_balance(&t, LEDGER_PLATFORM_REVENUE, 0, "CNY"), 0);

    /* Exactly the balance is allowed and leaves zero. */
    assert_int_equal(ledger_post_move(&t, a.wallet, LEDGER_BUYER_WALLET, a.revenue,
                                      LEDGER_PLATFORM_REVENUE, 600, "CNY"),
                     STATUS_OK);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, 7, "CNY"), 0);
    assert_int_equal(ledger_post_move(&t, a.wallet, LEDGER_BUYER_WALLET, a.revenue,
                                      LEDGER_PLATFORM_REVENUE, 1, "CNY"),
                     STATUS_INSUFFICIENT_FUNDS);

    /* The wallet's USD balance does not fund a CNY payment, nor the other way round. */
    assert_int_equal(ledger_post_move(&t, a.funding_usd, LEDGER_FUNDING, a.wallet_usd,
                                      LEDGER_BUYER_WALLET, 900, "USD"),
                     STATUS_OK);
    assert_int_equal(ledger_post_move(&t, a.wallet, LEDGER_BUYER_WALLET, a.revenue,
                                      LEDGER_PLATFORM_REVENUE, 100, "CNY"),
                     STATUS_INSUFFICIENT_FUNDS);
    ledger_assert_books(&t);
    unit_db_close(&t);
}

static void a_posting_in_the_wrong_currency_fails(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    struct ledger_accounts a;
    ledger_accounts_create(&t, &a);
    /* A USD posting against CNY accounts matches no account row: nothing is written. */
    assert_int_not_equal(
        ledger_post_move(&t, a.funding, LEDGER_FUNDING, a.wallet, LEDGER_BUYER_WALLET, 10, "USD"),
        STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM postings"), 0);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM transfers"), 0);
    ledger_assert_books(&t);
    unit_db_close(&t);
}

static void wallet_credit_goes_through_the_ledger(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    int64_t buyer = 0, support = 0, transfer = 0;
    unit_db_begin(&t);
    assert_int_equal(store_user_create(&t.db, "alice", "x", ROLE_BUYER, 1800000000, &buyer),
                     STATUS_OK);
    assert_int_equal(store_user_create(&t.db, "sam", "x", ROLE_SUPPORT, 1800000000, &support),
                     STATUS_OK);
    unit_db_end(&t, STATUS_OK);

    unit_db_begin(&t);
    enum status status =
        store_wallet_credit(&t.db, "alice", 5000, "CNY", "top-up", 1, 1800000000, &transfer);
    unit_db_end(&t, status);
    assert_int_equal(status, STATUS_OK);
    assert_int_equal(ledger_balance(&t, LEDGER_BUYER_WALLET, buyer, "CNY"), 5000);
    assert_int_equal(ledger_balance(&t, LEDGER_FUNDING, 0, "CNY"), -5000);

    unit_db_begin(&t);
    status = store_wallet_credit(&t.db, "sam", 5000, "CNY", "top-up", 1, 1800000000, &transfer);
    unit_db_end(&t, status);
    assert_int_equal(status, STATUS_NOT_A_BUYER);
    unit_db_begin(&t);
    status = store_wallet_credit(&t.db, "nobody", 5000, "CNY", "top-up", 1, 1800000000, &transfer);
    unit_db_end(&t, status);
    assert_int_equal(status, STATUS_UNKNOWN_USER);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM transfers"), 1);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM audit WHERE action = 'wallet.credit'"),
                     1);
    ledger_assert_books(&t);
    unit_db_close(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(move_is_two_balanced_postings),
        cmocka_unit_test(unbalanced_transfers_are_rejected),
        cmocka_unit_test(too_few_postings_are_rejected),
        cmocka_unit_test(a_zero_posting_is_rejected),
        cmocka_unit_test(currencies_balance_separately),
        cmocka_unit_test(sums_that_overflow_are_rejected),
        cmocka_unit_test(the_largest_transfer_fits),
        cmocka_unit_test(kinds_have_names_and_sign_rules),
        cmocka_unit_test(store_post_caches_balances),
        cmocka_unit_test(a_wallet_cannot_go_negative),
        cmocka_unit_test(a_posting_in_the_wrong_currency_fails),
        cmocka_unit_test(wallet_credit_goes_through_the_ledger),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
