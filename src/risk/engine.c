/* engine.c — features, state updates and decisions for one event at a time (see engine.h).
 * Order within an event: the features that look back past the event (since, last,
 * profile) are read first; then every stream records the event; then the windowed
 * features (which include the event), ages and cycles are read; then the rules run. */
#include "risk/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"
#include "risk/vm.h"

#define RISK_NEVER_S 1e12 /* `since` of a key that never had such an event */
#define ENGINE_HASHED 16  /* distinct key strings remembered per event */

struct risk_engine {
    struct risk_program *program;
    struct risk_model *model;
    struct risk_state *state;
    uint64_t signatures[LIMIT_RISK_FEATURES * 2];
    struct risk_list lists[LIMIT_RISK_LISTS];
    int list_count;
    const struct risk_list *program_lists[LIMIT_RISK_LISTS];
    double *values;
    char (*texts)[LIMIT_RISK_TEXT_BYTES + 1];
    const char **text_pointers;
    double *inputs;
    const struct risk_event *current; /* during risk_engine_process, for keyed lookups */
    struct risk_vm_env filter_env;    /* for where filters: the event alone */
    /* key hashes of this event's strings, by address: a key is hashed once per event */
    const char *hashed[ENGINE_HASHED];
    uint64_t hashes[ENGINE_HASHED];
    int hashed_count;
};

enum status risk_engine_create(const struct risk_engine_config *config, struct risk_engine **out) {
    verify(config != 0 && out != 0);
    struct risk_engine *engine = mem_calloc(1, sizeof *engine);
    size_t bytes =
        config->memory_bytes ? config->memory_bytes : (size_t)LIMIT_RISK_MEMORY_MB * 1024 * 1024;
    enum status status = risk_state_create(bytes, config->seed, config->reserve, &engine->state);
    if (status != STATUS_OK) {
        free(engine);
        return status;
    }
    struct risk_program *empty = 0;
    struct risk_diags diags;
    verify(risk_compile("", 0, &empty, &diags) == STATUS_OK);
    verify(risk_engine_install(engine, empty, 0, &diags) == STATUS_OK);
    *out = engine;
    return STATUS_OK;
}

static void engine_release_program(struct risk_engine *engine) {
    risk_program_free(engine->program); /* the model is borrowed */
    free(engine->values);
    free(engine->texts);
    free(engine->text_pointers);
    free(engine->inputs);
    engine->program = 0;
    engine->model = 0;
}

void risk_engine_free(struct risk_engine *engine) {
    if (engine == 0) return;
    engine_release_program(engine);
    for (int i = 0; i < engine->list_count; i++)
        risk_list_free(&engine->lists[i]);
    risk_state_free(engine->state);
    free(engine);
}

static void engine_ref_describe(const struct risk_program *p, struct risk_ref ref,
                                struct buf *out) {
    if (ref.kind == RISK_REF_FIELD) {
        verify(buf_printf(out, "f:%s|", risk_field_name((enum risk_field)ref.index)) == STATUS_OK);
    } else if (ref.kind == RISK_REF_ATTR) {
        verify(buf_printf(out, "a:%s|", p->strings[ref.index]) == STATUS_OK);
    } else {
        verify(buf_printf(out, "%d|", (int)ref.kind) == STATUS_OK);
    }
}

/* A stream's identity across programs: its definition, with attr names as text. */
static uint64_t engine_signature(const struct risk_program *p, const struct risk_stream *s) {
    struct buf text;
    buf_init(&text, 4096);
    verify(buf_printf(&text, "%d|%x|", (int)s->kind, (unsigned)s->types) == STATUS_OK);
    engine_ref_describe(p, s->key, &text);
    engine_ref_describe(p, s->value, &text);
    verify(buf_printf(&text, "w:%s", s->filter_text) == STATUS_OK);
    uint64_t hash = 1469598103934665603u;
    for (size_t i = 0; i < text.len; i++)
        hash = (hash ^ (unsigned char)text.data[i]) * 1099511628211u;
    buf_free(&text);
    return hash;
}

/* Keeps the lists the new program declares (contents by name); drops the rest. */
static enum status engine_install_lists(struct risk_engine *engine,
                                        const struct risk_program *program) {
    struct risk_list kept[LIMIT_RISK_LISTS];
    int kept_count = 0;
    enum status status = STATUS_OK;
    for (int i = 0; i < program->list_count; i++) {
        const struct risk_list_decl *decl = &program->lists[i];
        int found = -1;
        for (int k = 0; k < engine->list_count; k++) {
            if (engine->lists[k].name[0] && strcmp(engine->lists[k].name, decl->name) == 0)
                found = k;
        }
        if (found >= 0) {
            kept[kept_count] = engine->lists[found];
            engine->lists[found].name[0] = 0; /* moved */
        } else {
            risk_list_init(&kept[kept_count], decl->name);
            for (int n = 0; status == STATUS_OK && n < decl->item_count; n++) {
                const char *item = program->strings[decl->first_item + n];
                status = risk_list_add(&kept[kept_count], item, strlen(item));
            }
        }
        kept_count++;
    }
    for (int k = 0; k < engine->list_count; k++) {
        if (engine->lists[k].name[0]) risk_list_free(&engine->lists[k]);
    }
    memcpy(engine->lists, kept, (size_t)kept_count * sizeof kept[0]);
    engine->list_count = kept_count;
    for (int i = 0; i < kept_count; i++)
        engine->program_lists[i] = &engine->lists[i];
    return status;
}

enum status risk_engine_install(struct risk_engine *engine, struct risk_program *program,
                                struct risk_model *model, struct risk_diags *diags) {
    verify(engine != 0 && program != 0 && diags != 0);
    memset(diags, 0, sizeof *diags);
    if (model != 0) {
        enum status status = risk_program_attach_inputs(program, risk_model_input_names(model),
                                                        risk_model_input_count(model), diags);
        if (status != STATUS_OK) {
            risk_program_free(program);
            return status;
        }
    }
    engine_release_program(engine);
    engine->program = program;
    engine->model = model;
    for (int i = 0; i < program->stream_count; i++)
        engine->signatures[i] = engine_signature(program, &program->streams[i]);
    engine->values = mem_calloc((size_t)program->value_count + 1, sizeof *engine->values);
    engine->texts = mem_calloc((size_t)program->text_count + 1, sizeof *engine->texts);
    engine->text_pointers =
        mem_calloc((size_t)program->text_count + 1, sizeof *engine->text_pointers);
    for (int i = 0; i < program->text_count; i++)
        engine->text_pointers[i] = engine->texts[i];
    engine->inputs = mem_calloc((size_t)program->input_count + 1, sizeof *engine->inputs);
    return engine_install_lists(engine, program);
}

bool risk_program_carries(const struct risk_program *prev, const struct risk_program *next) {
    verify(prev != 0 && next != 0);
    uint64_t kept[LIMIT_RISK_FEATURES * 2];
    verify(prev->stream_count <= (int)(sizeof kept / sizeof kept[0]));
    for (int k = 0; k < prev->stream_count; k++)
        kept[k] = engine_signature(prev, &prev->streams[k]);
    for (int i = 0; i < next->stream_count; i++) {
        uint64_t signature = engine_signature(next, &next->streams[i]);
        bool found = false;
        for (int k = 0; !found && k < prev->stream_count; k++)
            found = kept[k] == signature;
        if (!found) return false;
    }
    return true;
}

const struct risk_program *risk_engine_program(const struct risk_engine *engine) {
    verify(engine != 0);
    return engine->program;
}

bool risk_engine_has_model(const struct risk_engine *engine) {
    verify(engine != 0);
    return engine->model != 0;
}

static const char *engine_ref_text(const struct risk_program *p, const struct risk_event *e,
                                   struct risk_ref ref) {
    if (ref.kind == RISK_REF_FIELD) return e->fields[ref.index];
    if (ref.kind == RISK_REF_ATTR) {
        const char *name = p->strings[ref.index];
        const struct risk_attr *attr = risk_event_attr(e, name, strlen(name));
        return attr != 0 && !attr->is_number ? attr->text : "";
    }
    return "";
}

static bool engine_ref_number(const struct risk_program *p, const struct risk_event *e,
                              struct risk_ref ref, double *out) {
    if (ref.kind == RISK_REF_AMOUNT) {
        *out = (double)e->amount;
        return e->has_amount;
    }
    if (ref.kind == RISK_REF_ATTR) {
        const char *name = p->strings[ref.index];
        const struct risk_attr *attr = risk_event_attr(e, name, strlen(name));
        if (attr == 0 || !attr->is_number) return false;
        *out = attr->number;
        return true;
    }
    return false;
}

/* The state hash of text, a string of the current event (or any string: then computed). */
static uint64_t engine_hash(struct risk_engine *engine, const char *text) {
    for (int i = 0; i < engine->hashed_count; i++) {
        if (engine->hashed[i] == text) return engine->hashes[i];
    }
    uint64_t hash = risk_state_hash(engine->state, text, strlen(text));
    if (engine->hashed_count < ENGINE_HASHED) {
        engine->hashed[engine->hashed_count] = text;
        engine->hashes[engine->hashed_count++] = hash;
    }
    return hash;
}

static uint64_t engine_slot_key(struct risk_engine *engine, int stream, const char *key) {
    return risk_state_key(engine->signatures[stream], engine_hash(engine, key));
}

static uint32_t engine_from(uint32_t now, int64_t window_s) {
    return (int64_t)now > window_s ? (uint32_t)((int64_t)now - window_s) : 0;
}

/* Feature f for key (the event's own, or another for keyed lookups) into out (its values)
 * or text. The current event is engine->current. */
static void engine_feature(struct risk_engine *engine, int f, const char *key, double *out,
                           char *text) {
    const struct risk_program *p = engine->program;
    const struct risk_feature *feature = &p->features[f];
    const struct risk_event *event = engine->current;
    uint32_t now = (uint32_t)event->time_s;
    const struct risk_slot *slot =
        key[0] ? risk_state_find(engine->state, engine_slot_key(engine, feature->stream, key)) : 0;
    struct risk_window window;
    switch (feature->kind) {
    case RISK_F_COUNT:
    case RISK_F_SUM:
    case RISK_F_AVG:
    case RISK_F_MAX:
    case RISK_F_MIN:
        risk_ring_window(slot, engine_from(now, feature->window_s), &window);
        out[0] = feature->kind == RISK_F_COUNT ? window.count
                 : feature->kind == RISK_F_SUM ? window.sum
                 : feature->kind == RISK_F_AVG ? (window.count > 0 ? window.sum / window.count : 0)
                 : feature->kind == RISK_F_MAX ? window.max
                                               : window.min;
        break;
    case RISK_F_DISTINCT:
        out[0] = risk_distinct_window(slot, engine_from(now, feature->window_s));
        break;
    case RISK_F_AGE:
        out[0] = slot && now > slot->u.seen.first ? now - slot->u.seen.first : 0;
        break;
    case RISK_F_SINCE:
        out[0] = slot == 0 ? RISK_NEVER_S : now > slot->u.last.time ? now - slot->u.last.time : 0;
        break;
    case RISK_F_LAST:
        (void)text_copy(text, LIMIT_RISK_TEXT_BYTES + 1, slot ? slot->u.last.text : "");
        break;
    case RISK_F_PROFILE: {
        double n = slot ? slot->u.profile.n : 0, mean = slot ? slot->u.profile.mean : 0;
        double std = n >= 2 ? sqrt(slot->u.profile.m2 / (n - 1)) : 0, x = 0;
        out[RISK_P_COUNT] = n;
        out[RISK_P_MEAN] = mean;
        out[RISK_P_STD] = std;
        /* a spread floor (a tenth of the mean, at least 1) keeps z finite and meaningful for
         * a history of equal amounts */
        double spread = fmax(std, fmax(fabs(mean) / 10, 1));
        bool has = engine_ref_number(p, event, p->streams[feature->stream].value, &x);
        out[RISK_P_Z] = n >= 2 && has ? (x - mean) / spread : 0;
        break;
    }
    case RISK_F_CYCLE:
        out[0] = 0;
        break; /* computed by engine_cycles */
    }
}

static bool engine_looks_back(const struct risk_feature *feature) {
    return feature->kind == RISK_F_SINCE || feature->kind == RISK_F_LAST ||
           feature->kind == RISK_F_PROFILE;
}

/* Hashes every key the event will touch (decidable events read every stream; others only
 * write theirs) and prefetches each new key's slots. */
static void engine_prefetch(struct risk_engine *engine, bool decidable) {
    const struct risk_program *p = engine->program;
    const struct risk_event *event = engine->current;
    for (int s = 0; s < p->stream_count; s++) {
        const struct risk_stream *stream = &p->streams[s];
        if (!decidable && (stream->types & (1u << event->type)) == 0) continue;
        const char *key = engine_ref_text(p, event, stream->key);
        if (key[0] == 0) continue;
        int known = engine->hashed_count;
        uint64_t hash = engine_hash(engine, key);
        if (engine->hashed_count != known) risk_state_prefetch(engine->state, hash);
    }
}

static void engine_features(struct risk_engine *engine, bool looking_back) {
    const struct risk_program *p = engine->program;
    for (int f = 0; f < p->feature_count; f++) {
        const struct risk_feature *feature = &p->features[f];
        if (engine_looks_back(feature) != looking_back || feature->kind == RISK_F_CYCLE) continue;
        const char *key = engine_ref_text(p, engine->current, p->streams[feature->stream].key);
        char *text = feature->kind == RISK_F_LAST ? engine->texts[feature->value_index] : 0;
        engine_feature(engine, f, key, &engine->values[feature->value_index], text);
    }
}

static void engine_cycles(struct risk_engine *engine) {
    const struct risk_program *p = engine->program;
    const struct risk_event *event = engine->current;
    for (int f = 0; f < p->feature_count; f++) {
        const struct risk_feature *feature = &p->features[f];
        if (feature->kind != RISK_F_CYCLE) continue;
        const struct risk_stream *stream = &p->streams[feature->stream];
        const char *from = event->fields[RISK_FIELD_USER];
        const char *to = event->fields[RISK_FIELD_COUNTERPARTY];
        double hops = 0;
        if ((stream->types & (1u << event->type)) && from[0] && to[0]) {
            hops = risk_state_cycle(engine->state, engine->signatures[feature->stream],
                                    engine_hash(engine, from), engine_hash(engine, to),
                                    engine_from((uint32_t)event->time_s, feature->window_s));
        }
        engine->values[feature->value_index] = hops;
    }
}

static void engine_record(struct risk_engine *engine, int s) {
    const struct risk_program *p = engine->program;
    const struct risk_stream *stream = &p->streams[s];
    const struct risk_event *event = engine->current;
    if ((stream->types & (1u << event->type)) == 0) return;
    const char *key = engine_ref_text(p, event, stream->key);
    if (key[0] == 0) return;
    if (stream->filter >= 0 && risk_vm_run(&engine->filter_env, stream->filter) == 0) return;
    uint32_t now = (uint32_t)event->time_s;
    uint64_t slot_key = engine_slot_key(engine, s, key);
    double number = 0;
    const char *text = "";
    bool created = false;
    struct risk_slot *slot = 0;
    switch (stream->kind) {
    case RISK_S_RING:
        if (stream->value.kind != RISK_REF_NONE &&
            !engine_ref_number(p, event, stream->value, &number))
            return;
        slot = risk_state_upsert(engine->state, slot_key, SLOT_RING, now, &created);
        risk_ring_add(slot, now, number);
        break;
    case RISK_S_DISTINCT:
        text = engine_ref_text(p, event, stream->value);
        if (text[0] == 0) return;
        slot = risk_state_upsert(engine->state, slot_key, SLOT_DISTINCT, now, &created);
        risk_distinct_add(slot, now, engine_hash(engine, text));
        break;
    case RISK_S_SEEN:
        slot = risk_state_upsert(engine->state, slot_key, SLOT_SEEN, now, &created);
        if (created || now < slot->u.seen.first) slot->u.seen.first = now;
        break;
    case RISK_S_LAST:
        text = engine_ref_text(p, event, stream->value);
        slot = risk_state_upsert(engine->state, slot_key, SLOT_LAST, now, &created);
        slot->u.last.time = now;
        (void)text_copy(slot->u.last.text, sizeof slot->u.last.text, text);
        break;
    case RISK_S_PROFILE: {
        if (!engine_ref_number(p, event, stream->value, &number)) return;
        slot = risk_state_upsert(engine->state, slot_key, SLOT_PROFILE, now, &created);
        double n = slot->u.profile.n + 1, delta = number - slot->u.profile.mean;
        slot->u.profile.n = n;
        slot->u.profile.mean += delta / n;
        slot->u.profile.m2 += delta * (number - slot->u.profile.mean);
        break;
    }
    }
}

static double engine_keyed_number(void *context, int feature, int member, const char *key) {
    struct risk_engine *engine = context;
    double values[RISK_P_MEMBERS] = {0};
    engine_feature(engine, feature, key, values, 0);
    verify(member >= 0 && member < RISK_P_MEMBERS);
    return values[member];
}

static const char *engine_keyed_text(void *context, int feature, const char *key) {
    static _Thread_local char text[LIMIT_RISK_TEXT_BYTES + 1];
    engine_feature(context, feature, key, 0, text);
    return text;
}

static double engine_clamp_score(double score) {
    if (!(score > 0)) return 0; /* NaN too */
    return score > 100 ? 100 : score;
}

static void engine_decide(struct risk_engine *engine, struct risk_decision *decision) {
    const struct risk_program *p = engine->program;
    struct risk_vm_env env = {p,
                              engine->current,
                              engine->values,
                              engine->text_pointers,
                              engine->program_lists,
                              0,
                              engine_keyed_number,
                              engine_keyed_text,
                              engine};
    if (engine->model != 0) {
        for (int i = 0; i < p->input_count; i++)
            engine->inputs[i] = risk_vm_run(&env, p->inputs[i]);
        double output = risk_model_predict(engine->model, engine->inputs);
        if (!risk_model_is_probability(engine->model)) output = 1 / (1 + exp(-output));
        env.model_score = engine_clamp_score(100 * output);
        decision->model_score = env.model_score;
    }
    double keep = 1; /* Π (1 − sᵢ/100) */
    for (int r = 0; r < p->rule_count; r++) {
        const struct risk_rule *rule = &p->rules[r];
        if (rule->uses_model && engine->model == 0) continue;
        if ((rule->types & (1u << engine->current->type)) == 0) continue; /* cannot hold */
        if (risk_vm_run(&env, rule->condition) == 0) continue;
        decision->fired[decision->fired_count++] = (uint16_t)r;
        if (rule->shadow) continue;
        double score = rule->score >= 0 ? engine_clamp_score(risk_vm_run(&env, rule->score)) : 0;
        keep *= 1 - score / 100;
        if (rule->action > decision->action) decision->action = rule->action;
    }
    decision->score = engine_clamp_score(100 * (1 - keep));
}

void risk_engine_process(struct risk_engine *engine, const struct risk_event *event,
                         struct risk_decision *decision) {
    verify(engine != 0 && event != 0 && decision != 0);
    verify(event->time_s >= 0 && event->time_s <= (int64_t)UINT32_MAX);
    decision->decided = false;
    decision->action = RISK_ALLOW;
    decision->score = 0;
    decision->model_score = -1;
    decision->fired_count = 0;
    engine->current = event;
    engine->hashed_count = 0;
    const struct risk_program *p = engine->program;
    engine->filter_env = (struct risk_vm_env){p, event, 0, 0, engine->program_lists, 0, 0, 0, 0};
    bool decidable = risk_type_decidable(event->type);
    engine_prefetch(engine, decidable);
    if (decidable) engine_features(engine, true); /* only decisions read features */
    for (int s = 0; s < p->stream_count; s++)
        engine_record(engine, s);
    if (decidable) {
        engine_features(engine, false);
        engine_cycles(engine);
        decision->decided = true;
        engine_decide(engine, decision);
    }
}

const double *risk_engine_values(const struct risk_engine *engine) {
    verify(engine != 0);
    return engine->values;
}

const char *risk_engine_text(const struct risk_engine *engine, int text_index) {
    verify(engine != 0 && text_index >= 0 && text_index < engine->program->text_count);
    return engine->texts[text_index];
}

struct risk_list *risk_engine_list(struct risk_engine *engine, const char *name) {
    verify(engine != 0 && name != 0);
    for (int i = 0; i < engine->list_count; i++) {
        if (strcmp(engine->lists[i].name, name) == 0) return &engine->lists[i];
    }
    return 0;
}

void risk_engine_state_stats(const struct risk_engine *engine, struct risk_state_stats *out) {
    verify(engine != 0 && out != 0);
    risk_state_stats(engine->state, out);
}
