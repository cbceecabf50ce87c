/* pay_worker.c — refunds sent to providers and pending orders reconciled, in rounds on the
 * worker's own thread (pay_worker.h). A round: (1) the writer lists refunds due (turning
 * payments owed back into refunds first); each goes to its provider outside the writer; the
 * writer records each answer. (2) For each provider that can be queried, the writer picks
 * pending orders old enough and marks them asked; a paid answer is applied exactly as a
 * notice would be (store_payment_apply: idempotent, amount checked). Providers are called
 * with src/pay/outbound.h (libcurl, timeouts, retries); the sandbox provider's answer is its
 * own record (store/sandbox.c), read with the pick. */
#include "api/pay_worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/text.h"
#include "pay/outbound.h"
#include "pay/pay.h"
#include "store/store.h"

struct pay_worker {
    struct pay_worker_config config;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    struct pay_worker_stats stats; /* under lock */
};

static bool worker_stopping(struct pay_worker *worker) {
    pthread_mutex_lock(&worker->lock);
    bool stopping = worker->stopping;
    pthread_mutex_unlock(&worker->lock);
    return stopping;
}

/* ---- refunds ---- */

struct due_cmd {
    struct writer_cmd cmd;
    int64_t now_s;
    int count;
    struct store_refund refunds[LIMIT_PAY_WORKER_BATCH];
};

static enum status due_apply(struct db *db, struct writer_cmd *cmd) {
    struct due_cmd *due = (struct due_cmd *)cmd;
    return store_refunds_due(db, due->now_s, due->refunds, LIMIT_PAY_WORKER_BATCH, &due->count);
}

struct settle_cmd {
    struct writer_cmd cmd;
    int64_t refund_id, now_s;
    enum store_refund_result result;
    char provider_refund_id[LIMIT_PAY_REF_BYTES + 1];
    char error[LIMIT_REASON_BYTES + 1];
    struct store_refund refund;
};

static enum status settle_apply(struct db *db, struct writer_cmd *cmd) {
    struct settle_cmd *settle = (struct settle_cmd *)cmd;
    return store_refund_settle(db, settle->refund_id, settle->result, settle->provider_refund_id,
                               settle->error, settle->now_s, &settle->refund);
}

struct sending_cmd {
    struct writer_cmd cmd;
    int64_t refund_id;
    struct store_refund refund;
};

static enum status sending_apply(struct db *db, struct writer_cmd *cmd) {
    struct sending_cmd *sending = (struct sending_cmd *)cmd;
    return store_refund_sending(db, sending->refund_id, clock_now_s(), &sending->refund);
}

/* Asks the refund's provider to give the money back; fills the settle command. */
static void worker_refund_call(struct pay_worker *worker, const struct store_refund *refund,
                               struct settle_cmd *settle) {
    enum pay_provider provider = PAY_SANDBOX;
    if (!pay_provider_parse(refund->provider, &provider) ||
        !pay_provider_on(worker->config.pay, provider)) {
        settle->result = STORE_REFUND_RETRY;
        snprintf(settle->error, sizeof settle->error, "the provider %s is not set up here",
                 refund->provider);
        return;
    }
    if (provider == PAY_SANDBOX) { /* the built-in provider always gives the money back */
        settle->result = STORE_REFUND_SUCCEEDED;
        snprintf(settle->provider_refund_id, sizeof settle->provider_refund_id, "sbx_rf_%lld",
                 (long long)refund->id);
        return;
    }
    if (!pay_can_call(worker->config.pay, provider, PAY_REFUND)) {
        settle->result = STORE_REFUND_RETRY;
        snprintf(settle->error, sizeof settle->error, "refunds through %s are not set up here",
                 refund->provider);
        return;
    }
    if (!pay_refund_dedupes(provider)) { /* marked being sent first: at most one request */
        struct sending_cmd sending = {.cmd.apply = sending_apply, .refund_id = refund->id};
        if (writer_call(worker->config.writer, &sending.cmd) != STATUS_OK) {
            settle->result = STORE_REFUND_RETRY;
            snprintf(settle->error, sizeof settle->error, "could not mark it being sent");
            return;
        }
    }
    char order_ref[24], refund_ref[24];
    store_order_ref(refund->order_id, order_ref);
    snprintf(refund_ref, sizeof refund_ref, "R%lld", (long long)refund->id);
    struct pay_refund_request request = {order_ref,
                                         refund->transaction[0] ? refund->transaction : 0,
                                         refund_ref,
                                         refund->amount,
                                         refund->payment_amount > 0 ? refund->payment_amount
                                                                    : refund->amount,
                                         refund->currency,
                                         "refund"};
    struct pay_refund_result result;
    memset(&result, 0, sizeof result);
    enum status status = pay_refund(worker->config.pay, provider, &request, &result);
    if (status == STATUS_OK && (result.accepted || result.succeeded || result.pending)) {
        /* the provider took it (some finish it later): the money was booked back already */
        settle->result = STORE_REFUND_SUCCEEDED;
        (void)text_copy(settle->provider_refund_id, sizeof settle->provider_refund_id,
                        result.refund_id);
        return;
    }
    /* a refusal is final; anything else (no answer, an answer not to be believed) is tried
     * again under the same refund reference, where the provider deduplicates it; a provider
     * that may refund twice if asked twice (EPay) is not asked again: a person checks at the
     * provider and settles it (POST /api/v1/refunds/{id}/settlement) */
    bool refused =
        status == STATUS_OK || status == STATUS_PROVIDER_REFUSED || status == STATUS_INVALID_VALUE;
    settle->result = refused                        ? STORE_REFUND_FAILED
                     : pay_refund_dedupes(provider) ? STORE_REFUND_RETRY
                                                    : STORE_REFUND_UNKNOWN;
    struct buf error;
    buf_init(&error, sizeof settle->error);
    if (buf_printf(&error, "%s: %s", status == STATUS_OK ? "refused" : status_code(status),
                   result.call.message[0] ? result.call.message : result.state) == STATUS_OK)
        (void)text_copy(settle->error, sizeof settle->error, error.data);
    buf_free(&error);
}

static void worker_refunds(struct pay_worker *worker) {
    struct due_cmd *due = mem_calloc(1, sizeof *due);
    due->cmd.apply = due_apply;
    due->now_s = clock_now_s();
    enum status status = writer_call(worker->config.writer, &due->cmd);
    if (status != STATUS_OK) {
        if (status != STATUS_BUSY)
            log_error("pay: listing refunds failed (%s)", status_code(status));
        free(due);
        return;
    }
    for (int i = 0; i < due->count && !worker_stopping(worker); i++) {
        const struct store_refund *refund = &due->refunds[i];
        struct settle_cmd settle = {.cmd.apply = settle_apply, .refund_id = refund->id};
        worker_refund_call(worker, refund, &settle);
        settle.now_s = clock_now_s();
        status = writer_call(worker->config.writer, &settle.cmd);
        if (status != STATUS_OK) { /* a refund being sent stays 'unknown': a person settles it */
            log_error("pay: refund %lld not recorded (%s)", (long long)refund->id,
                      status_code(status));
            continue;
        }
        /* what the database now says, which a person may have decided meanwhile */
        const char *recorded = settle.refund.status;
        pthread_mutex_lock(&worker->lock);
        if (strcmp(recorded, "succeeded") == 0) worker->stats.refunds_succeeded++;
        if (strcmp(recorded, "failed") == 0) worker->stats.refunds_failed++;
        if (strcmp(recorded, "pending") == 0) worker->stats.refunds_retried++;
        if (strcmp(recorded, "unknown") == 0) worker->stats.refunds_unknown++;
        pthread_mutex_unlock(&worker->lock);
        if (strcmp(recorded, "unknown") == 0) {
            log_warn("pay: refund %lld through %s needs a person: %s", (long long)refund->id,
                     refund->provider, settle.error);
        } else if (strcmp(recorded, "pending") == 0) {
            log_warn("pay: refund %lld through %s waits: %s", (long long)refund->id,
                     refund->provider, settle.error);
        } else {
            log_info("pay: refund %lld through %s %s", (long long)refund->id, refund->provider,
                     recorded);
        }
    }
    free(due);
}

/* ---- reconciliation ---- */

/* The pending orders of a provider old enough to ask about (marked asked). */
struct pick_cmd {
    struct writer_cmd cmd;
    const char *provider;
    int64_t now_s, after_s;
    int count;
    int64_t ids[LIMIT_PAY_WORKER_BATCH];
    char intents[LIMIT_PAY_WORKER_BATCH][LIMIT_PAY_REF_BYTES + 1]; /* Stripe's pi_…, or "" */
    /* the sandbox answers from its own record, read here in the same transaction */
    struct store_sandbox_payment sandbox[LIMIT_PAY_WORKER_BATCH];
};

static enum status pick_apply(struct db *db, struct writer_cmd *cmd) {
    struct pick_cmd *pick = (struct pick_cmd *)cmd;
    enum status status = store_orders_to_query(db, pick->provider, pick->now_s, pick->after_s,
                                               pick->ids, LIMIT_PAY_WORKER_BATCH, &pick->count);
    bool sandbox = strcmp(pick->provider, "sandbox") == 0;
    struct buf link;
    buf_init(&link, LIMIT_PAY_LINK_BYTES + 1);
    for (int i = 0; status == STATUS_OK && i < pick->count; i++) {
        link.len = 0;
        status = store_order_link(db, pick->ids[i], &link, pick->intents[i]);
        if (status == STATUS_OK && sandbox) {
            char ref[24];
            store_order_ref(pick->ids[i], ref);
            status = store_sandbox_query(db, ref, &pick->sandbox[i]);
        }
    }
    buf_free(&link);
    return status;
}

/* What provider says of order_ref: the sandbox's record read with the pick, or a query. */
static enum status worker_ask(struct pay_worker *worker, enum pay_provider provider,
                              const struct pick_cmd *pick, int i, const char *ref,
                              struct pay_query_result *result) {
    memset(result, 0, sizeof *result);
    if (provider != PAY_SANDBOX) {
        struct pay_query_request request = {ref, pick->intents[i][0] ? pick->intents[i] : 0};
        return pay_query(worker->config.pay, provider, &request, result);
    }
    const struct store_sandbox_payment *paid = &pick->sandbox[i];
    result->found = result->paid = result->has_amount = paid->paid;
    (void)text_copy(result->transaction, sizeof result->transaction, paid->transaction);
    result->amount = paid->amount;
    (void)text_copy(result->currency, sizeof result->currency, paid->currency);
    return STATUS_OK;
}

/* A payment the provider reported, applied as its notice would be. */
struct found_cmd {
    struct writer_cmd cmd;
    struct store_payment payment;
    int64_t now_s;
    enum store_payment_outcome outcome;
};

static enum status found_apply(struct db *db, struct writer_cmd *cmd) {
    struct found_cmd *found = (struct found_cmd *)cmd;
    struct store_order order;
    return store_payment_apply(db, &found->payment, found->now_s, &found->outcome, &order);
}

/* Asks provider about its pending orders; applies the ones it says were paid. */
static int worker_reconcile_one(struct pay_worker *worker, enum pay_provider provider) {
    struct pick_cmd *picked = mem_calloc(1, sizeof *picked);
    *picked = (struct pick_cmd){.cmd.apply = pick_apply,
                                .provider = pay_provider_name(provider),
                                .now_s = clock_now_s(),
                                .after_s = worker->config.reconcile_after_s};
    const struct pick_cmd *pick = picked;
    int applied = 0;
    if (writer_call(worker->config.writer, &picked->cmd) != STATUS_OK) picked->count = 0;
    for (int i = 0; i < pick->count && !worker_stopping(worker); i++) {
        char ref[24];
        store_order_ref(pick->ids[i], ref);
        struct pay_query_result result;
        enum status status = worker_ask(worker, provider, pick, i, ref, &result);
        if (status != STATUS_OK) {
            log_warn("pay: %s query of %s failed (%s)", pick->provider, ref, status_code(status));
            continue;
        }
        if (!result.found || !result.paid || !result.has_amount || result.transaction[0] == 0)
            continue;
        struct found_cmd found = {.cmd.apply = found_apply,
                                  .payment = {pick->provider, pick->ids[i], result.transaction,
                                              "reconcile", result.amount, result.currency},
                                  .now_s = clock_now_s()};
        status = writer_call(worker->config.writer, &found.cmd);
        if (status != STATUS_OK) {
            log_warn("pay: %s says %s was paid, but not as the order (%s)", pick->provider, ref,
                     status_code(status));
        } else if (found.outcome == STORE_PAYMENT_APPLIED) {
            applied++;
        }
    }
    free(picked);
    return applied;
}

static void worker_reconcile(struct pay_worker *worker) {
    static const enum pay_provider providers[] = {PAY_SANDBOX, PAY_EPAY, PAY_WECHATPAY, PAY_ALIPAY,
                                                  PAY_STRIPE};
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        enum pay_provider provider = providers[i];
        if (!pay_provider_on(worker->config.pay, provider) ||
            (provider != PAY_SANDBOX && !pay_can_call(worker->config.pay, provider, PAY_QUERY)))
            continue;
        int applied = worker_reconcile_one(worker, provider);
        if (applied == 0) continue;
        log_info("pay: %d %s orders paid without a notice were applied", applied,
                 pay_provider_name(provider));
        pthread_mutex_lock(&worker->lock);
        worker->stats.orders_reconciled += (uint64_t)applied;
        pthread_mutex_unlock(&worker->lock);
    }
}

/* ---- the thread ---- */

static void *worker_main(void *arg) {
    struct pay_worker *worker = arg;
    pthread_mutex_lock(&worker->lock);
    while (!worker->stopping) {
        pthread_mutex_unlock(&worker->lock);
        worker_refunds(worker);
        worker_reconcile(worker);
        pthread_mutex_lock(&worker->lock);
        worker->stats.rounds++;
        struct timespec until;
        verify(clock_gettime(CLOCK_REALTIME, &until) == 0);
        until.tv_sec += worker->config.interval_ms / 1000;
        until.tv_nsec += (long)(worker->config.interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!worker->stopping &&
               pthread_cond_timedwait(&worker->wake, &worker->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&worker->lock);
    return 0;
}

enum status pay_worker_start(const struct pay_worker_config *config, struct pay_worker **out) {
    verify(config != 0 && config->writer != 0 && config->pay != 0 && out != 0);
    verify(config->interval_ms > 0 && config->reconcile_after_s >= 0);
    struct pay_worker *worker = mem_calloc(1, sizeof *worker);
    worker->config = *config;
    verify(pthread_mutex_init(&worker->lock, 0) == 0);
    verify(pthread_cond_init(&worker->wake, 0) == 0);
    if (pthread_create(&worker->thread, 0, worker_main, worker) != 0) {
        pthread_cond_destroy(&worker->wake);
        pthread_mutex_destroy(&worker->lock);
        free(worker);
        return STATUS_NOMEM;
    }
    *out = worker;
    return STATUS_OK;
}

void pay_worker_stop(struct pay_worker *worker) {
    if (worker == 0) return;
    pthread_mutex_lock(&worker->lock);
    worker->stopping = true;
    pthread_cond_signal(&worker->wake);
    pthread_mutex_unlock(&worker->lock);
    verify(pthread_join(worker->thread, 0) == 0);
    pthread_cond_destroy(&worker->wake);
    pthread_mutex_destroy(&worker->lock);
    free(worker);
}

void pay_worker_stats(struct pay_worker *worker, struct pay_worker_stats *out) {
    verify(worker != 0 && out != 0);
    pthread_mutex_lock(&worker->lock);
    *out = worker->stats;
    pthread_mutex_unlock(&worker->lock);
}
