/* import.h — parsing card-code import input, streamed: bytes go in any chunking, one
 * callback per complete line comes out. Plain text is one code per line; CSV is
 * `code,expires_at` with an optional header row and RFC 4180 quoting. Pure: no I/O,
 * bounded memory (one line of LIMIT_IMPORT_LINE_BYTES). */
#ifndef TESSERA_DOMAIN_IMPORT_H
#define TESSERA_DOMAIN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"

struct import_code {
    char code[LIMIT_CODE_BYTES + 1];
    size_t code_len;
    int64_t expires_at; /* 0: does not expire */
};

/* Accepted codes packed into one byte array: bounded memory per chunk, no per-code
 * allocation. Wiped when cleared or freed (the bytes are plaintext codes). */
struct import_item {
    size_t offset;
    size_t len;
    int64_t expires_at;
};

struct import_batch {
    char *bytes;
    size_t bytes_len, bytes_cap;
    struct import_item *items;
    int count, cap;
};

void import_batch_init(struct import_batch *batch);
void import_batch_add(struct import_batch *batch, const struct import_code *code);
void import_batch_clear(struct import_batch *batch);
void import_batch_free(struct import_batch *batch);

/* Called for each accepted code; return non-OK to stop the parse with that status. */
typedef enum status (*import_code_fn)(void *context, const struct import_code *code);

struct import_parser {
    bool csv;
    int64_t now_s; /* codes already expired at now_s are rejected */
    int64_t line_number;
    int64_t rejected;
    bool overlong; /* the current line passed the limit; skip to its end */
    size_t line_len;
    char line[LIMIT_IMPORT_LINE_BYTES];
    import_code_fn on_code;
    void *context;
};

void import_parser_init(struct import_parser *parser, bool csv, int64_t now_s,
                        import_code_fn on_code, void *context);
must_check enum status import_parser_feed(struct import_parser *parser, const char *data,
                                          size_t len);
/* Ends the input: a last line without a newline is parsed. */
must_check enum status import_parser_finish(struct import_parser *parser);

/* Parses one line (no newline). STATUS_OK fills out; STATUS_NOT_FOUND for a line to skip
 * (the CSV header); STATUS_INVALID_VALUE for a rejected line. Exposed for tests. */
must_check enum status import_parse_line(const char *line, size_t len, bool csv, int64_t now_s,
                                         struct import_code *out);

#endif
