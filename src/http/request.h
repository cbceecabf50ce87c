/* request.h — one HTTP request as the API handlers see it, and the ways to answer it.
 * A handler either answers at once (request_json / request_error) or hands work to the
 * writer or the offload pool with request_wait and answers later in its finish callback,
 * which runs on an HTTP thread after the connection is resumed. */
#ifndef TESSERA_HTTP_REQUEST_H
#define TESSERA_HTTP_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/mem.h"
#include "base/status.h"
#include "domain/role.h"
#include "store/store.h"

struct server;
struct route;
struct risk_live;
struct pay_config;
struct pay_worker;
struct MHD_Connection;

#define REQUEST_MAX_PARAMS 2

struct request;
typedef void (*request_finish_fn)(struct request *req);

struct request {
    struct server *server;
    struct MHD_Connection *connection;
    const struct route *route;
    const char *method;
    const char *url;
    const char *params[REQUEST_MAX_PARAMS]; /* {…} segments of the path, NUL-terminated */
    char param_storage[256];
    struct buf body;
    enum status early; /* set while reading (413, 431…): answered at the end */
    uint64_t dropped;  /* body bytes past the limit, dropped as they came (chunked) */
    bool authenticated;
    struct store_user user;
    uint64_t started_ns;
    /* answer */
    bool answered;
    bool waiting;        /* suspended until request_resume */
    uint64_t resumed_ns; /* when request_resume was called (metrics_stage) */
    bool gone;           /* the client left while it waited: finish runs, nothing is sent */
    request_finish_fn finish;
    void *work; /* the handler's own state while waiting; freed by it */
    unsigned http_status;
    const char *content_type;
    const char *extra_header, *extra_value; /* one more response header, or NULL */
    char extra_value_storage[32];
    struct buf response;
};

/* Answers with a JSON body already in req->response (the handler appended to it). */
void request_json(struct request *req, unsigned http_status);
/* Answers {"error":{"code","message"}} for status; message NULL uses the table text.
 * The message must never hold request data that could be secret. */
void request_error(struct request *req, enum status status, const char *message);
void request_text(struct request *req, unsigned http_status, const char *content_type);

/* The connection is suspended; finish will be called on an HTTP thread after
 * request_resume. Call before handing req to another thread. */
void request_wait(struct request *req, request_finish_fn finish, void *work);
/* Whether a finish may hand the request on with request_wait again (not when its client
 * left: then the finish runs as the connection ends). */
bool request_can_wait(const struct request *req);
/* From any thread: the work is done; wake the request. */
void request_resume(struct request *req);

/* A request header's value, or NULL. */
const char *request_header(struct request *req, const char *name);
/* A query argument's value, percent-decoded (the first when repeated), or NULL. */
const char *request_arg(struct request *req, const char *name);
/* The request's read connection (one per HTTP thread). */
struct db *request_reader(struct request *req);
struct writer *request_writer(struct request *req);
struct offload *request_offload(struct request *req);
/* The pool that calls payment providers (creating payments), apart from request_offload's
 * (passwords), so a slow provider never delays a login. */
struct offload *request_pay_calls(struct request *req);
/* The risk engine: only inside a writer command (the writer thread owns it); NULL when the
 * server runs without one (never, in tessera serve). */
struct risk_live *request_risk(struct request *req);
/* The payment gateways' configuration (read-only after start), and how long a gateway
 * order waits for its payment. */
const struct pay_config *request_pay(struct request *req);
/* The payment worker (refunds, reconciliation), for its counters. */
struct pay_worker *request_pay_worker(struct request *req);
int64_t request_pay_timeout(struct request *req);
/* The query string of a GET, rebuilt from its decoded arguments ("a=1&b=x%20y"), into out. */
must_check enum status request_query(struct request *req, struct buf *out);
/* The client's address as text ("127.0.0.1"), "" when unknown. */
void request_client_ip(struct request *req, char *out, size_t size);
const struct vault *request_vault(struct request *req);

#endif
