/* fuzz_risk_event.c — libFuzzer harness for the risk event parser (risk/event_parse.c).
 * Invariants: a success has every required field, every string within its limit,
 * printable and valid UTF-8, finite attr numbers, and reads back from its canonical JSON
 * to the same event; a failure leaves a blank event and a message. Never a crash, a read
 * past the input, or a leak. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "risk/event.h"

static void fuzz_check_text(const char *text, size_t limit) {
    size_t len = strlen(text);
    verify(len <= limit);
    verify(text_printable(text, len));
}

static void fuzz_check_event(const struct risk_event *event) {
    verify(event->id[0] != 0 && event->fields[RISK_FIELD_USER][0] != 0);
    verify(event->type >= 0 && event->type < RISK_TYPE_COUNT);
    verify(event->time_s >= 0 && event->time_s <= (int64_t)UINT32_MAX);
    fuzz_check_text(event->id, LIMIT_RISK_ID_BYTES);
    for (int i = 0; i < RISK_FIELD_COUNT; i++)
        fuzz_check_text(event->fields[i], LIMIT_RISK_TEXT_BYTES);
    verify(!event->has_amount || (event->amount >= 0 && event->amount <= LIMIT_AMOUNT_MINOR));
    verify(event->attr_count >= 0 && event->attr_count <= LIMIT_RISK_ATTRS);
    for (int i = 0; i < event->attr_count; i++) {
        const struct risk_attr *attr = &event->attrs[i];
        verify(attr->name[0] != 0);
        fuzz_check_text(attr->name, LIMIT_RISK_ATTR_NAME_BYTES);
        if (attr->is_number) {
            verify(isfinite(attr->number));
        } else {
            fuzz_check_text(attr->text, LIMIT_RISK_TEXT_BYTES);
        }
    }
    verify(event->label >= -1 && event->label <= 1);
}

static void fuzz_check_round_trip(const struct risk_event *event) {
    struct buf out;
    buf_init(&out, 1 << 20);
    verify(risk_event_append_json(&out, event) == STATUS_OK);
    static struct risk_event again;
    char message[160];
    verify(risk_event_parse(out.data, out.len, &again, message, sizeof message) == STATUS_OK);
    verify(strcmp(again.id, event->id) == 0 && again.type == event->type);
    verify(again.time_s == event->time_s && again.label == event->label);
    verify(again.has_amount == event->has_amount && again.amount == event->amount);
    for (int i = 0; i < RISK_FIELD_COUNT; i++)
        verify(strcmp(again.fields[i], event->fields[i]) == 0);
    verify(again.attr_count == event->attr_count);
    for (int i = 0; i < event->attr_count; i++) {
        verify(strcmp(again.attrs[i].name, event->attrs[i].name) == 0);
        verify(again.attrs[i].is_number == event->attrs[i].is_number);
        if (event->attrs[i].is_number) {
            verify(again.attrs[i].number == event->attrs[i].number);
        } else {
            verify(strcmp(again.attrs[i].text, event->attrs[i].text) == 0);
        }
    }
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct risk_event event;
    char message[160];
    /* A heap copy of exactly size bytes, so ASan sees any read past the input. */
    char *copy = malloc(size ? size : 1);
    verify(copy != 0);
    if (size) memcpy(copy, data, size);
    enum status status = risk_event_parse(copy, size, &event, message, sizeof message);
    if (status == STATUS_OK) {
        fuzz_check_event(&event);
        fuzz_check_round_trip(&event);
    } else {
        verify(message[0] != 0);
        verify(event.id[0] == 0 && event.attr_count == 0);
    }
    free(copy);
    return 0;
}
