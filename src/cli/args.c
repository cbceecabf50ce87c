/* args.c — the small option parser every subcommand uses, the progress bar, file reading. */
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

void cli_progress(long long done, long long total, const char *note) {
    if (total <= 0) return;
    if (done > total) done = total;
    int width = 40, filled = (int)(done * width / total);
    char bar[41];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %3lld%% %s", bar, done * 100 / total, note ? note : "");
}

bool cli_read_file(const char *command, const char *path, size_t limit, struct buf *out) {
    verify(command != 0 && path != 0 && out != 0);
    FILE *file = fopen(path, "rb");
    if (file == 0) {
        fprintf(stderr, "tessera %s: cannot open %s\n", command, path);
        return false;
    }
    buf_init(out, limit);
    char chunk[65536];
    size_t n = 0;
    enum status status = STATUS_OK;
    while (status == STATUS_OK && (n = fread(chunk, 1, sizeof chunk, file)) > 0)
        status = buf_append(out, chunk, n);
    bool failed = ferror(file) != 0;
    fclose(file);
    if (status != STATUS_OK || failed) {
        fprintf(stderr, "tessera %s: cannot read %s (at most %zu bytes)\n", command, path, limit);
        buf_free(out);
        return false;
    }
    return true;
}
