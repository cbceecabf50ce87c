/* risk_live.c — the running server's risk engine (see risk_live.h): rule versions, lists,
 * recorded events and the replay at start. */
#include "api/risk_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/text.h"
#include "risk/decision.h"
#include "store/store.h"

enum status risk_live_create(const struct risk_live_config *config, struct risk_live **out,
                             char *message, size_t size) {
    verify(config != 0 && out != 0 && message != 0);
    struct risk_live *live = mem_calloc(1, sizeof *live);
    enum status status = STATUS_OK;
    if (config->model_path != 0) {
        status = risk_model_load(config->model_path, &live->model, message, size);
    }
    live->memory_bytes =
        (config->memory_mb ? config->memory_mb : LIMIT_RISK_MEMORY_MB) * 1024 * 1024;
    live->seed = config->seed;
    struct risk_engine_config engine = {live->memory_bytes, config->seed, true};
    if (status == STATUS_OK) status = risk_engine_create(&engine, &live->engine);
    if (status != STATUS_OK) {
        if (message[0] == 0) snprintf(message, size, "cannot create the risk engine");
        risk_live_free(live);
        return status;
    }
    *out = live;
    return STATUS_OK;
}

void risk_live_free(struct risk_live *live) {
    if (live == 0) return;
    risk_engine_free(live->engine);
    risk_model_free(live->model);
    free(live);
}

static void risk_live_log_diags(const struct risk_diags *diags, const char *what) {
    struct buf text;
    buf_init(&text, 1 << 16);
    if (risk_diags_format(diags, what, &text) == STATUS_OK && text.len > 0) {
        log_error("risk: %s does not compile:\n%s", what, text.data);
    }
    buf_free(&text);
}

/* Compiles source and makes it the engine's program (with the model). */
static enum status risk_live_use(struct risk_live *live, const char *source, size_t len,
                                 struct risk_diags *diags) {
    struct risk_program *program = 0;
    enum status status = risk_compile(source, len, &program, diags);
    if (status == STATUS_OK)
        status = risk_engine_install(live->engine, program, live->model, diags);
    return status == STATUS_OK ? STATUS_OK : STATUS_INVALID_RULES;
}

struct list_load {
    struct risk_engine *engine;
    struct risk_list *list; /* the list being filled, NULL when not declared */
    char name[LIMIT_RISK_NAME_BYTES + 1];
};

static enum status risk_live_list_row(void *context, const char *name, const char *item) {
    struct list_load *load = context;
    if (strcmp(load->name, name) != 0) {
        (void)text_copy(load->name, sizeof load->name, name);
        load->list = risk_engine_list(load->engine, name);
        if (load->list != 0)
            risk_list_clear(load->list); /* the operator's items replace the file's */
    }
    if (load->list != 0 && item != 0 &&
        risk_list_add(load->list, item, strlen(item)) != STATUS_OK) {
        log_warn("risk: list %s: a stored item no longer fits and is skipped", name);
    }
    return STATUS_OK;
}

static enum status risk_live_apply_lists(struct risk_engine *engine, struct db *db) {
    struct list_load load;
    memset(&load, 0, sizeof load);
    load.engine = engine;
    load.name[0] = 0;
    return store_risk_list_each(db, 0, risk_live_list_row, &load);
}

/* Recorded events through an engine: at start, into a rebuilt engine, and its catch-up. */
struct replay {
    struct risk_engine *engine;
    int64_t last_row;
    uint64_t events;
};

static enum status risk_live_replay_row(void *context, int64_t id, const char *body, size_t len,
                                        int label, const char *action) {
    (void)label;
    (void)action;
    struct replay *replay = context;
    static _Thread_local struct risk_event event; /* large */
    char message[160];
    replay->last_row = id;
    if (risk_event_parse(body, len, &event, message, sizeof message) != STATUS_OK) {
        log_error("risk: recorded event %lld does not parse (%s); skipped", (long long)id, message);
        return STATUS_OK;
    }
    struct risk_decision decision;
    risk_engine_process(replay->engine, &event, &decision);
    replay->events++;
    return STATUS_OK;
}

enum status risk_live_boot(struct risk_live *live, struct db *db, int64_t now_s) {
    verify(live != 0 && db != 0);
    struct buf source;
    buf_init(&source, LIMIT_RISK_RULE_FILE_BYTES + 1);
    int64_t version = 0;
    enum status status = store_ruleset_active(db, &version, &source);
    if (status == STATUS_NOT_FOUND) {
        status = store_ruleset_insert(db, risk_default_rules, 0, now_s, &version);
        if (status == STATUS_OK)
            status = buf_append(&source, risk_default_rules, strlen(risk_default_rules));
    }
    struct risk_diags diags;
    if (status == STATUS_OK) {
        status = risk_live_use(live, source.data ? source.data : "", source.len, &diags);
        if (status != STATUS_OK) { /* e.g. the model no longer fits the stored rules */
            risk_live_log_diags(&diags, "the active rule file");
            log_error("risk: serving the built-in default rules instead");
            status = risk_live_use(live, risk_default_rules, strlen(risk_default_rules), &diags);
        }
    }
    buf_free(&source);
    if (status != STATUS_OK) return status;
    atomic_store(&live->version, version);
    status = risk_live_apply_lists(live->engine, db);
    if (status == STATUS_OK) status = store_risk_last_id(db, &live->last_row);
    struct replay replay = {live->engine, 0, 0};
    if (status == STATUS_OK) status = store_risk_event_each(db, 0, risk_live_replay_row, &replay);
    if (status == STATUS_OK && live->last_row < replay.last_row) live->last_row = replay.last_row;
    atomic_store(&live->boot_events, (int64_t)replay.events);
    if (status == STATUS_OK) {
        log_info("risk: rules version %lld, %llu recorded events replayed", (long long)version,
                 (unsigned long long)replay.events);
    }
    return status;
}

enum status risk_live_engine(const struct risk_live *live, struct db *lists, const char *source,
                             size_t len, bool reserve, struct risk_engine **out,
                             struct risk_diags *diags) {
    verify(live != 0 && source != 0 && out != 0 && diags != 0);
    *out = 0;
    struct risk_program *program = 0;
    enum status status = risk_compile(source, len, &program, diags);
    if (status != STATUS_OK) return STATUS_INVALID_RULES;
    struct risk_engine_config config = {live->memory_bytes, live->seed, reserve};
    struct risk_engine *engine = 0;
    status = risk_engine_create(&config, &engine);
    if (status != STATUS_OK) {
        risk_program_free(program);
        return status;
    }
    status = risk_engine_install(engine, program, live->model, diags);
    if (status != STATUS_OK) {
        risk_engine_free(engine);
        return STATUS_INVALID_RULES;
    }
    if (lists != 0) status = risk_live_apply_lists(engine, lists);
    if (status != STATUS_OK) {
        risk_engine_free(engine);
        return status;
    }
    *out = engine;
    return STATUS_OK;
}

/* Whether the active rule file (as the read connection sees it) keeps every stream next
 * reads; false when there is none or it no longer compiles. */
static bool risk_live_active_carries(struct db *reader, const char *source, size_t len) {
    struct risk_program *next = 0, *prev = 0;
    struct risk_diags diags;
    if (risk_compile(source, len, &next, &diags) != STATUS_OK) return false;
    struct buf active;
    buf_init(&active, LIMIT_RISK_RULE_FILE_BYTES + 1);
    int64_t version = 0;
    bool carries =
        store_ruleset_active(reader, &version, &active) == STATUS_OK &&
        risk_compile(active.data ? active.data : "", active.len, &prev, &diags) == STATUS_OK &&
        risk_program_carries(prev, next);
    buf_free(&active);
    risk_program_free(prev);
    risk_program_free(next);
    return carries;
}

enum status risk_live_prepare(const struct risk_live *live, struct db *reader, const char *source,
                              size_t len, struct risk_live_rebuild *out, struct risk_diags *diags) {
    verify(live != 0 && reader != 0 && source != 0 && out != 0 && diags != 0);
    memset(out, 0, sizeof *out);
    enum status status = db_begin_read(reader); /* one snapshot: rules, lists and events */
    if (status != STATUS_OK) return status;
    struct risk_engine *engine = 0;
    status = risk_live_engine(live, reader, source, len, true, &engine, diags);
    if (status == STATUS_OK && !risk_live_active_carries(reader, source, len)) {
        struct replay replay = {engine, 0, 0};
        status = store_risk_event_each(reader, 0, risk_live_replay_row, &replay);
        if (status == STATUS_OK) {
            out->engine = engine;
            out->after_row = replay.last_row;
            out->replayed = replay.events;
            engine = 0;
        }
    }
    db_rollback(reader);
    risk_engine_free(engine); /* NULL when kept */
    return status;
}

enum status risk_live_install(struct risk_live *live, struct db *db, const char *source, size_t len,
                              struct risk_live_rebuild *rebuild, int64_t actor_id, int64_t now_s,
                              struct risk_diags *diags) {
    verify(live != 0 && db != 0 && source != 0 && rebuild != 0 && diags != 0);
    enum status status = STATUS_OK;
    if (rebuild->engine != 0) {
        /* catch up with what the engine decided since the snapshot, then take its place */
        struct replay replay = {rebuild->engine, rebuild->after_row, 0};
        status = store_risk_event_each(db, rebuild->after_row, risk_live_replay_row, &replay);
        if (status != STATUS_OK) return status;
        log_info("risk: feature state rebuilt from %llu recorded events, %llu more caught up",
                 (unsigned long long)rebuild->replayed, (unsigned long long)replay.events);
        rebuild->replayed += replay.events;
        risk_engine_free(live->engine);
        live->engine = rebuild->engine;
        rebuild->engine = 0; /* a re-run of the batch installs into it and keeps its state */
        rebuild->rebuilt = true;
    } else {
        struct risk_program *program = 0;
        status = risk_compile(source, len, &program, diags);
        if (status != STATUS_OK) return STATUS_INVALID_RULES;
        if (!rebuild->rebuilt &&
            !risk_program_carries(risk_engine_program(live->engine), program)) {
            /* another file went live since this one was prepared */
            log_warn("risk: a rule file was installed meanwhile; new features start empty");
        }
        status = risk_engine_install(live->engine, program, live->model, diags);
        if (status != STATUS_OK) return STATUS_INVALID_RULES; /* nothing written */
    }
    char *copy = mem_strndup(source, len);
    int64_t version = 0;
    status = store_ruleset_insert(db, copy, actor_id, now_s, &version);
    free(copy);
    if (status == STATUS_OK) atomic_store(&live->version, version);
    if (status == STATUS_OK) status = risk_live_apply_lists(live->engine, db);
    return status;
}

/* "ev" and the event's row: the id of an event Tessera made itself */
static void risk_live_event_id(struct risk_event *event, int64_t row) {
    size_t at = text_put(event->id, sizeof event->id, 0, "ev");
    (void)text_put_int64(event->id, sizeof event->id, at, row);
}

void risk_live_decide(struct risk_live *live, struct risk_event *event,
                      struct risk_decision *decision, int64_t *row) {
    verify(live != 0 && event != 0 && decision != 0 && row != 0);
    *row = ++live->last_row;
    if (event->id[0] == 0) risk_live_event_id(event, *row);
    risk_engine_process(live->engine, event, decision);
    atomic_fetch_add(&live->events, 1);
    if (decision->decided) atomic_fetch_add(&live->actions[decision->action], 1);
    struct risk_state_stats stats;
    risk_engine_state_stats(live->engine, &stats);
    atomic_store(&live->state_used, stats.used);
    atomic_store(&live->state_evictions, stats.evictions);
}

enum status risk_live_record(struct risk_live *live, struct db *db, const struct risk_event *event,
                             const struct risk_decision *decision, int64_t row, int64_t order_id,
                             int64_t now_s) {
    verify(live != 0 && db != 0 && event != 0 && decision != 0 && row > 0);
    struct buf body, rules, features;
    buf_init(&body, LIMIT_RISK_EVENT_BYTES * 2);
    buf_init(&rules, 1 << 20);
    buf_init(&features, 1 << 20);
    enum status status = risk_event_append_json(&body, event);
    if (status == STATUS_OK && decision->decided) {
        status = risk_decision_pack(live->engine, decision, &rules, &features);
    }
    if (status == STATUS_OK) {
        struct store_risk_row record = {
            .id = row,
            .event_id = event->id,
            .type = risk_type_name(event->type),
            .user = event->fields[RISK_FIELD_USER],
            .body = body.data,
            .at = event->time_s,
            .order_id = order_id,
            .action = decision->decided ? risk_action_name(decision->action) : 0,
            .score = decision->score,
            .model_score = decision->model_score,
            .rules_version = atomic_load(&live->version),
            .rules = rules.data,
            .rules_len = rules.len,
            .features = features.data,
            .features_len = features.len,
            .label = event->label,
        };
        status = store_risk_event_insert(db, &record, now_s);
    }
    buf_free(&body);
    buf_free(&rules);
    buf_free(&features);
    return status;
}

enum status risk_live_emit(struct risk_live *live, struct db *db, struct risk_event *event,
                           struct risk_decision *decision, int64_t *row, int64_t now_s) {
    verify(live != 0 && db != 0 && event != 0 && decision != 0 && row != 0);
    if (*row == 0) {
        risk_live_decide(live, event, decision, row);
    } else {
        risk_live_event_id(event, *row);
    }
    return risk_live_record(live, db, event, decision, *row, 0, now_s);
}

enum status risk_live_list_replace(struct risk_live *live, struct db *db, const char *name,
                                   const char *const *items, int count, int64_t actor_id,
                                   int64_t now_s) {
    verify(live != 0 && db != 0 && name != 0 && count >= 0);
    struct risk_list *list = risk_engine_list(live->engine, name);
    if (list == 0) return STATUS_UNKNOWN_LIST;
    if (count > LIMIT_RISK_LIST_ITEMS) return STATUS_INVALID_VALUE;
    struct risk_list check; /* every item must fit before anything changes */
    risk_list_init(&check, name);
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < count; i++)
        status = risk_list_add(&check, items[i], strlen(items[i]));
    risk_list_free(&check);
    if (status != STATUS_OK) return STATUS_INVALID_VALUE;
    status = store_risk_list_replace(db, name, items, count, actor_id, now_s);
    if (status != STATUS_OK) return status;
    risk_list_clear(list);
    for (int i = 0; status == STATUS_OK && i < count; i++)
        status = risk_list_add(list, items[i], strlen(items[i]));
    return status;
}
