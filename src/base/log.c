/* log.c — writes "time level message" lines to stderr in one write() each. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"

static enum log_level log_min_level = LOG_INFO;

void log_set_level(enum log_level level) { log_min_level = level; }

void log_write(enum log_level level, const char *fmt, ...) {
    verify(fmt != 0);
    if (level < log_min_level) return;
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char line[1024];
    time_t now = time(0);
    struct tm tm;
    gmtime_r(&now, &tm);
    int used = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    int n = snprintf(line + used, sizeof line - (size_t)used, "%s ", names[level]);
    if (n > 0) used += n;
    va_list args;
    va_start(args, fmt);
    n = vsnprintf(line + used, sizeof line - (size_t)used, fmt, args);
    va_end(args);
    if (n > 0) used += n;
    if (used > (int)sizeof line - 2) used = (int)sizeof line - 2;
    line[used++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)used);
    (void)ignored;
}
