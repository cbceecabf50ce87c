/* import.c — line splitting and per-line validation for code imports. A rejected line is
 * counted, never echoed: it may hold a secret code. */
#include "domain/import.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/mem.h"
#include "base/text.h"

void import_parser_init(struct import_parser *parser, bool csv, int64_t now_s,
                        import_code_fn on_code, void *context) {
    verify(parser != 0 && on_code != 0);
    memset(parser, 0, sizeof *parser);
    parser->csv = csv;
    parser->now_s = now_s;
    parser->on_code = on_code;
    parser->context = context;
}

/* CSV field: quoted ("a""b") or bare. Advances *pos past the field and its comma. */
static enum status import_csv_field(const char *line, size_t len, size_t *pos, char *out,
                                    size_t out_cap, size_t *out_len) {
    size_t i = *pos, n = 0;
    if (i < len && line[i] == '"') {
        i++;
        for (;;) {
            if (i >= len) return STATUS_INVALID_VALUE; /* unterminated quote */
            if (line[i] == '"') {
                if (i + 1 < len && line[i + 1] == '"') {
                    i++;
                } else {
                    i++;
                    break;
                }
            }
            if (n + 1 >= out_cap) return STATUS_INVALID_VALUE;
            out[n++] = line[i++];
        }
        if (i < len && line[i] != ',') return STATUS_INVALID_VALUE;
    } else {
        while (i < len && line[i] != ',') {
            if (line[i] == '"' || n + 1 >= out_cap) return STATUS_INVALID_VALUE;
            out[n++] = line[i++];
        }
    }
    if (i < len) i++; /* the comma */
    out[n] = 0;
    *out_len = n;
    *pos = i;
    return STATUS_OK;
}

static enum status import_accept_code(const char *code, size_t len, struct import_code *out) {
    text_trim(&code, &len);
    if (len == 0 || len > LIMIT_CODE_BYTES) return STATUS_INVALID_VALUE;
    if (!text_printable(code, len)) return STATUS_INVALID_VALUE;
    memcpy(out->code, code, len);
    out->code[len] = 0;
    out->code_len = len;
    return STATUS_OK;
}

enum status import_parse_line(const char *line, size_t len, bool csv, int64_t now_s,
                              struct import_code *out) {
    verify(line != 0 || len == 0);
    verify(out != 0);
    out->expires_at = 0;
    if (!csv) return import_accept_code(line, len, out);
    /* The CR of a CRLF line ending belongs to the ending, not to a (maybe quoted) field. */
    if (len > 0 && line[len - 1] == '\r') len--;
    char field[LIMIT_IMPORT_LINE_BYTES + 1]; /* a whole line and its NUL */
    char expiry[64];
    size_t pos = 0, field_len = 0, expiry_len = 0;
    if (import_csv_field(line, len, &pos, field, sizeof field, &field_len) != STATUS_OK) {
        return STATUS_INVALID_VALUE;
    }
    if (pos < len || (len > 0 && line[len - 1] == ',')) {
        size_t expiry_start = pos;
        if (import_csv_field(line, len, &pos, expiry, sizeof expiry, &expiry_len) != STATUS_OK) {
            return STATUS_INVALID_VALUE;
        }
        /* a third column, also an empty one after a trailing comma */
        if (pos < len || (pos > expiry_start && line[pos - 1] == ',')) return STATUS_INVALID_VALUE;
    }
    const char *e = expiry;
    text_trim(&e, &expiry_len);
    if (field_len == 4 && memcmp(field, "code", 4) == 0 && expiry_len == 10 &&
        memcmp(e, "expires_at", 10) == 0) {
        return STATUS_NOT_FOUND; /* the header row */
    }
    if (expiry_len > 0) {
        int64_t at = 0;
        if (text_parse_time(e, expiry_len, &at) != STATUS_OK) return STATUS_INVALID_VALUE;
        if (at <= now_s) return STATUS_INVALID_VALUE; /* already expired */
        out->expires_at = at;
    }
    return import_accept_code(field, field_len, out);
}

static enum status import_end_line(struct import_parser *parser) {
    parser->line_number++;
    bool overlong = parser->overlong;
    size_t len = parser->line_len;
    parser->overlong = false;
    parser->line_len = 0;
    if (overlong) {
        parser->rejected++;
        return STATUS_OK;
    }
    struct import_code code;
    enum status status = import_parse_line(parser->line, len, parser->csv, parser->now_s, &code);
    if (status == STATUS_NOT_FOUND && parser->line_number == 1) return STATUS_OK;
    if (status != STATUS_OK) {
        parser->rejected++;
        return STATUS_OK;
    }
    return parser->on_code(parser->context, &code);
}

enum status import_parser_feed(struct import_parser *parser, const char *data, size_t len) {
    verify(parser != 0);
    verify(data != 0 || len == 0);
    for (size_t i = 0; i < len;) {
        const char *newline = memchr(data + i, '\n', len - i);
        size_t piece = newline ? (size_t)(newline - (data + i)) : len - i;
        if (!parser->overlong) {
            if (parser->line_len + piece > sizeof parser->line) {
                parser->overlong = true;
            } else {
                memcpy(parser->line + parser->line_len, data + i, piece);
                parser->line_len += piece;
            }
        }
        i += piece;
        if (newline == 0) break;
        i++;
        enum status status = import_end_line(parser);
        if (status != STATUS_OK) return status;
    }
    return STATUS_OK;
}

enum status import_parser_finish(struct import_parser *parser) {
    verify(parser != 0);
    if (parser->line_len == 0 && !parser->overlong) return STATUS_OK;
    return import_end_line(parser);
}

void import_batch_init(struct import_batch *batch) {
    verify(batch != 0);
    memset(batch, 0, sizeof *batch);
}

void import_batch_add(struct import_batch *batch, const struct import_code *code) {
    verify(batch != 0 && code != 0);
    verify(code->code_len > 0 && code->code_len <= LIMIT_CODE_BYTES);
    if (batch->count == batch->cap) {
        batch->cap = batch->cap ? batch->cap * 2 : 1024;
        batch->items = mem_realloc(batch->items, (size_t)batch->cap * sizeof batch->items[0]);
    }
    if (batch->bytes_len + code->code_len > batch->bytes_cap) {
        size_t cap = batch->bytes_cap ? batch->bytes_cap : 16384;
        while (cap < batch->bytes_len + code->code_len)
            cap *= 2;
        char *bytes = mem_alloc(cap);
        if (batch->bytes_len > 0) memcpy(bytes, batch->bytes, batch->bytes_len);
        if (batch->bytes != 0) sodium_memzero(batch->bytes, batch->bytes_cap);
        free(batch->bytes);
        batch->bytes = bytes;
        batch->bytes_cap = cap;
    }
    struct import_item *item = &batch->items[batch->count++];
    item->offset = batch->bytes_len;
    item->len = code->code_len;
    item->expires_at = code->expires_at;
    memcpy(batch->bytes + batch->bytes_len, code->code, code->code_len);
    batch->bytes_len += code->code_len;
}

void import_batch_clear(struct import_batch *batch) {
    verify(batch != 0);
    if (batch->bytes != 0) sodium_memzero(batch->bytes, batch->bytes_len);
    batch->bytes_len = 0;
    batch->count = 0;
}

void import_batch_free(struct import_batch *batch) {
    verify(batch != 0);
    import_batch_clear(batch);
    free(batch->bytes);
    free(batch->items);
    memset(batch, 0, sizeof *batch);
}
