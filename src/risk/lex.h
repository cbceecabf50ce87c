/* lex.h — tokens of the rule language (docs/RULES.md). The lexer reads the whole file
 * once into a bounded token array; positions are line and column (counted in characters,
 * so a column is right after Chinese text too). Numbers carry their unit already applied:
 * 10m is 600 (seconds), ¥1,000 is 100000 (fen). */
#ifndef TESSERA_RISK_LEX_H
#define TESSERA_RISK_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

enum lex_kind {
    LEX_END,
    LEX_NAME,   /* identifiers and keywords: the parser tells them apart */
    LEX_NUMBER, /* value holds the number (units applied) */
    LEX_STRING, /* text/len: the decoded string */
    LEX_EQ,     /* == */
    LEX_NE,     /* != */
    LEX_LT,
    LEX_LE,
    LEX_GT,
    LEX_GE,
    LEX_PLUS,
    LEX_MINUS,
    LEX_STAR,
    LEX_SLASH,
    LEX_LPAREN,
    LEX_RPAREN,
    LEX_LBRACKET,
    LEX_RBRACKET,
    LEX_COMMA,
    LEX_DOT,
    LEX_ASSIGN, /* = */
};

enum lex_unit { LEX_UNIT_NONE, LEX_UNIT_DURATION, LEX_UNIT_MONEY };

struct lex_token {
    enum lex_kind kind;
    int line, col;
    const char *text; /* names: into the source; strings: into the lexer's string storage */
    size_t len;
    double value;
    enum lex_unit unit;
    size_t start, end; /* byte offsets of the token in the source */
};

struct lex_error {
    int line, col;
    char message[160];
};

struct lex {
    const char *source;
    struct lex_token *tokens;
    int count, capacity;
    char *strings; /* decoded string literals, NUL-separated */
    size_t strings_len, strings_cap;
};

/* Splits source into tokens (the last is LEX_END). On a lexical error fills *error and
 * returns STATUS_INVALID_VALUE; the tokens before it stay usable. */
must_check enum status lex_run(struct lex *lex, const char *source, size_t len,
                               struct lex_error *error);
void lex_free(struct lex *lex);
/* True when token is the name word. */
bool lex_is(const struct lex_token *token, const char *word);
const char *lex_kind_text(enum lex_kind kind);

#endif
