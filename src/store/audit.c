/* audit.c — the append-only, hash-chained audit log. Each entry's hash covers the previous
 * entry's hash, so rewriting or deleting any entry breaks every later link (store/check.c
 * verifies the chain). Details hold ids and amounts, never codes or personal data. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

enum status store_audit_append(struct db *db, int64_t actor_id, const char *action,
                               const char *object, const char *detail, int64_t now_s) {
    verify(db != 0 && action != 0 && object != 0 && detail != 0);
    verify(actor_id >= 0);
    unsigned char prev[VAULT_AUDIT_HASH_BYTES] = {0};
    int64_t id = 0;
    sqlite3_stmt *stmt = 0;
    if (!store_cache_audit_head(db, &id, prev)) {
        stmt = db_prepare(db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
        enum status status = db_step_row(db, stmt);
        if (status == STATUS_OK) {
            id = sqlite3_column_int64(stmt, 0);
            verify(sqlite3_column_bytes(stmt, 1) == VAULT_AUDIT_HASH_BYTES);
            memcpy(prev, sqlite3_column_blob(stmt, 1), VAULT_AUDIT_HASH_BYTES);
            sqlite3_reset(stmt);
        } else if (status != STATUS_NOT_FOUND) {
            return status;
        }
    }
    id++;
    unsigned char hash[VAULT_AUDIT_HASH_BYTES];
    vault_audit_hash(prev, id, now_s, actor_id, action, object, detail, hash);
    stmt = db_prepare(db, "INSERT INTO audit(id, at, actor_id, action, object, detail, "
                          "prev_hash, hash) VALUES(?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now_s);
    sqlite3_bind_int64(stmt, 3, actor_id);
    db_bind_text(stmt, 4, action);
    db_bind_text(stmt, 5, object);
    db_bind_text(stmt, 6, detail);
    sqlite3_bind_blob(stmt, 7, prev, sizeof prev, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 8, hash, sizeof hash, SQLITE_STATIC);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK) store_cache_audit_wrote(db, id, hash);
    return status;
}

enum status store_audit_of(struct db *db, int64_t actor_id, const char *action, const char *kind,
                           int64_t id, const char *detail, int64_t now_s) {
    verify(kind != 0);
    char object[LIMIT_RISK_NAME_BYTES + 32];
    size_t at = text_put(object, sizeof object, 0, kind);
    at = text_put(object, sizeof object, at, ":");
    (void)text_put_int64(object, sizeof object, at, id);
    return store_audit_append(db, actor_id, action, object, detail, now_s);
}
