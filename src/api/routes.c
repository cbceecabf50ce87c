/* routes.c — the route table: every URL Tessera answers, who may call it, and its handler.
 * Adding an endpoint means one line here and a handler in the resource's file. The last
 * field, true on a GET that only reads, lets HEAD run it too (not the codes reveal, which
 * is audited, nor the payment notices a provider may send by GET). */
#include "api/api.h"
#include "base/limits.h"

#define ADMIN ROLE_BIT(ROLE_ADMIN)
#define SUPPORT ROLE_BIT(ROLE_SUPPORT)
#define SUPPLIER ROLE_BIT(ROLE_SUPPLIER)
#define BUYER ROLE_BIT(ROLE_BUYER)
#define RISK ROLE_BIT(ROLE_RISK)

const struct route routes[] = {
    {"GET", "/healthz", "healthz", 0, api_healthz, 0, true},
    {"GET", "/metrics", "metrics", 0, api_metrics, 0, true},
    {"POST", "/api/v1/auth/login", "auth_login", 0, api_login, 0, false},
    {"POST", "/api/v1/users", "users_create", ADMIN, api_users_create, 0, false},
    {"GET", "/api/v1/products", "products_list", 0, api_products_list, 0, true},
    {"POST", "/api/v1/products", "products_create", ADMIN, api_products_create, 0, false},
    {"POST", "/api/v1/products/{}/codes", "codes_import", ADMIN | SUPPLIER, api_codes_import,
     LIMIT_IMPORT_BODY_BYTES, false},
    {"POST", "/api/v1/wallet/credits", "wallet_credit", ADMIN, api_wallet_credit, 0, false},
    {"GET", "/api/v1/wallet", "wallet_get", ROLES_ANY, api_wallet_get, 0, true},
    {"POST", "/api/v1/orders", "orders_create", BUYER, api_orders_create, 0, false},
    {"GET", "/api/v1/orders/{}", "orders_get", BUYER | SUPPORT | ADMIN, api_orders_get, 0, true},
    {"GET", "/api/v1/orders/{}/codes", "orders_codes", BUYER, api_orders_codes, 0, false},
    {"POST", "/api/v1/orders/{}/confirmations", "orders_confirm", ADMIN, api_pay_confirm, 0, false},
    {"POST", "/api/v1/orders/{}/invalid-codes", "orders_invalid_codes", SUPPORT | ADMIN,
     api_orders_invalid_codes, 0, false},
    {"POST", "/api/v1/orders/{}/refunds", "orders_refund", SUPPORT | ADMIN, api_orders_refund, 0,
     false},
    {"GET", "/api/v1/orders/{}/refunds", "orders_refunds", BUYER | SUPPORT | ADMIN,
     api_orders_refunds_list, 0, true},
    {"POST", "/api/v1/refunds/{}/settlement", "refunds_settle", ADMIN, api_refunds_settle, 0,
     false},
    {"GET", "/api/v1/credit", "credit_get", BUYER, api_credit_get, 0, true},
    {"GET", "/api/v1/credit/quote", "credit_quote", BUYER, api_credit_quote, 0, true},
    {"PUT", "/api/v1/credit/{}", "credit_put", ADMIN | RISK, api_credit_put, 0, false},
    {"POST", "/api/v1/credit/repayments", "credit_repay", BUYER, api_credit_repay, 0, false},
    {"POST", "/api/v1/credit/plans/{}/payoff", "credit_payoff", BUYER, api_credit_payoff, 0, false},
    {"GET", "/api/v1/risk/rules", "risk_rules_get", RISK | ADMIN, api_risk_rules_get, 0, true},
    {"PUT", "/api/v1/risk/rules", "risk_rules_put", RISK | ADMIN, api_risk_rules_put,
     LIMIT_RISK_RULE_FILE_BYTES, false},
    {"POST", "/api/v1/risk/rules/test", "risk_rules_test", RISK | ADMIN, api_risk_rules_test,
     LIMIT_RISK_RULE_FILE_BYTES, false},
    {"POST", "/api/v1/risk/events", "risk_events_post", RISK | ADMIN, api_risk_events_post,
     LIMIT_RISK_EVENT_BYTES, false},
    {"GET", "/api/v1/risk/events/{}", "risk_event_get", RISK | ADMIN, api_risk_event_get, 0, true},
    {"GET", "/api/v1/risk/decisions/{}", "risk_decision_get", RISK | ADMIN, api_risk_decision_get,
     0, true},
    {"GET", "/api/v1/risk/reviews", "risk_reviews_list", RISK | ADMIN, api_risk_reviews_list, 0,
     true},
    {"POST", "/api/v1/risk/reviews/{}", "risk_review_decide", RISK | ADMIN, api_risk_review_decide,
     0, false},
    {"GET", "/api/v1/risk/lists/{}", "risk_list_get", RISK | ADMIN, api_risk_list_get, 0, true},
    {"PUT", "/api/v1/risk/lists/{}", "risk_list_put", RISK | ADMIN, api_risk_list_put,
     LIMIT_IMPORT_BODY_BYTES, false},
    {"POST", "/api/v1/pay/{}/notify", "pay_notify", 0, api_pay_notify, LIMIT_PAY_NOTICE_BYTES,
     false},
    {"GET", "/api/v1/pay/{}/notify", "pay_notify_get", 0, api_pay_notify, 0, false},
    {"GET", "/pay/sandbox/{}", "pay_sandbox_page", 0, api_pay_sandbox_page, 0, false},
    {"POST", "/pay/sandbox/{}", "pay_sandbox_pay", 0, api_pay_sandbox_pay, 0, false},
};

const int routes_count = (int)(sizeof routes / sizeof routes[0]);
