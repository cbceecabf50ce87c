/* import.c — `tessera import --db PATH --sku SKU FILE`: streams a code file into inventory
 * in chunks of LIMIT_IMPORT_CHUNK codes, one write transaction each, so memory stays
 * bounded and a running server's writer waits at most one chunk. Works beside a running
 * server: both take SQLite's write lock, and the product's stock moves in the same
 * transaction as its codes. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/limits.h"
#include "cli/cli.h"
#include "store/store.h"

#define IMPORT_READ_BYTES (256 * 1024)

struct import_run {
    struct db db;
    struct vault vault;
    struct store_product product;
    struct import_batch batch;
    struct store_import_result result;
    int64_t now_s;
};

static enum status import_flush(struct import_run *run) {
    if (run->batch.count == 0) return STATUS_OK;
    struct store_import_result chunk = {0, 0};
    enum status status = db_begin_immediate(&run->db);
    if (status == STATUS_OK) {
        status = store_codes_insert(&run->db, &run->vault, run->product.id, &run->batch,
                                    run->now_s, &chunk);
    }
    if (status == STATUS_OK) {
        char object[96], detail[128];
        snprintf(object, sizeof object, "product:%lld", (long long)run->product.id);
        snprintf(detail, sizeof detail, "{\"imported\":%lld,\"duplicates\":%lld,\"via\":\"cli\"}",
                 (long long)chunk.imported, (long long)chunk.duplicates);
        status = store_audit_append(&run->db, 0, "codes.import", object, detail, run->now_s);
    }
    if (status == STATUS_OK) status = db_commit(&run->db);
    if (status != STATUS_OK) {
        db_rollback(&run->db);
        return status;
    }
    run->result.imported += chunk.imported;
    run->result.duplicates += chunk.duplicates;
    import_batch_clear(&run->batch);
    return STATUS_OK;
}

static enum status import_on_code(void *context, const struct import_code *code) {
    struct import_run *run = context;
    import_batch_add(&run->batch, code);
    if (run->batch.count >= LIMIT_IMPORT_CHUNK) return import_flush(run);
    return STATUS_OK;
}

static void import_progress(long long done, long long total) {
    if (total <= 0) return;
    int width = 40, filled = (int)(done * width / total);
    char bar[41];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %3lld%%", bar, done * 100 / total);
}

static bool import_is_csv(const char *path) {
    size_t len = strlen(path);
    return len >= 4 && strcmp(path + len - 4, ".csv") == 0;
}

static enum status import_stream(struct import_run *run, FILE *file, const char *path,
                                 struct import_parser *parser) {
    struct stat st;
    long long total = fstat(fileno(file), &st) == 0 ? (long long)st.st_size : 0;
    bool tty = isatty(STDERR_FILENO) == 1;
    static char chunk[IMPORT_READ_BYTES];
    long long done = 0;
    enum status status = STATUS_OK;
    size_t n = 0;
    bool first = true;
    while (status == STATUS_OK && (n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        if (first) {
            /* A CSV file is also recognised by its header row. */
            parser->csv = import_is_csv(path) || (n >= 16 && memcmp(chunk, "code,expires_at", 15) == 0);
            first = false;
        }
        status = import_parser_feed(parser, chunk, n);
        done += (long long)n;
        if (tty) import_progress(done, total);
    }
    if (status == STATUS_OK && ferror(file)) status = STATUS_IO;
    if (status == STATUS_OK) status = import_parser_finish(parser);
    if (status == STATUS_OK) status = import_flush(run);
    memset(chunk, 0, sizeof chunk);
    if (tty) fputc('\n', stderr);
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
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == 0) {
        fprintf(stderr, "tessera import: cannot open %s\n", path);
        return 1;
    }
    if (db_open(&run.db, db_path, false, false) != STATUS_OK) {
        fprintf(stderr, "tessera import: cannot open %s\n", db_path);
        return 1;
    }
    enum status status = store_product_by_sku(&run.db, sku, &run.product);
    if (status == STATUS_OK) {
        run.now_s = clock_now_s();
        import_batch_init(&run.batch);
        struct import_parser parser;
        import_parser_init(&parser, false, run.now_s, import_on_code, &run);
        status = import_stream(&run, file, path, &parser);
        import_batch_free(&run.batch);
        if (status == STATUS_OK) {
            printf("imported %lld, duplicates %lld, rejected %lld\n", (long long)run.result.imported,
                   (long long)run.result.duplicates, (long long)parser.rejected);
        }
    }
    if (file != stdin) fclose(file);
    db_close(&run.db);
    vault_wipe(&run.vault);
    if (status != STATUS_OK) {
        fprintf(stderr, "tessera import: %s (imported %lld before the error)\n",
                status == STATUS_UNKNOWN_SKU ? "unknown SKU" : status_message(status),
                (long long)run.result.imported);
        return 1;
    }
    return 0;
}
