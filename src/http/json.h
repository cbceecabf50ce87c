/* json.h — strict JSON request bodies (through jansson) and JSON text output.
 * Input rules: valid UTF-8, no duplicate keys, an object at the top, only known fields,
 * each of the declared type; integers are int64 and never floats. */
#ifndef TESSERA_HTTP_JSON_H
#define TESSERA_HTTP_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/mem.h"
#include "base/status.h"

enum json_kind { JSON_FIELD_STRING, JSON_FIELD_INT, JSON_FIELD_OBJECT, JSON_FIELD_ARRAY };

struct json_field {
    const char *name;
    enum json_kind kind;
    bool required;
    size_t max_bytes;    /* strings: 1..max_bytes bytes, printable UTF-8 */
    const char **string; /* out for strings (points into the parsed object) */
    int64_t *integer;    /* out for integers */
    bool *present;       /* optional: set when the field was given */
    json_t **object;     /* out for objects and arrays (borrowed from the parsed root) */
};

/* Parses body into *root and fills fields. On failure *message names the field (never its
 * value) and *root is NULL. The caller json_decref()s *root after using the strings. */
must_check enum status json_parse_fields(const char *body, size_t len, struct json_field *fields,
                                         int count, json_t **root, char *message,
                                         size_t message_size);

/* The same rules for the members of an object already parsed (a nested JSON_FIELD_OBJECT);
 * the message names the object's field as "outer.name". */
must_check enum status json_take_fields(json_t *object, const char *outer,
                                        struct json_field *fields, int count, char *message,
                                        size_t message_size);

/* Appends s as a JSON string literal (quoted, escaped). */
must_check enum status json_append_string(struct buf *out, const char *s);

#endif
