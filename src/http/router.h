/* router.h — the route table type and matching. Patterns are literal path segments with
 * "{}" for one captured segment. The table itself is declared in src/api/routes.c. HEAD is
 * answered by a GET route that says so (head): one that only reads, so HEAD may run it and
 * libmicrohttpd leaves the body out. */
#ifndef TESSERA_HTTP_ROUTER_H
#define TESSERA_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/request.h"

typedef void (*route_handler_fn)(struct request *req);

struct route {
    const char *method;
    const char *pattern; /* "/api/v1/orders/{}/codes" */
    const char *name;    /* metric label: "orders_codes" */
    uint32_t roles;      /* 0: public; otherwise ROLE_BIT(...) mask */
    route_handler_fn handler;
    size_t body_limit; /* 0: LIMIT_BODY_BYTES */
    bool head;         /* GET only: no side effects, so HEAD runs it too */
};

extern const struct route routes[];
extern const int routes_count;

enum route_match { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_WRONG_METHOD };

/* Finds the route for method and path; captured segments go into req->params. HEAD finds
 * the path's GET route when it allows HEAD. */
enum route_match router_match(struct request *req, const char *method, const char *path,
                              const struct route **out);
/* The methods path answers, for a 405's Allow header ("GET, HEAD, POST"), into out;
 * captured segments go into req->params as in router_match. Empty when no route matches. */
void router_allow(struct request *req, const char *path, char *out, size_t size);

#endif
