/* writer.c — the writer thread, its queue and its answer thread. The queue is a
 * mutex-protected FIFO; the thread takes up to LIMIT_WRITER_BATCH commands at a time, so
 * the batch grows with load and shrinks to one when idle (no added latency at low load).
 * A committed (or failed) batch goes to the answer thread, which runs the commands' done
 * callbacks in commit order while the writer goes on with the next batch: resuming a
 * batch's HTTP connections took 15% of the writer's time under load (each resume takes
 * libmicrohttpd's lock and writes its eventfd), time the single writer — the pace-setter
 * of the order path — now spends on orders. */
#include "store/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/checkpoint.h"
#include "store/store.h"

struct writer {
    struct db db;
    struct checkpointer *checkpointer;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t finished; /* broadcast when a writer_call command completes */
    struct writer_cmd *head, *tail;
    uint32_t queued;
    bool stopping;
    struct writer_stats stats; /* under lock */
    writer_apply_fn tick;      /* under lock: periodic maintenance, run when idle */
    uint32_t tick_interval_ms;
    bool checkpoint_due; /* writer thread only: a commit found the bulk copied */
    /* written by the writer thread alone, read by writer_stats */
    _Atomic uint64_t commit_buckets[WRITER_COMMIT_BUCKETS], commit_ns;
    _Atomic uint64_t checkpoint_finishes, checkpoint_finish_ns;
    /* the answer thread: batches done, in commit order, linked through next. Commands
     * belong to their submitters (a suspended request, a writer_call caller), so the list
     * holds no memory of its own and is as long as the work waiting to be answered: at
     * most one command per connection and per calling thread. */
    pthread_t answerer;
    pthread_mutex_t answer_lock;
    pthread_cond_t answer_wake;
    struct writer_cmd *answer_head, *answer_tail; /* under answer_lock */
    bool answer_stopping;                         /* under answer_lock */
};

static void writer_call_done(struct writer_cmd *cmd);

/* Ends a command's savepoint (sql: "ROLLBACK TO cmd" or "RELEASE cmd", a literal for the
 * statement cache). STATUS_DB when SQLite has already ended the whole transaction — on a
 * full disk or an I/O error it may roll back more than the statement; any other failure
 * is a bug. */
static enum status writer_savepoint_end(struct db *db, const char *sql) {
    if (db_step_done(db, db_prepare(db, sql)) == STATUS_OK) return STATUS_OK;
    if (sqlite3_get_autocommit(db->handle)) return STATUS_DB;
    assert_fail(sql, __FILE__, __LINE__);
}

/* One command under its own savepoint. STATUS_OK unless the batch's transaction is gone;
 * then every command of the batch fails (the server goes on). */
static enum status writer_apply_one(struct writer *writer, struct writer_cmd *cmd) {
    struct db *db = &writer->db;
    if (db_step_done(db, db_prepare(db, "SAVEPOINT cmd")) != STATUS_OK) {
        cmd->status = STATUS_DB;
        return sqlite3_get_autocommit(db->handle) ? STATUS_DB : STATUS_OK;
    }
    cmd->status = cmd->apply(db, cmd);
    if (sqlite3_get_autocommit(db->handle)) { /* gone: nothing may run on in autocommit */
        if (cmd->status == STATUS_OK) cmd->status = STATUS_DB;
        return STATUS_DB;
    }
    if (cmd->status == STATUS_OK) cmd->status = store_cache_flush(db); /* inside its savepoint */
    enum status status = STATUS_OK;
    if (cmd->status != STATUS_OK) {
        store_cache_reset(db);
        status = writer_savepoint_end(db, "ROLLBACK TO cmd");
    }
    if (status == STATUS_OK) status = writer_savepoint_end(db, "RELEASE cmd");
    return status;
}

/* Fast path: commands run back to back in one transaction, no savepoints. A command that
 * fails before writing anything (out of stock, insufficient funds, conflict — the store
 * checks before it writes) leaves nothing to undo. If one fails after writing, or SQLite
 * ended the transaction under it (a full disk), the whole transaction is rolled back and
 * the batch runs again with a savepoint per command — never on in autocommit mode. */
static bool writer_apply_fast(struct writer *writer, struct writer_cmd *batch) {
    sqlite3 *handle = writer->db.handle;
    for (struct writer_cmd *cmd = batch; cmd != 0; cmd = cmd->next) {
        sqlite3_int64 before = sqlite3_total_changes64(handle);
        uint64_t kept = store_cache_changes(&writer->db);
        cmd->status = cmd->apply(&writer->db, cmd);
        if (sqlite3_get_autocommit(handle)) return false; /* the transaction is gone */
        if (cmd->status != STATUS_OK &&
            (sqlite3_total_changes64(handle) != before || store_cache_changes(&writer->db) != kept))
            return false;
    }
    return true;
}

/* The power-of-two bucket of value: the first b with value ≤ first·2^b, or the last. */
static unsigned writer_bucket(uint64_t value, uint64_t first, unsigned buckets) {
    unsigned bucket = 0;
    while (bucket + 1 < buckets && value > (first << bucket))
        bucket++;
    return bucket;
}

static void writer_count_commit(struct writer *writer, uint64_t ns) {
    unsigned bucket = writer_bucket(ns, 125000u, WRITER_COMMIT_BUCKETS);
    atomic_fetch_add_explicit(&writer->commit_buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writer->commit_ns, ns, memory_order_relaxed);
}

/* Between batches, once the last commit's batch is on its way to be answered. */
static void writer_checkpoint_finish(struct writer *writer) {
    if (!writer->checkpoint_due) return;
    writer->checkpoint_due = false;
    uint64_t started = clock_monotonic_ns();
    checkpointer_finish(writer->checkpointer, writer->db.handle);
    atomic_fetch_add_explicit(&writer->checkpoint_finishes, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&writer->checkpoint_finish_ns, clock_monotonic_ns() - started,
                              memory_order_relaxed);
}

/* Every transaction of the writer starts here: the cache (and the index of keys) learns
 * whether another connection committed since the last one. */
static enum status writer_begin(struct db *db) {
    enum status status = db_begin_immediate(db);
    return status == STATUS_OK ? store_cache_begin(db) : status;
}

static void writer_run_batch(struct writer *writer, struct writer_cmd *batch) {
    struct db *db = &writer->db;
    enum status status = writer_begin(db);
    if (status == STATUS_OK && !writer_apply_fast(writer, batch)) {
        verify(pthread_mutex_lock(&writer->lock) == 0);
        writer->stats.slow_batches++;
        verify(pthread_mutex_unlock(&writer->lock) == 0);
        db_rollback(db);
        store_cache_reset(db);
        status = writer_begin(db);
        for (struct writer_cmd *cmd = batch; status == STATUS_OK && cmd != 0; cmd = cmd->next) {
            status = writer_apply_one(writer, cmd);
        }
    }
    if (status == STATUS_OK) status = store_cache_flush(db);
    if (status == STATUS_OK) {
        uint64_t started = clock_monotonic_ns();
        status = db_commit(db);
        writer_count_commit(writer, clock_monotonic_ns() - started);
    }
    if (status != STATUS_OK) {
        db_rollback(db);
        store_cache_reset(db); /* the cache may hold rows the rollback undid */
        log_error("writer: batch failed (%s); every command in it fails", status_code(status));
        for (struct writer_cmd *cmd = batch; cmd != 0; cmd = cmd->next) {
            cmd->status = status == STATUS_DB ? STATUS_DB : STATUS_BUSY;
        }
    }
}

/* Hands a finished batch to the answer thread (its commands' statuses are set). */
static void writer_answer_later(struct writer *writer, struct writer_cmd *batch) {
    verify(batch != 0);
    struct writer_cmd *last = batch;
    while (last->next != 0)
        last = last->next;
    verify(pthread_mutex_lock(&writer->answer_lock) == 0);
    verify((writer->answer_head == 0) == (writer->answer_tail == 0));
    if (writer->answer_tail)
        writer->answer_tail->next = batch;
    else
        writer->answer_head = batch;
    writer->answer_tail = last;
    verify(pthread_cond_signal(&writer->answer_wake) == 0);
    verify(pthread_mutex_unlock(&writer->answer_lock) == 0);
}

/* Runs the done callbacks of a list of finished commands, in order. A writer_call waiter
 * is woken at once, not after the rest of the list. */
static void writer_answer(struct writer *writer, struct writer_cmd *list) {
    verify(list != 0);
    while (list != 0) {
        struct writer_cmd *next = list->next; /* done may free cmd */
        list->next = 0;
        if (list->done == writer_call_done) { /* completed is read under the lock */
            verify(pthread_mutex_lock(&writer->lock) == 0);
            list->completed = true;
            verify(pthread_cond_broadcast(&writer->finished) == 0);
            verify(pthread_mutex_unlock(&writer->lock) == 0);
        } else {
            list->done(list);
        }
        list = next;
    }
}

/* The answer thread: takes every finished batch at once; stops when told and drained. */
static void *writer_answer_main(void *arg) {
    struct writer *writer = arg;
    (void)pthread_setname_np(pthread_self(), "tessera-answer");
    for (;;) {
        verify(pthread_mutex_lock(&writer->answer_lock) == 0);
        while (writer->answer_head == 0 && !writer->answer_stopping)
            verify(pthread_cond_wait(&writer->answer_wake, &writer->answer_lock) == 0);
        struct writer_cmd *list = writer->answer_head;
        writer->answer_head = writer->answer_tail = 0;
        verify(pthread_mutex_unlock(&writer->answer_lock) == 0);
        if (list == 0) break; /* stopping, and nothing left */
        writer_answer(writer, list);
    }
    return 0;
}

/* Waits for work; returns true when the periodic tick is due instead (queue empty). */
static bool writer_wait(struct writer *writer, uint64_t *next_tick_ns) {
    while (writer->head == 0 && !writer->stopping) {
        if (writer->tick == 0) {
            verify(pthread_cond_wait(&writer->wake, &writer->lock) == 0);
            continue;
        }
        uint64_t now = clock_monotonic_ns();
        if (now >= *next_tick_ns) {
            *next_tick_ns = now + (uint64_t)writer->tick_interval_ms * 1000000u;
            return true;
        }
        struct timespec until;
        verify(clock_gettime(CLOCK_REALTIME, &until) == 0);
        uint64_t wait_ns = *next_tick_ns - now;
        until.tv_sec += (time_t)(wait_ns / 1000000000u);
        until.tv_nsec += (long)(wait_ns % 1000000000u);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&writer->wake, &writer->lock, &until);
        verify(rc == 0 || rc == ETIMEDOUT);
    }
    return false;
}

static void *writer_main(void *arg) {
    struct writer *writer = arg;
    (void)pthread_setname_np(pthread_self(), "tessera-writer");
    uint64_t next_tick_ns = 0;
    for (;;) {
        verify(pthread_mutex_lock(&writer->lock) == 0);
        if (writer_wait(writer, &next_tick_ns)) {
            struct writer_cmd tick = {.apply = writer->tick}; /* nobody waits for it */
            verify(pthread_mutex_unlock(&writer->lock) == 0);
            writer_run_batch(writer, &tick);
            writer_checkpoint_finish(writer);
            continue;
        }
        if (writer->head == 0 && writer->stopping) {
            verify(pthread_mutex_unlock(&writer->lock) == 0);
            break;
        }
        struct writer_cmd *batch = writer->head, *last = batch;
        uint32_t size = 1;
        while (last->next != 0 && size < LIMIT_WRITER_BATCH) {
            last = last->next;
            size++;
        }
        writer->head = last->next;
        if (writer->head == 0) writer->tail = 0;
        last->next = 0;
        writer->queued -= size;
        writer->stats.batches++;
        writer->stats.commands += size;
        writer->stats.batch_size_buckets[writer_bucket(size, 1, WRITER_BATCH_BUCKETS)]++;
        verify(pthread_mutex_unlock(&writer->lock) == 0);
        writer_run_batch(writer, batch);
        writer_answer_later(writer, batch);
        writer_checkpoint_finish(writer);
    }
    return 0;
}

/* Stops the answer thread once it has answered everything handed to it. */
static void writer_answer_stop(struct writer *writer) {
    verify(pthread_mutex_lock(&writer->answer_lock) == 0);
    writer->answer_stopping = true;
    verify(pthread_cond_signal(&writer->answer_wake) == 0);
    verify(pthread_mutex_unlock(&writer->answer_lock) == 0);
    verify(pthread_join(writer->answerer, 0) == 0);
    verify(writer->answer_head == 0);
}

/* Replaces the connection's auto-checkpoint: the checkpoint thread does it instead, and
 * the writer copies the tail after the batch (writer_checkpoint_finish). */
static int writer_wal_hook(void *context, sqlite3 *handle, const char *name, int wal_pages) {
    (void)handle, (void)name;
    struct writer *writer = context;
    if (checkpointer_poke(writer->checkpointer, wal_pages)) writer->checkpoint_due = true;
    return SQLITE_OK;
}

/* Releases a writer whose threads are not running (stopped, or never started). */
static void writer_free(struct writer *writer) {
    store_cache_detach(&writer->db);
    store_idempotency_detach(&writer->db);
    db_close(&writer->db);
    checkpointer_stop(writer->checkpointer);
    verify(pthread_cond_destroy(&writer->wake) == 0);
    verify(pthread_cond_destroy(&writer->finished) == 0);
    verify(pthread_mutex_destroy(&writer->lock) == 0);
    verify(pthread_cond_destroy(&writer->answer_wake) == 0);
    verify(pthread_mutex_destroy(&writer->answer_lock) == 0);
    free(writer);
}

enum status writer_start(const char *db_path, struct writer **out) {
    verify(db_path != 0 && out != 0);
    struct writer *writer = mem_calloc(1, sizeof *writer);
    enum status status = db_open(&writer->db, db_path, false, false);
    if (status == STATUS_OK) {
        status = db_migrate(&writer->db); /* a database made by an older binary */
        if (status != STATUS_OK) db_close(&writer->db);
    }
    if (status != STATUS_OK) {
        free(writer);
        return status;
    }
    status = checkpointer_start(db_path, &writer->checkpointer);
    if (status != STATUS_OK) {
        db_close(&writer->db);
        free(writer);
        return status;
    }
    /* References are kept by construction (every id written was read or made in the same
     * transaction by the one writer) and verified by `tessera check` (references_intact);
     * SQLite checking them statement by statement cost a sixth of the writer's instructions
     * per order (callgrind over writer_bench: 133k → 110k). */
    if (db_exec(&writer->db, "PRAGMA foreign_keys=OFF") != STATUS_OK ||
        store_idempotency_attach(&writer->db, clock_now_s()) != STATUS_OK) { /* reads a day */
        checkpointer_stop(writer->checkpointer);
        db_close(&writer->db);
        free(writer);
        return STATUS_DB;
    }
    sqlite3_wal_hook(writer->db.handle, writer_wal_hook, writer);
    store_cache_attach(&writer->db);
    verify(pthread_mutex_init(&writer->lock, 0) == 0);
    verify(pthread_cond_init(&writer->wake, 0) == 0);
    verify(pthread_cond_init(&writer->finished, 0) == 0);
    verify(pthread_mutex_init(&writer->answer_lock, 0) == 0);
    verify(pthread_cond_init(&writer->answer_wake, 0) == 0);
    bool answering = pthread_create(&writer->answerer, 0, writer_answer_main, writer) == 0;
    if (!answering || pthread_create(&writer->thread, 0, writer_main, writer) != 0) {
        if (answering) writer_answer_stop(writer);
        writer_free(writer);
        return STATUS_NOMEM;
    }
    *out = writer;
    return STATUS_OK;
}

enum status writer_submit(struct writer *writer, struct writer_cmd *cmd) {
    verify(writer != 0 && cmd != 0);
    verify(cmd->apply != 0 && cmd->done != 0);
    cmd->next = 0;
    cmd->status = STATUS_OK;
    cmd->completed = false;
    verify(pthread_mutex_lock(&writer->lock) == 0);
    enum status status = STATUS_OK;
    if (writer->stopping || writer->queued >= LIMIT_WRITER_QUEUE) {
        status = STATUS_BUSY;
    } else {
        if (writer->tail)
            writer->tail->next = cmd;
        else
            writer->head = cmd;
        writer->tail = cmd;
        writer->queued++;
        verify(pthread_cond_signal(&writer->wake) == 0);
    }
    verify(pthread_mutex_unlock(&writer->lock) == 0);
    return status;
}

static void writer_call_done(struct writer_cmd *cmd) { (void)cmd; }

enum status writer_call(struct writer *writer, struct writer_cmd *cmd) {
    verify(writer != 0 && cmd != 0);
    cmd->done = writer_call_done;
    enum status status = writer_submit(writer, cmd);
    if (status != STATUS_OK) return status;
    verify(pthread_mutex_lock(&writer->lock) == 0);
    while (!cmd->completed)
        verify(pthread_cond_wait(&writer->finished, &writer->lock) == 0);
    verify(pthread_mutex_unlock(&writer->lock) == 0);
    return cmd->status;
}

void writer_stop(struct writer *writer) {
    verify(writer != 0);
    verify(pthread_mutex_lock(&writer->lock) == 0);
    writer->stopping = true;
    verify(pthread_cond_signal(&writer->wake) == 0);
    verify(pthread_mutex_unlock(&writer->lock) == 0);
    verify(pthread_join(writer->thread, 0) == 0);
    verify(writer->head == 0);
    writer_answer_stop(writer); /* after the last batch was handed over */
    writer_free(writer);
}

void writer_set_tick(struct writer *writer, writer_apply_fn tick, uint32_t interval_ms) {
    verify(writer != 0 && tick != 0);
    verify(interval_ms > 0);
    verify(pthread_mutex_lock(&writer->lock) == 0);
    writer->tick = tick;
    writer->tick_interval_ms = interval_ms;
    verify(pthread_cond_signal(&writer->wake) == 0);
    verify(pthread_mutex_unlock(&writer->lock) == 0);
}

void writer_stats(struct writer *writer, struct writer_stats *out) {
    verify(writer != 0 && out != 0);
    verify(pthread_mutex_lock(&writer->lock) == 0);
    *out = writer->stats;
    out->queue_depth = writer->queued;
    verify(pthread_mutex_unlock(&writer->lock) == 0);
    out->checkpoints = checkpointer_runs(writer->checkpointer);
    for (int b = 0; b < WRITER_COMMIT_BUCKETS; b++)
        out->commit_buckets[b] =
            atomic_load_explicit(&writer->commit_buckets[b], memory_order_relaxed);
    out->commit_ns = atomic_load_explicit(&writer->commit_ns, memory_order_relaxed);
    out->checkpoint_finishes =
        atomic_load_explicit(&writer->checkpoint_finishes, memory_order_relaxed);
    out->checkpoint_finish_ns =
        atomic_load_explicit(&writer->checkpoint_finish_ns, memory_order_relaxed);
}
