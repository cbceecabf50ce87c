/* expr.c — expressions of the rule language to typed bytecode, by operator precedence with
 * explicit stacks (shunting-yard): no recursion, nesting bounded by LIMIT_RISK_EXPR_DEPTH.
 * Every operator checks its operands' types as it is reduced; attr.NAME takes its type
 * from the other operand (its load is patched to the number or string form). `and` and
 * `or` short-circuit with forward jumps; no instruction ever jumps backwards, so running a
 * rule takes at most as many steps as it has instructions. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "risk/compiler.h"

enum expr_op {
    X_OR,
    X_AND,
    X_NOT,
    X_EQ,
    X_NE,
    X_LT,
    X_LE,
    X_GT,
    X_GE,
    X_ADD,
    X_SUB,
    X_MUL,
    X_DIV,
    X_NEG,
};

enum expr_func { F_MIN, F_MAX, F_ABS, F_NUMBER, F_TEXT, F_COUNT };

static const char *const expr_func_names[F_COUNT] = {"min", "max", "abs", "number", "text"};
static const int expr_func_args[F_COUNT] = {2, 2, 1, 1, 1};

enum pending_kind { P_PAREN, P_FUNC, P_BINARY, P_PREFIX };

struct pending {
    enum pending_kind kind;
    enum expr_op op;
    int prec;
    int jump_pc; /* and/or: the jump to patch */
    int func, args;
    const struct lex_token *token;
};

struct typed {
    enum risk_type_tag type;
    bool is_type; /* the event's type (so `type == payment` means the type, not the field) */
    int attr_pc;  /* an untyped attr load to patch, or -1 */
    bool is_const;
    double value;
    const struct lex_token *token;
};

struct expr {
    struct compiler *c;
    struct pending ops[LIMIT_RISK_EXPR_DEPTH];
    int op_count;
    struct typed values[LIMIT_RISK_STACK];
    int value_count;
};

static int expr_prec(enum expr_op op) {
    switch (op) {
    case X_OR:
        return 1;
    case X_AND:
        return 2;
    case X_NOT:
        return 3;
    case X_EQ:
    case X_NE:
    case X_LT:
    case X_LE:
    case X_GT:
    case X_GE:
        return 4;
    case X_ADD:
    case X_SUB:
        return 5;
    case X_MUL:
    case X_DIV:
        return 6;
    case X_NEG:
        return 7;
    }
    return 0;
}

static const char *expr_op_text(enum expr_op op) {
    static const char *const texts[] = {
        "or", "and", "not", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "-"};
    return texts[op];
}

static const char *expr_type_text(enum risk_type_tag type) {
    switch (type) {
    case RISK_T_NUMBER:
        return "a number";
    case RISK_T_STRING:
        return "a string";
    case RISK_T_BOOL:
        return "true/false";
    case RISK_T_ATTR:
        return "an untyped attr";
    }
    return "?";
}

static bool expr_push_value(struct expr *e, struct typed value) {
    if (e->value_count == LIMIT_RISK_STACK) {
        return compiler_error(e->c, value.token, "expression too deep (more than %d values)",
                              LIMIT_RISK_STACK);
    }
    e->values[e->value_count++] = value;
    return true;
}

static bool expr_push_op(struct expr *e, struct pending op) {
    if (e->op_count == LIMIT_RISK_EXPR_DEPTH) {
        return compiler_error(e->c, op.token, "expression nested deeper than %d",
                              LIMIT_RISK_EXPR_DEPTH);
    }
    e->ops[e->op_count++] = op;
    return true;
}

/* Gives an untyped attr the type want (number or string). */
static void expr_settle(struct expr *e, struct typed *value, enum risk_type_tag want) {
    if (value->type != RISK_T_ATTR) return;
    verify(value->attr_pc >= 0 && want != RISK_T_ATTR && want != RISK_T_BOOL);
    struct risk_op *op = &e->c->program->code[value->attr_pc];
    verify(op->op == OP_LOAD_ATTR);
    op->op = want == RISK_T_NUMBER ? OP_LOAD_ATTR_NUM : OP_LOAD_ATTR_STR;
    value->type = want;
    value->attr_pc = -1;
}

static bool expr_want(struct expr *e, struct typed *value, enum risk_type_tag want,
                      const char *what) {
    if (value->type == RISK_T_ATTR && want != RISK_T_BOOL) expr_settle(e, value, want);
    if (value->type == want) return true;
    if (value->type == RISK_T_ATTR) {
        return compiler_error(e->c, value->token,
                              "%s needs true/false; an attr has none: compare it, e.g. "
                              "attr.vip == 1",
                              what);
    }
    return compiler_error(e->c, value->token, "%s needs %s, not %s", what, expr_type_text(want),
                          expr_type_text(value->type));
}

/* type == "order" (or a bare type name) is a bit test, not a string comparison: the two
 * loads just emitted become one OP_TYPE_IS. Most rules start with one. */
static bool expr_fuse_type(struct expr *e, bool negate) {
    struct risk_program *p = e->c->program;
    if (p->code_count < 2) return false;
    struct risk_op *load = &p->code[p->code_count - 2], *constant = &p->code[p->code_count - 1];
    if (load->op != OP_LOAD_TYPE || constant->op != OP_PUSH_STR) return false;
    const char *name = p->strings[constant->a];
    enum risk_type type;
    int32_t mask = risk_type_parse(name, strlen(name), &type) ? (int32_t)(1u << type) : 0;
    p->code_count -= 2;
    compiler_emit(e->c, OP_TYPE_IS, mask, negate);
    return true;
}

static bool expr_reduce_binary(struct expr *e, const struct pending *op) {
    verify(e->value_count >= 2);
    struct typed right = e->values[--e->value_count];
    struct typed left = e->values[--e->value_count];
    struct typed result = {RISK_T_BOOL, false, -1, false, 0, left.token};
    char what[48];
    snprintf(what, sizeof what, "'%s'", expr_op_text(op->op));
    switch (op->op) {
    case X_AND:
    case X_OR:
        if (!expr_want(e, &left, RISK_T_BOOL, what) || !expr_want(e, &right, RISK_T_BOOL, what)) {
            return false;
        }
        e->c->program->code[op->jump_pc].a = e->c->program->code_count;
        break;
    case X_EQ:
    case X_NE: {
        if (left.type == RISK_T_ATTR && right.type == RISK_T_ATTR) {
            return compiler_error(e->c, op->token,
                                  "two attrs have no type to compare by: write number(attr.x) "
                                  "or text(attr.x)");
        }
        if ((left.type == RISK_T_ATTR && right.type == RISK_T_BOOL) ||
            (right.type == RISK_T_ATTR && left.type == RISK_T_BOOL)) {
            return compiler_error(e->c, op->token,
                                  "an attr has no true/false to compare with a condition: "
                                  "compare the attr itself, e.g. attr.vip == 1");
        }
        if (left.type == RISK_T_ATTR) expr_settle(e, &left, right.type);
        if (right.type == RISK_T_ATTR) expr_settle(e, &right, left.type);
        if (left.type != right.type) {
            return compiler_error(e->c, op->token, "cannot compare %s with %s",
                                  expr_type_text(left.type), expr_type_text(right.type));
        }
        bool string = left.type == RISK_T_STRING, equal = op->op == X_EQ;
        if (string && left.is_type && expr_fuse_type(e, !equal)) break;
        compiler_emit(
            e->c, string ? (equal ? OP_EQ_STR : OP_NE_STR) : (equal ? OP_EQ_NUM : OP_NE_NUM), 0, 0);
        break;
    }
    case X_LT:
    case X_LE:
    case X_GT:
    case X_GE: {
        if (!expr_want(e, &left, RISK_T_NUMBER, what) ||
            !expr_want(e, &right, RISK_T_NUMBER, what)) {
            return false;
        }
        static const enum risk_opcode codes[] = {OP_LT, OP_LE, OP_GT, OP_GE};
        compiler_emit(e->c, codes[op->op - X_LT], 0, 0);
        break;
    }
    case X_ADD:
    case X_SUB:
    case X_MUL:
    case X_DIV: {
        if (!expr_want(e, &left, RISK_T_NUMBER, what) ||
            !expr_want(e, &right, RISK_T_NUMBER, what)) {
            return false;
        }
        if (op->op == X_DIV && right.is_const && right.value == 0) {
            return compiler_error(e->c, right.token, "division by zero");
        }
        static const enum risk_opcode codes[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
        compiler_emit(e->c, codes[op->op - X_ADD], 0, 0);
        result.type = RISK_T_NUMBER;
        break;
    }
    default:
        verify(false);
    }
    return expr_push_value(e, result);
}

static bool expr_reduce_prefix(struct expr *e, const struct pending *op) {
    verify(e->value_count >= 1);
    struct typed *value = &e->values[e->value_count - 1];
    if (op->op == X_NOT) {
        if (!expr_want(e, value, RISK_T_BOOL, "'not'")) return false;
        compiler_emit(e->c, OP_NOT, 0, 0);
    } else {
        if (!expr_want(e, value, RISK_T_NUMBER, "'-'")) return false;
        compiler_emit(e->c, OP_NEG, 0, 0);
        value->value = -value->value;
    }
    value->token = op->token;
    return true;
}

static bool expr_reduce_func(struct expr *e, const struct pending *op) {
    if (op->args != expr_func_args[op->func]) {
        return compiler_error(e->c, op->token, "%s() takes %d argument%s",
                              expr_func_names[op->func], expr_func_args[op->func],
                              expr_func_args[op->func] == 1 ? "" : "s");
    }
    verify(e->value_count >= op->args);
    struct typed *first = &e->values[e->value_count - op->args];
    char what[32];
    snprintf(what, sizeof what, "%s()", expr_func_names[op->func]);
    for (int i = 0; i < op->args && op->func != F_TEXT; i++) {
        if (!expr_want(e, first + i, RISK_T_NUMBER, what)) return false;
    }
    if (op->func == F_TEXT && !expr_want(e, first, RISK_T_STRING, what)) return false;
    static const enum risk_opcode codes[F_COUNT] = {OP_MIN, OP_MAX, OP_ABS, OP_END, OP_END};
    if (codes[op->func] != OP_END) compiler_emit(e->c, codes[op->func], 0, 0);
    e->value_count -= op->args;
    struct typed result = {
        op->func == F_TEXT ? RISK_T_STRING : RISK_T_NUMBER, false, -1, false, 0, op->token};
    return expr_push_value(e, result);
}

static bool expr_reduce_top(struct expr *e) {
    struct pending op = e->ops[--e->op_count];
    verify(op.kind == P_BINARY || op.kind == P_PREFIX);
    return op.kind == P_BINARY ? expr_reduce_binary(e, &op) : expr_reduce_prefix(e, &op);
}

/* Reduces pending operators that bind at least as tightly as prec. */
static bool expr_reduce_to(struct expr *e, int prec) {
    while (e->op_count > 0) {
        struct pending *top = &e->ops[e->op_count - 1];
        if ((top->kind != P_BINARY && top->kind != P_PREFIX) || top->prec < prec) break;
        if (!expr_reduce_top(e)) return false;
    }
    return true;
}

static bool expr_binary(struct expr *e, const struct lex_token *t, enum expr_op *op) {
    switch (t->kind) {
    case LEX_EQ:
        *op = X_EQ;
        return true;
    case LEX_NE:
        *op = X_NE;
        return true;
    case LEX_LT:
        *op = X_LT;
        return true;
    case LEX_LE:
        *op = X_LE;
        return true;
    case LEX_GT:
        *op = X_GT;
        return true;
    case LEX_GE:
        *op = X_GE;
        return true;
    case LEX_PLUS:
        *op = X_ADD;
        return true;
    case LEX_MINUS:
        *op = X_SUB;
        return true;
    case LEX_STAR:
        *op = X_MUL;
        return true;
    case LEX_SLASH:
        *op = X_DIV;
        return true;
    default:
        break;
    }
    (void)e;
    if (lex_is(t, "and")) {
        *op = X_AND;
        return true;
    }
    if (lex_is(t, "or")) {
        *op = X_OR;
        return true;
    }
    return false;
}

/* The right side of `in` / `not in`: a list name or ("a", "b", …). */
static bool expr_membership(struct expr *e, const struct lex_token *at, bool negate) {
    struct compiler *c = e->c;
    verify(e->value_count >= 1);
    struct typed *left = &e->values[e->value_count - 1];
    if (!expr_want(e, left, RISK_T_STRING, "'in'")) return false;
    const struct lex_token *t = compiler_token(c);
    if (t->kind == LEX_LPAREN) {
        compiler_next(c);
        int first = c->program->string_count, count = 0;
        for (;;) {
            t = compiler_token(c);
            enum risk_type type;
            bool type_name = t->kind == LEX_NAME && risk_type_parse(t->text, t->len, &type);
            if (t->kind != LEX_STRING && !type_name) {
                return compiler_error(c, t, "a set holds strings: (\"a\", \"b\")");
            }
            if (count == LIMIT_RISK_SET_ITEMS) {
                return compiler_error(c, t, "a set holds at most %d strings", LIMIT_RISK_SET_ITEMS);
            }
            compiler_string(c, t->text, t->len);
            count++;
            compiler_next(c);
            t = compiler_token(c);
            if (t->kind == LEX_RPAREN) break;
            if (t->kind != LEX_COMMA) return compiler_error(c, t, "expected ',' or ')' in the set");
            compiler_next(c);
        }
        compiler_next(c);
        struct risk_op *last = &c->program->code[c->program->code_count - 1];
        if (left->is_type && last->op == OP_LOAD_TYPE) { /* type in (order, refund): bits */
            int32_t mask = 0;
            for (int i = 0; i < count; i++) {
                const char *name = c->program->strings[first + i];
                enum risk_type type;
                if (risk_type_parse(name, strlen(name), &type)) mask |= (int32_t)(1u << type);
            }
            *last = (struct risk_op){OP_TYPE_IS, mask, negate};
            left->type = RISK_T_BOOL;
            left->is_type = false;
            left->is_const = false;
            return true;
        }
        compiler_emit(c, OP_IN_SET, first, count);
    } else if (t->kind == LEX_NAME) {
        int list = compiler_list(c, t->text, t->len);
        if (list < 0) {
            return compiler_error(c, t, "'%.*s' is not a declared list", (int)t->len, t->text);
        }
        compiler_next(c);
        compiler_emit(c, OP_IN_LIST, list, 0);
    } else {
        return compiler_error(c, at, "'in' takes a list name or a set (\"a\", \"b\")");
    }
    if (negate) compiler_emit(c, OP_NOT, 0, 0);
    left->type = RISK_T_BOOL;
    left->is_const = false;
    return true;
}

/* A feature reference: NAME, NAME[key], NAME.member, NAME[key].member. */
static bool expr_feature(struct expr *e, const struct lex_token *name, int index,
                         struct typed *out) {
    struct compiler *c = e->c;
    const struct risk_feature *feature = &c->program->features[index];
    struct risk_ref key = {RISK_REF_NONE, 0};
    int member = 0;
    if (compiler_token(c)->kind == LEX_LBRACKET) {
        compiler_next(c);
        if (!compiler_ref(c, &key)) return false;
        if (key.kind == RISK_REF_AMOUNT) return compiler_error(c, name, "a key is a string field");
        if (compiler_token(c)->kind != LEX_RBRACKET) return compiler_error(c, 0, "expected ']'");
        compiler_next(c);
    }
    bool profile = feature->kind == RISK_F_PROFILE;
    if (compiler_token(c)->kind == LEX_DOT) {
        compiler_next(c);
        const struct lex_token *m = compiler_token(c);
        static const char *const members[RISK_P_MEMBERS] = {"count", "mean", "std", "z"};
        member = -1;
        for (int i = 0; profile && i < RISK_P_MEMBERS; i++) {
            if (lex_is(m, members[i])) member = i;
        }
        if (member < 0) {
            return compiler_error(c, m,
                                  profile ? "a profile has .count, .mean, .std and .z"
                                          : "only profile features have members");
        }
        compiler_next(c);
    } else if (profile) {
        return compiler_error(c, name, "say which part of profile '%s': .count, .mean, .std or .z",
                              feature->name);
    }
    out->type = feature->kind == RISK_F_LAST ? RISK_T_STRING : RISK_T_NUMBER;
    if (key.kind != RISK_REF_NONE) {
        if (feature->kind == RISK_F_CYCLE) {
            return compiler_error(c, name, "a cycle is looked up for the event's transfer only");
        }
        verify(key.index >= 0 && key.index < (1 << 28));
        compiler_emit(c, OP_LOAD_KEYED, index | member << 16, (int32_t)key.kind << 28 | key.index);
    } else if (feature->kind == RISK_F_LAST) {
        compiler_emit(c, OP_LOAD_TEXT, feature->value_index, 0);
    } else {
        compiler_emit(c, OP_LOAD_VALUE, feature->value_index + member, 0);
    }
    return true;
}

/* One operand at the current token. */
static bool expr_operand(struct expr *e) {
    struct compiler *c = e->c;
    const struct lex_token *t = compiler_token(c);
    struct typed value = {RISK_T_NUMBER, false, -1, false, 0, t};
    if (t->kind == LEX_NUMBER) {
        compiler_emit(c, OP_PUSH_NUM, compiler_number(c, t->value), 0);
        value.is_const = true;
        value.value = t->value;
        compiler_next(c);
        return expr_push_value(e, value);
    }
    if (t->kind == LEX_STRING) {
        compiler_emit(c, OP_PUSH_STR, compiler_string(c, t->text, t->len), 0);
        value.type = RISK_T_STRING;
        compiler_next(c);
        return expr_push_value(e, value);
    }
    if (t->kind != LEX_NAME) {
        return compiler_error(c, t, "expected a value, found %s", lex_kind_text(t->kind));
    }
    enum risk_type type;
    enum risk_field field;
    int feature = risk_program_feature(c->program, t->text, t->len);
    bool is_field = risk_field_parse(t->text, t->len, &field);
    /* `payment` names both a type and a field: after `type ==` it is the type */
    bool after_type = e->op_count > 0 && e->value_count > 0 &&
                      e->values[e->value_count - 1].is_type &&
                      (e->ops[e->op_count - 1].op == X_EQ || e->ops[e->op_count - 1].op == X_NE) &&
                      e->ops[e->op_count - 1].kind == P_BINARY;
    if (lex_is(t, "true") || lex_is(t, "false")) {
        compiler_emit(c, OP_PUSH_NUM, compiler_number(c, lex_is(t, "true") ? 1 : 0), 0);
        value.type = RISK_T_BOOL;
        compiler_next(c);
    } else if (risk_type_parse(t->text, t->len, &type) && (!is_field || after_type)) {
        compiler_emit(c, OP_PUSH_STR, compiler_string(c, t->text, t->len), 0);
        value.type = RISK_T_STRING;
        compiler_next(c);
    } else if (lex_is(t, "type")) {
        compiler_emit(c, OP_LOAD_TYPE, 0, 0);
        value.type = RISK_T_STRING;
        value.is_type = true;
        compiler_next(c);
    } else if (lex_is(t, "hour")) {
        compiler_emit(c, OP_LOAD_HOUR, 0, 0);
        compiler_next(c);
    } else if (lex_is(t, "model_score")) {
        if (!c->allow_model) return compiler_error(c, t, "model_score is only usable in rules");
        c->uses_model = true;
        compiler_emit(c, OP_LOAD_MODEL, 0, 0);
        compiler_next(c);
    } else if (lex_is(t, "amount") || lex_is(t, "attr") || is_field) {
        struct risk_ref ref;
        if (!compiler_ref(c, &ref)) return false;
        if (ref.kind == RISK_REF_AMOUNT) {
            compiler_emit(c, OP_LOAD_AMOUNT, 0, 0);
        } else if (ref.kind == RISK_REF_FIELD) {
            compiler_emit(c, OP_LOAD_FIELD, ref.index, 0);
            value.type = RISK_T_STRING;
        } else {
            value.attr_pc = compiler_emit(c, OP_LOAD_ATTR, ref.index, 0);
            value.type = RISK_T_ATTR;
        }
    } else if (feature >= 0) {
        if (c->event_only) {
            return compiler_error(c, t, "a where filter reads the event only, not features");
        }
        compiler_next(c);
        if (!expr_feature(e, t, feature, &value)) return false;
    } else if (compiler_list(c, t->text, t->len) >= 0) {
        return compiler_error(c, t, "a list is used as: x in %.*s", (int)t->len, t->text);
    } else if (compiler_reserved(t)) {
        return compiler_error(c, t, "expected a value, found '%.*s'", (int)t->len, t->text);
    } else {
        return compiler_error(c, t, "unknown name '%.*s'", (int)t->len, t->text);
    }
    return expr_push_value(e, value);
}

static int expr_func_index(const struct lex_token *t) {
    for (int i = 0; i < F_COUNT; i++) {
        if (lex_is(t, expr_func_names[i])) return i;
    }
    return -1;
}

/* In operand position: a prefix operator, '(' or a call (an operand is still wanted:
 * *more), or an operand. */
static bool expr_step_operand(struct expr *e, bool *more) {
    struct compiler *c = e->c;
    const struct lex_token *t = compiler_token(c);
    struct pending op = {P_PREFIX, X_NOT, 0, -1, 0, 0, t};
    *more = true;
    if (lex_is(t, "not") || t->kind == LEX_MINUS) {
        op.op = t->kind == LEX_MINUS ? X_NEG : X_NOT;
        op.prec = expr_prec(op.op);
        compiler_next(c);
        return expr_push_op(e, op);
    }
    if (t->kind == LEX_LPAREN) {
        op.kind = P_PAREN;
        compiler_next(c);
        return expr_push_op(e, op);
    }
    int func = expr_func_index(t);
    if (func >= 0 && compiler_peek(c, 1)->kind == LEX_LPAREN) {
        op.kind = P_FUNC;
        op.func = func;
        op.args = 1;
        compiler_next(c);
        compiler_next(c);
        return expr_push_op(e, op);
    }
    *more = false;
    return expr_operand(e);
}

static bool expr_has_open(const struct expr *e) {
    for (int i = 0; i < e->op_count; i++) {
        if (e->ops[i].kind == P_PAREN || e->ops[i].kind == P_FUNC) return true;
    }
    return false;
}

/* Closes a ')' or ',' against the innermost parenthesis or call. */
static bool expr_close(struct expr *e, bool comma) {
    const struct lex_token *t = compiler_token(e->c);
    if (!expr_reduce_to(e, 0)) return false;
    verify(e->op_count > 0);
    struct pending *top = &e->ops[e->op_count - 1];
    verify(top->kind == P_PAREN || top->kind == P_FUNC);
    if (comma) {
        if (top->kind != P_FUNC) return compiler_error(e->c, t, "unexpected ','");
        top->args++;
        compiler_next(e->c);
        return true;
    }
    compiler_next(e->c);
    struct pending closed = e->ops[--e->op_count];
    return closed.kind == P_FUNC ? expr_reduce_func(e, &closed) : true;
}

/* An operator at the current token, in operator position. *end: the expression is over. */
static bool expr_step_operator(struct expr *e, bool *operand, bool *end) {
    struct compiler *c = e->c;
    const struct lex_token *t = compiler_token(c);
    enum expr_op op;
    *end = false;
    if (expr_binary(e, t, &op)) {
        int prec = expr_prec(op);
        if (!expr_reduce_to(e, prec)) return false;
        struct pending pending = {P_BINARY, op, prec, -1, 0, 0, t};
        if (op == X_AND || op == X_OR) {
            struct typed *left = &e->values[e->value_count - 1];
            if (!expr_want(e, left, RISK_T_BOOL, op == X_AND ? "'and'" : "'or'")) return false;
            pending.jump_pc =
                compiler_emit(c, op == X_AND ? OP_JUMP_IF_FALSE : OP_JUMP_IF_TRUE, -1, 0);
        }
        compiler_next(c);
        *operand = true;
        return expr_push_op(e, pending);
    }
    if (lex_is(t, "in") || (lex_is(t, "not") && lex_is(compiler_peek(c, 1), "in"))) {
        bool negate = lex_is(t, "not");
        if (!expr_reduce_to(e, expr_prec(X_EQ))) return false;
        compiler_next(c);
        if (negate) compiler_next(c);
        return expr_membership(e, t, negate);
    }
    if ((t->kind == LEX_RPAREN || t->kind == LEX_COMMA) && expr_has_open(e)) {
        *operand = t->kind == LEX_COMMA;
        return expr_close(e, t->kind == LEX_COMMA);
    }
    *end = true;
    return true;
}

bool expr_compile(struct compiler *c, enum risk_type_tag *type) {
    verify(c != 0 && type != 0);
    struct expr e;
    e.c = c;
    e.op_count = e.value_count = 0;
    bool operand = true, end = false;
    while (!end) {
        if (operand) {
            if (!expr_step_operand(&e, &operand)) return false;
        } else if (!expr_step_operator(&e, &operand, &end)) {
            return false;
        }
    }
    if (!expr_reduce_to(&e, 0)) return false;
    if (e.op_count > 0) {
        const struct pending *open = &e.ops[e.op_count - 1];
        return compiler_error(c, open->token,
                              open->kind == P_FUNC ? "call without ')'" : "'(' without ')'");
    }
    verify(e.value_count == 1);
    *type = e.values[0].type;
    if (*type == RISK_T_ATTR) {
        return compiler_error(c, e.values[0].token,
                              "an attr alone has no type: compare it, or write number(attr.x)");
    }
    return true;
}
