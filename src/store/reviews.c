/* reviews.c — orders the risk engine held for a person. An order in review holds its codes
 * (reserved to it, never shown) and its money (in escrow). Approving delivers it (escrow →
 * revenue); rejecting releases the codes back to stock and returns the money where it came
 * from (escrow → wallet, → the gateway's clearing account with a refund due, or → the
 * credit line with the plan cancelled) and
 * cancels the order. Either is audited and labels the order's risk event. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

/* Approve: escrow → revenue. Reject: the money goes back where it came from — a wallet
 * order's to the wallet; a gateway order's to the provider's clearing account, and its
 * payment is marked refund due (the provider refunds the buyer's instrument). */
static enum status review_move(struct db *db, const struct store_order *order, bool approve,
                               int64_t actor_id, const char *note, int64_t now_s) {
    int64_t escrow = 0, to = 0;
    bool gateway = strcmp(order->payment, "gateway") == 0;
    if (!approve && strcmp(order->payment, "credit") == 0) { /* back to the credit line */
        struct installment_refund refund;
        return store_credit_refund(db, order, order->amount, true, actor_id, now_s, &refund);
    }
    enum ledger_kind to_kind = approve   ? LEDGER_PLATFORM_REVENUE
                               : gateway ? LEDGER_GATEWAY_CLEARING
                                         : LEDGER_BUYER_WALLET;
    enum status status = store_platform_account(db, LEDGER_ESCROW, order->currency, &escrow);
    if (status != STATUS_OK) return status;
    status = approve || gateway
                 ? store_platform_account(db, to_kind, order->currency, &to)
                 : store_account_id(db, to_kind, order->buyer_id, order->currency, true, &to);
    if (status == STATUS_OK && !approve && gateway) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE payments SET refund_due = 1 WHERE order_id = "
                                            "? AND outcome = 'applied'");
        sqlite3_bind_int64(stmt, 1, order->id);
        status = db_step_done(db, stmt);
    }
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, approve ? "review_approve" : "review_reject");
    status = ledger_transfer_move(&transfer, escrow, LEDGER_ESCROW, to, to_kind, order->amount,
                                  order->currency);
    int64_t transfer_id = 0;
    if (status == STATUS_OK) {
        status = store_transfer_post(db, &transfer, order->id, actor_id, note, now_s, &transfer_id);
    }
    return status;
}

enum status store_review_decide(struct db *db, int64_t order_id, bool approve, const char *note,
                                int64_t actor_id, int64_t now_s, struct store_order *order) {
    verify(db != 0 && note != 0 && order != 0);
    enum status status = store_order_get(db, order_id, order);
    if (status != STATUS_OK) return status;
    if (strcmp(order->status, "review") != 0) return STATUS_NOT_IN_REVIEW;
    const char *new_status = approve ? "delivered" : "cancelled";
    status = review_move(db, order, approve, actor_id, note, now_s);
    if (status == STATUS_OK && !approve) { /* the codes go back to stock, sellable again */
        status = store_order_release(db, order_id, "review", new_status);
    }
    if (status == STATUS_OK && approve && strcmp(order->payment, "credit") == 0)
        status = store_credit_start(db, order_id, now_s); /* its schedule starts now */
    if (status == STATUS_OK && approve) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE orders SET status = ? WHERE id = ? AND "
                                            "status = 'review'");
        db_bind_text(stmt, 1, new_status);
        sqlite3_bind_int64(stmt, 2, order_id);
        status = db_step_done(db, stmt);
        if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1);
    }
    if (status == STATUS_OK) {
        sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO risk_reviews(order_id, decision, note, "
                                            "actor_id, created_at) VALUES(?,?,?,?,?)");
        sqlite3_bind_int64(stmt, 1, order_id);
        db_bind_text(stmt, 2, approve ? "approve" : "reject");
        db_bind_text(stmt, 3, note);
        sqlite3_bind_int64(stmt, 4, actor_id);
        sqlite3_bind_int64(stmt, 5, now_s);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK) {
        /* the person's word is the best label a backtest has: rejected is fraud */
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE risk_events SET label = ? WHERE id = "
                                            "(SELECT risk_event_id FROM orders WHERE id = ?)");
        sqlite3_bind_int(stmt, 1, approve ? 0 : 1);
        sqlite3_bind_int64(stmt, 2, order_id);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK) {
        char detail[96];
        snprintf(detail, sizeof detail, "{\"decision\":\"%s\",\"amount\":%lld}",
                 approve ? "approve" : "reject", (long long)order->amount);
        status = store_audit_of(db, actor_id, approve ? "review.approve" : "review.reject", "order",
                                order_id, detail, now_s);
    }
    if (status == STATUS_OK) (void)text_copy(order->status, sizeof order->status, new_status);
    return status;
}

enum status store_review_each(struct db *db, int limit, store_review_fn fn, void *context) {
    verify(db != 0 && fn != 0 && limit > 0);
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT o.id, o.buyer_id, u.username, o.sku, o.quantity, o.amount, o.currency, "
            "o.created_at, coalesce(e.id, 0), e.score, e.rules, coalesce(e.rules_version, 0) "
            "FROM orders o "
            "JOIN users u ON u.id = o.buyer_id LEFT JOIN risk_events e ON e.id = o.risk_event_id "
            "WHERE o.status = 'review' ORDER BY o.id LIMIT ?");
    sqlite3_bind_int(stmt, 1, limit);
    enum status status = STATUS_OK;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_review row;
        memset(&row, 0, sizeof row);
        row.order_id = sqlite3_column_int64(stmt, 0);
        row.buyer_id = sqlite3_column_int64(stmt, 1);
        (void)text_copy(row.buyer, sizeof row.buyer, db_text(stmt, 2));
        (void)text_copy(row.sku, sizeof row.sku, db_text(stmt, 3));
        row.quantity = sqlite3_column_int64(stmt, 4);
        row.amount = sqlite3_column_int64(stmt, 5);
        (void)text_copy(row.currency, sizeof row.currency, db_text(stmt, 6));
        row.created_at = sqlite3_column_int64(stmt, 7);
        row.event_row = sqlite3_column_int64(stmt, 8);
        row.score = sqlite3_column_double(stmt, 9);
        row.rules = sqlite3_column_blob(stmt, 10);
        row.rules_len = (size_t)sqlite3_column_bytes(stmt, 10);
        row.rules_version = sqlite3_column_int64(stmt, 11);
        status = fn(context, &row);
    }
    if (status == STATUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STATUS_DB;
    sqlite3_reset(stmt);
    return status;
}
