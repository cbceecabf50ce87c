/* orders.c — the wallet order transaction and order reads. store_order_place does the whole
 * order inside the caller's transaction (a writer savepoint): any failure leaves nothing,
 * because the savepoint is rolled back. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "base/log.h"
#include "store/store.h"

#define ORDER_COLUMNS                                                                              \
    "id, buyer_id, sku, product_name, unit_price, face_value, currency, liquidity, quantity, "     \
    "amount, payment, status, created_at, coalesce(provider, ''), coalesce(expires_at, 0), hold, " \
    "refunded"
#define ORDER_COLUMN_COUNT 17 /* store_order_row reads columns 0 … 16 */

static void store_order_row(sqlite3_stmt *stmt, struct store_order *order) {
    order->id = sqlite3_column_int64(stmt, 0);
    order->buyer_id = sqlite3_column_int64(stmt, 1);
    (void)text_copy(order->sku, sizeof order->sku, db_text(stmt, 2));
    (void)text_copy(order->product_name, sizeof order->product_name, db_text(stmt, 3));
    order->unit_price = sqlite3_column_int64(stmt, 4);
    order->face_value = sqlite3_column_int64(stmt, 5);
    (void)text_copy(order->currency, sizeof order->currency, db_text(stmt, 6));
    (void)text_copy(order->liquidity, sizeof order->liquidity, db_text(stmt, 7));
    order->quantity = sqlite3_column_int64(stmt, 8);
    order->amount = sqlite3_column_int64(stmt, 9);
    (void)text_copy(order->payment, sizeof order->payment, db_text(stmt, 10));
    (void)text_copy(order->status, sizeof order->status, db_text(stmt, 11));
    order->created_at = sqlite3_column_int64(stmt, 12);
    (void)text_copy(order->provider, sizeof order->provider, db_text(stmt, 13));
    order->expires_at = sqlite3_column_int64(stmt, 14);
    order->hold = sqlite3_column_int(stmt, 15) != 0;
    order->refunded = sqlite3_column_int64(stmt, 16);
}

void store_order_result_free(struct store_order_result *result) {
    verify(result != 0);
    if (result->codes != 0) {
        verify(result->code_count >= 0);
        sodium_memzero(result->codes, (size_t)result->code_count * sizeof result->codes[0]);
        free(result->codes);
    }
    result->codes = 0;
    result->code_count = 0;
}

enum status store_order_get(struct db *db, int64_t order_id, struct store_order *order) {
    verify(db != 0 && order != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT " ORDER_COLUMNS " FROM orders WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_ORDER;
    if (status != STATUS_OK) return status;
    store_order_row(stmt, order);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

static void store_sealed_row(sqlite3_stmt *stmt, struct store_sealed_code *code) {
    code->id = sqlite3_column_int64(stmt, 0);
    int bytes = sqlite3_column_bytes(stmt, 1);
    verify(bytes > VAULT_SEAL_OVERHEAD && (size_t)bytes <= sizeof code->sealed);
    memcpy(code->sealed, sqlite3_column_blob(stmt, 1), (size_t)bytes);
    code->len = (size_t)bytes;
}

enum status store_order_codes(struct db *db, int64_t order_id, struct store_sealed_code *codes,
                              int capacity, int *count_out) {
    verify(db != 0 && codes != 0 && count_out != 0);
    verify(capacity > 0);
    /* the codes the order lists and that name it, in list order: ascending by id as the
     * order's INSERT wrote it (a list out of step with the codes is a broken database:
     * `tessera check`, and the count its callers compare) */
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT c.id, c.sealed FROM orders o, json_each(o.code_ids) j"
                       " JOIN codes c ON c.id = j.value WHERE o.id = ?1 AND c.order_id = ?1");
    sqlite3_bind_int64(stmt, 1, order_id);
    int count = 0, rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == capacity) { /* a broken database (see `tessera check`), not a bug here */
            sqlite3_reset(stmt);
            log_error("store: order %lld holds more codes than its quantity", (long long)order_id);
            return STATUS_DB;
        }
        store_sealed_row(stmt, &codes[count++]);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return STATUS_DB;
    *count_out = count;
    return STATUS_OK;
}

static enum status store_audit_reveal(struct db *db, const struct store_order *order,
                                      int64_t actor_id, const char *action, int64_t now_s) {
    char detail[128];
    size_t at = text_put(detail, sizeof detail, 0, "{\"codes\":");
    at = text_put_int64(detail, sizeof detail, at, order->quantity);
    at = text_put(detail, sizeof detail, at, ",\"sku\":\"");
    at = text_put(detail, sizeof detail, at, order->sku);
    (void)text_put(detail, sizeof detail, at, "\"}");
    return store_audit_of(db, actor_id, action, "order", order->id, detail, now_s);
}

/* The codes of result->order (read, delivered, the buyer's), audited as shown. */
static enum status store_order_reveal_read(struct db *db, int64_t buyer_id, int64_t now_s,
                                           struct store_order_result *result) {
    const struct store_order *order = &result->order;
    verify(order->buyer_id == buyer_id && strcmp(order->status, "delivered") == 0);
    store_order_result_free(result);
    result->codes = mem_alloc((size_t)order->quantity * sizeof result->codes[0]);
    enum status status =
        store_order_codes(db, order->id, result->codes, (int)order->quantity, &result->code_count);
    if (status != STATUS_OK) return status;
    if (result->code_count != order->quantity) {
        log_error("store: order %lld holds %d codes for quantity %lld", (long long)order->id,
                  result->code_count, (long long)order->quantity);
        return STATUS_DB;
    }
    return store_audit_reveal(db, order, buyer_id, "codes.reveal", now_s);
}

enum status store_order_reveal(struct db *db, int64_t order_id, int64_t buyer_id, int64_t now_s,
                               struct store_order_result *result) {
    verify(db != 0 && result != 0);
    enum status status = store_order_get(db, order_id, &result->order);
    if (status != STATUS_OK) return status;
    if (result->order.buyer_id != buyer_id) return STATUS_UNKNOWN_ORDER;
    if (strcmp(result->order.status, "delivered") != 0) return STATUS_ORDER_NOT_DELIVERED;
    return store_order_reveal_read(db, buyer_id, now_s, result);
}

/* The first answer to this key, if any: conflict, replay, or not found. The order is found
 * through the writer's index of keys (store/idempotency.c), then read with its request
 * hash in one query. */
static enum status store_order_idempotent(struct db *db, const struct store_order_request *request,
                                          struct store_order_result *result) {
    int64_t order_id = 0;
    enum status status = store_idempotency_find(db, request->buyer_id, request->idempotency_key,
                                                request->now_s, &order_id);
    if (status != STATUS_OK) return status;
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT " ORDER_COLUMNS ", request_hash FROM orders WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_DB; /* found a moment ago */
    if (status != STATUS_OK) return status;
    const int HASH = ORDER_COLUMN_COUNT; /* the column after ORDER_COLUMNS */
    verify(sqlite3_column_count(stmt) == ORDER_COLUMN_COUNT + 1);
    bool same = sqlite3_column_bytes(stmt, HASH) == STORE_REQUEST_HASH_BYTES &&
                memcmp(sqlite3_column_blob(stmt, HASH), request->request_hash,
                       STORE_REQUEST_HASH_BYTES) == 0;
    if (same) store_order_row(stmt, &result->order);
    sqlite3_reset(stmt);
    if (!same) return STATUS_IDEMPOTENCY_CONFLICT;
    result->replayed = true;
    if (strcmp(result->order.status, "delivered") != 0) return STATUS_OK; /* held: no codes */
    return store_order_reveal_read(db, request->buyer_id, request->now_s, result);
}

/* Picks quantity free, unexpired codes of the product, oldest first. */
static enum status store_order_pick(struct db *db, const struct store_product *product,
                                    const struct store_order_request *request,
                                    struct store_order_result *result) {
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT id, sealed FROM codes WHERE product_id = ? AND state = 0 "
                       "AND (expires_at IS NULL OR expires_at > ?) ORDER BY id LIMIT ?");
    sqlite3_bind_int64(stmt, 1, product->id);
    sqlite3_bind_int64(stmt, 2, request->now_s);
    sqlite3_bind_int64(stmt, 3, request->quantity);
    store_order_result_free(result);
    result->codes = mem_alloc((size_t)request->quantity * sizeof result->codes[0]);
    int count = 0, rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        verify(count < request->quantity);
        store_sealed_row(stmt, &result->codes[count++]);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return STATUS_DB;
    result->code_count = count;
    return count == request->quantity ? STATUS_OK : STATUS_OUT_OF_STOCK;
}

/* How the order is paid: "gateway", "credit" or "wallet". */
static const char *store_order_payment(const struct store_order_request *request) {
    verify(request->provider == 0 || request->credit_periods == 0);
    return request->provider != 0 ? "gateway" : request->credit_periods > 0 ? "credit" : "wallet";
}

/* The JSON array of the picked codes' ids (orders.code_ids), ascending as picked. */
static void store_order_code_list(const struct store_order_result *picked, char *out, size_t size) {
    size_t at = text_put(out, size, 0, "[");
    for (int i = 0; i < picked->code_count; i++) {
        if (i > 0) at = text_put(out, size, at, ",");
        at = text_put_int64(out, size, at, picked->codes[i].id);
    }
    at = text_put(out, size, at, "]");
    verify(at < size); /* sized for LIMIT_ORDER_QUANTITY ids */
}

/* Inserts the order holding the codes picked into result; fills result->order. */
static enum status store_order_insert(struct db *db, const struct store_product *product,
                                      const struct store_order_request *request, int64_t amount,
                                      const char *order_status, bool hold,
                                      struct store_order_result *result) {
    struct store_order *order = &result->order;
    bool gateway = request->provider != 0;
    int64_t expires_at = gateway ? request->now_s + request->pay_timeout_s : 0;
    char code_ids[LIMIT_ORDER_QUANTITY * 21 + 2]; /* "[" id (≤ 20 digits) "," … "]" */
    store_order_code_list(result, code_ids, sizeof code_ids);
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO orders(buyer_id, product_id, sku, product_name, unit_price, face_value, "
            "currency, liquidity, quantity, amount, payment, status, created_at, provider, "
            "expires_at, hold, idempotency_key, request_hash, risk_event_id, code_ids) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(stmt, 1, request->buyer_id);
    sqlite3_bind_int64(stmt, 2, product->id);
    db_bind_text(stmt, 3, product->sku);
    db_bind_text(stmt, 4, product->name);
    sqlite3_bind_int64(stmt, 5, product->price);
    sqlite3_bind_int64(stmt, 6, product->face_value);
    db_bind_text(stmt, 7, product->currency);
    db_bind_text(stmt, 8, product->liquidity);
    sqlite3_bind_int64(stmt, 9, request->quantity);
    sqlite3_bind_int64(stmt, 10, amount);
    db_bind_text(stmt, 11, store_order_payment(request));
    db_bind_text(stmt, 12, order_status);
    sqlite3_bind_int64(stmt, 13, request->now_s);
    if (gateway) {
        db_bind_text(stmt, 14, request->provider);
        sqlite3_bind_int64(stmt, 15, expires_at);
    }
    sqlite3_bind_int(stmt, 16, hold ? 1 : 0);
    db_bind_text(stmt, 17, request->idempotency_key);
    sqlite3_bind_blob(stmt, 18, request->request_hash, STORE_REQUEST_HASH_BYTES, SQLITE_STATIC);
    if (request->risk_event_id > 0) sqlite3_bind_int64(stmt, 19, request->risk_event_id);
    db_bind_text(stmt, 20, code_ids);
    enum status status = db_step_done(db, stmt);
    if (status != STATUS_OK) return status;
    memset(order, 0, sizeof *order);
    order->id = sqlite3_last_insert_rowid(db->handle);
    status = store_idempotency_add(db, request->buyer_id, request->idempotency_key, order->id,
                                   request->now_s);
    if (status != STATUS_OK) return status;
    order->buyer_id = request->buyer_id;
    (void)text_copy(order->sku, sizeof order->sku, product->sku);
    (void)text_copy(order->product_name, sizeof order->product_name, product->name);
    order->unit_price = product->price;
    order->face_value = product->face_value;
    memcpy(order->currency, product->currency, sizeof order->currency);
    (void)text_copy(order->liquidity, sizeof order->liquidity, product->liquidity);
    order->quantity = request->quantity;
    order->amount = amount;
    (void)text_copy(order->payment, sizeof order->payment, store_order_payment(request));
    (void)text_copy(order->status, sizeof order->status, order_status);
    order->created_at = request->now_s;
    if (gateway) (void)text_copy(order->provider, sizeof order->provider, request->provider);
    order->expires_at = expires_at;
    order->hold = hold;
    return STATUS_OK;
}

/* Marks the picked codes sold to the order and lowers the cached stock. */
static enum status store_order_take_codes(struct db *db, const struct store_product *product,
                                          struct store_order_result *result) {
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE codes SET state = 1, order_id = ? WHERE id = ? AND state = 0");
    for (int i = 0; i < result->code_count; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, result->order.id);
        sqlite3_bind_int64(stmt, 2, result->codes[i].id);
        enum status status = db_step_done(db, stmt);
        if (status != STATUS_OK) return status;
        verify(sqlite3_changes(db->handle) == 1); /* single writer: a free code stays free */
    }
    return store_stock_change(db, product->id, -(int64_t)result->code_count);
}

enum status store_order_release(struct db *db, int64_t order_id, const char *from_status,
                                const char *to_status) {
    verify(db != 0 && from_status != 0 && to_status != 0);
    sqlite3_stmt *stmt = db_prepare(db, "SELECT product_id, quantity FROM orders "
                                        "WHERE id = ? AND status = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    db_bind_text(stmt, 2, from_status);
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    int64_t product_id = sqlite3_column_int64(stmt, 0), quantity = sqlite3_column_int64(stmt, 1);
    sqlite3_reset(stmt);
    /* each listed code, by its id (the list is read as the updates go: they write codes) */
    sqlite3_stmt *list =
        db_prepare(db, "SELECT j.value FROM orders o, json_each(o.code_ids) j WHERE o.id = ?");
    sqlite3_bind_int64(list, 1, order_id);
    sqlite3_stmt *free_code = db_prepare(
        db, "UPDATE codes SET state = 0, order_id = NULL WHERE id = ? AND order_id = ? AND "
            "state = 1");
    int64_t released = 0;
    int rc = 0;
    while (status == STATUS_OK && (rc = sqlite3_step(list)) == SQLITE_ROW) {
        sqlite3_reset(free_code);
        sqlite3_bind_int64(free_code, 1, sqlite3_column_int64(list, 0));
        sqlite3_bind_int64(free_code, 2, order_id);
        status = db_step_done(db, free_code);
        if (status == STATUS_OK && sqlite3_changes(db->handle) != 1) status = STATUS_DB;
        released++;
    }
    sqlite3_reset(list);
    if (status == STATUS_OK && rc != SQLITE_DONE) status = STATUS_DB;
    if (status == STATUS_OK && (released != quantity || quantity > LIMIT_ORDER_QUANTITY))
        status = STATUS_DB;
    if (status != STATUS_OK) { /* a list out of step with its codes: `tessera check` names it */
        log_error("store: order %lld does not hold the codes it lists", (long long)order_id);
        return status;
    }
    status = store_stock_change(db, product_id, quantity);
    if (status != STATUS_OK) return status;
    stmt = db_prepare(db, "UPDATE orders SET status = ?, code_ids = NULL WHERE id = ?");
    db_bind_text(stmt, 1, to_status);
    sqlite3_bind_int64(stmt, 2, order_id);
    status = db_step_done(db, stmt);
    if (status == STATUS_OK) verify(sqlite3_changes(db->handle) == 1); /* read above */
    return status;
}

/* The buyer's wallet, checked before anything is written: an order that cannot be paid
 * fails without writes (see writer.h). */
static enum status store_order_wallet(struct db *db, const struct store_order_request *request,
                                      const char *currency, int64_t amount, int64_t *wallet_id) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id, balance FROM accounts WHERE kind = "
                                        "'buyer_wallet' AND owner_id = ? AND currency = ?");
    sqlite3_bind_int64(stmt, 1, request->buyer_id);
    db_bind_text(stmt, 2, currency);
    enum status status = db_step_row(db, stmt);
    if (status == STATUS_NOT_FOUND) return STATUS_INSUFFICIENT_FUNDS;
    if (status != STATUS_OK) return status;
    *wallet_id = sqlite3_column_int64(stmt, 0);
    int64_t balance = sqlite3_column_int64(stmt, 1);
    sqlite3_reset(stmt);
    return balance >= amount ? STATUS_OK : STATUS_INSUFFICIENT_FUNDS;
}

/* Delivered: wallet → platform revenue ("order"). Held for review: wallet → escrow
 * ("order_hold"), until a person approves (escrow → revenue) or rejects (escrow → wallet). */
static enum status store_order_pay(struct db *db, const struct store_order_request *request,
                                   const struct store_order *order, int64_t wallet, bool hold) {
    enum ledger_kind to_kind = hold ? LEDGER_ESCROW : LEDGER_PLATFORM_REVENUE;
    enum ledger_kind from_kind = LEDGER_BUYER_WALLET;
    int64_t to = 0, from = wallet;
    enum status status = store_platform_account(db, to_kind, order->currency, &to);
    if (status == STATUS_OK && request->credit_periods > 0) { /* the credit line pays */
        from_kind = LEDGER_CREDIT_RECEIVABLE;
        status = store_account_id(db, from_kind, request->buyer_id, order->currency, true, &from);
    }
    if (status != STATUS_OK) return status;
    struct ledger_transfer transfer;
    ledger_transfer_init(&transfer, hold ? "order_hold" : "order");
    status = ledger_transfer_move(&transfer, from, from_kind, to, to_kind, order->amount,
                                  order->currency);
    if (status != STATUS_OK) return status;
    int64_t transfer_id = 0;
    return store_transfer_post(db, &transfer, order->id, request->buyer_id, 0, request->now_s,
                               &transfer_id);
}

enum status store_order_prepare(struct db *db, const struct store_order_request *request,
                                struct store_order_plan *plan, struct store_order_result *result) {
    verify(db != 0 && request != 0 && plan != 0 && result != 0);
    verify(request->quantity > 0 && request->quantity <= LIMIT_ORDER_QUANTITY);
    result->replayed = false;
    enum status status = store_order_idempotent(db, request, result);
    if (status != STATUS_NOT_FOUND) return status;
    status = store_product_cached(db, request->sku, &plan->product);
    if (status != STATUS_OK) return status;
    status = money_mul(plan->product.price, request->quantity, &plan->amount);
    if (status != STATUS_OK) return status;
    /* Every check comes before the first write (see writer.h); credit never buys goods that
     * are as good as cash (COMPLIANCE.md), whether or not they are in stock. */
    if (request->credit_periods > 0 && strcmp(plan->product.liquidity, "high") == 0)
        return STATUS_CREDIT_NOT_ALLOWED;
    status = store_order_pick(db, &plan->product, request, result);
    plan->wallet_id = 0;
    if (status == STATUS_OK && request->credit_periods > 0) {
        int64_t fee_bp = 0; /* only whether the terms know these periods */
        status = installment_fee_bp(&installment_default_terms, request->credit_periods, &fee_bp);
        if (status == STATUS_OK)
            status =
                store_credit_can_buy(db, request->buyer_id, plan->product.currency, plan->amount);
    } else if (status == STATUS_OK && request->provider == 0) {
        status =
            store_order_wallet(db, request, plan->product.currency, plan->amount, &plan->wallet_id);
    }
    if (status != STATUS_OK) store_order_result_free(result);
    return status;
}

enum status store_order_commit(struct db *db, const struct store_order_request *request,
                               const struct store_order_plan *plan,
                               enum store_order_outcome outcome,
                               struct store_order_result *result) {
    verify(db != 0 && request != 0 && plan != 0 && result != 0 && !result->replayed);
    verify(result->code_count == request->quantity);
    bool hold = outcome == STORE_ORDER_REVIEW, gateway = request->provider != 0;
    verify(!gateway || request->pay_timeout_s > 0);
    const char *order_status = gateway ? "pending_payment" : hold ? "review" : "delivered";
    enum status status = store_order_insert(db, &plan->product, request, plan->amount, order_status,
                                            gateway && hold, result);
    if (status == STATUS_OK) status = store_order_take_codes(db, &plan->product, result);
    if (status == STATUS_OK && !gateway) {
        status = store_order_pay(db, request, &result->order, plan->wallet_id, hold);
    }
    if (status == STATUS_OK && request->credit_periods > 0)
        status =
            store_credit_open(db, &result->order, request->credit_periods, hold, request->now_s);
    if (status == STATUS_OK) {
        const char *action = gateway ? "order.pending" : hold ? "order.hold" : "order.deliver";
        status = store_audit_reveal(db, &result->order, request->buyer_id, action, request->now_s);
    }
    /* nothing is shown of an order that is not delivered */
    if (status != STATUS_OK || hold || gateway) store_order_result_free(result);
    return status;
}

enum status store_order_place(struct db *db, const struct store_order_request *request,
                              struct store_order_result *result) {
    struct store_order_plan plan;
    enum status status = store_order_prepare(db, request, &plan, result);
    if (status != STATUS_OK || result->replayed) return status;
    return store_order_commit(db, request, &plan, STORE_ORDER_DELIVER, result);
}
