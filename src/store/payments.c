/* payments.c — gateway orders settled by verified notices, and pending orders that run out
 * of time. A paid notice moves the order's amount from the provider's clearing account (what
 * the provider owes us) to revenue — or to escrow when the order waits for a review — and
 * delivers it, in the same transaction that records the payment; (provider, transaction) is
 * unique, so a repeated notice changes nothing. A second transaction for a paid order, or a
 * payment for an order that expired, is recorded as money to give back, never delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

void store_order_ref(int64_t order_id, char out[24]) {
    verify(order_id > 0);
    snprintf(out, 24, "T%lld", (long long)order_id);
}

bool store_order_ref_parse(const char *ref, int64_t *order_id) {
    verify(ref != 0 && order_id != 0);
    if (ref[0] != 'T' || ref[1] < '1' || ref[1] > '9') return false;
    int64_t id = 0;
    if (text_parse_int(ref + 1, strlen(ref + 1), &id) != STATUS_OK || id <= 0) return false;
    *order_id = id;
    return true;
}

/* The payment row of (provider, transaction), if any. */
static enum status payment_find(struct db *db, const struct store_payment *payment,
                                int64_t *order_id, bool *found) {
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT order_id FROM payments WHERE provider = ? AND transaction_id = ?");
    db_bind_text(stmt, 1, payment->provider);
    db_bind_text(stmt, 2, payment->transaction);
    enum status status = db_step_row(db, stmt);
    *found = status == STATUS_OK;
    if (status == STATUS_OK) {
        *order_id = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
    }
    return status == STATUS_NOT_FOUND ? STATUS_OK : status;
}

static enum status payment_record(struct db *db, const struct store_payment *payment,
                                  const char *outcome, int64_t now_s) {
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO payments(order_id, provider, transaction_id, event_id, amount, currency, "
            "outcome, refund_due, created_at) VALUES(?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, payment->order_id);
    db_bind_text(stmt, 2, payment->provider);
    db_bind_text(stmt, 3, payment->transaction);
    db_bind_text(stmt, 4, payment->event ? payment->event : "");
    sqlite3_bind_int64(stmt, 5, payment->amount);
    db_bind_text(stmt, 6, payment->currency);
    db_bind_text(stmt, 7, outcome);
    sqlite3_bind_int(stmt, 8, strcmp(outcome, "applied") != 0);
    sqlite3_bind_int64(stmt, 9, now_s);
    return db_step_done(db, stmt);
}

/* clearing → revenue (or escrow when held) for the order's amount. */
static enum status payment_settle(struct db *db, const struct store_order *order, int64_t now_s) {
    int64_t clearing = 0, to = 0;
    enum ledger_kind to_kind = order->hold ? LEDGER_ESCROW : LEDGER_PLATFORM_REVENUE;
    enum status status =
        store_platform_account(db, LEDGER_GATEWAY_CLEARING, order->currency, &clearing);
    if (status == STATUS_OK) status = store_platform_account(db, to_kind, order->currency, &to);
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, order->hold ? "payment_hold" : "payment");
    status = ledger_transfer_move(&transfer, clearing, LEDGER_GATEWAY_CLEARING, to, to_kind,
                                  order->amount, order->currency);
    int64_t transfer_id = 0;
    if (status == STATUS_OK) {
        status = store_transfer_post(db, &transfer, order->id, order->buyer_id, order->provider,
                                     now_s, &transfer_id);
    }
    return status;
}

static enum status payment_audit(struct db *db, const struct store_order *order,
                                 const struct store_payment *payment, const char *outcome,
                                 int64_t now_s) {
    char detail[160];
    snprintf(detail, sizeof detail, "{\"provider\":\"%s\",\"amount\":%lld,\"outcome\":\"%s\"}",
             payment->provider, (long long)payment->amount, outcome);
    return store_audit_of(db, 0, "payment.notice", "order", order->id, detail, now_s);
}

enum status store_payment_apply(struct db *db, const struct store_payment *payment, int64_t now_s,
                                enum store_payment_outcome *outcome, struct store_order *order) {
    verify(db != 0 && payment != 0 && outcome != 0 && order != 0);
    verify(payment->provider != 0 && payment->transaction != 0 && payment->currency != 0);
    int64_t seen_order = 0;
    bool seen = false;
    enum status status = payment_find(db, payment, &seen_order, &seen);
    if (status != STATUS_OK) return status;
    status = store_order_get(db, seen ? seen_order : payment->order_id, order);
    if (status != STATUS_OK) return status;
    if (seen) {
        *outcome = STORE_PAYMENT_REPEATED;
        return STATUS_OK;
    }
    if (strcmp(order->payment, "gateway") != 0 || strcmp(order->provider, payment->provider) != 0)
        return STATUS_UNKNOWN_ORDER; /* not an order this provider was asked to collect */
    if (payment->amount != order->amount || strcmp(payment->currency, order->currency) != 0)
        return STATUS_PAYMENT_MISMATCH;
    const char *recorded = "applied";
    if (strcmp(order->status, "pending_payment") == 0) {
        *outcome = STORE_PAYMENT_APPLIED;
        status = payment_settle(db, order, now_s);
        const char *now_status = order->hold ? "review" : "delivered";
        if (status == STATUS_OK) {
            sqlite3_stmt *stmt = db_prepare(db, "UPDATE orders SET status = ?, expires_at = NULL "
                                                "WHERE id = ? AND status = 'pending_payment'");
            db_bind_text(stmt, 1, now_status);
            sqlite3_bind_int64(stmt, 2, order->id);
            status = db_step_done(db, stmt);
            if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1);
        }
        if (status == STATUS_OK) {
            (void)text_copy(order->status, sizeof order->status, now_status);
            order->expires_at = 0;
        }
    } else {
        bool paid = strcmp(order->status, "delivered") == 0 || strcmp(order->status, "review") == 0;
        *outcome = paid ? STORE_PAYMENT_DUPLICATE : STORE_PAYMENT_LATE;
        recorded = paid ? "duplicate" : "late";
    }
    if (status == STATUS_OK) status = payment_record(db, payment, recorded, now_s);
    if (status == STATUS_OK) status = payment_audit(db, order, payment, recorded, now_s);
    return status;
}

/* An unpaid order gives its codes back and becomes 'expired' (audited). */
static enum status order_release(struct db *db, int64_t order_id, int64_t now_s) {
    enum status status = store_order_release(db, order_id, "pending_payment", "expired");
    if (status == STATUS_OK) {
        status = store_audit_of(db, 0, "order.expire", "order", order_id, "{}", now_s);
    }
    return status;
}

enum status store_orders_expire(struct db *db, int64_t now_s, int limit, int64_t *expired_out) {
    verify(db != 0 && limit > 0 && expired_out != 0);
    *expired_out = 0;
    sqlite3_stmt *pick =
        db_prepare(db, "SELECT id FROM orders WHERE status = 'pending_payment' AND "
                       "expires_at <= ? ORDER BY expires_at LIMIT ?");
    sqlite3_bind_int64(pick, 1, now_s);
    sqlite3_bind_int(pick, 2, limit);
    int64_t ids[LIMIT_EXPIRE_PER_TICK];
    int count = 0, rc = 0;
    while (count < limit && count < LIMIT_EXPIRE_PER_TICK &&
           (rc = sqlite3_step(pick)) == SQLITE_ROW) {
        ids[count++] = sqlite3_column_int64(pick, 0);
    }
    sqlite3_reset(pick);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != 0) return STATUS_DB;
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        status = order_release(db, ids[i], now_s);
        if (status == STATUS_OK) (*expired_out)++;
    }
    return status;
}

/* The proposal of (order, transaction): its proposer, or 0 when none; *approved when done. */
static enum status confirm_find(struct db *db, int64_t order_id, const char *transaction,
                                int64_t *proposer, bool *approved) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT proposed_by, approved_by IS NOT NULL FROM "
                                        "payment_confirmations WHERE order_id = ? AND "
                                        "transaction_id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    db_bind_text(stmt, 2, transaction);
    enum status status = db_step_row(db, stmt);
    *proposer = 0;
    *approved = false;
    if (status == STATUS_OK) {
        *proposer = sqlite3_column_int64(stmt, 0);
        *approved = sqlite3_column_int(stmt, 1) != 0;
        sqlite3_reset(stmt);
    }
    return status == STATUS_NOT_FOUND ? STATUS_OK : status;
}

static enum status confirm_audit(struct db *db, int64_t actor_id, const char *action,
                                 const struct store_order *order, const char *reason,
                                 int64_t now_s) {
    struct buf detail;
    buf_init(&detail, 2 * LIMIT_REASON_BYTES + 128);
    enum status status =
        buf_printf(&detail, "{\"amount\":%lld,\"reason\":", (long long)order->amount);
    if (status == STATUS_OK) status = text_append_json_string(&detail, reason);
    if (status == STATUS_OK) status = buf_append(&detail, "}", 1);
    if (status == STATUS_OK)
        status = store_audit_of(db, actor_id, action, "order", order->id, detail.data, now_s);
    buf_free(&detail);
    return status;
}

enum status store_payment_confirm(struct db *db, int64_t order_id, const char *transaction,
                                  const char *reason, int64_t actor_id, int64_t second_above,
                                  int64_t now_s, bool *awaiting,
                                  enum store_payment_outcome *outcome, struct store_order *order) {
    verify(db != 0 && transaction != 0 && reason != 0 && actor_id > 0);
    verify(awaiting != 0 && outcome != 0 && order != 0);
    *awaiting = false;
    enum status status = store_order_get(db, order_id, order);
    if (status != STATUS_OK) return status;
    if (strcmp(order->payment, "gateway") != 0) return STATUS_UNKNOWN_ORDER;
    bool two = second_above >= 0 && order->amount > second_above;
    int64_t proposer = 0;
    bool approved = false;
    status = confirm_find(db, order_id, transaction, &proposer, &approved);
    if (status != STATUS_OK) return status;
    if (two && proposer == 0) { /* the first admin's word waits for a second */
        sqlite3_stmt *stmt = db_prepare(
            db, "INSERT INTO payment_confirmations(order_id, transaction_id, reason, proposed_by, "
                "created_at) VALUES(?,?,?,?,?)");
        sqlite3_bind_int64(stmt, 1, order_id);
        db_bind_text(stmt, 2, transaction);
        db_bind_text(stmt, 3, reason);
        sqlite3_bind_int64(stmt, 4, actor_id);
        sqlite3_bind_int64(stmt, 5, now_s);
        status = db_step_done(db, stmt);
        if (status == STATUS_OK)
            status = confirm_audit(db, actor_id, "payment.confirm.propose", order, reason, now_s);
        *awaiting = status == STATUS_OK;
        return status;
    }
    if (two && !approved && proposer == actor_id) return STATUS_SECOND_ADMIN_REQUIRED;
    if (two && !approved) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE payment_confirmations SET approved_by = ?, "
                                            "approved_at = ? WHERE order_id = ? AND "
                                            "transaction_id = ? AND approved_by IS NULL");
        sqlite3_bind_int64(stmt, 1, actor_id);
        sqlite3_bind_int64(stmt, 2, now_s);
        sqlite3_bind_int64(stmt, 3, order_id);
        db_bind_text(stmt, 4, transaction);
        status = db_step_done(db, stmt);
        if (status != STATUS_OK) return status;
    }
    struct store_payment payment = {order->provider, order_id,      transaction,
                                    "manual",        order->amount, order->currency};
    status = store_payment_apply(db, &payment, now_s, outcome, order);
    if (status == STATUS_OK && *outcome != STORE_PAYMENT_REPEATED)
        status = confirm_audit(db, actor_id, "payment.confirm", order, reason, now_s);
    return status;
}

enum status store_orders_to_query(struct db *db, const char *provider, int64_t now_s,
                                  int64_t after_s, int64_t *ids, int capacity, int *count_out) {
    verify(db != 0 && provider != 0 && ids != 0 && capacity > 0 && count_out != 0);
    *count_out = 0;
    /* last asked (or, never asked, created) at least after_s ago: a range of the partial
     * index orders_to_query (migration 008), however many orders are pending */
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT id FROM orders WHERE status = 'pending_payment' AND provider = ? AND "
            "coalesce(queried_at, created_at) <= ? ORDER BY coalesce(queried_at, created_at) "
            "LIMIT ?");
    db_bind_text(stmt, 1, provider);
    sqlite3_bind_int64(stmt, 2, now_s - after_s);
    sqlite3_bind_int(stmt, 3, capacity);
    int rc = 0;
    while (*count_out < capacity && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ids[(*count_out)++] = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != 0) return STATUS_DB;
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < *count_out; i++) {
        stmt = db_prepare(db, "UPDATE orders SET queried_at = ? WHERE id = ?");
        sqlite3_bind_int64(stmt, 1, now_s);
        sqlite3_bind_int64(stmt, 2, ids[i]);
        status = db_step_done(db, stmt);
    }
    return status;
}

enum status store_order_link_set(struct db *db, int64_t order_id, const char *link,
                                 const char *provider_payment_id) {
    verify(db != 0 && link != 0);
    sqlite3_stmt *stmt = db_prepare(db, "UPDATE orders SET pay_link = ?, provider_payment_id = ? "
                                        "WHERE id = ? AND payment = 'gateway'");
    db_bind_text(stmt, 1, link);
    if (provider_payment_id != 0 && provider_payment_id[0] != 0)
        db_bind_text(stmt, 2, provider_payment_id);
    sqlite3_bind_int64(stmt, 3, order_id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK && sqlite3_changes(db->handle) != 1) status = STATUS_UNKNOWN_ORDER;
    return status;
}

enum status store_order_link(struct db *db, int64_t order_id, struct buf *link,
                             char provider_payment_id[LIMIT_PAY_REF_BYTES + 1]) {
    verify(db != 0 && link != 0 && provider_payment_id != 0);
    provider_payment_id[0] = 0;
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT coalesce(pay_link, ''), "
                       "coalesce(provider_payment_id, '') FROM orders WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_ORDER;
    if (status != STATUS_OK) return status;
    status = buf_printf(link, "%s", db_text(stmt, 0));
    (void)text_copy(provider_payment_id, LIMIT_PAY_REF_BYTES + 1, db_text(stmt, 1));
    sqlite3_reset(stmt);
    return status;
}

enum status store_order_abandon(struct db *db, int64_t order_id, int64_t now_s) {
    verify(db != 0);
    struct store_order order;
    enum status status = store_order_get(db, order_id, &order);
    if (status != STATUS_OK) return status;
    if (strcmp(order.status, "pending_payment") != 0) return STATUS_OK;
    return order_release(db, order_id, now_s);
}
