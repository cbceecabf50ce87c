/* store.h — every read and write Tessera makes to its database, as functions over a
 * struct db. Writes run inside a transaction the caller owns (the writer thread, or a CLI
 * command); they never commit. The only place SQL lives is src/store/. */
#ifndef TESSERA_STORE_STORE_H
#define TESSERA_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/money.h"
#include "base/status.h"
#include "domain/import.h"
#include "domain/installment.h"
#include "domain/ledger.h"
#include "domain/role.h"
#include "store/db.h"
#include "vault/vault.h"

#define STORE_REQUEST_HASH_BYTES 32

/* ---- users and sessions (store/users.c) ---- */
struct store_user {
    int64_t id;
    char username[LIMIT_USERNAME_BYTES + 1];
    enum role role;
};

must_check enum status store_user_create(struct db *db, const char *username,
                                         const char *password_hash, enum role role, int64_t now_s,
                                         int64_t *id_out);
/* Fills user and the stored Argon2id hash; STATUS_NOT_FOUND for an unknown name. */
must_check enum status store_user_by_name(struct db *db, const char *username,
                                          struct store_user *user,
                                          char hash_out[VAULT_PASSWORD_HASH_BYTES]);
/* Fills user's id, name and role; STATUS_NOT_FOUND for an unknown id. */
must_check enum status store_user_by_id(struct db *db, int64_t id, struct store_user *user);
must_check enum status store_session_create(struct db *db,
                                            const unsigned char hash[VAULT_TOKEN_HASH_BYTES],
                                            int64_t user_id, int64_t expires_at_s);
/* STATUS_UNAUTHORIZED when the token is unknown or expired. */
must_check enum status store_session_user(struct db *db,
                                          const unsigned char hash[VAULT_TOKEN_HASH_BYTES],
                                          int64_t now_s, struct store_user *user);

/* ---- catalog and inventory (store/catalog.c) ---- */
struct store_product {
    int64_t id;
    char sku[LIMIT_SKU_BYTES + 1];
    char name[LIMIT_NAME_BYTES + 1];
    int64_t face_value;
    int64_t price;
    char currency[MONEY_CURRENCY_BYTES];
    char liquidity[8];
    int64_t stock;
};

must_check enum status store_product_create(struct db *db, const struct store_product *product,
                                            int64_t now_s, int64_t *id_out);
must_check enum status store_product_by_sku(struct db *db, const char *sku,
                                            struct store_product *product);
/* The same through the writer's cache (store/cache.c); stock is not filled (-1). */
must_check enum status store_product_cached(struct db *db, const char *sku,
                                            struct store_product *product);
/* Calls fn for each product in SKU order; stops early when fn returns non-OK. */
typedef enum status (*store_product_fn)(void *context, const struct store_product *product);
must_check enum status store_product_each(struct db *db, store_product_fn fn, void *context);

struct store_import_result {
    int64_t imported;
    int64_t duplicates;
};

/* A batch of codes hashed, sorted by hash and sealed for ids base_id + position. */
struct store_code_row {
    unsigned char hash[VAULT_CODE_HASH_BYTES];
    int item;             /* index into the import batch */
    size_t sealed_offset; /* into sealed; length is the code's + VAULT_SEAL_OVERHEAD */
};

struct store_code_rows {
    int count, capacity;
    int64_t base_id;
    struct store_code_row *rows;
    unsigned char *sealed;
    size_t sealed_cap;
};

void store_code_rows_free(struct store_code_rows *rows);
/* Pure crypto, no database: safe on any thread. rows may be reused across batches. */
void store_codes_prepare(const struct vault *vault, const struct import_batch *batch,
                         int64_t base_id, struct store_code_rows *rows);
/* The id the next imported code would get (max(id) + 1). */
must_check enum status store_codes_next_id(struct db *db, int64_t *id_out);
/* Inserts prepared rows inside the caller's transaction, re-sealing them first if their
 * ids are no longer free; raises the product's stock by the number imported. */
must_check enum status store_codes_write(struct db *db, const struct vault *vault,
                                         int64_t product_id, const struct import_batch *batch,
                                         struct store_code_rows *rows, int64_t now_s,
                                         struct store_import_result *result);

/* Seals and inserts the batch's codes for product_id inside the caller's transaction;
 * duplicates (by keyed hash, across all products) are counted and skipped. Raises the
 * product's stock by the number imported. */
must_check enum status store_codes_insert(struct db *db, const struct vault *vault,
                                          int64_t product_id, const struct import_batch *batch,
                                          int64_t now_s, struct store_import_result *result);

/* Retires up to limit unsold codes whose expiry has passed (state 2) and lowers their
 * products' stock, so stock always counts sellable codes. */
must_check enum status store_codes_expire(struct db *db, int64_t now_s, int limit,
                                          int64_t *expired_out);

/* ---- the writer's index of recent Idempotency-Keys (store/idempotency.c) ----
 * Orders are found by (buyer, key) through a table in the writer's memory, not a database
 * index: keys are random (UUIDs), so a B-tree over them took a leaf page at a random place
 * per order — two-thirds of every commit's WAL pages once a million orders were stored.
 * The key stays on the order row (written in id order); the table maps a keyed hash of
 * (buyer, key) to order ids, and every hit is confirmed against the row, so an entry left
 * by a rolled-back order or a hash collision is only a wasted read. A key is remembered
 * LIMIT_IDEMPOTENCY_WINDOW_S: an older order does not answer for it (as payment APIs do),
 * which bounds the table to the orders of a day. Loaded when attached (orders by id from the
 * first one placed in the window: ids are assumed to follow the clock within
 * LIMIT_IDEMPOTENCY_SLACK_S there), and brought up to date from the orders table when
 * another connection committed (store_cache_begin). */
must_check enum status store_idempotency_attach(struct db *db, int64_t now_s);
void store_idempotency_detach(struct db *db);
/* Another connection may have written orders: read them before the next lookup. */
void store_idempotency_stale(struct db *db);
/* Only this connection wrote since the last batch: every order up to the last id is in the
 * table already (or was rolled back), so a later read of other connections' orders starts
 * past it. */
must_check enum status store_idempotency_settle(struct db *db);
/* The order that first came with this buyer's key within the window: STATUS_OK with *order_id
 * (> 0), or STATUS_NOT_FOUND. */
must_check enum status store_idempotency_find(struct db *db, int64_t buyer_id, const char *key,
                                              int64_t now_s, int64_t *order_id);
/* Records a new order's key (inside the order's transaction; growing the table reads the
 * orders table to drop expired entries, and fails only as such a read does). */
must_check enum status store_idempotency_add(struct db *db, int64_t buyer_id, const char *key,
                                             int64_t order_id, int64_t now_s);
/* Entries held (of orders within the window), table slots, orders read from the table of
 * orders since attached, growths and those that took a table prepared ahead (tests; the
 * writer thread only). */
struct store_idempotency_size {
    uint64_t entries, slots, rows_read, growths, growths_prepared;
};
void store_idempotency_size(const struct db *db, struct store_idempotency_size *out);

/* ---- the writer's cache of hot rows (store/cache.c) ----
 * Products by SKU and platform account ids, which the order path reads every time and
 * which change only through writer commands. Valid inside one write transaction: call
 * store_cache_begin after BEGIN (it drops everything when another connection committed
 * since, by PRAGMA data_version), and store_cache_reset after any rollback (a rolled-back
 * command may have created a row the cache now holds). Without a cache (db->cache NULL),
 * lookups go to SQL. */
void store_cache_attach(struct db *db);
void store_cache_detach(struct db *db);
must_check enum status store_cache_begin(struct db *db);
void store_cache_reset(struct db *db);
/* The audit chain's head (its last id and hash) as this connection last wrote it: false
 * when unknown (then read it); store_cache_audit_wrote after each append. */
bool store_cache_audit_head(struct db *db, int64_t *id, unsigned char hash[VAULT_AUDIT_HASH_BYTES]);
void store_cache_audit_wrote(struct db *db, int64_t id,
                             const unsigned char hash[VAULT_AUDIT_HASH_BYTES]);
/* Drops a product from the cache: call on every write to that product's row. */
void store_cache_forget_product(struct db *db, const char *sku);
/* Changes a product's cached stock count by delta. With a cache the change is kept and
 * written once per product by store_cache_flush (the writer calls it before every commit
 * and after every command it runs under a savepoint; reading stock on the writer flushes
 * first), so a batch of orders of one product updates its row once, not once per order.
 * Without a cache it is written at once. */
must_check enum status store_stock_change(struct db *db, int64_t product_id, int64_t delta);
/* The same for the cached balance of a platform revenue account (every order credits the
 * one revenue account of its currency): kept, written once per batch by store_cache_flush
 * with the account's currency checked there. Its balance read on the writer flushes first
 * (store_account_balance); the postings are written at once, as every other row. */
must_check enum status store_balance_change(struct db *db, int64_t account_id, int64_t delta,
                                            const char *currency);
must_check enum status store_cache_flush(struct db *db);
/* Counts store_stock_change and store_balance_change calls kept in the cache, so the writer
 * can tell a command that failed after keeping one (and must be undone) from one that
 * changed nothing. */
uint64_t store_cache_changes(const struct db *db);

/* ---- ledger (store/ledger_store.c) ---- */
/* The id of the account (kind, owner, currency); created when create is true. */
must_check enum status store_account_id(struct db *db, enum ledger_kind kind, int64_t owner_id,
                                        const char *currency, bool create, int64_t *id_out);
/* A platform account (owner 0) through the writer's cache; created when missing. */
must_check enum status store_platform_account(struct db *db, enum ledger_kind kind,
                                              const char *currency, int64_t *id_out);
must_check enum status store_account_balance(struct db *db, enum ledger_kind kind, int64_t owner_id,
                                             const char *currency, int64_t *balance_out);
/* Every account of (kind, owner), one per currency, in currency order. */
typedef enum status (*store_balance_fn)(void *context, const char *currency, int64_t balance);
must_check enum status store_account_balances(struct db *db, enum ledger_kind kind,
                                              int64_t owner_id, store_balance_fn fn,
                                              void *context);
/* Writes a checked transfer and updates cached balances; STATUS_INSUFFICIENT_FUNDS when a
 * non-negative account would go below zero. */
must_check enum status store_transfer_post(struct db *db, const struct ledger_transfer *transfer,
                                           int64_t order_id, int64_t actor_id, const char *reason,
                                           int64_t now_s, int64_t *id_out);
must_check enum status store_wallet_credit(struct db *db, const char *username, int64_t amount,
                                           const char *currency, const char *reason,
                                           int64_t actor_id, int64_t now_s,
                                           int64_t *transfer_id_out);

/* ---- orders (store/orders.c) ---- */
struct store_order {
    int64_t id;
    int64_t buyer_id;
    char sku[LIMIT_SKU_BYTES + 1];
    char product_name[LIMIT_NAME_BYTES + 1];
    int64_t unit_price;
    int64_t face_value;
    char currency[MONEY_CURRENCY_BYTES];
    char liquidity[8];
    int64_t quantity;
    int64_t amount;
    char payment[16];
    char status[20];
    int64_t created_at;
    char provider[16];  /* a gateway order's provider, "" otherwise */
    int64_t expires_at; /* a pending order's deadline, 0 otherwise */
    bool hold;          /* paid, it waits for a person (the risk engine said review) */
    int64_t refunded;   /* refunds that did not fail (store/refunds.c) */
};

struct store_sealed_code {
    int64_t id;
    size_t len;
    unsigned char sealed[LIMIT_CODE_BYTES + VAULT_SEAL_OVERHEAD];
};

struct store_order_request {
    int64_t buyer_id;
    const char *sku;
    int64_t quantity;
    const char *idempotency_key;
    unsigned char request_hash[STORE_REQUEST_HASH_BYTES];
    int64_t now_s;
    const char *provider;  /* NULL: paid from the wallet; else a gateway ("sandbox", …) */
    int64_t pay_timeout_s; /* gateway orders: how long the codes wait for the payment */
    int credit_periods;    /* > 0: paid on credit in this many installments (3, 6, 12) */
    int64_t risk_event_id; /* > 0: the risk event that decided the order (its row id) */
};

struct store_order_result {
    bool replayed;
    struct store_order order;
    int code_count;
    struct store_sealed_code *codes; /* order quantity entries, owned; see _free */
};

/* Wipes the sealed codes and frees them; the result can be reused. */
void store_order_result_free(struct store_order_result *result);

/* The whole wallet order: idempotency, stock, funds, codes, ledger, audit of the reveal. */
must_check enum status store_order_place(struct db *db, const struct store_order_request *request,
                                         struct store_order_result *result);

/* The same in two steps, for a risk decision between them. prepare checks everything and
 * writes nothing: a replay of the key (result->replayed, answered from the first order), or
 * the product, amount, wallet (wallet orders) and the picked codes (in result). commit
 * writes the order: delivered (wallet → revenue, codes revealed), or held for review
 * (wallet → escrow, codes reserved to the order, none shown: result holds no codes). A
 * gateway order is written 'pending_payment' with its codes reserved and nothing paid;
 * REVIEW marks it to be held once paid (store/payments.c). */
struct store_order_plan {
    struct store_product product;
    int64_t amount;
    int64_t wallet_id;
};

enum store_order_outcome { STORE_ORDER_DELIVER, STORE_ORDER_REVIEW };

must_check enum status store_order_prepare(struct db *db, const struct store_order_request *request,
                                           struct store_order_plan *plan,
                                           struct store_order_result *result);
must_check enum status store_order_commit(struct db *db, const struct store_order_request *request,
                                          const struct store_order_plan *plan,
                                          enum store_order_outcome outcome,
                                          struct store_order_result *result);
must_check enum status store_order_get(struct db *db, int64_t order_id, struct store_order *order);
/* Loads an order and its sealed codes for its buyer and audits the reveal.
 * STATUS_UNKNOWN_ORDER also when the order is not the buyer's (no existence oracle). */
must_check enum status store_order_reveal(struct db *db, int64_t order_id, int64_t buyer_id,
                                          int64_t now_s, struct store_order_result *result);
/* Loads the sealed codes of an order (those its code_ids lists), in id order. */
must_check enum status store_order_codes(struct db *db, int64_t order_id,
                                         struct store_sealed_code *codes, int capacity,
                                         int *count_out);
/* Writer only: an order in from_status that holds its codes undelivered (unpaid, held for
 * review) gives them back — each code it lists is free again, its product's stock rises by
 * as many — and becomes to_status, listing none. STATUS_DB when it is not in from_status or
 * does not hold exactly the codes it lists (a broken database: `tessera check`); only the
 * command fails. The caller books the money and the audit. */
must_check enum status store_order_release(struct db *db, int64_t order_id, const char *from_status,
                                           const char *to_status);

/* ---- gateway payments (store/payments.c) ---- */
struct store_payment {
    const char *provider;
    int64_t order_id;        /* from the notice's order reference */
    const char *transaction; /* the provider's transaction id */
    const char *event;       /* the notice's own id ("" when the protocol has none) */
    int64_t amount;
    const char *currency;
};

enum store_payment_outcome {
    STORE_PAYMENT_APPLIED,   /* the order is paid: delivered, or held for review */
    STORE_PAYMENT_REPEATED,  /* this transaction was applied before: nothing changes */
    STORE_PAYMENT_DUPLICATE, /* another transaction already paid the order: refund due */
    STORE_PAYMENT_LATE,      /* the order is no longer pending (expired, …): refund due */
};

/* Applies a verified, paid notice to its order in one transaction. STATUS_UNKNOWN_ORDER
 * when no gateway order of that provider has the id; STATUS_PAYMENT_MISMATCH when the
 * amount or currency is not the order's (nothing written). order receives the order as it
 * now is. */
must_check enum status store_payment_apply(struct db *db, const struct store_payment *payment,
                                           int64_t now_s, enum store_payment_outcome *outcome,
                                           struct store_order *order);
/* A payment confirmed by hand (补单) by admin actor_id with the provider's transaction id
 * and a reason. When second_above >= 0 and the order's amount is above it, a second,
 * different admin must confirm the same transaction: the first call records the proposal
 * (*awaiting true, nothing paid); the second applies it. Applying is store_payment_apply
 * with the order's own amount and currency. STATUS_UNKNOWN_ORDER for an order that is not a
 * gateway order; STATUS_SECOND_ADMIN_REQUIRED when the proposer confirms again. Audited. */
must_check enum status store_payment_confirm(struct db *db, int64_t order_id,
                                             const char *transaction, const char *reason,
                                             int64_t actor_id, int64_t second_above, int64_t now_s,
                                             bool *awaiting, enum store_payment_outcome *outcome,
                                             struct store_order *order);
/* Pending orders past their deadline: expired, their codes back in stock (at most limit). */
must_check enum status store_orders_expire(struct db *db, int64_t now_s, int limit,
                                           int64_t *expired_out);
/* The reference a gateway carries for an order ("T" and its id), and back. */
void store_order_ref(int64_t order_id, char out[24]);
bool store_order_ref_parse(const char *ref, int64_t *order_id);

/* Pending gateway orders of a provider to ask about (reconciliation): created at least
 * after_s ago and not asked within after_s, longest-waiting first; marked asked now. At most
 * capacity ids. */
must_check enum status store_orders_to_query(struct db *db, const char *provider, int64_t now_s,
                                             int64_t after_s, int64_t *ids, int capacity,
                                             int *count_out);

/* What a provider's "create payment" answered for a gateway order: the link the buyer pays
 * with and the provider's id of the payment (may be NULL). */
must_check enum status store_order_link_set(struct db *db, int64_t order_id, const char *link,
                                            const char *provider_payment_id);
/* Appends the order's link to link ("" when none) and fills provider_payment_id. */
must_check enum status store_order_link(struct db *db, int64_t order_id, struct buf *link,
                                        char provider_payment_id[LIMIT_PAY_REF_BYTES + 1]);
/* A pending order whose payment could not be created: expired now, its codes back. */
must_check enum status store_order_abandon(struct db *db, int64_t order_id, int64_t now_s);

/* ---- the sandbox provider's side (store/sandbox.c) ---- */
struct store_sandbox_payment {
    bool paid;
    char transaction[LIMIT_PAY_REF_BYTES + 1];
    int64_t amount;
    char currency[MONEY_CURRENCY_BYTES];
};
/* A payment the sandbox took for order_ref (a second one for the same ref is ignored). */
must_check enum status store_sandbox_record(struct db *db, const char *order_ref,
                                            const char *transaction, int64_t amount,
                                            const char *currency, int64_t now_s);
/* What the sandbox would answer a query for order_ref (out->paid false: nothing paid). */
must_check enum status store_sandbox_query(struct db *db, const char *order_ref,
                                           struct store_sandbox_payment *out);

/* ---- credit lines and installment plans (store/credit.c) ---- */
struct store_credit_line {
    int64_t limit, used, available; /* used: principal still owed on the buyer's plans */
    int64_t credit_balance;         /* money refunds gave back to the line (never cash) */
    char currency[MONEY_CURRENCY_BYTES];
};

struct store_credit_plan {
    int64_t order_id, buyer_id, apr_bp, created_at;
    bool held; /* its order waits for a review: the schedule has not started */
    struct installment_plan plan;
};

/* Sets a buyer's credit limit (creating the line; its currency cannot change). Audited.
 * STATUS_UNKNOWN_USER, STATUS_NOT_A_BUYER, STATUS_INVALID_VALUE for another currency. */
must_check enum status store_credit_set(struct db *db, int64_t user_id, int64_t limit,
                                        const char *currency, int64_t actor_id, int64_t now_s);
/* STATUS_NO_CREDIT_LINE when the buyer has none. */
must_check enum status store_credit_get(struct db *db, int64_t user_id,
                                        struct store_credit_line *out);
/* Whether the buyer's line can take amount in currency now (no writes):
 * STATUS_NO_CREDIT_LINE, STATUS_INSUFFICIENT_CREDIT, STATUS_TOO_MANY_PLANS. */
must_check enum status store_credit_can_buy(struct db *db, int64_t buyer_id, const char *currency,
                                            int64_t amount);
/* The plan of a new credit order (periods 3, 6 or 12; the default terms), period i due i + 1
 * months from now; raises the line's used amount. held: the order waits for a review, and
 * the plan with it (nothing due, nothing repayable) until store_credit_start. The ledger
 * move is the caller's. */
must_check enum status store_credit_open(struct db *db, const struct store_order *order,
                                         int periods, bool held, int64_t now_s);
/* A held plan whose order was approved: its schedule starts now. */
must_check enum status store_credit_start(struct db *db, int64_t order_id, int64_t now_s);
/* STATUS_UNKNOWN_ORDER when the order has no plan; STATUS_DB for a plan that breaks the
 * installment invariants. */
must_check enum status store_credit_plan_load(struct db *db, int64_t order_id,
                                              struct store_credit_plan *out);
/* Saves what the domain changed; the plan is closed once paid off or cancelled at now_s. */
must_check enum status store_credit_plan_save(struct db *db, int64_t order_id,
                                              const struct installment_plan *plan, int64_t now_s);
typedef enum status (*store_credit_plan_fn)(void *context, const struct store_credit_plan *plan);
/* The buyer's open plans oldest first (never more than LIMIT_CREDIT_PLANS: a new credit order
 * is refused at that many; open_only: not held ones), then, unless open_only, closed ones
 * newest first, at most LIMIT_CREDIT_PLANS in all. */
must_check enum status store_credit_plan_each(struct db *db, int64_t buyer_id, bool open_only,
                                              store_credit_plan_fn fn, void *context);
/* A repayment from the wallet, oldest plan first, each oldest period first (late fee, fee,
 * principal). STATUS_NOTHING_OWED (STATUS_PLAN_HELD when the only plans with anything
 * outstanding wait for a review), STATUS_INVALID_AMOUNT above what is owed,
 * STATUS_INSUFFICIENT_FUNDS. Audited. With an idempotency key (NULL: none), a repeat of the
 * same request answers the first one (*replayed, nothing taken again); another request under
 * the key is STATUS_IDEMPOTENCY_CONFLICT. */
must_check enum status store_credit_repay(struct db *db, int64_t buyer_id, int64_t amount,
                                          const char *key, int64_t now_s,
                                          struct installment_amounts *applied, bool *replayed);
/* Settles one plan now for exactly its payoff quote (fees not yet due waived); the key as
 * for store_credit_repay. */
must_check enum status store_credit_payoff(struct db *db, int64_t buyer_id, int64_t order_id,
                                           int64_t amount, const char *key, int64_t now_s,
                                           struct installment_amounts *applied, bool *replayed);
/* Gives amount of a credit order back to its credit line: principal (and repaid fee) into
 * the receivable, from revenue — or from escrow when a held order is rejected — and the
 * rest of the schedule cancelled. Never to the wallet. */
must_check enum status store_credit_refund(struct db *db, const struct store_order *order,
                                           int64_t amount, bool from_escrow, int64_t actor_id,
                                           int64_t now_s, struct installment_refund *out);

/* ---- refunds and invalid codes (store/refunds.c) ---- */
/* How much of a delivered order can still be refunded: unit_price per code support marked
 * invalid, at most the amount, less what was refunded (refunds that did not fail). */
struct store_refundable {
    int64_t invalid_codes, refunded, refundable;
};

struct store_refund {
    int64_t id, order_id;
    int64_t payment_id; /* the gateway payment given back; 0 for a wallet refund */
    char kind[8];       /* "order" (POST …/refunds) or "payment" (a payment never delivered) */
    char instrument[8]; /* "wallet", "gateway" or "credit" */
    char provider[16];  /* a gateway refund's provider, "" otherwise */
    int64_t amount;
    char currency[MONEY_CURRENCY_BYTES];
    char status[12]; /* "pending" (at the provider), "succeeded", "failed" */
    char provider_refund_id[LIMIT_PAY_REF_BYTES + 1];
    char transaction[LIMIT_PAY_REF_BYTES + 1]; /* the refunded payment's transaction */
    int64_t payment_amount;                    /* that payment's whole amount */
    int attempts;
    int64_t created_at, settled_at; /* settled_at 0 while pending */
    char last_error[LIMIT_REASON_BYTES + 1];
};

struct store_refund_request {
    int64_t order_id, amount, actor_id, now_s;
    const char *reason;
    const char *idempotency_key; /* NULL: none */
};

must_check enum status store_order_refundable(struct db *db, const struct store_order *order,
                                              struct store_refundable *out);
/* Support marks codes of a delivered order invalid (the buyer reported them), by their
 * text: each must be one of the order's codes (else STATUS_INVALID_VALUE and *bad_index
 * names which); marking one twice is a no-op. Audited. Fills order and what is refundable. */
must_check enum status store_codes_report(struct db *db, const struct vault *vault,
                                          int64_t order_id, const char *const *codes, int count,
                                          const char *reason, int64_t actor_id, int64_t now_s,
                                          int *bad_index, int *marked_out,
                                          struct store_order *order, struct store_refundable *out);
/* A refund of a delivered order, back to where its money came from: a wallet order's to
 * the wallet (succeeded at once), a gateway order's through its provider (pending until
 * store_refund_settle). STATUS_NOT_REFUNDABLE above the refundable amount;
 * STATUS_ORDER_NOT_DELIVERED for an order not delivered. With an idempotency key, a repeat
 * answers the first refund (*replayed), or STATUS_IDEMPOTENCY_CONFLICT for another amount.
 * Audited. */
must_check enum status store_refund_create(struct db *db,
                                           const struct store_refund_request *request,
                                           bool *replayed, struct store_refund *out);
typedef enum status (*store_refund_fn)(void *context, const struct store_refund *refund);
must_check enum status store_refund_each(struct db *db, int64_t order_id, store_refund_fn fn,
                                         void *context);
/* Pending refunds due for an attempt at the provider (at most capacity), after turning
 * payments owed back (refund_due) into pending refunds of kind 'payment'. */
must_check enum status store_refunds_due(struct db *db, int64_t now_s, struct store_refund *out,
                                         int capacity, int *count_out);
enum store_refund_result {
    STORE_REFUND_SUCCEEDED, /* the provider accepted it */
    STORE_REFUND_RETRY,     /* the provider could not be reached: try again later */
    STORE_REFUND_FAILED,    /* the provider refused it: booked back, the order refundable again */
    STORE_REFUND_UNKNOWN,   /* no clear answer from a provider a refund cannot safely be sent
                               to twice (EPay): 'unknown' until a person settles it */
};
/* Before a refund goes to a provider that may refund twice if asked twice (EPay): the refund
 * is marked 'unknown' ("sending") first, so a crash or a lost answer leaves it for a person,
 * never for a second request. STATUS_REFUND_SETTLED unless it was pending. */
#define STORE_REFUND_SENDING "sending to the provider"
must_check enum status store_refund_sending(struct db *db, int64_t refund_id, int64_t now_s,
                                            struct store_refund *out);
/* Records the provider's answer to a pending refund, or to one being sent (then a retry is
 * 'unknown': it is never sent again by itself); a settled one is left as it is. */
must_check enum status store_refund_settle(struct db *db, int64_t refund_id,
                                           enum store_refund_result result,
                                           const char *provider_refund_id, const char *error,
                                           int64_t now_s, struct store_refund *out);
enum store_refund_resolution {
    STORE_REFUND_RESOLVE_SUCCEEDED, /* the provider did refund it (checked at the provider) */
    STORE_REFUND_RESOLVE_FAILED,    /* it did not: booked back, the order refundable again */
    STORE_REFUND_RESOLVE_RETRY,     /* send it again (unknown, or a failed payment refund) */
};
/* A person settles a refund the worker could not: an 'unknown' one as succeeded or failed,
 * or sends an 'unknown' one (or a failed refund of a payment owed back) again. Audited with
 * the reason. STATUS_UNKNOWN_REFUND; STATUS_REFUND_SETTLED when there is nothing to settle;
 * STATUS_REFUND_IN_FLIGHT while its request may still be on the way (sent less than
 * LIMIT_REFUND_IN_FLIGHT_S ago). A provider's answer that arrives after a person settled it
 * otherwise is kept in the audit log (refund.answer_after_settlement). */
must_check enum status store_refund_resolve(struct db *db, int64_t refund_id,
                                            enum store_refund_resolution resolution,
                                            const char *provider_refund_id, const char *reason,
                                            int64_t actor_id, int64_t now_s,
                                            struct store_refund *out);

/* ---- reviews of held orders (store/reviews.c) ---- */
/* Approve: deliver (escrow → revenue). Reject: codes back to stock, escrow → wallet, the
 * order cancelled. Audited; labels the order's risk event (reject: 1). STATUS_NOT_IN_REVIEW
 * unless the order is held. order receives the order as it now is. */
must_check enum status store_review_decide(struct db *db, int64_t order_id, bool approve,
                                           const char *note, int64_t actor_id, int64_t now_s,
                                           struct store_order *order);

struct store_review {
    int64_t order_id, buyer_id;
    char buyer[LIMIT_USERNAME_BYTES + 1];
    char sku[LIMIT_SKU_BYTES + 1];
    int64_t quantity, amount;
    char currency[MONEY_CURRENCY_BYTES];
    int64_t created_at;
    int64_t event_row; /* 0 when the order has no recorded decision */
    double score;
    int64_t rules_version;
    const void *rules; /* packed fired rules (risk/decision.c), valid during the callback */
    size_t rules_len;
};

typedef enum status (*store_review_fn)(void *context, const struct store_review *review);
/* Held orders, oldest first, at most limit. */
must_check enum status store_review_each(struct db *db, int limit, store_review_fn fn,
                                         void *context);

/* ---- risk records (store/risk_store.c) ---- */
struct store_risk_row {
    int64_t id; /* chosen by the writer: the next after store_risk_last_id */
    const char *event_id, *type, *user, *body;
    int64_t at;
    int64_t order_id;          /* 0: none */
    const char *action;        /* NULL for events that are not decided */
    double score, model_score; /* model_score < 0: no model */
    int64_t rules_version;
    const void *rules, *features; /* packed (risk/decision.c) */
    size_t rules_len, features_len;
    int label; /* -1: unknown */
};

/* A recorded decision as stored; the caller inits the three buffers. */
struct store_risk_decision {
    int64_t event_row, order_id; /* order_id 0: none */
    char action[16];
    double score, model_score; /* model_score < 0: none */
    int64_t decided_at, rules_version;
    struct buf body, rules, features;
    bool reviewed;
    char review[16];
    char note[LIMIT_REASON_BYTES + 1];
    int64_t reviewer_id, reviewed_at;
};

must_check enum status store_risk_event_insert(struct db *db, const struct store_risk_row *row,
                                               int64_t now_s);
must_check enum status store_risk_last_id(struct db *db, int64_t *id_out);
/* Every stored event after row after_id (0: all), in the order the engine saw them. */
typedef enum status (*store_risk_event_fn)(void *context, int64_t id, const char *body, size_t len,
                                           int label, const char *action);
must_check enum status store_risk_event_each(struct db *db, int64_t after_id,
                                             store_risk_event_fn fn, void *context);
/* The decision of an order (order_id) or of one event row (event_row); STATUS_UNKNOWN_DECISION
 * when none is recorded. */
must_check enum status store_risk_decision_get(struct db *db, int64_t order_id, int64_t event_row,
                                               struct store_risk_decision *out);
/* The source of one rule file version (STATUS_NOT_FOUND if there is none). */
must_check enum status store_ruleset_get(struct db *db, int64_t version, struct buf *source);
/* Rule files: a new version (audited), and the active one (STATUS_NOT_FOUND if none). */
must_check enum status store_ruleset_insert(struct db *db, const char *source, int64_t actor_id,
                                            int64_t now_s, int64_t *version_out);
must_check enum status store_ruleset_active(struct db *db, int64_t *version_out,
                                            struct buf *source);
/* Lists set through the API: replace one (audited), or walk them (name NULL: all; item NULL:
 * a list set empty). */
must_check enum status store_risk_list_replace(struct db *db, const char *name,
                                               const char *const *items, int count,
                                               int64_t actor_id, int64_t now_s);
typedef enum status (*store_list_item_fn)(void *context, const char *list, const char *item);
must_check enum status store_risk_list_each(struct db *db, const char *name, store_list_item_fn fn,
                                            void *context);

/* ---- audit log (store/audit.c) ---- */
must_check enum status store_audit_append(struct db *db, int64_t actor_id, const char *action,
                                          const char *object, const char *detail, int64_t now_s);
/* The same for the object "kind:id" ("order:12", "user:3"). */
must_check enum status store_audit_of(struct db *db, int64_t actor_id, const char *action,
                                      const char *kind, int64_t id, const char *detail,
                                      int64_t now_s);

/* ---- invariants (store/check.c) ---- */
/* Runs every invariant; appends a JSON summary to out; *ok_out says whether all hold. */
must_check enum status store_check(struct db *db, struct buf *out, bool *ok_out);

/* ---- set-up (store/setup.c) ---- */
/* Creates the platform accounts and the admin user; demo adds a small catalog. */
must_check enum status store_setup(struct db *db, const struct vault *vault,
                                   const char *admin_password_hash, bool demo, int64_t now_s);

#endif
