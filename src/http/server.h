/* server.h — the HTTP server: libmicrohttpd in epoll thread-pool mode, requests suspended
 * while the writer or the offload pool works, so a few threads carry many in-flight orders. */
#ifndef TESSERA_HTTP_SERVER_H
#define TESSERA_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct server;
struct pay_config;

struct server_config {
    const char *db_path;
    const char *host;          /* numeric IPv4 address */
    uint16_t port;             /* 0: any free port */
    const char *model_path;    /* a risk model, or NULL */
    size_t risk_memory_mb;     /* the feature state's bound; 0: the default */
    struct pay_config *pay;    /* the gateways; never NULL; must outlive the server */
    int64_t pay_timeout_s;     /* how long a gateway order waits for its payment */
    int64_t reconcile_after_s; /* a pending order is queried at its provider this old */
};

must_check enum status server_start(const struct server_config *config, struct server **out);
uint16_t server_port(const struct server *server);
/* Stops accepting, waits for in-flight requests (bounded), drains the writer, closes. */
void server_stop(struct server *server);

#endif
