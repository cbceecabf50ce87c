/* outbound.h — requests Tessera sends to payment providers: create a payment, query one,
 * refund one. Each is built and signed as the provider's protocol says (../shared/
 * PROTOCOLS.md, docs/PAYMENTS.md), sent with libcurl (http.c: timeouts, bounded retries of
 * idempotent calls, a bounded answer), and the answer is verified before it is believed:
 * WeChat Pay's signature with the platform key, Alipay's with the Alipay public key; the
 * merchant and the order it names must be ours.
 *
 * Files: outbound.c (these entry points and the checks of their arguments), http.c (the
 * transport), and one file per provider: wechatpay_api.c, alipay_api.c, epay_api.c,
 * stripe_api.c.
 *
 * pay_outbound_init must run once before any other thread starts (main does it): it calls
 * curl_global_init, which is not thread-safe. Every other function here is safe to call
 * from many threads at once with a shared, read-only configuration.
 *
 * Nothing here logs. Results and messages never hold a key, a signature or a bearer token;
 * the one secret-looking value is a Stripe client_secret, which exists to be handed to the
 * buyer's browser. */
#ifndef TESSERA_PAY_OUTBOUND_H
#define TESSERA_PAY_OUTBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/money.h"
#include "base/status.h"
#include "pay/pay.h"

enum pay_operation { PAY_CREATE, PAY_QUERY, PAY_REFUND, PAY_OPERATION_COUNT };

const char *pay_operation_name(enum pay_operation operation); /* "create" */

/* What every call reports besides its result, on success and on failure alike. */
struct pay_call {
    int attempts;    /* requests sent (1 + retries); 0 when none was */
    int http_status; /* of the last answer; 0 when there was none */
    /* the provider's own error code ("PARAM_ERROR", "ACQ.TRADE_NOT_EXIST", "resource_missing")
     * when it gave one; "" otherwise */
    char provider_code[LIMIT_PAY_REF_BYTES + 1];
    char message[LIMIT_REASON_BYTES]; /* on failure: what went wrong (never a secret) */
};

struct pay_create_request {
    const char *order_ref; /* our order: out_trade_no, Stripe metadata[order_id] */
    const char *subject;   /* shown to the buyer */
    int64_t amount;        /* minor units */
    const char *currency;  /* "CNY"; WeChat Pay, Alipay and EPay take CNY only */
};

struct pay_create_result {
    char code_url[LIMIT_PAY_LINK_BYTES + 1];             /* WeChat Pay Native: the QR content */
    char qr_code[LIMIT_PAY_LINK_BYTES + 1];              /* Alipay precreate */
    char pay_url[LIMIT_PAY_LINK_BYTES + 1];              /* EPay: the signed submit.php URL */
    char client_secret[LIMIT_PAY_SECRET_LINK_BYTES + 1]; /* Stripe, for Stripe.js */
    char provider_id[LIMIT_PAY_REF_BYTES + 1];           /* Stripe: the PaymentIntent pi_… */
    struct pay_call call;
};

struct pay_query_request {
    const char *order_ref;
    /* Stripe: the PaymentIntent (pi_…) when known — retrieved directly; NULL: the intent
     * whose metadata order_id is order_ref, found with Stripe's search */
    const char *intent;
};

struct pay_query_result {
    bool found; /* the provider knows the order */
    bool paid;  /* its state means money was taken (SUCCESS, TRADE_SUCCESS, succeeded, …) */
    char state[LIMIT_PAY_REF_BYTES + 1];       /* the provider's word, as it said it */
    char transaction[LIMIT_PAY_REF_BYTES + 1]; /* transaction_id, trade_no, pi_… */
    bool has_amount;
    int64_t amount; /* minor units */
    char currency[MONEY_CURRENCY_BYTES];
    struct pay_call call;
};

struct pay_refund_request {
    const char *order_ref;
    const char *transaction; /* the provider's transaction (Stripe: pi_…); may be NULL
                                except for Stripe */
    const char *refund_ref;  /* our refund: out_refund_no, out_request_no, Idempotency-Key */
    int64_t amount;          /* to refund, minor units */
    int64_t total;           /* the order's amount (WeChat Pay wants it) */
    const char *currency;
    const char *reason; /* may be NULL */
};

struct pay_refund_result {
    bool accepted;                           /* the provider took the refund */
    bool succeeded;                          /* and says the money went back */
    bool pending;                            /* or that it is still processing */
    char state[LIMIT_PAY_REF_BYTES + 1];     /* the provider's word ("SUCCESS", "pending") */
    char refund_id[LIMIT_PAY_REF_BYTES + 1]; /* the provider's refund id; "" when it has none */
    struct pay_call call;
};

/* Once per process, before threads start: STATUS_CRYPTO when libcurl cannot initialise. */
must_check enum status pay_outbound_init(void);
void pay_outbound_cleanup(void);

/* Whether the provider deduplicates refunds by our refund reference, so a refund whose
 * answer was lost may be sent again (not EPay: a second request may refund twice). */
bool pay_refund_dedupes(enum pay_provider provider);
/* Whether config sets provider up for operation (keys, URLs; see docs/PAYMENTS.md). */
bool pay_can_call(const struct pay_config *config, enum pay_provider provider,
                  enum pay_operation operation);

/* Each: STATUS_OK and the result; STATUS_UNKNOWN_PROVIDER when pay_can_call says no;
 * STATUS_INVALID_VALUE for a reference, amount or currency the provider cannot take;
 * STATUS_PROVIDER_REFUSED (a business error), STATUS_PROVIDER_INVALID_RESPONSE (a bad
 * signature, an unreadable answer, another merchant's or order's), STATUS_PROVIDER_UNAVAILABLE
 * (no connection or a 5xx after the retries), STATUS_PROVIDER_TIMEOUT; STATUS_NOMEM. The
 * result's call says how many attempts were made and, on failure, why. */
must_check enum status pay_create(const struct pay_config *config, enum pay_provider provider,
                                  const struct pay_create_request *request,
                                  struct pay_create_result *result);
/* An order the provider does not know is STATUS_OK with found false. */
must_check enum status pay_query(const struct pay_config *config, enum pay_provider provider,
                                 const struct pay_query_request *request,
                                 struct pay_query_result *result);
must_check enum status pay_refund(const struct pay_config *config, enum pay_provider provider,
                                  const struct pay_refund_request *request,
                                  struct pay_refund_result *result);

#endif
