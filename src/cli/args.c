/* args.c — the small option parser every subcommand uses. */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "cli/cli.h"

bool cli_parse(int argc, char **argv, struct cli_option *options, int count,
               const char **positional) {
    verify(argv != 0 && options != 0);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0) {
            if (positional == 0 || *positional != 0) {
                fprintf(stderr, "tessera %s: unexpected argument '%s'\n", argv[0], arg);
                return false;
            }
            *positional = arg;
            continue;
        }
        int k = 0;
        while (k < count && strcmp(options[k].name, arg) != 0)
            k++;
        if (k == count) {
            fprintf(stderr, "tessera %s: unknown option '%s'\n", argv[0], arg);
            return false;
        }
        if (!options[k].takes_value) {
            *options[k].value = "1";
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tessera %s: %s needs a value\n", argv[0], arg);
            return false;
        }
        *options[k].value = argv[++i];
    }
    return true;
}

bool cli_key_path(const char *db_path, char *out, size_t out_size) {
    verify(db_path != 0 && out != 0);
    int n = snprintf(out, out_size, "%s.key", db_path);
    return n > 0 && (size_t)n < out_size;
}
