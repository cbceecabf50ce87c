/* status.h — the one status enum returned by every function that can fail.
 * 0 is success. Each value maps to one HTTP status and one stable snake_case error code
 * (status_http, status_code); new failures get a new value here, never a bare int. */
#ifndef TESSERA_BASE_STATUS_H
#define TESSERA_BASE_STATUS_H

#define must_check __attribute__((warn_unused_result))

enum status {
    STATUS_OK = 0,
    STATUS_INVALID_JSON,         /* 400 body is not valid JSON / UTF-8 / has duplicate keys */
    STATUS_INVALID_FIELD,        /* 400 wrong type, missing or unknown field */
    STATUS_INVALID_VALUE,        /* 422 a field's value is out of range */
    STATUS_INVALID_QUANTITY,     /* 422 */
    STATUS_INVALID_AMOUNT,       /* 422 */
    STATUS_MISSING_IDEMPOTENCY,  /* 400 */
    STATUS_UNSUPPORTED_MEDIA,    /* 415 */
    STATUS_UNAUTHORIZED,         /* 401 no token, bad token, expired token */
    STATUS_BAD_CREDENTIALS,      /* 401 wrong username or password */
    STATUS_FORBIDDEN,            /* 403 wrong role */
    STATUS_NOT_FOUND,            /* 404 route */
    STATUS_UNKNOWN_SKU,          /* 404 */
    STATUS_UNKNOWN_ORDER,        /* 404 */
    STATUS_UNKNOWN_USER,         /* 404 */
    STATUS_METHOD_NOT_ALLOWED,   /* 405 */
    STATUS_EXISTS,               /* 409 unique name taken */
    STATUS_OUT_OF_STOCK,         /* 409 */
    STATUS_IDEMPOTENCY_CONFLICT, /* 409 */
    STATUS_INSUFFICIENT_FUNDS,   /* 402 */
    STATUS_NOT_A_BUYER,          /* 422 wallet credit to a non-buyer */
    STATUS_BODY_TOO_LARGE,       /* 413 */
    STATUS_TOO_MANY_CODES,       /* 413 import request over the per-request limit */
    STATUS_URI_TOO_LONG,         /* 414 */
    STATUS_TOO_MANY_HEADERS,     /* 431 */
    STATUS_INVALID_HEADER,       /* 400 a header repeated, or the body's length said twice */
    STATUS_OVERFLOW,             /* 422 arithmetic overflow on input values */
    STATUS_RISK_BLOCKED,         /* 403 the risk engine refused the request */
    STATUS_CHALLENGE_REQUIRED,   /* 403 the risk engine wants step-up identity */
    STATUS_ORDER_NOT_DELIVERED,  /* 409 codes of an order not (or no longer) delivered */
    STATUS_NOT_IN_REVIEW,        /* 409 a review of an order that is not held */
    STATUS_INVALID_RULES,        /* 422 a rule file that does not compile */
    STATUS_UNKNOWN_LIST,         /* 404 a list the active rules do not declare */
    STATUS_UNKNOWN_DECISION,     /* 404 */
    STATUS_INVALID_NOTICE,       /* 400 a payment notice that fails verification */
    STATUS_PAYMENT_MISMATCH, /* 409 a verified notice whose amount or currency is not the order's */
    STATUS_SECOND_ADMIN_REQUIRED, /* 409 a confirmation above the limit needs another admin */
    STATUS_UNKNOWN_PROVIDER,    /* 422 a payment provider Tessera does not have or is not set up */
    STATUS_NOT_REFUNDABLE,      /* 409 more than the order's refundable amount */
    STATUS_UNKNOWN_REFUND,      /* 404 */
    STATUS_REFUND_SETTLED,      /* 409 a refund that is not waiting for a person */
    STATUS_REFUND_IN_FLIGHT,    /* 409 its request to the provider may still be on the way */
    STATUS_PLAN_HELD,           /* 409 the plan's order waits for a review */
    STATUS_TOO_MANY_PLANS,      /* 409 a buyer with LIMIT_CREDIT_PLANS open plans */
    STATUS_CREDIT_NOT_ALLOWED,  /* 403 credit cannot buy high-liquidity goods */
    STATUS_INSUFFICIENT_CREDIT, /* 402 the credit line's available amount is too small */
    STATUS_NO_CREDIT_LINE,      /* 404 the buyer has no credit line */
    STATUS_NOTHING_OWED,        /* 409 a repayment with nothing outstanding */
    STATUS_INVALID_PLAN,        /* 422 no installment plan with this number of periods */
    STATUS_PLAN_CLOSED,         /* 409 the installment plan is paid off or cancelled */
    STATUS_PROVIDER_REFUSED,    /* 502 a payment provider answered with a business error */
    STATUS_PROVIDER_INVALID_RESPONSE, /* 502 an answer that fails its signature or its checks */
    STATUS_PROVIDER_UNAVAILABLE,      /* 503 no connection, or 5xx, after the retries */
    STATUS_PROVIDER_TIMEOUT,          /* 504 no answer within the timeout, after the retries */
    STATUS_BUSY,                      /* 503 writer queue full or shutting down */
    STATUS_IO,                        /* 500 file or socket error */
    STATUS_DB,                        /* 500 database error */
    STATUS_CRYPTO,                    /* 500 crypto failure (key, seal) */
    STATUS_TAMPERED,                  /* 500 sealed data failed authentication */
    STATUS_NOMEM,                     /* 500 */
    STATUS_COUNT
};

const char *status_code(enum status status);    /* "out_of_stock" */
const char *status_message(enum status status); /* human text */
int status_http(enum status status);            /* 409 */

#endif
