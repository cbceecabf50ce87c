/* state.c — the slot table (linear probing, backward-shift deletion, sampled LRU eviction)
 * and the per-slot structures: rings with a fold, distinct sets, and the bounded search for
 * money cycles. See state.h for the accuracy each keeps. */
#include "risk/state.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/assert.h"
#include "base/mem.h"

/* The low STATE_HOME_BITS of a slot key come from the key string alone, so every stream of
 * one user (or device, …) probes from the same home: its slots sit side by side, a cache
 * line of keys and adjacent slots instead of one memory miss per stream. The high bits mix
 * in the stream. */
#define STATE_HOME_BITS 24
#define STATE_HOME_MASK ((UINT64_C(1) << STATE_HOME_BITS) - 1)

static uint64_t state_mix(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return x;
}

struct risk_state {
    uint64_t *keys; /* 0: empty */
    struct risk_slot *slots;
    size_t slots_bytes;
    uint64_t mask, used, max_used, evictions;
    uint64_t capacity_limit; /* from the memory bound */
    bool huge;               /* growing in huge pages (not reserved) */
    uint64_t random;         /* xorshift state for eviction sampling */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

#define STATE_FIRST_CAPACITY 4096 /* slots at start unless reserved (1 MiB); doubles */

/* Maps capacity empty slots. Pages arrive as keys land on them, as huge pages where the
 * kernel allows (random keys would otherwise fault in a 4 KiB page per new key). */
static bool state_map(uint64_t capacity, bool huge, uint64_t **keys, struct risk_slot **slots,
                      size_t *slots_bytes) {
    *keys = calloc(capacity, sizeof **keys);
    *slots_bytes = (size_t)capacity * sizeof(struct risk_slot);
    void *mapped =
        mmap(0, *slots_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (*keys == 0 || mapped == MAP_FAILED) {
        free(*keys);
        if (mapped != MAP_FAILED) verify(munmap(mapped, *slots_bytes) == 0);
        return false;
    }
    if (huge) (void)madvise(mapped, *slots_bytes, MADV_HUGEPAGE);
    *slots = mapped;
    return true;
}

static void state_set_capacity(struct risk_state *state, uint64_t capacity) {
    state->mask = capacity - 1;
    state->max_used = capacity - capacity / 4;
}

enum status risk_state_create(size_t memory_bytes, uint64_t seed, bool reserve,
                              struct risk_state **out) {
    verify(out != 0);
    verify(sodium_init() >= 0); /* the key hash is SipHash; idempotent */
    uint64_t limit = 64;
    size_t per_slot = sizeof(struct risk_slot) + sizeof(uint64_t);
    /* homes come from STATE_HOME_BITS bits: at most 2^24 slots (4 GiB) */
    while (limit * 2 * per_slot <= memory_bytes && limit * 2 <= (UINT64_C(1) << STATE_HOME_BITS))
        limit *= 2;
    struct risk_state *state = mem_calloc(1, sizeof *state);
    state->capacity_limit = limit;
    uint64_t capacity = reserve || limit < STATE_FIRST_CAPACITY ? limit : STATE_FIRST_CAPACITY;
    state->huge = !reserve;
    if (!state_map(capacity, state->huge, &state->keys, &state->slots, &state->slots_bytes)) {
        free(state);
        return STATUS_NOMEM;
    }
    state_set_capacity(state, capacity);
    state->random = state_mix(seed + 1);
    for (size_t i = 0; i < sizeof state->hash_key; i++)
        state->hash_key[i] = (unsigned char)(state_mix(seed + 17 + i) & 0xFF);
    *out = state;
    return STATUS_OK;
}

/* Doubles the table (rehashing every entry); false when at the bound or out of memory. */
static bool state_grow(struct risk_state *state) {
    uint64_t capacity = state->mask + 1;
    if (capacity * 2 > state->capacity_limit) return false;
    uint64_t *keys = 0;
    struct risk_slot *slots = 0;
    size_t slots_bytes = 0;
    if (!state_map(capacity * 2, state->huge, &keys, &slots, &slots_bytes)) return false;
    uint64_t mask = capacity * 2 - 1;
    for (uint64_t i = 0; i < capacity; i++) {
        if (state->keys[i] == 0) continue;
        uint64_t j = state->keys[i] & mask;
        while (keys[j] != 0)
            j = (j + 1) & mask;
        keys[j] = state->keys[i];
        slots[j] = state->slots[i];
    }
    free(state->keys);
    verify(munmap(state->slots, state->slots_bytes) == 0);
    state->keys = keys;
    state->slots = slots;
    state->slots_bytes = slots_bytes;
    state_set_capacity(state, capacity * 2);
    return true;
}

void risk_state_free(struct risk_state *state) {
    if (state == 0) return;
    free(state->keys);
    verify(munmap(state->slots, state->slots_bytes) == 0);
    sodium_memzero(state->hash_key, sizeof state->hash_key);
    free(state);
}

void risk_state_stats(const struct risk_state *state, struct risk_state_stats *out) {
    verify(state != 0 && out != 0);
    out->capacity = state->capacity_limit;
    out->used = state->used;
    out->evictions = state->evictions;
    out->bytes = (size_t)(state->mask + 1) * (sizeof(struct risk_slot) + sizeof(uint64_t));
    out->slots_now = state->mask + 1;
}

uint64_t risk_state_hash(const struct risk_state *state, const char *text, size_t len) {
    verify(state != 0 && (text != 0 || len == 0));
    unsigned char hash[crypto_shorthash_BYTES];
    crypto_shorthash(hash, (const unsigned char *)text, len, state->hash_key);
    uint64_t value = 0;
    memcpy(&value, hash, sizeof value);
    return value;
}

uint64_t risk_state_key(uint64_t stream_signature, uint64_t key_hash) {
    uint64_t key = (state_mix(stream_signature ^ state_mix(key_hash)) & ~STATE_HOME_MASK) |
                   (key_hash & STATE_HOME_MASK);
    return key ? key : 1;
}

static uint64_t state_index(const struct risk_state *state, uint64_t key) {
    for (uint64_t i = key & state->mask;; i = (i + 1) & state->mask) {
        if (state->keys[i] == key || state->keys[i] == 0) return i;
    }
}

void risk_state_prefetch(const struct risk_state *state, uint64_t key_hash) {
    uint64_t i = key_hash & STATE_HOME_MASK & state->mask;
    __builtin_prefetch(&state->keys[i]);
    const char *slot = (const char *)&state->slots[i];
    size_t span = (i < state->mask ? 2 : 1) * sizeof(struct risk_slot); /* inside the table */
    for (size_t line = 0; line < span; line += 64)
        __builtin_prefetch(slot + line); /* a key's streams sit side by side from there */
}

struct risk_slot *risk_state_find(struct risk_state *state, uint64_t key) {
    verify(state != 0 && key != 0);
    uint64_t i = state_index(state, key);
    return state->keys[i] == key ? &state->slots[i] : 0;
}

/* Removes slot i and shifts later entries of its probe run back into the hole. */
static void state_delete(struct risk_state *state, uint64_t i) {
    verify(state->keys[i] != 0);
    state->keys[i] = 0;
    state->used--;
    for (uint64_t j = (i + 1) & state->mask; state->keys[j] != 0; j = (j + 1) & state->mask) {
        uint64_t home = state->keys[j] & state->mask;
        /* j stays when its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        state->keys[i] = state->keys[j];
        state->slots[i] = state->slots[j];
        state->keys[j] = 0;
        i = j;
    }
}

static uint64_t state_random(struct risk_state *state) {
    uint64_t x = state->random;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state->random = x;
    return x;
}

static void state_evict(struct risk_state *state) {
    uint64_t victim = UINT64_MAX;
    uint32_t oldest = UINT32_MAX;
    for (int n = 0; n < LIMIT_RISK_EVICT_SAMPLES; n++) {
        uint64_t i = state_random(state) & state->mask;
        while (state->keys[i] == 0)
            i = (i + 1) & state->mask; /* the table is mostly full: this ends at once */
        if (victim == UINT64_MAX || state->slots[i].used_at < oldest) {
            victim = i;
            oldest = state->slots[i].used_at;
        }
    }
    state_delete(state, victim);
    state->evictions++;
}

struct risk_slot *risk_state_upsert(struct risk_state *state, uint64_t key,
                                    enum risk_slot_kind kind, uint32_t now, bool *created) {
    verify(state != 0 && key != 0 && created != 0 && kind != SLOT_EMPTY);
    uint64_t i = state_index(state, key);
    *created = state->keys[i] != key;
    if (*created) {
        if (state->used >= state->max_used) {
            if (!state_grow(state)) state_evict(state);
            i = state_index(state, key); /* growing or evicting moved entries */
        }
        verify(state->keys[i] == 0);
        state->keys[i] = key;
        memset(&state->slots[i], 0, sizeof state->slots[i]);
        state->slots[i].kind = (uint8_t)kind;
        state->used++;
    }
    struct risk_slot *slot = &state->slots[i];
    if (slot->kind != kind) { /* two streams' keys met in 64 bits: the newcomer takes it */
        memset(slot, 0, sizeof *slot);
        slot->kind = (uint8_t)kind;
        *created = true;
    }
    if (now > slot->used_at) slot->used_at = now;
    return slot;
}

static uint64_t state_bits(double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double state_double(uint64_t bits) {
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static void state_fold(struct risk_fold *fold, uint32_t time, double value) {
    if (fold->count == 0) {
        fold->oldest = fold->newest = time;
        fold->max = fold->min = value;
    }
    fold->count++;
    fold->sum += value;
    if (time < fold->oldest) fold->oldest = time;
    if (time > fold->newest) fold->newest = time;
    if (value > fold->max) fold->max = value;
    if (value < fold->min) fold->min = value;
}

void risk_ring_add(struct risk_slot *slot, uint32_t time, double value) {
    verify(slot != 0 && slot->kind == SLOT_RING);
    verify(slot->count <= LIMIT_RISK_RING && slot->next < LIMIT_RISK_RING);
    if (slot->count == LIMIT_RISK_RING) {
        state_fold(&slot->u.ring.fold, slot->u.ring.times[slot->next],
                   state_double(slot->u.ring.values[slot->next]));
    } else {
        slot->count++;
    }
    slot->u.ring.times[slot->next] = time;
    slot->u.ring.values[slot->next] = state_bits(value);
    slot->next = (uint8_t)((slot->next + 1) % LIMIT_RISK_RING);
}

static void state_window_add(struct risk_window *w, double count, double sum, double max,
                             double min) {
    if (w->count == 0) {
        w->max = max;
        w->min = min;
    } else {
        if (max > w->max) w->max = max;
        if (min < w->min) w->min = min;
    }
    w->count += count;
    w->sum += sum;
}

void risk_ring_window(const struct risk_slot *slot, uint32_t from, struct risk_window *out) {
    verify(out != 0);
    memset(out, 0, sizeof *out);
    if (slot == 0) return;
    verify(slot->kind == SLOT_RING && slot->count <= LIMIT_RISK_RING);
    for (int i = 0; i < slot->count; i++) {
        if (slot->u.ring.times[i] <= from) continue;
        double value = state_double(slot->u.ring.values[i]);
        state_window_add(out, 1, value, value, value);
    }
    const struct risk_fold *fold = &slot->u.ring.fold;
    if (fold->count > 0 && fold->newest > from) {
        state_window_add(out, fold->count, fold->sum, fold->max, fold->min);
    }
}

void risk_distinct_add(struct risk_slot *slot, uint32_t time, uint64_t value_hash) {
    verify(slot != 0 && slot->kind == SLOT_DISTINCT && slot->count <= LIMIT_RISK_RING);
    int oldest = 0;
    for (int i = 0; i < slot->count; i++) {
        if (slot->u.ring.values[i] == value_hash) {
            if (time > slot->u.ring.times[i]) slot->u.ring.times[i] = time;
            return;
        }
        if (slot->u.ring.times[i] < slot->u.ring.times[oldest]) oldest = i;
    }
    int at = slot->count < LIMIT_RISK_RING ? slot->count++ : oldest;
    slot->u.ring.times[at] = time;
    slot->u.ring.values[at] = value_hash;
}

int risk_distinct_window(const struct risk_slot *slot, uint32_t from) {
    if (slot == 0) return 0;
    verify(slot->kind == SLOT_DISTINCT && slot->count <= LIMIT_RISK_RING);
    int count = 0;
    for (int i = 0; i < slot->count; i++)
        count += slot->u.ring.times[i] > from;
    return count;
}

/* Adds node to a small open hash set (capacity LIMIT_RISK_CYCLE_VISITS * 2); false when
 * it was there already. */
static bool state_visit(uint64_t *set, uint64_t node) {
    uint64_t mask = (uint64_t)LIMIT_RISK_CYCLE_VISITS * 2 - 1;
    uint64_t marked = node | 1; /* 0 marks an empty slot */
    for (uint64_t i = state_mix(node) & mask;; i = (i + 1) & mask) {
        if (set[i] == marked) return false;
        if (set[i] == 0) {
            set[i] = marked;
            return true;
        }
    }
}

int risk_state_cycle(struct risk_state *state, uint64_t stream_signature, uint64_t from_hash,
                     uint64_t to_hash, uint32_t since) {
    verify(state != 0);
    if (from_hash == to_hash) return 0; /* to oneself: not a cycle through others */
    static _Thread_local uint64_t nodes[LIMIT_RISK_CYCLE_VISITS];
    static _Thread_local uint64_t set[LIMIT_RISK_CYCLE_VISITS * 2];
    memset(set, 0, sizeof set);
    int count = 0, level_start = 0;
    nodes[count++] = to_hash;
    (void)state_visit(set, to_hash);
    /* hops counts the edges of the cycle: from → to, then the path back */
    for (int hops = 2; hops <= LIMIT_RISK_CYCLE_HOPS; hops++) {
        int level_end = count;
        bool last = hops == LIMIT_RISK_CYCLE_HOPS;
        for (int n = level_start; n < level_end; n++) {
            const struct risk_slot *slot =
                risk_state_find(state, risk_state_key(stream_signature, nodes[n]));
            if (slot == 0) continue;
            verify(slot->kind == SLOT_DISTINCT);
            for (int i = 0; i < slot->count; i++) {
                if (slot->u.ring.times[i] <= since) continue;
                uint64_t next = slot->u.ring.values[i];
                if (next == from_hash) return hops;
                if (!last && count < LIMIT_RISK_CYCLE_VISITS && state_visit(set, next)) {
                    nodes[count++] = next;
                }
            }
        }
        level_start = level_end;
    }
    return 0;
}
