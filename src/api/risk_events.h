/* risk_events.h — the one place Tessera's own events are made: every signup, login, order,
 * wallet credit (payment) and refund (and, as they arrive, redemption, withdrawal and
 * transfer) becomes a
 * struct risk_event here, in the format external systems post. Where a request came from
 * (device, address) is captured on the HTTP thread; the event is built and decided in the
 * writer command. */
#ifndef TESSERA_API_RISK_EVENTS_H
#define TESSERA_API_RISK_EVENTS_H

#include "http/request.h"
#include "pay/pay.h"
#include "risk/event.h"
#include "store/store.h"

struct risk_origin {
    char device[LIMIT_RISK_TEXT_BYTES + 1]; /* the X-Device-Id header, "" when absent */
    char ip[64];
};

/* HTTP thread: where the request came from. STATUS_INVALID_VALUE (message set) for an
 * X-Device-Id the rules could not match as sent — over LIMIT_RISK_TEXT_BYTES, or not
 * printable — which is refused rather than dropped: dropping it would let a device on a
 * block list through by padding its id. */
must_check enum status risk_origin_capture(struct request *req, struct risk_origin *origin,
                                           char *message, size_t message_size);

/* The order of request: payment "gateway" (and attrs.provider), "credit" (and
 * attrs.periods) or "wallet". */
void risk_event_order(struct risk_event *event, const struct risk_origin *origin,
                      const char *username, const struct store_order_plan *plan,
                      const struct store_order_request *request, int64_t now_s);
void risk_event_signup(struct risk_event *event, const char *username, const char *role,
                       int64_t now_s);
void risk_event_login(struct risk_event *event, const struct risk_origin *origin,
                      const char *username, int64_t now_s);

/* A wallet credit (money in, from the platform's funding account): a payment event. */
void risk_event_payment(struct risk_event *event, const char *username, int64_t amount,
                        const char *currency, int64_t now_s);
/* Money of an order given back to its buyer (cause: "review_reject", "refund"). */
void risk_event_refund(struct risk_event *event, const char *username,
                       const struct store_order *order, int64_t amount, const char *cause,
                       int64_t now_s);

/* A payment notice from a gateway: a payment event of user (the order's buyer, or
 * "gateway:NAME" when the notice names none), with attrs.provider and, for a refused
 * notice, attrs.cause "notice_refused" (the amount of a refused notice is not believed, so
 * it carries none). */
void risk_event_notice(struct risk_event *event, const char *user, const char *provider,
                       const struct pay_notice *notice, const char *refused, int64_t now_s);

#endif
