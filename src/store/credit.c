/* credit.c — credit lines and installment plans in the database. The arithmetic is
 * src/domain/installment.c's; this file loads a plan, lets the domain change it, saves it
 * back and books the money. A credit order moves its amount from the buyer's
 * credit_receivable account to revenue (to escrow while held for review); a repayment moves
 * wallet money to the receivable (principal) and to fees (fee and late fee); a refund gives
 * principal back to the receivable (restoring the line) and repaid fee from fees — never to
 * the wallet, so credit cannot be turned into cash. credit_lines.used caches the principal
 * still owed on the buyer's plans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

enum status store_credit_set(struct db *db, int64_t user_id, int64_t limit, const char *currency,
                             int64_t actor_id, int64_t now_s) {
    verify(db != 0 && currency != 0 && limit >= 0);
    struct store_user user;
    enum status status = store_user_by_id(db, user_id, &user);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_USER;
    if (status != STATUS_OK) return status;
    if (user.role != ROLE_BUYER) return STATUS_NOT_A_BUYER;
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO credit_lines(user_id, credit_limit, currency, updated_by, updated_at) "
            "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(user_id) DO UPDATE SET credit_limit = ?2, "
            "updated_by = ?4, updated_at = ?5 WHERE currency = ?3");
    sqlite3_bind_int64(stmt, 1, user_id);
    sqlite3_bind_int64(stmt, 2, limit);
    db_bind_text(stmt, 3, currency);
    sqlite3_bind_int64(stmt, 4, actor_id);
    sqlite3_bind_int64(stmt, 5, now_s);
    status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    if (sqlite3_changes(db->handle) != 1) return STATUS_INVALID_VALUE; /* another currency */
    char detail[64];
    snprintf(detail, sizeof detail, "{\"limit\":%lld}", (long long)limit);
    return store_audit_of(db, actor_id, "credit.limit", "user", user_id, detail, now_s);
}

enum status store_credit_get(struct db *db, int64_t user_id, struct store_credit_line *out) {
    verify(db != 0 && out != 0);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT l.credit_limit, l.used, l.currency, coalesce(a.balance, 0) FROM credit_lines "
            "l LEFT JOIN accounts a ON a.kind = 'credit_receivable' AND a.owner_id = l.user_id "
            "AND a.currency = l.currency WHERE l.user_id = ?");
    sqlite3_bind_int64(stmt, 1, user_id);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_NO_CREDIT_LINE;
    if (status != STATUS_OK) return status;
    out->limit = sqlite3_column_int64(stmt, 0);
    out->used = sqlite3_column_int64(stmt, 1);
    (void)text_copy(out->currency, sizeof out->currency, db_text(stmt, 2));
    int64_t balance = sqlite3_column_int64(stmt, 3);
    sqlite3_reset(stmt);
    out->available = out->limit > out->used ? out->limit - out->used : 0;
    out->credit_balance = balance + out->used; /* money refunds gave back to the line */
    return STATUS_OK;
}

enum status store_credit_can_buy(struct db *db, int64_t buyer_id, const char *currency,
                                 int64_t amount) {
    struct store_credit_line line;
    enum status status = store_credit_get(db, buyer_id, &line);
    if (status != STATUS_OK) return status;
    if (strcmp(line.currency, currency) != 0 || line.available < amount)
        return STATUS_INSUFFICIENT_CREDIT;
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT count(*) FROM credit_plans WHERE buyer_id = ? AND closed = 0");
    sqlite3_bind_int64(stmt, 1, buyer_id);
    status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status;
    int64_t open = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return open < LIMIT_CREDIT_PLANS ? STATUS_OK : STATUS_TOO_MANY_PLANS;
}

static enum status credit_used_add(struct db *db, int64_t buyer_id, int64_t delta) {
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE credit_lines SET used = used + ? WHERE user_id = ?");
    sqlite3_bind_int64(stmt, 1, delta);
    sqlite3_bind_int64(stmt, 2, buyer_id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1);
    return status;
}

enum status store_credit_plan_save(struct db *db, int64_t order_id,
                                   const struct installment_plan *plan, int64_t now_s) {
    verify(db != 0 && plan != 0 && installment_valid(plan));
    enum installment_state state = installment_state(plan, now_s);
    bool closed = state == INSTALLMENT_PAID_OFF || state == INSTALLMENT_CANCELLED;
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE credit_plans SET principal_refunded = ?, fee_returned = ?, "
                       "cancelled = ?, closed = ? WHERE order_id = ?");
    sqlite3_bind_int64(stmt, 1, plan->principal_refunded);
    sqlite3_bind_int64(stmt, 2, plan->fee_returned);
    sqlite3_bind_int(stmt, 3, plan->cancelled ? 1 : 0);
    sqlite3_bind_int(stmt, 4, closed ? 1 : 0);
    sqlite3_bind_int64(stmt, 5, order_id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1);
    stmt = db_prepare(
        db, "INSERT INTO credit_periods(order_id, idx, due_at, principal, fee, principal_paid, "
            "principal_cancelled, fee_paid, fee_waived, late_fee_accrued_e4, late_days_charged, "
            "late_fee_paid, late_fee_waived) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(order_id, idx) DO UPDATE SET due_at = excluded.due_at, principal = "
            "excluded.principal, fee = excluded.fee, principal_paid = excluded.principal_paid, "
            "principal_cancelled = excluded.principal_cancelled, fee_paid = excluded.fee_paid, "
            "fee_waived = excluded.fee_waived, late_fee_accrued_e4 = "
            "excluded.late_fee_accrued_e4, late_days_charged = excluded.late_days_charged, "
            "late_fee_paid = excluded.late_fee_paid, late_fee_waived = excluded.late_fee_waived");
    for (int i = 0; status == STATUS_OK && i < plan->periods; i++) {
        const struct installment_period *p = &plan->period[i];
        const int64_t values[] = {order_id,
                                  i,
                                  p->due_at_s,
                                  p->principal,
                                  p->fee,
                                  p->principal_paid,
                                  p->principal_cancelled,
                                  p->fee_paid,
                                  p->fee_waived,
                                  p->late_fee_accrued_e4,
                                  p->late_days_charged,
                                  p->late_fee_paid,
                                  p->late_fee_waived};
        sqlite3_reset(stmt);
        for (int c = 0; c < (int)(sizeof values / sizeof values[0]); c++)
            sqlite3_bind_int64(stmt, c + 1, values[c]);
        status = db_step_done(db, stmt);
    }
    return status;
}

enum status store_credit_plan_load(struct db *db, int64_t order_id, struct store_credit_plan *out) {
    verify(db != 0 && out != 0);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT buyer_id, periods, principal, fee_bp, fee, apr_bp, grace_s, "
            "late_fee_daily_bp, late_fee_cap_bp, principal_refunded, fee_returned, cancelled, "
            "created_at, held FROM credit_plans WHERE order_id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_ORDER;
    if (status != STATUS_OK) return status;
    struct installment_plan *plan = &out->plan;
    out->order_id = order_id;
    out->buyer_id = sqlite3_column_int64(stmt, 0);
    plan->periods = sqlite3_column_int(stmt, 1);
    plan->principal = sqlite3_column_int64(stmt, 2);
    plan->fee_bp = sqlite3_column_int64(stmt, 3);
    plan->fee = sqlite3_column_int64(stmt, 4);
    out->apr_bp = sqlite3_column_int64(stmt, 5);
    plan->grace_s = sqlite3_column_int64(stmt, 6);
    plan->late_fee_daily_bp = sqlite3_column_int64(stmt, 7);
    plan->late_fee_cap_bp = sqlite3_column_int64(stmt, 8);
    plan->principal_refunded = sqlite3_column_int64(stmt, 9);
    plan->fee_returned = sqlite3_column_int64(stmt, 10);
    plan->cancelled = sqlite3_column_int(stmt, 11) != 0;
    out->created_at = sqlite3_column_int64(stmt, 12);
    out->held = sqlite3_column_int(stmt, 13) != 0;
    sqlite3_reset(stmt);
    if (plan->periods < 1 || plan->periods > LIMIT_INSTALLMENT_PERIODS) return STATUS_DB;
    stmt = db_prepare(db, "SELECT due_at, principal, fee, principal_paid, principal_cancelled, "
                          "fee_paid, fee_waived, late_fee_accrued_e4, late_days_charged, "
                          "late_fee_paid, late_fee_waived FROM credit_periods WHERE order_id = ? "
                          "ORDER BY idx");
    sqlite3_bind_int64(stmt, 1, order_id);
    int n = 0, rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < plan->periods) {
        struct installment_period *p = &plan->period[n++];
        int64_t *fields[] = {&p->due_at_s,       &p->principal,           &p->fee,
                             &p->principal_paid, &p->principal_cancelled, &p->fee_paid,
                             &p->fee_waived,     &p->late_fee_accrued_e4, &p->late_days_charged,
                             &p->late_fee_paid,  &p->late_fee_waived};
        for (int c = 0; c < (int)(sizeof fields / sizeof fields[0]); c++)
            *fields[c] = sqlite3_column_int64(stmt, c);
    }
    sqlite3_reset(stmt);
    /* a plan that breaks the domain's invariants is a broken database, never a crash */
    if (n != plan->periods || !installment_valid(plan)) return STATUS_DB;
    return STATUS_OK;
}

enum status store_credit_open(struct db *db, const struct store_order *order, int periods,
                              bool held, int64_t now_s) {
    verify(db != 0 && order != 0 && strcmp(order->payment, "credit") == 0);
    struct store_credit_plan credit;
    memset(&credit, 0, sizeof credit);
    enum status status = installment_plan_start(&installment_default_terms, order->amount, periods,
                                                now_s, &credit.plan);
    struct installment_apr apr;
    if (status == STATUS_OK)
        status = installment_apr(order->amount, credit.plan.fee, periods, &apr);
    if (status != STATUS_OK) return status;
    const struct installment_plan *plan = &credit.plan;
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO credit_plans(order_id, buyer_id, periods, principal, fee_bp, fee, "
            "apr_bp, grace_s, late_fee_daily_bp, late_fee_cap_bp, created_at, held) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    const int64_t values[] = {
        order->id, order->buyer_id, periods,       plan->principal,         plan->fee_bp,
        plan->fee, apr.apr_bp,      plan->grace_s, plan->late_fee_daily_bp, plan->late_fee_cap_bp,
        now_s,     held ? 1 : 0};
    for (int c = 0; c < (int)(sizeof values / sizeof values[0]); c++)
        sqlite3_bind_int64(stmt, c + 1, values[c]);
    status = db_step_done(db, stmt);
    if (status == STATUS_OK) status = store_credit_plan_save(db, order->id, plan, now_s);
    if (status == STATUS_OK) status = credit_used_add(db, order->buyer_id, order->amount);
    return status;
}

enum status store_credit_plan_each(struct db *db, int64_t buyer_id, bool open_only,
                                   store_credit_plan_fn fn, void *context) {
    verify(db != 0 && fn != 0);
    /* open plans oldest first (there are at most LIMIT_CREDIT_PLANS), then closed ones
     * newest first while there is room */
    sqlite3_stmt *stmt = db_prepare(
        db, open_only ? "SELECT order_id FROM credit_plans WHERE buyer_id = ? AND closed = 0 "
                        "AND held = 0 ORDER BY order_id"
                      : "SELECT order_id FROM credit_plans WHERE buyer_id = ? ORDER BY closed, "
                        "CASE closed WHEN 0 THEN order_id ELSE -order_id END");
    sqlite3_bind_int64(stmt, 1, buyer_id);
    int64_t ids[LIMIT_CREDIT_PLANS];
    int count = 0, rc = 0;
    while (count < LIMIT_CREDIT_PLANS && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ids[count++] = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != 0) return STATUS_DB;
    enum status status = STATUS_OK;
    struct store_credit_plan *credit = mem_alloc(sizeof *credit);
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        status = store_credit_plan_load(db, ids[i], credit);
        if (status == STATUS_OK) status = fn(context, credit);
    }
    free(credit);
    return status;
}

/* One plan's repayment: the fee and late fee go to fees, the principal to the receivable;
 * the money comes from the line's credit balance first (what refunds gave back, already in
 * the receivable: *credit_left, lowered), then from the wallet. */
static enum status credit_book_repayment(struct db *db, int64_t buyer_id, const char *currency,
                                         const struct installment_amounts *applied,
                                         int64_t *credit_left, int64_t order_id, int64_t now_s) {
    int64_t from_credit = *credit_left < applied->total ? *credit_left : applied->total;
    int64_t from_wallet = applied->total - from_credit;
    int64_t wallet = 0, receivable = 0, fees = 0;
    enum status status =
        store_account_id(db, LEDGER_BUYER_WALLET, buyer_id, currency, true, &wallet);
    if (status == STATUS_OK)
        status =
            store_account_id(db, LEDGER_CREDIT_RECEIVABLE, buyer_id, currency, true, &receivable);
    if (status == STATUS_OK) status = store_platform_account(db, LEDGER_FEES, currency, &fees);
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, "credit_repayment");
    if (from_wallet > 0)
        status =
            ledger_transfer_add(&transfer, wallet, LEDGER_BUYER_WALLET, -from_wallet, currency);
    int64_t to_receivable = applied->principal - from_credit;
    if (status == STATUS_OK && to_receivable != 0)
        status = ledger_transfer_add(&transfer, receivable, LEDGER_CREDIT_RECEIVABLE, to_receivable,
                                     currency);
    int64_t charges = applied->fee + applied->late_fee;
    if (status == STATUS_OK && charges > 0)
        status = ledger_transfer_add(&transfer, fees, LEDGER_FEES, charges, currency);
    *credit_left -= from_credit;
    if (status != STATUS_OK || transfer.count == 0) return status; /* principal from credit */
    int64_t transfer_id = 0;
    return store_transfer_post(db, &transfer, order_id, buyer_id, 0, now_s, &transfer_id);
}

/* Applies amount (payoff: the plan's payoff) to one plan, books it, saves it. */
static enum status credit_pay_plan(struct db *db, struct store_credit_plan *credit, bool payoff,
                                   int64_t amount, const char *currency, int64_t *credit_left,
                                   int64_t now_s, struct installment_amounts *applied) {
    enum status status = payoff ? installment_payoff(&credit->plan, amount, now_s, applied)
                                : installment_repay(&credit->plan, amount, now_s, applied);
    if (status != STATUS_OK) return status;
    verify(applied->total == amount);
    status = credit_book_repayment(db, credit->buyer_id, currency, applied, credit_left,
                                   credit->order_id, now_s);
    if (status == STATUS_OK && applied->principal > 0)
        status = credit_used_add(db, credit->buyer_id, -applied->principal);
    if (status == STATUS_OK)
        status = store_credit_plan_save(db, credit->order_id, &credit->plan, now_s);
    return status;
}

static void amounts_add(struct installment_amounts *sum, const struct installment_amounts *part) {
    sum->principal += part->principal;
    sum->fee += part->fee;
    sum->late_fee += part->late_fee;
    sum->total += part->total;
    sum->fee_waived += part->fee_waived;
}

static enum status credit_audit(struct db *db, int64_t buyer_id, const char *action,
                                const struct installment_amounts *applied, int64_t now_s) {
    char detail[160];
    snprintf(detail, sizeof detail,
             "{\"amount\":%lld,\"principal\":%lld,\"fee\":%lld,\"late_fee\":%lld}",
             (long long)applied->total, (long long)applied->principal, (long long)applied->fee,
             (long long)applied->late_fee);
    return store_audit_of(db, buyer_id, action, "user", buyer_id, detail, now_s);
}

/* The wallet holds at least amount (checked before anything is written). */
static enum status credit_wallet_covers(struct db *db, int64_t buyer_id, const char *currency,
                                        int64_t amount) {
    int64_t balance = 0;
    enum status status =
        store_account_balance(db, LEDGER_BUYER_WALLET, buyer_id, currency, &balance);
    if (status == STATUS_NOT_FOUND) return STATUS_INSUFFICIENT_FUNDS;
    if (status != STATUS_OK) return status;
    return balance >= amount ? STATUS_OK : STATUS_INSUFFICIENT_FUNDS;
}

struct repay_walk {
    struct db *db;
    int64_t left, credit_left, now_s;
    const char *currency;
    bool due_only; /* the first pass: only what is due (overdue first by age of plan) */
    struct installment_amounts applied;
    enum status status;
};

/* Oldest plan first: each takes what it is owed — in the first pass only what is due now, so
 * an overdue installment of any plan is paid before one not yet due of another — until the
 * amount is spent. */
static enum status repay_one(void *context, const struct store_credit_plan *loaded) {
    struct repay_walk *walk = context;
    if (walk->left == 0) return STATUS_OK;
    struct installment_amounts owed;
    if (walk->due_only) {
        installment_due(&loaded->plan, walk->now_s, &owed);
    } else {
        installment_outstanding(&loaded->plan, walk->now_s, &owed);
    }
    if (owed.total == 0) return STATUS_OK;
    struct store_credit_plan credit = *loaded;
    int64_t part = walk->left < owed.total ? walk->left : owed.total;
    struct installment_amounts applied;
    enum status status = credit_pay_plan(walk->db, &credit, false, part, walk->currency,
                                         &walk->credit_left, walk->now_s, &applied);
    if (status != STATUS_OK) return status;
    amounts_add(&walk->applied, &applied);
    walk->left -= part;
    return STATUS_OK;
}

struct owed_walk {
    int64_t now_s, total;
    bool held; /* a plan whose order waits for a review (the walk over every plan) */
};

static enum status owed_one(void *context, const struct store_credit_plan *credit) {
    struct owed_walk *walk = context;
    struct installment_amounts owed;
    installment_outstanding(&credit->plan, walk->now_s, &owed);
    walk->total += owed.total;
    return STATUS_OK;
}

static enum status held_one(void *context, const struct store_credit_plan *credit) {
    struct owed_walk *walk = context;
    if (credit->held) walk->held = true;
    return STATUS_OK;
}

/* The first answer under (buyer, key), if any: *found, or STATUS_IDEMPOTENCY_CONFLICT when
 * the key was used for another request. */
static enum status credit_key_find(struct db *db, int64_t buyer_id, const char *key,
                                   const char *request, struct installment_amounts *applied,
                                   bool *found) {
    *found = false;
    if (key == 0) return STATUS_OK;
    sqlite3_stmt *stmt = db_prepare(db, "SELECT request, principal, fee, late_fee, total, "
                                        "fee_waived FROM credit_repayments WHERE user_id = ? "
                                        "AND key = ?");
    sqlite3_bind_int64(stmt, 1, buyer_id);
    db_bind_text(stmt, 2, key);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_OK;
    if (status != STATUS_OK) return status;
    bool same = strcmp(db_text(stmt, 0), request) == 0;
    applied->principal = sqlite3_column_int64(stmt, 1);
    applied->fee = sqlite3_column_int64(stmt, 2);
    applied->late_fee = sqlite3_column_int64(stmt, 3);
    applied->total = sqlite3_column_int64(stmt, 4);
    applied->fee_waived = sqlite3_column_int64(stmt, 5);
    sqlite3_reset(stmt);
    if (!same) return STATUS_IDEMPOTENCY_CONFLICT;
    *found = true;
    return STATUS_OK;
}

static enum status credit_key_remember(struct db *db, int64_t buyer_id, const char *key,
                                       const char *request,
                                       const struct installment_amounts *applied, int64_t now_s) {
    if (key == 0) return STATUS_OK;
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO credit_repayments(user_id, key, request, principal, fee, late_fee, "
            "total, fee_waived, created_at) VALUES(?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, buyer_id);
    db_bind_text(stmt, 2, key);
    db_bind_text(stmt, 3, request);
    sqlite3_bind_int64(stmt, 4, applied->principal);
    sqlite3_bind_int64(stmt, 5, applied->fee);
    sqlite3_bind_int64(stmt, 6, applied->late_fee);
    sqlite3_bind_int64(stmt, 7, applied->total);
    sqlite3_bind_int64(stmt, 8, applied->fee_waived);
    sqlite3_bind_int64(stmt, 9, now_s);
    return db_step_done(db, stmt);
}

enum status store_credit_repay(struct db *db, int64_t buyer_id, int64_t amount, const char *key,
                               int64_t now_s, struct installment_amounts *applied, bool *replayed) {
    verify(db != 0 && applied != 0 && replayed != 0);
    memset(applied, 0, sizeof *applied);
    if (amount <= 0 || amount > LIMIT_AMOUNT_MINOR) return STATUS_INVALID_AMOUNT;
    char request[48];
    snprintf(request, sizeof request, "repay:%lld", (long long)amount);
    enum status status = credit_key_find(db, buyer_id, key, request, applied, replayed);
    if (status != STATUS_OK || *replayed) return status;
    struct store_credit_line line;
    status = store_credit_get(db, buyer_id, &line);
    if (status != STATUS_OK) return status;
    struct owed_walk owed = {now_s, 0, false};
    status = store_credit_plan_each(db, buyer_id, true, owed_one, &owed);
    if (status != STATUS_OK) return status;
    if (owed.total == 0) { /* nothing due: because a plan is held, or nothing at all */
        status = store_credit_plan_each(db, buyer_id, false, held_one, &owed);
        if (status != STATUS_OK) return status;
        return owed.held ? STATUS_PLAN_HELD : STATUS_NOTHING_OWED;
    }
    if (amount > owed.total) return STATUS_INVALID_AMOUNT; /* never kept as an overpayment */
    int64_t credit_left = line.credit_balance;
    status = credit_wallet_covers(db, buyer_id, line.currency,
                                  amount - (credit_left < amount ? credit_left : amount));
    if (status != STATUS_OK) return status;
    struct repay_walk walk = {db,   amount,          credit_left, now_s, line.currency,
                              true, {0, 0, 0, 0, 0}, STATUS_OK};
    status = store_credit_plan_each(db, buyer_id, true, repay_one, &walk);
    walk.due_only = false;
    if (status == STATUS_OK && walk.left > 0)
        status = store_credit_plan_each(db, buyer_id, true, repay_one, &walk);
    if (status != STATUS_OK) return status;
    verify(walk.left == 0);
    *applied = walk.applied;
    status = credit_key_remember(db, buyer_id, key, request, applied, now_s);
    return status == STATUS_OK ? credit_audit(db, buyer_id, "credit.repay", applied, now_s)
                               : status;
}

enum status store_credit_payoff(struct db *db, int64_t buyer_id, int64_t order_id, int64_t amount,
                                const char *key, int64_t now_s, struct installment_amounts *applied,
                                bool *replayed) {
    verify(db != 0 && applied != 0 && replayed != 0);
    memset(applied, 0, sizeof *applied);
    char request[64];
    snprintf(request, sizeof request, "payoff:%lld:%lld", (long long)order_id, (long long)amount);
    enum status status = credit_key_find(db, buyer_id, key, request, applied, replayed);
    if (status != STATUS_OK || *replayed) return status;
    struct store_credit_plan *credit = mem_alloc(sizeof *credit);
    status = store_credit_plan_load(db, order_id, credit);
    if (status == STATUS_OK && credit->buyer_id != buyer_id) status = STATUS_UNKNOWN_ORDER;
    if (status == STATUS_OK && credit->held) status = STATUS_PLAN_HELD; /* nothing due yet */
    struct store_credit_line line;
    if (status == STATUS_OK) status = store_credit_get(db, buyer_id, &line);
    struct installment_amounts quote;
    if (status == STATUS_OK) status = installment_payoff_quote(&credit->plan, now_s, &quote);
    if (status == STATUS_OK && quote.total == 0) status = STATUS_NOTHING_OWED;
    if (status == STATUS_OK && amount != quote.total) status = STATUS_INVALID_AMOUNT;
    int64_t credit_left = status == STATUS_OK ? line.credit_balance : 0;
    if (status == STATUS_OK)
        status = credit_wallet_covers(db, buyer_id, line.currency,
                                      amount - (credit_left < amount ? credit_left : amount));
    if (status == STATUS_OK)
        status =
            credit_pay_plan(db, credit, true, amount, line.currency, &credit_left, now_s, applied);
    if (status == STATUS_OK)
        status = credit_key_remember(db, buyer_id, key, request, applied, now_s);
    if (status == STATUS_OK) status = credit_audit(db, buyer_id, "credit.payoff", applied, now_s);
    free(credit);
    return status;
}

enum status store_credit_refund(struct db *db, const struct store_order *order, int64_t amount,
                                bool from_escrow, int64_t actor_id, int64_t now_s,
                                struct installment_refund *out) {
    verify(db != 0 && order != 0 && out != 0 && strcmp(order->payment, "credit") == 0);
    struct store_credit_plan *credit = mem_alloc(sizeof *credit);
    enum status status = store_credit_plan_load(db, order->id, credit);
    if (status == STATUS_OK) status = installment_refund(&credit->plan, amount, now_s, out);
    int64_t receivable = 0, from = 0, fees = 0;
    enum ledger_kind from_kind = from_escrow ? LEDGER_ESCROW : LEDGER_PLATFORM_REVENUE;
    if (status == STATUS_OK)
        status = store_account_id(db, LEDGER_CREDIT_RECEIVABLE, order->buyer_id, order->currency,
                                  true, &receivable);
    if (status == STATUS_OK) status = store_platform_account(db, from_kind, order->currency, &from);
    if (status == STATUS_OK)
        status = store_platform_account(db, LEDGER_FEES, order->currency, &fees);
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, from_escrow ? "review_reject" : "refund");
    if (status == STATUS_OK)
        status = ledger_transfer_move(&transfer, from, from_kind, receivable,
                                      LEDGER_CREDIT_RECEIVABLE, amount, order->currency);
    int64_t transfer_id = 0;
    if (status == STATUS_OK)
        status = store_transfer_post(db, &transfer, order->id, actor_id, 0, now_s, &transfer_id);
    if (status == STATUS_OK && out->fee_returned > 0) { /* repaid fee back to the line too */
        ledger_transfer_init(&transfer, "credit_fee_return");
        status = ledger_transfer_move(&transfer, fees, LEDGER_FEES, receivable,
                                      LEDGER_CREDIT_RECEIVABLE, out->fee_returned, order->currency);
        if (status == STATUS_OK)
            status =
                store_transfer_post(db, &transfer, order->id, actor_id, 0, now_s, &transfer_id);
    }
    if (status == STATUS_OK && out->principal_cancelled > 0)
        status = credit_used_add(db, order->buyer_id, -out->principal_cancelled);
    if (status == STATUS_OK) status = store_credit_plan_save(db, order->id, &credit->plan, now_s);
    if (status == STATUS_OK && credit->held) { /* a rejected review: the plan never started */
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE credit_plans SET held = 0 WHERE order_id = ?");
        sqlite3_bind_int64(stmt, 1, order->id);
        status = db_step_done(db, stmt);
    }
    free(credit);
    return status;
}

enum status store_credit_start(struct db *db, int64_t order_id, int64_t now_s) {
    verify(db != 0);
    struct store_credit_plan *credit = mem_alloc(sizeof *credit);
    enum status status = store_credit_plan_load(db, order_id, credit);
    if (status == STATUS_OK && !credit->held) status = STATUS_DB; /* only a held plan starts */
    for (int i = 0; status == STATUS_OK && i < credit->plan.periods; i++) {
        const struct installment_period *p = &credit->plan.period[i];
        if (p->principal_paid != 0 || p->principal_cancelled != 0 || p->fee_paid != 0 ||
            p->fee_waived != 0 || p->late_fee_accrued_e4 != 0 || p->late_fee_paid != 0 ||
            p->late_fee_waived != 0)
            status = STATUS_DB; /* a held plan is never touched: a broken database */
    }
    /* the terms it was sold with, whatever the defaults are now */
    struct installment_terms terms = installment_default_terms;
    for (int i = 0; i < INSTALLMENT_PLAN_COUNT; i++)
        terms.fee_bp[i] = credit->plan.fee_bp;
    terms.grace_s = credit->plan.grace_s;
    terms.late_fee_daily_bp = credit->plan.late_fee_daily_bp;
    terms.late_fee_cap_bp = credit->plan.late_fee_cap_bp;
    struct installment_plan started;
    if (status == STATUS_OK)
        status = installment_plan_start(&terms, credit->plan.principal, credit->plan.periods, now_s,
                                        &started);
    if (status == STATUS_OK &&
        (started.fee != credit->plan.fee || started.periods != credit->plan.periods))
        status = STATUS_DB; /* the terms a plan was sold with never change */
    if (status == STATUS_OK) {
        sqlite3_stmt *stmt = db_prepare(db, "UPDATE credit_plans SET held = 0 WHERE order_id = ?");
        sqlite3_bind_int64(stmt, 1, order_id);
        status = db_step_done(db, stmt);
    }
    if (status == STATUS_OK) status = store_credit_plan_save(db, order_id, &started, now_s);
    free(credit);
    return status;
}
