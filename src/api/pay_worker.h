/* pay_worker.h — the server's background payment work, on one thread of its own so that
 * calls to providers never hold the writer: pending refunds are sent to their provider (and
 * settled by its answer, retried with backoff when it cannot be reached), and pending
 * gateway orders older than a while are queried at their provider, so a payment whose
 * notice never came is still applied (reconciliation). Database work goes through the
 * writer like everything else. */
#ifndef TESSERA_API_PAY_WORKER_H
#define TESSERA_API_PAY_WORKER_H

#include <stdint.h>

#include "base/status.h"
#include "store/writer.h"

struct pay_config;
struct pay_worker;

struct pay_worker_config {
    struct writer *writer;
    const struct pay_config *pay;
    uint32_t interval_ms;      /* a round this often */
    int64_t reconcile_after_s; /* a pending order is queried once this old, then this often */
};

struct pay_worker_stats {
    uint64_t rounds, refunds_succeeded, refunds_failed, refunds_retried, refunds_unknown;
    uint64_t orders_reconciled;
};

must_check enum status pay_worker_start(const struct pay_worker_config *config,
                                        struct pay_worker **out);
/* Stops after the provider call in progress (each is bounded by the outbound timeouts) and
 * joins the thread; call before stopping the writer. */
void pay_worker_stop(struct pay_worker *worker);
void pay_worker_stats(struct pay_worker *worker, struct pay_worker_stats *out);

#endif
