/* pay.c — provider names, the verify entry point and helpers shared by the verifiers. */
#include "pay/pay.h"
#include "pay/outbound.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/text.h"
#include "pay/config.h"
#include "pay/providers.h"

static const char *const pay_names[PAY_PROVIDER_COUNT] = {
    [PAY_SANDBOX] = "sandbox", [PAY_EPAY] = "epay",     [PAY_WECHATPAY] = "wechatpay",
    [PAY_ALIPAY] = "alipay",   [PAY_STRIPE] = "stripe",
};

const char *pay_provider_name(enum pay_provider provider) {
    verify((unsigned)provider < PAY_PROVIDER_COUNT);
    return pay_names[provider];
}

bool pay_provider_parse(const char *name, enum pay_provider *out) {
    verify(name != 0 && out != 0);
    for (int i = 0; i < PAY_PROVIDER_COUNT; i++) {
        if (strcmp(name, pay_names[i]) == 0) {
            *out = (enum pay_provider)i;
            return true;
        }
    }
    return false;
}

bool pay_provider_on(const struct pay_config *config, enum pay_provider provider) {
    verify(config != 0 && (unsigned)provider < PAY_PROVIDER_COUNT);
    switch (provider) {
    case PAY_SANDBOX:
        return config->sandbox.on;
    case PAY_EPAY:
        return config->epay.on;
    case PAY_WECHATPAY:
        return config->wechatpay.on;
    case PAY_ALIPAY:
        return config->alipay.on;
    case PAY_STRIPE:
        return config->stripe.on;
    case PAY_PROVIDER_COUNT:
        break;
    }
    return false;
}

const char *pay_header(const struct pay_request *request, const char *name) {
    verify(request != 0 && name != 0);
    for (int i = 0; i < request->header_count; i++) {
        if (strcasecmp(request->headers[i].name, name) == 0) return request->headers[i].value;
    }
    return 0;
}

bool pay_parse_decimal(const char *text, int64_t *minor_out) {
    verify(text != 0 && minor_out != 0);
    int64_t major = 0;
    size_t i = 0;
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        if (i >= 12) return false; /* LIMIT_AMOUNT_MINOR is 1e9 major units */
        major = major * 10 + (text[i] - '0');
    }
    if (i == 0 || (i > 1 && text[0] == '0')) return false;
    int64_t cents = 0;
    if (text[i] == '.') {
        i++;
        size_t digits = 0;
        for (; text[i] >= '0' && text[i] <= '9'; i++) {
            if (++digits > 2) return false;
            cents = cents * 10 + (text[i] - '0');
        }
        if (digits == 0) return false;
        if (digits == 1) cents *= 10;
    }
    if (text[i] != 0) return false;
    int64_t minor = major * 100 + cents;
    if (minor > LIMIT_AMOUNT_MINOR) return false;
    *minor_out = minor;
    return true;
}

void pay_format_decimal(int64_t minor, char out[PAY_DECIMAL_BYTES]) {
    verify(out != 0);
    verify(minor >= 0 && minor <= LIMIT_AMOUNT_MINOR);
    snprintf(out, PAY_DECIMAL_BYTES, "%lld.%02lld", (long long)(minor / 100),
             (long long)(minor % 100));
}

enum status pay_refuse(char *reason, size_t reason_size, const char *why) {
    snprintf(reason, reason_size, "%s", why);
    return STATUS_INVALID_NOTICE;
}

bool pay_copy_ref(const char *value, bool required, char *out, size_t size) {
    out[0] = 0;
    if (value == 0 || value[0] == 0) return !required;
    size_t len = strlen(value);
    if (len >= size || len > LIMIT_PAY_REF_BYTES || !text_printable(value, len)) return false;
    memcpy(out, value, len + 1);
    return true;
}

bool pay_json_ref(json_t *object, const char *name, bool required, char *out, size_t size) {
    json_t *value = json_is_object(object) ? json_object_get(object, name) : 0;
    out[0] = 0;
    if (value == 0 || json_is_null(value)) return !required;
    if (!json_is_string(value)) return false;
    size_t len = json_string_length(value);
    if (memchr(json_string_value(value), 0, len) != 0) return false;
    return pay_copy_ref(json_string_value(value), required, out, size);
}

enum status pay_verify(const struct pay_config *config, enum pay_provider provider,
                       const struct pay_request *request, struct pay_notice *out,
                       struct buf *resource, char *reason, size_t reason_size) {
    verify(config != 0 && request != 0 && out != 0 && reason != 0 && reason_size > 0);
    verify(request->body != 0 || request->len == 0);
    verify((unsigned)provider < PAY_PROVIDER_COUNT);
    memset(out, 0, sizeof *out);
    out->provider = provider;
    reason[0] = 0;
    if (request->len > LIMIT_PAY_NOTICE_BYTES) {
        return pay_refuse(reason, reason_size, "the notice is over the size limit");
    }
    struct pay_request copy = *request;
    if (copy.body == 0) copy.body = "";
    request = &copy;
    switch (provider) {
    case PAY_EPAY:
        if (!config->epay.on) break;
        return pay_epay_verify(config, request, out, reason, reason_size);
    case PAY_STRIPE:
        if (!config->stripe.on) break;
        return pay_stripe_verify(config, request, out, reason, reason_size);
    case PAY_WECHATPAY:
        if (!config->wechatpay.on) break;
        return pay_wechatpay_verify(config, request, out, resource, reason, reason_size);
    case PAY_ALIPAY:
        if (!config->alipay.on) break;
        return pay_alipay_verify(config, request, out, reason, reason_size);
    case PAY_SANDBOX:
        if (!config->sandbox.on) break;
        return pay_sandbox_verify(config, request, out, reason, reason_size);
    case PAY_PROVIDER_COUNT:
        break;
    }
    return pay_refuse(reason, reason_size, "this provider is not configured");
}

bool pay_creates_remotely(enum pay_provider provider) {
    return provider == PAY_WECHATPAY || provider == PAY_ALIPAY || provider == PAY_STRIPE;
}

bool pay_takes_orders(const struct pay_config *config, enum pay_provider provider) {
    verify(config != 0);
    if (!pay_provider_on(config, provider)) return false;
    if (pay_creates_remotely(provider)) return pay_can_call(config, provider, PAY_CREATE);
    return provider == PAY_SANDBOX || (provider == PAY_EPAY && config->epay.submit_url[0] != 0);
}

enum status pay_url(const struct pay_config *config, enum pay_provider provider,
                    const char *order_ref, const char *subject, int64_t amount, struct buf *out) {
    verify(config != 0 && order_ref != 0 && subject != 0 && amount > 0 && out != 0);
    verify(pay_takes_orders(config, provider) && !pay_creates_remotely(provider));
    if (provider == PAY_SANDBOX) return buf_printf(out, "/pay/sandbox/%s", order_ref);
    return pay_epay_submit_url(config, order_ref, subject, amount, out);
}

int64_t pay_second_admin_above(const struct pay_config *config) {
    verify(config != 0);
    return config->second_admin_above;
}
