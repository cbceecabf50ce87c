/* catalog_test.c — code import through prepare/write: rows sealed ahead for ids that
 * another writer took meanwhile are sealed again, and every stored code opens under its
 * own id; duplicates inside a batch, across the batch's INSERT statements and against
 * inventory are counted exactly; a failed INSERT is an error the caller rolls back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_db.h"

#define NOW 1800000000LL

static int64_t catalog_product(struct unit_db *t) {
    struct store_product product;
    memset(&product, 0, sizeof product);
    snprintf(product.sku, sizeof product.sku, "SKU-C");
    snprintf(product.name, sizeof product.name, "Catalog test card");
    snprintf(product.currency, sizeof product.currency, "CNY");
    snprintf(product.liquidity, sizeof product.liquidity, "low");
    product.price = 100;
    product.face_value = 100;
    int64_t id = 0;
    assert_int_equal(store_product_create(&t->db, &product, NOW, &id), STATUS_OK);
    return id;
}

static void catalog_batch(struct import_batch *batch, const char *prefix, int count) {
    import_batch_init(batch);
    for (int i = 0; i < count; i++) {
        struct import_code code = {.expires_at = 0};
        code.code_len = (size_t)snprintf(code.code, sizeof code.code, "%s-%04d", prefix, i % 50);
        import_batch_add(batch, &code);
    }
}

/* Every stored code opens under its own id to one of the expected plaintexts. */
static int catalog_open_all(struct unit_db *t, const char *prefix) {
    sqlite3_stmt *stmt = db_prepare(&t->db, "SELECT id, sealed FROM codes WHERE product_id = "
                                            "(SELECT id FROM products WHERE sku = 'SKU-C')");
    int opened = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        char plain[LIMIT_CODE_BYTES + 1];
        size_t len = 0;
        assert_int_equal(
            vault_code_open(&t->vault, sqlite3_column_int64(stmt, 0), sqlite3_column_blob(stmt, 1),
                            (size_t)sqlite3_column_bytes(stmt, 1), plain, sizeof plain, &len),
            STATUS_OK);
        assert_int_equal(strncmp(plain, prefix, strlen(prefix)), 0);
        opened++;
    }
    sqlite3_reset(stmt);
    return opened;
}

static void resealed_when_ids_were_taken(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    int64_t product = catalog_product(&t);
    /* 120 codes of which 50 distinct: the first chunk is sealed for ids from next_id… */
    struct import_batch first;
    catalog_batch(&first, "FIRST", 120);
    int64_t next_id = 0;
    assert_int_equal(store_codes_next_id(&t.db, &next_id), STATUS_OK);
    struct store_code_rows rows;
    memset(&rows, 0, sizeof rows);
    store_codes_prepare(&t.vault, &first, next_id, &rows);
    /* …but another import takes those ids first. */
    struct import_batch other;
    catalog_batch(&other, "OTHER", 50);
    struct store_import_result result = {0, 0};
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product, &other, NOW, &result), STATUS_OK);
    assert_int_equal(result.imported, 50);
    memset(&result, 0, sizeof result);
    assert_int_equal(store_codes_write(&t.db, &t.vault, product, &first, &rows, NOW, &result),
                     STATUS_OK);
    assert_true(rows.base_id > next_id); /* sealed again for free ids */
    assert_int_equal(result.imported, 50);
    assert_int_equal(result.duplicates, 70);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    assert_int_equal(catalog_open_all(&t, ""), 100);
    bool ok = false;
    struct buf out;
    buf_init(&out, 1 << 16);
    assert_int_equal(store_check(&t.db, &out, &ok), STATUS_OK);
    assert_true(ok);
    buf_free(&out);
    store_code_rows_free(&rows);
    import_batch_free(&first);
    import_batch_free(&other);
    unit_db_close(&t);
}

static void duplicates_against_inventory(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    int64_t product = catalog_product(&t);
    struct import_batch batch;
    catalog_batch(&batch, "SAME", 50);
    struct store_import_result result = {0, 0};
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product, &batch, NOW, &result), STATUS_OK);
    assert_int_equal(result.imported, 50);
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product, &batch, NOW, &result), STATUS_OK);
    assert_int_equal(result.imported, 50);
    assert_int_equal(result.duplicates, 50);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    assert_int_equal(catalog_open_all(&t, "SAME-"), 50);
    import_batch_free(&batch);
    unit_db_close(&t);
}

static void expired_codes_leave_stock(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    int64_t product = catalog_product(&t);
    struct import_batch batch;
    import_batch_init(&batch);
    for (int i = 0; i < 30; i++) { /* 10 never expire, 20 expire at NOW + 100 */
        struct import_code code = {.expires_at = i < 10 ? 0 : NOW + 100};
        code.code_len = (size_t)snprintf(code.code, sizeof code.code, "EXP-%02d", i);
        import_batch_add(&batch, &code);
    }
    struct store_import_result result = {0, 0};
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product, &batch, NOW, &result), STATUS_OK);
    int64_t expired = -1;
    assert_int_equal(store_codes_expire(&t.db, NOW + 100 - 1, 1000, &expired), STATUS_OK);
    assert_int_equal(expired, 0); /* not yet */
    assert_int_equal(store_codes_expire(&t.db, NOW + 100, 7, &expired), STATUS_OK);
    assert_int_equal(expired, 7); /* bounded per sweep */
    assert_int_equal(store_codes_expire(&t.db, NOW + 100, 1000, &expired), STATUS_OK);
    assert_int_equal(expired, 13);
    assert_int_equal(unit_db_int(&t, "SELECT stock FROM products WHERE sku = 'SKU-C'"), 10);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM codes WHERE state = 2"), 20);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    bool ok = false;
    struct buf out;
    buf_init(&out, 1 << 16);
    assert_int_equal(store_check(&t.db, &out, &ok), STATUS_OK);
    assert_true(ok);
    buf_free(&out);
    import_batch_free(&batch);
    unit_db_close(&t);
}

/* A batch longer than several INSERT statements (LIMIT_IMPORT_STATEMENT_ROWS each) whose
 * runs of equal codes cross every statement's edge: each code is stored once, the rest
 * counted as duplicates, and stock moves by the codes stored. */
static void statements_split_a_batch_inside_runs_of_duplicates(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    int64_t product = catalog_product(&t);
    int count = 2 * LIMIT_IMPORT_STATEMENT_ROWS + 100;
    struct import_batch batch;
    import_batch_init(&batch);
    for (int i = 0; i < count; i++) { /* 7 distinct codes, ~900 copies each */
        struct import_code code = {.expires_at = i % 7 == 3 ? NOW + 500 : 0};
        code.code_len = (size_t)snprintf(code.code, sizeof code.code, "EDGE-%d", i % 7);
        import_batch_add(&batch, &code);
    }
    struct store_import_result result = {0, 0};
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product, &batch, NOW, &result), STATUS_OK);
    assert_int_equal(result.imported, 7);
    assert_int_equal(result.duplicates, count - 7);
    assert_int_equal(unit_db_int(&t, "SELECT stock FROM products WHERE sku = 'SKU-C'"), 7);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM codes WHERE expires_at = 1800000500"),
                     1);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    assert_int_equal(catalog_open_all(&t, "EDGE-"), 7);
    import_batch_free(&batch);
    unit_db_close(&t);
}

/* A statement that fails part-way (here: a product that does not exist) reports it, and the
 * caller's rollback leaves no code and no stock behind. */
static void a_failed_insert_is_an_error_and_rolls_back(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    int64_t product = catalog_product(&t);
    assert_int_equal(db_commit(&t.db), STATUS_OK);
    struct import_batch batch;
    catalog_batch(&batch, "LOST", LIMIT_IMPORT_STATEMENT_ROWS + 10);
    struct store_import_result result = {0, 0};
    assert_int_equal(db_begin_immediate(&t.db), STATUS_OK);
    assert_int_equal(store_codes_insert(&t.db, &t.vault, product + 1000, &batch, NOW, &result),
                     STATUS_DB);
    db_rollback(&t.db);
    assert_int_equal(result.imported, 0);
    assert_int_equal(unit_db_int(&t, "SELECT count(*) FROM codes"), 0);
    assert_int_equal(unit_db_int(&t, "SELECT stock FROM products WHERE sku = 'SKU-C'"), 0);
    import_batch_free(&batch);
    unit_db_close(&t);
}

/* `code_rows` is no table without its batch, and reads nothing from a value that is not one. */
static void code_rows_needs_its_bound_batch(void **state) {
    struct unit_db t;
    unit_db_open(&t);
    sqlite3_stmt *stmt = 0;
    assert_int_not_equal(sqlite3_prepare_v2(t.db.handle, "SELECT * FROM code_rows", -1, &stmt, 0),
                         SQLITE_OK);
    sqlite3_finalize(stmt);
    assert_int_equal(
        sqlite3_prepare_v2(t.db.handle, "SELECT count(*) FROM code_rows(?)", -1, &stmt, 0),
        SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, "not a batch", 11, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_MISUSE);
    sqlite3_finalize(stmt);
    unit_db_close(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resealed_when_ids_were_taken),
        cmocka_unit_test(duplicates_against_inventory),
        cmocka_unit_test(expired_codes_leave_stock),
        cmocka_unit_test(statements_split_a_batch_inside_runs_of_duplicates),
        cmocka_unit_test(a_failed_insert_is_an_error_and_rolls_back),
        cmocka_unit_test(code_rows_needs_its_bound_batch),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
