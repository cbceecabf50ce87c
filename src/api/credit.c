/* credit.c — credit lines and installment plans (分期) over HTTP:
 *   PUT  /api/v1/credit/{username} (admin, risk) {"limit"[,"currency"]}   sets a buyer's line
 *   GET  /api/v1/credit (buyer)   limit, used, available, and each plan with its schedule
 *   GET  /api/v1/credit/quote?sku=…&quantity=…&periods=… (buyer)   the cost before buying:
 *        fee, installments and the annualised rate (IRR method), per COMPLIANCE.md
 *   POST /api/v1/credit/repayments (buyer) {"amount"} [Idempotency-Key]   from the credit
 *        balance, then the wallet, oldest period first; a repeat under the key answers the
 *        first repayment again
 *   POST /api/v1/credit/plans/{order_id}/payoff (buyer) {"amount"}   settles a plan now for
 *        exactly its payoff (shown in GET /api/v1/credit); fees not yet due are waived
 * A credit order is POST /api/v1/orders with "payment":{"method":"credit","periods":N}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/text.h"

static enum status credit_amounts(struct buf *out, const char *name,
                                  const struct installment_amounts *a) {
    return buf_printf(
        out, "\"%s\":{\"principal\":%lld,\"fee\":%lld,\"late_fee\":%lld,\"total\":%lld}", name,
        (long long)a->principal, (long long)a->fee, (long long)a->late_fee, (long long)a->total);
}

/* One period as the buyer sees it at now_s. */
static enum status credit_period(struct buf *out, const struct installment_plan *plan, int index,
                                 int64_t now_s) {
    const struct installment_period *p = &plan->period[index];
    char due[21];
    text_format_time(p->due_at_s, due);
    int64_t paid = p->principal_paid + p->fee_paid + p->late_fee_paid;
    int64_t owed = p->principal - p->principal_paid - p->principal_cancelled + p->fee -
                   p->fee_paid - p->fee_waived;
    const char *state = owed <= 0                                        ? "settled"
                        : installment_period_overdue(plan, index, now_s) ? "overdue"
                        : p->due_at_s <= now_s                           ? "due"
                                                                         : "upcoming";
    return buf_printf(out,
                      "{\"due_at\":\"%s\",\"principal\":%lld,\"fee\":%lld,\"paid\":%lld,"
                      "\"state\":\"%s\"}",
                      due, (long long)p->principal, (long long)p->fee, (long long)paid, state);
}

struct plans_out {
    struct buf *out;
    int64_t now_s;
    int count;
};

static enum status credit_plan_one(void *context, const struct store_credit_plan *credit) {
    struct plans_out *walk = context;
    const struct installment_plan *plan = &credit->plan;
    struct installment_amounts owed, due, payoff;
    installment_outstanding(plan, walk->now_s, &owed);
    installment_due(plan, walk->now_s, &due);
    enum installment_state state = installment_state(plan, walk->now_s);
    memset(&payoff, 0, sizeof payoff);
    enum status status = STATUS_OK;
    if (credit->held) { /* waiting for a review: nothing is due yet */
        memset(&due, 0, sizeof due);
        installment_outstanding(plan, credit->created_at, &owed);
    } else if (state != INSTALLMENT_PAID_OFF && state != INSTALLMENT_CANCELLED) {
        status = installment_payoff_quote(plan, walk->now_s, &payoff);
    }
    if (status == STATUS_OK && walk->count++ > 0) status = buf_append(walk->out, ",", 1);
    if (status == STATUS_OK)
        status =
            buf_printf(walk->out,
                       "{\"order_id\":%lld,\"periods\":%d,\"principal\":%lld,\"fee\":%lld,"
                       "\"fee_bp\":%lld,\"apr_bp\":%lld,\"state\":\"%s\",",
                       (long long)credit->order_id, plan->periods, (long long)plan->principal,
                       (long long)plan->fee, (long long)plan->fee_bp, (long long)credit->apr_bp,
                       credit->held ? "held" : installment_state_name(state));
    if (status == STATUS_OK) status = credit_amounts(walk->out, "outstanding", &owed);
    if (status == STATUS_OK) status = buf_append(walk->out, ",", 1);
    if (status == STATUS_OK) status = credit_amounts(walk->out, "due", &due);
    if (status == STATUS_OK)
        status = buf_printf(walk->out, ",\"payoff\":%lld,\"schedule\":[", (long long)payoff.total);
    for (int i = 0; status == STATUS_OK && i < plan->periods; i++) {
        if (i > 0) status = buf_append(walk->out, ",", 1);
        if (status == STATUS_OK)
            status =
                credit_period(walk->out, plan, i, credit->held ? credit->created_at : walk->now_s);
    }
    return status == STATUS_OK ? buf_append(walk->out, "]}", 2) : status;
}

void api_credit_get(struct request *req) {
    struct db *db = request_reader(req);
    struct store_credit_line line;
    enum status status = store_credit_get(db, req->user.id, &line);
    int64_t now_s = clock_now_s();
    if (status == STATUS_OK)
        status = buf_printf(&req->response,
                            "{\"limit\":%lld,\"used\":%lld,\"available\":%lld,"
                            "\"credit_balance\":%lld,\"currency\":\"%s\",\"plans\":[",
                            (long long)line.limit, (long long)line.used, (long long)line.available,
                            (long long)line.credit_balance, line.currency);
    struct plans_out walk = {&req->response, now_s, 0};
    if (status == STATUS_OK)
        status = store_credit_plan_each(db, req->user.id, false, credit_plan_one, &walk);
    if (status == STATUS_OK) status = buf_append(&req->response, "]}", 2);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

/* ---- PUT /api/v1/credit/{username} ---- */

struct limit_job {
    struct api_job base;
    char username[LIMIT_USERNAME_BYTES + 1];
    char currency[MONEY_CURRENCY_BYTES];
    int64_t limit, actor_id;
    struct store_credit_line line;
};

static enum status limit_apply(struct db *db, struct api_job *base) {
    struct limit_job *job = (struct limit_job *)base;
    struct store_user user;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    enum status status = store_user_by_name(db, job->username, &user, hash);
    if (status == STATUS_NOT_FOUND) return STATUS_UNKNOWN_USER;
    if (status == STATUS_OK)
        status =
            store_credit_set(db, user.id, job->limit, job->currency, job->actor_id, base->now_s);
    if (status == STATUS_OK) status = store_credit_get(db, user.id, &job->line);
    return status;
}

static void limit_finish(struct request *req) {
    struct limit_job *job = req->work;
    if (job->base.status == STATUS_INVALID_VALUE) {
        request_error(req, STATUS_INVALID_VALUE, "the credit line has another currency");
    } else if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        verify(buf_printf(&req->response, "{\"username\":") == STATUS_OK);
        verify(json_append_string(&req->response, job->username) == STATUS_OK);
        verify(buf_printf(&req->response,
                          ",\"limit\":%lld,\"used\":%lld,\"available\":%lld,\"currency\":\"%s\"}",
                          (long long)job->line.limit, (long long)job->line.used,
                          (long long)job->line.available, job->line.currency) == STATUS_OK);
        request_json(req, 200);
    }
    free(job);
}

void api_credit_put(struct request *req) {
    int64_t limit = 0;
    const char *currency = 0;
    struct json_field fields[] = {
        {"limit", JSON_FIELD_INT, true, 0, 0, &limit, 0, 0},
        {"currency", JSON_FIELD_STRING, false, 3, &currency, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 2, &root)) return;
    if (limit < 0 || limit > LIMIT_AMOUNT_MINOR ||
        (currency != 0 && !money_currency_valid(currency))) {
        json_decref(root);
        char message[96];
        snprintf(message, sizeof message, "limit must be from 0 to %lld minor units",
                 (long long)LIMIT_AMOUNT_MINOR);
        request_error(req, STATUS_INVALID_VALUE,
                      limit < 0 || limit > LIMIT_AMOUNT_MINOR
                          ? message
                          : "currency must be three upper-case letters");
        return;
    }
    struct limit_job *job = mem_calloc(1, sizeof *job);
    job->limit = limit;
    job->actor_id = req->user.id;
    (void)text_copy(job->currency, sizeof job->currency, currency ? currency : "CNY");
    json_decref(root);
    if (strlen(req->params[0]) > LIMIT_USERNAME_BYTES) {
        free(job);
        request_error(req, STATUS_UNKNOWN_USER, 0);
        return;
    }
    (void)text_copy(job->username, sizeof job->username, req->params[0]);
    api_job_write(req, &job->base, limit_apply, limit_finish);
}

/* ---- GET /api/v1/credit/quote ---- */

/* A query argument as a positive number; false when missing or not a decimal number. */
static bool quote_number(struct request *req, const char *name, int64_t *out) {
    const char *text = request_arg(req, name);
    return text != 0 && text[0] != '0' && text_parse_int(text, strlen(text), out) == STATUS_OK;
}

void api_credit_quote(struct request *req) {
    const char *sku = request_arg(req, "sku");
    int64_t quantity = 0, periods = 0;
    if (sku == 0 || sku[0] == 0 || strlen(sku) > LIMIT_SKU_BYTES ||
        request_arg(req, "quantity") == 0 || request_arg(req, "periods") == 0) {
        request_error(
            req, STATUS_INVALID_FIELD,
            "the query needs sku, quantity and periods, e.g. ?sku=X&quantity=1&periods=3");
        return;
    }
    if (!quote_number(req, "quantity", &quantity)) {
        request_error(req, STATUS_INVALID_QUANTITY, 0);
        return;
    }
    if (!quote_number(req, "periods", &periods)) {
        request_error(req, STATUS_INVALID_PLAN, "periods must be 3, 6 or 12");
        return;
    }
    if (quantity < 1 || quantity > LIMIT_ORDER_QUANTITY) {
        request_error(req, STATUS_INVALID_QUANTITY, 0);
        return;
    }
    struct store_product product;
    enum status status = store_product_by_sku(request_reader(req), sku, &product);
    if (status == STATUS_NOT_FOUND) status = STATUS_UNKNOWN_SKU;
    if (status == STATUS_OK && strcmp(product.liquidity, "high") == 0)
        status = STATUS_CREDIT_NOT_ALLOWED;
    int64_t amount = 0;
    if (status == STATUS_OK) status = money_mul(product.price, quantity, &amount);
    struct installment_quote quote;
    if (status == STATUS_OK && (periods < 1 || periods > LIMIT_INSTALLMENT_PERIODS))
        status = STATUS_INVALID_PLAN;
    if (status == STATUS_OK)
        status = installment_quote(&installment_default_terms, amount, (int)periods, &quote);
    if (status == STATUS_OK) status = buf_append(&req->response, "{\"sku\":", 7);
    if (status == STATUS_OK) status = json_append_string(&req->response, product.sku);
    if (status == STATUS_OK)
        status = buf_printf(&req->response,
                            ",\"quantity\":%lld,\"periods\":%d,\"principal\":%lld,\"fee\":%lld,"
                            "\"fee_bp\":%lld,\"total\":%lld,\"first_installment\":%lld,"
                            "\"last_installment\":%lld,\"apr_bp\":%lld,\"apr\":\"%lld.%02lld%%\","
                            "\"currency\":\"%s\",\"apr_method\":\"irr\"}",
                            (long long)quantity, quote.periods, (long long)quote.principal,
                            (long long)quote.fee, (long long)quote.fee_bp, (long long)quote.total,
                            (long long)quote.first_total, (long long)quote.last_total,
                            (long long)quote.apr.apr_bp, (long long)(quote.apr.apr_bp / 100),
                            (long long)(quote.apr.apr_bp % 100), product.currency);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

/* ---- repayments and payoff ---- */

struct repay_job {
    struct api_job base;
    int64_t buyer_id, order_id, amount; /* order_id > 0: a payoff of that plan */
    char key[LIMIT_IDEMPOTENCY_KEY_BYTES + 1];
    bool has_key, replayed;
    struct installment_amounts applied;
    struct store_credit_line line;
};

static enum status repay_apply(struct db *db, struct api_job *base) {
    struct repay_job *job = (struct repay_job *)base;
    const char *key = job->has_key ? job->key : 0;
    enum status status = job->order_id > 0
                             ? store_credit_payoff(db, job->buyer_id, job->order_id, job->amount,
                                                   key, base->now_s, &job->applied, &job->replayed)
                             : store_credit_repay(db, job->buyer_id, job->amount, key, base->now_s,
                                                  &job->applied, &job->replayed);
    if (status == STATUS_OK) status = store_credit_get(db, job->buyer_id, &job->line);
    return status;
}

static void repay_finish(struct request *req) {
    struct repay_job *job = req->work;
    if (job->base.status == STATUS_INVALID_AMOUNT) { /* the amount was checked when parsed */
        request_error(req, STATUS_INVALID_AMOUNT,
                      job->order_id > 0 ? "the amount is not the plan's payoff now (GET "
                                          "/api/v1/credit shows it)"
                                        : "the amount is more than is owed on the credit line");
    } else if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        enum status status = buf_append(&req->response, "{", 1);
        if (status == STATUS_OK) status = credit_amounts(&req->response, "applied", &job->applied);
        if (status == STATUS_OK)
            status =
                buf_printf(&req->response, ",\"fee_waived\":%lld,\"used\":%lld,\"available\":%lld}",
                           (long long)job->applied.fee_waived, (long long)job->line.used,
                           (long long)job->line.available);
        verify(status == STATUS_OK);
        request_json(req, 200);
    }
    free(job);
}

static void repay_start(struct request *req, int64_t order_id) {
    const char *key = 0;
    if (!api_idempotency_key(req, false, &key)) return;
    int64_t amount = 0;
    struct json_field fields[] = {{"amount", JSON_FIELD_INT, true, 0, 0, &amount, 0, 0}};
    json_t *root = 0;
    if (!api_parse(req, fields, 1, &root)) return;
    json_decref(root);
    if (amount <= 0 || amount > LIMIT_AMOUNT_MINOR) {
        request_error(req, STATUS_INVALID_AMOUNT,
                      "amount must be a positive number of minor units");
        return;
    }
    struct repay_job *job = mem_calloc(1, sizeof *job);
    job->buyer_id = req->user.id;
    job->order_id = order_id;
    job->amount = amount;
    job->has_key = key != 0;
    if (key != 0) (void)text_copy(job->key, sizeof job->key, key);
    api_job_write(req, &job->base, repay_apply, repay_finish);
}

void api_credit_repay(struct request *req) { repay_start(req, 0); }

void api_credit_payoff(struct request *req) {
    int64_t id = 0;
    if (!api_parse_id(req->params[0], &id)) {
        request_error(req, STATUS_UNKNOWN_ORDER, 0);
        return;
    }
    repay_start(req, id);
}
