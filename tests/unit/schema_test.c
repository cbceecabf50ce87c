/* schema_test.c — the schema as it evolves and the writer's row cache: a database made by
 * the first migration alone is brought up to date with its rows intact and its rules
 * unchanged; no statement on the order or import path builds an ephemeral table (SQLite
 * does that for a CHECK written as `x IN (a, b, c)`, which cost a fifth of the writer's
 * time); the cache sees what another connection committed and forgets what a rollback
 * undid; an order names the risk event that decided it and lists the codes it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/text.h"
#include "store/migrations.h"
#include "unit_db.h"

#define NOW 1800000000LL

static void create_product(struct unit_db *t, const char *sku, int64_t price, int64_t *id) {
    struct store_product product;
    memset(&product, 0, sizeof product);
    (void)text_copy(product.sku, sizeof product.sku, sku);
    (void)text_copy(product.name, sizeof product.name, "Schema test card");
    (void)text_copy(product.currency, sizeof product.currency, "CNY");
    (void)text_copy(product.liquidity, sizeof product.liquidity, "low");
    product.price = price;
    product.face_value = price;
    assert_int_equal(store_product_create(&t->db, &product, NOW, id), STATUS_OK);
}

/* A fresh directory with a database at schema version `version` (only the first
 * `version` migrations applied). */
static void open_version(struct unit_db *t, int version) {
    memset(t, 0, sizeof *t);
    log_set_level(LOG_WARN);
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/tessera-unit-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
    assert_int_equal(db_open(&t->db, t->path, false, true), STATUS_OK);
    assert_true(version >= 1 && migrations_count > version);
    for (int i = 0; i < version; i++)
        unit_db_exec(t, migrations[i].sql);
    char pragma[40];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version);
    unit_db_exec(t, pragma);
}

/* Buyer 1, product 1 (one code in stock) and its order 7 in `status`, as any schema
 * version writes them. */
static void insert_order_7(struct unit_db *t, const char *status) {
    unit_db_exec(t, "INSERT INTO users(id, username, password_hash, role, created_at) "
                    "VALUES(1, 'buyer', 'h', 'buyer', 1)");
    unit_db_exec(t,
                 "INSERT INTO products(id, sku, name, face_value, price, currency, "
                 "liquidity, stock, created_at) VALUES(1, 'S', 'n', 100, 90, 'CNY', 'low', 1, 1)");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO orders(id, buyer_id, product_id, sku, product_name, unit_price, "
             "face_value, currency, liquidity, quantity, amount, payment, status, created_at) "
             "VALUES(7, 1, 1, 'S', 'n', 90, 100, 'CNY', 'low', 1, 90, 'wallet', '%s', 1)",
             status);
    unit_db_exec(t, sql);
}

/* Order 8: order 7 again in `status`. */
static void copy_order_7_as_8(struct unit_db *t, const char *status) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO orders(id, buyer_id, product_id, sku, product_name, unit_price, "
             "face_value, currency, liquidity, quantity, amount, payment, status, created_at) "
             "SELECT 8, buyer_id, product_id, sku, product_name, unit_price, face_value, "
             "currency, liquidity, quantity, amount, payment, '%s', created_at FROM orders "
             "WHERE id = 7",
             status);
    unit_db_exec(t, sql);
}

static bool step_fails(struct unit_db *t, const char *sql) {
    return db_exec(&t->db, sql) != STATUS_OK;
}

static void a_version_1_database_is_migrated_with_its_rows(void **state) {
    (void)state;
    struct unit_db t;
    open_version(&t, 1);
    insert_order_7(&t, "delivered");
    unit_db_exec(&t, "INSERT INTO codes(id, product_id, hash, sealed, state, order_id, "
                     "imported_at) VALUES(1, 1, x'01', x'02', 1, 7, 1), "
                     "(2, 1, x'03', x'04', 0, NULL, 1)");
    assert_int_equal(db_migrate(&t.db), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "PRAGMA user_version"), migrations_count);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM codes"), 2);
    assert_int_equal(unit_db_int(&t, "SELECT order_id FROM codes WHERE id = 1"), 7);
    assert_int_equal(unit_db_int(&t, "SELECT amount FROM orders WHERE id = 7"), 90);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* the unique hash, free codes, expiring codes (012 dropped the one by order) */
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM pragma_index_list('codes')"), 3);
    assert_int_equal(unit_db_int(&t, "SELECT code_ids = '[1]' FROM orders WHERE id = 7"), 1);
    /* Orders keep only the indexes something reads (010 dropped the one by buyer; 013 the
     * one by Idempotency-Key, which the writer keeps in memory). */
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM pragma_index_list('orders') "
                                     "WHERE name IN ('orders_buyer', 'orders_idempotency')"),
                     0);
    assert_int_equal(unit_db_int(&t, "PRAGMA foreign_keys"), 1); /* back on after migrating */
    /* The rules are the same as before the rebuild. */
    assert_true(step_fails(&t, "UPDATE codes SET state = 3 WHERE id = 2"));
    assert_true(step_fails(&t, "UPDATE codes SET state = 1 WHERE id = 2")); /* no order */
    assert_true(step_fails(&t, "UPDATE orders SET status = 'lost' WHERE id = 7"));
    assert_true(step_fails(&t, "INSERT INTO codes(product_id, hash, sealed, imported_at) "
                               "VALUES(99, x'05', x'06', 1)")); /* no such product */
    unit_db_exec(&t, "UPDATE orders SET status = 'expired' WHERE id = 7");
    /* Migrating again changes nothing. */
    assert_int_equal(db_migrate(&t.db), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM codes"), 2);
    unit_db_close(&t);
}

/* A database at schema version 10 (migrations 001–010 applied) whose order 7 was decided by
 * risk event 3: migration 011 makes the order name its event and drops the index that
 * found events by order. */
static void an_order_names_its_risk_event_after_migrating(void **state) {
    (void)state;
    struct unit_db t;
    open_version(&t, 10);
    insert_order_7(&t, "review");
    copy_order_7_as_8(&t, "delivered");
    unit_db_exec(&t, "INSERT INTO risk_events(id, event_id, type, at, user_key, body, order_id, "
                     "action, rules, features, created_at) VALUES(3, 'e3', 'order', 1, 'buyer', "
                     "'{}', 7, 'review', x'00', x'00', 1), (4, 'e4', 'login', 1, 'buyer', '{}', "
                     "NULL, 'allow', x'00', x'00', 1)");
    assert_int_equal(db_migrate(&t.db), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT risk_event_id FROM orders WHERE id = 7"), 3);
    assert_int_equal(unit_db_int(&t, "SELECT risk_event_id IS NULL FROM orders WHERE id = 8"), 1);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM pragma_index_list('risk_events') "
                                     "WHERE name = 'risk_events_order'"),
                     0);
    unit_db_close(&t);
}

/* A database at schema version 11 whose order 7 holds codes 3 and 1 and whose order 8
 * none: migration 012 makes each order list its codes and drops the index that found codes
 * by order. */
static void an_order_lists_its_codes_after_migrating(void **state) {
    (void)state;
    struct unit_db t;
    open_version(&t, 11);
    insert_order_7(&t, "delivered");
    copy_order_7_as_8(&t, "expired");
    unit_db_exec(&t, "INSERT INTO codes(id, product_id, hash, sealed, state, order_id, "
                     "imported_at) VALUES(3, 1, x'01', x'02', 1, 7, 1), "
                     "(1, 1, x'03', x'04', 1, 7, 1), (2, 1, x'05', x'06', 0, NULL, 1)");
    assert_int_equal(db_migrate(&t.db), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT code_ids = '[1,3]' FROM orders WHERE id = 7"), 1);
    assert_int_equal(unit_db_int(&t, "SELECT code_ids IS NULL FROM orders WHERE id = 8"), 1);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM pragma_index_list('codes') "
                                     "WHERE name = 'codes_order'"),
                     0);
    unit_db_close(&t);
}

static void a_newer_database_is_refused(void **state) {
    (void)state;
    struct unit_db t;
    unit_db_open(&t);
    unit_db_exec(&t, "PRAGMA user_version=999");
    assert_int_equal(db_migrate(&t.db), STATUS_DB);
    unit_db_close(&t);
}

/* True when EXPLAIN of sql opens an ephemeral table. */
static bool uses_ephemeral_table(struct unit_db *t, const char *sql) {
    char explain[1024];
    snprintf(explain, sizeof explain, "EXPLAIN %s", sql);
    sqlite3_stmt *stmt = 0;
    assert_int_equal(sqlite3_prepare_v2(t->db.handle, explain, -1, &stmt, 0), SQLITE_OK);
    bool found = false;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *opcode = (const char *)sqlite3_column_text(stmt, 1);
        if (opcode != 0 && strcmp(opcode, "OpenEphemeral") == 0) found = true;
    }
    sqlite3_finalize(stmt);
    return found;
}

static void the_hot_statements_build_no_ephemeral_table(void **state) {
    (void)state;
    struct unit_db t;
    unit_db_open(&t);
    const char *hot[] = {
        "UPDATE codes SET state = 1, order_id = 5 WHERE id = 7 AND state = 0",
        "INSERT INTO codes(id, product_id, hash, sealed, expires_at, imported_at) "
        "VALUES(1, 1, x'00', x'00', NULL, 1)",
        "UPDATE codes SET state = 2 WHERE id = 1 AND state = 0",
        "INSERT INTO orders(buyer_id, product_id, sku, product_name, unit_price, face_value, "
        "currency, liquidity, quantity, amount, payment, status, created_at, provider, "
        "expires_at, hold, idempotency_key, request_hash, risk_event_id, code_ids) "
        "VALUES(1, 1, 'a', 'b', 1, 1, 'CNY', 'low', 1, 1, 'wallet', 'delivered', 1, NULL, "
        "NULL, 0, 'k', x'00', 1, '[7]')",
        /* an order's codes: reveal, and release (store_order_codes, store_order_release) */
        "SELECT c.id, c.sealed FROM orders o, json_each(o.code_ids) j"
        " JOIN codes c ON c.id = j.value WHERE o.id = 5 AND c.order_id = 5",
        "SELECT j.value FROM orders o, json_each(o.code_ids) j WHERE o.id = 5",
        "UPDATE codes SET state = 0, order_id = NULL WHERE id = 7 AND order_id = 5 AND state = 1",
        "UPDATE accounts SET balance = balance + 1 WHERE id = 2 AND currency = 'CNY' "
        "AND (1 = 0 OR balance + 1 >= 0)",
        "UPDATE products SET stock = stock - 1 WHERE id = 1",
    };
    for (size_t i = 0; i < sizeof hot / sizeof hot[0]; i++) {
        if (uses_ephemeral_table(&t, hot[i])) fail_msg("ephemeral table in: %s", hot[i]);
    }
    unit_db_close(&t);
}

static void the_cache_sees_other_connections_and_forgets_rollbacks(void **state) {
    (void)state;
    struct unit_db t;
    unit_db_open(&t);
    int64_t product_id = 0, revenue = 0, again = 0;
    unit_db_begin(&t);
    assert_int_equal(store_setup(&t.db, &t.vault, "not-a-real-hash", false, NOW), STATUS_OK);
    create_product(&t, "CACHE-1", 100, &product_id);
    unit_db_end(&t, STATUS_OK);

    store_cache_attach(&t.db);
    struct store_product product;
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    assert_int_equal(store_cache_begin(&t.db), STATUS_OK);
    assert_int_equal(store_product_cached(&t.db, "CACHE-1", &product), STATUS_OK);
    assert_int_equal(product.price, 100);
    assert_int_equal(product.stock, -1); /* never cached */
    assert_int_equal(store_product_cached(&t.db, "NO-SUCH", &product), STATUS_UNKNOWN_SKU);
    assert_int_equal(db_commit(&t.db), STATUS_OK);

    /* Another connection changes the price: the next transaction must see it. */
    struct db other;
    assert_int_equal(db_open(&other, t.path, false, false), STATUS_OK);
    assert_int_equal(db_exec(&other, "UPDATE products SET price = 250 WHERE sku = 'CACHE-1'"),
                     STATUS_OK);
    db_close(&other);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    assert_int_equal(store_cache_begin(&t.db), STATUS_OK);
    assert_int_equal(store_product_cached(&t.db, "CACHE-1", &product), STATUS_OK);
    assert_int_equal(product.price, 250);

    /* A platform account created and rolled back must not stay in the cache. */
    assert_int_equal(store_platform_account(&t.db, LEDGER_FEES, "USD", &revenue), STATUS_OK);
    assert_true(revenue > 0);
    assert_int_equal(store_platform_account(&t.db, LEDGER_FEES, "USD", &again), STATUS_OK);
    assert_int_equal(again, revenue);
    db_rollback(&t.db);
    store_cache_reset(&t.db);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    assert_int_equal(store_cache_begin(&t.db), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM accounts WHERE kind = 'fees'"), 0);
    assert_int_equal(store_platform_account(&t.db, LEDGER_FEES, "USD", &again), STATUS_OK);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM accounts WHERE kind = 'fees'"), 1);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    store_cache_detach(&t.db);
    unit_db_close(&t);
}

static void text_copy_truncates_and_reports(void **state) {
    (void)state;
    char small[4];
    assert_int_equal(text_copy(small, sizeof small, "abcdef"), 6);
    assert_string_equal(small, "abc");
    assert_int_equal(text_copy(small, sizeof small, "ab"), 2);
    assert_string_equal(small, "ab");
    assert_int_equal(text_copy(small, sizeof small, ""), 0);
    assert_string_equal(small, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_version_1_database_is_migrated_with_its_rows),
        cmocka_unit_test(an_order_names_its_risk_event_after_migrating),
        cmocka_unit_test(an_order_lists_its_codes_after_migrating),
        cmocka_unit_test(a_newer_database_is_refused),
        cmocka_unit_test(the_hot_statements_build_no_ephemeral_table),
        cmocka_unit_test(the_cache_sees_other_connections_and_forgets_rollbacks),
        cmocka_unit_test(text_copy_truncates_and_reports),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
