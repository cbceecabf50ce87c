/* status.c — the table mapping each status to its HTTP status, error code and message.
 * Never put request data (codes, passwords) into these strings. */
#include "base/status.h"

#include "base/assert.h"

struct status_info {
    int http;
    const char *code;
    const char *message;
};

static const struct status_info status_table[STATUS_COUNT] = {
    [STATUS_OK] = {200, "ok", "ok"},
    [STATUS_INVALID_JSON] = {400, "invalid_json", "the body is not valid JSON"},
    [STATUS_INVALID_FIELD] = {400, "invalid_field",
                              "a field is missing, unknown or of the wrong type"},
    [STATUS_INVALID_VALUE] = {422, "invalid_value", "a field's value is out of range"},
    [STATUS_INVALID_QUANTITY] = {422, "invalid_quantity",
                                 "quantity must be an integer from 1 to the per-order limit"},
    [STATUS_INVALID_AMOUNT] = {422, "invalid_amount",
                               "amount must be a positive integer of minor units within the limit"},
    [STATUS_MISSING_IDEMPOTENCY] = {400, "missing_idempotency_key",
                                    "the Idempotency-Key header is required"},
    [STATUS_UNSUPPORTED_MEDIA] = {415, "unsupported_media_type", "unsupported Content-Type"},
    [STATUS_UNAUTHORIZED] = {401, "unauthorized", "a valid bearer token is required"},
    [STATUS_BAD_CREDENTIALS] = {401, "bad_credentials", "wrong username or password"},
    [STATUS_FORBIDDEN] = {403, "forbidden", "your role may not do this"},
    [STATUS_NOT_FOUND] = {404, "not_found", "no such resource"},
    [STATUS_UNKNOWN_SKU] = {404, "unknown_sku", "no product with this SKU"},
    [STATUS_UNKNOWN_ORDER] = {404, "unknown_order", "no such order"},
    [STATUS_UNKNOWN_USER] = {404, "unknown_user", "no such user"},
    [STATUS_METHOD_NOT_ALLOWED] = {405, "method_not_allowed",
                                   "method not allowed on this resource"},
    [STATUS_EXISTS] = {409, "already_exists", "a resource with this name already exists"},
    [STATUS_OUT_OF_STOCK] = {409, "out_of_stock", "not enough codes in stock"},
    [STATUS_IDEMPOTENCY_CONFLICT] = {409, "idempotency_conflict",
                                     "this Idempotency-Key was used with a different request"},
    [STATUS_INSUFFICIENT_FUNDS] = {402, "insufficient_funds", "the wallet balance is too low"},
    [STATUS_NOT_A_BUYER] = {422, "not_a_buyer", "only buyers have wallets"},
    [STATUS_BODY_TOO_LARGE] = {413, "body_too_large", "the request body is over the limit"},
    [STATUS_TOO_MANY_CODES] = {413, "too_many_codes", "too many codes in one import request"},
    [STATUS_URI_TOO_LONG] = {414, "uri_too_long", "the request target is over the limit"},
    [STATUS_TOO_MANY_HEADERS] = {431, "too_many_headers", "too many request headers"},
    [STATUS_INVALID_HEADER] = {400, "invalid_header",
                               "a request header that must come once is repeated, or the "
                               "body's length is given twice"},
    [STATUS_OVERFLOW] = {422, "overflow", "the amount overflows"},
    [STATUS_RISK_BLOCKED] = {403, "risk_blocked", "refused by the risk rules"},
    [STATUS_CHALLENGE_REQUIRED] = {403, "challenge_required",
                                   "the risk rules ask for identity verification first"},
    [STATUS_ORDER_NOT_DELIVERED] = {409, "order_not_delivered",
                                    "the order's codes are not delivered (held or cancelled)"},
    [STATUS_NOT_IN_REVIEW] = {409, "not_in_review", "the order is not held for review"},
    [STATUS_INVALID_RULES] = {422, "invalid_rules", "the rule file does not compile"},
    [STATUS_UNKNOWN_LIST] = {404, "unknown_list", "the active rules declare no such list"},
    [STATUS_UNKNOWN_DECISION] = {404, "unknown_decision", "no decision is recorded for this"},
    [STATUS_INVALID_NOTICE] = {400, "invalid_notice", "the payment notice failed verification"},
    [STATUS_PAYMENT_MISMATCH] = {409, "payment_mismatch",
                                 "the payment's amount or currency is not the order's"},
    [STATUS_SECOND_ADMIN_REQUIRED] = {409, "second_admin_required",
                                      "a second, different admin must confirm this payment"},
    [STATUS_UNKNOWN_PROVIDER] = {422, "unknown_provider",
                                 "no such payment provider is set up here"},
    [STATUS_NOT_REFUNDABLE] = {409, "not_refundable",
                               "more than the order's refundable amount: codes the buyer saw "
                               "are refundable only once support marked them invalid"},
    [STATUS_UNKNOWN_REFUND] = {404, "unknown_refund", "no such refund"},
    [STATUS_REFUND_SETTLED] = {409, "refund_settled",
                               "the refund is not waiting for a person to settle it"},
    [STATUS_REFUND_IN_FLIGHT] = {409, "refund_in_flight",
                                 "the refund's request to the provider may still be on the way; "
                                 "settle it once the provider has had time to answer"},
    [STATUS_PLAN_HELD] = {409, "plan_held",
                          "the plan's order waits for a review: nothing is due until then"},
    [STATUS_TOO_MANY_PLANS] = {409, "too_many_plans",
                               "the buyer has as many open installment plans as allowed"},
    [STATUS_CREDIT_NOT_ALLOWED] = {403, "credit_not_allowed",
                                   "credit cannot buy high-liquidity goods"},
    [STATUS_INSUFFICIENT_CREDIT] = {402, "insufficient_credit",
                                    "the credit line's available amount is too small"},
    [STATUS_NO_CREDIT_LINE] = {404, "no_credit_line", "the buyer has no credit line"},
    [STATUS_NOTHING_OWED] = {409, "nothing_owed", "nothing is outstanding on the credit line"},
    [STATUS_INVALID_PLAN] = {422, "invalid_plan",
                             "no installment plan with this number of periods"},
    [STATUS_PLAN_CLOSED] = {409, "plan_closed", "the installment plan is paid off or cancelled"},
    [STATUS_PROVIDER_REFUSED] = {502, "provider_refused",
                                 "the payment provider refused the request"},
    [STATUS_PROVIDER_INVALID_RESPONSE] = {502, "provider_invalid_response",
                                          "the payment provider's answer failed verification"},
    [STATUS_PROVIDER_UNAVAILABLE] = {503, "provider_unavailable",
                                     "the payment provider is unavailable; retry later"},
    [STATUS_PROVIDER_TIMEOUT] = {504, "provider_timeout",
                                 "the payment provider did not answer in time"},
    [STATUS_BUSY] = {503, "busy", "the server is busy or shutting down; retry"},
    [STATUS_IO] = {500, "io_error", "input/output error"},
    [STATUS_DB] = {500, "database_error", "database error"},
    [STATUS_CRYPTO] = {500, "crypto_error", "cryptographic failure"},
    [STATUS_TAMPERED] = {500, "tampered", "sealed data failed authentication"},
    [STATUS_NOMEM] = {500, "out_of_memory", "out of memory"},
};

static const struct status_info *status_info(enum status status) {
    verify((unsigned)status < STATUS_COUNT);
    const struct status_info *info = &status_table[status];
    verify(info->code != 0);
    return info;
}

const char *status_code(enum status status) { return status_info(status)->code; }
const char *status_message(enum status status) { return status_info(status)->message; }
int status_http(enum status status) { return status_info(status)->http; }
