/* fuzz_headers.h — the payment harnesses' input shape: "Name: value" lines up to a blank
 * line, then the body (fuzz_pay_notice.c, fuzz_pay_response.c). Header-only: each harness
 * is one executable. */
#ifndef TESSERA_TESTS_FUZZ_HEADERS_H
#define TESSERA_TESTS_FUZZ_HEADERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/limits.h"
#include "pay/pay.h"

/* The input after its first byte (the harness's target selector), exactly, plus a NUL for
 * the header targets; the caller frees it. */
static inline char *fuzz_copy_after_target(const uint8_t *data, size_t size, size_t *len) {
    verify(size > 0);
    *len = size - 1;
    char *copy = malloc(*len + 1);
    verify(copy != 0);
    if (*len) memcpy(copy, data + 1, *len);
    copy[*len] = 0;
    return copy;
}

/* "Name: value" lines up to a blank line, then the body. */
static inline int fuzz_split_headers(char *text, size_t len, struct pay_header *headers,
                                     const char **body, size_t *body_len) {
    int count = 0;
    char *line = text, *end = text + len;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == 0) nl = end;
        *nl = 0;
        if (nl == line) {
            line = nl + 1;
            break;
        }
        char *colon = strchr(line, ':');
        if (colon != 0 && count < LIMIT_HEADER_COUNT) {
            *colon = 0;
            headers[count].name = line;
            headers[count].value = colon + 1 + (colon[1] == ' ');
            count++;
        }
        line = nl + 1;
    }
    *body = line < end ? line : "";
    *body_len = line < end ? (size_t)(end - line) : 0;
    return count;
}

#endif
