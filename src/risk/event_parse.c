/* event_parse.c — one JSON event object to a struct risk_event in a single pass, without
 * allocating. Strict JSON (RFC 8259): valid UTF-8, no control characters in strings, no
 * trailing bytes, no duplicate known fields; unknown fields of any JSON type are skipped
 * (nesting bounded by LIMIT_RISK_JSON_DEPTH, with an explicit stack: no recursion).
 * Messages name fields and rules, never values. Fuzzed by tests/fuzz/fuzz_risk_event.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "risk/event.h"

struct scan {
    const char *p, *end;
    char *message;
    size_t message_size;
};

static enum status scan_fail(struct scan *s, enum status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status scan_fail(struct scan *s, enum status status, const char *fmt, ...) {
    if (s->message != 0 && s->message_size > 0) {
        va_list args;
        va_start(args, fmt);
        (void)vsnprintf(s->message, s->message_size, fmt, args);
        va_end(args);
    }
    return status;
}

static void scan_ws(struct scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool scan_peek(struct scan *s, char c) { return s->p < s->end && *s->p == c; }

static int scan_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool scan_hex4(struct scan *s, uint32_t *out) {
    if (s->end - s->p < 4) return false;
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = scan_hex(s->p[i]);
        if (digit < 0) return false;
        value = value << 4 | (uint32_t)digit;
    }
    s->p += 4;
    *out = value;
    return true;
}

/* Bytes that end a run of plain string content: the quote, the backslash, controls. */
static const bool scan_special[256] = {
    [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,   [6] = 1,    [7] = 1,  [8] = 1,
    [9] = 1,  [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1,  [15] = 1,   [16] = 1, [17] = 1,
    [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1,  [24] = 1,   [25] = 1, [26] = 1,
    [27] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1, ['"'] = 1, ['\\'] = 1,
};

/* Appends n bytes to out (capacity cap, NUL kept); false when they do not fit. */
static bool scan_put(char *out, size_t cap, size_t *len, const char *bytes, size_t n) {
    if (out == 0) {
        *len += n;
        return true;
    }
    if (*len + n >= cap) return false;
    memcpy(out + *len, bytes, n);
    *len += n;
    out[*len] = 0;
    return true;
}

/* One escape after the backslash: the decoded UTF-8 bytes into utf8, their count. */
static int scan_escape(struct scan *s, char utf8[4]) {
    if (s->p >= s->end) return -1;
    char c = *s->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c != 0 ? strchr(from, c) : 0;
    if (hit != 0) { /* a one-character escape */
        utf8[0] = to[hit - from];
        return 1;
    }
    if (c != 'u') return -1;
    uint32_t cp = 0;
    if (!scan_hex4(s, &cp)) return -1;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate */
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low = 0;
        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') return -1;
        s->p += 2;
        if (!scan_hex4(s, &low) || low < 0xDC00 || low > 0xDFFF) return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp == 0) return -1; /* NUL cannot live in a C string */
    if (cp < 0x80) {
        utf8[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        utf8[0] = (char)(0xC0 | cp >> 6);
        utf8[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        utf8[0] = (char)(0xE0 | cp >> 12);
        utf8[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        utf8[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    utf8[0] = (char)(0xF0 | cp >> 18);
    utf8[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    utf8[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    utf8[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at s->p (which is '"'), decoded into out (cap bytes with the NUL); out NULL
 * only checks it. STATUS_INVALID_JSON when malformed, STATUS_INVALID_VALUE when longer than
 * cap - 1 bytes (s->p is then undefined). The input is already valid UTF-8. */
static enum status scan_string(struct scan *s, char *out, size_t cap, size_t *len_out) {
    verify(scan_peek(s, '"'));
    s->p++;
    size_t len = 0;
    if (out != 0) out[0] = 0;
    for (;;) {
        const char *run = s->p;
        while (s->p < s->end && !scan_special[(unsigned char)*s->p])
            s->p++;
        if (!scan_put(out, cap, &len, run, (size_t)(s->p - run))) return STATUS_INVALID_VALUE;
        if (s->p >= s->end || (unsigned char)*s->p < 0x20) return STATUS_INVALID_JSON;
        if (*s->p == '"') break;
        s->p++; /* the backslash */
        char utf8[4];
        int n = scan_escape(s, utf8);
        if (n < 0) return STATUS_INVALID_JSON;
        if (!scan_put(out, cap, &len, utf8, (size_t)n)) return STATUS_INVALID_VALUE;
    }
    s->p++; /* the closing quote */
    if (len_out != 0) *len_out = len;
    return STATUS_OK;
}

/* A number's text at s->p, checked against the JSON grammar. */
static bool scan_number(struct scan *s, const char **start, size_t *len, bool *integer) {
    const char *p = s->p;
    *start = p;
    *integer = true;
    if (p < s->end && *p == '-') p++;
    if (p >= s->end) return false;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return false;
    }
    if (p < s->end && *p == '.') {
        *integer = false;
        p++;
        const char *digits = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits) return false;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        *integer = false;
        p++;
        if (p < s->end && (*p == '+' || *p == '-')) p++;
        const char *digits = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits) return false;
    }
    *len = (size_t)(p - *start);
    s->p = p;
    return true;
}

static bool scan_literal(struct scan *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return false;
    s->p += n;
    return true;
}

/* Skips one JSON value of any kind, containers with an explicit stack. */
static enum status scan_skip(struct scan *s) {
    char stack[LIMIT_RISK_JSON_DEPTH];
    int depth = 0;
    enum { WANT_VALUE, WANT_KEY, AFTER_VALUE } state = WANT_VALUE;
    for (;;) {
        scan_ws(s);
        if (s->p >= s->end) return STATUS_INVALID_JSON;
        char c = *s->p;
        if (state == WANT_KEY) {
            if (c != '"' || scan_string(s, 0, 0, 0) != STATUS_OK) return STATUS_INVALID_JSON;
            scan_ws(s);
            if (!scan_peek(s, ':')) return STATUS_INVALID_JSON;
            s->p++;
            state = WANT_VALUE;
        } else if (state == WANT_VALUE) {
            state = AFTER_VALUE;
            if (c == '{' || c == '[') {
                if (depth == LIMIT_RISK_JSON_DEPTH) return STATUS_INVALID_JSON;
                stack[depth++] = c;
                s->p++;
                scan_ws(s);
                if (scan_peek(s, c == '{' ? '}' : ']')) {
                    s->p++;
                    depth--;
                } else {
                    state = c == '{' ? WANT_KEY : WANT_VALUE;
                }
            } else if (c == '"') {
                if (scan_string(s, 0, 0, 0) != STATUS_OK) return STATUS_INVALID_JSON;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                const char *start;
                size_t len;
                bool integer;
                if (!scan_number(s, &start, &len, &integer)) return STATUS_INVALID_JSON;
            } else if (!scan_literal(s, "true") && !scan_literal(s, "false") &&
                       !scan_literal(s, "null")) {
                return STATUS_INVALID_JSON;
            }
        } else {
            if (depth == 0) return STATUS_OK;
            char top = stack[depth - 1];
            if (c == ',') {
                s->p++;
                state = top == '{' ? WANT_KEY : WANT_VALUE;
            } else if ((c == '}' && top == '{') || (c == ']' && top == '[')) {
                s->p++;
                depth--;
            } else {
                return STATUS_INVALID_JSON;
            }
        }
    }
}

static bool text_clean(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) return false;
    }
    return true;
}

/* A string value (or null: absent) into out; cap includes the NUL. */
static enum status scan_text_field(struct scan *s, const char *name, char *out, size_t cap,
                                   bool allow_null) {
    if (allow_null && scan_literal(s, "null")) {
        out[0] = 0;
        return STATUS_OK;
    }
    if (!scan_peek(s, '"')) {
        return scan_fail(s, STATUS_INVALID_FIELD, "field '%s' must be a string%s", name,
                         allow_null ? " or null" : "");
    }
    size_t len = 0;
    enum status status = scan_string(s, out, cap, &len);
    if (status == STATUS_INVALID_VALUE) {
        return scan_fail(s, status, "field '%s' is longer than %zu bytes", name, cap - 1);
    }
    if (status != STATUS_OK) return scan_fail(s, status, "field '%s': malformed string", name);
    if (!text_clean(out, len)) {
        return scan_fail(s, STATUS_INVALID_VALUE, "field '%s' holds a control character", name);
    }
    return STATUS_OK;
}

/* A finite number into *out (attrs). */
static enum status scan_double(struct scan *s, const char *name, double *out) {
    const char *start;
    size_t len;
    bool integer;
    if (!scan_number(s, &start, &len, &integer)) {
        return scan_fail(s, STATUS_INVALID_JSON, "attr '%s': malformed number", name);
    }
    char copy[64];
    if (len >= sizeof copy) {
        return scan_fail(s, STATUS_INVALID_VALUE, "attr '%s': number too long", name);
    }
    memcpy(copy, start, len);
    copy[len] = 0;
    double value = strtod(copy, 0);
    if (!isfinite(value)) {
        return scan_fail(s, STATUS_INVALID_VALUE, "attr '%s' is not a finite number", name);
    }
    *out = value;
    return STATUS_OK;
}

static enum status scan_attr_value(struct scan *s, struct risk_attr *attr) {
    if (scan_peek(s, '"')) {
        attr->is_number = false;
        return scan_text_field(s, "attrs", attr->text, sizeof attr->text, false);
    }
    attr->is_number = true;
    if (scan_literal(s, "true")) {
        attr->number = 1;
        return STATUS_OK;
    }
    if (scan_literal(s, "false")) {
        attr->number = 0;
        return STATUS_OK;
    }
    if (scan_peek(s, '-') || (s->p < s->end && *s->p >= '0' && *s->p <= '9')) {
        return scan_double(s, attr->name, &attr->number);
    }
    return scan_fail(s, STATUS_INVALID_FIELD,
                     "attrs values must be strings, numbers or booleans (attr '%s')", attr->name);
}

static enum status scan_attrs(struct scan *s, struct risk_event *event) {
    if (scan_literal(s, "null")) return STATUS_OK;
    if (!scan_peek(s, '{')) return scan_fail(s, STATUS_INVALID_FIELD, "attrs must be an object");
    s->p++;
    scan_ws(s);
    if (scan_peek(s, '}')) {
        s->p++;
        return STATUS_OK;
    }
    for (;;) {
        scan_ws(s);
        if (!scan_peek(s, '"')) return scan_fail(s, STATUS_INVALID_JSON, "attrs: expected a name");
        char name[LIMIT_RISK_ATTR_NAME_BYTES + 1];
        size_t name_len = 0;
        enum status status = scan_string(s, name, sizeof name, &name_len);
        if (status == STATUS_INVALID_VALUE) {
            return scan_fail(s, status, "an attr name is longer than %d bytes",
                             LIMIT_RISK_ATTR_NAME_BYTES);
        }
        if (status != STATUS_OK) return scan_fail(s, status, "attrs: malformed name");
        if (name_len == 0 || !text_clean(name, name_len)) {
            return scan_fail(s, STATUS_INVALID_VALUE, "attr names must be printable, not empty");
        }
        scan_ws(s);
        if (!scan_peek(s, ':')) return scan_fail(s, STATUS_INVALID_JSON, "attrs: expected ':'");
        s->p++;
        scan_ws(s);
        if (scan_literal(s, "null")) {
            /* a null attr is an absent attr */
        } else {
            if (risk_event_attr(event, name, name_len) != 0) {
                return scan_fail(s, STATUS_INVALID_JSON, "attr '%s' appears twice", name);
            }
            if (event->attr_count == LIMIT_RISK_ATTRS) {
                return scan_fail(s, STATUS_INVALID_VALUE, "more than %d attrs", LIMIT_RISK_ATTRS);
            }
            struct risk_attr *attr = &event->attrs[event->attr_count];
            memcpy(attr->name, name, name_len + 1);
            status = scan_attr_value(s, attr);
            if (status != STATUS_OK) return status;
            event->attr_count++;
        }
        scan_ws(s);
        if (scan_peek(s, ',')) {
            s->p++;
            continue;
        }
        if (scan_peek(s, '}')) {
            s->p++;
            return STATUS_OK;
        }
        return scan_fail(s, STATUS_INVALID_JSON, "attrs: expected ',' or '}'");
    }
}

static enum status scan_amount(struct scan *s, struct risk_event *event) {
    if (scan_literal(s, "null")) return STATUS_OK;
    const char *start;
    size_t len;
    bool integer;
    if (!scan_number(s, &start, &len, &integer)) {
        return scan_fail(s, STATUS_INVALID_FIELD, "field 'amount' must be a number or null");
    }
    int64_t value = 0;
    if (!integer || start[0] == '-' || text_parse_int(start, len, &value) != STATUS_OK ||
        value > LIMIT_AMOUNT_MINOR) {
        return scan_fail(s, STATUS_INVALID_VALUE,
                         "field 'amount' must be a whole number of minor units, 0 to %lld",
                         (long long)LIMIT_AMOUNT_MINOR);
    }
    event->has_amount = true;
    event->amount = value;
    return STATUS_OK;
}

static enum status scan_label(struct scan *s, struct risk_event *event) {
    if (scan_literal(s, "null")) return STATUS_OK;
    if (scan_literal(s, "true") || scan_literal(s, "1")) {
        event->label = 1;
    } else if (scan_literal(s, "false") || scan_literal(s, "0")) {
        event->label = 0;
    } else {
        return scan_fail(s, STATUS_INVALID_FIELD, "field 'label' must be 0, 1 or null");
    }
    /* "10" or "1.5" would have matched a prefix */
    if (s->p < s->end &&
        ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' || *s->p == 'e' || *s->p == 'E')) {
        return scan_fail(s, STATUS_INVALID_FIELD, "field 'label' must be 0, 1 or null");
    }
    return STATUS_OK;
}

enum known_key { KEY_ID, KEY_TYPE, KEY_TIME, KEY_AMOUNT, KEY_ATTRS, KEY_LABEL, KEY_FIELD0 };

/* Known keys by their first letter and length first: a line has a dozen keys. */
static int scan_key_index(const char *key, size_t len) {
    static const struct {
        const char *name;
        int index;
    } keys[] = {
        {"id", KEY_ID},
        {"ip", KEY_FIELD0 + RISK_FIELD_IP},
        {"type", KEY_TYPE},
        {"time", KEY_TIME},
        {"user", KEY_FIELD0 + RISK_FIELD_USER},
        {"amount", KEY_AMOUNT},
        {"attrs", KEY_ATTRS},
        {"label", KEY_LABEL},
        {"liquidity", KEY_FIELD0 + RISK_FIELD_LIQUIDITY},
        {"device", KEY_FIELD0 + RISK_FIELD_DEVICE},
        {"currency", KEY_FIELD0 + RISK_FIELD_CURRENCY},
        {"counterparty", KEY_FIELD0 + RISK_FIELD_COUNTERPARTY},
        {"sku", KEY_FIELD0 + RISK_FIELD_SKU},
        {"payment", KEY_FIELD0 + RISK_FIELD_PAYMENT},
        {"payout_account", KEY_FIELD0 + RISK_FIELD_PAYOUT_ACCOUNT},
    };
    if (len < 2) return -1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *name = keys[i].name;
        if (name[0] == key[0] && name[1] == key[1] && strlen(name) == len &&
            memcmp(name, key, len) == 0) {
            return keys[i].index;
        }
    }
    return -1;
}

static enum status scan_member(struct scan *s, struct risk_event *event, int key) {
    char text[LIMIT_RISK_TEXT_BYTES + 1];
    enum status status = STATUS_OK;
    switch (key) {
    case KEY_ID:
        status = scan_text_field(s, "id", event->id, sizeof event->id, false);
        if (status == STATUS_OK && event->id[0] == 0) {
            status = scan_fail(s, STATUS_INVALID_VALUE, "field 'id' must not be empty");
        }
        return status;
    case KEY_TYPE:
        status = scan_text_field(s, "type", text, sizeof text, false);
        if (status == STATUS_OK && !risk_type_parse(text, strlen(text), &event->type)) {
            status = scan_fail(s, STATUS_INVALID_VALUE,
                               "field 'type' must be signup, login, order, payment, refund, "
                               "redemption, withdrawal or transfer");
        }
        return status;
    case KEY_TIME:
        status = scan_text_field(s, "time", text, sizeof text, false);
        if (status == STATUS_OK &&
            text_parse_rfc3339(text, strlen(text), &event->time_s) != STATUS_OK) {
            status = scan_fail(s, STATUS_INVALID_VALUE,
                               "field 'time' must be an RFC 3339 time such as "
                               "2015-04-18T02:47:00Z (years 1970-2105)");
        }
        return status;
    case KEY_AMOUNT:
        return scan_amount(s, event);
    case KEY_ATTRS:
        return scan_attrs(s, event);
    case KEY_LABEL:
        return scan_label(s, event);
    default:
        break;
    }
    int field = key - KEY_FIELD0;
    verify(field >= 0 && field < RISK_FIELD_COUNT);
    return scan_text_field(s, risk_field_name((enum risk_field)field), event->fields[field],
                           sizeof event->fields[field], true);
}

static enum status scan_object(struct scan *s, struct risk_event *event) {
    uint32_t seen = 0;
    _Static_assert(KEY_FIELD0 + RISK_FIELD_COUNT <= 32, "seen is a 32-bit mask");
    scan_ws(s);
    if (!scan_peek(s, '{')) return scan_fail(s, STATUS_INVALID_JSON, "an event is a JSON object");
    s->p++;
    scan_ws(s);
    bool empty = scan_peek(s, '}');
    if (empty) s->p++;
    while (!empty) {
        scan_ws(s);
        if (!scan_peek(s, '"')) return scan_fail(s, STATUS_INVALID_JSON, "expected a field name");
        const char *key_start = s->p;
        char key[32];
        size_t key_len = 0;
        enum status status = scan_string(s, key, sizeof key, &key_len);
        int index = -1;
        if (status == STATUS_INVALID_VALUE) { /* too long to be a known key: check it again */
            s->p = key_start;
            status = scan_string(s, 0, 0, 0);
        } else if (status == STATUS_OK) {
            index = scan_key_index(key, key_len);
        }
        if (status != STATUS_OK) return scan_fail(s, STATUS_INVALID_JSON, "malformed field name");
        scan_ws(s);
        if (!scan_peek(s, ':')) return scan_fail(s, STATUS_INVALID_JSON, "expected ':'");
        s->p++;
        scan_ws(s);
        if (index < 0) {
            status = scan_skip(s);
            if (status != STATUS_OK) return scan_fail(s, status, "malformed value");
        } else {
            if (seen & (1u << index)) {
                return scan_fail(s, STATUS_INVALID_JSON, "field '%s' appears twice", key);
            }
            seen |= 1u << index;
            status = scan_member(s, event, index);
            if (status != STATUS_OK) return status;
        }
        scan_ws(s);
        if (scan_peek(s, ',')) {
            s->p++;
            continue;
        }
        if (scan_peek(s, '}')) {
            s->p++;
            break;
        }
        return scan_fail(s, STATUS_INVALID_JSON, "expected ',' or '}'");
    }
    static const char *const required[] = {"id", "type", "time"};
    for (int i = 0; i < 3; i++) {
        if ((seen & (1u << i)) == 0) {
            return scan_fail(s, STATUS_INVALID_FIELD, "field '%s' is required", required[i]);
        }
    }
    if (event->fields[RISK_FIELD_USER][0] == 0) {
        return scan_fail(s, STATUS_INVALID_FIELD, "field 'user' is required");
    }
    return STATUS_OK;
}

enum status risk_event_parse(const char *text, size_t len, struct risk_event *event, char *message,
                             size_t message_size) {
    verify(text != 0 || len == 0);
    verify(event != 0);
    if (message != 0 && message_size > 0) message[0] = 0;
    struct scan s = {text, text + len, message, message_size};
    risk_event_init(event);
    if (len > LIMIT_RISK_EVENT_BYTES) {
        return scan_fail(&s, STATUS_BODY_TOO_LARGE, "an event is longer than %d bytes",
                         LIMIT_RISK_EVENT_BYTES);
    }
    if (!text_utf8_valid(text, len)) return scan_fail(&s, STATUS_INVALID_JSON, "not UTF-8");
    enum status status = scan_object(&s, event);
    if (status == STATUS_OK) {
        scan_ws(&s);
        if (s.p != s.end) status = scan_fail(&s, STATUS_INVALID_JSON, "bytes after the object");
    }
    if (status == STATUS_OK && event->id[0] == 0) {
        status = scan_fail(&s, STATUS_INVALID_FIELD, "field 'id' is required");
    }
    if (status != STATUS_OK) risk_event_init(event);
    return status;
}
