/* idempotency.c — the writer's index of recent Idempotency-Keys (see store.h). An open-
 * addressing table (linear probing, at most half full) from a keyed 32-bit hash of (buyer,
 * key) to the order's id and time. Nothing is ever removed in place: an entry whose order
 * was rolled back, or which only shares a hash, fails the check against the row and is
 * skipped; when the table grows, a new one sized for the window's orders takes over and the
 * entries still in the window move to it a few at a time (keys_drain), the older ones left
 * behind — by each entry's own time, so a clock that stepped back loses nothing. The writer
 * thread alone touches it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/store.h"

#define KEYS_PAGE_BYTES 4096 /* touched one at a time ahead of need (keys_prepare) */
#define KEYS_SPARE 4         /* a new table holds this many times the window's orders */

_Static_assert((LIMIT_IDEMPOTENCY_MIN_SLOTS & (LIMIT_IDEMPOTENCY_MIN_SLOTS - 1)) == 0,
               "power of two");

struct key_slot {
    uint32_t hash;       /* placement and a first filter; a match is confirmed on the row */
    uint32_t created_at; /* the order's time, seconds since 1970 (keys_time) */
    int64_t order_id;    /* 0: empty */
};
_Static_assert(sizeof(struct key_slot) == 16, "two words a slot");

/* An order's time as a slot keeps it (until 2106; a time outside is clamped, which only
 * moves when its entry is dropped). */
static uint32_t keys_time(int64_t at_s) {
    if (at_s < 0) return 0;
    return at_s > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)at_s;
}

struct store_idempotency {
    unsigned char key[crypto_shorthash_KEYBYTES]; /* random per process */
    struct key_slot *slots;
    uint64_t capacity; /* a power of two */
    uint64_t used;     /* slots holding an entry */
    /* the table before the last growth, while its entries move over (keys_drain) */
    struct key_slot *drain;
    uint64_t drain_capacity, drain_next;
    int64_t drain_cutoff_s; /* its entries of orders placed before are dropped */
    /* the next table, mapped once the current one is 3/8 full and touched a page per insert
     * (keys_prepare), so growing does not fault in megabytes of fresh pages at once */
    struct key_slot *next;
    uint64_t next_capacity, next_touched;
    int64_t read_to;           /* orders up to this id are in the table (or were rolled back) */
    bool stale;                /* another connection committed: read orders past read_to first */
    bool added;                /* this writer added keys since read_to last moved */
    uint64_t rows_read;        /* orders read from the table of orders, ever (tests) */
    uint64_t growths;          /* tables taken over, ever (tests) */
    uint64_t growths_prepared; /* of those, tables mapped and touched ahead (tests) */
};

/* SipHash-2-4 (crypto_shorthash) of the key under the process's random key, so no client
 * can choose keys that collide, mixed with the buyer (splitmix64's finalizer), folded to 32
 * bits. */
static uint32_t keys_hash(const struct store_idempotency *keys, int64_t buyer_id, const char *key) {
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, strlen(key), keys->key);
    uint64_t hash = (uint64_t)buyer_id + 0x9e3779b97f4a7c15u;
    hash = (hash ^ (hash >> 30)) * 0xbf58476d1ce4e5b9u;
    hash = (hash ^ (hash >> 27)) * 0x94d049bb133111ebu;
    hash ^= hash >> 31;
    for (int i = 0; i < 8; i++)
        hash ^= (uint64_t)out[i] << (8 * i);
    return (uint32_t)(hash ^ (hash >> 32));
}

/* A table's slots, zero: an anonymous mapping, whose pages the kernel provides (zeroed) at
 * their first touch — calloc may instead clear the whole table at once. */
static struct key_slot *keys_map(uint64_t capacity) {
    void *slots = mmap(0, capacity * sizeof(struct key_slot), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    verify(slots != MAP_FAILED);
    return slots;
}

static void keys_unmap(struct key_slot *slots, uint64_t capacity) {
    if (slots != 0) verify(munmap(slots, capacity * sizeof *slots) == 0);
}

/* Puts an entry in the first free slot of its run, unless it is there already. */
static void keys_put_in(struct key_slot *slots, uint64_t capacity, uint64_t *used,
                        const struct key_slot *entry) {
    verify(entry->order_id > 0 && (*used + 1) * 2 <= capacity);
    uint64_t mask = capacity - 1;
    for (uint64_t i = entry->hash & mask;; i = (i + 1) & mask) {
        if (slots[i].order_id == 0) {
            slots[i] = *entry;
            (*used)++;
            return;
        }
        if (slots[i].hash == entry->hash && slots[i].order_id == entry->order_id) return;
    }
}

/* Moves every entry of the current table into one twice its size, all at once: only when an
 * estimate of the window's orders fell short (see keys_grow), never on the usual path. */
static void keys_double(struct store_idempotency *keys) {
    uint64_t capacity = 2 * keys->capacity, used = 0;
    struct key_slot *slots = keys_map(capacity);
    for (uint64_t i = 0; i < keys->capacity; i++)
        if (keys->slots[i].order_id != 0) keys_put_in(slots, capacity, &used, &keys->slots[i]);
    keys_unmap(keys->slots, keys->capacity);
    keys->slots = slots;
    keys->capacity = capacity;
    keys->used = used;
}

static void keys_put(struct store_idempotency *keys, const struct key_slot *entry) {
    if ((keys->used + 1) * 2 > keys->capacity) keys_double(keys);
    keys_put_in(keys->slots, keys->capacity, &keys->used, entry);
}

/* The last order's id, 0 when there is none (max() alone is one seek; min() and max() in
 * one SELECT would scan every order). */
static enum status keys_last_id(struct db *db, int64_t *id_out) {
    sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(max(id), 0) FROM orders");
    enum status status = db_step_row(db, stmt);
    if (status != STATUS_OK) return status == STATUS_NOT_FOUND ? STATUS_DB : status;
    *id_out = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return STATUS_OK;
}

/* The lowest order id the window still needs: the first order, in id order, placed at or
 * after cutoff_s (ids follow the order orders were placed in; the caller's slack covers a
 * clock that stepped back), found by bisection up to last_id. One past it when none is. */
static enum status keys_first_id_since(struct db *db, int64_t cutoff_s, int64_t last_id,
                                       int64_t *id_out) {
    verify(last_id >= 0);
    int64_t lo = 1, hi = last_id + 1;
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT id, created_at FROM orders WHERE id >= ? ORDER BY id LIMIT 1");
    while (lo < hi) { /* invariant: every id below lo is older; hi is recent or past the end */
        verify(lo >= 1 && lo < hi);
        int64_t mid = lo + (hi - lo) / 2;
        sqlite3_bind_int64(stmt, 1, mid);
        enum status status = db_step_row(db, stmt);
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

static int64_t keys_cutoff_s(int64_t now_s) {
    return now_s - LIMIT_IDEMPOTENCY_WINDOW_S - LIMIT_IDEMPOTENCY_SLACK_S;
}

/* Moves up to n slots of the table being drained into the current one (the entries of
 * orders placed since drain_cutoff_s) and unmaps it once it is empty. Called by every lookup
 * and insert, so growing never stops the writer for a whole copy (as Redis rehashes its
 * dictionaries): a table of a day's keys moves a few entries per order instead. */
static void keys_drain(struct store_idempotency *keys, uint64_t n) {
    while (keys->drain != 0 && n-- > 0) {
        if (keys->drain_next == keys->drain_capacity) {
            keys_unmap(keys->drain, keys->drain_capacity);
            keys->drain = 0;
            return;
        }
        const struct key_slot *slot = &keys->drain[keys->drain_next++];
        if (slot->order_id != 0 && (int64_t)slot->created_at >= keys->drain_cutoff_s)
            keys_put(keys, slot);
    }
}

/* Starts a new table sized for the window's orders — the ids from the first order placed
 * since the cutoff to the last, a bound that holds while ids follow the clock; keys_put
 * doubles the table should it not — and drains the current one into it from here on. A
 * drain still under way (never, at keys_drain's pace) is finished into the new table. */
static enum status keys_grow(struct db *db, int64_t now_s) {
    struct store_idempotency *keys = db->idempotency;
    int64_t first_id = 0, last_id = 0;
    enum status status = keys_last_id(db, &last_id);
    if (status == STATUS_OK)
        status = keys_first_id_since(db, keys_cutoff_s(now_s), last_id, &first_id);
    if (status != STATUS_OK) return status;
    uint64_t window = last_id >= first_id ? (uint64_t)(last_id - first_id) + 1 : 0;
    uint64_t capacity = LIMIT_IDEMPOTENCY_MIN_SLOTS;
    while (capacity < KEYS_SPARE * window)
        capacity *= 2;
    struct key_slot *current = keys->slots;
    uint64_t current_capacity = keys->capacity;
    /* the prepared table serves if it holds the window at most half full and is no larger
     * than needed: while every entry is live, it is exactly half the ideal size */
    if (keys->next != 0 && keys->next_capacity * 2 >= capacity && keys->next_capacity <= capacity) {
        capacity = keys->next_capacity;
        keys->slots = keys->next; /* its pages are there already */
        keys->growths_prepared++;
    } else {
        keys_unmap(keys->next, keys->next_capacity);
        keys->slots = keys_map(capacity);
    }
    keys->next = 0;
    keys->capacity = capacity;
    keys->used = 0;
    keys_drain(keys, UINT64_MAX);
    verify(keys->drain == 0);
    keys->drain = current;
    keys->drain_capacity = current_capacity;
    keys->drain_next = 0;
    keys->drain_cutoff_s = keys_cutoff_s(now_s);
    keys->growths++;
    return STATUS_OK;
}

/* Maps the next table (twice the current one: what a table still holding only the window's
 * orders grows to) once the current one is 3/8 full, and touches one of its pages per call:
 * the kernel's page faults come one per order, all done long before the current table is
 * half full. */
static void keys_prepare(struct store_idempotency *keys) {
    if (keys->next == 0 && keys->used * 8 >= keys->capacity * 3) {
        keys->next_capacity = 2 * keys->capacity;
        keys->next = keys_map(keys->next_capacity);
        keys->next_touched = 0;
    }
    if (keys->next != 0 && keys->next_touched < keys->next_capacity) {
        ((volatile struct key_slot *)keys->next)[keys->next_touched].order_id = 0;
        keys->next_touched += KEYS_PAGE_BYTES / sizeof(struct key_slot);
    }
}

static enum status keys_insert(struct db *db, const struct key_slot *entry, int64_t now_s) {
    struct store_idempotency *keys = db->idempotency;
    keys_drain(keys, LIMIT_IDEMPOTENCY_DRAIN_SLOTS);
    keys_prepare(keys);
    if ((keys->used + 1) * 2 > keys->capacity) {
        enum status status = keys_grow(db, now_s);
        if (status != STATUS_OK) return status;
    }
    keys_put(keys, entry);
    return STATUS_OK;
}

/* Reads the keyed orders past read_to, from the window's first at the earliest. */
static enum status keys_read_orders(struct db *db, int64_t now_s) {
    struct store_idempotency *keys = db->idempotency;
    int64_t from = 0, last_id = 0;
    enum status status = keys_last_id(db, &last_id);
    if (status == STATUS_OK) status = keys_first_id_since(db, keys_cutoff_s(now_s), last_id, &from);
    if (status != STATUS_OK) return status;
    if (from <= keys->read_to) from = keys->read_to + 1;
    sqlite3_stmt *stmt = db_prepare(db, "SELECT id, buyer_id, idempotency_key, created_at "
                                        "FROM orders WHERE id >= ? AND idempotency_key IS NOT "
                                        "NULL ORDER BY id");
    sqlite3_bind_int64(stmt, 1, from);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct key_slot entry = {.order_id = sqlite3_column_int64(stmt, 0),
                                 .created_at = keys_time(sqlite3_column_int64(stmt, 3))};
        entry.hash = keys_hash(keys, sqlite3_column_int64(stmt, 1), db_text(stmt, 2));
        keys->rows_read++;
        status = keys_insert(db, &entry, now_s);
        if (status != STATUS_OK) break;
        if (entry.order_id > keys->read_to) keys->read_to = entry.order_id;
    }
    if (status == STATUS_OK && rc != SQLITE_DONE) {
        log_error("idempotency: reading orders failed: %s", sqlite3_errmsg(db->handle));
        status = STATUS_DB;
    }
    sqlite3_reset(stmt);
    if (status == STATUS_OK) keys->stale = false;
    return status;
}

enum status store_idempotency_attach(struct db *db, int64_t now_s) {
    verify(db != 0 && !db->readonly && db->idempotency == 0);
    struct store_idempotency *keys = mem_calloc(1, sizeof *keys);
    crypto_shorthash_keygen(keys->key);
    keys->capacity = LIMIT_IDEMPOTENCY_MIN_SLOTS;
    keys->slots = keys_map(keys->capacity);
    db->idempotency = keys;
    enum status status = keys_read_orders(db, now_s);
    if (status != STATUS_OK) store_idempotency_detach(db);
    return status;
}

void store_idempotency_detach(struct db *db) {
    verify(db != 0);
    struct store_idempotency *keys = db->idempotency;
    if (keys == 0) return;
    keys_unmap(keys->slots, keys->capacity);
    keys_unmap(keys->drain, keys->drain_capacity);
    keys_unmap(keys->next, keys->next_capacity);
    sodium_memzero(keys->key, sizeof keys->key);
    free(keys);
    db->idempotency = 0;
}

void store_idempotency_stale(struct db *db) {
    verify(db != 0);
    if (db->idempotency != 0) db->idempotency->stale = true;
}

enum status store_idempotency_settle(struct db *db) {
    verify(db != 0);
    struct store_idempotency *keys = db->idempotency;
    if (keys == 0 || keys->stale || !keys->added) return STATUS_OK; /* max(id) as it was */
    int64_t last = 0;
    enum status status = keys_last_id(db, &last);
    if (status != STATUS_OK) return status;
    if (last > keys->read_to) keys->read_to = last;
    keys->added = false;
    return STATUS_OK;
}

/* Whether order id is this buyer's order under this key, placed within the window. */
static enum status keys_confirm(struct db *db, int64_t order_id, int64_t buyer_id, const char *key,
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
static enum status keys_find_in(struct db *db, const struct key_slot *slots, uint64_t capacity,
                                uint32_t hash, int64_t buyer_id, const char *key, int64_t now_s,
                                int64_t *order_id) {
    uint64_t mask = capacity - 1;
    for (uint64_t i = hash & mask; slots[i].order_id != 0; i = (i + 1) & mask) {
        if (slots[i].hash != hash) continue;
        bool match = false;
        enum status status = keys_confirm(db, slots[i].order_id, buyer_id, key, now_s, &match);
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
    verify(db != 0 && key != 0 && order_id != 0);
    struct store_idempotency *keys = db->idempotency;
    verify(keys != 0); /* orders are placed on the writer's connection, which holds the index */
    if (keys->stale) {
        enum status status = keys_read_orders(db, now_s);
        if (status != STATUS_OK) return status;
    }
    keys_drain(keys, LIMIT_IDEMPOTENCY_DRAIN_SLOTS);
    uint32_t hash = keys_hash(keys, buyer_id, key);
    enum status status =
        keys_find_in(db, keys->slots, keys->capacity, hash, buyer_id, key, now_s, order_id);
    if (status != STATUS_NOT_FOUND || keys->drain == 0) return status;
    return keys_find_in(db, keys->drain, keys->drain_capacity, hash, buyer_id, key, now_s,
                        order_id);
}

enum status store_idempotency_add(struct db *db, int64_t buyer_id, const char *key,
                                  int64_t order_id, int64_t now_s) {
    verify(db != 0 && db->idempotency != 0 && key != 0 && order_id > 0);
    struct key_slot entry = {.hash = keys_hash(db->idempotency, buyer_id, key),
                             .order_id = order_id,
                             .created_at = keys_time(now_s)};
    db->idempotency->added = true;
    return keys_insert(db, &entry, now_s);
}

void store_idempotency_size(const struct db *db, struct store_idempotency_size *out) {
    verify(db != 0 && out != 0);
    const struct store_idempotency *keys = db->idempotency;
    memset(out, 0, sizeof *out);
    if (keys == 0) return;
    out->entries = keys->used;
    out->slots = keys->capacity;
    out->rows_read = keys->rows_read;
    out->growths = keys->growths;
    out->growths_prepared = keys->growths_prepared;
    for (uint64_t i = keys->drain != 0 ? keys->drain_next : 0;
         keys->drain != 0 && i < keys->drain_capacity; i++)
        out->entries += keys->drain[i].order_id != 0 &&
                        (int64_t)keys->drain[i].created_at >= keys->drain_cutoff_s;
}
