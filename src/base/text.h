/* text.h — small, bounded text helpers: UTF-8 validation, trimming, RFC 3339 parsing,
 * JSON string escaping into a buffer. No function here allocates except through buf. */
#ifndef TESSERA_BASE_TEXT_H
#define TESSERA_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"
#include "base/status.h"

bool text_utf8_valid(const char *s, size_t len);
/* True when s has no ASCII control characters (tab included) and is valid UTF-8. */
bool text_printable(const char *s, size_t len);
/* Narrows [*s, *s+*len) past leading and trailing spaces, tabs and CR. */
void text_trim(const char **s, size_t *len);
/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) or decimal Unix seconds. */
must_check enum status text_parse_time(const char *s, size_t len, int64_t *out_s);
/* Parses an RFC 3339 date-time ("2015-04-18T02:47:00Z", "…T10:47:00.250+08:00"; 't', 'z'
 * and a space for 'T' accepted, fractions truncated) into Unix seconds, without the C
 * library's time functions (they take locks): pure arithmetic, for replaying events fast.
 * Years 1970–2105 only (event times are kept as unsigned 32-bit seconds). */
must_check enum status text_parse_rfc3339(const char *s, size_t len, int64_t *out_s);
/* Unix seconds of a civil UTC date and time (no range checks beyond the proleptic
 * Gregorian calendar). */
int64_t text_unix_seconds(int year, int month, int day, int hour, int minute, int second);
/* Appends s as a JSON string literal (quoted; ", \ and control characters escaped). */
must_check enum status text_append_json_string(struct buf *out, const char *s);
/* Appends value in decimal. */
must_check enum status text_append_int64(struct buf *out, int64_t value);
/* Formats Unix seconds (years 0-9999) as RFC 3339 UTC into out (at least 21 bytes). */
void text_format_time(int64_t unix_s, char out[21]);
/* Copies src into dst (size bytes, NUL-terminated, truncated if need be); returns
 * strlen(src), so a result >= size means it was truncated. */
size_t text_copy(char *dst, size_t size, const char *src);
/* Short text built in a fixed array without printf (on the writer's path for every order):
 * each puts its piece at dst[at…], NUL-terminated, truncated at size, and returns the new
 * end (at most size - 1). Start with at = 0. */
size_t text_put(char *dst, size_t size, size_t at, const char *s);
size_t text_put_int64(char *dst, size_t size, size_t at, int64_t value);
/* Parses a decimal int64 with no sign, spaces or leading '+'. */
must_check enum status text_parse_int(const char *s, size_t len, int64_t *out);

#endif
