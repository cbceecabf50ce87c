/* compile.c — declarations of the rule language (lists, features, rules) into a
 * struct risk_program, with positioned errors and recovery at the next declaration, so
 * one run reports up to LIMIT_RISK_ERRORS mistakes. Expressions are compiled by expr.c.
 * The grammar is in docs/RULES.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"
#include "risk/compiler.h"

static const char *const compiler_keywords[] = {
    "list",     "of",     "feature",   "rule",   "shadow", "when",        "then",
    "score",    "reason", "count",     "sum",    "avg",    "max",         "min",
    "distinct", "in",     "by",        "over",   "age",    "since",       "profile",
    "last",     "cycle",  "any",       "and",    "or",     "not",         "true",
    "false",    "allow",  "challenge", "review", "block",  "model_score", "type",
    "hour",     "amount", "attr",      "abs",    "number", "text",
};

bool compiler_reserved(const struct lex_token *token) {
    if (token->kind != LEX_NAME) return false;
    for (size_t i = 0; i < sizeof compiler_keywords / sizeof compiler_keywords[0]; i++) {
        if (lex_is(token, compiler_keywords[i])) return true;
    }
    enum risk_type type;
    enum risk_field field;
    return risk_type_parse(token->text, token->len, &type) ||
           risk_field_parse(token->text, token->len, &field);
}

const struct lex_token *compiler_token(struct compiler *c) { return &c->lex.tokens[c->pos]; }

const struct lex_token *compiler_peek(struct compiler *c, int ahead) {
    int pos = c->pos + ahead;
    if (pos < 0) pos = 0;
    return &c->lex.tokens[pos < c->lex.count ? pos : c->lex.count - 1];
}

void compiler_next(struct compiler *c) {
    if (c->lex.tokens[c->pos].kind != LEX_END) c->pos++;
}

bool compiler_error(struct compiler *c, const struct lex_token *token, const char *fmt, ...) {
    if (token == 0) token = compiler_token(c);
    struct risk_diags *diags = c->diags;
    if (diags->count == LIMIT_RISK_ERRORS) {
        diags->truncated = true;
        return false;
    }
    struct risk_diag *diag = &diags->items[diags->count++];
    diag->line = token->line;
    diag->col = token->col;
    va_list args;
    va_start(args, fmt);
    (void)vsnprintf(diag->message, sizeof diag->message, fmt, args);
    va_end(args);
    return false;
}

int compiler_emit(struct compiler *c, enum risk_opcode op, int32_t a, int32_t b) {
    struct risk_program *p = c->program;
    if (p->code_count == p->code_capacity) {
        p->code_capacity = p->code_capacity ? p->code_capacity * 2 : 1024;
        p->code = mem_realloc(p->code, (size_t)p->code_capacity * sizeof *p->code);
    }
    p->code[p->code_count] = (struct risk_op){(uint8_t)op, a, b};
    return p->code_count++;
}

int compiler_number(struct compiler *c, double value) {
    struct risk_program *p = c->program;
    for (int i = 0; i < p->number_count; i++) {
        if (p->numbers[i] == value) return i;
    }
    if (p->number_count == p->number_capacity) {
        p->number_capacity = p->number_capacity ? p->number_capacity * 2 : 64;
        p->numbers = mem_realloc(p->numbers, (size_t)p->number_capacity * sizeof *p->numbers);
    }
    p->numbers[p->number_count] = value;
    return p->number_count++;
}

int compiler_string(struct compiler *c, const char *text, size_t len) {
    struct risk_program *p = c->program;
    if (p->string_count == p->string_capacity) {
        p->string_capacity = p->string_capacity ? p->string_capacity * 2 : 64;
        p->strings = mem_realloc(p->strings, (size_t)p->string_capacity * sizeof *p->strings);
    }
    p->strings[p->string_count] = mem_strndup(text, len);
    return p->string_count++;
}

int compiler_list(struct compiler *c, const char *name, size_t len) {
    for (int i = 0; i < c->program->list_count; i++) {
        const char *list = c->program->lists[i].name;
        if (strlen(list) == len && memcmp(list, name, len) == 0) return i;
    }
    return -1;
}

int risk_program_feature(const struct risk_program *program, const char *name, size_t len) {
    verify(program != 0 && name != 0);
    for (int i = 0; i < program->feature_count; i++) {
        const char *feature = program->features[i].name;
        if (strlen(feature) == len && memcmp(feature, name, len) == 0) return i;
    }
    return -1;
}

/* attr names are interned in strings (one entry per distinct name). */
static int compiler_attr_name(struct compiler *c, const char *text, size_t len) {
    struct risk_program *p = c->program;
    for (int i = 0; i < p->string_count; i++) {
        if (strlen(p->strings[i]) == len && memcmp(p->strings[i], text, len) == 0) return i;
    }
    return compiler_string(c, text, len);
}

bool compiler_ref(struct compiler *c, struct risk_ref *ref) {
    const struct lex_token *t = compiler_token(c);
    enum risk_field field;
    if (lex_is(t, "amount")) {
        *ref = (struct risk_ref){RISK_REF_AMOUNT, 0};
        compiler_next(c);
        return true;
    }
    if (lex_is(t, "attr")) {
        compiler_next(c);
        if (compiler_token(c)->kind != LEX_DOT || compiler_peek(c, 1)->kind != LEX_NAME) {
            return compiler_error(c, t, "write attr.NAME, e.g. attr.source");
        }
        compiler_next(c);
        const struct lex_token *name = compiler_token(c);
        if (name->len > LIMIT_RISK_ATTR_NAME_BYTES) {
            return compiler_error(c, name, "attr names have at most %d characters",
                                  LIMIT_RISK_ATTR_NAME_BYTES);
        }
        *ref = (struct risk_ref){RISK_REF_ATTR, compiler_attr_name(c, name->text, name->len)};
        compiler_next(c);
        return true;
    }
    if (t->kind == LEX_NAME && risk_field_parse(t->text, t->len, &field)) {
        *ref = (struct risk_ref){RISK_REF_FIELD, (int)field};
        compiler_next(c);
        return true;
    }
    return compiler_error(c, t,
                          "expected an event field (user, device, ip, sku, payment, liquidity, "
                          "currency, counterparty, payout_account, amount) or attr.NAME");
}

static bool compiler_expect(struct compiler *c, const char *word) {
    if (lex_is(compiler_token(c), word)) {
        compiler_next(c);
        return true;
    }
    const struct lex_token *t = compiler_token(c);
    if (t->kind == LEX_NAME) {
        return compiler_error(c, t, "expected '%s', found '%.*s'", word, (int)t->len, t->text);
    }
    return compiler_error(c, t, "expected '%s', found %s", word, lex_kind_text(t->kind));
}

/* A new name for a list or feature: not reserved, not taken. */
static bool compiler_new_name(struct compiler *c, char *out, size_t size) {
    const struct lex_token *t = compiler_token(c);
    if (t->kind != LEX_NAME) return compiler_error(c, t, "expected a name");
    if (compiler_reserved(t)) {
        return compiler_error(c, t, "'%.*s' is a reserved word", (int)t->len, t->text);
    }
    if (risk_program_feature(c->program, t->text, t->len) >= 0 ||
        compiler_list(c, t->text, t->len) >= 0) {
        return compiler_error(c, t, "'%.*s' is already declared", (int)t->len, t->text);
    }
    verify(t->len < size);
    memcpy(out, t->text, t->len);
    out[t->len] = 0;
    compiler_next(c);
    return true;
}

static bool compiler_list_decl(struct compiler *c) {
    struct risk_program *p = c->program;
    const struct lex_token *at = compiler_token(c);
    compiler_next(c);
    if (p->list_count == LIMIT_RISK_LISTS) {
        return compiler_error(c, at, "more than %d lists", LIMIT_RISK_LISTS);
    }
    struct risk_list_decl *list = &p->lists[p->list_count];
    memset(list, 0, sizeof *list);
    if (!compiler_new_name(c, list->name, sizeof list->name)) return false;
    if (!compiler_expect(c, "of")) return false;
    const struct lex_token *of = compiler_token(c);
    if (of->kind != LEX_NAME) return compiler_error(c, of, "say what the list holds: of ip");
    memcpy(list->of, of->text, of->len);
    list->of[of->len] = 0;
    compiler_next(c);
    list->first_item = p->string_count;
    if (compiler_token(c)->kind == LEX_ASSIGN) {
        compiler_next(c);
        for (;;) {
            const struct lex_token *item = compiler_token(c);
            if (item->kind != LEX_STRING) return compiler_error(c, item, "list items are strings");
            if (item->len == 0 || item->len > LIMIT_RISK_TEXT_BYTES ||
                !text_printable(item->text, item->len)) {
                return compiler_error(c, item, "a list item is 1 to %d bytes of printable text",
                                      LIMIT_RISK_TEXT_BYTES);
            }
            if (list->item_count == LIMIT_RISK_LIST_ITEMS) {
                return compiler_error(c, item, "more than %d items", LIMIT_RISK_LIST_ITEMS);
            }
            compiler_string(c, item->text, item->len);
            list->item_count++;
            compiler_next(c);
            if (compiler_token(c)->kind != LEX_COMMA) break;
            compiler_next(c);
        }
    }
    p->list_count++;
    return true;
}

/* TYPE {, TYPE} or any, as a bit mask. */
static bool compiler_types(struct compiler *c, uint32_t *types) {
    *types = 0;
    if (lex_is(compiler_token(c), "any")) {
        compiler_next(c);
        *types = (1u << RISK_TYPE_COUNT) - 1;
        return true;
    }
    for (;;) {
        const struct lex_token *t = compiler_token(c);
        enum risk_type type;
        if (t->kind != LEX_NAME || !risk_type_parse(t->text, t->len, &type)) {
            return compiler_error(c, t,
                                  "expected an event type (signup, login, order, payment, "
                                  "refund, redemption, withdrawal, transfer) or any");
        }
        *types |= 1u << type;
        compiler_next(c);
        if (compiler_token(c)->kind != LEX_COMMA) return true;
        compiler_next(c);
    }
}

static bool compiler_window(struct compiler *c, int64_t *window_s) {
    if (!compiler_expect(c, "over")) return false;
    const struct lex_token *t = compiler_token(c);
    if (t->kind != LEX_NUMBER || t->unit != LEX_UNIT_DURATION) {
        return compiler_error(c, t, "a window is a duration such as 30s, 10m, 1h or 7d");
    }
    if (t->value < 1 || t->value > LIMIT_RISK_WINDOW_S || t->value != (double)(int64_t)t->value) {
        return compiler_error(c, t, "a window is 1s to 90d in whole seconds");
    }
    *window_s = (int64_t)t->value;
    compiler_next(c);
    return true;
}

/* The stream for (kind, key, types, value), shared by every feature that reads it. */
static int compiler_stream(struct compiler *c, enum risk_stream_kind kind, struct risk_ref key,
                           uint32_t types, struct risk_ref value, int filter,
                           const char *filter_text) {
    struct risk_program *p = c->program;
    for (int i = 0; i < p->stream_count; i++) {
        const struct risk_stream *s = &p->streams[i];
        if (s->kind == kind && s->key.kind == key.kind && s->key.index == key.index &&
            s->types == types && s->value.kind == value.kind && s->value.index == value.index &&
            strcmp(s->filter_text, filter_text) == 0) {
            return i;
        }
    }
    verify(p->stream_count < (int)(sizeof p->streams / sizeof p->streams[0]));
    struct risk_stream *s = &p->streams[p->stream_count];
    *s = (struct risk_stream){kind, key, types, value, filter, {0}};
    (void)text_copy(s->filter_text, sizeof s->filter_text, filter_text);
    return p->stream_count++;
}

/* An optional `where CONDITION` on the event (no features, no model): its code offset (-1
 * without one) and its source text, which is part of the stream's identity. */
static bool compiler_filter(struct compiler *c, int *filter, char *text, size_t size) {
    *filter = -1;
    text[0] = 0;
    if (!lex_is(compiler_token(c), "where")) return true;
    compiler_next(c);
    const struct lex_token *first = compiler_token(c);
    int offset = c->program->code_count;
    enum risk_type_tag type;
    c->event_only = true;
    bool ok = expr_compile(c, &type);
    c->event_only = false;
    if (!ok) return false;
    if (type != RISK_T_BOOL)
        return compiler_error(c, first, "a where filter must be true or false");
    compiler_emit(c, OP_END, 0, 0);
    const struct lex_token *last = compiler_peek(c, -1);
    size_t length = last->end - first->start;
    if (length >= size)
        return compiler_error(c, first, "a where filter is longer than %zu bytes", size - 1);
    memcpy(text, c->lex.source + first->start, length);
    text[length] = 0;
    *filter = offset;
    return true;
}

static bool compiler_key(struct compiler *c, struct risk_ref *key) {
    if (!compiler_ref(c, key)) return false;
    if (key->kind == RISK_REF_AMOUNT) return compiler_error(c, 0, "amount is not a key");
    return true;
}

/* The source after "feature NAME =". */
static bool compiler_feature_source(struct compiler *c, struct risk_feature *f) {
    const struct lex_token *t = compiler_token(c);
    struct risk_ref key = {RISK_REF_NONE, 0}, value = {RISK_REF_NONE, 0};
    uint32_t types = 0;
    static const char *const aggregates[] = {"count", "sum", "avg", "max", "min"};
    int aggregate = -1;
    for (int i = 0; i < 5; i++) {
        if (lex_is(t, aggregates[i])) aggregate = i;
    }
    compiler_next(c);
    enum risk_stream_kind stream = RISK_S_RING;
    if (aggregate == 0) {
        f->kind = RISK_F_COUNT;
        if (!compiler_expect(c, "of") || !compiler_types(c, &types)) return false;
    } else if (aggregate > 0) {
        f->kind = (enum risk_feature_kind)(RISK_F_COUNT + aggregate);
        if (!compiler_expect(c, "of") || !compiler_ref(c, &value)) return false;
        if (value.kind == RISK_REF_FIELD)
            return compiler_error(c, t, "%s needs amount or attr.NAME", aggregates[aggregate]);
        if (!compiler_expect(c, "in") || !compiler_types(c, &types)) return false;
    } else if (lex_is(t, "distinct") || lex_is(t, "last")) {
        bool last = lex_is(t, "last");
        f->kind = last ? RISK_F_LAST : RISK_F_DISTINCT;
        stream = last ? RISK_S_LAST : RISK_S_DISTINCT;
        if (!compiler_key(c, &value)) return false;
        if (!compiler_expect(c, "in") || !compiler_types(c, &types)) return false;
    } else if (lex_is(t, "profile")) {
        f->kind = RISK_F_PROFILE;
        stream = RISK_S_PROFILE;
        if (!compiler_expect(c, "of") || !compiler_ref(c, &value)) return false;
        if (value.kind == RISK_REF_FIELD)
            return compiler_error(c, t, "profile needs amount or attr.NAME");
        if (!compiler_expect(c, "in") || !compiler_types(c, &types)) return false;
    } else if (lex_is(t, "since")) {
        f->kind = RISK_F_SINCE;
        stream = RISK_S_LAST;
        if (!compiler_types(c, &types)) return false;
    } else if (lex_is(t, "age")) {
        f->kind = RISK_F_AGE;
        if (!compiler_expect(c, "of") || !compiler_key(c, &key)) return false;
        f->stream =
            compiler_stream(c, RISK_S_SEEN, key, (1u << RISK_TYPE_COUNT) - 1, value, -1, "");
        return true;
    } else if (lex_is(t, "cycle")) {
        f->kind = RISK_F_CYCLE;
        if (!compiler_expect(c, "in") || !compiler_types(c, &types)) return false;
        if (!compiler_window(c, &f->window_s)) return false;
        key = (struct risk_ref){RISK_REF_FIELD, RISK_FIELD_USER};
        value = (struct risk_ref){RISK_REF_FIELD, RISK_FIELD_COUNTERPARTY};
        f->stream = compiler_stream(c, RISK_S_DISTINCT, key, types, value, -1, "");
        return true;
    } else {
        return compiler_error(c, t,
                              "a feature is count, sum, avg, max, min, distinct, age, since, "
                              "profile, last or cycle");
    }
    int filter = -1;
    char filter_text[LIMIT_RISK_REASON_BYTES + 1];
    if (!compiler_filter(c, &filter, filter_text, sizeof filter_text)) return false;
    if (!compiler_expect(c, "by") || !compiler_key(c, &key)) return false;
    bool windowed = f->kind <= RISK_F_DISTINCT;
    if (windowed && !compiler_window(c, &f->window_s)) return false;
    f->stream = compiler_stream(c, stream, key, types, value, filter, filter_text);
    return true;
}

static bool compiler_feature_decl(struct compiler *c) {
    struct risk_program *p = c->program;
    const struct lex_token *at = compiler_token(c);
    compiler_next(c);
    if (p->feature_count == LIMIT_RISK_FEATURES) {
        return compiler_error(c, at, "more than %d features", LIMIT_RISK_FEATURES);
    }
    struct risk_feature *f = &p->features[p->feature_count];
    memset(f, 0, sizeof *f);
    f->line = at->line;
    f->col = at->col;
    if (!compiler_new_name(c, f->name, sizeof f->name)) return false;
    if (compiler_token(c)->kind != LEX_ASSIGN) return compiler_error(c, 0, "expected '='");
    compiler_next(c);
    if (!compiler_feature_source(c, f)) return false;
    if (f->window_s > p->longest_window_s) p->longest_window_s = f->window_s;
    if (f->kind == RISK_F_LAST) {
        f->value_index = p->text_count++;
    } else {
        f->value_index = p->value_count;
        p->value_count += f->kind == RISK_F_PROFILE ? RISK_P_MEMBERS : 1;
    }
    p->feature_count++;
    return true;
}

/* Compiles an expression of the wanted type and ends it with OP_END; its code offset. */
static bool compiler_code(struct compiler *c, enum risk_type_tag want, const char *what,
                          int *offset) {
    *offset = c->program->code_count;
    const struct lex_token *start = compiler_token(c);
    enum risk_type_tag type;
    if (!expr_compile(c, &type)) return false;
    if (type != want) {
        return compiler_error(c, start, "%s must be %s", what,
                              want == RISK_T_BOOL ? "true or false (a condition)" : "a number");
    }
    compiler_emit(c, OP_END, 0, 0);
    if (c->program->code_count - *offset > LIMIT_RISK_RULE_OPS) {
        return compiler_error(c, start, "%s compiles to more than %d instructions", what,
                              LIMIT_RISK_RULE_OPS);
    }
    return true;
}

static bool compiler_rule_decl(struct compiler *c) {
    struct risk_program *p = c->program;
    const struct lex_token *at = compiler_token(c);
    bool shadow = lex_is(at, "shadow");
    if (shadow) {
        compiler_next(c);
        if (!lex_is(compiler_token(c), "rule"))
            return compiler_error(c, 0, "expected 'rule' after 'shadow'");
    }
    compiler_next(c);
    if (p->rule_count == LIMIT_RISK_RULES) {
        return compiler_error(c, at, "more than %d rules", LIMIT_RISK_RULES);
    }
    struct risk_rule *rule = &p->rules[p->rule_count];
    memset(rule, 0, sizeof *rule);
    rule->shadow = shadow;
    rule->line = at->line;
    rule->score = -1;
    const struct lex_token *name = compiler_token(c);
    if (name->kind != LEX_NAME || compiler_reserved(name))
        return compiler_error(c, name, "expected a rule name");
    for (int i = 0; i < p->rule_count; i++) {
        if (strlen(p->rules[i].name) == name->len &&
            memcmp(p->rules[i].name, name->text, name->len) == 0) {
            return compiler_error(c, name, "rule '%.*s' is already declared", (int)name->len,
                                  name->text);
        }
    }
    memcpy(rule->name, name->text, name->len);
    compiler_next(c);
    if (!compiler_expect(c, "when")) return false;
    c->allow_model = true;
    c->uses_model = false;
    if (!compiler_code(c, RISK_T_BOOL, "a condition", &rule->condition)) return false;
    if (!compiler_expect(c, "then")) return false;
    const struct lex_token *action = compiler_token(c);
    if (action->kind != LEX_NAME || !risk_action_parse(action->text, action->len, &rule->action)) {
        return compiler_error(c, action, "the action is allow, challenge, review or block");
    }
    compiler_next(c);
    if (lex_is(compiler_token(c), "score")) {
        compiler_next(c);
        if (!compiler_code(c, RISK_T_NUMBER, "a score", &rule->score)) return false;
    }
    if (!lex_is(compiler_token(c), "reason")) {
        return compiler_error(c, 0, "rule '%s' needs reason \"…\": every decision is explained",
                              rule->name);
    }
    compiler_next(c);
    const struct lex_token *reason = compiler_token(c);
    if (reason->kind != LEX_STRING || reason->len == 0)
        return compiler_error(c, reason, "a reason is a non-empty string");
    memcpy(rule->reason, reason->text, reason->len);
    compiler_next(c);
    rule->uses_model = c->uses_model;
    c->allow_model = false;
    /* `type == order and …` can only hold for orders: the engine skips the rule otherwise */
    const struct risk_op *code = &p->code[rule->condition];
    rule->types = (1u << RISK_TYPE_COUNT) - 1;
    if (code[0].op == OP_TYPE_IS && code[0].b == 0 && code[1].op == OP_JUMP_IF_FALSE) {
        rule->types = (uint32_t)code[0].a;
    }
    p->rule_count++;
    return true;
}

static bool compiler_decl_start(const struct lex_token *t) {
    return t->kind == LEX_END || lex_is(t, "list") || lex_is(t, "feature") || lex_is(t, "rule") ||
           lex_is(t, "shadow");
}

static void compiler_declarations(struct compiler *c) {
    for (;;) {
        const struct lex_token *t = compiler_token(c);
        if (t->kind == LEX_END || c->diags->truncated) return;
        bool ok = false;
        int code_mark = c->program->code_count;
        if (lex_is(t, "list")) {
            ok = compiler_list_decl(c);
        } else if (lex_is(t, "feature")) {
            ok = compiler_feature_decl(c);
        } else if (lex_is(t, "rule") || lex_is(t, "shadow")) {
            ok = compiler_rule_decl(c);
        } else {
            compiler_error(c, t, "expected a declaration: list, feature, rule or shadow rule");
        }
        if (ok && !compiler_decl_start(compiler_token(c))) {
            ok = compiler_error(c, 0, "unexpected text after the declaration");
        }
        if (!ok) {
            c->program->code_count = code_mark;
            c->allow_model = false;
            do { /* recover at the next declaration */
                compiler_next(c);
            } while (!compiler_decl_start(compiler_token(c)));
        }
    }
}

enum status risk_compile(const char *source, size_t len, struct risk_program **out,
                         struct risk_diags *diags) {
    verify(out != 0 && diags != 0 && (source != 0 || len == 0));
    memset(diags, 0, sizeof *diags);
    *out = 0;
    struct compiler c;
    memset(&c, 0, sizeof c);
    c.diags = diags;
    c.program = mem_calloc(1, sizeof *c.program);
    struct lex_error lex_error;
    if (lex_run(&c.lex, source, len, &lex_error) != STATUS_OK) {
        diags->count = 1;
        diags->items[0].line = lex_error.line;
        diags->items[0].col = lex_error.col;
        (void)text_copy(diags->items[0].message, sizeof diags->items[0].message, lex_error.message);
    } else {
        compiler_declarations(&c);
    }
    lex_free(&c.lex);
    if (diags->count > 0) {
        risk_program_free(c.program);
        return STATUS_INVALID_VALUE;
    }
    *out = c.program;
    return STATUS_OK;
}

enum status risk_program_attach_inputs(struct risk_program *program, const char *const *names,
                                       int count, struct risk_diags *diags) {
    verify(program != 0 && diags != 0 && (names != 0 || count == 0));
    memset(diags, 0, sizeof *diags);
    free(program->inputs);
    program->inputs = mem_calloc((size_t)(count > 0 ? count : 1), sizeof *program->inputs);
    program->input_count = 0;
    for (int i = 0; i < count; i++) {
        struct compiler c;
        memset(&c, 0, sizeof c);
        c.diags = diags;
        c.program = program;
        struct lex_error lex_error;
        int before = diags->count;
        if (lex_run(&c.lex, names[i], strlen(names[i]), &lex_error) != STATUS_OK) {
            compiler_error(&c, compiler_token(&c), "model input %d: %s", i + 1, lex_error.message);
        } else {
            enum risk_type_tag type;
            int offset = program->code_count;
            if (expr_compile(&c, &type)) {
                if (compiler_token(&c)->kind != LEX_END) {
                    compiler_error(&c, 0, "model input %d: unexpected text", i + 1);
                } else if (type != RISK_T_NUMBER && type != RISK_T_BOOL) {
                    compiler_error(&c, 0, "model input %d must be a number or true/false", i + 1);
                } else {
                    compiler_emit(&c, OP_END, 0, 0);
                    program->inputs[program->input_count++] = offset;
                }
            }
            if (diags->count > before) {
                struct risk_diag *diag = &diags->items[diags->count - 1];
                char copy[sizeof diag->message];
                (void)text_copy(copy, sizeof copy, diag->message);
                snprintf(diag->message, sizeof diag->message, "model input %.40s: %.140s", names[i],
                         copy);
                diag->line = 0;
            }
        }
        lex_free(&c.lex);
    }
    return diags->count > 0 ? STATUS_INVALID_VALUE : STATUS_OK;
}

void risk_program_free(struct risk_program *program) {
    if (program == 0) return;
    for (int i = 0; i < program->string_count; i++)
        free(program->strings[i]);
    free(program->strings);
    free(program->numbers);
    free(program->code);
    free(program->inputs);
    free(program);
}

enum status risk_diags_format(const struct risk_diags *diags, const char *file, struct buf *out) {
    verify(diags != 0 && file != 0 && out != 0);
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < diags->count; i++) {
        const struct risk_diag *d = &diags->items[i];
        if (d->line > 0) {
            status = buf_printf(out, "%s:%d:%d: %s\n", file, d->line, d->col, d->message);
        } else {
            status = buf_printf(out, "%s: %s\n", file, d->message);
        }
    }
    if (status == STATUS_OK && diags->truncated) {
        status =
            buf_printf(out, "%s: more errors not shown (at most %d)\n", file, LIMIT_RISK_ERRORS);
    }
    return status;
}

const char *risk_action_name(enum risk_action action) {
    static const char *const names[RISK_ACTION_COUNT] = {"allow", "challenge", "review", "block"};
    verify(action >= 0 && action < RISK_ACTION_COUNT);
    return names[action];
}

bool risk_action_parse(const char *name, size_t len, enum risk_action *action) {
    verify(name != 0 && action != 0);
    for (int i = 0; i < RISK_ACTION_COUNT; i++) {
        const char *n = risk_action_name((enum risk_action)i);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *action = (enum risk_action)i;
            return true;
        }
    }
    return false;
}
