/* router.h — the route table type and matching. Patterns are literal path segments with
 * "{}" for one captured segment. The table itself is declared in src/api/routes.c. */
#ifndef TESSERA_HTTP_ROUTER_H
#define TESSERA_HTTP_ROUTER_H

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
};

extern const struct route routes[];
extern const int routes_count;

enum route_match { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_WRONG_METHOD };

/* Finds the route for method and path; captured segments go into req->params. */
enum route_match router_match(struct request *req, const char *method, const char *path,
                              const struct route **out);

#endif
