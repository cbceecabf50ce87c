/* pay.h — payment notices from gateways, verified (../shared/PROTOCOLS.md). One entry,
 * pay_verify, takes a notice as it arrived — the raw body (for a GET notice, the query
 * string), its headers and the time — and the merchant configuration, and either says what
 * the notice claims (struct pay_notice) or why it is refused. Every provider verifies its
 * signature on the raw bytes before anything else is parsed; timestamps are checked where
 * the protocol signs one; the merchant id must be ours. What a notice claims about an
 * order (which order, how much) is checked against the order by the caller.
 *
 * Files: config.c (the JSON configuration and its keys), form.c (k=v&k=v bodies),
 * crypto.c (the primitives: RSA-SHA256, AES-256-GCM, MD5, HMAC, base64, hex), and one file
 * per provider: epay.c, stripe.c, wechatpay.c, alipay.c. */
#ifndef TESSERA_PAY_PAY_H
#define TESSERA_PAY_PAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/money.h"
#include "base/status.h"

enum pay_provider {
    PAY_SANDBOX,
    PAY_EPAY,
    PAY_WECHATPAY,
    PAY_ALIPAY,
    PAY_STRIPE,
    PAY_PROVIDER_COUNT
};

const char *pay_provider_name(enum pay_provider provider);
bool pay_provider_parse(const char *name, enum pay_provider *out);

/* What a verified notice says. Strings are "" when the notice has no such field. */
struct pay_notice {
    enum pay_provider provider;
    char order_ref[LIMIT_PAY_REF_BYTES + 1];   /* out_trade_no: our order */
    char transaction[LIMIT_PAY_REF_BYTES + 1]; /* the provider's transaction id */
    char merchant[LIMIT_PAY_REF_BYTES + 1];    /* mchid, app_id or pid */
    char event[LIMIT_PAY_REF_BYTES + 1];       /* the notice's own id (dedupe) */
    char state[LIMIT_PAY_REF_BYTES + 1];       /* the provider's word for the payment */
    bool paid;                                 /* the state means money was taken */
    bool has_amount;
    int64_t amount; /* minor units (fen, cents) */
    char currency[MONEY_CURRENCY_BYTES];
};

/* A notice's headers, as received (names compared without case). */
struct pay_header {
    const char *name;
    const char *value;
};

struct pay_request {
    const char *body; /* the raw bytes; a GET notice's query string (without '?') */
    size_t len;
    const struct pay_header *headers;
    int header_count;
    int64_t now_s;
};

struct pay_config; /* config.c */

/* Whether config sets provider up (the sandbox: when it is on). */
bool pay_provider_on(const struct pay_config *config, enum pay_provider provider);

/* STATUS_OK and *out filled (and, for WeChat Pay with an APIv3 key, the decrypted resource
 * appended to resource when it is not NULL); STATUS_INVALID_NOTICE with reason set
 * otherwise (a short phrase that never quotes a secret); STATUS_NOMEM. A provider the
 * configuration does not set up refuses every notice. */
must_check enum status pay_verify(const struct pay_config *config, enum pay_provider provider,
                                  const struct pay_request *request, struct pay_notice *out,
                                  struct buf *resource, char *reason, size_t reason_size);

/* 补单 above this amount (minor units) needs a second admin; -1: never. */
int64_t pay_second_admin_above(const struct pay_config *config);

/* Whether provider can take orders here (create a payment for the buyer to make): the
 * sandbox, EPay with submit_url and notify_url configured, and WeChat Pay, Alipay and
 * Stripe when their API calls are set up (pay_can_call … PAY_CREATE). */
bool pay_takes_orders(const struct pay_config *config, enum pay_provider provider);
/* Whether the payment is created by a call to the provider (pay_create: WeChat Pay's
 * code_url, Alipay's qr_code, Stripe's client_secret) rather than a URL built here. */
bool pay_creates_remotely(enum pay_provider provider);
/* Where the buyer pays order_ref (amount in minor units, subject shown to the buyer), for a
 * provider that does not create remotely: appended to out as a URL — the sandbox's page
 * here, EPay's signed submit.php request. */
must_check enum status pay_url(const struct pay_config *config, enum pay_provider provider,
                               const char *order_ref, const char *subject, int64_t amount,
                               struct buf *out);

/* The sandbox provider's side (sandbox.c): a signed notice for an order, as the sandbox
 * "gateway" sends when its payment page is used. body receives the JSON, header the value
 * of Sandbox-Signature. */
#define PAY_SIGNATURE_HEADER_BYTES 96
must_check enum status pay_sandbox_notice(const struct pay_config *config, const char *order_ref,
                                          int64_t amount, const char *currency, bool paid,
                                          int64_t now_s, struct buf *body,
                                          char header[PAY_SIGNATURE_HEADER_BYTES]);

/* The value of header name in request (first match, case-insensitive), or NULL. */
const char *pay_header(const struct pay_request *request, const char *name);

/* Parses a decimal amount of major units ("12", "12.3", "12.34") into minor units;
 * false for anything else (sign, exponent, more than two decimals, over the limit). */
bool pay_parse_decimal(const char *text, int64_t *minor_out);
/* The reverse, as EPay and Alipay write amounts: minor units (0 to LIMIT_AMOUNT_MINOR) as
 * major units with exactly two decimals ("0.01", "12.30"). */
#define PAY_DECIMAL_BYTES 24
void pay_format_decimal(int64_t minor, char out[PAY_DECIMAL_BYTES]);

#endif
