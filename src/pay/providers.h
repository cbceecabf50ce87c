/* providers.h — one verifier per gateway (epay.c, stripe.c, wechatpay.c, alipay.c), called by
 * pay_verify once the provider is configured and the body is within its limit, and the
 * parsers they run after the signature holds (exposed so fuzz harnesses reach them). Each
 * returns STATUS_OK, STATUS_INVALID_NOTICE with reason, or STATUS_NOMEM. */
#ifndef TESSERA_PAY_PROVIDERS_H
#define TESSERA_PAY_PROVIDERS_H

#include <jansson.h>

#include "pay/config.h"
#include "pay/pay.h"

must_check enum status pay_epay_verify(const struct pay_config *config,
                                       const struct pay_request *request, struct pay_notice *out,
                                       char *reason, size_t reason_size);
must_check enum status pay_stripe_verify(const struct pay_config *config,
                                         const struct pay_request *request, struct pay_notice *out,
                                         char *reason, size_t reason_size);
must_check enum status pay_wechatpay_verify(const struct pay_config *config,
                                            const struct pay_request *request,
                                            struct pay_notice *out, struct buf *resource,
                                            char *reason, size_t reason_size);
must_check enum status pay_sandbox_verify(const struct pay_config *config,
                                          const struct pay_request *request, struct pay_notice *out,
                                          char *reason, size_t reason_size);
must_check enum status pay_alipay_verify(const struct pay_config *config,
                                         const struct pay_request *request, struct pay_notice *out,
                                         char *reason, size_t reason_size);

/* WeChat Pay's signature over "Wechatpay-Timestamp\nWechatpay-Nonce\nBODY\n" with the platform
 * key Wechatpay-Serial names, the timestamp within LIMIT_PAY_TOLERANCE_S of now: the check of
 * notices and of API answers alike (api.h). */
must_check enum status pay_wechatpay_signature_check(const struct pay_config *config,
                                                     const struct pay_request *request,
                                                     char *reason, size_t reason_size);

/* EPay's submit.php URL for an order: every parameter signed as its notices are. */
must_check enum status pay_epay_submit_url(const struct pay_config *config, const char *order_ref,
                                           const char *subject, int64_t amount, struct buf *out);

/* After the signature: a Stripe event body, a WeChat Pay decrypted resource. */
must_check enum status pay_stripe_event_parse(const char *body, size_t len, struct pay_notice *out,
                                              char *reason, size_t reason_size);
must_check enum status pay_wechatpay_resource_parse(const char *plain, size_t len,
                                                    struct pay_notice *out, char *reason,
                                                    size_t reason_size);
/* `t=…,v1=…[,v1=…]` (other schemes ignored): false unless one t and at least one v1. */
#define PAY_STRIPE_SIGNATURES 8
bool pay_stripe_header_parse(const char *header, int64_t *t_out,
                             char signatures[PAY_STRIPE_SIGNATURES][65], int *count_out);

/* `t=…,v1=…` over "t.body" with HMAC-SHA256 (Stripe's scheme, which the sandbox shares):
 * verify the request's header name against secret, or make the header for a body. */
must_check enum status pay_hmac_header_verify(const char *secret, const char *name,
                                              const struct pay_request *request, char *reason,
                                              size_t reason_size);
void pay_hmac_header_make(const char *secret, const void *body, size_t len, int64_t now_s,
                          char header[PAY_SIGNATURE_HEADER_BYTES]);

/* Shared by the verifiers. */
enum status pay_refuse(char *reason, size_t reason_size, const char *why);
/* Copies a JSON string member (or "" when absent and optional) of at most
 * LIMIT_PAY_REF_BYTES; false when it is not a string, too long or not printable. */
bool pay_json_ref(json_t *object, const char *name, bool required, char *out, size_t size);
/* A reference field of a form into out; false when missing (and required) or too long. */
bool pay_copy_ref(const char *value, bool required, char *out, size_t size);

#endif
