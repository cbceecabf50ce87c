/* stripe_api.c — calling Stripe's API: PaymentIntents created (POST /v1/payment_intents,
 * form-encoded amount, lower-case currency, description, metadata[order_id] — the member
 * the webhooks read, stripe.c), read (GET /v1/payment_intents/{id}, or, without the id, the
 * search for metadata['order_id']) and refunded (POST /v1/refunds). The secret key goes as
 * a bearer token; each POST carries an Idempotency-Key ("create-" + order, "refund-" +
 * refund reference: keys are scoped per account, so the prefixes keep an order and a refund
 * of the same name apart), which makes a retry safe. Answers are not signed (TLS is the
 * proof); an intent must name our order. The key is never reported. */
#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "pay/api.h"
#include "pay/form.h"
#include "pay/providers.h"

#define STRIPE_VERSION "2024-06-20" /* the API version whose objects these readers know */

enum status pay_stripe_answer(const struct pay_http_response *response, json_t **out,
                              struct pay_call *call) {
    verify(response != 0 && out != 0 && call != 0);
    json_error_t error;
    json_t *root = json_loadb(response->body.data ? response->body.data : "", response->body.len,
                              JSON_REJECT_DUPLICATES, &error);
    *out = 0;
    if (response->status >= 200 && response->status < 300) {
        if (json_is_object(root)) {
            *out = root;
            return STATUS_OK;
        }
        json_decref(root);
        return pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                             "Stripe's answer is not a JSON object");
    }
    json_t *e = json_object_get(root, "error");
    if (!pay_json_ref(e, "code", true, call->provider_code, sizeof call->provider_code) &&
        !pay_json_ref(e, "type", true, call->provider_code, sizeof call->provider_code)) {
        call->provider_code[0] = 0;
    }
    json_decref(root);
    snprintf(call->message, sizeof call->message, "Stripe refused the request (HTTP %d%s%s)",
             response->status, call->provider_code[0] ? ", " : "", call->provider_code);
    return STATUS_PROVIDER_REFUSED;
}

/* Sends method path (and a form body) with the bearer key and, for a POST, the
 * idempotency key; the answer's JSON through *out. */
static enum status stripe_call(const struct pay_config *config, const char *method,
                               const char *path, const struct buf *form, const char *idempotency,
                               struct pay_http_response *response, json_t **out,
                               struct pay_call *call) {
    struct buf url, authorization, key_header;
    buf_init(&url, LIMIT_URL_BYTES + PAY_URL_BYTES);
    buf_init(&authorization, PAY_SECRET_BYTES + 32);
    buf_init(&key_header, LIMIT_PAY_REF_BYTES + 64);
    enum status status = buf_printf(&url, "%s%s", config->stripe.api_base, path);
    if (status == STATUS_OK)
        status = buf_printf(&authorization, "Authorization: Bearer %s", config->stripe.secret_key);
    if (status == STATUS_OK && idempotency != 0)
        status = buf_printf(&key_header, "Idempotency-Key: %s", idempotency);
    if (status == STATUS_OK) {
        struct pay_http_request request = {
            .method = method,
            .url = url.data,
            .headers = {authorization.data, "Stripe-Version: " STRIPE_VERSION,
                        "Accept: application/json",
                        form ? "Content-Type: application/x-www-form-urlencoded" : 0,
                        idempotency ? key_header.data : 0},
            .body = form ? form->data : 0,
            .len = form ? form->len : 0,
            .idempotent = form == 0 || idempotency != 0,
        };
        status = pay_http_send(config, &request, response, call);
    } else {
        status = pay_call_fail(call, status, "the request cannot be built");
    }
    if (authorization.data != 0) sodium_memzero(authorization.data, authorization.len);
    buf_free(&url);
    buf_free(&authorization);
    buf_free(&key_header);
    if (status != STATUS_OK) return status;
    return pay_stripe_answer(response, out, call);
}

static enum status stripe_field(struct buf *form, const char *key, const char *value) {
    enum status status = buf_printf(form, "%s%s=", form->len > 0 ? "&" : "", key);
    if (status == STATUS_OK) status = pay_url_escape(form, value);
    return status;
}

/* metadata.order_id of an object, when it is order_ref. */
static bool stripe_names_order(json_t *object, const char *order_ref) {
    char ref[LIMIT_PAY_REF_BYTES + 1];
    return pay_json_ref(json_object_get(object, "metadata"), "order_id", true, ref, sizeof ref) &&
           strcmp(ref, order_ref) == 0;
}

enum status pay_stripe_create(const struct pay_config *config,
                              const struct pay_create_request *request,
                              struct pay_create_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_STRIPE, PAY_CREATE));
    char currency[MONEY_CURRENCY_BYTES], amount[24], idempotency[LIMIT_PAY_REF_BYTES + 16];
    for (int i = 0; i < MONEY_CURRENCY_BYTES; i++)
        currency[i] = (char)tolower((unsigned char)request->currency[i]);
    snprintf(amount, sizeof amount, "%lld", (long long)request->amount);
    snprintf(idempotency, sizeof idempotency, "create-%s", request->order_ref);
    struct buf form;
    buf_init(&form, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    enum status status = stripe_field(&form, "amount", amount);
    if (status == STATUS_OK) status = stripe_field(&form, "currency", currency);
    if (status == STATUS_OK) status = stripe_field(&form, "description", request->subject);
    if (status == STATUS_OK) status = stripe_field(&form, "metadata[order_id]", request->order_ref);
    struct pay_http_response response;
    pay_http_response_init(&response);
    json_t *intent = 0;
    if (status == STATUS_OK) {
        status = stripe_call(config, "POST", "/v1/payment_intents", &form, idempotency, &response,
                             &intent, &result->call);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    if (status == STATUS_OK &&
        (!pay_json_ref(intent, "id", true, result->provider_id, sizeof result->provider_id) ||
         strncmp(result->provider_id, "pi_", 3) != 0 ||
         !pay_json_text(intent, "client_secret", true, result->client_secret,
                        sizeof result->client_secret) ||
         !stripe_names_order(intent, request->order_ref))) {
        result->provider_id[0] = result->client_secret[0] = 0;
        status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Stripe's answer is not a PaymentIntent for this order");
    }
    json_decref(intent);
    pay_http_response_free(&response);
    buf_free(&form);
    return status;
}

enum status pay_stripe_intent_parse(const char *order_ref, json_t *intent,
                                    struct pay_query_result *out, struct pay_call *call) {
    verify(order_ref != 0 && out != 0 && call != 0);
    json_t *amount = json_object_get(intent, "amount");
    char currency[8];
    if (!pay_json_ref(intent, "id", true, out->transaction, sizeof out->transaction) ||
        !pay_json_ref(intent, "status", true, out->state, sizeof out->state) ||
        !pay_json_ref(intent, "currency", true, currency, sizeof currency) ||
        strlen(currency) != 3 || !json_is_integer(amount) || json_integer_value(amount) < 0 ||
        json_integer_value(amount) > LIMIT_AMOUNT_MINOR) {
        out->transaction[0] = out->state[0] = 0;
        return pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                             "Stripe's answer is not a PaymentIntent");
    }
    for (int i = 0; i < 3; i++)
        out->currency[i] = (char)toupper((unsigned char)currency[i]);
    out->currency[3] = 0;
    if (!money_currency_valid(out->currency) || !stripe_names_order(intent, order_ref)) {
        out->transaction[0] = out->state[0] = out->currency[0] = 0;
        return pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                             "Stripe's PaymentIntent is not this order's");
    }
    out->found = true;
    out->paid = strcmp(out->state, "succeeded") == 0;
    out->has_amount = true;
    out->amount = (int64_t)json_integer_value(amount);
    return STATUS_OK;
}

/* A search's data: the succeeded intent if there is one, else the newest (the first). */
static json_t *stripe_pick(json_t *answer) {
    json_t *data = json_object_get(answer, "data");
    if (!json_is_array(data) || json_array_size(data) == 0) return 0;
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *status = json_object_get(json_array_get(data, i), "status");
        if (json_is_string(status) && strcmp(json_string_value(status), "succeeded") == 0)
            return json_array_get(data, i);
    }
    return json_array_get(data, 0);
}

enum status pay_stripe_query(const struct pay_config *config,
                             const struct pay_query_request *request,
                             struct pay_query_result *result) {
    verify(config != 0 && request != 0 && result != 0);
    verify(pay_can_call(config, PAY_STRIPE, PAY_QUERY));
    struct buf path;
    buf_init(&path, LIMIT_URL_BYTES);
    enum status status = STATUS_OK;
    if (request->intent != 0) {
        status = buf_printf(&path, "/v1/payment_intents/%s", request->intent);
    } else {
        char query[LIMIT_PAY_REF_BYTES + 32];
        snprintf(query, sizeof query, "metadata['order_id']:'%s'", request->order_ref);
        status = buf_printf(&path, "/v1/payment_intents/search?query=");
        if (status == STATUS_OK) status = pay_url_escape(&path, query);
    }
    struct pay_http_response response;
    pay_http_response_init(&response);
    json_t *answer = 0;
    if (status == STATUS_OK) {
        status = stripe_call(config, "GET", path.data, 0, 0, &response, &answer, &result->call);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    json_t *intent = request->intent != 0 ? answer : stripe_pick(answer);
    if (status == STATUS_OK && intent != 0) {
        status = pay_stripe_intent_parse(request->order_ref, intent, result, &result->call);
    } else if (status == STATUS_OK && !json_is_array(json_object_get(answer, "data"))) {
        status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Stripe's answer is not a search result");
    }
    bool missing = status == STATUS_PROVIDER_REFUSED && response.status == 404 &&
                   strcmp(result->call.provider_code, "resource_missing") == 0;
    if (missing || (status == STATUS_OK && intent == 0)) {
        status = STATUS_OK; /* found stays false */
        result->call.message[0] = 0;
        snprintf(result->state, sizeof result->state, "not_found");
    }
    json_decref(answer);
    pay_http_response_free(&response);
    buf_free(&path);
    return status;
}

enum status pay_stripe_refund(const struct pay_config *config,
                              const struct pay_refund_request *request,
                              struct pay_refund_result *result) {
    verify(config != 0 && request != 0 && result != 0 && request->transaction != 0);
    verify(pay_can_call(config, PAY_STRIPE, PAY_REFUND));
    char amount[24], idempotency[LIMIT_PAY_REF_BYTES + 16];
    snprintf(amount, sizeof amount, "%lld", (long long)request->amount);
    snprintf(idempotency, sizeof idempotency, "refund-%s", request->refund_ref);
    struct buf form;
    buf_init(&form, LIMIT_PAY_OUTBOUND_BODY_BYTES);
    enum status status = stripe_field(&form, "payment_intent", request->transaction);
    if (status == STATUS_OK) status = stripe_field(&form, "amount", amount);
    if (status == STATUS_OK) status = stripe_field(&form, "metadata[order_id]", request->order_ref);
    if (status == STATUS_OK)
        status = stripe_field(&form, "metadata[refund_ref]", request->refund_ref);
    if (status == STATUS_OK && request->reason != 0 && request->reason[0] != 0)
        status = stripe_field(&form, "metadata[reason]", request->reason);
    struct pay_http_response response;
    pay_http_response_init(&response);
    json_t *refund = 0;
    if (status == STATUS_OK) {
        status = stripe_call(config, "POST", "/v1/refunds", &form, idempotency, &response, &refund,
                             &result->call);
    } else {
        status = pay_call_fail(&result->call, status, "the request cannot be built");
    }
    if (status == STATUS_OK &&
        (!pay_json_ref(refund, "id", true, result->refund_id, sizeof result->refund_id) ||
         !pay_json_ref(refund, "status", true, result->state, sizeof result->state))) {
        result->refund_id[0] = result->state[0] = 0;
        status = pay_call_fail(&result->call, STATUS_PROVIDER_INVALID_RESPONSE,
                               "Stripe's answer is not a refund");
    }
    if (status == STATUS_OK) {
        result->succeeded = strcmp(result->state, "succeeded") == 0;
        result->pending =
            strcmp(result->state, "pending") == 0 || strcmp(result->state, "requires_action") == 0;
        result->accepted = result->succeeded || result->pending;
        if (!result->accepted) { /* failed, canceled: Stripe took the request, not the refund */
            snprintf(result->call.message, sizeof result->call.message,
                     "Stripe says the refund is %s", result->state);
            status = STATUS_PROVIDER_REFUSED;
        }
    }
    json_decref(refund);
    pay_http_response_free(&response);
    if (form.data != 0) sodium_memzero(form.data, form.len);
    buf_free(&form);
    return status;
}
