/* engine.h — the risk engine: a compiled program, its feature state, its lists and an
 * optional model. risk_engine_process takes every event in order: it computes the
 * program's features for the event, records the event in the state, and for decidable
 * events (order, payment, refund, withdrawal, transfer) runs every rule:
 *   action = the strongest action of the fired rules that are not shadow (allow if none);
 *   score  = 100 × (1 − Π (1 − sᵢ/100)) over those rules' scores sᵢ (each clamped to 0–100),
 *            so two rules of 50 make 75 and the score stays within 0–100;
 * shadow rules are evaluated and reported, never acted on; rules that read model_score are
 * skipped while no model is loaded. Deterministic: the same events in the same order give
 * the same decisions. Single-threaded: one owner (the writer thread, or a replay). */
#ifndef TESSERA_RISK_ENGINE_H
#define TESSERA_RISK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"
#include "risk/event.h"
#include "risk/lists.h"
#include "risk/model.h"
#include "risk/program.h"
#include "risk/state.h"

struct risk_engine;

struct risk_engine_config {
    size_t memory_bytes; /* the feature state's bound; 0: LIMIT_RISK_MEMORY_MB */
    uint64_t seed;       /* hash key and eviction sampling; replays use 0 */
    bool reserve;        /* see risk_state_create: a server reserves (no rehash pauses) */
};

struct risk_decision {
    bool decided; /* false for signup, login, redemption */
    enum risk_action action;
    double score;       /* 0-100 */
    double model_score; /* 0-100, or -1 without a model */
    int fired_count;
    uint16_t fired[LIMIT_RISK_RULES]; /* indices of fired rules, in rule order, shadow too */
};

must_check enum status risk_engine_create(const struct risk_engine_config *config,
                                          struct risk_engine **out);
void risk_engine_free(struct risk_engine *engine);

/* Makes program (and model, may be NULL) current. The engine owns program from here, also
 * on failure; model is borrowed (read-only, it may serve several engines) and must outlive
 * the engine's use of it. A model's inputs are compiled against the program: errors land
 * in diags.
 * Feature state carries over for every stream whose definition did not change; lists keep
 * their contents by name, and lists new to the engine start with the items the file gives. */
must_check enum status risk_engine_install(struct risk_engine *engine, struct risk_program *program,
                                           struct risk_model *model, struct risk_diags *diags);
const struct risk_program *risk_engine_program(const struct risk_engine *engine);
/* True when every stream next reads is one prev already keeps (same definition), so an engine
 * running prev holds all the state next needs: installing next loses no history. */
bool risk_program_carries(const struct risk_program *prev, const struct risk_program *next);
bool risk_engine_has_model(const struct risk_engine *engine);

void risk_engine_process(struct risk_engine *engine, const struct risk_event *event,
                         struct risk_decision *decision);

/* The feature values of the last decided event, for explaining its decision (events that
 * are not decided update the state only). */
const double *risk_engine_values(const struct risk_engine *engine);
const char *risk_engine_text(const struct risk_engine *engine, int text_index);

/* A list by name (NULL when no program declared it). */
struct risk_list *risk_engine_list(struct risk_engine *engine, const char *name);
void risk_engine_state_stats(const struct risk_engine *engine, struct risk_state_stats *out);

#endif
