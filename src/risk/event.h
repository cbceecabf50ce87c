/* event.h — the risk event, one format everywhere: every signup, login, order, payment,
 * refund, redemption, withdrawal and transfer Tessera sees, events posted by other systems,
 * and lines of a replayed JSONL file. Parsing is a single pass over the bytes with no
 * allocation (event_parse.c); jansson builds a tree per object, about 5 µs an event, a
 * tenth of the replay budget. Pure logic: no I/O, no HTTP, no SQL. */
#ifndef TESSERA_RISK_EVENT_H
#define TESSERA_RISK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/status.h"

enum risk_type {
    RISK_SIGNUP,
    RISK_LOGIN,
    RISK_ORDER,
    RISK_PAYMENT,
    RISK_REFUND,
    RISK_REDEMPTION,
    RISK_WITHDRAWAL,
    RISK_TRANSFER,
    RISK_TYPE_COUNT
};

/* The string fields an event may carry; "" is absent (JSON null or missing). */
enum risk_field {
    RISK_FIELD_USER,
    RISK_FIELD_DEVICE,
    RISK_FIELD_IP,
    RISK_FIELD_CURRENCY,
    RISK_FIELD_SKU,
    RISK_FIELD_PAYMENT,
    RISK_FIELD_LIQUIDITY,
    RISK_FIELD_COUNTERPARTY,
    RISK_FIELD_PAYOUT_ACCOUNT,
    RISK_FIELD_COUNT
};

struct risk_attr {
    char name[LIMIT_RISK_ATTR_NAME_BYTES + 1];
    bool is_number;
    double number;                        /* finite */
    char text[LIMIT_RISK_TEXT_BYTES + 1]; /* when !is_number */
};

struct risk_event {
    char id[LIMIT_RISK_ID_BYTES + 1];
    enum risk_type type;
    int64_t time_s; /* Unix seconds, 0 … UINT32_MAX */
    char fields[RISK_FIELD_COUNT][LIMIT_RISK_TEXT_BYTES + 1];
    bool has_amount;
    int64_t amount; /* minor units, 0 … LIMIT_AMOUNT_MINOR */
    int attr_count;
    struct risk_attr attrs[LIMIT_RISK_ATTRS];
    int label; /* -1 none, else 0 or 1: used by replay metrics only */
};

const char *risk_type_name(enum risk_type type);
/* True and *type set when name (len bytes) is one of the eight type names. */
bool risk_type_parse(const char *name, size_t len, enum risk_type *type);
/* Orders, payments, refunds, withdrawals and transfers get a decision; signups, logins and
 * redemptions only feed features. */
bool risk_type_decidable(enum risk_type type);
const char *risk_field_name(enum risk_field field);
bool risk_field_parse(const char *name, size_t len, enum risk_field *field);

/* A blank event: no fields, no attrs, no label. */
void risk_event_init(struct risk_event *event);
/* The attr named name, or NULL. */
const struct risk_attr *risk_event_attr(const struct risk_event *event, const char *name,
                                        size_t name_len);

/* Parses one JSON object (a line without its newline). Unknown fields are ignored; id,
 * type, time and user are required. On failure, message names the field and the rule it
 * broke, never the value (it may be personal data). */
must_check enum status risk_event_parse(const char *text, size_t len, struct risk_event *event,
                                        char *message, size_t message_size);
/* Appends the event as one canonical JSON object (the format risk_event_parse reads). */
must_check enum status risk_event_append_json(struct buf *out, const struct risk_event *event);

#endif
