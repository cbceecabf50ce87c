/* http.c — the one way Tessera talks to a payment provider (api.h): libcurl, one request
 * at a time, with a connect timeout and a total timeout per attempt; an idempotent request
 * is tried again, after a doubling backoff, on a timeout, a failed connection or a 5xx, at
 * most outbound.retries times; an answer larger than its limit is refused. No redirects,
 * http and https only, TLS verified (libcurl's default). It must never log: URLs carry
 * keys (EPay), headers carry signatures and bearer tokens. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/assert.h"
#include "pay/api.h"

void pay_http_response_init(struct pay_http_response *response) {
    verify(response != 0);
    response->status = 0;
    buf_init(&response->body, LIMIT_PAY_RESPONSE_BYTES);
    response->header_count = 0;
    response->header_used = 0;
    response->too_large = false;
}

void pay_http_response_free(struct pay_http_response *response) {
    verify(response != 0);
    buf_free(&response->body);
}

const char *pay_http_header(const struct pay_http_response *response, const char *name) {
    verify(response != 0 && name != 0);
    for (int i = 0; i < response->header_count; i++) {
        if (strcasecmp(response->headers[i].name, name) == 0) return response->headers[i].value;
    }
    return 0;
}

static size_t http_body(char *data, size_t size, size_t count, void *user) {
    struct pay_http_response *response = user;
    size_t n = size * count;
    if (buf_append(&response->body, data, n) != STATUS_OK) {
        response->too_large = true;
        return 0; /* libcurl stops the transfer */
    }
    return n;
}

/* One header line: kept as name and value (trimmed) in header_bytes. A status line starts a
 * new answer (after a 1xx), so the headers of the one before are dropped. */
static size_t http_header(char *data, size_t size, size_t count, void *user) {
    struct pay_http_response *response = user;
    size_t n = size * count, len = n;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        response->header_count = 0;
        response->header_used = 0;
        return n;
    }
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    const char *colon = len > 0 ? memchr(data, ':', len) : 0;
    if (colon == 0 || colon == data) return n; /* the blank line, or no header at all */
    size_t name_len = (size_t)(colon - data);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    while (value_len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        value_len--;
    }
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
        value_len--;
    if (response->header_count == LIMIT_HEADER_COUNT ||
        response->header_used + name_len + value_len + 2 > sizeof response->header_bytes) {
        response->too_large = true;
        return 0;
    }
    char *name_copy = response->header_bytes + response->header_used;
    memcpy(name_copy, data, name_len);
    name_copy[name_len] = 0;
    char *value_copy = name_copy + name_len + 1;
    memcpy(value_copy, value, value_len);
    value_copy[value_len] = 0;
    response->header_used += name_len + value_len + 2;
    response->headers[response->header_count].name = name_copy;
    response->headers[response->header_count].value = value_copy;
    response->header_count++;
    return n;
}

static void http_sleep_ms(long ms) {
    struct timespec wait = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&wait, &wait) != 0) {
    }
}

/* Whether a transport failure may be retried: the request may not have arrived, or its
 * answer was lost; only an idempotent request is sent again. */
static bool http_transient(CURLcode code) {
    return code == CURLE_OPERATION_TIMEDOUT || code == CURLE_COULDNT_CONNECT ||
           code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_GOT_NOTHING ||
           code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_PARTIAL_FILE;
}

/* The request's header lines; their copies inside libcurl are wiped before they are freed
 * (an Authorization holds a signature or a bearer key). */
static struct curl_slist *http_headers(const struct pay_http_request *request) {
    struct curl_slist *list = curl_slist_append(0, "Expect:"); /* no 100-continue round trip */
    for (int i = 0; list != 0 && i < PAY_HTTP_HEADERS && request->headers[i] != 0; i++) {
        struct curl_slist *next = curl_slist_append(list, request->headers[i]);
        if (next == 0) {
            curl_slist_free_all(list);
            return 0;
        }
        list = next;
    }
    return list;
}

static void http_headers_free(struct curl_slist *list) {
    for (struct curl_slist *item = list; item != 0; item = item->next)
        sodium_memzero(item->data, strlen(item->data));
    curl_slist_free_all(list);
}

static bool http_setup(CURL *curl, const struct pay_config *config,
                       const struct pay_http_request *request, struct curl_slist *headers,
                       struct pay_http_response *response) {
    bool post = strcmp(request->method, "POST") == 0;
    bool ok = curl_easy_setopt(curl, CURLOPT_URL, request->url) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                               config->outbound.connect_timeout_ms) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, config->outbound.timeout_ms) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_USERAGENT, "tessera/" TESSERA_VERSION) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_WRITEDATA, response) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_header) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_HEADERDATA, response) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                               (curl_off_t)LIMIT_PAY_RESPONSE_BYTES) == CURLE_OK;
    if (ok && post) {
        ok = curl_easy_setopt(curl, CURLOPT_POST, 1L) == CURLE_OK &&
             curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body ? request->body : "") ==
                 CURLE_OK &&
             curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->len) ==
                 CURLE_OK;
    } else if (ok) {
        ok = curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    return ok;
}

/* One attempt: STATUS_OK with an answer, or why not (and whether to try again). */
static enum status http_attempt(CURL *curl, struct pay_http_response *response,
                                struct pay_call *call, bool *transient) {
    response->status = 0;
    response->body.len = 0;
    response->header_count = 0;
    response->header_used = 0;
    response->too_large = false;
    CURLcode code = curl_easy_perform(curl);
    long http_status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    call->http_status = (int)http_status;
    *transient = false;
    if (response->too_large || code == CURLE_FILESIZE_EXCEEDED) {
        return pay_call_fail(call, STATUS_PROVIDER_INVALID_RESPONSE,
                             "the provider's answer is over the size limit");
    }
    if (code != CURLE_OK) {
        *transient = http_transient(code);
        snprintf(call->message, sizeof call->message, "%s (%s)",
                 code == CURLE_OPERATION_TIMEDOUT ? "no answer within the timeout"
                                                  : "the provider cannot be reached",
                 curl_easy_strerror(code)); /* libcurl's generic words: never the URL */
        return code == CURLE_OPERATION_TIMEDOUT ? STATUS_PROVIDER_TIMEOUT
                                                : STATUS_PROVIDER_UNAVAILABLE;
    }
    response->status = (int)http_status;
    if (http_status >= 500) {
        *transient = true;
        snprintf(call->message, sizeof call->message, "the provider answered HTTP %ld",
                 http_status);
        return STATUS_PROVIDER_UNAVAILABLE;
    }
    return STATUS_OK;
}

enum status pay_http_send(const struct pay_config *config, const struct pay_http_request *request,
                          struct pay_http_response *response, struct pay_call *call) {
    verify(config != 0 && request != 0 && response != 0 && call != 0);
    verify(request->url != 0 && request->method != 0);
    verify(config->outbound.retries >= 0 && config->outbound.retries <= LIMIT_PAY_RETRIES_MAX);
    call->attempts = 0;
    call->http_status = 0;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl ? http_headers(request) : 0;
    if (curl == 0 || headers == 0 || !http_setup(curl, config, request, headers, response)) {
        http_headers_free(headers);
        curl_easy_cleanup(curl);
        return pay_call_fail(call, STATUS_NOMEM, "the HTTP client cannot be set up");
    }
    int tries = 1 + (request->idempotent ? config->outbound.retries : 0);
    long backoff_ms = LIMIT_PAY_BACKOFF_MS;
    enum status status = STATUS_OK;
    for (int attempt = 1; attempt <= tries; attempt++) {
        if (attempt > 1) {
            http_sleep_ms(backoff_ms);
            backoff_ms = backoff_ms * 2 > LIMIT_PAY_BACKOFF_MAX_MS ? LIMIT_PAY_BACKOFF_MAX_MS
                                                                   : backoff_ms * 2;
        }
        bool transient = false;
        call->attempts = attempt;
        status = http_attempt(curl, response, call, &transient);
        if (status == STATUS_OK || !transient) break;
    }
    if (!request->idempotent && (status == STATUS_PROVIDER_TIMEOUT || call->http_status >= 500)) {
        size_t used = strlen(call->message);
        snprintf(call->message + used, sizeof call->message - used,
                 "; not retried: the provider may have acted, query it before trying again");
    }
    http_headers_free(headers);
    curl_easy_cleanup(curl);
    return status;
}
