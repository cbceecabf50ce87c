/* refunds.c — money given back, only to where it came from, and codes support marked
 * invalid. A delivered order's codes were shown to its buyer, so it is refundable only for
 * codes marked invalid (unit_price each, never more than its amount). A wallet order's
 * refund goes back to the wallet at once (revenue → wallet). A gateway order's is booked
 * back to the provider's clearing account at once (revenue → clearing) and stays pending
 * until the provider's refund API accepts it; a refused one is booked back (clearing →
 * revenue) and marked failed. A credit order's goes back to its credit line
 * (store/credit.c), cancelling what remains of its schedule. Payments that were never delivered (a
 * duplicate or late payment, a rejected review: refund_due) become pending refunds of kind
 * 'payment', with no booking of their own (a duplicate was never booked; a rejected review already
 * moved its money back to clearing). orders.refunded caches the order's refunds that did not fail.
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

#define REFUND_COLUMNS                                                                             \
    "r.id, r.order_id, coalesce(r.payment_id, 0), r.kind, r.instrument, coalesce(r.provider, "     \
    "''), r.amount, r.currency, r.status, coalesce(r.provider_refund_id, ''), "                    \
    "coalesce(p.transaction_id, ''), coalesce(p.amount, 0), r.attempts, r.created_at, "            \
    "coalesce(r.settled_at, 0), coalesce(r.last_error, '')"
#define REFUND_FROM " FROM refunds r LEFT JOIN payments p ON p.id = r.payment_id "

static void refund_row(sqlite3_stmt *stmt, struct store_refund *refund) {
    memset(refund, 0, sizeof *refund);
    refund->id = sqlite3_column_int64(stmt, 0);
    refund->order_id = sqlite3_column_int64(stmt, 1);
    refund->payment_id = sqlite3_column_int64(stmt, 2);
    (void)text_copy(refund->kind, sizeof refund->kind, db_text(stmt, 3));
    (void)text_copy(refund->instrument, sizeof refund->instrument, db_text(stmt, 4));
    (void)text_copy(refund->provider, sizeof refund->provider, db_text(stmt, 5));
    refund->amount = sqlite3_column_int64(stmt, 6);
    (void)text_copy(refund->currency, sizeof refund->currency, db_text(stmt, 7));
    (void)text_copy(refund->status, sizeof refund->status, db_text(stmt, 8));
    (void)text_copy(refund->provider_refund_id, sizeof refund->provider_refund_id,
                    db_text(stmt, 9));
    (void)text_copy(refund->transaction, sizeof refund->transaction, db_text(stmt, 10));
    refund->payment_amount = sqlite3_column_int64(stmt, 11);
    refund->attempts = sqlite3_column_int(stmt, 12);
    refund->created_at = sqlite3_column_int64(stmt, 13);
    refund->settled_at = sqlite3_column_int64(stmt, 14);
    (void)text_copy(refund->last_error, sizeof refund->last_error, db_text(stmt, 15));
}

static enum status refund_get(struct db *db, int64_t refund_id, struct store_refund *refund) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT " REFUND_COLUMNS REFUND_FROM "WHERE r.id = ?");
    sqlite3_bind_int64(stmt, 1, refund_id);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    refund_row(stmt, refund);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

static enum status refund_audit(struct db *db, int64_t actor_id, const char *action,
                                const struct store_refund *refund, const char *reason,
                                int64_t now_s) {
    struct buf detail;
    buf_init(&detail, 2 * LIMIT_REASON_BYTES + 160);
    enum status status = buf_printf(
        &detail, "{\"refund\":%lld,\"amount\":%lld,\"instrument\":\"%s\",\"status\":\"%s\"",
        (long long)refund->id, (long long)refund->amount, refund->instrument, refund->status);
    if (status == STATUS_OK && reason != 0) status = buf_printf(&detail, ",\"reason\":");
    if (status == STATUS_OK && reason != 0) status = text_append_json_string(&detail, reason);
    if (status == STATUS_OK) status = buf_append(&detail, "}", 1);
    if (status == STATUS_OK)
        status =
            store_audit_of(db, actor_id, action, "order", refund->order_id, detail.data, now_s);
    buf_free(&detail);
    return status;
}

enum status store_order_refundable(struct db *db, const struct store_order *order,
                                   struct store_refundable *out) {
    verify(db != 0 && order != 0 && out != 0);
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT (SELECT count(*) FROM code_reports WHERE order_id = ?1), refunded FROM "
            "orders WHERE id = ?1");
    sqlite3_bind_int64(stmt, 1, order->id);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_ORDER;
    if (status != STATUS_OK) return status;
    out->invalid_codes = sqlite3_column_int64(stmt, 0);
    out->refunded = sqlite3_column_int64(stmt, 1);
    sqlite3_reset(stmt);
    verify(out->invalid_codes <= order->quantity);
    int64_t cap = order->unit_price * out->invalid_codes; /* ≤ amount: quantity is bounded */
    if (cap > order->amount) cap = order->amount;
    out->refundable = cap > out->refunded ? cap - out->refunded : 0;
    return STATUS_OK;
}

/* Marks one code of the order invalid; *marked false when it already was. */
static enum status report_one(struct db *db, const struct vault *vault, int64_t order_id,
                              const char *code, const char *reason, int64_t actor_id, int64_t now_s,
                              bool *marked) {
    unsigned char hash[VAULT_CODE_HASH_BYTES];
    vault_code_hash(vault, code, strlen(code), hash);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id FROM codes WHERE hash = ? AND order_id = ?");
    sqlite3_bind_blob(stmt, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, order_id);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_INVALID_VALUE : status;
    int64_t code_id = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    stmt = db_prepare(db, "INSERT INTO code_reports(code_id, order_id, reason, actor_id, "
                          "created_at) VALUES(?,?,?,?,?) ON CONFLICT(code_id) DO NOTHING");
    sqlite3_bind_int64(stmt, 1, code_id);
    sqlite3_bind_int64(stmt, 2, order_id);
    db_bind_text(stmt, 3, reason);
    sqlite3_bind_int64(stmt, 4, actor_id);
    sqlite3_bind_int64(stmt, 5, now_s);
    status = db_step_done(db, stmt);
    *marked = status == STATUS_OK && sqlite3_changes(db->handle) == 1;
    return status;
}

enum status store_codes_report(struct db *db, const struct vault *vault, int64_t order_id,
                               const char *const *codes, int count, const char *reason,
                               int64_t actor_id, int64_t now_s, int *bad_index, int *marked_out,
                               struct store_order *order, struct store_refundable *out) {
    verify(db != 0 && vault != 0 && codes != 0 && count > 0 && reason != 0);
    verify(bad_index != 0 && marked_out != 0 && order != 0 && out != 0);
    *marked_out = 0;
    *bad_index = -1;
    enum status status = store_order_get(db, order_id, order);
    if (status != STATUS_OK) return status;
    if (strcmp(order->status, "delivered") != 0 && strcmp(order->status, "refunded") != 0)
        return STATUS_ORDER_NOT_DELIVERED;
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        bool marked = false;
        status = report_one(db, vault, order_id, codes[i], reason, actor_id, now_s, &marked);
        if (status == STATUS_INVALID_VALUE) *bad_index = i;
        if (marked) (*marked_out)++;
    }
    if (status != STATUS_OK) return status;
    if (*marked_out > 0) {
        char detail[64];
        snprintf(detail, sizeof detail, "{\"marked\":%d}", *marked_out);
        status = store_audit_of(db, actor_id, "codes.invalid", "order", order_id, detail, now_s);
    }
    return status == STATUS_OK ? store_order_refundable(db, order, out) : status;
}

/* The payment a gateway order was paid by (its applied payment). */
static enum status refund_payment_of(struct db *db, int64_t order_id, int64_t *payment_id) {
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT id FROM payments WHERE order_id = ? AND outcome = 'applied' ORDER BY id");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    *payment_id = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

/* revenue → where the money came from (the wallet, the provider's clearing account), or
 * back (clearing → revenue) when a provider refused the refund. */
static enum status refund_book(struct db *db, const struct store_order *order,
                               const struct store_refund *refund, bool undo, int64_t actor_id,
                               const char *reason, int64_t now_s) {
    bool wallet = strcmp(refund->instrument, "wallet") == 0;
    enum ledger_kind back_kind = wallet ? LEDGER_BUYER_WALLET : LEDGER_GATEWAY_CLEARING;
    int64_t revenue = 0, back = 0;
    enum status status =
        store_platform_account(db, LEDGER_PLATFORM_REVENUE, refund->currency, &revenue);
    if (status == STATUS_OK) {
        status =
            wallet ? store_account_id(db, back_kind, order->buyer_id, refund->currency, true, &back)
                   : store_platform_account(db, back_kind, refund->currency, &back);
    }
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, undo ? "refund_failed" : "refund");
    status = undo ? ledger_transfer_move(&transfer, back, back_kind, revenue,
                                         LEDGER_PLATFORM_REVENUE, refund->amount, refund->currency)
                  : ledger_transfer_move(&transfer, revenue, LEDGER_PLATFORM_REVENUE, back,
                                         back_kind, refund->amount, refund->currency);
    int64_t transfer_id = 0;
    if (status == STATUS_OK)
        status =
            store_transfer_post(db, &transfer, order->id, actor_id, reason, now_s, &transfer_id);
    return status;
}

/* orders.refunded += delta; the order is 'refunded' exactly when all of it is. */
static enum status refund_order_total(struct db *db, int64_t order_id, int64_t delta) {
    sqlite3_stmt *stmt = db_prepare(
        db, "UPDATE orders SET refunded = refunded + ?1, status = CASE WHEN refunded + ?1 = "
            "amount THEN 'refunded' ELSE 'delivered' END WHERE id = ?2 AND refunded + ?1 <= "
            "amount AND (status = 'delivered' OR status = 'refunded')");
    sqlite3_bind_int64(stmt, 1, delta);
    sqlite3_bind_int64(stmt, 2, order_id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1);
    return status;
}

/* The refund already made under this key for the order, if any. */
static enum status refund_by_key(struct db *db, int64_t order_id, const char *key,
                                 struct store_refund *out, bool *found) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT " REFUND_COLUMNS REFUND_FROM
                                        "WHERE r.order_id = ? AND r.idempotency_key = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    db_bind_text(stmt, 2, key);
    enum status status = db_step_row(db, stmt);
    *found = status == STATUS_OK;
    if (status == STATUS_OK) {
        refund_row(stmt, out);
        sqlite3_reset(stmt);
    }
    return status == STATUS_NOT_FOUND ? STATUS_OK : status;
}

static enum status refund_insert(struct db *db, const struct store_refund *refund,
                                 const char *reason, const char *key, int64_t actor_id,
                                 int64_t now_s, int64_t *id_out) {
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO refunds(order_id, payment_id, kind, instrument, provider, amount, "
            "currency, status, reason, idempotency_key, actor_id, created_at, settled_at) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, refund->order_id);
    if (refund->payment_id > 0) sqlite3_bind_int64(stmt, 2, refund->payment_id);
    db_bind_text(stmt, 3, refund->kind);
    db_bind_text(stmt, 4, refund->instrument);
    if (refund->provider[0] != 0) db_bind_text(stmt, 5, refund->provider);
    sqlite3_bind_int64(stmt, 6, refund->amount);
    db_bind_text(stmt, 7, refund->currency);
    db_bind_text(stmt, 8, refund->status);
    db_bind_text(stmt, 9, reason);
    if (key != 0) db_bind_text(stmt, 10, key);
    sqlite3_bind_int64(stmt, 11, actor_id);
    sqlite3_bind_int64(stmt, 12, now_s);
    if (strcmp(refund->status, "succeeded") == 0) sqlite3_bind_int64(stmt, 13, now_s);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK) *id_out = sqlite3_last_insert_rowid(db->handle);
    return status;
}

enum status store_refund_create(struct db *db, const struct store_refund_request *request,
                                bool *replayed, struct store_refund *out) {
    verify(db != 0 && request != 0 && replayed != 0 && out != 0);
    verify(request->reason != 0 && request->actor_id > 0);
    *replayed = false;
    if (request->amount <= 0 || request->amount > LIMIT_AMOUNT_MINOR) return STATUS_INVALID_AMOUNT;
    struct store_order order;
    enum status status = store_order_get(db, request->order_id, &order);
    if (status != STATUS_OK) return status;
    if (request->idempotency_key != 0) {
        bool found = false;
        status = refund_by_key(db, order.id, request->idempotency_key, out, &found);
        if (status != STATUS_OK) return status;
        if (found) {
            if (out->amount != request->amount) return STATUS_IDEMPOTENCY_CONFLICT;
            *replayed = true;
            return STATUS_OK;
        }
    }
    if (strcmp(order.status, "delivered") != 0 && strcmp(order.status, "refunded") != 0)
        return STATUS_ORDER_NOT_DELIVERED;
    struct store_refundable refundable;
    status = store_order_refundable(db, &order, &refundable);
    if (status != STATUS_OK) return status;
    if (request->amount > refundable.refundable) return STATUS_NOT_REFUNDABLE;
    memset(out, 0, sizeof *out);
    out->order_id = order.id;
    (void)text_copy(out->kind, sizeof out->kind, "order");
    out->amount = request->amount;
    (void)text_copy(out->currency, sizeof out->currency, order.currency);
    if (strcmp(order.payment, "gateway") == 0) {
        (void)text_copy(out->instrument, sizeof out->instrument, "gateway");
        (void)text_copy(out->provider, sizeof out->provider, order.provider);
        (void)text_copy(out->status, sizeof out->status, "pending");
        status = refund_payment_of(db, order.id, &out->payment_id);
    } else if (strcmp(order.payment, "wallet") == 0) {
        (void)text_copy(out->instrument, sizeof out->instrument, "wallet");
        (void)text_copy(out->status, sizeof out->status, "succeeded");
        out->settled_at = request->now_s;
    } else {
        verify(strcmp(order.payment, "credit") == 0);
        (void)text_copy(out->instrument, sizeof out->instrument, "credit");
        (void)text_copy(out->status, sizeof out->status, "succeeded");
        out->settled_at = request->now_s;
    }
    if (status == STATUS_OK)
        status = refund_insert(db, out, request->reason, request->idempotency_key,
                               request->actor_id, request->now_s, &out->id);
    if (status == STATUS_OK && strcmp(out->instrument, "credit") == 0) {
        struct installment_refund credit; /* the line, never the wallet */
        status = store_credit_refund(db, &order, out->amount, false, request->actor_id,
                                     request->now_s, &credit);
    } else if (status == STATUS_OK) {
        status =
            refund_book(db, &order, out, false, request->actor_id, request->reason, request->now_s);
    }
    if (status == STATUS_OK) status = refund_order_total(db, order.id, out->amount);
    if (status == STATUS_OK) status = refund_get(db, out->id, out);
    if (status == STATUS_OK)
        status = refund_audit(db, request->actor_id, "refund.create", out, request->reason,
                              request->now_s);
    return status;
}

enum status store_refund_each(struct db *db, int64_t order_id, store_refund_fn fn, void *context) {
    verify(db != 0 && fn != 0);
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT " REFUND_COLUMNS REFUND_FROM "WHERE r.order_id = ? ORDER BY r.id");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_refund refund;
        refund_row(stmt, &refund);
        status = fn(context, &refund);
    }
    if (status == STATUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STATUS_DB;
    sqlite3_reset(stmt);
    return status;
}

/* Payments owed back (refund_due) that have no refund yet become pending refunds. */
static enum status refunds_adopt(struct db *db, int64_t now_s) {
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO refunds(order_id, payment_id, kind, instrument, provider, amount, "
            "currency, status, reason, actor_id, created_at) SELECT p.order_id, p.id, 'payment', "
            "'gateway', p.provider, p.amount, p.currency, 'pending', CASE p.outcome WHEN "
            "'applied' THEN 'review rejected' ELSE p.outcome || ' payment' END, 0, ? FROM "
            "payments p WHERE p.refund_due = 1 AND NOT EXISTS (SELECT 1 FROM refunds r WHERE "
            "r.payment_id = p.id AND r.kind = 'payment')");
    sqlite3_bind_int64(stmt, 1, now_s);
    return db_step_done(db, stmt);
}

enum status store_refunds_due(struct db *db, int64_t now_s, struct store_refund *out, int capacity,
                              int *count_out) {
    verify(db != 0 && out != 0 && capacity > 0 && count_out != 0);
    *count_out = 0;
    enum status status = refunds_adopt(db, now_s);
    if (status != STATUS_OK) return status;
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT " REFUND_COLUMNS REFUND_FROM "WHERE r.status = 'pending' AND "
                       "r.next_attempt_at <= ? ORDER BY r.next_attempt_at, r.id LIMIT ?");
    sqlite3_bind_int64(stmt, 1, now_s);
    sqlite3_bind_int(stmt, 2, capacity);
    int rc = 0;
    while (*count_out < capacity && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        refund_row(stmt, &out[(*count_out)++]);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || rc == 0 ? STATUS_OK : STATUS_DB;
}

/* How long a refund waits after its n-th failed attempt: 10 s doubling, at most an hour. */
static int64_t refund_backoff_s(int attempts) {
    int64_t wait = LIMIT_REFUND_RETRY_FIRST_S;
    for (int i = 1; i < attempts && wait < LIMIT_REFUND_RETRY_MAX_S; i++)
        wait *= 2;
    return wait < LIMIT_REFUND_RETRY_MAX_S ? wait : LIMIT_REFUND_RETRY_MAX_S;
}

/* Marks the refund settled as status (with the provider's refund id, or why not); a failed
 * refund of an order is booked back and the order refundable again; a succeeded refund of a
 * payment owed back clears refund_due. Audited as action by actor_id (0: the worker). */
static enum status refund_finish(struct db *db, struct store_refund *refund, const char *status_to,
                                 const char *provider_refund_id, const char *error,
                                 int64_t actor_id, const char *action, int64_t now_s) {
    bool ok = strcmp(status_to, "succeeded") == 0, failed = strcmp(status_to, "failed") == 0;
    sqlite3_stmt *stmt = db_prepare(
        db, "UPDATE refunds SET status = ?, attempts = attempts + 1, provider_refund_id = "
            "coalesce(?, provider_refund_id), last_error = ?, settled_at = ? WHERE id = ?");
    db_bind_text(stmt, 1, status_to);
    if (provider_refund_id != 0 && provider_refund_id[0] != 0)
        db_bind_text(stmt, 2, provider_refund_id);
    if (!ok) db_bind_text(stmt, 3, error != 0 && error[0] != 0 ? error : "refused");
    if (ok || failed) sqlite3_bind_int64(stmt, 4, now_s);
    sqlite3_bind_int64(stmt, 5, refund->id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK && ok && refund->payment_id > 0 &&
        strcmp(refund->kind, "payment") == 0) {
        stmt = db_prepare(db, "UPDATE payments SET refund_due = 0 WHERE id = ?");
        sqlite3_bind_int64(stmt, 1, refund->payment_id);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK && failed && strcmp(refund->kind, "order") == 0) {
        struct store_order order;
        status = store_order_get(db, refund->order_id, &order);
        if (status == STATUS_OK)
            status = refund_book(db, &order, refund, true, actor_id, error, now_s);
        if (status == STATUS_OK) status = refund_order_total(db, order.id, -refund->amount);
    }
    if (status == STATUS_OK) status = refund_get(db, refund->id, refund);
    if (status == STATUS_OK) status = refund_audit(db, actor_id, action, refund, error, now_s);
    return status;
}

enum status store_refund_settle(struct db *db, int64_t refund_id, enum store_refund_result result,
                                const char *provider_refund_id, const char *error, int64_t now_s,
                                struct store_refund *out) {
    verify(db != 0 && out != 0);
    enum status status = refund_get(db, refund_id, out);
    if (status == STATUS_NOT_FOUND) return STATUS_NOT_FOUND;
    if (status != STATUS_OK) return status;
    bool sending =
        strcmp(out->status, "unknown") == 0 && strcmp(out->last_error, STORE_REFUND_SENDING) == 0;
    if (strcmp(out->status, "pending") != 0 && !sending) { /* settled before: kept as it is */
        bool definite = result == STORE_REFUND_SUCCEEDED || result == STORE_REFUND_FAILED;
        const char *said = result == STORE_REFUND_SUCCEEDED ? "succeeded" : "failed";
        if (!definite || strcmp(out->status, said) == 0) return STATUS_OK;
        /* the provider's word came after a person settled it otherwise: on the record */
        char detail[160];
        snprintf(detail, sizeof detail,
                 "{\"refund\":%lld,\"provider_said\":\"%s\",\"recorded\":\"%s\"}",
                 (long long)out->id, said, out->status);
        return store_audit_of(db, 0, "refund.answer_after_settlement", "order", out->order_id,
                              detail, now_s);
    }
    if (sending && result == STORE_REFUND_RETRY) result = STORE_REFUND_UNKNOWN; /* never again */
    /* providers forget a refund reference after a day (Stripe's Idempotency-Key: 24 h): past
     * the window a retry could refund twice, so a person takes over */
    if (result == STORE_REFUND_RETRY && now_s - out->created_at > LIMIT_REFUND_RETRY_WINDOW_S)
        result = STORE_REFUND_UNKNOWN;
    if (result == STORE_REFUND_RETRY) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE refunds SET attempts = attempts + 1, "
                                            "last_error = ?, next_attempt_at = ? WHERE id = ?");
        db_bind_text(stmt, 1, error != 0 ? error : "");
        sqlite3_bind_int64(stmt, 2, now_s + refund_backoff_s(out->attempts + 1));
        sqlite3_bind_int64(stmt, 3, refund_id);
        status = db_step_done(db, stmt);
        return status == STATUS_OK ? refund_get(db, refund_id, out) : status;
    }
    bool ok = result == STORE_REFUND_SUCCEEDED, failed = result == STORE_REFUND_FAILED;
    verify(ok || failed || result == STORE_REFUND_UNKNOWN);
    return refund_finish(db, out,
                         ok       ? "succeeded"
                         : failed ? "failed"
                                  : "unknown",
                         provider_refund_id, error, 0,
                         ok       ? "refund.succeed"
                         : failed ? "refund.fail"
                                  : "refund.unknown",
                         now_s);
}

enum status store_refund_resolve(struct db *db, int64_t refund_id,
                                 enum store_refund_resolution resolution,
                                 const char *provider_refund_id, const char *reason,
                                 int64_t actor_id, int64_t now_s, struct store_refund *out) {
    verify(db != 0 && reason != 0 && actor_id > 0 && out != 0);
    enum status status = refund_get(db, refund_id, out);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_REFUND;
    if (status != STATUS_OK) return status;
    bool unknown = strcmp(out->status, "unknown") == 0;
    if (unknown && strcmp(out->last_error, STORE_REFUND_SENDING) == 0) {
        /* its request may still be on the way: the provider's answer comes first */
        sqlite3_stmt *stmt = db_prepare(db, "SELECT next_attempt_at FROM refunds WHERE id = ?");
        sqlite3_bind_int64(stmt, 1, refund_id);
        status = db_step_row(db, stmt);
        if (status != STATUS_OK) return status;
        int64_t sent_at = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
        if (now_s - sent_at < LIMIT_REFUND_IN_FLIGHT_S) return STATUS_REFUND_IN_FLIGHT;
    }
    /* a failed refund of a payment owed back may be sent again; a failed refund of an order
     * was booked back: support makes a new one */
    bool again = strcmp(out->status, "failed") == 0 && strcmp(out->kind, "payment") == 0;
    if (resolution == STORE_REFUND_RESOLVE_RETRY && (unknown || again)) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE refunds SET status = 'pending', "
                                            "next_attempt_at = ?, settled_at = NULL WHERE id = ?");
        sqlite3_bind_int64(stmt, 1, now_s);
        sqlite3_bind_int64(stmt, 2, refund_id);
        status = db_step_done(db, stmt);
        if (status == STATUS_OK) status = refund_get(db, refund_id, out);
        if (status == STATUS_OK)
            status = refund_audit(db, actor_id, "refund.retry", out, reason, now_s);
        return status;
    }
    if (!unknown) return STATUS_REFUND_SETTLED;
    bool ok = resolution == STORE_REFUND_RESOLVE_SUCCEEDED;
    return refund_finish(db, out, ok ? "succeeded" : "failed", provider_refund_id, reason, actor_id,
                         ok ? "refund.resolve.succeed" : "refund.resolve.fail", now_s);
}

enum status store_refund_sending(struct db *db, int64_t refund_id, int64_t now_s,
                                 struct store_refund *out) {
    verify(db != 0 && out != 0);
    enum status status = refund_get(db, refund_id, out);
    if (status != STATUS_OK) return status;
    if (strcmp(out->status, "pending") != 0) return STATUS_REFUND_SETTLED;
    /* next_attempt_at keeps when it went out (an unknown refund is never attempted) */
    sqlite3_stmt *stmt = db_prepare(db, "UPDATE refunds SET status = 'unknown', last_error = ?, "
                                        "next_attempt_at = ? WHERE id = ? AND status = 'pending'");
    db_bind_text(stmt, 1, STORE_REFUND_SENDING);
    sqlite3_bind_int64(stmt, 2, now_s);
    sqlite3_bind_int64(stmt, 3, refund_id);
    status = db_step_done(db, stmt);
    return status == STATUS_OK ? refund_get(db, refund_id, out) : status;
}
