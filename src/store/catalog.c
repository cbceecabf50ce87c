/* catalog.c — products and sealed card-code inventory. Plaintext codes pass through here
 * only on their way into vault_code_seal; they are never bound to SQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/code_rows.h"
#include "store/store.h"

enum status store_product_create(struct db *db, const struct store_product *product, int64_t now_s,
                                 int64_t *id_out) {
    verify(db != 0 && product != 0 && id_out != 0);
    verify(money_amount_valid(product->price) && money_amount_valid(product->face_value));
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO products(sku, name, face_value, price, currency, liquidity, created_at) "
            "VALUES(?,?,?,?,?,?,?)");
    db_bind_text(stmt, 1, product->sku);
    db_bind_text(stmt, 2, product->name);
    sqlite3_bind_int64(stmt, 3, product->face_value);
    sqlite3_bind_int64(stmt, 4, product->price);
    db_bind_text(stmt, 5, product->currency);
    db_bind_text(stmt, 6, product->liquidity);
    sqlite3_bind_int64(stmt, 7, now_s);
    enum status status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    *id_out = sqlite3_last_insert_rowid(db->handle);
    store_cache_forget_product(db, product->sku);
    return STATUS_OK;
}

static void store_product_row(sqlite3_stmt *stmt, struct store_product *product) {
    product->id = sqlite3_column_int64(stmt, 0);
    (void)text_copy(product->sku, sizeof product->sku, db_text(stmt, 1));
    (void)text_copy(product->name, sizeof product->name, db_text(stmt, 2));
    product->face_value = sqlite3_column_int64(stmt, 3);
    product->price = sqlite3_column_int64(stmt, 4);
    (void)text_copy(product->currency, sizeof product->currency, db_text(stmt, 5));
    (void)text_copy(product->liquidity, sizeof product->liquidity, db_text(stmt, 6));
    product->stock = sqlite3_column_int64(stmt, 7);
}

enum status store_product_by_sku(struct db *db, const char *sku, struct store_product *product) {
    verify(db != 0 && sku != 0 && product != 0);
    enum status flushed = store_cache_flush(db); /* stock as this transaction left it */
    if (flushed != STATUS_OK) return flushed;
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id, sku, name, face_value, price, currency, "
                                        "liquidity, stock FROM products WHERE sku = ?");
    db_bind_text(stmt, 1, sku);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_SKU;
    if (status != STATUS_OK) return status;
    store_product_row(stmt, product);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_product_each(struct db *db, store_product_fn fn, void *context) {
    verify(db != 0 && fn != 0);
    enum status flushed = store_cache_flush(db);
    if (flushed != STATUS_OK) return flushed;
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id, sku, name, face_value, price, currency, "
                                        "liquidity, stock FROM products ORDER BY sku");
    enum status status = STATUS_OK;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_product product;
        store_product_row(stmt, &product);
        status = fn(context, &product);
        if (status != STATUS_OK) break;
    }
    if (status == STATUS_OK && rc != SQLITE_DONE) status = STATUS_DB;
    sqlite3_reset(stmt);
    return status;
}

/* Codes are inserted in hash order: the UNIQUE(hash) index is the one random-order index,
 * and sorted keys touch its pages in sequence instead of all over. Duplicates, inside the
 * batch or of stored codes, are skipped by the INSERT's ON CONFLICT. Row i of the sorted
 * batch gets the id base_id + i (a duplicate leaves a gap), so the sealing — the costly,
 * database-free part — can run ahead on another thread (see cli/import.c). */
static int catalog_row_compare(const void *a, const void *b) {
    return memcmp(((const struct store_code_row *)a)->hash,
                  ((const struct store_code_row *)b)->hash, VAULT_CODE_HASH_BYTES);
}

void store_code_rows_free(struct store_code_rows *rows) {
    verify(rows != 0);
    free(rows->rows);
    free(rows->sealed);
    memset(rows, 0, sizeof *rows);
}

void store_codes_prepare(const struct vault *vault, const struct import_batch *batch,
                         int64_t base_id, struct store_code_rows *rows) {
    verify(vault != 0 && batch != 0 && rows != 0);
    verify(base_id > 0 && batch->count >= 0);
    if (rows->capacity < batch->count) {
        free(rows->rows);
        rows->rows = mem_alloc((size_t)batch->count * sizeof rows->rows[0]);
        rows->capacity = batch->count;
    }
    size_t sealed_len = batch->bytes_len + (size_t)batch->count * VAULT_SEAL_OVERHEAD;
    if (rows->sealed_cap < sealed_len) {
        free(rows->sealed);
        rows->sealed = mem_alloc(sealed_len ? sealed_len : 1);
        rows->sealed_cap = sealed_len;
    }
    rows->count = batch->count;
    rows->base_id = base_id;
    for (int i = 0; i < batch->count; i++) {
        const struct import_item *code = &batch->items[i];
        vault_code_hash(vault, batch->bytes + code->offset, code->len, rows->rows[i].hash);
        rows->rows[i].item = i;
    }
    qsort(rows->rows, (size_t)rows->count, sizeof rows->rows[0], catalog_row_compare);
    size_t offset = 0;
    for (int i = 0; i < rows->count; i++) {
        const struct import_item *code = &batch->items[rows->rows[i].item];
        verify(code->len > 0 && code->len <= LIMIT_CODE_BYTES);
        rows->rows[i].sealed_offset = offset;
        vault_code_seal(vault, base_id + i, batch->bytes + code->offset, code->len,
                        rows->sealed + offset);
        offset += code->len + VAULT_SEAL_OVERHEAD;
    }
    verify(offset == sealed_len);
}

enum status store_codes_next_id(struct db *db, int64_t *id_out) {
    verify(db != 0 && id_out != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(max(id), 0) FROM codes");
    if (db_step_row(db, stmt) != STATUS_OK) return STATUS_DB;
    *id_out = sqlite3_column_int64(stmt, 0) + 1;
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_codes_write(struct db *db, const struct vault *vault, int64_t product_id,
                              const struct import_batch *batch, struct store_code_rows *rows,
                              int64_t now_s, struct store_import_result *result) {
    verify(db != 0 && vault != 0 && batch != 0 && rows != 0 && result != 0);
    verify(product_id > 0 && rows->count == batch->count);
    if (batch->count == 0) return STATUS_OK;
    int64_t next_id = 0;
    enum status status = store_codes_next_id(db, &next_id);
    if (status != STATUS_OK) return status;
    /* Another writer took ids past the ones this batch was sealed for: seal again. */
    if (next_id > rows->base_id) store_codes_prepare(vault, batch, next_id, rows);
    /* One statement per LIMIT_IMPORT_STATEMENT_ROWS rows (store/code_rows.c). OR FAIL: a
     * broken row fails the statement and the caller rolls back its transaction. "WHERE
     * true" keeps SQLite from reading ON CONFLICT as the SELECT's join constraint. */
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT OR FAIL INTO codes(id, product_id, hash, sealed, expires_at, imported_at) "
            "SELECT id, ?2, hash, sealed, expires_at, ?3 FROM code_rows(?1) WHERE true "
            "ON CONFLICT(hash) DO NOTHING");
    int64_t imported = 0;
    for (int first = 0; status == STATUS_OK && first < rows->count;
         first += LIMIT_IMPORT_STATEMENT_ROWS) {
        struct store_code_batch slice = {.codes = batch,
                                         .rows = rows,
                                         .first = first,
                                         .end = first + LIMIT_IMPORT_STATEMENT_ROWS};
        if (slice.end > rows->count) slice.end = rows->count;
        store_code_rows_bind(stmt, 1, &slice);
        sqlite3_bind_int64(stmt, 2, product_id);
        sqlite3_bind_int64(stmt, 3, now_s);
        status = db_step_done(db, stmt);
        sqlite3_clear_bindings(stmt); /* the cached statement keeps no pointer to the slice */
        if (status == STATUS_OK) imported += sqlite3_changes64(db->handle);
    }
    if (status != STATUS_OK) return status;
    verify(imported >= 0 && imported <= rows->count);
    result->imported += imported;
    result->duplicates += rows->count - imported;
    if (imported == 0) return STATUS_OK;
    stmt = db_prepare(db, "UPDATE products SET stock = stock + ? WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, imported);
    sqlite3_bind_int64(stmt, 2, product_id);
    status = db_step_done(db, stmt);
    verify(status != STATUS_OK || sqlite3_changes(db->handle) == 1);
    return status;
}

enum status store_codes_insert(struct db *db, const struct vault *vault, int64_t product_id,
                               const struct import_batch *batch, int64_t now_s,
                               struct store_import_result *result) {
    verify(db != 0 && vault != 0 && batch != 0 && result != 0);
    int64_t next_id = 0;
    enum status status = store_codes_next_id(db, &next_id);
    if (status != STATUS_OK || batch->count == 0) return status;
    struct store_code_rows rows;
    memset(&rows, 0, sizeof rows);
    store_codes_prepare(vault, batch, next_id, &rows);
    status = store_codes_write(db, vault, product_id, batch, &rows, now_s, result);
    store_code_rows_free(&rows);
    return status;
}

enum status store_codes_expire(struct db *db, int64_t now_s, int limit, int64_t *expired_out) {
    verify(db != 0 && expired_out != 0);
    verify(limit > 0);
    *expired_out = 0;
    sqlite3_stmt *pick = db_prepare(db, "SELECT id, product_id FROM codes WHERE state = 0 AND "
                                        "expires_at IS NOT NULL AND expires_at <= ? LIMIT ?");
    sqlite3_bind_int64(pick, 1, now_s);
    sqlite3_bind_int(pick, 2, limit);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(pick)) == SQLITE_ROW) {
        int64_t code_id = sqlite3_column_int64(pick, 0), product_id = sqlite3_column_int64(pick, 1);
        sqlite3_stmt *retire =
            db_prepare(db, "UPDATE codes SET state = 2 WHERE id = ? AND state = 0");
        sqlite3_bind_int64(retire, 1, code_id);
        status = db_step_done(db, retire);
        if (status != STATUS_OK) break;
        verify(sqlite3_changes(db->handle) == 1);
        sqlite3_stmt *stock = db_prepare(db, "UPDATE products SET stock = stock - 1 WHERE id = ?");
        sqlite3_bind_int64(stock, 1, product_id);
        status = db_step_done(db, stock);
        (*expired_out)++;
    }
    sqlite3_reset(pick);
    if (status == STATUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STATUS_DB;
    return status;
}
