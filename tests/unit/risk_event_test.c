/* risk_event_test.c — the event format: the example line of the specification, every
 * field, unknown fields of every JSON type skipped, the canonical form read back to the
 * same event, RFC 3339 times, and a table of malformed lines that must each fail with a
 * message that names the field but never echoes the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "risk/event.h"

static enum status parse(const char *line, struct risk_event *event, char *message) {
    return risk_event_parse(line, strlen(line), event, message, 200);
}

static void the_specification_example_parses(void **state) {
    (void)state;
    const char *line =
        "{\"id\":\"e1\",\"type\":\"order\",\"time\":\"2015-04-18T02:47:00Z\",\"user\":\"u22058\","
        "\"device\":\"QVPSPJ\",\"ip\":\"43.172.0.80\",\"amount\":3400,\"currency\":\"CNY\","
        "\"sku\":\"JD-E100\",\"payment\":\"wallet\",\"liquidity\":\"high\",\"counterparty\":null,"
        "\"payout_account\":null,\"attrs\":{\"source\":\"SEO\",\"browser\":\"Chrome\",\"age\":39},"
        "\"label\":0}";
    struct risk_event event;
    char message[200];
    assert_int_equal(parse(line, &event, message), STATUS_OK);
    assert_string_equal(event.id, "e1");
    assert_int_equal(event.type, RISK_ORDER);
    assert_int_equal(event.time_s, 1429325220);
    assert_string_equal(event.fields[RISK_FIELD_USER], "u22058");
    assert_string_equal(event.fields[RISK_FIELD_DEVICE], "QVPSPJ");
    assert_string_equal(event.fields[RISK_FIELD_IP], "43.172.0.80");
    assert_string_equal(event.fields[RISK_FIELD_SKU], "JD-E100");
    assert_string_equal(event.fields[RISK_FIELD_LIQUIDITY], "high");
    assert_string_equal(event.fields[RISK_FIELD_COUNTERPARTY], "");
    assert_true(event.has_amount);
    assert_int_equal(event.amount, 3400);
    assert_int_equal(event.attr_count, 3);
    const struct risk_attr *age = risk_event_attr(&event, "age", 3);
    assert_non_null(age);
    assert_true(age->is_number);
    assert_true(age->number == 39.0);
    const struct risk_attr *source = risk_event_attr(&event, "source", 6);
    assert_non_null(source);
    assert_false(source->is_number);
    assert_string_equal(source->text, "SEO");
    assert_int_equal(event.label, 0);
    assert_true(risk_type_decidable(event.type));
}

static void unknown_fields_of_any_type_are_skipped(void **state) {
    (void)state;
    const char *line = " { \"extra\" : {\"a\":[1,2,{\"b\":[true,false,null,\"x\\\"y\"]}],\"c\":{}},"
                       "\"id\":\"e2\",\"more\":[],\"type\":\"signup\",\"n\":-1.5e3,"
                       "\"time\":\"2015-01-01T00:00:00Z\",\"user\":\"u1\",\"z\":\"\\u00e9\"} ";
    struct risk_event event;
    char message[200];
    assert_int_equal(parse(line, &event, message), STATUS_OK);
    assert_int_equal(event.type, RISK_SIGNUP);
    assert_false(risk_type_decidable(event.type));
    assert_false(event.has_amount);
    assert_int_equal(event.label, -1);
}

static void escapes_decode_to_utf8(void **state) {
    (void)state;
    const char *line =
        "{\"id\":\"e3\",\"type\":\"login\",\"time\":\"2015-01-01T00:00:00Z\","
        "\"user\":\"\\u5f20\\u4e09\",\"device\":\"\\ud83d\\ude00\",\"ip\":\"a\\/b\"}";
    struct risk_event event;
    char message[200];
    assert_int_equal(parse(line, &event, message), STATUS_OK);
    assert_string_equal(event.fields[RISK_FIELD_USER], "\xe5\xbc\xa0\xe4\xb8\x89");
    assert_string_equal(event.fields[RISK_FIELD_DEVICE], "\xf0\x9f\x98\x80");
    assert_string_equal(event.fields[RISK_FIELD_IP], "a/b");
}

/* A blank event of type, with an id, a time and the user alice. */
static void event_of_alice(struct risk_event *event, enum risk_type type, const char *id) {
    risk_event_init(event);
    (void)text_copy(event->id, sizeof event->id, id);
    event->type = type;
    event->time_s = 1800000000;
    (void)text_copy(event->fields[RISK_FIELD_USER], sizeof event->fields[0], "alice");
}

/* event written as canonical JSON, then parsed back into again. */
static void write_and_read_back(const struct risk_event *event, struct risk_event *again) {
    struct buf out;
    buf_init(&out, 1 << 16);
    assert_int_equal(risk_event_append_json(&out, event), STATUS_OK);
    char message[200];
    assert_int_equal(risk_event_parse(out.data, out.len, again, message, sizeof message),
                     STATUS_OK);
    buf_free(&out);
}

static void the_canonical_form_reads_back(void **state) {
    (void)state;
    struct risk_event event, again;
    event_of_alice(&event, RISK_TRANSFER, "ev-\"7\"");
    (void)text_copy(event.fields[RISK_FIELD_COUNTERPARTY], sizeof event.fields[0], "bob\\");
    event.has_amount = true;
    event.amount = 123456;
    event.attr_count = 2;
    (void)text_copy(event.attrs[0].name, sizeof event.attrs[0].name, "score");
    event.attrs[0].is_number = true;
    event.attrs[0].number = 0.1;
    (void)text_copy(event.attrs[1].name, sizeof event.attrs[1].name, "channel");
    event.attrs[1].is_number = false;
    (void)text_copy(event.attrs[1].text, sizeof event.attrs[1].text, "app");
    event.label = 1;
    write_and_read_back(&event, &again);
    assert_string_equal(again.id, event.id);
    assert_int_equal(again.type, RISK_TRANSFER);
    assert_int_equal(again.time_s, event.time_s);
    assert_string_equal(again.fields[RISK_FIELD_COUNTERPARTY], "bob\\");
    assert_int_equal(again.amount, 123456);
    assert_true(again.attrs[0].number == 0.1); /* %.17g round-trips */
    assert_string_equal(again.attrs[1].text, "app");
    assert_int_equal(again.label, 1);
}

/* Found by fuzz_risk_event: a number past int64 was converted to int64 (undefined) before
 * the range check that sends it to %.17g. Each reads back as itself. */
static void numbers_past_int64_read_back(void **state) {
    (void)state;
    const double numbers[] = {5.5e44,
                              -1e300,
                              9223372036854775808.0,
                              -9223372036854775809.0,
                              9007199254740992.0,
                              -9007199254740991.0,
                              1e-300};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        struct risk_event event, again;
        event_of_alice(&event, RISK_ORDER, "e1");
        event.attr_count = 1;
        (void)text_copy(event.attrs[0].name, sizeof event.attrs[0].name, "x");
        event.attrs[0].is_number = true;
        event.attrs[0].number = numbers[i];
        write_and_read_back(&event, &again);
        if (again.attrs[0].number != numbers[i])
            fail_msg("%.17g read back as %.17g", numbers[i], again.attrs[0].number);
    }
}

static void rfc3339_times(void **state) {
    (void)state;
    int64_t t = 0;
    assert_int_equal(text_parse_rfc3339("1970-01-01T00:00:00Z", 20, &t), STATUS_OK);
    assert_int_equal(t, 0);
    assert_int_equal(text_parse_rfc3339("2015-04-18T10:47:00+08:00", 25, &t), STATUS_OK);
    assert_int_equal(t, 1429325220);
    assert_int_equal(text_parse_rfc3339("2015-04-18t02:47:00.999z", 24, &t), STATUS_OK);
    assert_int_equal(t, 1429325220);
    assert_int_equal(text_parse_rfc3339("2024-02-29T00:00:00Z", 20, &t), STATUS_OK);
    assert_int_equal(t, 1709164800);
    assert_int_equal(text_unix_seconds(2000, 3, 1, 0, 0, 0), 951868800);
    const char *bad[] = {
        "2023-02-29T00:00:00Z",     "2015-13-01T00:00:00Z",  "2015-04-31T00:00:00Z",
        "2015-04-18T24:00:00Z",     "2015-04-18T02:47:00",   "2015-04-18 02:47Z",
        "1969-12-31T23:59:59Z",     "2015-04-18T02:47:00.Z", "2106-01-01T00:00:00Z",
        "2015-04-18T02:47:00+8:00", "20150418T024700Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (text_parse_rfc3339(bad[i], strlen(bad[i]), &t) == STATUS_OK) fail_msg("%s", bad[i]);
    }
}

struct bad_line {
    const char *line;
    enum status status;
    const char *message_part; /* must appear in the message */
};

#define HEAD "\"id\":\"e\",\"type\":\"order\",\"time\":\"2015-01-01T00:00:00Z\",\"user\":\"u\""

static void malformed_lines_are_refused(void **state) {
    (void)state;
    const struct bad_line bad[] = {
        {"", STATUS_INVALID_JSON, "object"},
        {"[]", STATUS_INVALID_JSON, "object"},
        {"{}", STATUS_INVALID_FIELD, "'id' is required"},
        {"{" HEAD "", STATUS_INVALID_JSON, "expected"},
        {"{" HEAD "} x", STATUS_INVALID_JSON, "after the object"},
        {"{" HEAD ",}", STATUS_INVALID_JSON, "field name"},
        {"{\"type\":\"order\",\"time\":\"2015-01-01T00:00:00Z\",\"user\":\"u\"}",
         STATUS_INVALID_FIELD, "'id' is required"},
        {"{\"id\":\"e\",\"type\":\"order\",\"time\":\"2015-01-01T00:00:00Z\"}",
         STATUS_INVALID_FIELD, "'user' is required"},
        {"{\"id\":\"e\",\"type\":\"order\",\"time\":\"2015-01-01T00:00:00Z\",\"user\":null}",
         STATUS_INVALID_FIELD, "'user' is required"},
        {"{\"id\":\"e\",\"type\":\"purchase\",\"time\":\"2015-01-01T00:00:00Z\",\"user\":\"u\"}",
         STATUS_INVALID_VALUE, "'type'"},
        {"{\"id\":\"e\",\"type\":\"order\",\"time\":\"yesterday-secret\",\"user\":\"u\"}",
         STATUS_INVALID_VALUE, "'time'"},
        {"{" HEAD ",\"id\":\"f\"}", STATUS_INVALID_JSON, "twice"},
        {"{" HEAD ",\"amount\":-5}", STATUS_INVALID_VALUE, "'amount'"},
        {"{" HEAD ",\"amount\":1.5}", STATUS_INVALID_VALUE, "'amount'"},
        {"{" HEAD ",\"amount\":1e3}", STATUS_INVALID_VALUE, "'amount'"},
        {"{" HEAD ",\"amount\":99999999999999999999}", STATUS_INVALID_VALUE, "'amount'"},
        {"{" HEAD ",\"amount\":\"34\"}", STATUS_INVALID_FIELD, "'amount'"},
        {"{" HEAD ",\"amount\":01}", STATUS_INVALID_JSON, "expected"},
        {"{" HEAD ",\"label\":2}", STATUS_INVALID_FIELD, "'label'"},
        {"{" HEAD ",\"label\":10}", STATUS_INVALID_FIELD, "'label'"},
        {"{" HEAD ",\"device\":7}", STATUS_INVALID_FIELD, "'device'"},
        {"{" HEAD ",\"device\":\"a\\u0000b\"}", STATUS_INVALID_JSON, "'device'"},
        {"{" HEAD ",\"device\":\"a\\tb\"}", STATUS_INVALID_VALUE, "control"},
        {"{" HEAD ",\"device\":\"\\ud800\"}", STATUS_INVALID_JSON, "'device'"},
        {"{" HEAD ",\"device\":\"\\udc00x\"}", STATUS_INVALID_JSON, "'device'"},
        {"{" HEAD ",\"device\":\"\\x41\"}", STATUS_INVALID_JSON, "'device'"},
        {"{" HEAD ",\"device\":\"raw\ttab\"}", STATUS_INVALID_JSON, "'device'"},
        {"{" HEAD ",\"device\":\"\xff\xfe\"}", STATUS_INVALID_JSON, "UTF-8"},
        {"{" HEAD ",\"attrs\":[1]}", STATUS_INVALID_FIELD, "attrs"},
        {"{" HEAD ",\"attrs\":{\"a\":1,\"a\":2}}", STATUS_INVALID_JSON, "twice"},
        {"{" HEAD ",\"attrs\":{\"a\":[1]}}", STATUS_INVALID_FIELD, "attrs values"},
        {"{" HEAD ",\"attrs\":{\"a\":1e999}}", STATUS_INVALID_VALUE, "finite"},
        {"{" HEAD ",\"attrs\":{\"\":1}}", STATUS_INVALID_VALUE, "attr names"},
        {"{" HEAD ",\"attrs\":{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}}", STATUS_INVALID_VALUE,
         "longer"},
        {"{" HEAD ",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", STATUS_INVALID_JSON,
         "malformed"},
        {"{" HEAD ",\"x\":[1,]}", STATUS_INVALID_JSON, "malformed"},
        {"{" HEAD ",\"x\":{\"a\"}}", STATUS_INVALID_JSON, "malformed"},
        {"{" HEAD ",\"x\":tru}", STATUS_INVALID_JSON, "malformed"},
        {"{" HEAD ",\"x\":-}", STATUS_INVALID_JSON, "malformed"},
        {"{" HEAD ",\"x\":NaN}", STATUS_INVALID_JSON, "malformed"},
        {"{" HEAD ",\"x\":\"unterminated}", STATUS_INVALID_JSON, "malformed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct risk_event event;
        char message[200];
        enum status status = parse(bad[i].line, &event, message);
        if (status != bad[i].status || strstr(message, bad[i].message_part) == 0) {
            fail_msg("line %zu: status %d (%s), want %d with '%s'", i, status, message,
                     bad[i].status, bad[i].message_part);
        }
        if (strstr(message, "secret") != 0) fail_msg("line %zu echoes its value", i);
        assert_string_equal(event.id, ""); /* nothing half-parsed is left */
    }
    /* A huge attribute string, and a line over the limit. */
    char line[LIMIT_RISK_EVENT_BYTES + 64];
    int n = snprintf(line, sizeof line, "{" HEAD ",\"attrs\":{\"a\":\"");
    memset(line + n, 'x', 200);
    snprintf(line + n + 200, sizeof line - (size_t)n - 200, "\"}}");
    struct risk_event event;
    char message[200];
    assert_int_equal(parse(line, &event, message), STATUS_INVALID_VALUE);
    memset(line, ' ', sizeof line);
    assert_int_equal(risk_event_parse(line, LIMIT_RISK_EVENT_BYTES + 1, &event, message, 200),
                     STATUS_BODY_TOO_LARGE);
}

static void too_many_attrs(void **state) {
    (void)state;
    char line[4096];
    int n = snprintf(line, sizeof line, "{" HEAD ",\"attrs\":{");
    for (int i = 0; i <= LIMIT_RISK_ATTRS; i++) {
        n += snprintf(line + n, sizeof line - (size_t)n, "%s\"a%d\":%d", i ? "," : "", i, i);
    }
    snprintf(line + n, sizeof line - (size_t)n, "}}");
    struct risk_event event;
    char message[200];
    assert_int_equal(parse(line, &event, message), STATUS_INVALID_VALUE);
    assert_non_null(strstr(message, "attrs"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_specification_example_parses),
        cmocka_unit_test(unknown_fields_of_any_type_are_skipped),
        cmocka_unit_test(escapes_decode_to_utf8),
        cmocka_unit_test(the_canonical_form_reads_back),
        cmocka_unit_test(numbers_past_int64_read_back),
        cmocka_unit_test(rfc3339_times),
        cmocka_unit_test(malformed_lines_are_refused),
        cmocka_unit_test(too_many_attrs),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
