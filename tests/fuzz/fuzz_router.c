/* fuzz_router.c — libFuzzer harness for router_match over the real route table. The input
 * is "METHOD\nPATH" (no newline: the whole input is the path, method GET). Invariants: a
 * match has the asked method (or is a GET that allows HEAD, for HEAD) and its pattern with
 * the captured segments filled in spells the path exactly; 405 means the path matches some route
 * under another method; 404 means it matches none under any method. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "http/router.h"

/* Rebuilds the path from a pattern and captured params; false when it does not fit. */
static bool fuzz_rebuild(const char *pattern, const struct request *req, char *out, size_t cap) {
    size_t used = 0;
    int param = 0;
    for (const char *p = pattern; *p; p++) {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '{' && p[1] == '}') {
            verify(param < REQUEST_MAX_PARAMS);
            piece = req->params[param++];
            verify(piece >= req->param_storage &&
                   piece < req->param_storage + sizeof req->param_storage);
            len = strlen(piece);
            verify(len > 0 && memchr(piece, '/', len) == 0);
            p++;
        }
        if (used + len >= cap) return false;
        memcpy(out + used, piece, len);
        used += len;
    }
    out[used] = 0;
    return true;
}

static enum route_match fuzz_match(const char *method, const char *path,
                                   const struct route **route) {
    static struct request req;
    memset(&req, 0, sizeof req);
    *route = 0;
    return router_match(&req, method, path, route);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *input = malloc(size + 1);
    verify(input != 0);
    memcpy(input, data, size);
    input[size] = 0;
    const char *method = "GET", *path = input;
    char *newline = memchr(input, '\n', size);
    if (newline != 0) {
        *newline = 0;
        method = input;
        path = newline + 1;
    }

    static struct request req;
    memset(&req, 0, sizeof req);
    const struct route *route = 0;
    enum route_match result = router_match(&req, method, path, &route);
    verify(result == ROUTE_FOUND || result == ROUTE_NO_PATH || result == ROUTE_WRONG_METHOD);
    if (result == ROUTE_FOUND) {
        verify(route >= routes && route < routes + routes_count);
        verify(strcmp(route->method, method) == 0 ||
               (strcmp(method, "HEAD") == 0 && route->head && strcmp(route->method, "GET") == 0));
        char *rebuilt = malloc(size + 2);
        verify(rebuilt != 0);
        verify(fuzz_rebuild(route->pattern, &req, rebuilt, size + 2));
        verify(strcmp(rebuilt, path) == 0);
        free(rebuilt);
    }

    /* The same path under every method the table knows. */
    bool any_found = false;
    for (int i = 0; i < routes_count; i++) {
        const struct route *other = 0;
        enum route_match again = fuzz_match(routes[i].method, path, &other);
        verify(again != ROUTE_NO_PATH || result == ROUTE_NO_PATH);
        if (again == ROUTE_FOUND) any_found = true;
        if (result == ROUTE_NO_PATH) verify(again == ROUTE_NO_PATH);
    }
    if (result == ROUTE_WRONG_METHOD) verify(any_found);
    if (result == ROUTE_FOUND) verify(any_found);
    /* Allow lists a method exactly when the path has a route (the 405's header). */
    /* In the storage the server's 405 uses, so its size is what is checked. */
    char *allow = req.extra_value_storage;
    router_allow(&req, path, allow, sizeof req.extra_value_storage);
    verify((allow[0] != 0) == (result != ROUTE_NO_PATH));
    if (result == ROUTE_FOUND) verify(strstr(allow, route->method) != 0);
    free(input);
    return 0;
}
