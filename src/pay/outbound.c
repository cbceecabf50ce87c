/* outbound.c — the entry points of outbound.h: libcurl's global set-up, what each provider
 * can do with this configuration, the checks of a request's arguments, and the dispatch to
 * the provider's file. It never sends anything itself. */
#include "pay/outbound.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"
#include "pay/api.h"

static const char *const pay_operation_names[PAY_OPERATION_COUNT] = {
    [PAY_CREATE] = "create", [PAY_QUERY] = "query", [PAY_REFUND] = "refund"};

const char *pay_operation_name(enum pay_operation operation) {
    verify((unsigned)operation < PAY_OPERATION_COUNT);
    return pay_operation_names[operation];
}

enum status pay_outbound_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? STATUS_OK : STATUS_CRYPTO;
}

void pay_outbound_cleanup(void) { curl_global_cleanup(); }

enum status pay_call_fail(struct pay_call *call, enum status status, const char *what) {
    verify(call != 0 && what != 0);
    verify(status != STATUS_OK);
    snprintf(call->message, sizeof call->message, "%s", what);
    return status;
}

bool pay_json_text(json_t *object, const char *name, bool required, char *out, size_t size) {
    verify(name != 0 && out != 0 && size > 0);
    json_t *value = json_is_object(object) ? json_object_get(object, name) : 0;
    out[0] = 0;
    if (value == 0 || json_is_null(value)) return !required;
    if (!json_is_string(value)) return false;
    size_t len = json_string_length(value);
    if (len >= size || !text_printable(json_string_value(value), len)) return false;
    if (memchr(json_string_value(value), 0, len) != 0) return false;
    memcpy(out, json_string_value(value), len + 1);
    return len > 0 || !required;
}

bool pay_ref_safe(const char *text) {
    if (text == 0) return false;
    size_t len = strlen(text);
    if (len == 0 || len > LIMIT_PAY_REF_BYTES) return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool pay_refund_dedupes(enum pay_provider provider) { return provider != PAY_EPAY; }

bool pay_can_call(const struct pay_config *config, enum pay_provider provider,
                  enum pay_operation operation) {
    verify(config != 0 && (unsigned)operation < PAY_OPERATION_COUNT);
    if (!pay_provider_on(config, provider)) return false;
    switch (provider) {
    case PAY_WECHATPAY:
        return config->wechatpay.appid[0] != 0 && config->wechatpay.merchant_key != 0 &&
               (operation != PAY_CREATE || config->wechatpay.notify_url[0] != 0);
    case PAY_ALIPAY:
        return config->alipay.app_private_key != 0 &&
               (operation != PAY_CREATE || config->alipay.notify_url[0] != 0);
    case PAY_EPAY: /* a payment is a signed URL for the buyer; the API reads and refunds */
        return operation == PAY_CREATE ? config->epay.submit_url[0] != 0
                                       : config->epay.api_url[0] != 0;
    case PAY_STRIPE:
        return config->stripe.secret_key[0] != 0;
    case PAY_SANDBOX:
    case PAY_PROVIDER_COUNT:
        break;
    }
    return false;
}

static void pay_call_reset(struct pay_call *call) { memset(call, 0, sizeof *call); }

/* CNY for the Chinese providers; any ISO form for Stripe. */
static bool pay_currency_ok(enum pay_provider provider, const char *currency) {
    if (currency == 0 || !money_currency_valid(currency)) return false;
    return provider == PAY_STRIPE || strcmp(currency, "CNY") == 0;
}

static enum status pay_unavailable(enum pay_provider provider, enum pay_operation operation,
                                   struct pay_call *call) {
    snprintf(call->message, sizeof call->message, "%s is not set up to %s payments here",
             pay_provider_name(provider), pay_operation_name(operation));
    return STATUS_UNKNOWN_PROVIDER;
}

enum status pay_create(const struct pay_config *config, enum pay_provider provider,
                       const struct pay_create_request *request, struct pay_create_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify((unsigned)provider < PAY_PROVIDER_COUNT);
    memset(result, 0, sizeof *result);
    if (!pay_can_call(config, provider, PAY_CREATE))
        return pay_unavailable(provider, PAY_CREATE, &result->call);
    const char *subject = request->subject ? request->subject : "";
    if (!pay_ref_safe(request->order_ref) || !money_amount_valid(request->amount) ||
        !pay_currency_ok(provider, request->currency) || subject[0] == 0 ||
        strlen(subject) > LIMIT_NAME_BYTES || !text_printable(subject, strlen(subject))) {
        return pay_call_fail(&result->call, STATUS_INVALID_VALUE,
                             "the order reference, subject, amount or currency is not one "
                             "this provider takes");
    }
    switch (provider) {
    case PAY_WECHATPAY:
        return pay_wechatpay_create(config, request, result);
    case PAY_ALIPAY:
        return pay_alipay_create(config, request, result);
    case PAY_EPAY:
        return pay_epay_create(config, request, result);
    case PAY_STRIPE:
        return pay_stripe_create(config, request, result);
    case PAY_SANDBOX:
    case PAY_PROVIDER_COUNT:
        break;
    }
    assert_fail("pay_can_call admitted a provider without an API", __FILE__, __LINE__);
}

enum status pay_query(const struct pay_config *config, enum pay_provider provider,
                      const struct pay_query_request *request, struct pay_query_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify((unsigned)provider < PAY_PROVIDER_COUNT);
    memset(result, 0, sizeof *result);
    pay_call_reset(&result->call);
    if (!pay_can_call(config, provider, PAY_QUERY))
        return pay_unavailable(provider, PAY_QUERY, &result->call);
    if (!pay_ref_safe(request->order_ref) ||
        (request->intent != 0 && !pay_ref_safe(request->intent))) {
        return pay_call_fail(&result->call, STATUS_INVALID_VALUE,
                             "the order reference or intent is not 1 to 64 of [A-Za-z0-9_-]");
    }
    switch (provider) {
    case PAY_WECHATPAY:
        return pay_wechatpay_query(config, request, result);
    case PAY_ALIPAY:
        return pay_alipay_query(config, request, result);
    case PAY_EPAY:
        return pay_epay_query(config, request, result);
    case PAY_STRIPE:
        return pay_stripe_query(config, request, result);
    case PAY_SANDBOX:
    case PAY_PROVIDER_COUNT:
        break;
    }
    assert_fail("pay_can_call admitted a provider without an API", __FILE__, __LINE__);
}

static bool pay_refund_valid(enum pay_provider provider, const struct pay_refund_request *r) {
    if (!pay_ref_safe(r->order_ref) || !pay_ref_safe(r->refund_ref)) return false;
    if (r->transaction != 0 && !pay_ref_safe(r->transaction)) return false;
    if (provider == PAY_STRIPE && r->transaction == 0) return false; /* the pi_… */
    if (!money_amount_valid(r->amount) || !pay_currency_ok(provider, r->currency)) return false;
    if (provider == PAY_WECHATPAY && (!money_amount_valid(r->total) || r->amount > r->total))
        return false;
    if (r->total != 0 && r->amount > r->total) return false;
    const char *reason = r->reason ? r->reason : "";
    return strlen(reason) <= LIMIT_REASON_BYTES / 2 && text_printable(reason, strlen(reason));
}

enum status pay_refund(const struct pay_config *config, enum pay_provider provider,
                       const struct pay_refund_request *request, struct pay_refund_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify((unsigned)provider < PAY_PROVIDER_COUNT);
    memset(result, 0, sizeof *result);
    if (!pay_can_call(config, provider, PAY_REFUND))
        return pay_unavailable(provider, PAY_REFUND, &result->call);
    if (!pay_refund_valid(provider, request)) {
        return pay_call_fail(&result->call, STATUS_INVALID_VALUE,
                             "the references, amounts (refund at most the total), currency or "
                             "reason are not ones this provider takes");
    }
    switch (provider) {
    case PAY_WECHATPAY:
        return pay_wechatpay_refund(config, request, result);
    case PAY_ALIPAY:
        return pay_alipay_refund(config, request, result);
    case PAY_EPAY:
        return pay_epay_refund(config, request, result);
    case PAY_STRIPE:
        return pay_stripe_refund(config, request, result);
    case PAY_SANDBOX:
    case PAY_PROVIDER_COUNT:
        break;
    }
    assert_fail("pay_can_call admitted a provider without an API", __FILE__, __LINE__);
}
