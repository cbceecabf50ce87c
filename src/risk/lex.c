/* lex.c — the rule language's lexer: one pass, a growing token array bounded by the file
 * size (itself bounded by LIMIT_RISK_RULE_FILE_BYTES). Never recursive. */
#include "risk/lex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/text.h"

struct lex_cursor {
    const char *p, *end, *line_start;
    int line, col;
};

static enum status lex_fail(struct lex_error *error, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum status lex_fail(struct lex_error *error, int line, int col, const char *fmt, ...) {
    error->line = line;
    error->col = col;
    va_list args;
    va_start(args, fmt);
    (void)vsnprintf(error->message, sizeof error->message, fmt, args);
    va_end(args);
    return STATUS_INVALID_VALUE;
}

static void lex_advance(struct lex_cursor *c, size_t n) {
    for (size_t i = 0; i < n && c->p < c->end; i++) {
        unsigned char byte = (unsigned char)*c->p++;
        if ((byte & 0xC0) != 0x80) c->col++; /* count characters, not bytes */
    }
}

static bool lex_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool lex_name_char(char c) { return lex_name_start(c) || (c >= '0' && c <= '9'); }

static struct lex_token *lex_push(struct lex *lex, enum lex_kind kind, int line, int col) {
    if (lex->count == lex->capacity) {
        lex->capacity = lex->capacity ? lex->capacity * 2 : 256;
        lex->tokens = mem_realloc(lex->tokens, (size_t)lex->capacity * sizeof *lex->tokens);
    }
    struct lex_token *token = &lex->tokens[lex->count++];
    memset(token, 0, sizeof *token);
    token->kind = kind;
    token->line = line;
    token->col = col;
    return token;
}

/* Starts a line: the whole line must be UTF-8 (a rule file is text). */
static enum status lex_line(struct lex_cursor *c, struct lex_error *error) {
    const char *newline = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *stop = newline ? newline : c->end;
    if (!text_utf8_valid(c->p, (size_t)(stop - c->p))) {
        return lex_fail(error, c->line, 1, "this line is not valid UTF-8");
    }
    return STATUS_OK;
}

static enum status lex_number(struct lex_cursor *c, struct lex_token *token,
                              struct lex_error *error) {
    double value = 0;
    int digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        value = value * 10 + (*c->p - '0');
        digits++;
        lex_advance(c, 1);
    }
    if (c->p + 1 < c->end && *c->p == '.' && c->p[1] >= '0' && c->p[1] <= '9') {
        lex_advance(c, 1);
        double scale = 0.1;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            value += (*c->p - '0') * scale;
            scale /= 10;
            lex_advance(c, 1);
        }
    }
    if (digits > 15) return lex_fail(error, token->line, token->col, "number too large");
    token->value = value;
    if (c->p < c->end && lex_name_start(*c->p)) {
        char unit = *c->p;
        bool alone = c->p + 1 >= c->end || !lex_name_char(c->p[1]);
        double scale = unit == 's'   ? 1
                       : unit == 'm' ? 60
                       : unit == 'h' ? 3600
                       : unit == 'd' ? 86400
                                     : 0;
        if (!alone || scale == 0) {
            return lex_fail(error, token->line, token->col,
                            "a number takes no suffix but the units s, m, h and d (10m is ten "
                            "minutes)");
        }
        token->value *= scale;
        token->unit = LEX_UNIT_DURATION;
        lex_advance(c, 1);
    }
    return STATUS_OK;
}

/* ¥1,000 or ¥9999.50: yuan with at most two decimals, as fen. */
static enum status lex_money(struct lex_cursor *c, struct lex_token *token,
                             struct lex_error *error) {
    lex_advance(c, 2); /* ¥ is two bytes, one character */
    int64_t yuan = 0, fen = 0;
    int digits = 0, group = -1;
    while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == ',')) {
        if (*c->p == ',') {
            if (digits == 0 || (group >= 0 && group != 3)) break;
            group = 0;
        } else {
            if (digits < 13) yuan = yuan * 10 + (*c->p - '0'); /* past 12 it is refused below */
            digits++;
            if (group >= 0) group++;
        }
        lex_advance(c, 1);
    }
    if (digits == 0 || (group >= 0 && group != 3) || digits > 12) {
        return lex_fail(error, token->line, token->col,
                        "a money amount is ¥ then digits, e.g. ¥1,000 or ¥99.50");
    }
    if (c->p < c->end && *c->p == '.') {
        lex_advance(c, 1);
        int decimals = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && decimals < 3) {
            fen = fen * 10 + (*c->p - '0');
            decimals++;
            lex_advance(c, 1);
        }
        if (decimals == 0 || decimals > 2) {
            return lex_fail(error, token->line, token->col, "¥ amounts have one or two decimals");
        }
        if (decimals == 1) fen *= 10;
    }
    token->value = (double)(yuan * 100 + fen);
    token->unit = LEX_UNIT_MONEY;
    return STATUS_OK;
}

static enum status lex_string(struct lex *lex, struct lex_cursor *c, struct lex_token *token,
                              struct lex_error *error) {
    lex_advance(c, 1);
    size_t start = lex->strings_len;
    for (;;) {
        if (c->p >= c->end || *c->p == '\n') {
            return lex_fail(error, token->line, token->col, "unterminated string");
        }
        char ch = *c->p;
        if ((unsigned char)ch < 0x20 && ch != '\t') {
            return lex_fail(error, c->line, c->col, "control character in a string");
        }
        if (ch == '"') {
            lex_advance(c, 1);
            break;
        }
        if (ch == '\\') {
            char next = c->p + 1 < c->end ? c->p[1] : 0;
            ch = next == '"'    ? '"'
                 : next == '\\' ? '\\'
                 : next == 'n'  ? '\n'
                 : next == 't'  ? '\t'
                                : 0;
            if (ch == 0) return lex_fail(error, c->line, c->col, "unknown escape in a string");
            lex_advance(c, 1);
        }
        if (lex->strings_len - start >= LIMIT_RISK_REASON_BYTES) {
            return lex_fail(error, token->line, token->col, "string longer than %d bytes",
                            LIMIT_RISK_REASON_BYTES);
        }
        if (lex->strings_len + 2 > lex->strings_cap) {
            lex->strings_cap = lex->strings_cap ? lex->strings_cap * 2 : 4096;
            lex->strings = mem_realloc(lex->strings, lex->strings_cap);
        }
        lex->strings[lex->strings_len++] = ch;
        lex_advance(c, 1);
    }
    if (lex->strings_len + 1 > lex->strings_cap) {
        lex->strings_cap = lex->strings_cap ? lex->strings_cap * 2 : 4096;
        lex->strings = mem_realloc(lex->strings, lex->strings_cap);
    }
    lex->strings[lex->strings_len++] = 0;
    token->len = lex->strings_len - 1 - start;
    token->value = (double)start; /* resolved to a pointer once strings stop moving */
    return STATUS_OK;
}

static enum lex_kind lex_operator(struct lex_cursor *c, size_t *width) {
    char a = *c->p, b = c->p + 1 < c->end ? c->p[1] : 0;
    *width = 2;
    if (a == '=' && b == '=') return LEX_EQ;
    if (a == '!' && b == '=') return LEX_NE;
    if (a == '<' && b == '=') return LEX_LE;
    if (a == '>' && b == '=') return LEX_GE;
    *width = 1;
    switch (a) {
    case '<':
        return LEX_LT;
    case '>':
        return LEX_GT;
    case '+':
        return LEX_PLUS;
    case '-':
        return LEX_MINUS;
    case '*':
        return LEX_STAR;
    case '/':
        return LEX_SLASH;
    case '(':
        return LEX_LPAREN;
    case ')':
        return LEX_RPAREN;
    case '[':
        return LEX_LBRACKET;
    case ']':
        return LEX_RBRACKET;
    case ',':
        return LEX_COMMA;
    case '.':
        return LEX_DOT;
    case '=':
        return LEX_ASSIGN;
    default:
        *width = 0;
        return LEX_END;
    }
}

static enum status lex_token(struct lex *lex, struct lex_cursor *c, struct lex_error *error);

/* One token, with its byte span in the source. */
static enum status lex_one(struct lex *lex, struct lex_cursor *c, struct lex_error *error) {
    size_t start = (size_t)(c->p - lex->source);
    int before = lex->count;
    enum status status = lex_token(lex, c, error);
    if (lex->count > before) {
        lex->tokens[lex->count - 1].start = start;
        lex->tokens[lex->count - 1].end = (size_t)(c->p - lex->source);
    }
    return status;
}

static enum status lex_token(struct lex *lex, struct lex_cursor *c, struct lex_error *error) {
    char ch = *c->p;
    int line = c->line, col = c->col;
    if (lex_name_start(ch)) {
        struct lex_token *token = lex_push(lex, LEX_NAME, line, col);
        token->text = c->p;
        while (c->p < c->end && lex_name_char(*c->p))
            lex_advance(c, 1);
        token->len = (size_t)(c->p - token->text);
        if (token->len > LIMIT_RISK_NAME_BYTES) {
            return lex_fail(error, line, col, "name longer than %d characters",
                            LIMIT_RISK_NAME_BYTES);
        }
        return STATUS_OK;
    }
    if (ch >= '0' && ch <= '9') return lex_number(c, lex_push(lex, LEX_NUMBER, line, col), error);
    if ((unsigned char)ch == 0xC2 && c->p + 1 < c->end && (unsigned char)c->p[1] == 0xA5) {
        return lex_money(c, lex_push(lex, LEX_NUMBER, line, col), error);
    }
    if (ch == '"') return lex_string(lex, c, lex_push(lex, LEX_STRING, line, col), error);
    size_t width = 0;
    enum lex_kind kind = lex_operator(c, &width);
    if (width == 0) {
        if (ch == '!') return lex_fail(error, line, col, "'!' is written 'not'");
        if (ch == '&' || ch == '|') return lex_fail(error, line, col, "write 'and' and 'or'");
        return lex_fail(error, line, col, "unexpected character");
    }
    lex_push(lex, kind, line, col);
    lex_advance(c, width);
    return STATUS_OK;
}

enum status lex_run(struct lex *lex, const char *source, size_t len, struct lex_error *error) {
    verify(lex != 0 && error != 0 && (source != 0 || len == 0));
    memset(lex, 0, sizeof *lex);
    lex->source = source ? source : "";
    struct lex_cursor c = {lex->source, lex->source + len, lex->source, 1, 1};
    enum status status = len > LIMIT_RISK_RULE_FILE_BYTES
                             ? lex_fail(error, 1, 1, "the rule file is larger than %d bytes",
                                        LIMIT_RISK_RULE_FILE_BYTES)
                             : lex_line(&c, error);
    while (status == STATUS_OK && c.p < c.end) {
        char ch = *c.p;
        if (ch == '\n') {
            c.p++;
            c.line++;
            c.col = 1;
            c.line_start = c.p;
            status = lex_line(&c, error);
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            lex_advance(&c, 1);
        } else if (ch == '#') {
            while (c.p < c.end && *c.p != '\n')
                c.p++;
        } else {
            status = lex_one(lex, &c, error);
        }
    }
    struct lex_token *end = lex_push(lex, LEX_END, c.line, c.col);
    end->start = end->end = (size_t)(c.p - lex->source);
    for (int i = 0; i < lex->count; i++) {       /* strings have stopped moving */
        if (lex->tokens[i].kind == LEX_STRING) { /* none stored: the first one failed */
            lex->tokens[i].text = lex->strings ? lex->strings + (size_t)lex->tokens[i].value : "";
        }
    }
    return status;
}

void lex_free(struct lex *lex) {
    verify(lex != 0);
    free(lex->tokens);
    free(lex->strings);
    memset(lex, 0, sizeof *lex);
}

bool lex_is(const struct lex_token *token, const char *word) {
    verify(token != 0 && word != 0);
    return token->kind == LEX_NAME && strlen(word) == token->len &&
           memcmp(token->text, word, token->len) == 0;
}

const char *lex_kind_text(enum lex_kind kind) {
    static const char *const texts[] = {
        "end of file", "name", "number", "string", "'=='", "'!='", "'<'",
        "'<='",        "'>'",  "'>='",   "'+'",    "'-'",  "'*'",  "'/'",
        "'('",         "')'",  "'['",    "']'",    "','",  "'.'",  "'='",
    };
    _Static_assert(sizeof texts / sizeof texts[0] == LEX_ASSIGN + 1, "one text per kind");
    verify(kind >= 0 && kind <= LEX_ASSIGN);
    return texts[kind];
}
