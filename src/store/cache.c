/* cache.c — the writer connection's cache of rows its hot path reads on every order:
 * products by SKU, platform account ids and the audit chain's head. All change only through
 * writer commands (a product write calls store_cache_forget_product) or through other
 * processes (PRAGMA data_version moves, and store_cache_begin drops everything). A rollback
 * may undo a row the cache learned inside the rolled-back work, so the writer resets the
 * cache after any. It also keeps the changes every order makes to the same two rows — its
 * product's stock count and the revenue account's balance — and writes each once per batch
 * (store_cache_flush, before every commit and after every savepointed command).
 * Never used on read connections: they see other commits at any time. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "store/store.h"

#define CACHE_PRODUCT_SLOTS 1024 /* direct-mapped by SKU hash; a collision just re-reads */
#define CACHE_ACCOUNT_SLOTS 16   /* platform accounts: (kind, currency) pairs in use */
#define CACHE_DELTA_SLOTS 32     /* rows with a kept change waiting; more flushes */

_Static_assert((CACHE_PRODUCT_SLOTS & (CACHE_PRODUCT_SLOTS - 1)) == 0, "power of two");

struct cache_account {
    enum ledger_kind kind;
    char currency[MONEY_CURRENCY_BYTES];
    int64_t id; /* 0: empty slot */
};

/* A change kept for one row: a product's stock count or a revenue account's balance. */
enum cache_row { CACHE_ROW_STOCK, CACHE_ROW_BALANCE };

struct cache_delta {
    enum cache_row row;
    int64_t id; /* the product's or the account's */
    int64_t delta;
    char currency[MONEY_CURRENCY_BYTES]; /* the account's, checked when written; "" for stock */
};

struct store_cache {
    int64_t data_version; /* -1: unknown */
    int64_t audit_id;     /* the chain's head; 0: unknown */
    unsigned char audit_hash[VAULT_AUDIT_HASH_BYTES];
    struct store_product products[CACHE_PRODUCT_SLOTS]; /* id 0: empty slot */
    struct cache_account accounts[CACHE_ACCOUNT_SLOTS];
    struct cache_delta deltas[CACHE_DELTA_SLOTS]; /* changes not yet written, one per row */
    int delta_count;
    uint64_t changes; /* store_stock_change and store_balance_change calls kept here, ever */
};

void store_cache_attach(struct db *db) {
    verify(db != 0 && !db->readonly && db->cache == 0);
    db->cache = mem_calloc(1, sizeof *db->cache);
    db->cache->data_version = -1;
}

void store_cache_detach(struct db *db) {
    verify(db != 0);
    free(db->cache);
    db->cache = 0;
}

void store_cache_reset(struct db *db) {
    verify(db != 0);
    if (db->cache == 0) return;
    memset(db->cache->products, 0, sizeof db->cache->products);
    memset(db->cache->accounts, 0, sizeof db->cache->accounts);
    db->cache->audit_id = 0;
    db->cache->delta_count = 0; /* kept changes belong to the work that was rolled back */
}

static enum status cache_delta_write(struct db *db, const struct cache_delta *change) {
    sqlite3_stmt *stmt = 0;
    if (change->row == CACHE_ROW_STOCK) {
        stmt = db_prepare(db, "UPDATE products SET stock = stock + ?1 WHERE id = ?2");
    } else {
        stmt = db_prepare(db, "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2 "
                              "AND currency = ?3");
        db_bind_text(stmt, 3, change->currency);
    }
    sqlite3_bind_int64(stmt, 1, change->delta);
    sqlite3_bind_int64(stmt, 2, change->id);
    enum status status = db_step_done(db, stmt);
    if (status == STATUS_OK && sqlite3_changes(db->handle) != 1) status = STATUS_DB;
    return status;
}

/* Keeps delta for the row (written at once without a cache). A change for a row already
 * kept adds to it; one that cannot (another currency — its write will fail — or a sum out
 * of range) writes what is kept first, as does a full table. */
static enum status cache_keep(struct db *db, enum cache_row row, int64_t id, int64_t delta,
                              const char *currency) {
    struct cache_delta change = {.row = row, .id = id, .delta = delta};
    (void)text_copy(change.currency, sizeof change.currency, currency);
    struct store_cache *cache = db->cache;
    if (cache == 0) return cache_delta_write(db, &change);
    bool write_kept = cache->delta_count == CACHE_DELTA_SLOTS;
    for (int i = 0; i < cache->delta_count; i++) {
        struct cache_delta *kept = &cache->deltas[i];
        if (kept->row != row || kept->id != id) continue;
        int64_t sum = 0; /* the builtin stores even a wrapped sum: never into kept */
        if (strcmp(kept->currency, currency) == 0 &&
            !__builtin_add_overflow(kept->delta, delta, &sum)) {
            kept->delta = sum;
            cache->changes++;
            return STATUS_OK;
        }
        write_kept = true;
        break;
    }
    if (write_kept) {
        enum status status = store_cache_flush(db);
        if (status != STATUS_OK) return status;
    }
    cache->changes++;
    cache->deltas[cache->delta_count++] = change;
    return STATUS_OK;
}

enum status store_stock_change(struct db *db, int64_t product_id, int64_t delta) {
    verify(db != 0 && product_id > 0);
    verify(delta >= -LIMIT_ORDER_QUANTITY && delta <= LIMIT_ORDER_QUANTITY);
    return cache_keep(db, CACHE_ROW_STOCK, product_id, delta, "");
}

enum status store_balance_change(struct db *db, int64_t account_id, int64_t delta,
                                 const char *currency) {
    verify(db != 0 && account_id > 0 && currency != 0 && currency[0] != 0);
    verify(money_amount_valid(delta < 0 ? -delta : delta));
    return cache_keep(db, CACHE_ROW_BALANCE, account_id, delta, currency);
}

enum status store_cache_flush(struct db *db) {
    verify(db != 0);
    struct store_cache *cache = db->cache;
    if (cache == 0) return STATUS_OK;
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < cache->delta_count; i++) {
        if (cache->deltas[i].delta != 0) status = cache_delta_write(db, &cache->deltas[i]);
    }
    cache->delta_count = 0;
    /* A failed write lost changes that earlier commands of the batch kept: counted as a
     * change, so the command it failed in is never taken for one that changed nothing and
     * the writer rolls the whole batch back (store_test: a_failed_stock_write_undoes_the_batch). */
    if (status != STATUS_OK) cache->changes++;
    return status;
}

uint64_t store_cache_changes(const struct db *db) {
    verify(db != 0);
    return db->cache != 0 ? db->cache->changes : 0;
}

enum status store_cache_begin(struct db *db) {
    verify(db != 0);
    if (db->cache == 0) return STATUS_OK;
    verify(db->cache->delta_count == 0); /* flushed before every commit, dropped on rollback */
    sqlite3_stmt *stmt = db_prepare(db, "PRAGMA data_version");
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    int64_t version = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    if (version != db->cache->data_version) {
        store_cache_reset(db);
        store_idempotency_stale(db); /* another connection may have placed orders */
    } else {
        status = store_idempotency_settle(db); /* every order so far is this writer's */
        if (status != STATUS_OK) return status;
    }
    db->cache->data_version = version;
    return STATUS_OK;
}

static uint32_t cache_sku_slot(const char *sku) {
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sku; *p != 0; p++) {
        hash = (hash ^ *p) * 16777619u;
    }
    return hash & (CACHE_PRODUCT_SLOTS - 1);
}

void store_cache_forget_product(struct db *db, const char *sku) {
    verify(db != 0 && sku != 0);
    if (db->cache == 0) return;
    struct store_product *slot = &db->cache->products[cache_sku_slot(sku)];
    if (slot->id != 0 && strcmp(slot->sku, sku) == 0) memset(slot, 0, sizeof *slot);
}

enum status store_product_cached(struct db *db, const char *sku, struct store_product *product) {
    verify(db != 0 && sku != 0 && product != 0);
    struct store_product *slot = 0;
    if (db->cache != 0) {
        slot = &db->cache->products[cache_sku_slot(sku)];
        if (slot->id != 0 && strcmp(slot->sku, sku) == 0) {
            *product = *slot;
            return STATUS_OK;
        }
    }
    enum status status = store_product_by_sku(db, sku, product);
    if (status != STATUS_OK) return status;
    product->stock = -1; /* changes with every order: never cached */
    verify(product->id > 0);
    if (slot != 0) *slot = *product;
    return STATUS_OK;
}

enum status store_platform_account(struct db *db, enum ledger_kind kind, const char *currency,
                                   int64_t *id_out) {
    verify(db != 0 && currency != 0 && id_out != 0);
    struct cache_account *free_slot = 0;
    if (db->cache != 0) {
        for (int i = 0; i < CACHE_ACCOUNT_SLOTS; i++) {
            struct cache_account *slot = &db->cache->accounts[i];
            if (slot->id == 0) {
                if (free_slot == 0) free_slot = slot;
            } else if (slot->kind == kind && strcmp(slot->currency, currency) == 0) {
                *id_out = slot->id;
                return STATUS_OK;
            }
        }
    }
    enum status status = store_account_id(db, kind, 0, currency, true, id_out);
    if (status != STATUS_OK) return status;
    verify(*id_out > 0);
    if (free_slot != 0) {
        free_slot->kind = kind;
        (void)text_copy(free_slot->currency, sizeof free_slot->currency, currency);
        free_slot->id = *id_out;
    }
    return STATUS_OK;
}

bool store_cache_audit_head(struct db *db, int64_t *id,
                            unsigned char hash[VAULT_AUDIT_HASH_BYTES]) {
    verify(db != 0 && id != 0 && hash != 0);
    if (db->cache == 0 || db->cache->audit_id == 0) return false;
    *id = db->cache->audit_id;
    memcpy(hash, db->cache->audit_hash, VAULT_AUDIT_HASH_BYTES);
    return true;
}

void store_cache_audit_wrote(struct db *db, int64_t id,
                             const unsigned char hash[VAULT_AUDIT_HASH_BYTES]) {
    verify(db != 0 && id > 0 && hash != 0);
    if (db->cache == 0) return;
    db->cache->audit_id = id;
    memcpy(db->cache->audit_hash, hash, VAULT_AUDIT_HASH_BYTES);
}
