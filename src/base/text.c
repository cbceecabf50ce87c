/* text.c — UTF-8 checks and small parsers used by every input path. */
#include "base/text.h"

#include <string.h>
#include <time.h>

#include "base/assert.h"

bool text_utf8_valid(const char *s, size_t len) {
    verify(s != 0 || len == 0);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t need = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07u;
        } else
            return false;
        if (len - i <= need) return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return false;
        if (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) return false;
        i += need + 1;
    }
    return true;
}

bool text_printable(const char *s, size_t len) {
    verify(s != 0 || len == 0);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) return false;
    }
    return text_utf8_valid(s, len);
}

void text_trim(const char **s, size_t *len) {
    verify(s != 0 && len != 0);
    while (*len > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\r')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0) {
        char c = (*s)[*len - 1];
        if (c != ' ' && c != '\t' && c != '\r') break;
        (*len)--;
    }
}

enum status text_parse_int(const char *s, size_t len, int64_t *out) {
    verify(s != 0 && out != 0);
    if (len == 0 || len > 19) return STATUS_INVALID_VALUE;
    int64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return STATUS_INVALID_VALUE;
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, s[i] - '0', &value)) {
            return STATUS_INVALID_VALUE;
        }
    }
    *out = value;
    return STATUS_OK;
}

static bool text_digits(const char *s, int count, int *out) {
    int value = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        value = value * 10 + (s[i] - '0');
    }
    *out = value;
    return true;
}

enum status text_parse_time(const char *s, size_t len, int64_t *out_s) {
    verify(s != 0 && out_s != 0);
    if (len >= 1 && len <= 12 && s[0] >= '0' && s[0] <= '9' && memchr(s, '-', len) == 0) {
        return text_parse_int(s, len, out_s);
    }
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (len != 10 && len != 20) return STATUS_INVALID_VALUE;
    if (!text_digits(s, 4, &year) || s[4] != '-' || !text_digits(s + 5, 2, &month) || s[7] != '-' ||
        !text_digits(s + 8, 2, &day)) {
        return STATUS_INVALID_VALUE;
    }
    if (len == 20 && (s[10] != 'T' || !text_digits(s + 11, 2, &hour) || s[13] != ':' ||
                      !text_digits(s + 14, 2, &minute) || s[16] != ':' ||
                      !text_digits(s + 17, 2, &second) || s[19] != 'Z')) {
        return STATUS_INVALID_VALUE;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
        second > 59) {
        return STATUS_INVALID_VALUE;
    }
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = month - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = minute,
                    .tm_sec = second};
    time_t t = timegm(&tm);
    if (tm.tm_mday != day) return STATUS_INVALID_VALUE; /* 2027-02-31 normalised away */
    *out_s = (int64_t)t;
    return STATUS_OK;
}

void text_format_time(int64_t unix_s, char out[21]) {
    verify(out != 0);
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    verify(strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20);
}

size_t text_copy(char *dst, size_t size, const char *src) {
    verify(dst != 0 && src != 0 && size > 0);
    size_t len = strlen(src);
    size_t n = len < size ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return len;
}
