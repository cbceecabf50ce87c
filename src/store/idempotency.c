/* idempotency.c — the writer's index of recent Idempotency-Keys (see store.h). An open-
 * addressing table (linear probing, at most half full) from a keyed 64-bit hash of (buyer,
 * key) to order ids. Nothing is ever removed in place: an entry whose order was rolled
 * back, or which only shares a hash, fails the check against the row and is skipped; when
 * the table grows, a new one takes over and the entries of orders still in the window move
 * to it a few at a time (idem_drain), the older ones left behind. The writer thread alone
 * touches it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/store.h"

_Static_assert((LIMIT_IDEMPOTENCY_MIN_SLOTS & (LIMIT_IDEMPOTENCY_MIN_SLOTS - 1)) == 0,
               "power of two");
_Static_assert(crypto_generichash_KEYBYTES >= crypto_shorthash_KEYBYTES, "one key for both");

struct idem_slot {
    uint64_t hash;
    int64_t order_id; /* 0: empty */
};

struct store_idempotency {
    unsigned char key[crypto_generichash_KEYBYTES]; /* random per process */
    /* crypto_shorthash takes the first crypto_shorthash_KEYBYTES of it */
    struct idem_slot *slots;
    uint64_t capacity; /* a power of two */
    uint64_t used;     /* slots holding an entry */
    /* the table before the last growth, while its entries move over (idem_drain) */
    struct idem_slot *drain;
    uint64_t drain_capacity, drain_next;
    int64_t drain_first_id; /* its entries of older orders are dropped */
    /* the next table, mapped once the current one is 3/8 full and touched a page per insert
     * (idem_prepare), so growing does not fault in megabytes of fresh pages at once */
    struct idem_slot *next;
    uint64_t next_capacity, next_touched;
    int64_t read_to; /* orders up to this id were read from the table of orders */
    bool stale;      /* another connection committed: read orders past read_to first */
};

/* SipHash-2-4 (libsodium's crypto_shorthash) of buyer and key under the process's random
 * key, so no client can choose keys that collide; a key longer than the API allows (only
 * from a database written by something else) goes through keyed BLAKE2b instead. */
static uint64_t idem_hash(const struct store_idempotency *idem, int64_t buyer_id, const char *key) {
    unsigned char in[8 + LIMIT_IDEMPOTENCY_KEY_BYTES], out[crypto_shorthash_BYTES];
    for (int i = 0; i < 8; i++)
        in[i] = (unsigned char)((uint64_t)buyer_id >> (8 * i));
    size_t len = strlen(key);
    if (len <= LIMIT_IDEMPOTENCY_KEY_BYTES) {
        memcpy(in + 8, key, len);
        crypto_shorthash(out, in, 8 + len, idem->key);
    } else {
        crypto_generichash_state state;
        unsigned char wide[crypto_generichash_BYTES_MIN];
        verify(crypto_generichash_init(&state, idem->key, sizeof idem->key, sizeof wide) == 0);
        verify(crypto_generichash_update(&state, in, 8) == 0);
        verify(crypto_generichash_update(&state, (const unsigned char *)key, len) == 0);
        verify(crypto_generichash_final(&state, wide, sizeof wide) == 0);
        memcpy(out, wide, sizeof out);
    }
    uint64_t hash = 0;
    for (int i = 0; i < 8; i++)
        hash |= (uint64_t)out[i] << (8 * i);
    return hash;
}

/* A table's slots, zero: an anonymous mapping, whose pages the kernel provides (zeroed) at
 * their first touch — calloc may instead clear the whole table at once. */
static struct idem_slot *idem_slots_map(uint64_t capacity) {
    void *slots = mmap(0, capacity * sizeof(struct idem_slot), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    verify(slots != MAP_FAILED);
    return slots;
}

static void idem_slots_unmap(struct idem_slot *slots, uint64_t capacity) {
    if (slots != 0) verify(munmap(slots, capacity * sizeof *slots) == 0);
}

/* Puts (hash, order_id) in the first free slot of its run, unless it is there already. */
static void idem_put(struct idem_slot *slots, uint64_t capacity, uint64_t *used, uint64_t hash,
                     int64_t order_id) {
    verify(order_id > 0 && (*used + 1) * 2 <= capacity);
    uint64_t mask = capacity - 1;
    for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
        if (slots[i].order_id == 0) {
            slots[i] = (struct idem_slot){.hash = hash, .order_id = order_id};
            (*used)++;
            return;
        }
        if (slots[i].hash == hash && slots[i].order_id == order_id) return;
    }
}

/* The lowest order id the window still needs: the first order, in id order, placed at or
 * after cutoff_s (ids follow the order orders were placed in; the caller's slack covers a
 * clock that stepped back), found by bisection. One past the last order when none is. */
static enum status idem_first_id_since(struct db *db, int64_t cutoff_s, int64_t *id_out) {
    /* max() alone is one seek; min() and max() in one SELECT would scan every order */
    sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(max(id), 0) FROM orders");
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    int64_t lo = 1, hi = sqlite3_column_int64(stmt, 0) + 1;
    sqlite3_reset(stmt);
    stmt = db_prepare(db, "SELECT id, created_at FROM orders WHERE id >= ? ORDER BY id LIMIT 1");
    while (lo < hi) { /* invariant: every id below lo is older; hi is recent or past the end */
        int64_t mid = lo + (hi - lo) / 2;
        sqlite3_bind_int64(stmt, 1, mid);
        status = db_step_row(db, stmt);
        if (status == STATUS_NOT_FOUND) {
            hi = mid;
            continue;
        }
        if (status != STATUS_OK) return status;
        int64_t id = sqlite3_column_int64(stmt, 0), created_at = sqlite3_column_int64(stmt, 1);
        sqlite3_reset(stmt);
        if (created_at < cutoff_s)
            lo = id + 1;
        else
            hi = mid;
    }
    *id_out = lo;
    return STATUS_OK;
}

static int64_t idem_cutoff_s(int64_t now_s) {
    return now_s - LIMIT_IDEMPOTENCY_WINDOW_S - LIMIT_IDEMPOTENCY_SLACK_S;
}

/* Moves up to n slots of the table being drained into the current one (the live entries
 * among them: orders from drain_first_id on) and frees it once it is empty. Called by every
 * lookup and insert, so growing never stops the writer for a whole copy (as Redis rehashes
 * its dictionaries): a table of a day's keys moves a few entries per order instead. */
static void idem_drain(struct store_idempotency *idem, uint64_t n) {
    while (idem->drain != 0 && n-- > 0) {
        if (idem->drain_next == idem->drain_capacity) {
            idem_slots_unmap(idem->drain, idem->drain_capacity);
            idem->drain = 0;
            return;
        }
        const struct idem_slot *slot = &idem->drain[idem->drain_next++];
        if (slot->order_id != 0 && slot->order_id >= idem->drain_first_id)
            idem_put(idem->slots, idem->capacity, &idem->used, slot->hash, slot->order_id);
    }
}

/* Starts a new table for the entries of orders still in the window (at most a quarter full
 * with every entry held now, expired or not) and drains the current one into it from here
 * on. A drain still under way (never, at idem_drain's pace) is finished into the new table. */
static enum status idem_grow(struct db *db, int64_t now_s) {
    struct store_idempotency *idem = db->idempotency;
    int64_t first_id = 0;
    enum status status = idem_first_id_since(db, idem_cutoff_s(now_s), &first_id);
    if (status != STATUS_OK) return status;
    uint64_t held = idem->used + (idem->drain != 0 ? idem->drain_capacity - idem->drain_next : 0);
    uint64_t capacity = LIMIT_IDEMPOTENCY_MIN_SLOTS;
    while (capacity < 4 * held)
        capacity *= 2;
    struct idem_slot *current = idem->slots;
    uint64_t current_capacity = idem->capacity;
    if (idem->next != 0 && idem->next_capacity == capacity) {
        idem->slots = idem->next; /* prepared: its pages are there already */
    } else {
        idem_slots_unmap(idem->next, idem->next_capacity);
        idem->slots = idem_slots_map(capacity);
    }
    idem->next = 0;
    idem->capacity = capacity;
    idem->used = 0;
    idem_drain(idem, UINT64_MAX);
    idem->drain = current;
    idem->drain_capacity = current_capacity;
    idem->drain_next = 0;
    idem->drain_first_id = first_id;
    return STATUS_OK;
}

/* Maps the next table (twice the current one, what growing at half full asks for) once the
 * current one is 3/8 full, and touches one of its pages per call: the kernel's page faults
 * come one per order, all done long before the current table is half full. */
static void idem_prepare(struct store_idempotency *idem) {
    if (idem->next == 0 && idem->used * 8 >= idem->capacity * 3) {
        idem->next_capacity = 2 * idem->capacity;
        idem->next = idem_slots_map(idem->next_capacity);
        idem->next_touched = 0;
    }
    const uint64_t per_page = 4096 / sizeof(struct idem_slot);
    if (idem->next != 0 && idem->next_touched < idem->next_capacity) {
        ((volatile struct idem_slot *)idem->next)[idem->next_touched].order_id = 0;
        idem->next_touched += per_page;
    }
}

static enum status idem_insert(struct db *db, uint64_t hash, int64_t order_id, int64_t now_s) {
    struct store_idempotency *idem = db->idempotency;
    idem_drain(idem, LIMIT_IDEMPOTENCY_DRAIN_SLOTS);
    idem_prepare(idem);
    if ((idem->used + 1) * 2 > idem->capacity) {
        enum status status = idem_grow(db, now_s);
        if (status != STATUS_OK) return status;
    }
    idem_put(idem->slots, idem->capacity, &idem->used, hash, order_id);
    return STATUS_OK;
}

/* Reads the keyed orders past read_to (all of the window's when read_to is 0). */
static enum status idem_read_orders(struct db *db, int64_t now_s) {
    struct store_idempotency *idem = db->idempotency;
    int64_t from = idem->read_to + 1;
    if (idem->read_to == 0) {
        enum status status = idem_first_id_since(db, idem_cutoff_s(now_s), &from);
        if (status != STATUS_OK) return status;
    }
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id, buyer_id, idempotency_key FROM orders "
                                        "WHERE id >= ? AND idempotency_key IS NOT NULL "
                                        "ORDER BY id");
    sqlite3_bind_int64(stmt, 1, from);
    enum status status = STATUS_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(stmt, 0);
        const char *key = (const char *)sqlite3_column_text(stmt, 2);
        if (key == 0) continue;
        status = idem_insert(db, idem_hash(idem, sqlite3_column_int64(stmt, 1), key), id, now_s);
        if (status != STATUS_OK) break;
        if (id > idem->read_to) idem->read_to = id;
    }
    if (status == STATUS_OK && rc != SQLITE_DONE) {
        log_error("idempotency: reading orders failed: %s", sqlite3_errmsg(db->handle));
        status = STATUS_DB;
    }
    sqlite3_reset(stmt);
    if (status == STATUS_OK) idem->stale = false;
    return status;
}

enum status store_idempotency_attach(struct db *db, int64_t now_s) {
    verify(db != 0 && !db->readonly && db->idempotency == 0);
    struct store_idempotency *idem = mem_calloc(1, sizeof *idem);
    crypto_generichash_keygen(idem->key);
    idem->capacity = LIMIT_IDEMPOTENCY_MIN_SLOTS;
    idem->slots = idem_slots_map(idem->capacity);
    db->idempotency = idem;
    enum status status = idem_read_orders(db, now_s);
    if (status != STATUS_OK) store_idempotency_detach(db);
    return status;
}

void store_idempotency_detach(struct db *db) {
    verify(db != 0);
    if (db->idempotency == 0) return;
    struct store_idempotency *idem = db->idempotency;
    idem_slots_unmap(idem->slots, idem->capacity);
    idem_slots_unmap(idem->drain, idem->drain_capacity);
    idem_slots_unmap(idem->next, idem->next_capacity);
    sodium_memzero(db->idempotency->key, sizeof db->idempotency->key);
    free(db->idempotency);
    db->idempotency = 0;
}

void store_idempotency_stale(struct db *db) {
    verify(db != 0);
    if (db->idempotency != 0) db->idempotency->stale = true;
}

/* Whether order id is this buyer's order under this key, placed within the window. */
static enum status idem_confirm(struct db *db, int64_t order_id, int64_t buyer_id, const char *key,
                                int64_t now_s, bool *match) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT buyer_id, idempotency_key, created_at "
                                        "FROM orders WHERE id = ?");
    sqlite3_bind_int64(stmt, 1, order_id);
    enum status status = db_step_row(db, stmt);
    *match = false;
    if (status == STATUS_NOT_FOUND) return STATUS_OK; /* its order was rolled back */
    if (status != STATUS_OK) return status;
    const char *stored = (const char *)sqlite3_column_text(stmt, 1);
    *match = sqlite3_column_int64(stmt, 0) == buyer_id && stored != 0 && strcmp(stored, key) == 0 &&
             sqlite3_column_int64(stmt, 2) >= now_s - LIMIT_IDEMPOTENCY_WINDOW_S;
    sqlite3_reset(stmt);
    return STATUS_OK;
}

/* Looks for buyer's key in one table: STATUS_OK with *order_id, or STATUS_NOT_FOUND. */
static enum status idem_find_in(struct db *db, const struct idem_slot *slots, uint64_t capacity,
                                uint64_t hash, int64_t buyer_id, const char *key, int64_t now_s,
                                int64_t *order_id) {
    uint64_t mask = capacity - 1;
    for (uint64_t i = hash & mask; slots[i].order_id != 0; i = (i + 1) & mask) {
        if (slots[i].hash != hash) continue;
        bool match = false;
        enum status status = idem_confirm(db, slots[i].order_id, buyer_id, key, now_s, &match);
        if (status != STATUS_OK) return status;
        if (match) {
            *order_id = slots[i].order_id;
            return STATUS_OK;
        }
    }
    return STATUS_NOT_FOUND;
}

enum status store_idempotency_find(struct db *db, int64_t buyer_id, const char *key, int64_t now_s,
                                   int64_t *order_id) {
    verify(db != 0 && order_id != 0);
    if (key == 0) return STATUS_NOT_FOUND; /* a request without a key repeats nothing */
    struct store_idempotency *idem = db->idempotency;
    verify(idem != 0); /* orders are placed on the writer's connection, which holds the index */
    if (idem->stale) {
        enum status status = idem_read_orders(db, now_s);
        if (status != STATUS_OK) return status;
    }
    idem_drain(idem, LIMIT_IDEMPOTENCY_DRAIN_SLOTS);
    uint64_t hash = idem_hash(idem, buyer_id, key);
    enum status status =
        idem_find_in(db, idem->slots, idem->capacity, hash, buyer_id, key, now_s, order_id);
    if (status != STATUS_NOT_FOUND || idem->drain == 0) return status;
    return idem_find_in(db, idem->drain, idem->drain_capacity, hash, buyer_id, key, now_s,
                        order_id);
}

enum status store_idempotency_add(struct db *db, int64_t buyer_id, const char *key,
                                  int64_t order_id, int64_t now_s) {
    verify(db != 0 && db->idempotency != 0 && order_id > 0);
    if (key == 0) return STATUS_OK;
    return idem_insert(db, idem_hash(db->idempotency, buyer_id, key), order_id, now_s);
}

void store_idempotency_size(const struct db *db, uint64_t *entries, uint64_t *slots) {
    verify(db != 0 && entries != 0 && slots != 0);
    const struct store_idempotency *idem = db->idempotency;
    *entries = *slots = 0;
    if (idem == 0) return;
    *entries = idem->used;
    *slots = idem->capacity;
    for (uint64_t i = idem->drain != 0 ? idem->drain_next : 0;
         idem->drain != 0 && i < idem->drain_capacity; i++)
        *entries += idem->drain[i].order_id >= idem->drain_first_id;
}
