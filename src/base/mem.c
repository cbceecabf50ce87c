/* mem.c — allocation wrappers and the bounded buffer. */
#include "base/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

static void *mem_check(void *ptr) {
    if (ptr == 0) {
        fputs("tessera: out of memory\n", stderr);
        abort();
    }
    return ptr;
}

void *mem_alloc(size_t size) { return mem_check(malloc(size == 0 ? 1 : size)); }
void *mem_calloc(size_t count, size_t size) {
    return mem_check(calloc(count ? count : 1, size ? size : 1));
}
void *mem_realloc(void *ptr, size_t size) { return mem_check(realloc(ptr, size == 0 ? 1 : size)); }
char *mem_strdup(const char *s) {
    verify(s != 0);
    return mem_strndup(s, strlen(s));
}
char *mem_strndup(const char *s, size_t n) {
    verify(s != 0);
    char *copy = mem_alloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = 0;
    return copy;
}

void buf_init(struct buf *buf, size_t limit) {
    verify(buf != 0);
    verify(limit > 0);
    buf->data = 0;
    buf->len = 0;
    buf->cap = 0;
    buf->limit = limit;
}

void buf_free(struct buf *buf) {
    verify(buf != 0);
    free(buf->data);
    buf->data = 0;
    buf->len = 0;
    buf->cap = 0;
}

static enum status buf_reserve(struct buf *buf, size_t extra) {
    if (extra > buf->limit || buf->len > buf->limit - extra) return STATUS_BODY_TOO_LARGE;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap) return STATUS_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap *= 2;
    buf->data = mem_realloc(buf->data, cap);
    buf->cap = cap;
    return STATUS_OK;
}

enum status buf_append(struct buf *buf, const void *data, size_t len) {
    verify(buf != 0);
    verify(data != 0 || len == 0);
    enum status status = buf_reserve(buf, len);
    if (status != STATUS_OK) return status;
    if (len > 0) memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = 0;
    return STATUS_OK;
}

enum status buf_printf(struct buf *buf, const char *fmt, ...) {
    verify(buf != 0);
    verify(fmt != 0);
    va_list args;
    va_start(args, fmt);
    va_list copy;
    va_copy(copy, args);
    /* formatted straight into the room left, which is usually enough (one pass, not a
     * measuring pass and a writing pass); the rare text that does not fit is written again */
    size_t room = buf->cap > buf->len ? buf->cap - buf->len : 0;
    char scratch[1];
    int n = vsnprintf(room > 0 ? buf->data + buf->len : scratch, room > 0 ? room : sizeof scratch,
                      fmt, copy);
    va_end(copy);
    verify(n >= 0);
    enum status status = STATUS_OK;
    if ((size_t)n > buf->limit || buf->len > buf->limit - (size_t)n) {
        status = STATUS_BODY_TOO_LARGE;
    } else if ((size_t)n >= room) {
        status = buf_reserve(buf, (size_t)n);
        if (status == STATUS_OK) {
            int written = vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, args);
            verify(written == n);
        }
    }
    if (status == STATUS_OK) {
        buf->len += (size_t)n;
    } else if (room > 0) {
        buf->data[buf->len] = 0; /* the refused text leaves the buffer as it was */
    }
    va_end(args);
    return status;
}
