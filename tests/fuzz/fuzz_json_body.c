/* fuzz_json_body.c — libFuzzer harness for request-body parsing: json_parse_fields with the
 * order and product field sets, and json_append_string's output read back by jansson.
 * Invariants: a success fills every required field within its limits; a failure leaves
 * no root and a message that never repeats a string value from the body. */
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/text.h"
#include "http/json.h"

/* Every message json_parse_fields can write for the two field sets, joined: a string
 * value may appear in a message only as part of one of these (a field name, a limit). */
static char fuzz_messages[8192];

static void fuzz_messages_add(const struct json_field *fields, int count) {
    static const char *const fixed =
        "duplicate key in object|a number is too large|the body is not UTF-8|"
        "the body is not valid JSON|the body must be a JSON object|unknown field|";
    size_t used = strlen(fuzz_messages);
    if (used == 0) used = (size_t)snprintf(fuzz_messages, sizeof fuzz_messages, "%s", fixed);
    for (int i = 0; i < count; i++) {
        int n = snprintf(fuzz_messages + used, sizeof fuzz_messages - used,
                         "field '%s' must be an integer|field '%s' must be a string|"
                         "field '%s' must be 1 to %zu bytes of printable UTF-8|"
                         "field '%s' is required|",
                         fields[i].name, fields[i].name, fields[i].name, fields[i].max_bytes,
                         fields[i].name);
        verify(n > 0 && (size_t)n < sizeof fuzz_messages - used);
        used += (size_t)n;
    }
}

/* A string value that shows up in the message must be message text, not body data. */
static void fuzz_check_message(const char *body, size_t len, const char *message) {
    json_error_t error;
    json_t *object = json_loadb(body, len, JSON_DECODE_ANY, &error);
    if (object == 0) return;
    if (json_is_object(object)) {
        const char *key = 0;
        json_t *value = 0;
        json_object_foreach(object, key, value) {
            if (!json_is_string(value) || json_string_length(value) < 4) continue;
            const char *text = json_string_value(value);
            if (strlen(text) != json_string_length(value)) continue;
            if (strstr(message, text) != 0) verify(strstr(fuzz_messages, text) != 0);
        }
    }
    json_decref(object);
}

static void fuzz_check_string(const char *text, const struct json_field *field) {
    verify(text != 0);
    size_t len = strlen(text);
    verify(len > 0 && len <= field->max_bytes);
    verify(text_printable(text, len));
}

static enum status fuzz_fields(const char *body, size_t len, struct json_field *fields, int count) {
    json_t *root = (json_t *)fields; /* must be overwritten */
    char message[256];
    enum status status =
        json_parse_fields(body, len, fields, count, &root, message, sizeof message);
    verify(memchr(message, 0, sizeof message) != 0);
    if (status != STATUS_OK) {
        verify(root == 0);
        verify(message[0] != 0);
        verify(status == STATUS_INVALID_JSON || status == STATUS_INVALID_FIELD ||
               status == STATUS_INVALID_VALUE || status == STATUS_OVERFLOW);
        fuzz_check_message(body, len, message);
        return status;
    }
    verify(root != 0 && json_is_object(root));
    for (int i = 0; i < count; i++) {
        if (fields[i].kind != JSON_FIELD_STRING) continue;
        if (fields[i].required) verify(*fields[i].string != 0);
        if (*fields[i].string != 0) fuzz_check_string(*fields[i].string, &fields[i]);
    }
    json_decref(root);
    return STATUS_OK;
}

static void fuzz_order(const char *body, size_t len) {
    const char *sku = 0;
    int64_t quantity = 0;
    struct json_field fields[] = {
        {"sku", JSON_FIELD_STRING, true, LIMIT_SKU_BYTES, &sku, 0, 0, 0},
        {"quantity", JSON_FIELD_INT, true, 0, 0, &quantity, 0, 0},
    };
    if (fuzz_messages[0] == 0 || strstr(fuzz_messages, "'quantity'") == 0) {
        fuzz_messages_add(fields, 2);
    }
    if (fuzz_fields(body, len, fields, 2) == STATUS_OK) verify(sku != 0);
}

static void fuzz_product(const char *body, size_t len) {
    const char *sku = 0, *name = 0, *currency = 0, *liquidity = 0;
    int64_t face_value = 0, price = 0;
    bool currency_given = false;
    struct json_field fields[] = {
        {"sku", JSON_FIELD_STRING, true, LIMIT_SKU_BYTES, &sku, 0, 0, 0},
        {"name", JSON_FIELD_STRING, true, LIMIT_NAME_BYTES, &name, 0, 0, 0},
        {"face_value", JSON_FIELD_INT, true, 0, 0, &face_value, 0, 0},
        {"price", JSON_FIELD_INT, true, 0, 0, &price, 0, 0},
        {"currency", JSON_FIELD_STRING, false, 3, &currency, 0, &currency_given, 0},
        {"liquidity", JSON_FIELD_STRING, true, 4, &liquidity, 0, 0, 0},
    };
    if (strstr(fuzz_messages, "'liquidity'") == 0) fuzz_messages_add(fields, 6);
    if (fuzz_fields(body, len, fields, 6) == STATUS_OK) {
        verify(currency_given == (currency != 0));
        verify(sku != 0 && name != 0 && liquidity != 0);
    }
}

/* What json_append_string writes is a JSON string that reads back to the input. */
static void fuzz_append(const char *data, size_t size) {
    char *text = malloc(size + 1);
    verify(text != 0);
    memcpy(text, data, size);
    text[size] = 0;
    struct buf out;
    buf_init(&out, 8 * size + 16);
    verify(json_append_string(&out, text) == STATUS_OK);
    verify(out.len >= 2 && out.data[0] == '"' && out.data[out.len - 1] == '"');
    size_t text_len = strlen(text);
    if (text_utf8_valid(text, text_len)) {
        json_error_t error;
        json_t *back = json_loadb(out.data, out.len, JSON_DECODE_ANY, &error);
        verify(back != 0 && json_is_string(back));
        verify(json_string_length(back) == text_len);
        verify(memcmp(json_string_value(back), text, text_len) == 0);
        json_decref(back);
    }
    buf_free(&out);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *body = (const char *)data;
    fuzz_order(body, size);
    fuzz_product(body, size);
    fuzz_append(body, size);
    return 0;
}
