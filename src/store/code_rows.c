/* code_rows.c — the eponymous virtual table `code_rows(batch)`: a prepared import batch
 * (store_code_rows, sorted by hash, sealed) read as rows, so a whole chunk of codes goes
 * into `codes` through one INSERT … SELECT instead of one INSERT per code.
 *
 * One statement keeps its b-tree cursors open across rows: the table's rowids and the
 * codes_free index grow at their ends (SQLite's last-page fast path applies), the hash
 * index is entered in key order, and the per-statement start, halt and cursor set-up are
 * paid once per chunk instead of once per code (callgrind: the import's database thread
 * ran ~19k instructions per code with one INSERT each).
 *
 * A statement reads a slice of LIMIT_IMPORT_STATEMENT_ROWS rows, not the whole chunk: a
 * multi-row INSERT with immediate foreign keys keeps a statement journal (the original of
 * every page it changes, in memory with temp_store=MEMORY), and a slice bounds it to a few
 * hundred pages instead of most of the hash index (+26 MB peak RSS for a 100,000-code
 * statement).
 *
 * The batch is passed with sqlite3_bind_pointer under the type name CODE_ROWS_POINTER, so
 * SQL text can never forge one. Every row of the slice is read; the statement's ON
 * CONFLICT(hash) DO NOTHING skips a duplicate, of a stored code or of one earlier in the
 * same batch alike. */
#include "store/code_rows.h"

#include <string.h>

#include "base/assert.h"
#include "store/store.h"

#define CODE_ROWS_POINTER "tessera_code_rows"

enum code_rows_column {
    CODE_ROWS_ID,
    CODE_ROWS_HASH,
    CODE_ROWS_SEALED,
    CODE_ROWS_EXPIRES_AT,
    CODE_ROWS_BATCH, /* hidden: the argument */
};

struct code_rows_cursor {
    sqlite3_vtab_cursor base;
    const struct store_code_batch *batch;
    int index;
};

static int code_rows_connect(sqlite3 *handle, void *aux, int argc, const char *const *argv,
                             sqlite3_vtab **out, char **error) {
    (void)aux, (void)argc, (void)argv, (void)error;
    int rc = sqlite3_declare_vtab(
        handle, "CREATE TABLE x(id INTEGER, hash BLOB, sealed BLOB, expires_at INTEGER, "
                "batch HIDDEN)");
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab *vtab = sqlite3_malloc(sizeof *vtab);
    if (vtab == 0) return SQLITE_NOMEM;
    memset(vtab, 0, sizeof *vtab);
    *out = vtab;
    return SQLITE_OK;
}

static int code_rows_disconnect(sqlite3_vtab *vtab) {
    sqlite3_free(vtab);
    return SQLITE_OK;
}

/* The only plan: the batch argument given, nothing else filtered here. */
static int code_rows_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
    (void)vtab;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn != CODE_ROWS_BATCH || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        if (!c->usable) return SQLITE_CONSTRAINT;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->estimatedCost = 1.0;
        info->idxNum = 1;
        return SQLITE_OK;
    }
    return SQLITE_CONSTRAINT; /* code_rows without its batch is not a table */
}

static int code_rows_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
    (void)vtab;
    struct code_rows_cursor *cursor = sqlite3_malloc(sizeof *cursor);
    if (cursor == 0) return SQLITE_NOMEM;
    memset(cursor, 0, sizeof *cursor);
    *out = &cursor->base;
    return SQLITE_OK;
}

static int code_rows_close(sqlite3_vtab_cursor *base) {
    sqlite3_free(base);
    return SQLITE_OK;
}

static int code_rows_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str, int argc,
                            sqlite3_value **argv) {
    (void)idx_str;
    struct code_rows_cursor *cursor = (struct code_rows_cursor *)base;
    verify(idx_num == 1 && argc == 1);
    cursor->batch = sqlite3_value_pointer(argv[0], CODE_ROWS_POINTER);
    if (cursor->batch == 0) return SQLITE_MISUSE; /* bound as anything but a batch */
    cursor->index = cursor->batch->first;
    return SQLITE_OK;
}

static int code_rows_next(sqlite3_vtab_cursor *base) {
    ((struct code_rows_cursor *)base)->index++;
    return SQLITE_OK;
}

static int code_rows_eof(sqlite3_vtab_cursor *base) {
    const struct code_rows_cursor *cursor = (const struct code_rows_cursor *)base;
    return cursor->index >= cursor->batch->end;
}

static int code_rows_column(sqlite3_vtab_cursor *base, sqlite3_context *context, int column) {
    const struct code_rows_cursor *cursor = (const struct code_rows_cursor *)base;
    const struct store_code_batch *batch = cursor->batch;
    const struct store_code_row *row = &batch->rows->rows[cursor->index];
    const struct import_item *code = &batch->codes->items[row->item];
    switch (column) {
    case CODE_ROWS_ID:
        sqlite3_result_int64(context, batch->rows->base_id + cursor->index);
        break;
    case CODE_ROWS_HASH:
        sqlite3_result_blob(context, row->hash, VAULT_CODE_HASH_BYTES, SQLITE_STATIC);
        break;
    case CODE_ROWS_SEALED:
        sqlite3_result_blob(context, batch->rows->sealed + row->sealed_offset,
                            (int)(code->len + VAULT_SEAL_OVERHEAD), SQLITE_STATIC);
        break;
    case CODE_ROWS_EXPIRES_AT:
        if (code->expires_at > 0) {
            sqlite3_result_int64(context, code->expires_at);
        } else {
            sqlite3_result_null(context);
        }
        break;
    default:
        sqlite3_result_null(context); /* the hidden argument reads as NULL */
        break;
    }
    return SQLITE_OK;
}

static int code_rows_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
    const struct code_rows_cursor *cursor = (const struct code_rows_cursor *)base;
    *rowid = cursor->index;
    return SQLITE_OK;
}

static const sqlite3_module code_rows_module = {
    .iVersion = 0,
    .xCreate = 0, /* eponymous only: `code_rows` exists without CREATE VIRTUAL TABLE */
    .xConnect = code_rows_connect,
    .xBestIndex = code_rows_best_index,
    .xDisconnect = code_rows_disconnect,
    .xDestroy = code_rows_disconnect,
    .xOpen = code_rows_open,
    .xClose = code_rows_close,
    .xFilter = code_rows_filter,
    .xNext = code_rows_next,
    .xEof = code_rows_eof,
    .xColumn = code_rows_column,
    .xRowid = code_rows_rowid,
};

enum status store_code_rows_register(sqlite3 *handle) {
    verify(handle != 0);
    return sqlite3_create_module_v2(handle, "code_rows", &code_rows_module, 0, 0) == SQLITE_OK
               ? STATUS_OK
               : STATUS_DB;
}

void store_code_rows_bind(sqlite3_stmt *stmt, int index, const struct store_code_batch *batch) {
    verify(stmt != 0 && batch != 0 && batch->rows != 0 && batch->codes != 0);
    verify(0 <= batch->first && batch->first <= batch->end && batch->end <= batch->rows->count);
    verify(sqlite3_bind_pointer(stmt, index, (void *)batch, CODE_ROWS_POINTER, 0) == SQLITE_OK);
}
