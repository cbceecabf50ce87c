/* metrics.h — process-wide counters and latency histograms, rendered in Prometheus text
 * format. Lock-free: every counter is a relaxed atomic. */
#ifndef TESSERA_HTTP_METRICS_H
#define TESSERA_HTTP_METRICS_H

#include <stdint.h>

#include "base/mem.h"
#include "base/status.h"

struct route;
struct writer;
struct db;

void metrics_record(const struct route *route, unsigned http_status, uint64_t latency_ns);
/* Where a suspended request's time goes, for every request handed to the writer: queued
 * until the writer first applies it; applied until its batch is durable and handed back;
 * handed back until its HTTP thread answers (the last also for the offload pool). */
enum metrics_stage {
    METRICS_STAGE_WRITER_QUEUE,
    METRICS_STAGE_WRITER_DURABLE,
    METRICS_STAGE_RESUME,
    METRICS_STAGES
};
void metrics_stage(enum metrics_stage stage, uint64_t ns);
void metrics_order_delivered(int64_t codes);
/* Appends the exposition text; reads stock from db and batch sizes from writer. */
must_check enum status metrics_render(struct buf *out, struct db *db, struct writer *writer);

#endif
