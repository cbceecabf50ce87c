/* json_test.c — strict request bodies: duplicate keys, unknown fields, wrong types, missing
 * and null fields, int64 overflow, floats where integers belong, invalid UTF-8, non-object
 * bodies and over-long strings each fail with their own status, and the message names the
 * field but never repeats the value. Also json_append_string's escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "http/json.h"

/* The order body: {"sku": string ≤ LIMIT_SKU_BYTES, "quantity": int} plus an optional note. */
struct order_body {
    const char *sku;
    int64_t quantity;
    const char *note;
    bool note_present;
    struct json_field fields[3];
};

static void order_fields(struct order_body *body) {
    memset(body, 0, sizeof *body);
    body->quantity = -999;
    struct json_field fields[3] = {
        {"sku", JSON_FIELD_STRING, true, LIMIT_SKU_BYTES, &body->sku, 0, 0, 0},
        {"quantity", JSON_FIELD_INT, true, 0, 0, &body->quantity, 0, 0},
        {"note", JSON_FIELD_STRING, false, 8, &body->note, 0, &body->note_present, 0},
    };
    memcpy(body->fields, fields, sizeof fields);
}

struct parsed {
    enum status status;
    char message[256];
    json_t *root;
};

static struct parsed parse_order(const char *text, size_t len, struct order_body *body) {
    struct parsed out;
    order_fields(body);
    out.root = (json_t *)&out; /* must be replaced: NULL on failure */
    memset(out.message, 'x', sizeof out.message);
    out.status =
        json_parse_fields(text, len, body->fields, 3, &out.root, out.message, sizeof out.message);
    assert_non_null(memchr(out.message, 0, sizeof out.message));
    if (out.status != STATUS_OK) {
        assert_null(out.root);
        assert_true(out.message[0] != 0);
    } else {
        assert_non_null(out.root);
    }
    return out;
}

#define PARSE(literal, body) parse_order(literal, sizeof(literal) - 1, body)

/* Fails when text is rejected with another status, or the message repeats secret. */
static void expect(const char *text, size_t len, enum status want, const char *secret) {
    struct order_body body;
    struct parsed got = parse_order(text, len, &body);
    if (got.status != want) {
        fail_msg("status %d, wanted %d, for a %zu-byte body", got.status, want, len);
    }
    if (secret != 0 && strstr(got.message, secret) != 0) fail_msg("message repeats the value");
    json_decref(got.root);
}

#define EXPECT(literal, want, secret) expect(literal, sizeof(literal) - 1, want, secret)

static void a_valid_body(void **state) {
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"JD-E100\",\"quantity\":3}", &body);
    assert_int_equal(got.status, STATUS_OK);
    assert_string_equal(body.sku, "JD-E100");
    assert_int_equal(body.quantity, 3);
    assert_null(body.note);
    assert_false(body.note_present);
    json_decref(got.root);

    got = PARSE(" {\"quantity\": -5 , \"note\":\"hi\", \"sku\":\"\xE5\x8D\xA1\"}\n", &body);
    assert_int_equal(got.status, STATUS_OK);
    assert_int_equal(body.quantity, -5); /* range is the handler's business */
    assert_string_equal(body.sku, "\xE5\x8D\xA1");
    assert_string_equal(body.note, "hi");
    assert_true(body.note_present);
    json_decref(got.root);
}

static void duplicate_keys(void **state) {
    EXPECT("{\"sku\":\"A\",\"sku\":\"SECRET-DUP\",\"quantity\":1}", STATUS_INVALID_JSON,
           "SECRET-DUP");
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"quantity\":1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"x\":{\"k\":1,\"k\":2}}", STATUS_INVALID_JSON, 0);
    /* Escapes do not hide a duplicate. */
    EXPECT("{\"sku\":\"A\",\"s\\u006bu\":\"B\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"A\",\"sku\":\"B\",\"quantity\":1}", &body);
    assert_string_equal(got.message, "duplicate key in object");
}

static void unknown_fields(void **state) {
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"price\":1}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"SECRET-KEY-NAME\":\"SECRET-VAL\"}",
           STATUS_INVALID_FIELD, "SECRET-VAL");
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"Sku\":\"A\"}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"\":1}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"sku\\u0000\":1}", STATUS_INVALID_JSON, 0);
}

static void wrong_types(void **state) {
    EXPECT("{\"sku\":\"A\",\"quantity\":\"3\"}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":true}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":[1]}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":{\"n\":1}}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":12345,\"quantity\":1}", STATUS_INVALID_FIELD, "12345");
    EXPECT("{\"sku\":[\"SECRET-IN-ARRAY\"],\"quantity\":1}", STATUS_INVALID_FIELD,
           "SECRET-IN-ARRAY");
    EXPECT("{\"sku\":false,\"quantity\":1}", STATUS_INVALID_FIELD, 0);
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"A\",\"quantity\":\"3\"}", &body);
    assert_non_null(strstr(got.message, "quantity"));
    assert_non_null(strstr(got.message, "integer"));
}

static void floats_are_not_integers(void **state) {
    EXPECT("{\"sku\":\"A\",\"quantity\":1.0}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1.5}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1e2}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":-0.0}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":9.22e18}", STATUS_INVALID_FIELD, 0);
}

static void missing_and_null_fields(void **state) {
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"A\"}", &body);
    assert_int_equal(got.status, STATUS_INVALID_FIELD);
    assert_non_null(strstr(got.message, "quantity"));
    got = PARSE("{\"quantity\":1}", &body);
    assert_int_equal(got.status, STATUS_INVALID_FIELD);
    assert_non_null(strstr(got.message, "sku"));
    EXPECT("{}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":null,\"quantity\":1}", STATUS_INVALID_FIELD, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":null}", STATUS_INVALID_FIELD, 0);
    /* An optional field given as null is absent. */
    got = PARSE("{\"sku\":\"A\",\"quantity\":1,\"note\":null}", &body);
    assert_int_equal(got.status, STATUS_OK);
    assert_false(body.note_present);
    assert_null(body.note);
    json_decref(got.root);
}

static void integers_beyond_int64_overflow(void **state) {
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"A\",\"quantity\":9223372036854775807}", &body);
    assert_int_equal(got.status, STATUS_OK);
    assert_true(body.quantity == INT64_MAX);
    json_decref(got.root);
    got = PARSE("{\"sku\":\"A\",\"quantity\":-9223372036854775808}", &body);
    assert_int_equal(got.status, STATUS_OK);
    assert_true(body.quantity == INT64_MIN);
    json_decref(got.root);
    EXPECT("{\"sku\":\"A\",\"quantity\":9223372036854775808}", STATUS_OVERFLOW,
           "9223372036854775808");
    EXPECT("{\"sku\":\"A\",\"quantity\":-9223372036854775809}", STATUS_OVERFLOW,
           "9223372036854775809");
    EXPECT("{\"sku\":\"A\",\"quantity\":18446744073709551616}", STATUS_OVERFLOW, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":123456789012345678901234567890}", STATUS_OVERFLOW,
           "1234567890123");
    EXPECT("{\"sku\":\"A\",\"quantity\":1e999}", STATUS_OVERFLOW, 0);
    /* Overflow in a field that is not wanted still stops the parse. */
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"other\":99999999999999999999}", STATUS_OVERFLOW, 0);
}

static void invalid_utf8(void **state) {
    EXPECT("{\"sku\":\"A\xFF\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"\xC0\xAF\",\"quantity\":1}", STATUS_INVALID_JSON, 0);     /* overlong */
    EXPECT("{\"sku\":\"\xED\xA0\x80\",\"quantity\":1}", STATUS_INVALID_JSON, 0); /* surrogate */
    EXPECT("{\"sku\":\"\xF4\x90\x80\x80\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"\xE2\x82\",\"quantity\":1}", STATUS_INVALID_JSON, 0); /* truncated */
    EXPECT("{\"sku\xFF\":\"A\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    /* An escaped lone surrogate is not a character either. */
    EXPECT("{\"sku\":\"\\ud800\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"\\udc00x\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"A\xFF\",\"quantity\":1}", &body);
    assert_string_equal(got.message, "the body is not UTF-8");
}

static void the_body_must_be_an_object(void **state) {
    EXPECT("[]", STATUS_INVALID_FIELD, 0);
    EXPECT("[{\"sku\":\"A\",\"quantity\":1}]", STATUS_INVALID_FIELD, 0);
    EXPECT("1", STATUS_INVALID_JSON, 0);
    EXPECT("\"SECRET-STRING\"", STATUS_INVALID_JSON, "SECRET-STRING");
    EXPECT("null", STATUS_INVALID_JSON, 0);
    EXPECT("true", STATUS_INVALID_JSON, 0);
    EXPECT("", STATUS_INVALID_JSON, 0);
    EXPECT("   ", STATUS_INVALID_JSON, 0);
    EXPECT("{", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"SECRET-UNTERMINATED", STATUS_INVALID_JSON, "SECRET-UNTERMINATED");
    EXPECT("{\"sku\":\"A\",\"quantity\":1}x", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1}{}", STATUS_INVALID_JSON, 0);
    EXPECT("{'sku':'A','quantity':1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":01}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":NaN}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"SECRET\x01TAB\",\"quantity\":1}", STATUS_INVALID_JSON, "SECRET");
    /* A NUL byte inside the body. */
    EXPECT("{\"sku\":\"A\0B\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    /* No body at all. */
    struct order_body body;
    order_fields(&body);
    char message[64];
    json_t *root = 0;
    assert_int_equal(json_parse_fields(0, 0, body.fields, 3, &root, message, sizeof message),
                     STATUS_INVALID_JSON);
    assert_null(root);
}

static void string_lengths_and_characters(void **state) {
    char text[LIMIT_SKU_BYTES * 3];
    char sku[LIMIT_SKU_BYTES + 2];
    memset(sku, 'S', sizeof sku);
    sku[LIMIT_SKU_BYTES] = 0;
    snprintf(text, sizeof text, "{\"sku\":\"%s\",\"quantity\":1}", sku);
    expect(text, strlen(text), STATUS_OK, 0);
    sku[LIMIT_SKU_BYTES] = 'S';
    sku[LIMIT_SKU_BYTES + 1] = 0;
    snprintf(text, sizeof text, "{\"sku\":\"%s\",\"quantity\":1}", sku);
    expect(text, strlen(text), STATUS_INVALID_VALUE, sku);
    /* The limit counts bytes, not characters: 22 three-byte characters are 66 bytes. */
    char wide[LIMIT_SKU_BYTES * 2];
    size_t at = 0;
    for (int i = 0; i < 22; i++) {
        memcpy(wide + at, "\xE5\x8D\xA1", 3);
        at += 3;
    }
    wide[at] = 0;
    snprintf(text, sizeof text, "{\"sku\":\"%s\",\"quantity\":1}", wide);
    expect(text, strlen(text), STATUS_INVALID_VALUE, 0);
    EXPECT("{\"sku\":\"\",\"quantity\":1}", STATUS_INVALID_VALUE, 0);
    EXPECT("{\"sku\":\"A\\tB\",\"quantity\":1}", STATUS_INVALID_VALUE, 0);
    EXPECT("{\"sku\":\"SECRET\\nLINE\",\"quantity\":1}", STATUS_INVALID_VALUE, "SECRET");
    EXPECT("{\"sku\":\"A\\u007fB\",\"quantity\":1}", STATUS_INVALID_VALUE, 0);
    EXPECT("{\"sku\":\"A\\u0000B\",\"quantity\":1}", STATUS_INVALID_JSON, 0);
    EXPECT("{\"sku\":\"A\",\"quantity\":1,\"note\":\"123456789\"}", STATUS_INVALID_VALUE,
           "123456789");
    struct order_body body;
    struct parsed got = PARSE("{\"sku\":\"\",\"quantity\":1}", &body);
    assert_non_null(strstr(got.message, "sku"));
}

static void messages_fit_a_small_buffer(void **state) {
    struct order_body body;
    order_fields(&body);
    char message[8];
    json_t *root = 0;
    assert_int_equal(json_parse_fields("{}", 2, body.fields, 3, &root, message, sizeof message),
                     STATUS_INVALID_FIELD);
    assert_true(strlen(message) < sizeof message);
}

static void append_string_escapes(void **state) {
    struct buf out;
    buf_init(&out, 4096);
    assert_int_equal(json_append_string(&out, "plain"), STATUS_OK);
    assert_string_equal(out.data, "\"plain\"");
    out.len = 0;
    assert_int_equal(json_append_string(&out, ""), STATUS_OK);
    assert_string_equal(out.data, "\"\"");
    out.len = 0;
    assert_int_equal(json_append_string(&out, "a\"b\\c\nd\re\tf\x01g\x1fh"), STATUS_OK);
    assert_string_equal(out.data, "\"a\\\"b\\\\c\\nd\\u000de\\u0009f\\u0001g\\u001fh\"");
    out.len = 0;
    assert_int_equal(json_append_string(&out, "\xE5\x8D\xA1/\x7f"), STATUS_OK);
    assert_string_equal(out.data, "\"\xE5\x8D\xA1/\x7f\"");
    /* What we write, jansson reads back to the same string. */
    const char *original = "q\"\\\n\x02 \xC3\xA9 end";
    out.len = 0;
    assert_int_equal(json_append_string(&out, original), STATUS_OK);
    json_error_t error;
    json_t *back = json_loadb(out.data, out.len, JSON_DECODE_ANY, &error);
    assert_non_null(back);
    assert_string_equal(json_string_value(back), original);
    json_decref(back);
    buf_free(&out);
}

static void append_string_respects_the_limit(void **state) {
    struct buf out;
    buf_init(&out, 8);
    assert_int_equal(json_append_string(&out, "123456"), STATUS_OK); /* 8 bytes with quotes */
    assert_int_equal(out.len, 8);
    out.len = 0;
    assert_int_equal(json_append_string(&out, "1234567"), STATUS_BODY_TOO_LARGE);
    out.len = 0;
    assert_int_equal(json_append_string(&out, "\n\n\n\n"), STATUS_BODY_TOO_LARGE);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_valid_body),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(unknown_fields),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(floats_are_not_integers),
        cmocka_unit_test(missing_and_null_fields),
        cmocka_unit_test(integers_beyond_int64_overflow),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(the_body_must_be_an_object),
        cmocka_unit_test(string_lengths_and_characters),
        cmocka_unit_test(messages_fit_a_small_buffer),
        cmocka_unit_test(append_string_escapes),
        cmocka_unit_test(append_string_respects_the_limit),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
