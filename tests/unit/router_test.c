/* router_test.c — router_match over the real route table (src/api/routes.c): literal
 * paths, captured segments, 405 for a known path with another method, 404 for anything
 * else, and the role names the table's masks are built from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "domain/role.h"
#include "http/router.h"

static struct request req;

static enum route_match match(const char *method, const char *path, const struct route **out) {
    memset(&req, 0, sizeof req);
    *out = 0;
    return router_match(&req, method, path, out);
}

static void assert_found(const char *method, const char *path, const char *name) {
    const struct route *route = 0;
    enum route_match result = match(method, path, &route);
    if (result != ROUTE_FOUND) fail_msg("%s %s: %d, wanted a match", method, path, result);
    assert_non_null(route);
    assert_string_equal(route->name, name);
    assert_string_equal(route->method, method);
    assert_non_null(route->handler);
}

static void assert_result(const char *method, const char *path, enum route_match want) {
    const struct route *route = 0;
    enum route_match result = match(method, path, &route);
    if (result != want) fail_msg("%s %s: %d, wanted %d", method, path, result, want);
}

static void literal_routes(void **state) {
    assert_found("GET", "/healthz", "healthz");
    assert_found("GET", "/metrics", "metrics");
    assert_found("POST", "/api/v1/auth/login", "auth_login");
    assert_found("POST", "/api/v1/users", "users_create");
    assert_found("GET", "/api/v1/products", "products_list");
    assert_found("POST", "/api/v1/products", "products_create");
    assert_found("POST", "/api/v1/wallet/credits", "wallet_credit");
    assert_found("GET", "/api/v1/wallet", "wallet_get");
    assert_found("POST", "/api/v1/orders", "orders_create");
}

static void captured_segments(void **state) {
    assert_found("GET", "/api/v1/orders/42", "orders_get");
    assert_string_equal(req.params[0], "42");
    assert_found("GET", "/api/v1/orders/42/codes", "orders_codes");
    assert_string_equal(req.params[0], "42");
    assert_found("POST", "/api/v1/products/JD-E100/codes", "codes_import");
    assert_string_equal(req.params[0], "JD-E100");
    /* Captures are raw segments; handlers decide what is valid. */
    assert_found("GET", "/api/v1/orders/not-a-number", "orders_get");
    assert_string_equal(req.params[0], "not-a-number");
    assert_found("GET", "/api/v1/orders/%2F", "orders_get");
    assert_string_equal(req.params[0], "%2F");
    /* Captured text is NUL-terminated inside the request, not pointing into the path. */
    char path[] = "/api/v1/orders/77/codes";
    assert_found("GET", path, "orders_codes");
    path[15] = '9';
    assert_string_equal(req.params[0], "77");
    assert_true(req.params[0] >= req.param_storage &&
                req.params[0] < req.param_storage + sizeof req.param_storage);
}

static void long_segments(void **state) {
    char path[600];
    char segment[400];
    size_t longest = sizeof req.param_storage - 1;
    memset(segment, '7', longest);
    segment[longest] = 0;
    snprintf(path, sizeof path, "/api/v1/orders/%s", segment);
    assert_found("GET", path, "orders_get");
    assert_int_equal(strlen(req.params[0]), longest);
    memset(segment, '7', longest + 1);
    segment[longest + 1] = 0;
    snprintf(path, sizeof path, "/api/v1/orders/%s", segment);
    assert_result("GET", path, ROUTE_NO_PATH); /* past the capture storage: no such path */
}

static void wrong_method_is_405(void **state) {
    assert_result("POST", "/healthz", ROUTE_WRONG_METHOD);
    assert_result("DELETE", "/api/v1/products", ROUTE_WRONG_METHOD);
    assert_result("PUT", "/api/v1/products", ROUTE_WRONG_METHOD);
    assert_result("GET", "/api/v1/orders", ROUTE_WRONG_METHOD);
    assert_result("POST", "/api/v1/orders/42", ROUTE_WRONG_METHOD);
    assert_result("DELETE", "/api/v1/orders/42/codes", ROUTE_WRONG_METHOD);
    assert_result("GET", "/api/v1/products/X/codes", ROUTE_WRONG_METHOD);
    assert_result("GET", "/api/v1/auth/login", ROUTE_WRONG_METHOD);
    assert_result("get", "/healthz", ROUTE_WRONG_METHOD); /* methods are case-sensitive */
    assert_result("", "/healthz", ROUTE_WRONG_METHOD);
    assert_result("HEAD", "/api/v1/orders/42/codes", ROUTE_WRONG_METHOD); /* an audited read */
    assert_result("HEAD", "/api/v1/pay/epay/notify", ROUTE_WRONG_METHOD); /* side effects */
    assert_result("HEAD", "/api/v1/auth/login", ROUTE_WRONG_METHOD);
    assert_result("head", "/healthz", ROUTE_WRONG_METHOD);
}

/* HEAD runs the path's GET route when that route only reads. */
static void head_runs_reading_gets(void **state) {
    static const char *const paths[] = {"/healthz", "/metrics", "/api/v1/products",
                                        "/api/v1/wallet", "/api/v1/orders/42"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const struct route *route = 0;
        assert_int_equal(match("HEAD", paths[i], &route), ROUTE_FOUND);
        assert_string_equal(route->method, "GET");
        assert_true(route->head);
    }
    for (int i = 0; i < routes_count; i++)
        if (routes[i].head) assert_string_equal(routes[i].method, "GET");
    assert_result("HEAD", "/nope", ROUTE_NO_PATH);
}

static void allow_lists_the_methods(void **state) {
    static const char *const cases[][2] = {
        {"/healthz", "GET, HEAD"},
        {"/api/v1/products", "GET, HEAD, POST"},
        {"/api/v1/orders/7/codes", "GET"},
        {"/api/v1/risk/lists/x", "GET, HEAD, PUT"},
        {"/api/v1/pay/epay/notify", "POST, GET"},
        {"/nope", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char allow[32];
        memset(&req, 0, sizeof req);
        router_allow(&req, cases[i][0], allow, sizeof allow);
        assert_string_equal(allow, cases[i][1]);
    }
}

static void unknown_paths_are_404(void **state) {
    static const char *const paths[] = {
        "",
        "/",
        "/healthz/",
        "/healthzz",
        "/health",
        "/HEALTHZ",
        "healthz",
        "//healthz",
        "/api",
        "/api/v1",
        "/api/v1/",
        "/api/v1/orders/",
        "/api/v1/orders//codes",
        "/api/v1/orders/1/",
        "/api/v1/orders/1/codes/",
        "/api/v1/orders/1/codes/2",
        "/api/v1/orders/1/2",
        "/api/v1/products//codes",
        "/api/v1/products/codes",
        "/api/v2/orders",
        "/api/v1/orders?x=1",
        "/api/v1/wallet/credits/1",
        "/metrics\n",
        "/api/v1/products/{}/codes/x",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_result("GET", paths[i], ROUTE_NO_PATH);
        assert_result("POST", paths[i], ROUTE_NO_PATH);
    }
}

/* Every route in the table is reachable with its own method, and its path with any other
 * method is a 405, never a 404 or another route. */
/* Whether pattern ("{}" for one segment) matches path. */
static bool pattern_matches(const char *pattern, const char *path) {
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            while (*path && *path != '/')
                path++;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == 0 && *path == 0;
}

static void every_route_in_the_table(void **state) {
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    assert_true(routes_count > 0);
    for (int i = 0; i < routes_count; i++) {
        char path[256];
        size_t at = 0;
        for (const char *p = routes[i].pattern; *p; p++) {
            if (p[0] == '{' && p[1] == '}') {
                at += (size_t)snprintf(path + at, sizeof path - at, "123");
                p++;
            } else {
                path[at++] = *p;
            }
        }
        path[at] = 0;
        const struct route *route = 0;
        assert_int_equal(match(routes[i].method, path, &route), ROUTE_FOUND);
        assert_ptr_equal(route, &routes[i]);
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            bool same_path_other_route = false;
            for (int k = 0; k < routes_count; k++) {
                if (k != i && pattern_matches(routes[k].pattern, path) &&
                    strcmp(routes[k].method, methods[m]) == 0) {
                    same_path_other_route = true;
                }
            }
            if (strcmp(methods[m], routes[i].method) == 0 || same_path_other_route) continue;
            assert_int_equal(match(methods[m], path, &route), ROUTE_WRONG_METHOD);
        }
    }
}

static void table_is_well_formed(void **state) {
    for (int i = 0; i < routes_count; i++) {
        assert_int_equal(routes[i].pattern[0], '/');
        assert_true((routes[i].roles & ~(uint32_t)ROLES_ANY) == 0);
        for (int k = i + 1; k < routes_count; k++) {
            bool duplicate = strcmp(routes[i].pattern, routes[k].pattern) == 0 &&
                             strcmp(routes[i].method, routes[k].method) == 0;
            assert_false(duplicate);
            assert_string_not_equal(routes[i].name, routes[k].name);
        }
    }
}

static void role_names(void **state) {
    for (int i = 0; i < ROLE_COUNT; i++) {
        enum role parsed = ROLE_COUNT;
        assert_true(role_parse(role_name((enum role)i), &parsed));
        assert_int_equal(parsed, i);
    }
    enum role parsed = ROLE_BUYER;
    assert_true(role_parse("admin", &parsed));
    assert_int_equal(parsed, ROLE_ADMIN);
    parsed = ROLE_BUYER;
    assert_false(role_parse("Admin", &parsed));
    assert_false(role_parse("", &parsed));
    assert_false(role_parse("admin ", &parsed));
    assert_false(role_parse("root", &parsed));
    assert_int_equal(parsed, ROLE_BUYER); /* untouched when unknown */
    assert_int_equal(ROLES_ANY, (1u << ROLE_COUNT) - 1u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_routes),         cmocka_unit_test(captured_segments),
        cmocka_unit_test(long_segments),          cmocka_unit_test(wrong_method_is_405),
        cmocka_unit_test(head_runs_reading_gets), cmocka_unit_test(allow_lists_the_methods),
        cmocka_unit_test(unknown_paths_are_404),  cmocka_unit_test(every_route_in_the_table),
        cmocka_unit_test(table_is_well_formed),   cmocka_unit_test(role_names),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
