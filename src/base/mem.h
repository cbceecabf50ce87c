/* mem.h — allocation wrappers that never return NULL: out of memory aborts with a
 * message (as Redis does). A bounded growable buffer for bodies and responses. */
#ifndef TESSERA_BASE_MEM_H
#define TESSERA_BASE_MEM_H

#include <stddef.h>

#include "base/status.h"

void *mem_alloc(size_t size);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *ptr, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

/* A byte buffer that refuses to grow past its limit. Always NUL-terminated after data. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
};

void buf_init(struct buf *buf, size_t limit);
void buf_free(struct buf *buf);
must_check enum status buf_append(struct buf *buf, const void *data, size_t len);
must_check enum status buf_printf(struct buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
