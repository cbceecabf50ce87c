/* state.c — the slot table (linear probing, backward-shift deletion, sampled LRU eviction)
 * and the per-slot structures: rings with a fold, distinct sets, and the bounded search for
 * money cycles. See state.h for the accuracy each keeps. */
#include "risk/state.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"

struct risk_state {
    struct risk_slot *slots;
    uint64_t mask, used, max_used, evictions;
    uint64_t random; /* xorshift state for eviction sampling */
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

static uint64_t state_mix(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return x;
}

enum status risk_state_create(size_t memory_bytes, uint64_t seed, struct risk_state **out) {
    verify(out != 0);
    uint64_t capacity = 64;
    while (capacity * 2 * sizeof(struct risk_slot) <= memory_bytes)
        capacity *= 2;
    struct risk_state *state = mem_calloc(1, sizeof *state);
    state->slots = calloc(capacity, sizeof *state->slots); /* pages arrive as they are used */
    if (state->slots == 0) {
        free(state);
        return STATUS_NOMEM;
    }
    state->mask = capacity - 1;
    state->max_used = capacity - capacity / 8;
    state->random = state_mix(seed + 1);
    for (size_t i = 0; i < sizeof state->hash_key; i++)
        state->hash_key[i] = (unsigned char)(state_mix(seed + 17 + i) & 0xFF);
    *out = state;
    return STATUS_OK;
}

void risk_state_free(struct risk_state *state) {
    if (state == 0) return;
    free(state->slots);
    sodium_memzero(state->hash_key, sizeof state->hash_key);
    free(state);
}

void risk_state_stats(const struct risk_state *state, struct risk_state_stats *out) {
    verify(state != 0 && out != 0);
    out->capacity = state->mask + 1;
    out->used = state->used;
    out->evictions = state->evictions;
    out->bytes = (size_t)(state->mask + 1) * sizeof(struct risk_slot);
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
    uint64_t key = state_mix(stream_signature ^ state_mix(key_hash));
    return key ? key : 1;
}

struct risk_slot *risk_state_find(struct risk_state *state, uint64_t key) {
    verify(state != 0 && key != 0);
    for (uint64_t i = key & state->mask;; i = (i + 1) & state->mask) {
        struct risk_slot *slot = &state->slots[i];
        if (slot->key == key) return slot;
        if (slot->key == 0) return 0;
    }
}

/* Removes slot i and shifts later entries of its probe run back into the hole. */
static void state_delete(struct risk_state *state, uint64_t i) {
    verify(state->slots[i].key != 0);
    state->slots[i].key = 0;
    state->used--;
    for (uint64_t j = (i + 1) & state->mask; state->slots[j].key != 0; j = (j + 1) & state->mask) {
        uint64_t home = state->slots[j].key & state->mask;
        /* j stays when its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        state->slots[i] = state->slots[j];
        state->slots[j].key = 0;
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
        while (state->slots[i].key == 0)
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
    struct risk_slot *slot = risk_state_find(state, key);
    *created = slot == 0;
    if (slot == 0) {
        if (state->used >= state->max_used) state_evict(state);
        uint64_t i = key & state->mask;
        while (state->slots[i].key != 0)
            i = (i + 1) & state->mask;
        slot = &state->slots[i];
        memset(slot, 0, sizeof *slot);
        slot->key = key;
        slot->kind = (uint8_t)kind;
        state->used++;
    }
    if (slot->kind != kind) { /* two streams' keys met in 64 bits: the newcomer takes it */
        uint64_t kept_key = slot->key;
        memset(slot, 0, sizeof *slot);
        slot->key = kept_key;
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
