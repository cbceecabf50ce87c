/* code_rows.h — the virtual table `code_rows(?)`: a prepared import batch read as rows by
 * one INSERT … SELECT (store/code_rows.c). Store-internal. */
#ifndef TESSERA_STORE_CODE_ROWS_H
#define TESSERA_STORE_CODE_ROWS_H

#include <sqlite3.h>

#include "base/status.h"

struct import_batch;
struct store_code_rows;

/* What `code_rows(?)` reads: rows [first, end) of the prepared rows (sorted by hash, sealed)
 * and the codes they came from (expiry, length). Must outlive the statement's steps. */
struct store_code_batch {
    const struct import_batch *codes;
    const struct store_code_rows *rows;
    int first, end;
};

/* Makes `code_rows` known to a connection; db_open does it for every writable one. */
must_check enum status store_code_rows_register(sqlite3 *handle);
/* Binds batch to parameter index of a statement reading `code_rows(?)`. */
void store_code_rows_bind(sqlite3_stmt *stmt, int index, const struct store_code_batch *batch);

#endif
