/* cli.h — the subcommands of the tessera binary. Each returns the process exit code:
 * 0 success, 1 failure (or a broken invariant for check), 2 usage error. */
#ifndef TESSERA_CLI_CLI_H
#define TESSERA_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/mem.h"

int cli_init(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_risk(int argc, char **argv);
int cli_pay(int argc, char **argv);
/* `pay create|query|refund` (pay_api.c): argv[0] is the operation. */
int cli_pay_outbound(int argc, char **argv);

/* Option parsing shared by the subcommands: --name VALUE and --flag; one positional. */
struct cli_option {
    const char *name; /* "--db" */
    bool takes_value;
    const char **value; /* set to the value, or to "1" for a flag */
};

/* Returns false (after printing why) on an unknown option, a missing value, or a
 * positional argument when positional is NULL. */
bool cli_parse(int argc, char **argv, struct cli_option *options, int count,
               const char **positional);
/* A progress bar on stderr (for terminals): done of total bytes, and an optional note. */
void cli_progress(long long done, long long total, const char *note);
/* The whole of a file of at most limit bytes into out (initialised here); false after
 * saying why on stderr ("tessera COMMAND: …"). */
bool cli_read_file(const char *command, const char *path, size_t limit, struct buf *out);
/* "PATH.key" for the database at PATH, into out. */
bool cli_key_path(const char *db_path, char *out, size_t out_size);

#endif
