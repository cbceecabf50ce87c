/* checkpoint.h — WAL checkpoints on their own thread and connection. The writer's
 * connection does not checkpoint (its WAL hook replaces auto-checkpoint): after a commit
 * that leaves LIMIT_WAL_CHECKPOINT_PAGES or more in the WAL it pokes the checkpointer,
 * which copies the bulk of the WAL into the database with a PASSIVE checkpoint (the WAL
 * synced first); the writer then copies the tail itself, after answering the batch whose
 * commit found the bulk copied. Only a checkpoint that copies the whole WAL syncs the
 * database file — the writer's tail copy — so that sync writes out everything the thread
 * copied: 1–4 ms under order load (bench/RESULTS.md, 2026-12-06), paid between batches.
 * At 4,000 pages rather than 1,000 that comes a quarter as often, and a hot page is copied
 * once for more commits (writer_bench: 11% fewer blocks written, +3% orders/s). An import
 * (cli/import.c) only wakes the thread, and restarts the WAL on its own terms. */
#ifndef TESSERA_STORE_CHECKPOINT_H
#define TESSERA_STORE_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "store/db.h"

struct checkpointer;

must_check enum status checkpointer_start(const char *db_path, struct checkpointer **out);
/* From the writer's WAL hook (inside its COMMIT): the WAL holds wal_pages pages. Wakes the
 * thread; returns true once the thread has copied the bulk, when the writer should copy
 * the rest (checkpointer_finish) so the WAL can restart — after it has handed the batch
 * just committed to be answered, so no order waits for that copy's syncs. */
must_check bool checkpointer_poke(struct checkpointer *checkpointer, int wal_pages);
/* Wakes the thread when the WAL holds LIMIT_WAL_CHECKPOINT_PAGES or more, and nothing else:
 * for a bulk writer (tessera import) that restarts the WAL on its own terms. */
void checkpointer_wake(struct checkpointer *checkpointer, int wal_pages);
/* On the writing connection: copies what the thread has not (PASSIVE; BUSY, when the
 * thread is copying again, leaves it for a later commit); when that is all of the WAL,
 * SQLite syncs the database and the WAL restarts at the next write. */
void checkpointer_finish(struct checkpointer *checkpointer, sqlite3 *writer);
/* Runs a last checkpoint, closes the connection, frees. */
void checkpointer_stop(struct checkpointer *checkpointer);
/* Checkpoints run so far (for metrics and tests). */
uint64_t checkpointer_runs(struct checkpointer *checkpointer);

#endif
