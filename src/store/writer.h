/* writer.h — the single writer: one thread owns the write connection, applies queued
 * commands in batches, each inside its own SAVEPOINT, and commits once per batch (group
 * commit: one fsync for many orders). A command's done callback runs only after its batch
 * is durable, so a 2xx never precedes the disk; it runs on a second thread, so answering
 * a batch never holds up the next. */
#ifndef TESSERA_STORE_WRITER_H
#define TESSERA_STORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"
#include "store/db.h"

struct writer_cmd;
/* Runs in the writer thread inside the batch's transaction. A command that fails must
 * either fail before writing anything (the fast path) or leave its writes to be undone: the
 * writer then re-runs the batch with a savepoint per command, so a failed command never
 * changes anything. Must be re-runnable and must not block on anything but the database. */
typedef enum status (*writer_apply_fn)(struct db *db, struct writer_cmd *cmd);
/* Runs on the writer's answer thread after the batch's commit (or failure), in commit
 * order, while the writer runs the next batch; must be quick (resume a request). */
typedef void (*writer_done_fn)(struct writer_cmd *cmd);

struct writer_cmd {
    writer_apply_fn apply;
    writer_done_fn done;
    enum status status; /* set before done runs */
    bool completed;     /* writer_call only: set under the writer's lock */
    struct writer_cmd *next;
};

#define WRITER_BATCH_BUCKETS 10  /* batch sizes 1, ≤2, ≤4, … ≤512 */
#define WRITER_COMMIT_BUCKETS 10 /* commit times ≤125 µs, ≤250 µs, … ≤32 ms, more */

struct writer_stats {
    uint64_t batches;
    uint64_t commands;
    uint64_t batch_size_buckets[WRITER_BATCH_BUCKETS];
    uint64_t queue_depth;
    uint64_t slow_batches; /* batches re-run with a savepoint per command */
    uint64_t checkpoints;  /* WAL checkpoints the checkpoint thread ran */
    /* COMMIT of a batch: the WAL write and its sync (what every order of the batch waits) */
    uint64_t commit_buckets[WRITER_COMMIT_BUCKETS];
    uint64_t commit_ns;
    /* the writer's own copy of a checkpoint's tail (checkpointer_finish), between batches */
    uint64_t checkpoint_finishes;
    uint64_t checkpoint_finish_ns;
};

struct writer;

must_check enum status writer_start(const char *db_path, struct writer **out);
/* Queues cmd; done will be called exactly once. STATUS_BUSY (done not called) when the
 * queue is full or the writer is stopping. */
must_check enum status writer_submit(struct writer *writer, struct writer_cmd *cmd);
/* Submits and waits; returns the command's status. For CLI and tests. */
must_check enum status writer_call(struct writer *writer, struct writer_cmd *cmd);
/* Refuses new commands, finishes every queued one, closes the connection, frees. */
void writer_stop(struct writer *writer);
void writer_stats(struct writer *writer, struct writer_stats *out);
/* Runs tick as its own command every interval_ms while the queue is empty (maintenance
 * such as retiring expired codes). Under load it waits: orders come first. */
void writer_set_tick(struct writer *writer, writer_apply_fn tick, uint32_t interval_ms);

#endif
