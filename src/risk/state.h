/* state.h — the feature state: what the engine remembers per key (a user, a device, an
 * IP, …) for each stream of a program. One open-addressing table of fixed 256-byte slots,
 * bounded by a memory bound: memory never grows with the number of events. At the
 * bound the least recently updated of LIMIT_RISK_EVICT_SAMPLES sampled slots is evicted
 * (as Redis samples for LRU): the forgotten key starts over (counts from zero, age from
 * its next event). A slot is keyed by a hash of (stream signature, key string), so state
 * survives a rule change for every stream whose definition is unchanged. The table starts
 * small and doubles (rehashing) as keys arrive, so memory follows the keys in use.
 *
 * Windows are exact while a key has at most LIMIT_RISK_RING events in its ring; older
 * entries fold into one summary (count, sum, max, min, oldest and newest time) that is
 * counted whole while its newest time is inside the window: over-counting, never under,
 * for very busy keys. Distinct counts are exact up to LIMIT_RISK_RING values. */
#ifndef TESSERA_RISK_STATE_H
#define TESSERA_RISK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"

enum risk_slot_kind { SLOT_EMPTY, SLOT_RING, SLOT_DISTINCT, SLOT_SEEN, SLOT_LAST, SLOT_PROFILE };

struct risk_fold {
    uint32_t count;
    uint32_t oldest, newest;
    double sum, max, min;
};

/* A slot's key lives apart, in a dense array, so probing touches 8 keys per cache line
 * instead of one 256-byte slot per probe. */
struct risk_slot {
    uint32_t used_at; /* event time of the last update (LRU) */
    uint8_t kind;
    uint8_t count; /* ring entries in use */
    uint8_t next;  /* ring: where the next entry goes */
    uint8_t pad;
    union {
        struct {
            uint32_t times[LIMIT_RISK_RING];
            uint64_t values[LIMIT_RISK_RING]; /* double bits, or a value hash (distinct) */
            struct risk_fold fold;
        } ring;
        struct {
            uint32_t first;
        } seen;
        struct {
            uint32_t time;
            char text[LIMIT_RISK_TEXT_BYTES + 1];
        } last;
        struct {
            double n, mean, m2;
        } profile;
    } u;
};

_Static_assert(sizeof(struct risk_slot) <= 256, "a slot fits 256 bytes");

struct risk_window {
    double count, sum, max, min;
};

struct risk_state_stats {
    uint64_t capacity;  /* slots at the memory bound */
    uint64_t slots_now; /* slots allocated so far (the table doubles up to capacity) */
    uint64_t used, evictions;
    size_t bytes; /* allocated now */
};

struct risk_state;

/* A table of at most memory_bytes (at least 64 slots); seed fixes eviction sampling, so a
 * replay of the same events is deterministic. reserve maps the whole bound at once in
 * small pages that fault in as keys arrive: no rehash ever pauses the owner (a server's
 * writer). Without it the table starts at 1 MiB and doubles in huge pages: fewer faults,
 * for replays and backtests that fill it in one go. */
must_check enum status risk_state_create(size_t memory_bytes, uint64_t seed, bool reserve,
                                         struct risk_state **out);
void risk_state_free(struct risk_state *state);
void risk_state_stats(const struct risk_state *state, struct risk_state_stats *out);

/* Keys: a keyed 64-bit hash (SipHash, keyed by the seed: others cannot aim collisions at
 * the table) of a key string, mixed with a stream signature. */
uint64_t risk_state_hash(const struct risk_state *state, const char *text, size_t len);
uint64_t risk_state_key(uint64_t stream_signature, uint64_t key_hash);

struct risk_slot *risk_state_find(struct risk_state *state, uint64_t key);
/* Starts loading the home of every slot keyed by key_hash (all streams of one key string
 * share it) into the cache, so several keys' memory misses overlap instead of queueing. */
void risk_state_prefetch(const struct risk_state *state, uint64_t key_hash);
/* The slot for key, created empty of kind when missing (evicting at the bound). */
struct risk_slot *risk_state_upsert(struct risk_state *state, uint64_t key,
                                    enum risk_slot_kind kind, uint32_t now, bool *created);

void risk_ring_add(struct risk_slot *slot, uint32_t time, double value);
/* Entries with time > from (now − window). */
void risk_ring_window(const struct risk_slot *slot, uint32_t from, struct risk_window *out);
void risk_distinct_add(struct risk_slot *slot, uint32_t time, uint64_t value_hash);
int risk_distinct_window(const struct risk_slot *slot, uint32_t from);

/* Shortest money cycle through the transfer from→to just recorded: hops (2 …
 * LIMIT_RISK_CYCLE_HOPS) of a path to → … → from over edges newer than since in the distinct
 * stream stream_signature (user → counterparty), or 0. Bounded by LIMIT_RISK_CYCLE_VISITS. */
int risk_state_cycle(struct risk_state *state, uint64_t stream_signature, uint64_t from_hash,
                     uint64_t to_hash, uint32_t since);

#endif
