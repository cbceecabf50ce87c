/* unit_db.h — a throw-away SQLite database for unit tests of src/store: a fresh directory
 * under $TMPDIR, the real migrations, a vault from a fixed master key, and the writer's
 * transaction shape (BEGIN IMMEDIATE, one SAVEPOINT per command, rolled back on failure).
 * Header-only so each *_test.c stays one executable; never holds real secrets. */
#ifndef TESSERA_TESTS_UNIT_DB_H
#define TESSERA_TESTS_UNIT_DB_H

#include <dirent.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/db.h"
#include "store/store.h"
#include "store/wal_vfs.h"
#include "vault/vault.h"

struct unit_db {
    char dir[64];
    char path[96];
    struct db db;
    struct vault vault;
};

/* Opens a new migrated database; aborts the test on failure. */
static inline void unit_db_open(struct unit_db *t) {
    memset(t, 0, sizeof *t);
    log_set_level(LOG_WARN); /* migrations log at info; keep test output quiet */
    assert_int_equal(vault_global_init(), STATUS_OK);
    assert_int_equal(wal_vfs_register(), SQLITE_OK); /* as db_global_init does */
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/tessera-unit-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/t.db", t->dir);
    assert_int_equal(db_open(&t->db, t->path, false, true), STATUS_OK);
    assert_int_equal(db_migrate(&t->db), STATUS_OK);
    /* orders are placed on the writer's connection, which holds the index of their keys */
    assert_int_equal(store_idempotency_attach(&t->db, 0), STATUS_OK);
    unsigned char master[VAULT_KEY_BYTES];
    for (size_t i = 0; i < sizeof master; i++)
        master[i] = (unsigned char)(i * 7 + 1);
    vault_from_master(&t->vault, master);
}

/* Closes the database and removes its directory (db, -wal, -shm). */
static inline void unit_db_close(struct unit_db *t) {
    store_idempotency_detach(&t->db);
    db_close(&t->db);
    vault_wipe(&t->vault);
    DIR *dir = opendir(t->dir);
    if (dir != 0) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != 0) {
            if (entry->d_name[0] == '.') continue;
            char file[400];
            snprintf(file, sizeof file, "%s/%s", t->dir, entry->d_name);
            unlink(file);
        }
        closedir(dir);
    }
    rmdir(t->dir);
}

static inline void unit_db_exec(struct unit_db *t, const char *sql) {
    assert_int_equal(db_exec(&t->db, sql), STATUS_OK);
}

/* One integer from a query (count, sum, balance). */
static inline int64_t unit_db_int(struct unit_db *t, const char *sql) {
    sqlite3_stmt *stmt = 0;
    assert_int_equal(sqlite3_prepare_v2(t->db.handle, sql, -1, &stmt, 0), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

static inline void unit_db_begin(struct unit_db *t) {
    assert_int_equal(db_begin_immediate(&t->db), STATUS_OK);
    unit_db_exec(t, "SAVEPOINT cmd");
}

/* Ends a command the way the writer does: roll back its savepoint when it failed. */
static inline void unit_db_end(struct unit_db *t, enum status status) {
    if (status != STATUS_OK) unit_db_exec(t, "ROLLBACK TO cmd");
    unit_db_exec(t, "RELEASE cmd");
    assert_int_equal(db_commit(&t->db), STATUS_OK);
}

/* A CNY product of the given price and face value ("high" liquidity). */
static inline void unit_db_product(struct unit_db *t, const char *sku, int64_t price, int64_t face,
                                   int64_t now_s, int64_t *id) {
    struct store_product product;
    memset(&product, 0, sizeof product);
    snprintf(product.sku, sizeof product.sku, "%s", sku);
    snprintf(product.name, sizeof product.name, "Test card %s", sku);
    snprintf(product.currency, sizeof product.currency, "CNY");
    snprintf(product.liquidity, sizeof product.liquidity, "high");
    product.price = price;
    product.face_value = face;
    assert_int_equal(store_product_create(&t->db, &product, now_s, id), STATUS_OK);
}

/* The cmocka teardown of a fixture whose first member is its struct unit_db (each test file
 * asserts that with UNIT_DB_FIXTURE): closes the database and frees the fixture. */
static inline int unit_db_teardown(void **state) {
    struct unit_db *t = *state;
    unit_db_close(t);
    free(*state);
    return 0;
}
#define UNIT_DB_FIXTURE(type)                                                                      \
    _Static_assert(offsetof(type, t) == 0, "the fixture starts with its struct unit_db")

/* Inside an open command: the platform accounts and admin (store_setup), a product of
 * price (its face value too) and the buyer "payer". */
static inline void unit_db_shop(struct unit_db *t, const char *sku, int64_t price, int64_t now_s,
                                int64_t *product_id, int64_t *buyer_id) {
    assert_int_equal(store_setup(&t->db, &t->vault, "not-a-real-hash", false, now_s), STATUS_OK);
    unit_db_product(t, sku, price, price, now_s, product_id);
    assert_int_equal(store_user_create(&t->db, "payer", "h", ROLE_BUYER, now_s, buyer_id),
                     STATUS_OK);
}

/* A shop fixture's start: a new database, a command begun, and in it the shop of
 * unit_db_shop; the fixture adds its own rows and ends the command (unit_db_end). */
static inline void unit_db_open_shop(struct unit_db *t, const char *sku, int64_t price,
                                     int64_t now_s, int64_t *product_id, int64_t *buyer_id) {
    unit_db_open(t);
    unit_db_begin(t);
    unit_db_shop(t, sku, price, now_s, product_id, buyer_id);
}

/* The fixture of tests that need no more than the shop: its database, product and buyer. */
struct unit_shop {
    struct unit_db t;
    int64_t product, buyer;
};
UNIT_DB_FIXTURE(struct unit_shop);

/* A new unit_shop, opened by unit_db_open_shop (its command still open); freed by
 * unit_db_teardown. */
static inline struct unit_shop *unit_shop_open(const char *sku, int64_t price, int64_t now_s) {
    struct unit_shop *f = calloc(1, sizeof *f);
    assert_non_null(f);
    unit_db_open_shop(&f->t, sku, price, now_s, &f->product, &f->buyer);
    return f;
}

/* Imports codes "<prefix>-1" … "<prefix>-count" (expiring at expires_at, 0: never). */
static inline struct store_import_result unit_db_codes(struct unit_db *t, int64_t product_id,
                                                       const char *prefix, int count,
                                                       int64_t expires_at, int64_t now_s) {
    struct import_batch batch;
    import_batch_init(&batch);
    for (int i = 1; i <= count; i++) {
        struct import_code code = {.expires_at = expires_at};
        code.code_len = (size_t)snprintf(code.code, sizeof code.code, "%s-%d", prefix, i);
        import_batch_add(&batch, &code);
    }
    struct store_import_result result = {0, 0};
    unit_db_begin(t);
    enum status status = store_codes_insert(&t->db, &t->vault, product_id, &batch, now_s, &result);
    unit_db_end(t, status);
    assert_int_equal(status, STATUS_OK);
    import_batch_free(&batch);
    return result;
}

/* The product's stock: count codes "<prefix>-N" that never expire, every one imported. */
static inline void unit_db_stock(struct unit_db *t, int64_t product_id, const char *prefix,
                                 int count, int64_t now_s) {
    assert_int_equal(unit_db_codes(t, product_id, prefix, count, 0, now_s).imported, count);
}

/* Whether every invariant of store_check holds. */
static inline bool unit_db_check_ok(struct unit_db *t) {
    struct buf out;
    buf_init(&out, 1 << 20);
    bool ok = false;
    assert_int_equal(store_check(&t->db, &out, &ok), STATUS_OK);
    if (!ok) fprintf(stderr, "%s\n", out.data ? out.data : "");
    buf_free(&out);
    return ok;
}

#endif
