/* import.c — `tessera import --db PATH --sku SKU FILE`: streams a code file into inventory
 * in chunks of LIMIT_IMPORT_CHUNK codes, one write transaction each, so memory stays
 * bounded and a running server's writer waits at most one chunk.
 *
 * Two threads, two chunk slots: a reader thread reads, parses, hashes, sorts and seals
 * chunk k+1 (pure CPU) while the main thread writes chunk k to the database; a third, the
 * checkpoint thread (store/checkpoint.c), copies the WAL into the database meanwhile
 * (import_wal_hook). Works beside a
 * running server: both take SQLite's write lock, the product's stock moves in the same
 * transaction as its codes, and a chunk sealed for ids someone else took is sealed again. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/clock.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "store/checkpoint.h"
#include "store/store.h"

#define IMPORT_READ_BYTES (256 * 1024)
#define IMPORT_SLOTS 2

struct import_slot {
    struct import_batch batch;
    struct store_code_rows rows;
    bool full;
};

struct import_run {
    /* set up before the reader starts, then read-only */
    struct vault vault;
    const char *db_path;
    FILE *file;
    const char *path;
    int64_t now_s;
    /* the reader's own */
    struct import_parser parser;
    int64_t next_base;
    int fill;
    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct import_slot slots[IMPORT_SLOTS];
    bool reader_done, writer_failed;
    enum status reader_status;
    /* the main thread's: WAL checkpoints (import_wal_hook) */
    struct checkpointer *checkpointer;
    bool wal_restart_due;
};

/* Reader: hands the slot being filled to the writer and waits for the next one to be free. */
static enum status import_hand_over(struct import_run *run) {
    struct import_slot *slot = &run->slots[run->fill];
    if (slot->batch.count == 0) return STATUS_OK;
    store_codes_prepare(&run->vault, &slot->batch, run->next_base, &slot->rows);
    run->next_base += slot->batch.count;
    verify(pthread_mutex_lock(&run->lock) == 0);
    slot->full = true;
    run->fill = (run->fill + 1) % IMPORT_SLOTS;
    verify(pthread_cond_broadcast(&run->changed) == 0);
    while (run->slots[run->fill].full && !run->writer_failed) {
        verify(pthread_cond_wait(&run->changed, &run->lock) == 0);
    }
    bool failed = run->writer_failed;
    verify(pthread_mutex_unlock(&run->lock) == 0);
    return failed ? STATUS_IO : STATUS_OK;
}

static enum status import_on_code(void *context, const struct import_code *code) {
    struct import_run *run = context;
    struct import_slot *slot = &run->slots[run->fill];
    import_batch_add(&slot->batch, code);
    if (slot->batch.count >= LIMIT_IMPORT_CHUNK) return import_hand_over(run);
    return STATUS_OK;
}

static bool import_is_csv(const char *path, const char *head, size_t len) {
    size_t path_len = strlen(path);
    if (path_len >= 4 && strcmp(path + path_len - 4, ".csv") == 0) return true;
    return len >= 15 && memcmp(head, "code,expires_at", 15) == 0; /* the header row */
}

static void *import_reader(void *context) {
    struct import_run *run = context;
    struct stat st;
    long long total = fstat(fileno(run->file), &st) == 0 ? (long long)st.st_size : 0;
    bool tty = isatty(STDERR_FILENO) == 1;
    static char chunk[IMPORT_READ_BYTES];
    long long done = 0;
    enum status status = STATUS_OK;
    size_t n = 0;
    while (status == STATUS_OK && (n = fread(chunk, 1, sizeof chunk, run->file)) > 0) {
        if (done == 0) run->parser.csv = import_is_csv(run->path, chunk, n);
        status = import_parser_feed(&run->parser, chunk, n);
        done += (long long)n;
        if (tty) cli_progress(done, total, 0);
    }
    if (status == STATUS_OK && ferror(run->file)) status = STATUS_IO;
    if (status == STATUS_OK) status = import_parser_finish(&run->parser);
    if (status == STATUS_OK) status = import_hand_over(run);
    memset(chunk, 0, sizeof chunk);
    if (tty) fputc('\n', stderr);
    verify(pthread_mutex_lock(&run->lock) == 0);
    run->reader_done = true;
    run->reader_status = status;
    verify(pthread_cond_broadcast(&run->changed) == 0);
    verify(pthread_mutex_unlock(&run->lock) == 0);
    return 0;
}

static enum status import_write_chunk(struct db *db, struct import_run *run,
                                      const struct store_product *product, struct import_slot *slot,
                                      struct store_import_result *total) {
    struct store_import_result chunk = {0, 0};
    enum status status = db_begin_immediate(db);
    if (status == STATUS_OK) {
        status = store_codes_write(db, &run->vault, product->id, &slot->batch, &slot->rows,
                                   run->now_s, &chunk);
    }
    if (status == STATUS_OK) {
        char object[96], detail[128];
        snprintf(object, sizeof object, "product:%lld", (long long)product->id);
        snprintf(detail, sizeof detail, "{\"imported\":%lld,\"duplicates\":%lld,\"via\":\"cli\"}",
                 (long long)chunk.imported, (long long)chunk.duplicates);
        status = store_audit_append(db, 0, "codes.import", object, detail, run->now_s);
    }
    if (status == STATUS_OK) status = db_commit(db);
    if (status != STATUS_OK) {
        db_rollback(db);
        return status;
    }
    if (run->wal_restart_due) { /* copies what the thread has not; the WAL restarts */
        run->wal_restart_due = false;
        checkpointer_finish(run->checkpointer, db->handle);
    }
    total->imported += chunk.imported;
    total->duplicates += chunk.duplicates;
    return STATUS_OK;
}

/* Main thread: writes full slots in order until the reader is done and all are written. */
static enum status import_write_all(struct db *db, struct import_run *run,
                                    const struct store_product *product,
                                    struct store_import_result *total) {
    enum status status = STATUS_OK;
    for (int take = 0;; take = (take + 1) % IMPORT_SLOTS) {
        struct import_slot *slot = &run->slots[take];
        verify(pthread_mutex_lock(&run->lock) == 0);
        while (!slot->full && !run->reader_done) {
            verify(pthread_cond_wait(&run->changed, &run->lock) == 0);
        }
        bool full = slot->full;
        verify(pthread_mutex_unlock(&run->lock) == 0);
        if (!full) break; /* the reader finished and every chunk is written */
        status = import_write_chunk(db, run, product, slot, total);
        import_batch_clear(&slot->batch);
        verify(pthread_mutex_lock(&run->lock) == 0);
        slot->full = false;
        if (status != STATUS_OK) run->writer_failed = true;
        verify(pthread_cond_broadcast(&run->changed) == 0);
        verify(pthread_mutex_unlock(&run->lock) == 0);
        if (status != STATUS_OK) break;
    }
    return status;
}

/* Replaces SQLite's auto-checkpoint on the import's connection, which copied and synced the
 * whole WAL inside every chunk's COMMIT (70-180 ms per 100,000 codes, a third of the
 * database thread's time): a checkpoint thread copies the WAL while the next chunk is
 * inserted, and the WAL restarts when the import closes — or, past LIMIT_IMPORT_WAL_PAGES,
 * after the commit that passed it, so an import of millions of codes never holds all of
 * them in the WAL at once. */
static int import_wal_hook(void *context, sqlite3 *handle, const char *name, int wal_pages) {
    (void)handle, (void)name;
    struct import_run *run = context;
    if (wal_pages >= LIMIT_IMPORT_WAL_PAGES) {
        run->wal_restart_due = true;
    } else {
        checkpointer_wake(run->checkpointer, wal_pages);
    }
    return SQLITE_OK;
}

static enum status import_run_pipeline(struct db *db, struct import_run *run,
                                       const struct store_product *product,
                                       struct store_import_result *total) {
    enum status status = store_codes_next_id(db, &run->next_base);
    if (status == STATUS_OK) status = checkpointer_start(run->db_path, &run->checkpointer);
    if (status != STATUS_OK) return status;
    sqlite3_wal_hook(db->handle, import_wal_hook, run);
    for (int i = 0; i < IMPORT_SLOTS; i++)
        import_batch_init(&run->slots[i].batch);
    verify(pthread_mutex_init(&run->lock, 0) == 0);
    verify(pthread_cond_init(&run->changed, 0) == 0);
    pthread_t reader;
    bool reading = pthread_create(&reader, 0, import_reader, run) == 0;
    status = reading ? import_write_all(db, run, product, total) : STATUS_NOMEM;
    if (reading) verify(pthread_join(reader, 0) == 0);
    sqlite3_wal_hook(db->handle, 0, 0);
    checkpointer_stop(run->checkpointer); /* a last copy; closing the database restarts the WAL */
    run->checkpointer = 0;
    if (status == STATUS_OK) status = run->reader_status;
    for (int i = 0; i < IMPORT_SLOTS; i++) {
        import_batch_free(&run->slots[i].batch);
        store_code_rows_free(&run->slots[i].rows);
    }
    pthread_cond_destroy(&run->changed);
    pthread_mutex_destroy(&run->lock);
    return status;
}

int cli_import(int argc, char **argv) {
    const char *db_path = "var/tessera.db", *sku = 0, *path = 0;
    struct cli_option options[] = {{"--db", true, &db_path}, {"--sku", true, &sku}};
    if (!cli_parse(argc, argv, options, 2, &path)) return 2;
    if (sku == 0 || path == 0) {
        fprintf(stderr, "usage: tessera import --db PATH --sku SKU FILE\n");
        return 2;
    }
    static struct import_run run;
    char key_path[4096];
    if (vault_global_init() != STATUS_OK || !cli_key_path(db_path, key_path, sizeof key_path) ||
        vault_load(&run.vault, key_path) != STATUS_OK) {
        fprintf(stderr, "tessera import: cannot load the vault key %s.key\n", db_path);
        return 1;
    }
    run.path = path;
    run.db_path = db_path;
    run.file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (run.file == 0) {
        fprintf(stderr, "tessera import: cannot open %s\n", path);
        return 1;
    }
    struct db db;
    if (db_open(&db, db_path, false, false) != STATUS_OK) {
        fprintf(stderr, "tessera import: cannot open %s\n", db_path);
        return 1;
    }
    if (db_migrate(&db) != STATUS_OK) { /* a database made by an older binary */
        fprintf(stderr, "tessera import: cannot bring %s to this version's schema\n", db_path);
        db_close(&db);
        return 1;
    }
    struct store_product product;
    struct store_import_result total = {0, 0};
    enum status status = store_product_by_sku(&db, sku, &product);
    if (status == STATUS_OK) {
        run.now_s = clock_now_s();
        import_parser_init(&run.parser, false, run.now_s, import_on_code, &run);
        status = import_run_pipeline(&db, &run, &product, &total);
    }
    if (status == STATUS_OK) {
        printf("imported %lld, duplicates %lld, rejected %lld\n", (long long)total.imported,
               (long long)total.duplicates, (long long)run.parser.rejected);
    }
    if (run.file != stdin) fclose(run.file);
    db_close(&db);
    vault_wipe(&run.vault);
    if (status != STATUS_OK) {
        fprintf(stderr, "tessera import: %s (imported %lld before the error)\n",
                status == STATUS_UNKNOWN_SKU ? "unknown SKU" : status_message(status),
                (long long)total.imported);
        return 1;
    }
    return 0;
}
