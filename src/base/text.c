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
        /* ASCII runs eight bytes at a time: most input is ASCII */
        while (i + 8 <= len) {
            uint64_t word;
            memcpy(&word, p + i, sizeof word);
            if (word & 0x8080808080808080u) break;
            i += 8;
        }
        if (i >= len) break;
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
    /* civil_from_days (H. Hinnant), no locks and no libc time functions */
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t seconds = unix_s - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t year = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    year += month <= 2;
    verify(year >= 0 && year <= 9999);
    int64_t fields[6] = {year, month, day, seconds / 3600, seconds / 60 % 60, seconds % 60};
    static const int widths[6] = {4, 2, 2, 2, 2, 2};
    static const char after[6] = {'-', '-', 'T', ':', ':', 'Z'};
    int at = 0;
    for (int f = 0; f < 6; f++) {
        for (int d = widths[f] - 1; d >= 0; d--) {
            out[at + d] = (char)('0' + fields[f] % 10);
            fields[f] /= 10;
        }
        at += widths[f];
        out[at++] = after[f];
    }
    verify(at == 20);
    out[20] = 0;
}

/* value in decimal, NUL-terminated, at the end of digits; returns where it starts */
static const char *text_decimal(int64_t value, char digits[24]) {
    size_t at = 23; /* filled from the end */
    digits[at] = 0;
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[--at] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) digits[--at] = '-';
    return digits + at;
}

enum status text_append_int64(struct buf *out, int64_t value) {
    verify(out != 0);
    char digits[24];
    const char *text = text_decimal(value, digits);
    return buf_append(out, text, (size_t)(digits + 23 - text));
}

size_t text_copy(char *dst, size_t size, const char *src) {
    verify(dst != 0 && src != 0 && size > 0);
    size_t len = strlen(src);
    size_t n = len < size ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return len;
}

size_t text_put(char *dst, size_t size, size_t at, const char *s) {
    verify(dst != 0 && s != 0 && size > 0 && at < size);
    (void)text_copy(dst + at, size - at, s);
    return at + strlen(dst + at);
}

size_t text_put_int64(char *dst, size_t size, size_t at, int64_t value) {
    char digits[24];
    return text_put(dst, size, at, text_decimal(value, digits));
}

int64_t text_unix_seconds(int year, int month, int day, int hour, int minute, int second) {
    /* days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + hour * 3600 + minute * 60 + second;
}

static bool text_leap_year(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

enum status text_parse_rfc3339(const char *s, size_t len, int64_t *out_s) {
    verify(s != 0 && out_s != 0);
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (len < 20 || len > 40) return STATUS_INVALID_VALUE;
    if (!text_digits(s, 4, &year) || s[4] != '-' || !text_digits(s + 5, 2, &month) || s[7] != '-' ||
        !text_digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !text_digits(s + 11, 2, &hour) || s[13] != ':' || !text_digits(s + 14, 2, &minute) ||
        s[16] != ':' || !text_digits(s + 17, 2, &second)) {
        return STATUS_INVALID_VALUE;
    }
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 2105 || month < 1 || month > 12 || day < 1 || hour > 23 ||
        minute > 59 || second > 60) {
        return STATUS_INVALID_VALUE;
    }
    int days_in_month = month_days[month - 1] + (month == 2 && text_leap_year(year));
    if (day > days_in_month) return STATUS_INVALID_VALUE;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t digits = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
        if (digits == 0 || digits > 9) return STATUS_INVALID_VALUE;
    }
    if (i >= len) return STATUS_INVALID_VALUE;
    int64_t offset_s = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        offset_s = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == len && s[i + 3] == ':') {
        int off_hour = 0, off_minute = 0;
        if (!text_digits(s + i + 1, 2, &off_hour) || !text_digits(s + i + 4, 2, &off_minute) ||
            off_hour > 23 || off_minute > 59) {
            return STATUS_INVALID_VALUE;
        }
        offset_s = (int64_t)off_hour * 3600 + off_minute * 60;
        if (s[i] == '-') offset_s = -offset_s;
    } else {
        return STATUS_INVALID_VALUE;
    }
    int64_t t = text_unix_seconds(year, month, day, hour, minute, second) - offset_s;
    if (t < 0 || t > (int64_t)UINT32_MAX) return STATUS_INVALID_VALUE;
    *out_s = t;
    return STATUS_OK;
}

enum status text_append_json_string(struct buf *out, const char *s) {
    verify(out != 0 && s != 0);
    enum status status = buf_append(out, "\"", 1);
    const char *run = s;
    for (const char *p = s; status == STATUS_OK && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        status = buf_append(out, run, (size_t)(p - run));
        if (status != STATUS_OK) break;
        if (c == '"')
            status = buf_append(out, "\\\"", 2);
        else if (c == '\\')
            status = buf_append(out, "\\\\", 2);
        else if (c == '\n')
            status = buf_append(out, "\\n", 2);
        else
            status = buf_printf(out, "\\u%04x", c);
        run = p + 1;
    }
    if (status == STATUS_OK) status = buf_append(out, run, strlen(run));
    if (status == STATUS_OK) status = buf_append(out, "\"", 1);
    return status;
}
