/* db.h — one SQLite connection with the pragmas Tessera needs and a cache of prepared
 * statements keyed by their (static) SQL text. Only src/store/ includes sqlite3.h. */
#ifndef TESSERA_STORE_DB_H
#define TESSERA_STORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

#define DB_STMT_SLOTS 128 /* power of two; more distinct statements than this is a bug */

struct db_stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct store_cache;       /* store/cache.c: the writer connection's cache of hot rows */
struct store_idempotency; /* store/idempotency.c: the writer's index of recent keys */

struct db {
    sqlite3 *handle;
    bool readonly;
    struct db_stmt_slot slots[DB_STMT_SLOTS];
    struct store_cache *cache;             /* NULL except on the writer's connection */
    struct store_idempotency *idempotency; /* the same (store/idempotency.c) */
};

/* Process-wide SQLite set-up; call once before any connection opens. Connections are
 * never shared between threads here, so SQLite's own mutexes and memory statistics
 * (a global lock per allocation) are switched off. */
must_check enum status db_global_init(void);

/* Opens PATH (which must exist unless create) in WAL mode, synchronous=FULL, foreign keys
 * on, busy timeout LIMIT_BUSY_TIMEOUT_MS. */
must_check enum status db_open(struct db *db, const char *path, bool readonly, bool create);
/* Opens and closes a read-write connection to path. When it is the last one, SQLite's close
 * checkpoints the whole WAL into the database and deletes the WAL and its index, so a store
 * shut down cleanly is one file (and its key); with another connection still open (an
 * import), nothing happens. Read-only connections closing last cannot do it. */
void db_fold_wal(const char *path);
void db_close(struct db *db);
/* Applies every embedded migration not yet recorded in PRAGMA user_version. */
must_check enum status db_migrate(struct db *db);
/* The database's schema version (migrations applied) and this binary's; a read-only tool
 * on an older database says so instead of running queries it does not know. */
must_check enum status db_schema_versions(struct db *db, int *applied, int *known);
must_check enum status db_exec(struct db *db, const char *sql);

/* Returns the cached statement for sql (a string literal), reset and unbound. */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);
/* Steps a statement expected to finish (INSERT/UPDATE): STATUS_OK, STATUS_EXISTS on a
 * UNIQUE violation, STATUS_DB otherwise. */
must_check enum status db_step_done(struct db *db, sqlite3_stmt *stmt);
/* Steps a statement expected to return one row: STATUS_OK with the row ready,
 * STATUS_NOT_FOUND when there is none. */
must_check enum status db_step_row(struct db *db, sqlite3_stmt *stmt);

must_check enum status db_begin_immediate(struct db *db);
must_check enum status db_begin_read(struct db *db);
must_check enum status db_commit(struct db *db);
void db_rollback(struct db *db);

/* Text column as a C string ("" for NULL). */
const char *db_text(sqlite3_stmt *stmt, int column);
void db_bind_text(sqlite3_stmt *stmt, int index, const char *text);

#endif
