/* router.c — matches a request path against the route table, segment by segment.
 * Captured segments are copied into the request's own storage, bounded. */
#include "http/router.h"

#include <string.h>

#include "base/assert.h"
#include "base/text.h"

/* Does path match pattern? Captures go to params (storage bounded by req). */
static bool router_path_matches(struct request *req, const char *pattern, const char *path) {
    size_t used = 0;
    int captured = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || captured == REQUEST_MAX_PARAMS ||
                used + len + 1 > sizeof req->param_storage) {
                return false;
            }
            memcpy(req->param_storage + used, s, len);
            req->param_storage[used + len] = 0;
            req->params[captured++] = req->param_storage + used;
            used += len + 1;
            s += len;
            p += 2;
            continue;
        }
        if (*p != *s) return false;
        p++;
        s++;
    }
    return *p == 0 && *s == 0;
}

enum route_match router_match(struct request *req, const char *method, const char *path,
                              const struct route **out) {
    verify(req != 0 && method != 0 && path != 0 && out != 0);
    bool path_seen = false;
    for (int i = 0; i < routes_count; i++) {
        if (!router_path_matches(req, routes[i].pattern, path)) continue;
        path_seen = true;
        if (strcmp(routes[i].method, method) == 0 ||
            (routes[i].head && strcmp(method, "HEAD") == 0)) {
            verify(!routes[i].head || strcmp(routes[i].method, "GET") == 0);
            *out = &routes[i];
            return ROUTE_FOUND;
        }
    }
    return path_seen ? ROUTE_WRONG_METHOD : ROUTE_NO_PATH;
}

void router_allow(struct request *req, const char *path, char *out, size_t size) {
    verify(req != 0 && path != 0 && out != 0 && size > 0);
    size_t at = 0;
    out[0] = 0;
    for (int i = 0; i < routes_count; i++) {
        if (!router_path_matches(req, routes[i].pattern, path)) continue;
        if (at > 0) at = text_put(out, size, at, ", ");
        at = text_put(out, size, at, routes[i].method);
        if (routes[i].head) at = text_put(out, size, at, ", HEAD");
    }
    verify(at + 1 < size); /* never truncated: out is sized for every method the table uses */
}
