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
    uint64_t seed;
    _Atomic int64_t version; /* the active rule file (read by /metrics) */
    int64_t last_row;        /* the last risk_events id */
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
/* A fresh engine (the live one's model, memory bound and seed) running source, with the
 * stored items of its lists read from lists (NULL: the file's); reserve as in struct
 * risk_engine_config. STATUS_INVALID_RULES with diags when it does not compile. Any thread:
 * reads only what never changes after start. */
must_check enum status risk_live_engine(const struct risk_live *live, struct db *lists,
                                        const char *source, size_t len, bool reserve,
                                        struct risk_engine **out, struct risk_diags *diags);

/* A rule file on its way in. A file whose features all read streams the active file already
 * keeps (a changed threshold, a new rule over old features) is installed into the live
 * engine, state and all. One that adds or changes a stream needs history the live engine
 * never kept, so a fresh engine replays every recorded event first, off the writer, and the
 * writer only catches it up and swaps it in: a new feature sees the past as the backtest
 * did. While it rebuilds the server holds two engines' state. */
struct risk_live_rebuild {
    struct risk_engine *engine; /* NULL: install into the live engine */
    int64_t after_row;          /* the last recorded row engine has seen */
    uint64_t replayed;          /* events it replayed, snapshot and catch-up */
    bool rebuilt;               /* set once engine is live */
};

/* Offload thread, on its read connection (one snapshot): compiles source (diags,
 * STATUS_INVALID_RULES) and, when it needs one, makes the rebuilt engine. The caller frees
 * out->engine if it never reaches risk_live_install. */
must_check enum status risk_live_prepare(const struct risk_live *live, struct db *reader,
                                         const char *source, size_t len,
                                         struct risk_live_rebuild *out, struct risk_diags *diags);
/* Writer thread: makes source current (the rebuilt engine, caught up, or the live engine
 * with source installed), records it as the next version and applies the stored lists.
 * Re-runnable: a re-run after the swap installs into the swapped-in engine. A file that no
 * longer compiles (STATUS_INVALID_RULES, diags) changes nothing. */
must_check enum status risk_live_install(struct risk_live *live, struct db *db, const char *source,
                                         size_t len, struct risk_live_rebuild *rebuild,
                                         int64_t actor_id, int64_t now_s, struct risk_diags *diags);
/* Writer thread: the event gets a decision, and an id when it has none ("ev" + its row);
 * *row is the row risk_live_record will write. */
void risk_live_decide(struct risk_live *live, struct risk_event *event,
                      struct risk_decision *decision, int64_t *row);
/* Writer thread: records the event (and decision) as row, linked to order_id (0: none). */
must_check enum status risk_live_record(struct risk_live *live, struct db *db,
                                        const struct risk_event *event,
                                        const struct risk_decision *decision, int64_t row,
                                        int64_t order_id, int64_t now_s);
/* Writer thread: an event Tessera makes outside the order path (signup, login, a wallet
 * credit's payment, a rejected review's refund): through the engine once and recorded with
 * its decision, which is advice (nothing waits on it). *row 0 is the command's first run; a
 * re-run of its batch passes back the row and the decision kept by the caller, and the
 * engine is not fed twice. */
must_check enum status risk_live_emit(struct risk_live *live, struct db *db,
                                      struct risk_event *event, struct risk_decision *decision,
                                      int64_t *row, int64_t now_s);
/* Writer thread: replaces a declared list's items (STATUS_UNKNOWN_LIST if the active rules
 * do not declare it; STATUS_INVALID_VALUE for an item that cannot be one). */
must_check enum status risk_live_list_replace(struct risk_live *live, struct db *db,
                                              const char *name, const char *const *items, int count,
                                              int64_t actor_id, int64_t now_s);

#endif
