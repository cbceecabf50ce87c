/* writer_bench.c — the writer alone: N wallet orders through writer_submit, all queued at
 * once, group-committed; prints orders/s. Isolates the database path from HTTP.
 * usage: writer_bench DB ORDERS [GROUP] (DB made by `tessera init --demo`, with a buyer
 * "bench" holding enough balance and the SKU JD-E100 holding ≥ ORDERS codes). GROUP: submit
 * that many orders, wait until they are done, repeat — batches the size HTTP load makes
 * (about 25 orders per commit with wrk -c64), instead of all at once (LIMIT_WRITER_BATCH).
 * GROUP cN (e.g. c64): N clients in a closed loop, each submitting its next order as soon as
 * its last one is answered — the shape of wrk -cN without HTTP's time in between.
 * ORDER_KEYS=uuid in the environment (as for wrk/orders.lua): each Idempotency-Key a random
 * UUID (as API clients send) instead of "wb-SALT-N" (keys that sort together). */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "store/store.h"
#include "store/writer.h"

struct bench_order {
    struct writer_cmd cmd;
    struct store_order_request request;
    struct store_order_result result;
    char key[40]; /* a UUID: 36 characters */
};

static _Atomic int bench_done;
static struct writer *bench_writer;
static struct bench_order *bench_orders;
static _Atomic int bench_next; /* closed loop: the next order to submit */
static int bench_count;

static enum status bench_apply(struct db *db, struct writer_cmd *cmd) {
    struct bench_order *order = (struct bench_order *)cmd;
    return store_order_place(db, &order->request, &order->result);
}

static void bench_finish(struct writer_cmd *cmd) {
    (void)cmd;
    atomic_fetch_add(&bench_done, 1);
}

/* Closed loop: an answered order's client submits the next one (on the answer thread). */
static void bench_finish_loop(struct writer_cmd *cmd) {
    (void)cmd;
    int next = atomic_fetch_add(&bench_next, 1);
    if (next < bench_count && writer_submit(bench_writer, &bench_orders[next].cmd) != STATUS_OK) {
        fprintf(stderr, "writer_bench: submit refused\n");
        exit(1);
    }
    atomic_fetch_add(&bench_done, 1);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: writer_bench DB ORDERS [GROUP]\n");
        return 2;
    }
    int count = atoi(argv[2]);
    int clients = argc == 4 && argv[3][0] == 'c' ? atoi(argv[3] + 1) : 0;
    int group = argc == 4 ? atoi(argv[3]) : count;
    if (clients == 0 && group <= 0) return 2;
    if (db_global_init() != STATUS_OK || vault_global_init() != STATUS_OK || count <= 0) return 1;
    struct db db;
    struct store_user buyer;
    char hash[VAULT_PASSWORD_HASH_BYTES];
    if (db_open(&db, argv[1], true, false) != STATUS_OK ||
        store_user_by_name(&db, "bench", &buyer, hash) != STATUS_OK) {
        fprintf(stderr, "writer_bench: need user 'bench'\n");
        return 1;
    }
    db_close(&db);
    struct writer *writer = 0;
    if (writer_start(argv[1], &writer) != STATUS_OK) return 1;
    struct bench_order *orders = calloc((size_t)count, sizeof *orders);
    unsigned char salt[8];
    randombytes_buf(salt, sizeof salt);
    const char *keys = getenv("ORDER_KEYS");
    bool uuid_keys = keys != 0 && strcmp(keys, "uuid") == 0;
    for (int i = 0; i < count; i++) {
        struct bench_order *order = &orders[i];
        if (uuid_keys) {
            unsigned char r[16];
            randombytes_buf(r, sizeof r);
            snprintf(order->key, sizeof order->key,
                     "%02x%02x%02x%02x-%02x%02x-4%x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
                     r[1], r[2], r[3], r[4], r[5], r[6] & 0xf, r[7], 0x80 | (r[8] & 0x3f), r[9],
                     r[10], r[11], r[12], r[13], r[14], r[15]);
        } else {
            snprintf(order->key, sizeof order->key, "wb-%02x%02x%02x%02x-%d", salt[0], salt[1],
                     salt[2], salt[3], i);
        }
        order->request = (struct store_order_request){.buyer_id = buyer.id,
                                                      .sku = "JD-E100",
                                                      .quantity = 1,
                                                      .idempotency_key = order->key,
                                                      .now_s = clock_now_s()};
        crypto_generichash(order->request.request_hash, STORE_REQUEST_HASH_BYTES,
                           (const unsigned char *)order->key, strlen(order->key), 0, 0);
        order->cmd.apply = bench_apply;
        order->cmd.done = clients > 0 ? bench_finish_loop : bench_finish;
    }
    struct timespec pause = {0, 200000};
    uint64_t start = clock_monotonic_ns();
    bench_writer = writer;
    bench_orders = orders;
    bench_count = count;
    if (clients > 0) { /* each client's first order; the answers submit the rest */
        if (clients > count) clients = count;
        atomic_store(&bench_next, clients);
        for (int i = 0; i < clients; i++)
            if (writer_submit(writer, &orders[i].cmd) != STATUS_OK) return 1;
    }
    for (int i = 0; clients == 0 && i < count; i++) {
        while (writer_submit(writer, &orders[i].cmd) != STATUS_OK)
            nanosleep(&pause, 0);
        if ((i + 1) % group == 0) {
            while (atomic_load(&bench_done) < i + 1)
                nanosleep(&pause, 0);
        }
    }
    while (atomic_load(&bench_done) < count)
        nanosleep(&pause, 0);
    uint64_t elapsed = clock_monotonic_ns() - start;
    int failed = 0;
    for (int i = 0; i < count; i++)
        failed += orders[i].cmd.status != STATUS_OK;
    struct writer_stats stats;
    writer_stats(writer, &stats);
    writer_stop(writer);
    printf("writer_bench orders=%d failed=%d seconds=%.3f orders_per_s=%.0f batches=%llu "
           "orders_per_batch=%.1f\n",
           count, failed, (double)elapsed / 1e9, count / ((double)elapsed / 1e9),
           (unsigned long long)stats.batches, (double)count / (double)stats.batches);
    for (int i = 0; i < count; i++)
        store_order_result_free(&orders[i].result);
    free(orders);
    return failed ? 1 : 0;
}
