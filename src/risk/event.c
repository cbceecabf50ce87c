/* event.c — names of event types and fields, and the canonical JSON form of an event.
 * The parser is in event_parse.c. */
#include "risk/event.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

static const char *const risk_type_names[RISK_TYPE_COUNT] = {
    "signup", "login", "order", "payment", "refund", "redemption", "withdrawal", "transfer",
};

static const char *const risk_field_names[RISK_FIELD_COUNT] = {
    "user",    "device",    "ip",           "currency",       "sku",
    "payment", "liquidity", "counterparty", "payout_account",
};

const char *risk_type_name(enum risk_type type) {
    verify(type >= 0 && type < RISK_TYPE_COUNT);
    return risk_type_names[type];
}

static bool risk_name_in(const char *const *names, int count, const char *name, size_t len,
                         int *index) {
    for (int i = 0; i < count; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            *index = i;
            return true;
        }
    }
    return false;
}

bool risk_type_parse(const char *name, size_t len, enum risk_type *type) {
    verify(name != 0 && type != 0);
    int index = 0;
    if (!risk_name_in(risk_type_names, RISK_TYPE_COUNT, name, len, &index)) return false;
    *type = (enum risk_type)index;
    return true;
}

bool risk_type_decidable(enum risk_type type) {
    verify(type >= 0 && type < RISK_TYPE_COUNT);
    return type == RISK_ORDER || type == RISK_PAYMENT || type == RISK_REFUND ||
           type == RISK_WITHDRAWAL || type == RISK_TRANSFER;
}

const char *risk_field_name(enum risk_field field) {
    verify(field >= 0 && field < RISK_FIELD_COUNT);
    return risk_field_names[field];
}

bool risk_field_parse(const char *name, size_t len, enum risk_field *field) {
    verify(name != 0 && field != 0);
    int index = 0;
    if (!risk_name_in(risk_field_names, RISK_FIELD_COUNT, name, len, &index)) return false;
    *field = (enum risk_field)index;
    return true;
}

void risk_event_init(struct risk_event *event) {
    verify(event != 0);
    event->id[0] = 0;
    event->type = RISK_ORDER;
    event->time_s = 0;
    for (int i = 0; i < RISK_FIELD_COUNT; i++)
        event->fields[i][0] = 0;
    event->has_amount = false;
    event->amount = 0;
    event->attr_count = 0;
    event->label = -1;
}

const struct risk_attr *risk_event_attr(const struct risk_event *event, const char *name,
                                        size_t name_len) {
    verify(event != 0 && name != 0);
    verify(event->attr_count >= 0 && event->attr_count <= LIMIT_RISK_ATTRS);
    for (int i = 0; i < event->attr_count; i++) {
        const struct risk_attr *attr = &event->attrs[i];
        if (strlen(attr->name) == name_len && memcmp(attr->name, name, name_len) == 0) return attr;
    }
    return 0;
}

static enum status risk_append_literal(struct buf *out, const char *text) {
    return buf_append(out, text, strlen(text));
}

static enum status risk_append_key_string(struct buf *out, const char *key, const char *value) {
    enum status status = buf_append(out, ",\"", 2);
    if (status == STATUS_OK) status = risk_append_literal(out, key);
    if (status == STATUS_OK) status = buf_append(out, "\":", 2);
    if (status == STATUS_OK) {
        status = value[0] ? text_append_json_string(out, value) : buf_append(out, "null", 4);
    }
    return status;
}

/* Whole numbers (most attrs: quantities, ages) print as integers; the rest round-trip. */
static enum status risk_append_number(struct buf *out, double value) {
    verify(isfinite(value));
    if (fabs(value) < 9007199254740992.0 && value == (double)(int64_t)value) { /* 2^53 first */
        return text_append_int64(out, (int64_t)value);
    }
    return buf_printf(out, "%.17g", value);
}

enum status risk_event_append_json(struct buf *out, const struct risk_event *event) {
    verify(out != 0 && event != 0);
    char time[21];
    text_format_time(event->time_s, time);
    enum status status = buf_append(out, "{\"id\":", 6);
    if (status == STATUS_OK) status = text_append_json_string(out, event->id);
    if (status == STATUS_OK) status = buf_append(out, ",\"type\":\"", 9);
    if (status == STATUS_OK) status = risk_append_literal(out, risk_type_name(event->type));
    if (status == STATUS_OK) status = buf_append(out, "\",\"time\":\"", 10);
    if (status == STATUS_OK) status = buf_append(out, time, 20);
    if (status == STATUS_OK) status = buf_append(out, "\"", 1);
    for (int i = 0; status == STATUS_OK && i < RISK_FIELD_COUNT; i++) {
        if (i == RISK_FIELD_USER || event->fields[i][0] != 0) {
            status =
                risk_append_key_string(out, risk_field_name((enum risk_field)i), event->fields[i]);
        }
    }
    if (status == STATUS_OK && event->has_amount) {
        status = buf_append(out, ",\"amount\":", 10);
        if (status == STATUS_OK) status = text_append_int64(out, event->amount);
    }
    if (status == STATUS_OK && event->attr_count > 0) {
        status = buf_append(out, ",\"attrs\":{", 10);
        for (int i = 0; status == STATUS_OK && i < event->attr_count; i++) {
            const struct risk_attr *attr = &event->attrs[i];
            if (i > 0) status = buf_append(out, ",", 1);
            if (status == STATUS_OK) status = text_append_json_string(out, attr->name);
            if (status == STATUS_OK) status = buf_append(out, ":", 1);
            if (status != STATUS_OK) break;
            status = attr->is_number ? risk_append_number(out, attr->number)
                                     : text_append_json_string(out, attr->text);
        }
        if (status == STATUS_OK) status = buf_append(out, "}", 1);
    }
    if (status == STATUS_OK && event->label >= 0) {
        status = buf_append(out, event->label ? ",\"label\":1" : ",\"label\":0", 10);
    }
    if (status == STATUS_OK) status = buf_append(out, "}", 1);
    return status;
}
