/* assert.c — the failure path of verify(). Prints only the expression and location. */
#include "base/assert.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "tessera: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
