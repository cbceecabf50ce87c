/* check.c — verifies every invariant of the design against the database, in one read
 * transaction (a consistent snapshot, safe while a server is running). Each invariant is a
 * query counting violations; the audit chain is recomputed entry by entry. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "store/store.h"

#define CHECK_TEXT(x) #x
#define CHECK_SQL_NUMBER(x) CHECK_TEXT(x) /* a limit's expansion as SQL text */
#define CHECK_WINDOW_S CHECK_SQL_NUMBER(LIMIT_IDEMPOTENCY_WINDOW_S)

struct check_rule {
    const char *name;
    const char *sql; /* returns one integer: the number of violations */
};

static const struct check_rule check_rules[] = {
    {"codes_sold_at_most_once",
     "SELECT (SELECT count(*) FROM (SELECT hash FROM codes GROUP BY hash HAVING count(*) > 1))"
     " + (SELECT count(*) FROM codes WHERE (state = 1) != (order_id IS NOT NULL))"
     " + (SELECT count(*) FROM codes c LEFT JOIN orders o ON o.id = c.order_id"
     "    WHERE c.order_id IS NOT NULL AND (o.id IS NULL OR o.product_id != c.product_id))"},
    /* every reference names a row that exists: the writer does not check them statement by
     * statement (store/writer.c), so they are verified here */
    {"references_intact", "SELECT count(*) FROM pragma_foreign_key_check"},
    /* delivered, held (review) and unpaid (pending_payment) orders hold exactly their
     * quantity; others none */
    {"orders_hold_exactly_their_codes",
     "SELECT count(*) FROM orders o LEFT JOIN (SELECT order_id, count(*) n FROM codes"
     " WHERE order_id IS NOT NULL GROUP BY order_id) c ON c.order_id = o.id"
     " WHERE CASE WHEN o.status = 'delivered' OR o.status = 'review'"
     "   OR o.status = 'pending_payment' OR o.status = 'refunded'"
     "   THEN coalesce(c.n, 0) != o.quantity ELSE coalesce(c.n, 0) != 0 END"},
    /* an order's code_ids lists exactly the codes that name it: each listed code exists and
     * names the order, as many codes name it as it lists (so no code is listed twice), and
     * the list ascends (reveals read it in its order); an order whose list is not a JSON
     * array of integer ids counts too */
    {"orders_list_their_codes",
     "SELECT (SELECT count(*) FROM orders WHERE code_ids IS NOT NULL"
     "   AND (json_valid(code_ids) = 0 OR json_type(code_ids) != 'array'))"
     " + (SELECT count(*) FROM orders o,"
     "   json_each(CASE WHEN json_valid(o.code_ids) THEN o.code_ids END) a,"
     "   json_each(CASE WHEN json_valid(o.code_ids) THEN o.code_ids END) b"
     "   WHERE b.key = a.key + 1 AND b.value <= a.value)"
     " + (SELECT count(*) FROM orders o,"
     "   json_each(CASE WHEN json_valid(o.code_ids) THEN o.code_ids END) j"
     "   LEFT JOIN codes c ON c.id = j.value"
     "   WHERE j.type != 'integer' OR c.id IS NULL OR c.order_id IS NOT o.id)"
     " + (SELECT count(*) FROM orders o LEFT JOIN (SELECT order_id, count(*) n FROM codes"
     "   WHERE order_id IS NOT NULL GROUP BY order_id) c ON c.order_id = o.id"
     "   WHERE coalesce(c.n, 0) != CASE WHEN json_valid(o.code_ids)"
     "     THEN coalesce(json_array_length(o.code_ids), 0) ELSE 0 END)"},
    /* money taken (from the wallet — order, order_hold — or through a gateway — payment,
     * payment_hold) is the amount for delivered and held orders, and was given back whole
     * (review_reject) for cancelled ones; unpaid and expired orders took nothing */
    {"paid_orders_delivered",
     "SELECT count(*) FROM orders o LEFT JOIN (SELECT t.order_id,"
     "   sum(CASE WHEN t.kind = 'order' OR t.kind = 'order_hold' OR t.kind = 'payment'"
     "     OR t.kind = 'payment_hold' THEN p.amount ELSE 0 END) paid,"
     "   sum(CASE WHEN t.kind = 'review_reject' THEN p.amount ELSE 0 END) returned,"
     "   sum(CASE WHEN t.kind = 'order' OR t.kind = 'payment' THEN 1 ELSE 0 END) direct"
     " FROM transfers t JOIN postings p ON p.transfer_id = t.id"
     " WHERE t.order_id IS NOT NULL AND p.amount > 0 GROUP BY t.order_id) x ON x.order_id = o.id"
     " WHERE CASE o.status"
     "   WHEN 'delivered' THEN coalesce(x.paid, 0) != o.amount OR coalesce(x.returned, 0) != 0"
     "   WHEN 'refunded' THEN coalesce(x.paid, 0) != o.amount OR coalesce(x.returned, 0) != 0"
     "   WHEN 'review' THEN coalesce(x.paid, 0) != o.amount OR coalesce(x.returned, 0) != 0"
     "     OR coalesce(x.direct, 0) != 0"
     "   WHEN 'cancelled' THEN coalesce(x.paid, 0) != coalesce(x.returned, 0)"
     "   ELSE coalesce(x.paid, 0) != 0 END"},
    /* the escrow holds exactly the money of the orders held for review */
    {"escrow_holds_reviews",
     "SELECT count(*) FROM (SELECT currency, sum(balance) b FROM accounts WHERE kind = 'escrow'"
     "   GROUP BY currency) a FULL OUTER JOIN (SELECT currency, sum(amount) s FROM orders"
     "   WHERE status = 'review' GROUP BY currency) r ON r.currency = a.currency"
     " WHERE coalesce(a.b, 0) != coalesce(r.s, 0)"},
    /* every decided event names an action, and an order it decided exists */
    {"risk_decisions_valid",
     "SELECT count(*) FROM risk_events e LEFT JOIN orders o ON o.id = e.order_id"
     " WHERE (e.order_id IS NOT NULL AND (o.id IS NULL OR e.action IS NULL))"
     "    OR (e.action IS NOT NULL AND (e.rules IS NULL OR e.features IS NULL))"},
    /* an order names the one event that decided it (orders.risk_event_id), and that event
     * names the order */
    {"risk_events_named",
     "SELECT (SELECT count(*) FROM risk_events e JOIN orders o ON o.id = e.order_id"
     "   WHERE o.risk_event_id IS NOT e.id)"
     " + (SELECT count(*) FROM orders o LEFT JOIN risk_events e ON e.id = o.risk_event_id"
     "   WHERE o.risk_event_id IS NOT NULL AND (e.id IS NULL OR e.order_id IS NOT o.id))"},
    /* a gateway order that was paid has exactly one applied payment of its amount and
     * currency; no other order has one */
    {"payments_match_orders",
     "SELECT count(*) FROM orders o LEFT JOIN (SELECT order_id, count(*) n, sum(amount) s,"
     "   min(currency) c FROM payments WHERE outcome = 'applied' GROUP BY order_id) p"
     "   ON p.order_id = o.id"
     " WHERE CASE WHEN o.payment = 'gateway' AND o.status != 'pending_payment'"
     "   AND o.status != 'expired'"
     "   THEN coalesce(p.n, 0) != 1 OR p.s != o.amount OR p.c != o.currency"
     "   ELSE coalesce(p.n, 0) != 0 END"},
    /* an order's refunds that did not fail add up to its refunded amount, booked as such
     * (refund less refund_failed), never above its amount or unit_price per code marked
     * invalid; it is 'refunded' exactly when all of it was */
    {"refunds_match_orders",
     "SELECT count(*) FROM orders o"
     " LEFT JOIN (SELECT order_id, sum(amount) s FROM refunds WHERE kind = 'order'"
     "   AND status != 'failed' GROUP BY order_id) r ON r.order_id = o.id"
     " LEFT JOIN (SELECT order_id, count(*) n FROM code_reports GROUP BY order_id) c"
     "   ON c.order_id = o.id"
     " LEFT JOIN (SELECT t.order_id, sum(CASE t.kind WHEN 'refund' THEN p.amount"
     "   ELSE -p.amount END) s FROM transfers t JOIN postings p ON p.transfer_id = t.id"
     "   WHERE (t.kind = 'refund' OR t.kind = 'refund_failed') AND p.amount > 0"
     "   GROUP BY t.order_id) b ON b.order_id = o.id"
     " WHERE o.refunded != coalesce(r.s, 0) OR o.refunded != coalesce(b.s, 0)"
     "   OR o.refunded > o.amount OR o.refunded > o.unit_price * coalesce(c.n, 0)"
     "   OR (o.status = 'refunded') != (o.refunded = o.amount)"},
    /* a credit line's used amount is the principal still owed on its buyer's plans; each
     * plan's principal is its order's amount and its periods sum to it; the receivable
     * account owes no more than that principal (what refunds gave back is on top) */
    {"credit_matches_plans",
     "SELECT (SELECT count(*) FROM credit_lines l LEFT JOIN (SELECT p.buyer_id,"
     "   sum(d.principal - d.principal_paid - d.principal_cancelled) owed FROM credit_plans p"
     "   JOIN credit_periods d ON d.order_id = p.order_id GROUP BY p.buyer_id) o"
     "   ON o.buyer_id = l.user_id LEFT JOIN accounts a ON a.kind = 'credit_receivable'"
     "   AND a.owner_id = l.user_id AND a.currency = l.currency"
     "   WHERE l.used != coalesce(o.owed, 0) OR coalesce(a.balance, 0) + l.used < 0)"
     " + (SELECT count(*) FROM credit_plans p JOIN orders o ON o.id = p.order_id"
     "   LEFT JOIN (SELECT order_id, sum(principal) s, sum(fee) f FROM credit_periods"
     "   GROUP BY order_id) d ON d.order_id = p.order_id"
     "   WHERE o.payment != 'credit' OR p.principal != o.amount OR coalesce(d.s, 0) != p.principal"
     "   OR coalesce(d.f, 0) != p.fee)"
     " + (SELECT count(*) FROM orders o LEFT JOIN credit_plans p ON p.order_id = o.id"
     "   WHERE o.payment = 'credit' AND p.order_id IS NULL)"
     /* a closed plan owes no principal or fee; a held one is its order's review */
     " + (SELECT count(*) FROM credit_plans p JOIN orders o ON o.id = p.order_id"
     "   JOIN (SELECT order_id, sum(principal - principal_paid - principal_cancelled + fee"
     "   - fee_paid - fee_waived) owed FROM credit_periods GROUP BY order_id) d"
     "   ON d.order_id = p.order_id"
     "   WHERE (p.closed = 1 AND d.owed != 0) OR (p.held = 1) != (o.status = 'review'))"
     /* a held plan is untouched: nothing paid, cancelled, waived or accrued, not closed */
     " + (SELECT count(*) FROM credit_plans p JOIN credit_periods d ON d.order_id = p.order_id"
     "   WHERE p.held = 1 AND (p.closed = 1 OR d.principal_paid != 0 OR"
     "   d.principal_cancelled != 0 OR d.fee_paid != 0 OR d.fee_waived != 0 OR"
     "   d.late_fee_accrued_e4 != 0 OR d.late_fee_paid != 0 OR d.late_fee_waived != 0))"},
    {"stock_matches_free_codes",
     "SELECT count(*) FROM products p LEFT JOIN (SELECT product_id, count(*) n FROM codes"
     " WHERE state = 0 GROUP BY product_id) c ON c.product_id = p.id"
     " WHERE p.stock != coalesce(c.n, 0)"},
    {"transfers_balanced",
     "SELECT (SELECT count(*) FROM (SELECT transfer_id FROM postings"
     "   GROUP BY transfer_id, currency HAVING sum(amount) != 0))"
     " + (SELECT count(*) FROM transfers t WHERE"
     "   (SELECT count(*) FROM postings p WHERE p.transfer_id = t.id) < 2)"
     " + (SELECT count(*) FROM postings p JOIN accounts a ON a.id = p.account_id"
     "   WHERE a.currency != p.currency)"},
    {"balances_equal_postings",
     "SELECT count(*) FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) s FROM postings"
     " GROUP BY account_id) p ON p.account_id = a.id WHERE a.balance != coalesce(p.s, 0)"},
    {"no_negative_wallet",
     "SELECT count(*) FROM accounts WHERE balance < 0"
     " AND kind IN ('buyer_wallet', 'reseller_payable', 'supplier_payable', 'escrow')"},
    /* an order keeps its Idempotency-Key with the hash (STORE_REQUEST_HASH_BYTES) of the
     * request that first came with it */
    {"idempotency_records_valid",
     "SELECT count(*) FROM orders WHERE (idempotency_key IS NULL) != (request_hash IS NULL)"
     " OR length(request_hash) != 32 OR length(idempotency_key) = 0"},
    /* a buyer's key answers for one order within the window (the writer's index keeps it;
     * no database index does): a second order under it only once the first is older */
    {"idempotency_keys_unique",
     "SELECT count(*) FROM (SELECT created_at - lag(created_at) OVER (PARTITION BY buyer_id,"
     " idempotency_key ORDER BY created_at, id) AS gap FROM orders"
     " WHERE idempotency_key IS NOT NULL) WHERE gap <= " CHECK_WINDOW_S},
};

static enum status check_count(struct db *db, const char *sql, int64_t *out) {
    sqlite3_stmt *stmt = db_prepare(db, sql);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return STATUS_DB;
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

static enum status check_audit_chain(struct db *db, int64_t *violations, int64_t *entries) {
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT id, at, actor_id, action, object, detail, prev_hash, hash FROM audit ORDER BY id");
    unsigned char prev[VAULT_AUDIT_HASH_BYTES] = {0};
    int64_t expected_id = 1;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        (*entries)++;
        int64_t id = sqlite3_column_int64(stmt, 0);
        unsigned char hash[VAULT_AUDIT_HASH_BYTES];
        vault_audit_hash(prev, id, sqlite3_column_int64(stmt, 1), sqlite3_column_int64(stmt, 2),
                         db_text(stmt, 3), db_text(stmt, 4), db_text(stmt, 5), hash);
        bool ok = id == expected_id && sqlite3_column_bytes(stmt, 6) == VAULT_AUDIT_HASH_BYTES &&
                  memcmp(sqlite3_column_blob(stmt, 6), prev, sizeof prev) == 0 &&
                  sqlite3_column_bytes(stmt, 7) == VAULT_AUDIT_HASH_BYTES &&
                  memcmp(sqlite3_column_blob(stmt, 7), hash, sizeof hash) == 0;
        if (!ok) (*violations)++;
        if (sqlite3_column_bytes(stmt, 7) == VAULT_AUDIT_HASH_BYTES) {
            memcpy(prev, sqlite3_column_blob(stmt, 7), sizeof prev); /* resync after a break */
        }
        expected_id = id + 1;
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? STATUS_OK : STATUS_DB;
}

static enum status check_counts(struct db *db, struct buf *out) {
    static const char *const tables[] = {"products",  "codes",    "orders",
                                         "transfers", "accounts", "users"};
    static const char *const sqls[] = {
        "SELECT count(*) FROM products", "SELECT count(*) FROM codes",
        "SELECT count(*) FROM orders",   "SELECT count(*) FROM transfers",
        "SELECT count(*) FROM accounts", "SELECT count(*) FROM users"};
    _Static_assert(sizeof tables / sizeof tables[0] == sizeof sqls / sizeof sqls[0], "tables");
    enum status status = buf_printf(out, ",\"counts\":{");
    for (size_t i = 0; status == STATUS_OK && i < sizeof sqls / sizeof sqls[0]; i++) {
        int64_t n = 0;
        status = check_count(db, sqls[i], &n);
        if (status == STATUS_OK) {
            status = buf_printf(out, "%s\"%s\":%lld", i ? "," : "", tables[i], (long long)n);
        }
    }
    int64_t sold = 0;
    if (status == STATUS_OK)
        status = check_count(db, "SELECT count(*) FROM codes WHERE state = 1", &sold);
    if (status == STATUS_OK) status = buf_printf(out, ",\"codes_sold\":%lld}", (long long)sold);
    return status;
}

enum status store_check(struct db *db, struct buf *out, bool *ok_out) {
    verify(db != 0 && out != 0 && ok_out != 0);
    enum status status = db_begin_read(db);
    if (status != STATUS_OK) return status;
    bool all_ok = true;
    struct buf broken;
    buf_init(&broken, 4096);
    status = buf_printf(out, "{\"invariants\":{");
    size_t rules = sizeof check_rules / sizeof check_rules[0];
    for (size_t i = 0; status == STATUS_OK && i <= rules; i++) {
        int64_t violations = 0, entries = 0;
        const char *name = i < rules ? check_rules[i].name : "audit_chain_intact";
        status = i < rules ? check_count(db, check_rules[i].sql, &violations)
                           : check_audit_chain(db, &violations, &entries);
        if (status != STATUS_OK) break;
        if (violations != 0) {
            all_ok = false;
            status = buf_printf(&broken, "%s\"%s\"", broken.len ? "," : "", name);
        }
        if (status == STATUS_OK) {
            status = buf_printf(out, "%s\"%s\":{\"ok\":%s,\"violations\":%lld}", i ? "," : "", name,
                                violations ? "false" : "true", (long long)violations);
        }
    }
    if (status == STATUS_OK) status = buf_printf(out, "}");
    if (status == STATUS_OK) status = check_counts(db, out);
    if (status == STATUS_OK) {
        status = buf_printf(out, ",\"broken\":[%s],\"ok\":%s}", broken.len ? broken.data : "",
                            all_ok ? "true" : "false");
    }
    buf_free(&broken);
    db_rollback(db);
    *ok_out = all_ok;
    return status;
}
