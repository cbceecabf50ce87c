/* fuzz_import.c — libFuzzer harness for the streaming import parser. The first byte picks
 * CSV or text and seeds the chunking; the rest is the file. The same bytes are parsed
 * whole, in data-driven chunks and one byte at a time, and must give the same codes and
 * counts. Every accepted code is printable UTF-8, trimmed, 1..LIMIT_CODE_BYTES bytes, and
 * not yet expired; every line is either accepted, rejected or the CSV header on line 1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/text.h"
#include "domain/import.h"

#define FUZZ_NOW 1800000000LL

struct fuzz_outcome {
    int64_t accepted;
    uint64_t digest;            /* FNV-1a over every accepted code and its expiry, in order */
    struct import_batch *batch; /* the whole-input run keeps its codes here */
};

static void fuzz_digest(uint64_t *digest, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        *digest = (*digest ^ p[i]) * 1099511628211ull;
}

static enum status fuzz_on_code(void *context, const struct import_code *code) {
    struct fuzz_outcome *outcome = context;
    verify(code->code_len > 0 && code->code_len <= LIMIT_CODE_BYTES);
    verify(code->code[code->code_len] == 0);
    verify(text_printable(code->code, code->code_len));
    verify(code->code[0] != ' ' && code->code[code->code_len - 1] != ' ');
    verify(code->expires_at == 0 || code->expires_at > FUZZ_NOW);
    outcome->accepted++;
    fuzz_digest(&outcome->digest, code->code, code->code_len + 1);
    fuzz_digest(&outcome->digest, &code->expires_at, sizeof code->expires_at);
    if (outcome->batch != 0) import_batch_add(outcome->batch, code);
    return STATUS_OK;
}

struct fuzz_result {
    struct fuzz_outcome outcome;
    int64_t rejected;
    int64_t lines;
};

/* Feeds data in pieces: piece lengths come from a small generator seeded by seed; seed 0
 * feeds everything at once, seed 1 one byte at a time. */
static void fuzz_run(const char *data, size_t size, bool csv, unsigned seed,
                     struct import_batch *batch, struct fuzz_result *result) {
    memset(result, 0, sizeof *result);
    result->outcome.digest = 1469598103934665603ull;
    result->outcome.batch = batch;
    struct import_parser parser;
    import_parser_init(&parser, csv, FUZZ_NOW, fuzz_on_code, &result->outcome);
    uint32_t state = seed * 2654435761u + 1u;
    for (size_t at = 0; at < size;) {
        size_t piece = size - at;
        if (seed == 1) {
            piece = 1;
        } else if (seed > 1) {
            state = state * 1664525u + 1013904223u;
            size_t limit = (state >> 24) & 1u ? 8 : LIMIT_IMPORT_LINE_BYTES + 64;
            piece = 1 + (state >> 8) % limit;
            if (piece > size - at) piece = size - at;
        }
        verify(import_parser_feed(&parser, data + at, piece) == STATUS_OK);
        at += piece;
    }
    verify(import_parser_finish(&parser) == STATUS_OK);
    result->rejected = parser.rejected;
    result->lines = parser.line_number;
}

static void fuzz_same(const struct fuzz_result *a, const struct fuzz_result *b) {
    verify(a->outcome.accepted == b->outcome.accepted);
    verify(a->outcome.digest == b->outcome.digest);
    verify(a->rejected == b->rejected);
    verify(a->lines == b->lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    bool csv = data[0] & 1u;
    unsigned seed = 2u + (data[0] >> 1);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    struct import_batch batch;
    import_batch_init(&batch);
    struct fuzz_result whole, chunked, bytes;
    fuzz_run(text, len, csv, 0, &batch, &whole);
    fuzz_run(text, len, csv, seed, 0, &chunked);
    fuzz_run(text, len, csv, 1, 0, &bytes);
    fuzz_same(&whole, &chunked);
    fuzz_same(&whole, &bytes);

    /* Lines: each newline ends one; a non-empty tail without one is the last. */
    int64_t newlines = 0;
    for (size_t i = 0; i < len; i++)
        newlines += text[i] == '\n';
    int64_t lines = newlines + (len > 0 && text[len - 1] != '\n');
    verify(whole.lines == lines);
    int64_t counted = whole.outcome.accepted + whole.rejected;
    verify(counted == lines || (csv && counted == lines - 1)); /* the header on line 1 */

    /* The batch holds exactly the accepted codes, packed, each valid. */
    verify(batch.count == whole.outcome.accepted);
    size_t offset = 0;
    for (int i = 0; i < batch.count; i++) {
        verify(batch.items[i].offset == offset);
        verify(batch.items[i].len > 0 && batch.items[i].len <= LIMIT_CODE_BYTES);
        verify(text_printable(batch.bytes + batch.items[i].offset, batch.items[i].len));
        offset += batch.items[i].len;
    }
    verify(batch.bytes_len == offset);
    import_batch_clear(&batch);
    verify(batch.count == 0 && batch.bytes_len == 0);
    import_batch_free(&batch);

    /* Each line on its own agrees with the stream about acceptance. */
    const char *line = text;
    int64_t accepted = 0;
    for (int64_t n = 1; n <= lines; n++) {
        const char *end = memchr(line, '\n', len - (size_t)(line - text));
        size_t line_len = end ? (size_t)(end - line) : len - (size_t)(line - text);
        struct import_code code;
        if (line_len <= LIMIT_IMPORT_LINE_BYTES) {
            enum status status = import_parse_line(line, line_len, csv, FUZZ_NOW, &code);
            verify(status == STATUS_OK || status == STATUS_INVALID_VALUE ||
                   (csv && status == STATUS_NOT_FOUND));
            accepted += status == STATUS_OK;
        }
        line = end ? end + 1 : text + len;
    }
    verify(accepted == whole.outcome.accepted);
    return 0;
}
