/* text_test.c — the UTF-8 validator, trimming and the small parsers every input path uses:
 * overlong forms, surrogates, code points past U+10FFFF, truncated sequences, calendar
 * dates that do not exist, and integers one past int64. Boundaries are tested both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/text.h"

#define UTF8(literal) text_utf8_valid(literal, sizeof(literal) - 1)

static void utf8_accepts_valid_sequences(void **state) {
    assert_true(text_utf8_valid("", 0));
    assert_true(text_utf8_valid(NULL, 0));
    assert_true(UTF8("plain ASCII 0123"));
    assert_true(UTF8("\xC2\x80"));                    /* U+0080, smallest two-byte */
    assert_true(UTF8("\xC3\xA9"));                    /* é */
    assert_true(UTF8("\xDF\xBF"));                    /* U+07FF, largest two-byte */
    assert_true(UTF8("\xE0\xA0\x80"));                /* U+0800, smallest three-byte */
    assert_true(UTF8("\xE2\x82\xAC"));                /* € */
    assert_true(UTF8("\xED\x9F\xBF"));                /* U+D7FF, just below the surrogates */
    assert_true(UTF8("\xEE\x80\x80"));                /* U+E000, just above the surrogates */
    assert_true(UTF8("\xEF\xBF\xBF"));                /* U+FFFF */
    assert_true(UTF8("\xF0\x90\x80\x80"));            /* U+10000, smallest four-byte */
    assert_true(UTF8("\xF0\x9F\x98\x80"));            /* 😀 */
    assert_true(UTF8("\xF4\x8F\xBF\xBF"));            /* U+10FFFF, the last code point */
    assert_true(UTF8("\xE5\x8D\xA1\xE5\xAF\x86-42")); /* 卡密-42 */
    assert_true(text_utf8_valid("a\0b", 3));          /* NUL is valid UTF-8 (not printable) */
}

static void utf8_rejects_overlongs(void **state) {
    assert_false(UTF8("\xC0\x80"));             /* overlong NUL */
    assert_false(UTF8("\xC0\xAF"));             /* overlong '/' */
    assert_false(UTF8("\xC1\xBF"));             /* overlong U+007F */
    assert_false(UTF8("\xE0\x80\x80"));         /* overlong NUL, three bytes */
    assert_false(UTF8("\xE0\x9F\xBF"));         /* overlong U+07FF */
    assert_false(UTF8("\xF0\x80\x80\x80"));     /* overlong NUL, four bytes */
    assert_false(UTF8("\xF0\x8F\xBF\xBF"));     /* overlong U+FFFF */
    assert_false(UTF8("\xF8\x88\x80\x80\x80")); /* five-byte forms do not exist */
    assert_false(UTF8("\xFC\x84\x80\x80\x80\x80"));
}

static void utf8_rejects_surrogates_and_beyond_unicode(void **state) {
    assert_false(UTF8("\xED\xA0\x80"));             /* U+D800 */
    assert_false(UTF8("\xED\xAF\xBF"));             /* U+DBFF */
    assert_false(UTF8("\xED\xB0\x80"));             /* U+DC00 */
    assert_false(UTF8("\xED\xBF\xBF"));             /* U+DFFF */
    assert_false(UTF8("\xED\xA0\xBD\xED\xB8\x80")); /* CESU-8 surrogate pair */
    assert_false(UTF8("\xF4\x90\x80\x80"));         /* U+110000 */
    assert_false(UTF8("\xF5\x80\x80\x80"));
    assert_false(UTF8("\xF7\xBF\xBF\xBF"));
    assert_false(UTF8("\xFE"));
    assert_false(UTF8("\xFF"));
}

static void utf8_rejects_truncated_and_stray_bytes(void **state) {
    assert_false(UTF8("\xC3"));
    assert_false(UTF8("abc\xC3"));
    assert_false(UTF8("\xE2\x82"));
    assert_false(UTF8("\xF0\x9F\x98"));
    assert_false(UTF8("\xF0\x9F"));
    assert_false(UTF8("\x80")); /* a continuation byte alone */
    assert_false(UTF8("a\xBF"
                      "b"));
    assert_false(UTF8("\xC3"
                      "A")); /* lead byte followed by ASCII */
    assert_false(UTF8("\xE2\x82"
                      "A"));
    assert_false(UTF8("\xF0\x9F\x98"
                      "A"));
    /* The length bounds the check: a valid sequence cut by len is truncated. */
    assert_false(text_utf8_valid("\xE2\x82\xAC", 2));
    assert_true(text_utf8_valid("\xE2\x82\xAC"
                                "\xFF",
                                3));
}

static void printable_rejects_control_characters(void **state) {
    assert_true(text_printable("CODE-1234 abc", 13));
    assert_true(text_printable("\xC3\xA9", 2));
    assert_true(text_printable("", 0));
    assert_false(text_printable("a\tb", 3));
    assert_false(text_printable("a\nb", 3));
    assert_false(text_printable("a\rb", 3));
    assert_false(text_printable("a\0b", 3));
    assert_false(text_printable("a\x1b[31m", 7));
    assert_false(text_printable("a\x7f", 2));
    assert_false(text_printable("a\x1f", 2));
    assert_true(text_printable("a\x20~", 3));
    assert_false(text_printable("\xC0\xAF", 2)); /* printable bytes but not UTF-8 */
}

static void trim_narrows_spaces_tabs_and_cr(void **state) {
    const char *s = " \t CODE 1 \r\t ";
    size_t len = strlen(s);
    text_trim(&s, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "CODE 1", 6);
    s = " \r\t";
    len = 3;
    text_trim(&s, &len);
    assert_int_equal(len, 0);
    s = "";
    len = 0;
    text_trim(&s, &len);
    assert_int_equal(len, 0);
    s = "\nX\n"; /* newline is not trimmed: the line splitter owns it */
    len = 3;
    text_trim(&s, &len);
    assert_int_equal(len, 3);
}

static void parse_int_bounds(void **state) {
    int64_t out = -1;
    assert_int_equal(text_parse_int("0", 1, &out), STATUS_OK);
    assert_int_equal(out, 0);
    assert_int_equal(text_parse_int("42", 2, &out), STATUS_OK);
    assert_int_equal(out, 42);
    assert_int_equal(text_parse_int("9223372036854775807", 19, &out), STATUS_OK);
    assert_true(out == INT64_MAX);
    out = 7;
    assert_int_equal(text_parse_int("9223372036854775808", 19, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("9999999999999999999", 19, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("18446744073709551616", 20, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("10000000000000000000", 20, &out), STATUS_INVALID_VALUE);
    assert_int_equal(out, 7); /* untouched on failure */
    assert_int_equal(text_parse_int("", 0, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("-1", 2, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("+1", 2, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int(" 1", 2, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("1 ", 2, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("1a", 2, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("0x10", 4, &out), STATUS_INVALID_VALUE);
    assert_int_equal(text_parse_int("1.5", 3, &out), STATUS_INVALID_VALUE);
    /* len bounds the parse: digits past it are not read */
    assert_int_equal(text_parse_int("123", 2, &out), STATUS_OK);
    assert_int_equal(out, 12);
}

#define TIME(literal, out) text_parse_time(literal, sizeof(literal) - 1, out)

static void parse_time_formats(void **state) {
    int64_t at = -1;
    assert_int_equal(TIME("2027-01-01", &at), STATUS_OK);
    assert_int_equal(at, 1798761600);
    assert_int_equal(TIME("1970-01-01", &at), STATUS_OK);
    assert_int_equal(at, 0);
    assert_int_equal(TIME("2030-01-01T12:34:56Z", &at), STATUS_OK);
    assert_int_equal(at, 1893501296);
    assert_int_equal(TIME("9999-12-31T23:59:59Z", &at), STATUS_OK);
    assert_int_equal(at, 253402300799LL);
    assert_int_equal(TIME("1893456000", &at), STATUS_OK); /* Unix seconds */
    assert_int_equal(at, 1893456000);
    assert_int_equal(TIME("0", &at), STATUS_OK);
    assert_int_equal(at, 0);
    assert_int_equal(TIME("999999999999", &at), STATUS_OK); /* 12 digits: still seconds */
    assert_int_equal(at, 999999999999LL);
}

static void parse_time_rejects_impossible_dates(void **state) {
    int64_t at = 5;
    assert_int_equal(TIME("2027-02-28", &at), STATUS_OK);
    assert_int_equal(TIME("2027-02-29", &at), STATUS_INVALID_VALUE); /* not a leap year */
    assert_int_equal(TIME("2028-02-29", &at), STATUS_OK);
    assert_int_equal(at, 1835395200);
    at = 5;
    assert_int_equal(TIME("2028-02-30", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-02-30", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-02-31", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-04-31", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2100-02-29", &at), STATUS_INVALID_VALUE); /* century rule */
    assert_int_equal(TIME("2027-02-30T00:00:00Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-00-10", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-13-01", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-00", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-32", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("1969-12-31", &at), STATUS_INVALID_VALUE);
    assert_int_equal(at, 5); /* untouched on failure */
}

static void parse_time_rejects_malformed_text(void **state) {
    int64_t at = 5;
    assert_int_equal(TIME("", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-1-01", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027/01/01", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("27-01-01", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01 ", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T00:00:00", &at), STATUS_INVALID_VALUE); /* no zone */
    assert_int_equal(TIME("2027-01-01t00:00:00Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T00:00:00z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01 00:00:00Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T00:00:00+08:00", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T00:00:00.5Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T24:00:00Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T23:60:00Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T23:59:60Z", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("2027-01-01T2:00:00ZZ", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("-1", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("+1893456000", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("1893456000.0", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("1893456000000", &at), STATUS_INVALID_VALUE); /* 13 digits */
    assert_int_equal(TIME("18934560a0", &at), STATUS_INVALID_VALUE);
    assert_int_equal(TIME("never", &at), STATUS_INVALID_VALUE);
    assert_int_equal(at, 5);
}

static void format_time_round_trips(void **state) {
    char text[21];
    text_format_time(0, text);
    assert_string_equal(text, "1970-01-01T00:00:00Z");
    text_format_time(1893501296, text);
    assert_string_equal(text, "2030-01-01T12:34:56Z");
    static const int64_t samples[] = {1, 951782400, 1835395200, 1798761599, 253402300799LL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = -1;
        text_format_time(samples[i], text);
        assert_int_equal(strlen(text), 20);
        assert_int_equal(text_parse_time(text, 20, &back), STATUS_OK);
        assert_int_equal(back, samples[i]);
    }
}

static void format_time_by_arithmetic(void **state) {
    (void)state;
    struct {
        int64_t t;
        const char *text;
    } cases[] = {{0, "1970-01-01T00:00:00Z"},
                 {951782399, "2000-02-28T23:59:59Z"},
                 {951868800, "2000-03-01T00:00:00Z"},
                 {1709164800, "2024-02-29T00:00:00Z"},
                 {2147483648LL, "2038-01-19T03:14:08Z"},
                 {4102444800LL, "2100-01-01T00:00:00Z"},
                 {4107542400LL, "2100-03-01T00:00:00Z"},
                 {253402300799LL, "9999-12-31T23:59:59Z"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[21];
        text_format_time(cases[i].t, out);
        assert_string_equal(out, cases[i].text);
        int64_t back = 0;
        if (cases[i].t <= UINT32_MAX) {
            assert_int_equal(text_parse_rfc3339(out, 20, &back), STATUS_OK);
            assert_int_equal(back, cases[i].t);
        }
    }
    /* every day of 400 years reads back */
    for (int64_t day = 0; day < 146097; day++) {
        char out[21];
        int64_t back = 0;
        text_format_time(day * 86400 + 3723, out);
        assert_int_equal(text_parse_time(out, 20, &back), STATUS_OK);
        assert_int_equal(back, day * 86400 + 3723);
    }
}

static void append_int64_edges(void **state) {
    (void)state;
    struct buf out;
    buf_init(&out, 256);
    int64_t values[] = {0, 7, -7, 1000000, INT64_MAX, INT64_MIN};
    const char *texts[] = {
        "0", "7", "-7", "1000000", "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        out.len = 0;
        assert_int_equal(text_append_int64(&out, values[i]), STATUS_OK);
        assert_int_equal(out.len, strlen(texts[i]));
        assert_memory_equal(out.data, texts[i], out.len);
    }
    buf_free(&out);
}

/* buf_printf writes into the room left when it fits, grows the buffer when it does not, and
 * refuses text past the limit leaving the buffer as it was. */
static void printf_fits_grows_and_refuses(void **state) {
    (void)state;
    struct buf out;
    buf_init(&out, 600);
    assert_int_equal(buf_printf(&out, "%s-%d", "first", 1), STATUS_OK); /* no room yet */
    assert_string_equal(out.data, "first-1");
    size_t cap = out.cap;
    assert_int_equal(buf_printf(&out, ",%lld", 42LL), STATUS_OK); /* fits: same buffer */
    assert_int_equal(out.cap, cap);
    assert_string_equal(out.data, "first-1,42");
    char wide[400];
    memset(wide, 'w', sizeof wide - 1);
    wide[sizeof wide - 1] = 0;
    assert_int_equal(buf_printf(&out, "[%s]", wide), STATUS_OK); /* grows */
    assert_true(out.cap > cap);
    assert_int_equal(out.len, strlen("first-1,42") + 2 + strlen(wide));
    assert_int_equal(out.data[out.len - 1], ']');
    size_t len = out.len;
    assert_int_equal(buf_printf(&out, "%s", wide), STATUS_BODY_TOO_LARGE); /* past 600 */
    assert_int_equal(out.len, len);
    assert_int_equal(strlen(out.data), len);
    buf_free(&out);
}

static void put_builds_and_truncates(void **state) {
    (void)state;
    char out[12];
    size_t at = text_put(out, sizeof out, 0, "ev");
    at = text_put_int64(out, sizeof out, at, -42);
    assert_string_equal(out, "ev-42");
    assert_int_equal(at, 5);
    at = text_put_int64(out, sizeof out, at, INT64_MAX); /* 19 digits: 6 fit */
    assert_int_equal(at, sizeof out - 1);
    assert_string_equal(out, "ev-42922337");
    assert_int_equal(text_put(out, sizeof out, at, "more"), sizeof out - 1);
    assert_string_equal(out, "ev-42922337");
    assert_int_equal(text_put_int64(out, sizeof out, 0, INT64_MIN), sizeof out - 1);
    assert_string_equal(out, "-9223372036");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_builds_and_truncates),
        cmocka_unit_test(printf_fits_grows_and_refuses),
        cmocka_unit_test(format_time_by_arithmetic),
        cmocka_unit_test(append_int64_edges),
        cmocka_unit_test(utf8_accepts_valid_sequences),
        cmocka_unit_test(utf8_rejects_overlongs),
        cmocka_unit_test(utf8_rejects_surrogates_and_beyond_unicode),
        cmocka_unit_test(utf8_rejects_truncated_and_stray_bytes),
        cmocka_unit_test(printable_rejects_control_characters),
        cmocka_unit_test(trim_narrows_spaces_tabs_and_cr),
        cmocka_unit_test(parse_int_bounds),
        cmocka_unit_test(parse_time_formats),
        cmocka_unit_test(parse_time_rejects_impossible_dates),
        cmocka_unit_test(parse_time_rejects_malformed_text),
        cmocka_unit_test(format_time_round_trips),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
