/* api.h — inside the outbound requests (outbound.h): the transport (http.c) and one
 * request builder and answer reader per provider (wechatpay_api.c, alipay_api.c,
 * epay_api.c, stripe_api.c). The builders that sign and the readers that parse an answer
 * are exposed apart from the network so the unit tests and the fuzz harness reach them. */
#ifndef TESSERA_PAY_API_H
#define TESSERA_PAY_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/mem.h"
#include "pay/config.h"
#include "pay/outbound.h"

#define PAY_HTTP_HEADERS 8 /* request headers we send, at most */

struct pay_http_request {
    const char *method; /* "GET" or "POST" */
    const char *url;    /* never logged or reported: EPay's carries the merchant key */
    const char *headers[PAY_HTTP_HEADERS + 1]; /* "Name: value" lines, NULL-terminated */
    const char *body;                          /* POST only */
    size_t len;
    /* sending it twice does no more than once (a reference the provider dedupes on, an
     * Idempotency-Key, a read): only then is it retried */
    bool idempotent;
};

struct pay_http_response {
    int status; /* the HTTP status; 0 until an answer arrived */
    struct buf body;
    struct pay_header headers[LIMIT_HEADER_COUNT]; /* point into header_bytes */
    int header_count;
    char header_bytes[LIMIT_PAY_RESPONSE_HEADER_BYTES];
    size_t header_used;
    bool too_large; /* the body or the headers passed their limit */
};

void pay_http_response_init(struct pay_http_response *response);
void pay_http_response_free(struct pay_http_response *response);
/* The value of a header of the answer (case-insensitive), or NULL. */
const char *pay_http_header(const struct pay_http_response *response, const char *name);

/* Sends request with the configuration's timeouts and retries: STATUS_OK when an answer
 * other than a 5xx arrived (whatever its status); STATUS_PROVIDER_TIMEOUT,
 * STATUS_PROVIDER_UNAVAILABLE (and call->message) after the last attempt failed;
 * STATUS_PROVIDER_INVALID_RESPONSE for an answer over its limits. call->attempts and
 * call->http_status are set in every case. */
must_check enum status pay_http_send(const struct pay_config *config,
                                     const struct pay_http_request *request,
                                     struct pay_http_response *response, struct pay_call *call);

/* Fills call->message (and returns status) — the one way the readers fail. */
enum status pay_call_fail(struct pay_call *call, enum status status, const char *what);
/* A string member of at most size - 1 printable bytes into out ("" when absent and not
 * required); false when it is missing, not a string, too long or not printable. */
bool pay_json_text(json_t *object, const char *name, bool required, char *out, size_t size);
/* Whether text is a reference we may put in a URL path or a form: 1 to LIMIT_PAY_REF_BYTES
 * of [A-Za-z0-9_-]. */
bool pay_ref_safe(const char *text);

/* ---- WeChat Pay API v3 (wechatpay_api.c) ---- */
/* The Authorization header value for METHOD, the URL's path and query, the body, a time
 * and a nonce: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",
 * serial_no="…",signature="…" over "METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n". */
must_check enum status pay_wechatpay_authorization(const struct pay_config *config,
                                                   const char *method, const char *path,
                                                   const char *body, size_t len, int64_t now_s,
                                                   const char *nonce, struct buf *out);
/* The answer's signature (Wechatpay-Timestamp/-Nonce/-Signature/-Serial over
 * "ts\nnonce\nbody\n" with the platform key, the time within 300 s of now_s). */
must_check enum status pay_wechatpay_answer_verify(const struct pay_config *config,
                                                   const struct pay_http_response *response,
                                                   int64_t now_s, struct pay_call *call);
/* Reading verified bodies (the fuzz harness calls these directly). */
must_check enum status pay_wechatpay_query_parse(const struct pay_config *config,
                                                 const char *order_ref, const char *body,
                                                 size_t len, struct pay_query_result *out);
must_check enum status pay_wechatpay_refund_parse(const char *refund_ref, const char *body,
                                                  size_t len, struct pay_refund_result *out);
must_check enum status pay_wechatpay_create(const struct pay_config *config,
                                            const struct pay_create_request *request,
                                            struct pay_create_result *result);
must_check enum status pay_wechatpay_query(const struct pay_config *config,
                                           const struct pay_query_request *request,
                                           struct pay_query_result *result);
must_check enum status pay_wechatpay_refund(const struct pay_config *config,
                                            const struct pay_refund_request *request,
                                            struct pay_refund_result *result);

/* ---- Alipay open platform (alipay_api.c) ---- */
/* The form body of a call to method with biz_content (JSON), signed RSA2 with the app
 * private key over the sorted k=v string, at now_s (Beijing time in "timestamp"). */
must_check enum status pay_alipay_form(const struct pay_config *config, const char *method,
                                       const char *biz_content, bool notify, int64_t now_s,
                                       struct buf *out);
/* The raw text of the top-level member name of a JSON object text (a slice of text), and
 * of its "sign" string member (unescaped: base64 has no escapes); false when text is not
 * such an object (the member is then absent: *len 0). */
bool pay_alipay_member(const char *text, size_t len, const char *name, const char **member,
                       size_t *member_len);
/* The answer to method (body is all of it), verified: the member "<method>_response"
 * must carry a valid sign (the Alipay public key over its raw text), and its object is then
 * returned through *out (the caller json_decref's it), whatever its code. An unsigned
 * answer that reports an error is STATUS_PROVIDER_REFUSED (believed or not, the call did
 * not succeed); any other unsigned or badly signed answer STATUS_PROVIDER_INVALID_RESPONSE. */
must_check enum status pay_alipay_answer(const struct pay_config *config, const char *method,
                                         const char *body, size_t len, json_t **out,
                                         struct pay_call *call);
must_check enum status pay_alipay_query_parse(const struct pay_config *config,
                                              const char *order_ref, json_t *answer,
                                              struct pay_query_result *out);
must_check enum status pay_alipay_create(const struct pay_config *config,
                                         const struct pay_create_request *request,
                                         struct pay_create_result *result);
must_check enum status pay_alipay_query(const struct pay_config *config,
                                        const struct pay_query_request *request,
                                        struct pay_query_result *result);
must_check enum status pay_alipay_refund(const struct pay_config *config,
                                         const struct pay_refund_request *request,
                                         struct pay_refund_result *result);

/* ---- EPay (epay_api.c) ---- */
must_check enum status pay_epay_query_parse(const struct pay_config *config, const char *order_ref,
                                            const char *body, size_t len,
                                            struct pay_query_result *out);
must_check enum status pay_epay_refund_parse(const char *body, size_t len,
                                             struct pay_refund_result *out);
must_check enum status pay_epay_create(const struct pay_config *config,
                                       const struct pay_create_request *request,
                                       struct pay_create_result *result);
must_check enum status pay_epay_query(const struct pay_config *config,
                                      const struct pay_query_request *request,
                                      struct pay_query_result *result);
must_check enum status pay_epay_refund(const struct pay_config *config,
                                       const struct pay_refund_request *request,
                                       struct pay_refund_result *result);

/* ---- Stripe (stripe_api.c) ---- */
/* A PaymentIntent object (retrieved, or one of a search's data) for order_ref. */
must_check enum status pay_stripe_intent_parse(const char *order_ref, json_t *intent,
                                               struct pay_query_result *out, struct pay_call *call);
/* A 2xx answer's JSON, or the call failed with Stripe's error object read. */
must_check enum status pay_stripe_answer(const struct pay_http_response *response, json_t **out,
                                         struct pay_call *call);
must_check enum status pay_stripe_create(const struct pay_config *config,
                                         const struct pay_create_request *request,
                                         struct pay_create_result *result);
must_check enum status pay_stripe_query(const struct pay_config *config,
                                        const struct pay_query_request *request,
                                        struct pay_query_result *result);
must_check enum status pay_stripe_refund(const struct pay_config *config,
                                         const struct pay_refund_request *request,
                                         struct pay_refund_result *result);

#endif
