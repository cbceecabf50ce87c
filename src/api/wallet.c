/* wallet.c — GET /api/v1/wallet (the caller's balance) and POST /api/v1/wallet/credits
 * (admin: credit a buyer from the funding account through the ledger, audited). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/risk_events.h"
#include "api/risk_live.h"
#include "base/assert.h"
#include "base/text.h"
#include "base/limits.h"

struct wallet_list {
    const char *currency; /* the one answered at the top level */
    int64_t balance;      /* its balance: 0 unless the caller has a wallet in it */
    struct buf items;     /* the "balances" array's members */
};

static enum status wallet_list_add(void *context, const char *currency, int64_t balance) {
    struct wallet_list *list = context;
    if (strcmp(currency, list->currency) == 0) list->balance = balance;
    return buf_printf(&list->items, "%s{\"currency\":\"%s\",\"balance\":%lld}",
                      list->items.len == 0 ? "" : ",", currency, (long long)balance);
}

/* {"balance","currency"} of one currency (?currency=, CNY by default) and "balances": every
 * wallet the caller has, one per currency — one statement, so one snapshot. */
void api_wallet_get(struct request *req) {
    struct wallet_list list = {request_arg(req, "currency"), 0, {0}};
    if (list.currency == 0) list.currency = "CNY";
    if (!money_currency_valid(list.currency)) {
        request_error(req, STATUS_INVALID_VALUE, "currency must be three upper-case letters");
        return;
    }
    buf_init(&list.items, req->response.limit); /* bounded as the answer is */
    enum status status = store_account_balances(request_reader(req), LEDGER_BUYER_WALLET,
                                                req->user.id, wallet_list_add, &list);
    if (status == STATUS_OK) {
        status =
            buf_printf(&req->response, "{\"balance\":%lld,\"currency\":\"%s\",\"balances\":[%.*s]}",
                       (long long)list.balance, list.currency, (int)list.items.len,
                       list.items.len ? list.items.data : "");
    }
    buf_free(&list.items);
    if (status != STATUS_OK) {
        request_error(req, status, 0);
        return;
    }
    request_json(req, 200);
}

struct credit_job {
    struct api_job base;
    char username[LIMIT_USERNAME_BYTES + 1];
    char reason[LIMIT_REASON_BYTES + 1];
    char currency[MONEY_CURRENCY_BYTES];
    int64_t amount;
    int64_t actor_id;
    int64_t transfer_id;
    int64_t balance;
    int64_t event_row; /* the credit's risk event (a payment), once recorded */
    struct risk_decision decision;
};

static enum status credit_apply(struct db *db, struct api_job *base) {
    struct credit_job *job = (struct credit_job *)base;
    enum status status =
        store_wallet_credit(db, job->username, job->amount, job->currency, job->reason,
                            job->actor_id, base->now_s, &job->transfer_id);
    if (status != STATUS_OK) return status;
    struct store_user user;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    status = store_user_by_name(db, job->username, &user, hash);
    if (status != STATUS_OK) return status;
    status = store_account_balance(db, LEDGER_BUYER_WALLET, user.id, job->currency, &job->balance);
    struct risk_live *risk = request_risk(base->req);
    if (status == STATUS_OK && risk != 0) {
        static struct risk_event event; /* the writer thread's */
        risk_event_payment(&event, job->username, job->amount, job->currency, base->now_s);
        status = risk_live_emit(risk, db, &event, &job->decision, &job->event_row, base->now_s);
    }
    return status;
}

static void credit_finish(struct request *req) {
    struct credit_job *job = req->work;
    if (job->base.status != STATUS_OK) {
        request_error(req, job->base.status, 0);
    } else {
        enum status status = buf_printf(
            &req->response, "{\"transfer_id\":%lld,\"username\":", (long long)job->transfer_id);
        if (status == STATUS_OK) status = json_append_string(&req->response, job->username);
        if (status == STATUS_OK) {
            status =
                buf_printf(&req->response, ",\"amount\":%lld,\"balance\":%lld,\"currency\":\"%s\"}",
                           (long long)job->amount, (long long)job->balance, job->currency);
        }
        verify(status == STATUS_OK);
        request_json(req, 201);
    }
    free(job);
}

void api_wallet_credit(struct request *req) {
    const char *username = 0, *reason = 0, *currency = "CNY";
    int64_t amount = 0;
    struct json_field fields[] = {
        {"username", JSON_FIELD_STRING, true, LIMIT_USERNAME_BYTES, &username, 0, 0, 0},
        {"amount", JSON_FIELD_INT, true, 0, 0, &amount, 0, 0},
        {"reason", JSON_FIELD_STRING, true, LIMIT_REASON_BYTES, &reason, 0, 0, 0},
        {"currency", JSON_FIELD_STRING, false, 3, &currency, 0, 0, 0},
    };
    json_t *root = 0;
    if (!api_parse(req, fields, 4, &root)) return;
    if (!money_amount_valid(amount)) {
        request_error(req, STATUS_INVALID_AMOUNT, 0);
    } else if (!money_currency_valid(currency)) {
        request_error(req, STATUS_INVALID_VALUE, "currency must be three upper-case letters");
    }
    if (req->answered) {
        json_decref(root);
        return;
    }
    struct credit_job *job = mem_calloc(1, sizeof *job);
    (void)text_copy(job->username, sizeof job->username, username);
    (void)text_copy(job->reason, sizeof job->reason, reason);
    (void)text_copy(job->currency, sizeof job->currency, currency);
    job->amount = amount;
    job->actor_id = req->user.id;
    json_decref(root);
    api_job_write(req, &job->base, credit_apply, credit_finish);
}
