/* pay_worker.c — refunds sent to providers and pending orders reconciled, in rounds on the
 * worker's own thread (pay_worker.h). A round: (1) the writer lists refunds due (turning
 * payments owed back into refunds first); each goes to its provider outside the writer; the
 * writer records each answer. (2) For each provider that can be queried, the writer picks
 * pending orders old enough and marks them asked; a paid answer is applied exactly as a
 * notice would be (store_payment_apply: idempotent, amount checked). The sandbox provider
 * answers from its own record (store/sandbox.c), inside the writer. */
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
    settle->result = STORE_REFUND_RETRY;
    snprintf(settle->error, sizeof settle->error, "refunds through %s are not set up here",
             refund->provider);
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
    for (int i = 0; i < due->count; i++) {
        const struct store_refund *refund = &due->refunds[i];
        struct settle_cmd settle = {.cmd.apply = settle_apply, .refund_id = refund->id};
        worker_refund_call(worker, refund, &settle);
        settle.now_s = clock_now_s();
        status = writer_call(worker->config.writer, &settle.cmd);
        if (status != STATUS_OK) {
            log_error("pay: refund %lld not recorded (%s)", (long long)refund->id,
                      status_code(status));
            continue;
        }
        pthread_mutex_lock(&worker->lock);
        if (settle.result == STORE_REFUND_SUCCEEDED) worker->stats.refunds_succeeded++;
        if (settle.result == STORE_REFUND_FAILED) worker->stats.refunds_failed++;
        if (settle.result == STORE_REFUND_RETRY) worker->stats.refunds_retried++;
        pthread_mutex_unlock(&worker->lock);
        if (settle.result == STORE_REFUND_RETRY) {
            log_warn("pay: refund %lld through %s waits: %s", (long long)refund->id,
                     refund->provider, settle.error);
        } else {
            log_info("pay: refund %lld through %s %s", (long long)refund->id, refund->provider,
                     settle.result == STORE_REFUND_SUCCEEDED ? "succeeded" : "failed");
        }
    }
    free(due);
}

/* ---- reconciliation ---- */

struct sandbox_cmd {
    struct writer_cmd cmd;
    int64_t now_s, after_s;
    int reconciled;
};

/* Pending sandbox orders old enough, asked at the sandbox's own record; paid ones applied. */
static enum status sandbox_reconcile_apply(struct db *db, struct writer_cmd *cmd) {
    struct sandbox_cmd *job = (struct sandbox_cmd *)cmd;
    job->reconciled = 0;
    int64_t ids[LIMIT_PAY_WORKER_BATCH];
    int count = 0;
    enum status status = store_orders_to_query(db, "sandbox", job->now_s, job->after_s,
                                               job->after_s, ids, LIMIT_PAY_WORKER_BATCH, &count);
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        char ref[24];
        store_order_ref(ids[i], ref);
        struct store_sandbox_payment paid;
        status = store_sandbox_query(db, ref, &paid);
        if (status != STATUS_OK || !paid.paid) continue;
        struct store_payment payment = {"sandbox",   ids[i],      paid.transaction,
                                        "reconcile", paid.amount, paid.currency};
        enum store_payment_outcome outcome = STORE_PAYMENT_REPEATED;
        struct store_order order;
        status = store_payment_apply(db, &payment, job->now_s, &outcome, &order);
        if (status == STATUS_PAYMENT_MISMATCH || status == STATUS_UNKNOWN_ORDER) {
            log_warn("pay: sandbox says order %s was paid, but not as the order (%s)", ref,
                     status_code(status));
            status = STATUS_OK; /* nothing written; the next order */
            continue;
        }
        if (status == STATUS_OK && outcome == STORE_PAYMENT_APPLIED) job->reconciled++;
    }
    return status;
}

static void worker_reconcile(struct pay_worker *worker) {
    if (!pay_provider_on(worker->config.pay, PAY_SANDBOX)) return;
    struct sandbox_cmd job = {.cmd.apply = sandbox_reconcile_apply,
                              .now_s = clock_now_s(),
                              .after_s = worker->config.reconcile_after_s};
    enum status status = writer_call(worker->config.writer, &job.cmd);
    if (status != STATUS_OK && status != STATUS_BUSY)
        log_error("pay: reconciliation failed (%s)", status_code(status));
    if (status == STATUS_OK && job.reconciled > 0) {
        log_info("pay: %d sandbox orders paid without a notice were applied", job.reconciled);
        pthread_mutex_lock(&worker->lock);
        worker->stats.orders_reconciled += (uint64_t)job.reconciled;
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
