/* sandbox.c — the built-in sandbox provider's own record of what buyers paid it (its side
 * of the world, kept in the same database for convenience). Its payment page records a
 * payment here, then (unless asked to lose it) sends the notice; reconciliation queries it
 * as it would query a real provider. */
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

enum status store_sandbox_record(struct db *db, const char *order_ref, const char *transaction,
                                 int64_t amount, const char *currency, int64_t now_s) {
    verify(db != 0 && order_ref != 0 && transaction != 0 && currency != 0 && amount > 0);
    sqlite3_stmt *stmt = db_prepare(db, "INSERT INTO sandbox_payments(order_ref, transaction_id, "
                                        "amount, currency, paid_at) VALUES(?,?,?,?,?) "
                                        "ON CONFLICT(order_ref) DO NOTHING");
    db_bind_text(stmt, 1, order_ref);
    db_bind_text(stmt, 2, transaction);
    sqlite3_bind_int64(stmt, 3, amount);
    db_bind_text(stmt, 4, currency);
    sqlite3_bind_int64(stmt, 5, now_s);
    return db_step_done(db, stmt);
}

enum status store_sandbox_query(struct db *db, const char *order_ref,
                                struct store_sandbox_payment *out) {
    verify(db != 0 && order_ref != 0 && out != 0);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT transaction_id, amount, currency FROM "
                                        "sandbox_payments WHERE order_ref = ?");
    db_bind_text(stmt, 1, order_ref);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_OK : status;
    out->paid = true;
    (void)text_copy(out->transaction, sizeof out->transaction, db_text(stmt, 0));
    out->amount = sqlite3_column_int64(stmt, 1);
    (void)text_copy(out->currency, sizeof out->currency, db_text(stmt, 2));
    sqlite3_reset(stmt);
    return STATUS_OK;
}
