/* risk_events.c — Tessera's own events (see risk_events.h). */
#include "api/risk_events.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

enum status risk_origin_capture(struct request *req, struct risk_origin *origin, char *message,
                                size_t message_size) {
    verify(req != 0 && origin != 0 && message != 0 && message_size > 0);
    memset(origin, 0, sizeof *origin);
    const char *device = request_header(req, "X-Device-Id");
    if (device != 0) {
        size_t len = strlen(device);
        if (len > LIMIT_RISK_TEXT_BYTES || !text_printable(device, len)) {
            snprintf(message, message_size,
                     "X-Device-Id must be at most %d bytes of printable UTF-8",
                     LIMIT_RISK_TEXT_BYTES);
            return STATUS_INVALID_VALUE;
        }
        memcpy(origin->device, device, len + 1);
    }
    request_client_ip(req, origin->ip, sizeof origin->ip);
    return STATUS_OK;
}

static void risk_event_start(struct risk_event *event, enum risk_type type, const char *username,
                             int64_t now_s) {
    risk_event_init(event);
    event->type = type;
    event->time_s = now_s;
    (void)text_copy(event->fields[RISK_FIELD_USER], sizeof event->fields[0], username);
}

static void risk_event_from(struct risk_event *event, const struct risk_origin *origin) {
    (void)text_copy(event->fields[RISK_FIELD_DEVICE], sizeof event->fields[0], origin->device);
    (void)text_copy(event->fields[RISK_FIELD_IP], sizeof event->fields[0], origin->ip);
}

static void risk_event_number(struct risk_event *event, const char *name, double number) {
    verify(event->attr_count < LIMIT_RISK_ATTRS);
    struct risk_attr *attr = &event->attrs[event->attr_count++];
    (void)text_copy(attr->name, sizeof attr->name, name);
    attr->is_number = true;
    attr->number = number;
}

static void risk_event_text(struct risk_event *event, const char *name, const char *text) {
    verify(event->attr_count < LIMIT_RISK_ATTRS);
    struct risk_attr *attr = &event->attrs[event->attr_count++];
    (void)text_copy(attr->name, sizeof attr->name, name);
    attr->is_number = false;
    (void)text_copy(attr->text, sizeof attr->text, text);
}

static void risk_event_money(struct risk_event *event, int64_t amount, const char *currency) {
    event->has_amount = true;
    event->amount = amount;
    (void)text_copy(event->fields[RISK_FIELD_CURRENCY], sizeof event->fields[0], currency);
}

void risk_event_order(struct risk_event *event, const struct risk_origin *origin,
                      const char *username, const struct store_order_plan *plan,
                      const struct store_order_request *request, int64_t now_s) {
    verify(event != 0 && origin != 0 && username != 0 && plan != 0 && request != 0);
    const char *provider = request->provider;
    int64_t quantity = request->quantity;
    verify(quantity > 0);
    risk_event_start(event, RISK_ORDER, username, now_s);
    risk_event_from(event, origin);
    const struct store_product *product = &plan->product;
    (void)text_copy(event->fields[RISK_FIELD_SKU], sizeof event->fields[0], product->sku);
    (void)text_copy(event->fields[RISK_FIELD_LIQUIDITY], sizeof event->fields[0],
                    product->liquidity);
    (void)text_copy(event->fields[RISK_FIELD_PAYMENT], sizeof event->fields[0],
                    provider                      ? "gateway"
                    : request->credit_periods > 0 ? "credit"
                                                  : "wallet");
    risk_event_money(event, plan->amount, product->currency);
    risk_event_number(event, "quantity", (double)quantity);
    risk_event_number(event, "face_value", (double)product->face_value);
    if (provider != 0) risk_event_text(event, "provider", provider);
    if (request->credit_periods > 0)
        risk_event_number(event, "periods", (double)request->credit_periods);
}

void risk_event_signup(struct risk_event *event, const char *username, const char *role,
                       int64_t now_s) {
    verify(event != 0 && username != 0 && role != 0);
    risk_event_start(event, RISK_SIGNUP, username, now_s);
    risk_event_text(event, "role", role);
}

void risk_event_login(struct risk_event *event, const struct risk_origin *origin,
                      const char *username, int64_t now_s) {
    verify(event != 0 && origin != 0 && username != 0);
    risk_event_start(event, RISK_LOGIN, username, now_s);
    risk_event_from(event, origin);
}

void risk_event_payment(struct risk_event *event, const char *username, int64_t amount,
                        const char *currency, int64_t now_s) {
    verify(event != 0 && username != 0 && amount > 0 && currency != 0);
    risk_event_start(event, RISK_PAYMENT, username, now_s);
    (void)text_copy(event->fields[RISK_FIELD_PAYMENT], sizeof event->fields[0], "wallet_credit");
    risk_event_money(event, amount, currency);
}

void risk_event_refund(struct risk_event *event, const char *username,
                       const struct store_order *order, int64_t amount, const char *cause,
                       int64_t now_s) {
    verify(event != 0 && username != 0 && order != 0 && amount > 0 && cause != 0);
    risk_event_start(event, RISK_REFUND, username, now_s);
    (void)text_copy(event->fields[RISK_FIELD_SKU], sizeof event->fields[0], order->sku);
    (void)text_copy(event->fields[RISK_FIELD_LIQUIDITY], sizeof event->fields[0], order->liquidity);
    (void)text_copy(event->fields[RISK_FIELD_PAYMENT], sizeof event->fields[0], order->payment);
    risk_event_money(event, amount, order->currency);
    risk_event_number(event, "order_id", (double)order->id);
    risk_event_text(event, "cause", cause);
}

void risk_event_notice(struct risk_event *event, const char *user, const char *provider,
                       const struct pay_notice *notice, const char *refused, int64_t now_s) {
    verify(event != 0 && user != 0 && provider != 0 && notice != 0);
    risk_event_start(event, RISK_PAYMENT, user, now_s);
    (void)text_copy(event->fields[RISK_FIELD_PAYMENT], sizeof event->fields[0], "gateway");
    risk_event_text(event, "provider", provider);
    if (refused != 0) {
        risk_event_text(event, "cause", "notice_refused");
    } else if (notice->has_amount) {
        risk_event_money(event, notice->amount, notice->currency);
    }
}
