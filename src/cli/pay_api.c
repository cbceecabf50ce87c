/* pay_api.c — `tessera pay create|query|refund`: an operator's (and the tests') way to call
 * a payment provider's API with the merchant configuration (src/pay/outbound.h):
 *
 *   tessera pay create --provider P --config FILE --order REF --amount N [--currency C]
 *                      --subject S
 *   tessera pay query  --provider P --config FILE --order REF [--intent pi_…]
 *   tessera pay refund --provider P --config FILE --order REF --refund REF --amount N
 *                      [--total N] [--currency C] [--transaction T] [--reason R]
 *
 * One JSON object on stdout: the result, or {"error":{"code","message",…}}. Exit 0 on
 * success, 1 when the provider refused, could not be reached or its answer failed
 * verification, 2 on a usage or configuration error. Nothing secret is printed: no key, no
 * signature, no URL (EPay's carry the key). */
#include <stdio.h>
#include <string.h>

#include "base/text.h"
#include "cli/cli.h"
#include "pay/config.h"
#include "pay/outbound.h"

struct pay_cli_args {
    const char *provider, *config, *order, *amount, *currency, *subject, *transaction, *refund,
        *total, *reason, *intent;
};

static bool pay_cli_amount(const char *text, const char *name, int64_t *out) {
    if (text == 0) return false;
    if (text_parse_int(text, strlen(text), out) != STATUS_OK || !money_amount_valid(*out)) {
        fprintf(stderr, "tessera pay: %s is a positive number of minor units (fen, cents)\n", name);
        return false;
    }
    return true;
}

static enum status pay_cli_field(struct buf *out, const char *name, const char *value) {
    if (value == 0 || value[0] == 0) return STATUS_OK;
    enum status status = buf_printf(out, ",\"%s\":", name);
    if (status == STATUS_OK) status = text_append_json_string(out, value);
    return status;
}

static enum status pay_cli_flag(struct buf *out, const char *name, bool value) {
    return buf_printf(out, ",\"%s\":%s", name, value ? "true" : "false");
}

/* {"error":{"code","message","attempts","http_status"[,"provider_code"]}} */
static enum status pay_cli_error(struct buf *out, enum status status, const struct pay_call *call) {
    enum status s =
        buf_printf(out, "{\"error\":{\"code\":\"%s\",\"message\":", status_code(status));
    if (s == STATUS_OK)
        s = text_append_json_string(out, call->message[0] ? call->message : status_message(status));
    if (s == STATUS_OK)
        s = buf_printf(out, ",\"attempts\":%d,\"http_status\":%d", call->attempts,
                       call->http_status);
    if (s == STATUS_OK) s = pay_cli_field(out, "provider_code", call->provider_code);
    if (s == STATUS_OK) s = buf_append(out, "}}", 2);
    return s;
}

static enum status pay_cli_head(struct buf *out, const struct pay_cli_args *args,
                                const char *operation) {
    enum status s =
        buf_printf(out, "{\"provider\":\"%s\",\"operation\":\"%s\"", args->provider, operation);
    if (s == STATUS_OK) s = pay_cli_field(out, "order_ref", args->order);
    return s;
}

static enum status pay_cli_create(const struct pay_config *config, enum pay_provider provider,
                                  const struct pay_cli_args *args, struct buf *out,
                                  enum status *result_status) {
    struct pay_create_request request = {args->order, args->subject, 0, args->currency};
    if (args->subject == 0 || !pay_cli_amount(args->amount, "--amount", &request.amount)) {
        if (args->subject == 0) fputs("tessera pay create: --subject is required\n", stderr);
        return STATUS_INVALID_FIELD;
    }
    static struct pay_create_result result; /* large: off the stack */
    *result_status = pay_create(config, provider, &request, &result);
    if (*result_status != STATUS_OK) return pay_cli_error(out, *result_status, &result.call);
    enum status s = pay_cli_head(out, args, "create");
    if (s == STATUS_OK) s = pay_cli_field(out, "code_url", result.code_url);
    if (s == STATUS_OK) s = pay_cli_field(out, "qr_code", result.qr_code);
    if (s == STATUS_OK) s = pay_cli_field(out, "pay_url", result.pay_url);
    if (s == STATUS_OK) s = pay_cli_field(out, "provider_id", result.provider_id);
    if (s == STATUS_OK) s = pay_cli_field(out, "client_secret", result.client_secret);
    if (s == STATUS_OK) s = buf_printf(out, ",\"attempts\":%d}", result.call.attempts);
    return s;
}

static enum status pay_cli_query(const struct pay_config *config, enum pay_provider provider,
                                 const struct pay_cli_args *args, struct buf *out,
                                 enum status *result_status) {
    struct pay_query_request request = {args->order, args->intent};
    struct pay_query_result result;
    *result_status = pay_query(config, provider, &request, &result);
    if (*result_status != STATUS_OK) return pay_cli_error(out, *result_status, &result.call);
    enum status s = pay_cli_head(out, args, "query");
    if (s == STATUS_OK) s = pay_cli_flag(out, "found", result.found);
    if (s == STATUS_OK) s = pay_cli_flag(out, "paid", result.paid);
    if (s == STATUS_OK) s = pay_cli_field(out, "state", result.state);
    if (s == STATUS_OK) s = pay_cli_field(out, "transaction", result.transaction);
    if (s == STATUS_OK && result.has_amount) {
        s = buf_printf(out, ",\"amount\":%lld,\"currency\":\"%s\"", (long long)result.amount,
                       result.currency);
    }
    if (s == STATUS_OK) s = buf_printf(out, ",\"attempts\":%d}", result.call.attempts);
    return s;
}

static enum status pay_cli_refund(const struct pay_config *config, enum pay_provider provider,
                                  const struct pay_cli_args *args, struct buf *out,
                                  enum status *result_status) {
    struct pay_refund_request request = {args->order, args->transaction, args->refund, 0,
                                         0,           args->currency,    args->reason};
    if (args->refund == 0 || !pay_cli_amount(args->amount, "--amount", &request.amount) ||
        (args->total != 0 && !pay_cli_amount(args->total, "--total", &request.total))) {
        if (args->refund == 0) fputs("tessera pay refund: --refund is required\n", stderr);
        return STATUS_INVALID_FIELD;
    }
    struct pay_refund_result result;
    *result_status = pay_refund(config, provider, &request, &result);
    if (*result_status != STATUS_OK) return pay_cli_error(out, *result_status, &result.call);
    enum status s = pay_cli_head(out, args, "refund");
    if (s == STATUS_OK) s = pay_cli_field(out, "refund_ref", args->refund);
    if (s == STATUS_OK) s = pay_cli_flag(out, "accepted", result.accepted);
    if (s == STATUS_OK) s = pay_cli_flag(out, "succeeded", result.succeeded);
    if (s == STATUS_OK) s = pay_cli_flag(out, "pending", result.pending);
    if (s == STATUS_OK) s = pay_cli_field(out, "state", result.state);
    if (s == STATUS_OK) s = pay_cli_field(out, "refund_id", result.refund_id);
    if (s == STATUS_OK) s = buf_printf(out, ",\"attempts\":%d}", result.call.attempts);
    return s;
}

int cli_pay_outbound(int argc, char **argv) {
    const char *operation = argv[0];
    struct pay_cli_args a = {0};
    struct cli_option options[] = {{"--provider", true, &a.provider},
                                   {"--config", true, &a.config},
                                   {"--order", true, &a.order},
                                   {"--amount", true, &a.amount},
                                   {"--currency", true, &a.currency},
                                   {"--subject", true, &a.subject},
                                   {"--transaction", true, &a.transaction},
                                   {"--refund", true, &a.refund},
                                   {"--total", true, &a.total},
                                   {"--reason", true, &a.reason},
                                   {"--intent", true, &a.intent}};
    if (!cli_parse(argc, argv, options, (int)(sizeof options / sizeof options[0]), 0)) return 2;
    enum pay_provider provider = PAY_SANDBOX;
    if (a.provider == 0 || a.config == 0 || a.order == 0) {
        fprintf(stderr, "tessera pay %s: --provider, --config and --order are required\n",
                operation);
        return 2;
    }
    if (!pay_provider_parse(a.provider, &provider) || provider == PAY_SANDBOX) {
        fprintf(stderr, "tessera pay %s: --provider is wechatpay, alipay, epay or stripe\n",
                operation);
        return 2;
    }
    if (a.currency == 0) a.currency = "CNY";
    char message[256];
    struct pay_config *config = 0;
    if (pay_config_load(a.config, &config, message, sizeof message) != STATUS_OK) {
        fprintf(stderr, "tessera pay %s: %s\n", operation, message);
        return 2;
    }
    struct buf out;
    buf_init(&out, 4 * LIMIT_PAY_LINK_BYTES + 4096);
    enum status result = STATUS_OK, printed = STATUS_INVALID_FIELD;
    if (strcmp(operation, "create") == 0) {
        printed = pay_cli_create(config, provider, &a, &out, &result);
    } else if (strcmp(operation, "query") == 0) {
        printed = pay_cli_query(config, provider, &a, &out, &result);
    } else {
        printed = pay_cli_refund(config, provider, &a, &out, &result);
    }
    pay_config_free(config);
    int code = 2;
    if (printed == STATUS_OK) {
        printf("%s\n", out.data);
        code = result == STATUS_OK ? 0 : 1;
        if (result == STATUS_INVALID_VALUE || result == STATUS_UNKNOWN_PROVIDER) code = 2;
    }
    buf_free(&out);
    return code;
}
