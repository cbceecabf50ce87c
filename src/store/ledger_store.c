/* ledger_store.c — persisting balanced transfers. Every posting updates its account's
 * cached balance in the same transaction; non-negative accounts are checked here. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "store/store.h"

enum status store_account_id(struct db *db, enum ledger_kind kind, int64_t owner_id,
                             const char *currency, bool create, int64_t *id_out) {
    verify(db != 0 && currency != 0 && id_out != 0);
    verify(owner_id >= 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT id FROM accounts WHERE kind = ? AND owner_id = ? AND currency = ?");
    db_bind_text(stmt, 1, ledger_kind_name(kind));
    sqlite3_bind_int64(stmt, 2, owner_id);
    db_bind_text(stmt, 3, currency);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_OK) {
        *id_out = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
        return STATUS_OK;
    }
    if (status != STATUS_NOT_FOUND || !create) return status;
    stmt = db_prepare(db, "INSERT INTO accounts(kind, owner_id, currency) VALUES(?,?,?)");
    db_bind_text(stmt, 1, ledger_kind_name(kind));
    sqlite3_bind_int64(stmt, 2, owner_id);
    db_bind_text(stmt, 3, currency);
    status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    *id_out = sqlite3_last_insert_rowid(db->handle);
    return STATUS_OK;
}

enum status store_account_balance(struct db *db, enum ledger_kind kind, int64_t owner_id,
                                  const char *currency, int64_t *balance_out) {
    verify(db != 0 && currency != 0 && balance_out != 0);
    if (kind == LEDGER_PLATFORM_REVENUE) { /* its changes may be kept in the writer's cache */
        enum status status = store_cache_flush(db);
        if (status != STATUS_OK) return status;
    }
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT balance FROM accounts WHERE kind = ? AND owner_id = ? AND currency = ?");
    db_bind_text(stmt, 1, ledger_kind_name(kind));
    sqlite3_bind_int64(stmt, 2, owner_id);
    db_bind_text(stmt, 3, currency);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) {
        *balance_out = 0;
        return STATUS_OK;
    }
    if (status != STATUS_OK) return status;
    *balance_out = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

enum status store_account_balances(struct db *db, enum ledger_kind kind, int64_t owner_id,
                                   store_balance_fn fn, void *context) {
    verify(db != 0 && fn != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT currency, balance FROM accounts WHERE kind = ? "
                                        "AND owner_id = ? ORDER BY currency");
    db_bind_text(stmt, 1, ledger_kind_name(kind));
    sqlite3_bind_int64(stmt, 2, owner_id);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        status = fn(context, db_text(stmt, 0), sqlite3_column_int64(stmt, 1));
    sqlite3_reset(stmt);
    if (status == STATUS_OK && rc != SQLITE_DONE) status = STATUS_DB;
    return status;
}

static enum status store_posting_insert(struct db *db, int64_t transfer_id, int seq,
                                        const struct ledger_posting *posting) {
    sqlite3_stmt *stmt =
        db_prepare(db, "INSERT INTO postings(transfer_id, seq, account_id, amount, currency) "
                       "VALUES(?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, transfer_id);
    sqlite3_bind_int(stmt, 2, seq);
    sqlite3_bind_int64(stmt, 3, posting->account_id);
    sqlite3_bind_int64(stmt, 4, posting->amount);
    db_bind_text(stmt, 5, posting->currency);
    return db_step_done(db, stmt);
}

/* The balance update is guarded in SQL instead of read back with RETURNING: SQLite runs
 * RETURNING through an ephemeral table, which cost about a third of the writer's
 * instructions per order. Zero rows changed means an unknown account or a balance that
 * would go negative; only that rare path reads the account to tell which. */
static enum status store_posting_apply(struct db *db, int64_t transfer_id, int seq,
                                       const struct ledger_posting *posting) {
    enum status status = STATUS_OK;
    if (posting->kind == LEDGER_PLATFORM_REVENUE) { /* no lower bound: nothing to check now */
        status = store_balance_change(db, posting->account_id, posting->amount, posting->currency);
        if (status != STATUS_OK) return status;
        return store_posting_insert(db, transfer_id, seq, posting);
    }
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2 AND currency = ?3 "
                       "AND (?4 = 0 OR balance + ?1 >= 0)");
    sqlite3_bind_int64(stmt, 1, posting->amount);
    sqlite3_bind_int64(stmt, 2, posting->account_id);
    db_bind_text(stmt, 3, posting->currency);
    sqlite3_bind_int(stmt, 4, ledger_kind_nonnegative(posting->kind));
    status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    if (sqlite3_changes(db->handle) != 1) {
        stmt = db_prepare(db, "SELECT 1 FROM accounts WHERE id = ? AND currency = ?");
        sqlite3_bind_int64(stmt, 1, posting->account_id);
        db_bind_text(stmt, 2, posting->currency);
        status = db_step_row(db, stmt);
        sqlite3_reset(stmt);
        if (status == STATUS_OK) return STATUS_INSUFFICIENT_FUNDS;
        return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    }
    return store_posting_insert(db, transfer_id, seq, posting);
}

enum status store_transfer_post(struct db *db, const struct ledger_transfer *transfer,
                                int64_t order_id, int64_t actor_id, const char *reason,
                                int64_t now_s, int64_t *id_out) {
    verify(db != 0 && transfer != 0 && id_out != 0);
    verify(ledger_transfer_check(transfer) == STATUS_OK);
    sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO transfers(kind, order_id, actor_id, reason, "
                                        "created_at) VALUES(?,?,?,?,?)");
    db_bind_text(stmt, 1, transfer->kind);
    if (order_id > 0) sqlite3_bind_int64(stmt, 2, order_id);
    if (actor_id > 0) sqlite3_bind_int64(stmt, 3, actor_id);
    if (reason != 0) db_bind_text(stmt, 4, reason);
    sqlite3_bind_int64(stmt, 5, now_s);
    enum status status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    int64_t transfer_id = sqlite3_last_insert_rowid(db->handle);
    for (int i = 0; i < transfer->count; i++) {
        status = store_posting_apply(db, transfer_id, i, &transfer->postings[i]);
        if (status != STATUS_OK) return status;
    }
    *id_out = transfer_id;
    return STATUS_OK;
}

enum status store_wallet_credit(struct db *db, const char *username, int64_t amount,
                                const char *currency, const char *reason, int64_t actor_id,
                                int64_t now_s, int64_t *transfer_id_out) {
    verify(db != 0 && username != 0 && currency != 0 && transfer_id_out != 0);
    verify(money_amount_valid(amount));
    struct store_user user;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    enum status status = store_user_by_name(db, username, &user, hash);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_USER;
    if (status != STATUS_OK) return status;
    if (user.role != ROLE_BUYER) return STATUS_NOT_A_BUYER;
    int64_t wallet = 0, funding = 0;
    status = store_account_id(db, LEDGER_BUYER_WALLET, user.id, currency, true, &wallet);
    if (status == STATUS_OK) {
        status = store_account_id(db, LEDGER_FUNDING, 0, currency, true, &funding);
    }
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "wallet_credit");
    status = ledger_transfer_move(&transfer, funding, LEDGER_FUNDING, wallet, LEDGER_BUYER_WALLET,
                                  amount, currency);
    if (status == STATUS_OK) {
        status = store_transfer_post(db, &transfer, 0, actor_id, reason, now_s, transfer_id_out);
    }
    if (status == STATUS_INSUFFICIENT_FUNDS) return STATUS_OVERFLOW; /* funding never limits */
    if (status != STATUS_OK) return status;
    char detail[96];
    snprintf(detail, sizeof detail, "{\"amount\":%lld,\"currency\":\"%s\",\"transfer\":%lld}",
             (long long)amount, currency, (long long)*transfer_id_out);
    return store_audit_of(db, actor_id, "wallet.credit", "user", user.id, detail, now_s);
}
