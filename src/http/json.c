/* json.c — strict request-body parsing and JSON string output. Error messages name fields
 * and types only, never values (a value may be a password or a code). */
#include "http/json.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

static enum status json_syntax_status(const json_error_t *error) {
    return json_error_code(error) == json_error_numeric_overflow ? STATUS_OVERFLOW
                                                                 : STATUS_INVALID_JSON;
}

static enum status json_take(json_t *value, struct json_field *field, char *message,
                             size_t message_size) {
    if (field->kind == JSON_FIELD_INT) {
        if (!json_is_integer(value)) {
            snprintf(message, message_size, "field '%s' must be an integer", field->name);
            return STATUS_INVALID_FIELD;
        }
        *field->integer = (int64_t)json_integer_value(value);
        return STATUS_OK;
    }
    if (field->kind == JSON_FIELD_OBJECT) {
        if (!json_is_object(value)) {
            snprintf(message, message_size, "field '%s' must be an object", field->name);
            return STATUS_INVALID_FIELD;
        }
        *field->object = value;
        return STATUS_OK;
    }
    if (field->kind == JSON_FIELD_ARRAY) {
        if (!json_is_array(value)) {
            snprintf(message, message_size, "field '%s' must be an array", field->name);
            return STATUS_INVALID_FIELD;
        }
        *field->object = value;
        return STATUS_OK;
    }
    verify(field->kind == JSON_FIELD_STRING);
    if (!json_is_string(value)) {
        snprintf(message, message_size, "field '%s' must be a string", field->name);
        return STATUS_INVALID_FIELD;
    }
    size_t len = json_string_length(value);
    const char *text = json_string_value(value);
    if (len == 0 || len > field->max_bytes || !text_printable(text, len)) {
        snprintf(message, message_size, "field '%s' must be 1 to %zu bytes of printable UTF-8",
                 field->name, field->max_bytes);
        return STATUS_INVALID_VALUE;
    }
    *field->string = text;
    return STATUS_OK;
}

enum status json_parse_fields(const char *body, size_t len, struct json_field *fields, int count,
                              json_t **root, char *message, size_t message_size) {
    verify(fields != 0 && root != 0 && message != 0 && message_size > 0);
    verify(body != 0 || len == 0);
    message[0] = 0;
    *root = 0;
    json_error_t error;
    json_t *object = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &error);
    if (object == 0) {
        enum status status = json_syntax_status(&error);
        snprintf(message, message_size, "%s",
                 json_error_code(&error) == json_error_duplicate_key ? "duplicate key in object"
                 : status == STATUS_OVERFLOW                         ? "a number is too large"
                 : json_error_code(&error) == json_error_invalid_utf8
                     ? "the body is not UTF-8"
                     : "the body is not valid JSON");
        return status;
    }
    enum status status = STATUS_OK;
    if (!json_is_object(object)) {
        snprintf(message, message_size, "the body must be a JSON object");
        status = STATUS_INVALID_FIELD;
    }
    if (status == STATUS_OK)
        status = json_take_fields(object, 0, fields, count, message, message_size);
    if (status != STATUS_OK) {
        json_decref(object);
        return status;
    }
    *root = object;
    return STATUS_OK;
}

enum status json_take_fields(json_t *object, const char *outer, struct json_field *fields,
                             int count, char *message, size_t message_size) {
    verify(json_is_object(object) && fields != 0 && message != 0);
    enum status status = STATUS_OK;
    const char *key = 0;
    json_t *value = 0;
    json_object_foreach(object, key, value) {
        int k = 0;
        while (k < count && strcmp(fields[k].name, key) != 0)
            k++;
        if (k == count) {
            snprintf(message, message_size, "unknown field%s%s", outer ? " in " : "",
                     outer ? outer : "");
            return STATUS_INVALID_FIELD;
        }
    }
    char name[96];
    for (int k = 0; status == STATUS_OK && k < count; k++) {
        value = json_object_get(object, fields[k].name);
        if (fields[k].present) *fields[k].present = value != 0 && !json_is_null(value);
        if (value == 0 || json_is_null(value)) {
            if (fields[k].required) {
                snprintf(message, message_size, "field '%s%s%s' is required", outer ? outer : "",
                         outer ? "." : "", fields[k].name);
                status = STATUS_INVALID_FIELD;
            }
            continue;
        }
        struct json_field field = fields[k];
        if (outer != 0) {
            snprintf(name, sizeof name, "%s.%s", outer, fields[k].name);
            field.name = name;
        }
        status = json_take(value, &field, message, message_size);
    }
    return status;
}

enum status json_append_string(struct buf *out, const char *s) {
    return text_append_json_string(out, s);
}
