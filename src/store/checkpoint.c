/* checkpoint.c — the checkpoint thread (see checkpoint.h). PASSIVE never waits for the
 * writer or readers, but under steady writes it never catches up: the writer appends while
 * it copies, and SQLite restarts the WAL from its beginning only once every frame was
 * copied. So the work is split: this thread copies the bulk (SQLite does not sync the
 * database after a copy that leaves frames behind), then the writer, after its next
 * commit, copies the frames added meanwhile with a PASSIVE checkpoint of its own
 * (checkpointer_finish), which syncs the database; the WAL then restarts. */
#include "store/checkpoint.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"

struct checkpointer {
    struct db db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool poked;         /* under lock */
    bool stopping;      /* under lock */
    uint64_t runs;      /* under lock */
    _Atomic bool ready; /* the bulk is copied: the writer may finish the checkpoint */
};

static void checkpointer_run(struct checkpointer *checkpointer) {
    int log_pages = 0, copied_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(checkpointer->db.handle, "main", SQLITE_CHECKPOINT_PASSIVE,
                                       &log_pages, &copied_pages);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        log_error("checkpoint: %s", sqlite3_errmsg(checkpointer->db.handle));
    }
    verify(pthread_mutex_lock(&checkpointer->lock) == 0);
    checkpointer->runs++;
    verify(pthread_mutex_unlock(&checkpointer->lock) == 0);
    atomic_store(&checkpointer->ready, true);
}

static void *checkpointer_main(void *arg) {
    struct checkpointer *checkpointer = arg;
    (void)pthread_setname_np(pthread_self(), "tessera-ckpt");
    for (;;) {
        verify(pthread_mutex_lock(&checkpointer->lock) == 0);
        while (!checkpointer->poked && !checkpointer->stopping)
            verify(pthread_cond_wait(&checkpointer->wake, &checkpointer->lock) == 0);
        bool stopping = checkpointer->stopping;
        checkpointer->poked = false;
        verify(pthread_mutex_unlock(&checkpointer->lock) == 0);
        checkpointer_run(checkpointer);
        if (stopping) break;
    }
    return 0;
}

enum status checkpointer_start(const char *db_path, struct checkpointer **out) {
    verify(db_path != 0 && out != 0);
    struct checkpointer *checkpointer = mem_calloc(1, sizeof *checkpointer);
    enum status status = db_open(&checkpointer->db, db_path, false, false);
    if (status != STATUS_OK) {
        free(checkpointer);
        return status;
    }
    verify(pthread_mutex_init(&checkpointer->lock, 0) == 0);
    verify(pthread_cond_init(&checkpointer->wake, 0) == 0);
    if (pthread_create(&checkpointer->thread, 0, checkpointer_main, checkpointer) != 0) {
        db_close(&checkpointer->db);
        free(checkpointer);
        return STATUS_NOMEM;
    }
    *out = checkpointer;
    return STATUS_OK;
}

void checkpointer_wake(struct checkpointer *checkpointer, int wal_pages) {
    verify(checkpointer != 0 && wal_pages >= 0);
    if (wal_pages < LIMIT_WAL_CHECKPOINT_PAGES) return;
    verify(pthread_mutex_lock(&checkpointer->lock) == 0);
    if (!checkpointer->poked) {
        checkpointer->poked = true;
        verify(pthread_cond_signal(&checkpointer->wake) == 0);
    }
    verify(pthread_mutex_unlock(&checkpointer->lock) == 0);
}

bool checkpointer_poke(struct checkpointer *checkpointer, int wal_pages) {
    verify(checkpointer != 0 && wal_pages >= 0);
    if (wal_pages < LIMIT_WAL_CHECKPOINT_PAGES) return false;
    if (atomic_exchange(&checkpointer->ready, false)) return true;
    checkpointer_wake(checkpointer, wal_pages);
    return false;
}

void checkpointer_finish(struct checkpointer *checkpointer, sqlite3 *writer) {
    verify(checkpointer != 0 && writer != 0);
    int rc = sqlite3_wal_checkpoint_v2(writer, "main", SQLITE_CHECKPOINT_PASSIVE, 0, 0);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) log_error("checkpoint: %s", sqlite3_errmsg(writer));
}

uint64_t checkpointer_runs(struct checkpointer *checkpointer) {
    verify(checkpointer != 0);
    verify(pthread_mutex_lock(&checkpointer->lock) == 0);
    uint64_t runs = checkpointer->runs;
    verify(pthread_mutex_unlock(&checkpointer->lock) == 0);
    return runs;
}

void checkpointer_stop(struct checkpointer *checkpointer) {
    verify(checkpointer != 0);
    verify(pthread_mutex_lock(&checkpointer->lock) == 0);
    checkpointer->stopping = true;
    verify(pthread_cond_signal(&checkpointer->wake) == 0);
    verify(pthread_mutex_unlock(&checkpointer->lock) == 0);
    verify(pthread_join(checkpointer->thread, 0) == 0);
    db_close(&checkpointer->db);
    pthread_cond_destroy(&checkpointer->wake);
    pthread_mutex_destroy(&checkpointer->lock);
    free(checkpointer);
}
