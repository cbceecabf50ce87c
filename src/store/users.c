/* users.c — users, their wallets, and bearer-token sessions (stored as token hashes). */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

enum status store_user_create(struct db *db, const char *username, const char *password_hash,
                              enum role role, int64_t now_s, int64_t *id_out) {
    verify(db != 0 && username != 0 && password_hash != 0 && id_out != 0);
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO users(username, password_hash, role, created_at) VALUES(?,?,?,?)");
    db_bind_text(stmt, 1, username);
    db_bind_text(stmt, 2, password_hash);
    db_bind_text(stmt, 3, role_name(role));
    sqlite3_bind_int64(stmt, 4, now_s);
    enum status status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    *id_out = sqlite3_last_insert_rowid(db->handle);
    if (role == ROLE_BUYER) {
        int64_t wallet = 0;
        status = store_account_id(db, LEDGER_BUYER_WALLET, *id_out, "CNY", true, &wallet);
    }
    return status;
}

enum status store_user_by_name(struct db *db, const char *username, struct store_user *user,
                               char hash_out[VAULT_PASSWORD_HASH_BYTES]) {
    verify(db != 0 && username != 0 && user != 0 && hash_out != 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT id, role, password_hash FROM users WHERE username = ?");
    db_bind_text(stmt, 1, username);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    user->id = sqlite3_column_int64(stmt, 0);
    verify(role_parse(db_text(stmt, 1), &user->role));
    (void)text_copy(user->username, sizeof user->username, username);
    snprintf(hash_out, VAULT_PASSWORD_HASH_BYTES, "%s", db_text(stmt, 2));
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_user_by_id(struct db *db, int64_t id, struct store_user *user) {
    verify(db != 0 && id > 0 && user != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT username, role FROM users WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, id);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    user->id = id;
    (void)text_copy(user->username, sizeof user->username, db_text(stmt, 0));
    verify(role_parse(db_text(stmt, 1), &user->role));
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_session_create(struct db *db, const unsigned char hash[VAULT_TOKEN_HASH_BYTES],
                                 int64_t user_id, int64_t expires_at_s) {
    verify(db != 0 && hash != 0 && user_id > 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "INSERT INTO sessions(token_hash, user_id, expires_at) VALUES(?,?,?)");
    sqlite3_bind_blob(stmt, 1, hash, VAULT_TOKEN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, user_id);
    sqlite3_bind_int64(stmt, 3, expires_at_s);
    return db_step_done(db, stmt);
}

enum status store_session_user(struct db *db, const unsigned char hash[VAULT_TOKEN_HASH_BYTES],
                               int64_t now_s, struct store_user *user) {
    verify(db != 0 && hash != 0 && user != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT u.id, u.username, u.role FROM sessions s "
                                        "JOIN users u ON u.id = s.user_id "
                                        "WHERE s.token_hash = ? AND s.expires_at > ?");
    sqlite3_bind_blob(stmt, 1, hash, VAULT_TOKEN_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_s);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNAUTHORIZED;
    if (status != STATUS_OK) return status;
    user->id = sqlite3_column_int64(stmt, 0);
    (void)text_copy(user->username, sizeof user->username, db_text(stmt, 1));
    verify(role_parse(db_text(stmt, 2), &user->role));
    sqlite3_reset(stmt);
    return STATUS_OK;
}
