/* metrics.c — per-route request counts by status class and latency histograms. */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "http/router.h"
#include "store/writer.h"

#define METRICS_MAX_ROUTES LIMIT_ROUTES

static const double metrics_bounds_s[LIMIT_LATENCY_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

struct metrics_route {
    _Atomic uint64_t by_class[6]; /* 1xx..5xx at [1..5] */
    _Atomic uint64_t buckets[LIMIT_LATENCY_BUCKETS];
    _Atomic uint64_t sum_ns;
};

static struct metrics_route metrics_routes[METRICS_MAX_ROUTES + 1]; /* last: unmatched */
static _Atomic uint64_t metrics_orders, metrics_codes_delivered;
static _Atomic uint64_t metrics_stage_ns[METRICS_STAGES], metrics_stage_count[METRICS_STAGES];
static const char *const metrics_stage_names[METRICS_STAGES] = {
    [METRICS_STAGE_WRITER_QUEUE] = "writer_queue",
    [METRICS_STAGE_WRITER_DURABLE] = "writer_durable",
    [METRICS_STAGE_RESUME] = "resume",
};

void metrics_stage(enum metrics_stage stage, uint64_t ns) {
    verify(stage >= 0);
    verify(stage < METRICS_STAGES && metrics_stage_names[stage] != 0);
    atomic_fetch_add_explicit(&metrics_stage_ns[stage], ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics_stage_count[stage], 1, memory_order_relaxed);
}

void metrics_record(const struct route *route, unsigned http_status, uint64_t latency_ns) {
    verify(routes_count <= METRICS_MAX_ROUTES);
    int index = route ? (int)(route - routes) : METRICS_MAX_ROUTES;
    verify(index >= 0 && index <= METRICS_MAX_ROUTES);
    struct metrics_route *m = &metrics_routes[index];
    unsigned cls = http_status / 100;
    if (cls > 5) cls = 5;
    atomic_fetch_add_explicit(&m->by_class[cls], 1, memory_order_relaxed);
    double seconds = (double)latency_ns / 1e9;
    int bucket = 0;
    while (bucket < LIMIT_LATENCY_BUCKETS - 1 && seconds > metrics_bounds_s[bucket])
        bucket++;
    atomic_fetch_add_explicit(&m->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_ns, latency_ns, memory_order_relaxed);
}

void metrics_order_delivered(int64_t codes) {
    verify(codes > 0);
    atomic_fetch_add_explicit(&metrics_orders, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics_codes_delivered, (uint64_t)codes, memory_order_relaxed);
}

/* One histogram's buckets as Prometheus wants them: cumulative counts, the first n - 1
 * bounded by bounds[], the last +Inf, then _count. labels: "" or `route="x",`. */
static enum status metrics_render_buckets(struct buf *out, const char *name, const char *labels,
                                          const uint64_t *counts, const double *bounds, int n) {
    enum status status = STATUS_OK;
    uint64_t cumulative = 0;
    for (int b = 0; b < n && status == STATUS_OK; b++) {
        cumulative += counts[b];
        if (b < n - 1) {
            status = buf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[b],
                                (unsigned long long)cumulative);
        } else {
            status = buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
                                (unsigned long long)cumulative);
        }
    }
    if (status != STATUS_OK) return status;
    size_t len = strlen(labels); /* `route="x",` → {route="x"}; "" → nothing */
    if (len == 0) return buf_printf(out, "%s_count %llu\n", name, (unsigned long long)cumulative);
    return buf_printf(out, "%s_count{%.*s} %llu\n", name, (int)len - 1, labels,
                      (unsigned long long)cumulative);
}

/* Bounds first, 2·first, 4·first, … for the writer's power-of-two buckets. */
static void metrics_doubling(double *bounds, int n, double first) {
    for (int b = 0; b < n; b++)
        bounds[b] = first * (double)(1u << b);
}

static enum status metrics_render_route(struct buf *out, const char *name,
                                        struct metrics_route *m) {
    enum status status = STATUS_OK;
    for (int cls = 1; cls <= 5 && status == STATUS_OK; cls++) {
        uint64_t n = atomic_load_explicit(&m->by_class[cls], memory_order_relaxed);
        if (n == 0) continue;
        status = buf_printf(out, "tessera_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                            name, cls, (unsigned long long)n);
    }
    uint64_t counts[LIMIT_LATENCY_BUCKETS];
    for (int b = 0; b < LIMIT_LATENCY_BUCKETS; b++)
        counts[b] = atomic_load_explicit(&m->buckets[b], memory_order_relaxed);
    char labels[128];
    int len = snprintf(labels, sizeof labels, "route=\"%s\",", name);
    verify(len > 0 && (size_t)len < sizeof labels);
    if (status == STATUS_OK) {
        status = metrics_render_buckets(out, "tessera_http_request_seconds", labels, counts,
                                        metrics_bounds_s, LIMIT_LATENCY_BUCKETS);
    }
    if (status != STATUS_OK) return status;
    return buf_printf(out, "tessera_http_request_seconds_sum{route=\"%s\"} %.6f\n", name,
                      (double)atomic_load(&m->sum_ns) / 1e9);
}

/* How long the writer's COMMITs took (the WAL write and sync every order of a batch waits
 * for), and its copies of checkpoint tails between batches: where disk stalls show. */
static enum status metrics_render_commits(struct buf *out, const struct writer_stats *ws) {
    double bounds[WRITER_COMMIT_BUCKETS - 1];
    metrics_doubling(bounds, WRITER_COMMIT_BUCKETS - 1, 0.000125);
    enum status status = buf_printf(out, "# TYPE tessera_writer_commit_seconds histogram\n");
    if (status == STATUS_OK) {
        status = metrics_render_buckets(out, "tessera_writer_commit_seconds", "",
                                        ws->commit_buckets, bounds, WRITER_COMMIT_BUCKETS);
    }
    if (status != STATUS_OK) return status;
    return buf_printf(out,
                      "tessera_writer_commit_seconds_sum %.9f\n"
                      "# TYPE tessera_wal_checkpoint_finish_seconds summary\n"
                      "tessera_wal_checkpoint_finish_seconds_sum %.9f\n"
                      "tessera_wal_checkpoint_finish_seconds_count %llu\n",
                      (double)ws->commit_ns / 1e9, (double)ws->checkpoint_finish_ns / 1e9,
                      (unsigned long long)ws->checkpoint_finishes);
}

enum status metrics_render(struct buf *out, struct db *db, struct writer *writer) {
    verify(out != 0 && db != 0 && writer != 0);
    enum status status = buf_printf(out, "# TYPE tessera_http_requests_total counter\n"
                                         "# TYPE tessera_http_request_seconds histogram\n");
    for (int i = 0; i <= routes_count && status == STATUS_OK; i++) {
        int index = i < routes_count ? i : METRICS_MAX_ROUTES;
        status = metrics_render_route(out, i < routes_count ? routes[i].name : "unmatched",
                                      &metrics_routes[index]);
    }
    int64_t stock = 0;
    sqlite3_stmt *stmt = db_prepare(db, "SELECT coalesce(sum(stock), 0) FROM products");
    if (status == STATUS_OK && db_step_row(db, stmt) == STATUS_OK) {
        stock = sqlite3_column_int64(stmt, 0);
        sqlite3_reset(stmt);
    }
    struct writer_stats ws;
    writer_stats(writer, &ws);
    if (status == STATUS_OK) {
        status =
            buf_printf(out,
                       "# TYPE tessera_orders_delivered_total counter\n"
                       "tessera_orders_delivered_total %llu\n"
                       "# TYPE tessera_codes_delivered_total counter\n"
                       "tessera_codes_delivered_total %llu\n"
                       "# TYPE tessera_codes_in_stock gauge\ntessera_codes_in_stock %lld\n"
                       "# TYPE tessera_writer_queue_depth gauge\ntessera_writer_queue_depth %llu\n"
                       "# TYPE tessera_writer_batch_size histogram\n",
                       (unsigned long long)atomic_load(&metrics_orders),
                       (unsigned long long)atomic_load(&metrics_codes_delivered), (long long)stock,
                       (unsigned long long)ws.queue_depth);
    }
    double batch_bounds[WRITER_BATCH_BUCKETS - 1];
    metrics_doubling(batch_bounds, WRITER_BATCH_BUCKETS - 1, 1.0);
    if (status == STATUS_OK) {
        status = metrics_render_buckets(out, "tessera_writer_batch_size", "", ws.batch_size_buckets,
                                        batch_bounds, WRITER_BATCH_BUCKETS);
    }
    if (status == STATUS_OK) {
        status = buf_printf(out,
                            "tessera_writer_batch_size_sum %llu\n"
                            "# TYPE tessera_writer_slow_batches_total counter\n"
                            "tessera_writer_slow_batches_total %llu\n"
                            "# TYPE tessera_wal_checkpoints_total counter\n"
                            "tessera_wal_checkpoints_total %llu\n",
                            (unsigned long long)ws.commands, (unsigned long long)ws.slow_batches,
                            (unsigned long long)ws.checkpoints);
    }
    if (status == STATUS_OK) status = metrics_render_commits(out, &ws);
    if (status == STATUS_OK)
        status = buf_printf(out, "# TYPE tessera_request_stage_seconds summary\n");
    for (int i = 0; i < METRICS_STAGES && status == STATUS_OK; i++) {
        uint64_t ns = atomic_load_explicit(&metrics_stage_ns[i], memory_order_relaxed);
        uint64_t n = atomic_load_explicit(&metrics_stage_count[i], memory_order_relaxed);
        status = buf_printf(out,
                            "tessera_request_stage_seconds_sum{stage=\"%s\"} %.9f\n"
                            "tessera_request_stage_seconds_count{stage=\"%s\"} %llu\n",
                            metrics_stage_names[i], (double)ns / 1e9, metrics_stage_names[i],
                            (unsigned long long)n);
    }
    return status;
}
