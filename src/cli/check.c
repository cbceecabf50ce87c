/* check.c — `tessera check --db PATH`: prints the invariant summary as JSON; exit 0 when
 * every invariant holds, 1 when any is broken. Read-only; safe beside a running server. */
#include <stdio.h>

#include "base/limits.h"
#include "cli/cli.h"
#include "store/store.h"

int cli_check(int argc, char **argv) {
    const char *db_path = "var/tessera.db";
    struct cli_option options[] = {{"--db", true, &db_path}};
    if (!cli_parse(argc, argv, options, 1, 0)) return 2;
    if (vault_global_init() != STATUS_OK) return 1;
    struct db db;
    if (db_open(&db, db_path, true, false) != STATUS_OK) {
        fprintf(stderr, "tessera check: cannot open %s\n", db_path);
        return 1;
    }
    int applied = 0, known = 0;
    if (db_schema_versions(&db, &applied, &known) != STATUS_OK || applied != known) {
        fprintf(stderr, "tessera check: %s is at schema version %d, this binary's is %d; %s\n",
                db_path, applied, known,
                applied < known ? "`tessera serve` or `tessera import` brings it up to date first"
                                : "use the binary that made it");
        db_close(&db);
        return 1;
    }
    struct buf out;
    buf_init(&out, 1 << 20);
    bool ok = false;
    enum status status = store_check(&db, &out, &ok);
    db_close(&db);
    if (status != STATUS_OK) {
        fprintf(stderr, "tessera check: %s\n", status_message(status));
        buf_free(&out);
        return 1;
    }
    printf("%s\n", out.data);
    buf_free(&out);
    return ok ? 0 : 1;
}
