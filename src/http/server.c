/* server.c — libmicrohttpd glue: reads each request (bounded), routes it, authenticates,
 * runs its handler, suspends it while work happens elsewhere, and answers. Owns the
 * per-thread read connections. Never logs bodies or headers (they carry tokens and codes). */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/assert.h"
#include "base/text.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "http/json.h"
#include "http/metrics.h"
#include "http/offload.h"
#include "http/request.h"
#include "http/router.h"
#include "api/pay_worker.h"
#include "api/risk_live.h"
#include "store/writer.h"

#define SERVER_MAX_READERS 64
#define SERVER_OFFLOAD_THREADS 2

struct server {
    struct MHD_Daemon *daemon;
    struct writer *writer;
    struct risk_live *risk; /* owned by the writer thread once booted */
    struct pay_config *pay;
    int64_t pay_timeout_s;
    struct offload *offload;
    struct offload *pay_calls; /* calls to payment providers (LIMIT_PAY_CALL_THREADS) */
    struct pay_worker *pay_worker;
    struct vault vault;
    char db_path[4096];
    uint16_t port;
    _Atomic int inflight;
    _Atomic int handling;  /* dispatched requests whose handler or finish has not returned */
    _Atomic bool stopping; /* set by server_stop: refuse new requests, close connections */
    pthread_mutex_t readers_lock;
    struct db *readers[SERVER_MAX_READERS];
    int reader_count;
};

struct offload *request_offload(struct request *req) {
    return req->server->offload;
}

struct offload *request_pay_calls(struct request *req) {
    return req->server->pay_calls;
}

struct risk_live *request_risk(struct request *req) {
    verify(req != 0);
    return req->server->risk;
}

const struct pay_config *request_pay(struct request *req) {
    verify(req != 0);
    return req->server->pay;
}

struct pay_worker *request_pay_worker(struct request *req) {
    verify(req != 0);
    return req->server->pay_worker;
}

int64_t request_pay_timeout(struct request *req) {
    verify(req != 0);
    return req->server->pay_timeout_s;
}

struct query_build {
    struct buf *out;
    enum status status;
};

static void query_escape(struct buf *out, const char *text, enum status *status) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p && *status == STATUS_OK; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        *status = plain ? buf_append(out, p, 1) : buf_append(out, escaped, 3);
    }
}

static enum MHD_Result query_arg(void *context, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
    (void)kind;
    struct query_build *build = context;
    if (build->out->len > 0 && build->status == STATUS_OK)
        build->status = buf_append(build->out, "&", 1);
    query_escape(build->out, key, &build->status);
    if (value != 0 && build->status == STATUS_OK) {
        build->status = buf_append(build->out, "=", 1);
        query_escape(build->out, value, &build->status);
    }
    return build->status == STATUS_OK ? MHD_YES : MHD_NO;
}

enum status request_query(struct request *req, struct buf *out) {
    verify(req != 0 && out != 0);
    struct query_build build = {out, STATUS_OK};
    (void)MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND, query_arg, &build);
    return build.status;
}

void request_client_ip(struct request *req, char *out, size_t size) {
    verify(req != 0 && out != 0 && size >= INET6_ADDRSTRLEN);
    out[0] = 0;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == 0 || info->client_addr == 0) return;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET) {
        (void)inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)address)->sin_addr,
                        out, (socklen_t)size);
    } else if (address->sa_family == AF_INET6) {
        (void)inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)address)->sin6_addr,
                        out, (socklen_t)size);
    }
}

static _Thread_local struct db *server_thread_reader;

struct db *request_reader(struct request *req) {
    verify(req != 0);
    if (server_thread_reader != 0) return server_thread_reader;
    struct server *server = req->server;
    struct db *db = mem_calloc(1, sizeof *db);
    verify(db_open(db, server->db_path, true, false) == STATUS_OK);
    verify(pthread_mutex_lock(&server->readers_lock) == 0);
    verify(server->reader_count < SERVER_MAX_READERS);
    server->readers[server->reader_count++] = db;
    verify(pthread_mutex_unlock(&server->readers_lock) == 0);
    server_thread_reader = db;
    return db;
}

struct writer *request_writer(struct request *req) {
    return req->server->writer;
}
const struct vault *request_vault(struct request *req) { return &req->server->vault; }

const char *request_header(struct request *req, const char *name) {
    verify(req != 0 && name != 0);
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, name);
}

const char *request_arg(struct request *req, const char *name) {
    verify(req != 0 && name != 0);
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

void request_json(struct request *req, unsigned http_status) {
    verify(req != 0 && !req->answered);
    req->http_status = http_status;
    req->content_type = "application/json";
    req->answered = true;
}

void request_text(struct request *req, unsigned http_status, const char *content_type) {
    verify(req != 0 && !req->answered && content_type != 0);
    req->http_status = http_status;
    req->content_type = content_type;
    req->answered = true;
}

void request_error(struct request *req, enum status status, const char *message) {
    verify(req != 0 && status != STATUS_OK);
    req->response.len = 0;
    enum status out =
        buf_printf(&req->response, "{\"error\":{\"code\":\"%s\",\"message\":", status_code(status));
    if (out == STATUS_OK)
        out = json_append_string(&req->response, message ? message : status_message(status));
    if (out == STATUS_OK) out = buf_append(&req->response, "}}", 2);
    verify(out == STATUS_OK);
    request_json(req, (unsigned)status_http(status));
}

void request_wait(struct request *req, request_finish_fn finish, void *work) {
    verify(req != 0 && finish != 0);
    verify(!req->waiting && !req->answered && !req->gone);
    req->waiting = true;
    req->finish = finish;
    req->work = work;
    MHD_suspend_connection(req->connection);
}

bool request_can_wait(const struct request *req) {
    verify(req != 0);
    return !req->gone;
}

void request_resume(struct request *req) {
    verify(req != 0 && req->waiting);
    req->resumed_ns = clock_monotonic_ns(); /* read by the HTTP thread after the resume */
    MHD_resume_connection(req->connection);
}

static enum MHD_Result server_queue(struct request *req) {
    verify(req->answered);
    struct MHD_Response *response = MHD_create_response_from_buffer(
        req->response.len, req->response.len ? req->response.data : (void *)"",
        req->response.len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (response == 0) return MHD_NO;
    if (req->response.len) {
        req->response.data = 0; /* now owned by the response */
        req->response.len = req->response.cap = 0;
    }
    (void)MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    if (req->extra_header != 0) {
        (void)MHD_add_response_header(response, req->extra_header, req->extra_value);
    }
    (void)MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* after a header refused for how it frames the request, what follows on the connection
     * cannot be trusted to be the next request (RFC 9112 §6.3): close it */
    if (atomic_load(&req->server->stopping) || req->early == STATUS_INVALID_HEADER) {
        (void)MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    enum MHD_Result result = MHD_queue_response(req->connection, req->http_status, response);
    MHD_destroy_response(response);
    return result;
}

/* Each HTTP thread remembers the tokens it looked up for LIMIT_SESSION_CACHE_S, so a busy
 * client costs one session read per second instead of one per request: a read transaction
 * takes shared-memory locks (system calls) on every request otherwise. A session that
 * expires, or is revoked, is honoured at most that much longer. */
struct server_session {
    unsigned char hash[VAULT_TOKEN_HASH_BYTES];
    int64_t checked_at_s; /* 0: empty */
    struct store_user user;
};

static _Thread_local struct server_session server_sessions[LIMIT_SESSION_CACHE_ENTRIES];

static bool server_session_lookup(struct request *req, const unsigned char *hash, int64_t now_s) {
    uint32_t slot_index =
        ((uint32_t)hash[0] | (uint32_t)hash[1] << 8) & (LIMIT_SESSION_CACHE_ENTRIES - 1);
    struct server_session *slot = &server_sessions[slot_index];
    if (slot->checked_at_s != 0 && now_s >= slot->checked_at_s &&
        now_s - slot->checked_at_s < LIMIT_SESSION_CACHE_S &&
        sodium_memcmp(slot->hash, hash, VAULT_TOKEN_HASH_BYTES) == 0) {
        req->user = slot->user;
        return true;
    }
    if (store_session_user(request_reader(req), hash, now_s, &req->user) != STATUS_OK) {
        return false;
    }
    memcpy(slot->hash, hash, VAULT_TOKEN_HASH_BYTES);
    slot->user = req->user;
    slot->checked_at_s = now_s;
    return true;
}

static bool server_authenticate(struct request *req) {
    const char *header = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    size_t token_len = VAULT_TOKEN_TEXT_BYTES - 1;
    /* the scheme is case-insensitive (RFC 9110 §11.1); the token is not */
    if (header == 0 || strncasecmp(header, "Bearer ", 7) != 0 || strlen(header + 7) != token_len) {
        return false;
    }
    unsigned char hash[VAULT_TOKEN_HASH_BYTES];
    vault_token_hash(header + 7, token_len, hash);
    if (!server_session_lookup(req, hash, clock_now_s())) return false;
    req->authenticated = true;
    return true;
}

/* Runs after the whole body arrived; the caller was authenticated and authorised before it
 * (server_request_new). */
static void server_dispatch(struct request *req) {
    const struct route *route = req->route;
    verify(route != 0);
    verify(route->roles == 0 || (req->authenticated && (route->roles & ROLE_BIT(req->user.role))));
    route->handler(req);
}

/* libmicrohttpd hands server_access the path without its query, so the length of the whole
 * request target is taken here: this callback sees the target as sent, before the
 * access handler's first call, and what it returns is that call's *con_cls. */
static char server_target_too_long; /* its address marks a request whose target is too long */

static void *server_target_seen(void *cls, const char *target, struct MHD_Connection *connection) {
    (void)cls, (void)connection;
    return strlen(target) > LIMIT_URL_BYTES ? &server_target_too_long : 0;
}

/* The headers that must come once: two lengths (or a length beside chunked coding) let a
 * request hide another in its body, as the first length is what libmicrohttpd reads; two
 * keys, tokens or device ids would let a proxy and Tessera read different ones. The names'
 * lengths differ, so a header is compared with one name at most. */
#define SERVER_HEADER(name)                                                                        \
    { name, sizeof name - 1 }
static const struct {
    const char *name;
    size_t len;
} server_single_headers[] = {SERVER_HEADER(MHD_HTTP_HEADER_CONTENT_LENGTH),
                             SERVER_HEADER(MHD_HTTP_HEADER_TRANSFER_ENCODING),
                             SERVER_HEADER(MHD_HTTP_HEADER_AUTHORIZATION),
                             SERVER_HEADER(MHD_HTTP_HEADER_CONTENT_TYPE),
                             SERVER_HEADER("Idempotency-Key"),
                             SERVER_HEADER("X-Device-Id")};
#define SERVER_SINGLE_HEADERS (sizeof server_single_headers / sizeof server_single_headers[0])

/* One pass over a request's headers: how many, and how often each single one came. */
struct server_header_scan {
    int count;
    unsigned seen[SERVER_SINGLE_HEADERS]; /* [0] Content-Length, [1] Transfer-Encoding */
};

static enum MHD_Result server_header_seen(void *cls, enum MHD_ValueKind kind, const char *key,
                                          size_t key_size, const char *value, size_t value_size) {
    (void)kind, (void)value, (void)value_size;
    struct server_header_scan *scan = cls;
    scan->count++;
    for (size_t i = 0; i < SERVER_SINGLE_HEADERS; i++) {
        if (key_size == server_single_headers[i].len &&
            strcasecmp(key, server_single_headers[i].name) == 0) {
            scan->seen[i]++;
            break;
        }
    }
    return MHD_YES;
}

/* STATUS_OK, or STATUS_INVALID_HEADER for a header that must come once and came again, or
 * both Content-Length and Transfer-Encoding (RFC 9112 §6.3). */
static enum status server_headers_check(const struct server_header_scan *scan) {
    for (size_t i = 0; i < SERVER_SINGLE_HEADERS; i++) {
        if (scan->seen[i] > 1) return STATUS_INVALID_HEADER;
    }
    return scan->seen[0] != 0 && scan->seen[1] != 0 ? STATUS_INVALID_HEADER : STATUS_OK;
}

/* The request whose headers just arrived, its refusal (if any) in early; *has_body: it
 * says it has a body (a length or chunked coding). */
static struct request *server_request_new(struct server *server, struct MHD_Connection *connection,
                                          const char *url, const char *method, bool target_too_long,
                                          bool *has_body) {
    struct request *req = mem_calloc(1, sizeof *req);
    req->server = server;
    req->connection = connection;
    req->url = url;
    req->method = method;
    req->started_ns = clock_monotonic_ns();
    buf_init(&req->body, LIMIT_BODY_BYTES); /* raised below for routes that take more */
    buf_init(&req->response, 64 * 1024 * 1024);
    atomic_fetch_add(&server->inflight, 1);
    struct server_header_scan scan = {0, {0}};
    (void)MHD_get_connection_values_n(connection, MHD_HEADER_KIND, server_header_seen, &scan);
    *has_body = scan.seen[0] != 0 || scan.seen[1] != 0;
    const char *length = scan.seen[0] ? MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                                    MHD_HTTP_HEADER_CONTENT_LENGTH)
                                      : 0;
    enum route_match match = ROUTE_NO_PATH;
    if (target_too_long) { /* the path is part of the target: its length is counted there */
        req->early = STATUS_URI_TOO_LONG;
    } else if (scan.count > LIMIT_HEADER_COUNT) {
        req->early = STATUS_TOO_MANY_HEADERS;
    } else if (server_headers_check(&scan) != STATUS_OK) {
        req->early = STATUS_INVALID_HEADER;
    } else if ((match = router_match(req, method, url, &req->route)) == ROUTE_NO_PATH) {
        req->early = STATUS_NOT_FOUND;
    } else if (match == ROUTE_WRONG_METHOD) {
        req->early = STATUS_METHOD_NOT_ALLOWED;
        router_allow(req, url, req->extra_value_storage, sizeof req->extra_value_storage);
        req->extra_header = MHD_HTTP_HEADER_ALLOW; /* RFC 9110: a 405 names what is allowed */
        req->extra_value = req->extra_value_storage;
    }
    if (req->early != STATUS_OK) {
        req->route = 0;
        return req;
    }
    size_t limit = req->route->body_limit ? req->route->body_limit : LIMIT_BODY_BYTES;
    req->body.limit = limit;
    /* MHD accepted it as 1*DIGIT; leading zeros are allowed and say nothing of the size. */
    while (length != 0 && length[0] == '0' && length[1] != 0)
        length++;
    if (length != 0 && (strlen(length) > 10 || strtoll(length, 0, 10) > (long long)limit)) {
        req->early = STATUS_BODY_TOO_LARGE;
    }
    /* Before the body: a caller who may not use the route never has its body read (nor a
     * 100 Continue sent) — an anonymous client cannot make the server take in 32 MiB. */
    if (req->early == STATUS_OK && req->route->roles != 0) {
        if (!server_authenticate(req)) {
            req->early = STATUS_UNAUTHORIZED;
        } else if ((req->route->roles & ROLE_BIT(req->user.role)) == 0) {
            req->early = STATUS_FORBIDDEN;
        }
    }
    return req;
}

static void server_leave(struct server *server) {
    int before = atomic_fetch_sub(&server->handling, 1);
    verify(before > 0);
}

/* The accept policy: once the server is stopping, a new connection is closed as soon as it
 * is accepted. This is how Tessera stops accepting instead of MHD_quiesce_daemon, which
 * with epoll and a thread pool races the workers' own removal of the listening socket from
 * their epoll sets (0.9.75 aborts with "Failed to remove listen FD from epoll set" when a
 * worker loses that race). The daemon keeps the socket and closes it in MHD_stop_daemon. */
static enum MHD_Result server_admit(void *cls, const struct sockaddr *address, socklen_t length) {
    (void)address;
    (void)length;
    struct server *server = cls;
    return atomic_load(&server->stopping) ? MHD_NO : MHD_YES;
}

/* Counts a request in before its handler runs, unless the server is stopping. Both atomics
 * are sequentially consistent, and server_stop sets stopping before it reads handling: so
 * either server_stop waits for this request, or this request sees stopping and is refused.
 * No request is suspended after server_stop saw none (MHD_stop_daemon aborts on one). */
static bool server_enter(struct server *server) {
    atomic_fetch_add(&server->handling, 1);
    if (!atomic_load(&server->stopping)) return true;
    server_leave(server);
    return false;
}

static enum MHD_Result server_access(void *cls, struct MHD_Connection *connection, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls) {
    (void)version;
    struct request *req = *con_cls;
    bool target_too_long = *con_cls == &server_target_too_long; /* server_target_seen's mark */
    if (req == 0 || target_too_long) {
        bool has_body = false;
        req = server_request_new(cls, connection, url, method, target_too_long, &has_body);
        *con_cls = req;
        if (req->early != STATUS_OK && has_body) {
            request_error(req, req->early, 0); /* answer now; never read a refused body */
            return server_queue(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        /* A body that outgrows the limit only now (chunked: no Content-Length) is dropped
         * as it arrives and answered 413 once it ends: MHD cannot queue a response while
         * it hands over upload data, and queueing anyway closes the connection unanswered. */
        if (!req->answered && req->early == STATUS_OK &&
            buf_append(&req->body, upload_data, *upload_data_size) != STATUS_OK) {
            req->early = STATUS_BODY_TOO_LARGE;
            buf_free(&req->body);
        }
        if (req->early == STATUS_BODY_TOO_LARGE) {
            /* Dropped as it comes, and answered 413 at its end — but a body that goes on for
             * as much again past its limit is not read to an end that may never come: the
             * connection is closed unanswered. */
            req->dropped += *upload_data_size;
            if (req->dropped > req->body.limit) return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->answered && !req->waiting) return MHD_YES; /* already queued (413) */
    if (req->waiting) {
        req->waiting = false;
        metrics_stage(METRICS_STAGE_RESUME, clock_monotonic_ns() - req->resumed_ns);
        req->finish(req);
        if (req->waiting) return MHD_YES; /* the finish handed the request on again */
        server_leave(req->server);
        return server_queue(req);
    }
    if (req->early != STATUS_OK) {
        request_error(req, req->early, 0);
        return server_queue(req);
    }
    if (!server_enter(req->server)) {
        request_error(req, STATUS_BUSY, 0); /* shutting down: nothing was done */
        return server_queue(req);
    }
    server_dispatch(req);
    if (req->waiting) return MHD_YES;
    server_leave(req->server);
    return server_queue(req);
}

static void server_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                             enum MHD_RequestTerminationCode code) {
    (void)connection;
    (void)code;
    struct server *server = cls;
    struct request *req = *con_cls;
    if (req == 0 || *con_cls == &server_target_too_long) return; /* never reached server_access */
    if (req->waiting) {
        /* The client left while its work ran: the work is done (the connection was resumed,
         * or MHD could not have ended it); let finish release it, answer unsent. */
        req->waiting = false;
        req->gone = true; /* the finish must not wait again: the connection is ending */
        req->finish(req);
        verify(!req->waiting);
        server_leave(server);
    }
    metrics_record(req->route, req->answered ? req->http_status : 499,
                   clock_monotonic_ns() - req->started_ns);
    buf_free(&req->body);
    buf_free(&req->response);
    free(req);
    *con_cls = 0;
    atomic_fetch_sub(&server->inflight, 1);
}

/* The writer's idle-time maintenance: retire codes whose expiry passed, and give the codes
 * of unpaid gateway orders whose time ran out back to stock. */
static enum status server_tick(struct db *db, struct writer_cmd *cmd) {
    (void)cmd;
    int64_t expired = 0;
    enum status status = store_codes_expire(db, clock_now_s(), LIMIT_EXPIRE_PER_TICK, &expired);
    if (status == STATUS_OK && expired > 0)
        log_info("store: retired %lld expired codes", (long long)expired);
    int64_t unpaid = 0;
    if (status == STATUS_OK)
        status = store_orders_expire(db, clock_now_s(), LIMIT_EXPIRE_PER_TICK, &unpaid);
    if (status == STATUS_OK && unpaid > 0)
        log_info("store: %lld unpaid orders expired, their codes back in stock", (long long)unpaid);
    return status;
}

/* The risk engine's boot, as the writer's first command: rules, lists, recorded events. */
struct server_risk_boot {
    struct writer_cmd cmd;
    struct risk_live *live;
};

static enum status server_risk_boot(struct db *db, struct writer_cmd *cmd) {
    struct server_risk_boot *boot = (struct server_risk_boot *)cmd;
    return risk_live_boot(boot->live, db, clock_now_s());
}

static enum status server_start_risk(struct server *server, const struct server_config *config) {
    char message[200] = "";
    struct risk_live_config risk = {config->model_path, config->risk_memory_mb, 0};
    randombytes_buf(&risk.seed, sizeof risk.seed); /* the state's hash key: unguessable */
    enum status status = risk_live_create(&risk, &server->risk, message, sizeof message);
    if (status != STATUS_OK) {
        log_error("server: risk model %s: %s", config->model_path ? config->model_path : "",
                  message);
        return status;
    }
    struct server_risk_boot boot = {{0}, server->risk};
    boot.cmd.apply = server_risk_boot;
    status = writer_call(server->writer, &boot.cmd);
    if (status != STATUS_OK)
        log_error("server: the risk engine did not start (%s)", status_code(status));
    return status;
}

static void server_close_readers(struct server *server) {
    for (int i = 0; i < server->reader_count; i++) {
        db_close(server->readers[i]);
        free(server->readers[i]);
    }
    server->reader_count = 0;
}

enum status server_start(const struct server_config *config, struct server **out) {
    verify(config != 0 && config->db_path != 0 && config->host != 0 && out != 0);
    struct server *server = mem_calloc(1, sizeof *server);
    verify(pthread_mutex_init(&server->readers_lock, 0) == 0);
    (void)text_copy(server->db_path, sizeof server->db_path, config->db_path);
    verify(config->pay != 0 && config->pay_timeout_s > 0);
    server->pay = config->pay;
    server->pay_timeout_s = config->pay_timeout_s;
    char key_path[4200];
    snprintf(key_path, sizeof key_path, "%s.key", config->db_path);
    enum status status = vault_load(&server->vault, key_path);
    if (status != STATUS_OK) {
        log_error("server: cannot load the vault key %s", key_path);
        free(server);
        return status;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(config->port)};
    if (inet_pton(AF_INET, config->host, &address.sin_addr) != 1) {
        log_error("server: listen host must be a numeric IPv4 address");
        free(server);
        return STATUS_INVALID_VALUE;
    }
    status = writer_start(config->db_path, &server->writer);
    if (status == STATUS_OK) status = server_start_risk(server, config);
    if (status == STATUS_OK) writer_set_tick(server->writer, server_tick, LIMIT_TICK_MS);
    if (status == STATUS_OK) status = offload_start(SERVER_OFFLOAD_THREADS, &server->offload);
    if (status == STATUS_OK) {
        status = offload_start(LIMIT_PAY_CALL_THREADS, &server->pay_calls);
        if (status != STATUS_OK) offload_stop(server->offload);
    }
    if (status == STATUS_OK) {
        struct pay_worker_config worker = {server->writer, server->pay, LIMIT_PAY_WORKER_MS,
                                           config->reconcile_after_s};
        status = pay_worker_start(&worker, &server->pay_worker);
        if (status != STATUS_OK) offload_stop(server->pay_calls);
        if (status != STATUS_OK) offload_stop(server->offload);
    }
    if (status != STATUS_OK) {
        if (server->writer) writer_stop(server->writer);
        risk_live_free(server->risk);
        free(server);
        return status;
    }
    /* TURBO: Linux-only fast paths (no per-socket fcntl, accept4 flags). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO | MHD_USE_ITC;
    server->daemon = MHD_start_daemon(
        flags, 0, server_admit, server, server_access, server, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)LIMIT_HTTP_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)LIMIT_CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)LIMIT_CONNECTION_MEMORY_BYTES, MHD_OPTION_NOTIFY_COMPLETED, server_completed,
        server, MHD_OPTION_URI_LOG_CALLBACK, server_target_seen, server,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)LIMIT_CONNECTIONS_PER_IP,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (server->daemon == 0) {
        log_error("server: cannot listen on %s:%u", config->host, (unsigned)config->port);
        pay_worker_stop(server->pay_worker);
        offload_stop(server->pay_calls);
        offload_stop(server->offload);
        writer_stop(server->writer);
        risk_live_free(server->risk);
        free(server);
        return STATUS_IO;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : config->port;
    *out = server;
    return STATUS_OK;
}

uint16_t server_port(const struct server *server) { return server->port; }

void server_stop(struct server *server) {
    verify(server != 0);
    /* New connections are closed on accept (server_admit); keep-alive clients get 503 and a
     * closed socket (server_enter). */
    atomic_store(&server->stopping, true);
    uint64_t deadline = clock_monotonic_ns() + (uint64_t)LIMIT_SHUTDOWN_DRAIN_MS * 1000000u;
    while (atomic_load(&server->inflight) > 0 && clock_monotonic_ns() < deadline) {
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, 0);
    }
    if (atomic_load(&server->inflight) > 0) log_warn("server: stopping with requests in flight");
    /* MHD_stop_daemon aborts the process while a connection is suspended. Suspended work
     * always ends (the writer calls every command's done once, within the busy timeout), and
     * none starts after stopping is set, so this wait needs no deadline. */
    while (atomic_load(&server->handling) > 0) {
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, 0);
    }
    /* The threads that resume connections stop before the daemon does: the last resume may
     * still be waking the daemon (MHD_resume_connection does so after its lock) when its
     * request has already been answered. Until the daemon stops, requests are refused in
     * server_enter and touch none of these. */
    pay_worker_stop(server->pay_worker);
    offload_stop(server->pay_calls);
    offload_stop(server->offload);
    writer_stop(server->writer);
    MHD_stop_daemon(server->daemon);
    risk_live_free(server->risk); /* the writer is gone: nobody else touches it */
    server_close_readers(server);
    db_fold_wal(server->db_path); /* the readers closed last, and they cannot checkpoint */
    vault_wipe(&server->vault);
    pthread_mutex_destroy(&server->readers_lock);
    free(server);
}
