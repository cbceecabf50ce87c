/* idempotency_test.c — the writer's in-memory index of Idempotency-Keys (store/idempotency.c)
 * through the order transaction on a real database: a key replays its order after the index
 * is read again from the orders table (a restart), which reads only the window's orders; a
 * rolled-back order leaves its key free; a key is remembered for the window and no longer;
 * thousands of keys survive the table's growth while expired ones are dropped; keys are
 * found while a grown table fills; the table stays the size of a window under steady load;
 * orders placed by another connection (and only those) are read before the next lookup; and
 * `store_check` names a key that answers for two orders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "unit_db.h"

#define NOW 1800000000LL
#define PRICE 100
#define CODES 3300

static int fixture_setup(void **state) {
    struct unit_shop *f = unit_shop_open("SKU-I", PRICE, NOW);
    int64_t transfer = 0;
    assert_int_equal(
        store_wallet_credit(&f->t.db, "payer", PRICE * CODES, "CNY", "test", 1, NOW, &transfer),
        STATUS_OK);
    unit_db_end(&f->t, STATUS_OK);
    unit_db_stock(&f->t, f->product, "I", CODES, NOW);
    *state = f;
    return 0;
}

/* Places one code under key at now_s inside its own savepoint; ROLLBACK TO it when
 * roll_back, as the writer does for a command that failed after writing. */
static enum status place_on(struct unit_db *t, int64_t buyer, const char *key, int64_t now_s,
                            bool roll_back, struct store_order_result *result) {
    struct store_order_request r;
    memset(&r, 0, sizeof r);
    r.buyer_id = buyer;
    r.sku = "SKU-I";
    r.quantity = 1;
    r.idempotency_key = key;
    memset(r.request_hash, 7, sizeof r.request_hash);
    r.now_s = now_s;
    memset(result, 0, sizeof *result);
    unit_db_begin(t);
    bool cached = t->db.cache != 0; /* then as the writer: begin, flush, reset */
    if (cached) assert_int_equal(store_cache_begin(&t->db), STATUS_OK);
    enum status status = store_order_place(&t->db, &r, result);
    if (cached && status == STATUS_OK && !roll_back)
        assert_int_equal(store_cache_flush(&t->db), STATUS_OK);
    if (cached && (status != STATUS_OK || roll_back)) store_cache_reset(&t->db);
    unit_db_end(t, roll_back ? STATUS_DB : status);
    return status;
}

/* The order id key answers with at now_s, and whether it was a replay. */
static int64_t order_for(struct unit_shop *f, const char *key, int64_t now_s, bool *replayed) {
    struct store_order_result result;
    assert_int_equal(place_on(&f->t, f->buyer, key, now_s, false, &result), STATUS_OK);
    *replayed = result.replayed;
    int64_t id = result.order.id;
    store_order_result_free(&result);
    return id;
}

static int64_t orders_under(struct unit_shop *f, const char *key) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE idempotency_key = '%s'", key);
    return unit_db_int(&f->t, sql);
}

static void a_key_replays_after_the_index_is_read_again(void **state) {
    struct unit_shop *f = *state;
    bool replayed = true;
    int64_t first = order_for(f, "k-restart", NOW, &replayed);
    assert_false(replayed);
    store_idempotency_detach(&f->t.db); /* what a restart does: the index is read anew */
    assert_int_equal(store_idempotency_attach(&f->t.db, NOW + 60), STATUS_OK);
    assert_int_equal(order_for(f, "k-restart", NOW + 60, &replayed), first);
    assert_true(replayed);
    assert_int_equal(orders_under(f, "k-restart"), 1);
    assert_true(unit_db_check_ok(&f->t));
}

static void a_restart_reads_only_the_window(void **state) {
    struct unit_shop *f = *state;
    bool replayed = true;
    int64_t first = order_for(f, "k-old", NOW, &replayed);
    struct store_idempotency_size size;
    store_idempotency_detach(&f->t.db); /* a restart within the window reads the order */
    assert_int_equal(store_idempotency_attach(&f->t.db, NOW + LIMIT_IDEMPOTENCY_WINDOW_S),
                     STATUS_OK);
    store_idempotency_size(&f->t.db, &size);
    assert_int_equal(size.entries, 1);
    assert_int_equal(order_for(f, "k-old", NOW + LIMIT_IDEMPOTENCY_WINDOW_S, &replayed), first);
    assert_true(replayed);
    const int64_t later = NOW + LIMIT_IDEMPOTENCY_WINDOW_S + LIMIT_IDEMPOTENCY_SLACK_S + 1;
    store_idempotency_detach(&f->t.db); /* one after it does not */
    assert_int_equal(store_idempotency_attach(&f->t.db, later), STATUS_OK);
    store_idempotency_size(&f->t.db, &size);
    assert_int_equal(size.entries, 0);
    assert_true(order_for(f, "k-old", later, &replayed) > first);
    assert_false(replayed);
    assert_true(unit_db_check_ok(&f->t));
}

static void a_rolled_back_order_leaves_its_key_free(void **state) {
    struct unit_shop *f = *state;
    struct store_order_result result;
    assert_int_equal(place_on(&f->t, f->buyer, "k-undone", NOW, true, &result), STATUS_OK);
    store_order_result_free(&result);
    assert_int_equal(orders_under(f, "k-undone"), 0);
    /* the index still holds the undone order's id, which the next order takes again */
    bool replayed = true;
    int64_t id = order_for(f, "k-undone", NOW, &replayed);
    assert_false(replayed);
    assert_true(id > 0);
    assert_int_equal(order_for(f, "k-undone", NOW, &replayed), id);
    assert_true(replayed);
    /* another key on the reused id is not taken for the undone one */
    assert_int_equal(place_on(&f->t, f->buyer, "k-other", NOW, true, &result), STATUS_OK);
    store_order_result_free(&result);
    int64_t other = order_for(f, "k-third", NOW, &replayed);
    assert_false(replayed);
    assert_int_equal(order_for(f, "k-other", NOW, &replayed), other + 1);
    assert_false(replayed);
    assert_true(unit_db_check_ok(&f->t));
}

static void a_key_is_remembered_for_the_window_only(void **state) {
    struct unit_shop *f = *state;
    bool replayed = false;
    int64_t first = order_for(f, "k-day", NOW, &replayed);
    assert_int_equal(order_for(f, "k-day", NOW + LIMIT_IDEMPOTENCY_WINDOW_S, &replayed), first);
    assert_true(replayed);
    int64_t later = order_for(f, "k-day", NOW + LIMIT_IDEMPOTENCY_WINDOW_S + 1, &replayed);
    assert_false(replayed);
    assert_true(later > first);
    assert_int_equal(order_for(f, "k-day", NOW + LIMIT_IDEMPOTENCY_WINDOW_S + 2, &replayed), later);
    assert_true(replayed);
    assert_int_equal(orders_under(f, "k-day"), 2);
    assert_true(unit_db_check_ok(&f->t)); /* a day apart: not a key used twice */
}

static void thousands_of_keys_survive_growth_and_old_ones_are_dropped(void **state) {
    struct unit_shop *f = *state;
    /* the table grows at 512 keys (to 4,096 slots) and again at 2,048: by then the first
     * 600 orders are older than the window */
    const int old = 600, recent = 1500;
    const int64_t later = NOW + LIMIT_IDEMPOTENCY_WINDOW_S + LIMIT_IDEMPOTENCY_SLACK_S + 10;
    char key[32];
    bool replayed = true;
    for (int i = 0; i < old + recent; i++) {
        snprintf(key, sizeof key, "k-%d", i);
        (void)order_for(f, key, i < old ? NOW : later, &replayed);
        assert_false(replayed);
    }
    struct store_idempotency_size size;
    store_idempotency_size(&f->t.db, &size);
    assert_true(size.entries >= (uint64_t)recent && size.entries < (uint64_t)(old + recent));
    assert_true(size.slots >= 2 * size.entries);
    for (int i = old; i < old + recent; i += 37) { /* every recent key still replays */
        snprintf(key, sizeof key, "k-%d", i);
        (void)order_for(f, key, later, &replayed);
        assert_true(replayed);
    }
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"), old + recent);
    assert_true(unit_db_check_ok(&f->t));
}

static void keys_are_found_while_a_grown_table_fills(void **state) {
    struct unit_shop *f = *state;
    char key[32];
    bool replayed = true;
    for (int i = 0; i < LIMIT_IDEMPOTENCY_MIN_SLOTS / 2 + 1; i++) { /* one past half: grows */
        snprintf(key, sizeof key, "k-%d", i);
        (void)order_for(f, key, NOW, &replayed);
        assert_false(replayed);
    }
    struct store_idempotency_size size;
    store_idempotency_size(&f->t.db, &size);
    assert_true(size.slots > LIMIT_IDEMPOTENCY_MIN_SLOTS); /* grown; most keys not yet moved */
    assert_int_equal(size.entries, LIMIT_IDEMPOTENCY_MIN_SLOTS / 2 + 1);
    assert_int_equal(size.growths, 1);
    assert_int_equal(size.growths_prepared, 1); /* its pages were touched ahead of need */
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k-%d", i);
        (void)order_for(f, key, NOW, &replayed);
        assert_true(replayed);
    }
    assert_int_equal(unit_db_int(&f->t, "SELECT count(*) FROM orders"),
                     LIMIT_IDEMPOTENCY_MIN_SLOTS / 2 + 1);
}

static void the_table_stays_the_size_of_a_window(void **state) {
    struct unit_shop *f = *state;
    /* six windows of 500 orders each: 3,000 orders, never more than ~1,000 of them recent */
    char key[32];
    bool replayed = true;
    struct store_idempotency_size size;
    for (int i = 0; i < 3000; i++) {
        int64_t now =
            NOW + (int64_t)(i / 500) * (LIMIT_IDEMPOTENCY_WINDOW_S + LIMIT_IDEMPOTENCY_SLACK_S + 1);
        snprintf(key, sizeof key, "k-%d", i);
        (void)order_for(f, key, now, &replayed);
        assert_false(replayed);
        store_idempotency_size(&f->t.db, &size);
        assert_true(size.slots <= 4096); /* four times a window of ≤ 1,000, a power of two */
    }
    assert_true(size.entries <= 1000);
    assert_true(unit_db_check_ok(&f->t));
}

static void orders_of_another_connection_are_read_before_the_next_lookup(void **state) {
    struct unit_shop *f = *state;
    struct unit_db other = f->t; /* the same file through a second connection */
    memset(&other.db, 0, sizeof other.db);
    assert_int_equal(db_open(&other.db, f->t.path, false, false), STATUS_OK);
    assert_int_equal(store_idempotency_attach(&other.db, NOW), STATUS_OK);
    store_cache_attach(&f->t.db); /* the writer's cache notices other connections' commits */
    bool replayed = true;
    (void)order_for(f, "k-mine", NOW, &replayed);
    struct store_order_result result;
    for (int i = 0; i < 50; i++) { /* the writer's own orders: read_to moves past them */
        char key[32];
        snprintf(key, sizeof key, "k-own-%d", i);
        (void)order_for(f, key, NOW, &replayed);
    }
    struct store_idempotency_size before, after;
    store_idempotency_size(&f->t.db, &before);
    assert_int_equal(place_on(&other, f->buyer, "k-theirs", NOW, false, &result), STATUS_OK);
    int64_t theirs = result.order.id;
    store_order_result_free(&result);
    assert_int_equal(order_for(f, "k-theirs", NOW, &replayed), theirs);
    assert_true(replayed);
    store_idempotency_size(&f->t.db, &after);
    /* the writer's last order (settled only at its next batch) and theirs, not all 52 */
    assert_int_equal(after.rows_read - before.rows_read, 2);
    assert_int_equal(orders_under(f, "k-theirs"), 1);
    store_cache_detach(&f->t.db);
    store_idempotency_detach(&other.db);
    db_close(&other.db);
    assert_true(unit_db_check_ok(&f->t));
}

static void check_names_a_key_used_twice(void **state) {
    struct unit_shop *f = *state;
    bool replayed = true;
    int64_t id = order_for(f, "k-twice", NOW, &replayed);
    assert_true(unit_db_check_ok(&f->t));
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE orders SET idempotency_key = 'k-twice' WHERE id = %lld",
             (long long)order_for(f, "k-once", NOW + 5, &replayed));
    unit_db_exec(&f->t, sql);
    struct buf out;
    buf_init(&out, 1 << 20);
    bool ok = true;
    assert_int_equal(store_check(&f->t.db, &out, &ok), STATUS_OK);
    assert_false(ok);
    json_t *root = json_loadb(out.data, out.len, 0, 0);
    assert_non_null(root);
    json_t *rule = json_object_get(json_object_get(root, "invariants"), "idempotency_keys_unique");
    assert_true(json_is_false(json_object_get(rule, "ok")));
    assert_int_equal(json_integer_value(json_object_get(rule, "violations")), 1);
    json_decref(root);
    buf_free(&out);
    assert_true(id > 0);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, fixture_setup, unit_db_teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(a_key_replays_after_the_index_is_read_again),
        FIXTURE_TEST(a_restart_reads_only_the_window),
        FIXTURE_TEST(a_rolled_back_order_leaves_its_key_free),
        FIXTURE_TEST(a_key_is_remembered_for_the_window_only),
        FIXTURE_TEST(thousands_of_keys_survive_growth_and_old_ones_are_dropped),
        FIXTURE_TEST(keys_are_found_while_a_grown_table_fills),
        FIXTURE_TEST(the_table_stays_the_size_of_a_window),
        FIXTURE_TEST(orders_of_another_connection_are_read_before_the_next_lookup),
        FIXTURE_TEST(check_names_a_key_used_twice),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
