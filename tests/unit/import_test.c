/* import_test.c — card-code import parsing: one line at a time (text and CSV), and the
 * streaming parser, which must give identical results for every way the same bytes are
 * split across feeds. Rejected lines are counted, never echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "domain/import.h"

#define NOW 1800000000LL /* 2027-01-15 */

static enum status parse(const char *line, bool csv, struct import_code *out) {
    return import_parse_line(line, strlen(line), csv, NOW, out);
}

static void assert_code(const char *line, bool csv, const char *want, int64_t expires_at) {
    struct import_code code;
    memset(&code, 0x55, sizeof code);
    enum status status = parse(line, csv, &code);
    if (status != STATUS_OK) fail_msg("line %s: status %d", csv ? "csv" : "text", status);
    assert_int_equal(code.code_len, strlen(want));
    assert_string_equal(code.code, want);
    assert_int_equal(code.expires_at, expires_at);
}

static void assert_rejected(const char *line, bool csv) {
    struct import_code code;
    assert_int_equal(parse(line, csv, &code), STATUS_INVALID_VALUE);
}

static void text_lines_are_trimmed(void **state) {
    assert_code("ABC-123", false, "ABC-123", 0);
    assert_code("  ABC-123\t ", false, "ABC-123", 0);
    assert_code("ABC-123\r", false, "ABC-123", 0); /* CRLF files */
    assert_code("ABC 123", false, "ABC 123", 0);   /* inner spaces are part of the code */
    assert_code("\xE5\x8D\xA1\xE5\xAF\x86-9", false, "\xE5\x8D\xA1\xE5\xAF\x86-9", 0);
    assert_code("a,b,c", false, "a,b,c", 0); /* commas mean nothing in text mode */
    assert_code("\"quoted\"", false, "\"quoted\"", 0);
}

static void text_lines_rejected(void **state) {
    assert_rejected("", false);
    assert_rejected("   ", false);
    assert_rejected("\r", false);
    assert_rejected(" \t\r", false);
    assert_rejected("AB\tCD", false); /* tab inside */
    assert_rejected("AB\x01"
                    "CD",
                    false);
    assert_rejected("AB\x1b[0m", false); /* terminal escape */
    assert_rejected("AB\x7f", false);
    assert_rejected("AB\rCD", false);   /* a CR inside the line */
    assert_rejected("\xC0\xAF", false); /* overlong UTF-8 */
    assert_rejected("AB\xFF", false);
    assert_rejected("\xED\xA0\x80", false); /* surrogate */
    struct import_code code;
    assert_int_equal(import_parse_line("AB\0CD", 5, false, NOW, &code), STATUS_INVALID_VALUE);
}

static void code_length_limit(void **state) {
    char line[LIMIT_CODE_BYTES + 8];
    memset(line, 'K', LIMIT_CODE_BYTES);
    line[LIMIT_CODE_BYTES] = 0;
    struct import_code code;
    assert_int_equal(parse(line, false, &code), STATUS_OK);
    assert_int_equal(code.code_len, LIMIT_CODE_BYTES);
    assert_int_equal(parse(line, true, &code), STATUS_OK);
    assert_int_equal(code.code_len, LIMIT_CODE_BYTES);
    line[LIMIT_CODE_BYTES] = 'K';
    line[LIMIT_CODE_BYTES + 1] = 0;
    assert_rejected(line, false);
    assert_rejected(line, true);
    /* Surrounding spaces do not count against the limit. */
    char padded[LIMIT_CODE_BYTES + 8];
    padded[0] = ' ';
    memset(padded + 1, 'K', LIMIT_CODE_BYTES);
    padded[LIMIT_CODE_BYTES + 1] = ' ';
    padded[LIMIT_CODE_BYTES + 2] = 0;
    assert_int_equal(parse(padded, false, &code), STATUS_OK);
    assert_int_equal(code.code_len, LIMIT_CODE_BYTES);
}

static void csv_fields_and_quotes(void **state) {
    assert_code("ABC-1", true, "ABC-1", 0);
    assert_code("ABC-1,", true, "ABC-1", 0); /* an empty expiry */
    assert_code("ABC-1, ", true, "ABC-1", 0);
    assert_code(" ABC-1 ,2030-01-01", true, "ABC-1", 1893456000);
    assert_code("\"ABC-1\"", true, "ABC-1", 0);
    assert_code("\"A,B\",2030-01-01", true, "A,B", 1893456000);
    assert_code("\"A\"\"B\"", true, "A\"B", 0);
    assert_code("\"\"\"AB\"\"\"", true, "\"AB\"", 0);
    assert_code("\"A\"\"\"\"B\",", true, "A\"\"B", 0);
    assert_code("ABC-1,\"2030-01-01\"", true, "ABC-1", 1893456000);
    assert_code("\"ABC-1\",\"2030-01-01\"", true, "ABC-1", 1893456000);
}

static void csv_malformed_quotes_rejected(void **state) {
    assert_rejected("\"ABC", true);     /* unterminated */
    assert_rejected("\"ABC\"\"", true); /* an escaped quote, then the end */
    assert_rejected("\"ABC\"x", true);  /* text after the closing quote */
    assert_rejected("\"ABC\" ,2030-01-01", true);
    assert_rejected("AB\"C", true); /* a quote inside a bare field */
    assert_rejected("ABC,20\"30", true);
    assert_rejected("\"\"", true);        /* an empty quoted code */
    assert_rejected(",2030-01-01", true); /* an empty code */
    assert_rejected(" ,2030-01-01", true);
    assert_rejected("\"A\tB\"", true); /* quoting does not admit control characters */
    assert_rejected("\"A\x01"
                    "B\"",
                    true);
}

static void csv_crlf_lines(void **state) {
    assert_code("ABC-1\r", true, "ABC-1", 0);
    assert_code("ABC-1,2030-01-01\r", true, "ABC-1", 1893456000);
    assert_code("ABC-1,\r", true, "ABC-1", 0);
    /* A quoted last field followed by the CR of a CRLF line ending. */
    assert_code("\"ABC-1\"\r", true, "ABC-1", 0);
    assert_code("ABC-1,\"2030-01-01\"\r", true, "ABC-1", 1893456000);
    assert_code("\"A,B\",\"2030-01-01\"\r", true, "A,B", 1893456000);
}

static void csv_a_third_column_is_rejected(void **state) {
    assert_rejected("ABC-1,2030-01-01,x", true);
    assert_rejected("ABC-1,2030-01-01,", true); /* an empty third column is still one */
    assert_rejected("ABC-1,,", true);
    assert_rejected("ABC-1,,x", true);
    assert_rejected("\"ABC-1\",\"2030-01-01\",", true);
    assert_rejected("ABC-1,\"2030-01-01\",\"\"", true);
}

static void csv_expiry_forms(void **state) {
    assert_code("A,2030-01-01", true, "A", 1893456000);
    assert_code("A,2030-01-01T12:34:56Z", true, "A", 1893501296);
    assert_code("A,1893456000", true, "A", 1893456000);
    assert_code("A, 2030-01-01 ", true, "A", 1893456000);
    char line[64];
    snprintf(line, sizeof line, "A,%lld", NOW + 1);
    assert_code(line, true, "A", NOW + 1);
    snprintf(line, sizeof line, "A,%lld", NOW); /* expiring now is expired */
    assert_rejected(line, true);
    assert_rejected("A,2020-01-01", true); /* already expired */
    assert_rejected("A,0", true);
    assert_rejected("A,2030-02-30", true); /* no such day */
    assert_rejected("A,2030-01-01T00:00:00", true);
    assert_rejected("A,soon", true);
    assert_rejected("A,-1", true);
    char long_expiry[128];
    memset(long_expiry, '1', sizeof long_expiry);
    long_expiry[0] = 'A';
    long_expiry[1] = ',';
    long_expiry[sizeof long_expiry - 1] = 0;
    assert_rejected(long_expiry, true);
}

static void csv_header_row(void **state) {
    struct import_code code;
    assert_int_equal(parse("code,expires_at", true, &code), STATUS_NOT_FOUND);
    assert_int_equal(parse("code,expires_at\r", true, &code), STATUS_NOT_FOUND);
    assert_int_equal(parse("\"code\",\"expires_at\"", true, &code), STATUS_NOT_FOUND);
    assert_int_equal(parse("code, expires_at", true, &code), STATUS_NOT_FOUND);
    assert_code("code,expires_at", false, "code,expires_at", 0); /* text mode has no header */
    assert_rejected("code,expires", true);
    assert_rejected("Code,expires_at", true);
    /* A NUL inside the first field makes this no header: it is a rejected line. */
    assert_int_equal(import_parse_line("code\0X,expires_at", 17, true, NOW, &code),
                     STATUS_INVALID_VALUE);
}

/* ---- the streaming parser ---- */

#define MAX_SEEN 64

struct seen {
    int count;
    struct import_code codes[MAX_SEEN];
    int stop_after; /* 0: never stop */
};

static enum status seen_code(void *context, const struct import_code *code) {
    struct seen *seen = context;
    assert_true(seen->count < MAX_SEEN);
    seen->codes[seen->count++] = *code;
    if (seen->stop_after > 0 && seen->count == seen->stop_after) return STATUS_TOO_MANY_CODES;
    return STATUS_OK;
}

struct outcome {
    struct seen seen;
    int64_t rejected;
    int64_t lines;
    enum status status;
};

/* Feeds input in pieces whose lengths come from cuts (ascending offsets). */
static void run_cuts(const char *input, size_t len, bool csv, const size_t *cuts, int cut_count,
                     struct outcome *out) {
    memset(out, 0, sizeof *out);
    struct import_parser parser;
    import_parser_init(&parser, csv, NOW, seen_code, &out->seen);
    size_t at = 0;
    out->status = STATUS_OK;
    for (int i = 0; i <= cut_count && out->status == STATUS_OK; i++) {
        size_t end = i < cut_count ? cuts[i] : len;
        assert_true(end >= at && end <= len);
        out->status = import_parser_feed(&parser, input + at, end - at);
        at = end;
    }
    if (out->status == STATUS_OK) out->status = import_parser_finish(&parser);
    out->rejected = parser.rejected;
    out->lines = parser.line_number;
}

static void assert_same_outcome(const struct outcome *a, const struct outcome *b, const char *how,
                                size_t where) {
    if (a->status != b->status || a->rejected != b->rejected || a->lines != b->lines ||
        a->seen.count != b->seen.count) {
        fail_msg("%s at %zu: status %d/%d rejected %lld/%lld lines %lld/%lld codes %d/%d", how,
                 where, a->status, b->status, (long long)a->rejected, (long long)b->rejected,
                 (long long)a->lines, (long long)b->lines, a->seen.count, b->seen.count);
    }
    for (int i = 0; i < a->seen.count; i++) {
        const struct import_code *x = &a->seen.codes[i], *y = &b->seen.codes[i];
        if (x->code_len != y->code_len || memcmp(x->code, y->code, x->code_len) != 0 ||
            x->expires_at != y->expires_at) {
            fail_msg("%s at %zu: code %d differs", how, where, i);
        }
    }
}

/* Every chunking gives the whole-input result: one cut anywhere, two cuts at many places,
 * one-byte feeds, and seeded random chunkings. */
static void assert_chunking_invariant(const char *input, size_t len, bool csv,
                                      const struct outcome *whole) {
    struct outcome got;
    for (size_t cut = 0; cut <= len; cut++) {
        run_cuts(input, len, csv, &cut, 1, &got);
        assert_same_outcome(whole, &got, "one cut", cut);
    }
    size_t step = len / 40 + 1;
    for (size_t a = 0; a <= len; a += step) {
        for (size_t b = a; b <= len; b += step) {
            size_t cuts[2] = {a, b};
            run_cuts(input, len, csv, cuts, 2, &got);
            assert_same_outcome(whole, &got, "two cuts", a * 100000 + b);
        }
    }
    size_t *bytes = malloc((len + 1) * sizeof *bytes);
    assert_non_null(bytes);
    for (size_t i = 0; i < len; i++)
        bytes[i] = i + 1;
    run_cuts(input, len, csv, bytes, (int)(len ? len - 1 : 0), &got);
    assert_same_outcome(whole, &got, "one-byte feeds", 0);
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        int count = 0;
        size_t at = 0;
        while (at < len) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 97;
            if (at < len) bytes[count++] = at;
        }
        run_cuts(input, len, csv, bytes, count, &got);
        assert_same_outcome(whole, &got, "random", (size_t)round);
    }
    free(bytes);
}

static void text_stream(void **state) {
    const char input[] = "AAA-1\r\nBBB-2\n\n  CCC-3  \r\n\r\nBAD\x01LINE\nDDD-4";
    struct outcome whole;
    run_cuts(input, sizeof input - 1, false, 0, 0, &whole);
    assert_int_equal(whole.status, STATUS_OK);
    assert_int_equal(whole.seen.count, 4);
    assert_string_equal(whole.seen.codes[0].code, "AAA-1");
    assert_string_equal(whole.seen.codes[1].code, "BBB-2");
    assert_string_equal(whole.seen.codes[2].code, "CCC-3");
    assert_string_equal(whole.seen.codes[3].code, "DDD-4"); /* the last line has no newline */
    assert_int_equal(whole.rejected, 3); /* two empty lines and the control character */
    assert_int_equal(whole.lines, 7);
    assert_chunking_invariant(input, sizeof input - 1, false, &whole);
}

static void csv_stream(void **state) {
    const char input[] = "code,expires_at\r\n"
                         "\"A,1\",2030-01-01\r\n"
                         "B-2,\r\n"
                         "code,expires_at\r\n" /* a header past line 1 is a bad line */
                         "C-3,2020-01-01\n"    /* expired */
                         "\"D\"\"4\",1893456000\n"
                         "E-5,2030-01-01,extra\n"
                         "F-6,\"2030-01-01T00:00:00Z\"\r\n";
    struct outcome whole;
    run_cuts(input, sizeof input - 1, true, 0, 0, &whole);
    assert_int_equal(whole.status, STATUS_OK);
    assert_int_equal(whole.seen.count, 4);
    assert_string_equal(whole.seen.codes[0].code, "A,1");
    assert_int_equal(whole.seen.codes[0].expires_at, 1893456000);
    assert_string_equal(whole.seen.codes[1].code, "B-2");
    assert_int_equal(whole.seen.codes[1].expires_at, 0);
    assert_string_equal(whole.seen.codes[2].code, "D\"4");
    assert_string_equal(whole.seen.codes[3].code, "F-6");
    assert_int_equal(whole.seen.codes[3].expires_at, 1893456000);
    assert_int_equal(whole.rejected, 3);
    assert_int_equal(whole.lines, 8);
    assert_chunking_invariant(input, sizeof input - 1, true, &whole);
}

static void header_only_on_line_one(void **state) {
    const char input[] = "X-1\ncode,expires_at\n";
    struct outcome whole;
    run_cuts(input, sizeof input - 1, true, 0, 0, &whole);
    assert_int_equal(whole.seen.count, 1);
    assert_int_equal(whole.rejected, 1);
    const char empty_first[] = "\ncode,expires_at\nX-1\n";
    run_cuts(empty_first, sizeof empty_first - 1, true, 0, 0, &whole);
    assert_int_equal(whole.seen.count, 1);
    assert_int_equal(whole.rejected, 2);
}

/* Builds: a line of exactly LIMIT_IMPORT_LINE_BYTES (spaces around a maximal code, so it is
 * accepted), a line one byte over (rejected, though it trims to a valid code), a very long
 * line, then a good line. */
static size_t build_long_lines(char *input, size_t cap) {
    size_t at = 0;
    size_t pad = LIMIT_IMPORT_LINE_BYTES - LIMIT_CODE_BYTES;
    assert_true(cap > 2 * LIMIT_IMPORT_LINE_BYTES + 5000);
    memset(input + at, ' ', pad);
    at += pad;
    memset(input + at, 'L', LIMIT_CODE_BYTES);
    at += LIMIT_CODE_BYTES;
    input[at++] = '\n';
    memset(input + at, ' ', pad + 1);
    at += pad + 1;
    memset(input + at, 'M', LIMIT_CODE_BYTES);
    at += LIMIT_CODE_BYTES;
    input[at++] = '\n';
    memset(input + at, 'N', 3000);
    at += 3000;
    input[at++] = '\n';
    memcpy(input + at, "OK-1", 4);
    at += 4;
    return at;
}

static void overlong_lines_are_rejected_in_any_chunking(void **state) {
    static char input[8192];
    size_t len = build_long_lines(input, sizeof input);
    for (int csv = 0; csv <= 1; csv++) {
        struct outcome whole;
        run_cuts(input, len, csv, 0, 0, &whole);
        assert_int_equal(whole.status, STATUS_OK);
        assert_int_equal(whole.seen.count, 2);
        assert_int_equal(whole.seen.codes[0].code_len, LIMIT_CODE_BYTES);
        assert_int_equal(whole.seen.codes[0].code[0], 'L');
        assert_string_equal(whole.seen.codes[1].code, "OK-1");
        assert_int_equal(whole.rejected, 2);
        assert_int_equal(whole.lines, 4);
        assert_chunking_invariant(input, len, csv, &whole);
    }
    /* An overlong last line without a newline is rejected too. */
    struct outcome tail;
    run_cuts(input + LIMIT_IMPORT_LINE_BYTES + 1, LIMIT_IMPORT_LINE_BYTES + 1, false, 0, 0, &tail);
    assert_int_equal(tail.seen.count, 0);
    assert_int_equal(tail.rejected, 1);
}

static void empty_input_and_trailing_newline(void **state) {
    struct outcome out;
    run_cuts("", 0, false, 0, 0, &out);
    assert_int_equal(out.status, STATUS_OK);
    assert_int_equal(out.seen.count, 0);
    assert_int_equal(out.rejected, 0);
    run_cuts("A\n", 2, false, 0, 0, &out);
    assert_int_equal(out.seen.count, 1);
    assert_int_equal(out.rejected, 0); /* the final newline ends the line; no empty line after */
    assert_int_equal(out.lines, 1);
    run_cuts("A\n\n", 3, false, 0, 0, &out);
    assert_int_equal(out.rejected, 1);
}

static void a_callback_can_stop_the_parse(void **state) {
    struct outcome out;
    memset(&out, 0, sizeof out);
    out.seen.stop_after = 2;
    struct import_parser parser;
    import_parser_init(&parser, false, NOW, seen_code, &out.seen);
    const char input[] = "A\nB\nC\nD\n";
    assert_int_equal(import_parser_feed(&parser, input, sizeof input - 1), STATUS_TOO_MANY_CODES);
    assert_int_equal(out.seen.count, 2);
}

/* ---- import_batch ---- */

static void batch_add_and_clear(void **state) {
    struct import_batch batch;
    import_batch_init(&batch);
    assert_int_equal(batch.count, 0);
    struct import_code code = {.expires_at = 0};
    for (int i = 0; i < 5000; i++) {
        code.code_len =
            (size_t)snprintf(code.code, sizeof code.code, "CODE-%d-%0*d", i, i % 200, 0);
        code.expires_at = i % 3 ? 0 : 1893456000 + i;
        import_batch_add(&batch, &code);
    }
    assert_int_equal(batch.count, 5000);
    assert_true(batch.bytes_len > 16384); /* the byte array grew past its first size */
    size_t offset = 0;
    for (int i = 0; i < 5000; i++) {
        char want[LIMIT_CODE_BYTES + 1];
        size_t want_len = (size_t)snprintf(want, sizeof want, "CODE-%d-%0*d", i, i % 200, 0);
        const struct import_item *item = &batch.items[i];
        assert_int_equal(item->offset, offset);
        assert_int_equal(item->len, want_len);
        assert_true(memcmp(batch.bytes + item->offset, want, want_len) == 0);
        assert_int_equal(item->expires_at, i % 3 ? 0 : 1893456000 + i);
        offset += want_len;
    }
    assert_int_equal(batch.bytes_len, offset);

    size_t used = batch.bytes_len;
    char *bytes = batch.bytes;
    import_batch_clear(&batch);
    assert_int_equal(batch.count, 0);
    assert_int_equal(batch.bytes_len, 0);
    for (size_t i = 0; i < used; i++) {
        if (bytes[i] != 0) fail_msg("byte %zu survived import_batch_clear", i);
    }
    /* A cleared batch is reused from the start. */
    code.code_len = (size_t)snprintf(code.code, sizeof code.code, "AGAIN");
    import_batch_add(&batch, &code);
    assert_int_equal(batch.count, 1);
    assert_int_equal(batch.items[0].offset, 0);
    assert_true(memcmp(batch.bytes, "AGAIN", 5) == 0);
    import_batch_free(&batch);
    assert_null(batch.bytes);
    assert_null(batch.items);
    assert_int_equal(batch.count, 0);
}

static void batch_takes_maximal_codes(void **state) {
    struct import_batch batch;
    import_batch_init(&batch);
    struct import_code code = {.expires_at = 0};
    memset(code.code, 'Z', LIMIT_CODE_BYTES);
    code.code[LIMIT_CODE_BYTES] = 0;
    code.code_len = LIMIT_CODE_BYTES;
    for (int i = 0; i < 200; i++)
        import_batch_add(&batch, &code);
    assert_int_equal(batch.bytes_len, 200 * LIMIT_CODE_BYTES);
    assert_int_equal(batch.items[199].offset, 199 * LIMIT_CODE_BYTES);
    assert_int_equal(batch.bytes[batch.bytes_len - 1], 'Z');
    import_batch_free(&batch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_lines_are_trimmed),
        cmocka_unit_test(text_lines_rejected),
        cmocka_unit_test(code_length_limit),
        cmocka_unit_test(csv_fields_and_quotes),
        cmocka_unit_test(csv_malformed_quotes_rejected),
        cmocka_unit_test(csv_crlf_lines),
        cmocka_unit_test(csv_a_third_column_is_rejected),
        cmocka_unit_test(csv_expiry_forms),
        cmocka_unit_test(csv_header_row),
        cmocka_unit_test(text_stream),
        cmocka_unit_test(csv_stream),
        cmocka_unit_test(header_only_on_line_one),
        cmocka_unit_test(overlong_lines_are_rejected_in_any_chunking),
        cmocka_unit_test(empty_input_and_trailing_newline),
        cmocka_unit_test(a_callback_can_stop_the_parse),
        cmocka_unit_test(batch_add_and_clear),
        cmocka_unit_test(batch_takes_maximal_codes),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
