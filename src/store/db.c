/* db.c — SQLite connections: pragmas, migrations, statement cache, transaction helpers.
 * Errors are logged with SQLite's message (which never holds bound values). */
#include "store/db.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "store/code_rows.h"
#include "store/migrations.h"
#include "store/wal_vfs.h"

_Static_assert((DB_STMT_SLOTS & (DB_STMT_SLOTS - 1)) == 0, "slots must be a power of two");

enum status db_global_init(void) {
    if (sqlite3_config(SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK ||
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK ||
        sqlite3_initialize() != SQLITE_OK || wal_vfs_register() != SQLITE_OK) {
        return STATUS_DB;
    }
    return STATUS_OK;
}

enum status db_open(struct db *db, const char *path, bool readonly, bool create) {
    verify(db != 0 && path != 0);
    memset(db, 0, sizeof *db);
    db->readonly = readonly;
    int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (create) flags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db->handle, flags, 0) != SQLITE_OK) {
        log_error("db: cannot open %s: %s", path,
                  db->handle ? sqlite3_errmsg(db->handle) : "out of memory");
        sqlite3_close(db->handle);
        db->handle = 0;
        return STATUS_DB;
    }
    sqlite3_busy_timeout(db->handle, LIMIT_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->handle, 1);
    enum status status = STATUS_OK;
    if (!readonly) status = db_exec(db, "PRAGMA journal_mode=WAL");
    if (status == STATUS_OK) status = db_exec(db, "PRAGMA synchronous=FULL");
    if (status == STATUS_OK) status = db_exec(db, "PRAGMA foreign_keys=ON");
    if (status == STATUS_OK) status = db_exec(db, "PRAGMA cache_size=-16384");
    /* Savepoint sub-journals and sorts stay in memory: the writer opens a savepoint per
     * command, and a temp file there costs ~25 pwrite() calls per order. */
    if (status == STATUS_OK) status = db_exec(db, "PRAGMA temp_store=MEMORY");
    if (status == STATUS_OK && !readonly) status = store_code_rows_register(db->handle);
    if (status != STATUS_OK) db_close(db);
    return status;
}

void db_fold_wal(const char *path) {
    verify(path != 0);
    struct db db;
    if (db_open(&db, path, false, false) != STATUS_OK) return; /* logged; the WAL stays, intact */
    db_close(&db);
}

void db_close(struct db *db) {
    verify(db != 0);
    for (int i = 0; i < DB_STMT_SLOTS; i++) {
        if (db->slots[i].stmt != 0) sqlite3_finalize(db->slots[i].stmt);
        db->slots[i].stmt = 0;
        db->slots[i].sql = 0;
    }
    if (db->handle != 0) {
        if (sqlite3_close(db->handle) != SQLITE_OK) log_error("db: close failed");
    }
    db->handle = 0;
}

enum status db_exec(struct db *db, const char *sql) {
    verify(db != 0 && db->handle != 0 && sql != 0);
    char *error = 0;
    if (sqlite3_exec(db->handle, sql, 0, 0, &error) != SQLITE_OK) {
        log_error("db: %s", error ? error : sqlite3_errmsg(db->handle));
        sqlite3_free(error);
        return STATUS_DB;
    }
    return STATUS_OK;
}

/* Applies migration index (0-based) in its own transaction. */
static enum status db_migrate_one(struct db *db, int index) {
    if (db_begin_immediate(db) != STATUS_OK) return STATUS_DB;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", index + 1);
    enum status status = db_exec(db, migrations[index].sql);
    if (status == STATUS_OK) {
        sqlite3_stmt *check = 0;
        if (sqlite3_prepare_v2(db->handle, "PRAGMA foreign_key_check", -1, &check, 0) !=
            SQLITE_OK) {
            status = STATUS_DB;
        } else {
            int rc = sqlite3_step(check);
            if (rc == SQLITE_ROW)
                log_error("db: migration %s breaks a foreign key", migrations[index].name);
            if (rc != SQLITE_DONE) status = STATUS_DB;
            sqlite3_finalize(check);
        }
    }
    if (status == STATUS_OK) status = db_exec(db, pragma);
    if (status != STATUS_OK) {
        db_rollback(db);
        log_error("db: migration %s failed", migrations[index].name);
        return STATUS_DB;
    }
    if (db_commit(db) != STATUS_OK) return STATUS_DB;
    log_info("db: applied migration %s", migrations[index].name);
    return STATUS_OK;
}

enum status db_schema_versions(struct db *db, int *applied, int *known) {
    verify(db != 0 && applied != 0 && known != 0);
    sqlite3_stmt *stmt = db_prepare(db, "PRAGMA user_version");
    if (db_step_row(db, stmt) != STATUS_OK) return STATUS_DB;
    *applied = sqlite3_column_int(stmt, 0);
    sqlite3_reset(stmt);
    *known = migrations_count;
    return STATUS_OK;
}

enum status db_migrate(struct db *db) {
    verify(db != 0 && !db->readonly);
    int applied = 0, known = 0;
    if (db_schema_versions(db, &applied, &known) != STATUS_OK) return STATUS_DB;
    verify(applied >= 0);
    if (applied > known) {
        log_error("db: the database is at schema version %d; this binary knows %d", applied, known);
        return STATUS_DB;
    }
    /* Foreign keys are off while migrations run, so a migration may rebuild a table that
     * others reference (SQLite's table-rebuild procedure); foreign_key_check must then find
     * nothing before the migration commits. The pragma is a no-op inside a transaction. */
    if (applied < known && db_exec(db, "PRAGMA foreign_keys=OFF") != STATUS_OK) {
        return STATUS_DB;
    }
    enum status status = STATUS_OK;
    for (int i = applied; status == STATUS_OK && i < known; i++) {
        status = db_migrate_one(db, i);
    }
    if (applied < known && db_exec(db, "PRAGMA foreign_keys=ON") != STATUS_OK) {
        return STATUS_DB;
    }
    return status;
}

sqlite3_stmt *db_prepare(struct db *db, const char *sql) {
    verify(db != 0 && db->handle != 0 && sql != 0);
    uintptr_t hash = ((uintptr_t)sql >> 3) * 0x9E3779B97F4A7C15u;
    for (unsigned probe = 0; probe < DB_STMT_SLOTS; probe++) {
        struct db_stmt_slot *slot = &db->slots[(hash + probe) & (DB_STMT_SLOTS - 1)];
        if (slot->sql == sql) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
        if (slot->sql == 0) {
            if (sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt,
                                   0) != SQLITE_OK) {
                log_error("db: prepare failed: %s", sqlite3_errmsg(db->handle));
                assert_fail("a statement in src/store failed to prepare", __FILE__, __LINE__);
            }
            slot->sql = sql;
            return slot->stmt;
        }
    }
    assert_fail("DB_STMT_SLOTS is too small", __FILE__, __LINE__);
    return 0;
}

enum status db_step_done(struct db *db, sqlite3_stmt *stmt) {
    verify(db != 0 && stmt != 0);
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return STATUS_OK;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return STATUS_EXISTS;
    log_error("db: step failed: %s", sqlite3_errmsg(db->handle));
    return STATUS_DB;
}

enum status db_step_row(struct db *db, sqlite3_stmt *stmt) {
    verify(db != 0 && stmt != 0);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) return STATUS_OK;
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return STATUS_NOT_FOUND;
    log_error("db: step failed: %s", sqlite3_errmsg(db->handle));
    return STATUS_DB;
}

enum status db_begin_immediate(struct db *db) { return db_exec(db, "BEGIN IMMEDIATE"); }
enum status db_begin_read(struct db *db) { return db_exec(db, "BEGIN"); }
enum status db_commit(struct db *db) { return db_exec(db, "COMMIT"); }

void db_rollback(struct db *db) {
    verify(db != 0);
    if (!sqlite3_get_autocommit(db->handle) && db_exec(db, "ROLLBACK") != STATUS_OK) {
        log_error("db: rollback failed");
    }
}

const char *db_text(sqlite3_stmt *stmt, int column) {
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return text ? (const char *)text : "";
}

void db_bind_text(sqlite3_stmt *stmt, int index, const char *text) {
    verify(stmt != 0 && text != 0);
    verify(sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC) == SQLITE_OK);
}
