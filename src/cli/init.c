/* init.c — `tessera init --db PATH [--demo]`: creates the database, its vault key file
 * (PATH.key, 0600) and the admin user. On an existing database it changes nothing. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/limits.h"
#include "base/log.h"
#include "cli/cli.h"
#include "store/store.h"
#include "vault/vault.h"

static int init_fail(const char *what, enum status status) {
    fprintf(stderr, "tessera init: %s: %s\n", what, status_message(status));
    return 1;
}

int cli_init(int argc, char **argv) {
    const char *db_path = "var/tessera.db", *demo = 0;
    struct cli_option options[] = {{"--db", true, &db_path}, {"--demo", false, &demo}};
    if (!cli_parse(argc, argv, options, 2, 0)) return 2;
    char key_path[4096];
    if (!cli_key_path(db_path, key_path, sizeof key_path)) return init_fail("path", STATUS_IO);
    struct stat st;
    if (stat(db_path, &st) == 0) {
        printf("database %s already exists; nothing changed\n", db_path);
        return 0;
    }
    char dir[4096]; /* its directory must be there: init makes files, not directories */
    if (snprintf(dir, sizeof dir, "%s", db_path) >= (int)sizeof dir) {
        return init_fail("path", STATUS_IO);
    }
    const char *parent = dirname(dir);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tessera init: cannot create %s: no directory %s\n", db_path, parent);
        return 1;
    }
    if (vault_global_init() != STATUS_OK) return init_fail("libsodium", STATUS_CRYPTO);
    umask(077); /* the database holds password hashes and sealed codes: owner only */
    const char *env_password = getenv("TESSERA_ADMIN_PASSWORD");
    char generated[21];
    const char *password = env_password;
    if (password == 0 || password[0] == 0) {
        vault_random_password(generated, sizeof generated);
        password = generated;
    }
    size_t password_len = strlen(password);
    if (password_len < LIMIT_PASSWORD_MIN_BYTES || password_len > LIMIT_PASSWORD_MAX_BYTES) {
        fprintf(stderr, "tessera init: TESSERA_ADMIN_PASSWORD must be %d to %d bytes\n",
                LIMIT_PASSWORD_MIN_BYTES, LIMIT_PASSWORD_MAX_BYTES);
        return 2;
    }
    char hash[VAULT_PASSWORD_HASH_BYTES];
    enum status status = vault_password_hash(password, password_len, hash);
    if (status != STATUS_OK) return init_fail("password hash", status);
    if (access(key_path, F_OK) == 0) {
        fprintf(stderr, "tessera init: %s exists without its database; refusing to reuse it\n",
                key_path);
        return 1;
    }
    status = vault_key_create(key_path);
    if (status != STATUS_OK) return init_fail(key_path, status);
    struct vault vault;
    status = vault_load(&vault, key_path);
    if (status != STATUS_OK) return init_fail(key_path, status);
    struct db db;
    status = db_open(&db, db_path, false, true);
    if (status == STATUS_OK) {
        status = db_migrate(&db);
        if (status == STATUS_OK) status = db_begin_immediate(&db);
        if (status == STATUS_OK) status = store_setup(&db, &vault, hash, demo != 0, clock_now_s());
        if (status == STATUS_OK) status = db_commit(&db);
        if (status != STATUS_OK) db_rollback(&db);
        db_close(&db);
    }
    vault_wipe(&vault);
    if (status != STATUS_OK) {
        unlink(db_path);
        unlink(key_path);
        return init_fail(db_path, status);
    }
    printf("created %s (vault key %s)%s\n", db_path, key_path, demo ? " with demo catalog" : "");
    if (password == generated) {
        printf("admin password (shown once): %s\n", generated);
    } else {
        printf("admin password taken from TESSERA_ADMIN_PASSWORD\n");
    }
    return 0;
}
