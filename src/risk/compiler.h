/* compiler.h — the compiler's shared state, for compile.c (declarations) and expr.c
 * (expressions). Internal to src/risk/. */
#ifndef TESSERA_RISK_COMPILER_H
#define TESSERA_RISK_COMPILER_H

#include <stdbool.h>

#include "risk/lex.h"
#include "risk/program.h"

struct compiler {
    struct lex lex;
    int pos; /* current token */
    struct risk_program *program;
    struct risk_diags *diags;
    bool allow_model; /* model_score is usable here (rules, not features or model inputs) */
    bool event_only;  /* only event data: no features (a feature's where filter) */
    bool uses_model;  /* the expression just compiled read model_score */
};

const struct lex_token *compiler_token(struct compiler *c);
const struct lex_token *compiler_peek(struct compiler *c, int ahead);
void compiler_next(struct compiler *c);
/* Records an error at token (or the current one when NULL); always returns false. */
bool compiler_error(struct compiler *c, const struct lex_token *token, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when token is a reserved word of the language (never a feature or list name). */
bool compiler_reserved(const struct lex_token *token);

int compiler_emit(struct compiler *c, enum risk_opcode op, int32_t a, int32_t b);
int compiler_number(struct compiler *c, double value);
int compiler_string(struct compiler *c, const char *text, size_t len);
int compiler_list(struct compiler *c, const char *name, size_t len);

/* Parses an event reference at the current token: a string field, amount, or attr.NAME. */
bool compiler_ref(struct compiler *c, struct risk_ref *ref);

/* Compiles one expression at the current token into the program's code (not ended), and
 * stops before the first token that cannot continue it. *type is its type. */
bool expr_compile(struct compiler *c, enum risk_type_tag *type);

#endif
