/* risk_live.h — the risk engine as the running server uses it. The writer thread owns it:
 * every function here except risk_live_create, risk_live_free and the counters runs in a
 * writer command, so the engine sees events in commit order with no lock. Events are
 * recorded (risk_events) in the same transaction as what they decided, and at start the
 * engine replays every recorded event: feature state survives a restart. Every event
 * Tessera emits is built by api/risk_events.c (the one place). */
#ifndef TESSERA_API_RISK_LIVE_H
#define TESSERA_API_RISK_LIVE_H

#include <stdatomic.h>
#include <stdint.h>

#include "risk/engine.h"
#include "store/db.h"

extern const char *const risk_default_rules; /* rules/default.rules, embedded at build */

struct risk_live_config {
    const char *model_path; /* NULL: no model */
    size_t memory_mb;       /* 0: LIMIT_RISK_MEMORY_MB */
    uint64_t seed;
};

struct risk_live {
    struct risk_engine *engine;
    struct risk_model *model; /* owned; the engine borrows it */
    size_t memory_bytes;
    _Atomic int64_t version; /* the active rule file (read by /metrics) */
    int64_t last_row; /* the last risk_events id */
    /* read by /metrics from HTTP threads */
    _Atomic uint64_t events;
    _Atomic uint64_t actions[RISK_ACTION_COUNT];
    _Atomic uint64_t state_used, state_evictions;
    _Atomic int64_t boot_events; /* replayed at start */
};

/* Loads the model (if any) and makes an engine with the empty program. Any thread. */
must_check enum status risk_live_create(const struct risk_live_config *config,
                                        struct risk_live **out, char *message, size_t size);
void risk_live_free(struct risk_live *live);

/* Writer thread, inside a write transaction: installs the active rule file (the embedded
 * default pack as version 1 on a database without one), applies the stored lists and
 * replays every recorded event. */
must_check enum status risk_live_boot(struct risk_live *live, struct db *db, int64_t now_s);
/* Writer thread: compiles source and, when it compiles (with the model), records it as the
 * next version and makes it current; diags hold the errors otherwise (STATUS_INVALID_RULES). */
must_check enum status risk_live_install(struct risk_live *live, struct db *db, const char *source,
                                         size_t len, int64_t actor_id, int64_t now_s,
                                         struct risk_diags *diags);
/* Writer thread: the event gets a decision, and an id when it has none ("ev" + its row);
 * *row is the row risk_live_record will write. */
void risk_live_decide(struct risk_live *live, struct risk_event *event,
                      struct risk_decision *decision, int64_t *row);
/* Writer thread: records the event (and decision) as row, linked to order_id (0: none). */
must_check enum status risk_live_record(struct risk_live *live, struct db *db,
                                        const struct risk_event *event,
                                        const struct risk_decision *decision, int64_t row,
                                        int64_t order_id, int64_t now_s);
/* Writer thread: an event that is not decided (signup, login): through the engine once
 * (*row 0: first run of the command; a re-run of its batch passes the row back and the
 * engine is not fed twice) and recorded. */
must_check enum status risk_live_emit(struct risk_live *live, struct db *db,
                                      struct risk_event *event, int64_t *row, int64_t now_s);
/* Writer thread: replaces a declared list's items (STATUS_UNKNOWN_LIST if the active rules
 * do not declare it; STATUS_INVALID_VALUE for an item that cannot be one). */
must_check enum status risk_live_list_replace(struct risk_live *live, struct db *db,
                                              const char *name, const char *const *items, int count,
                                              int64_t actor_id, int64_t now_s);

#endif
