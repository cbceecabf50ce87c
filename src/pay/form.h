/* form.h — `k=v&k=v` bodies (application/x-www-form-urlencoded, and GET query strings):
 * the fields decoded, in arrival order, and the "sorted k=v joined by &" string that EPay
 * and Alipay sign. */
#ifndef TESSERA_PAY_FORM_H
#define TESSERA_PAY_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/limits.h"
#include "base/mem.h"
#include "base/status.h"

struct pay_field {
    char *key; /* decoded, NUL-terminated; owned by the form */
    char *value;
};

struct pay_form {
    struct pay_field fields[LIMIT_PAY_FIELDS];
    int count;
};

/* Decodes text (percent escapes, '+' as a space). STATUS_INVALID_NOTICE with reason for a
 * bad escape, an empty or repeated key, a decoded NUL or invalid UTF-8, too many fields or
 * a value over LIMIT_PAY_VALUE_BYTES. The form is empty (and needs no free) on failure. */
must_check enum status pay_form_parse(const char *text, size_t len, struct pay_form *form,
                                      char *reason, size_t reason_size);
void pay_form_free(struct pay_form *form);
/* The decoded value of key, or NULL. */
const char *pay_form_get(const struct pay_form *form, const char *key);

/* Appends every field but those named in skip (a NULL-terminated list) and, unless
 * keep_empty, those with an empty value, sorted by key in byte order, as k=v joined by '&'. */
must_check enum status pay_form_sign_string(const struct pay_form *form, const char *const *skip,
                                            bool keep_empty, struct buf *out);
/* Appends text percent-encoded for a URL query (unreserved characters as they are). */
must_check enum status pay_url_escape(struct buf *out, const char *text);
/* The fields of a signed outgoing request (keys already in the signed order): each with a
 * non-empty value is appended to signed_text as k=v joined by '&' (what the key signs) and
 * to query as k=escaped(v) followed by '&' (what is sent; the signature comes after).
 * Empty values are neither signed nor sent. Used by Alipay (RSA2) and EPay (MD5). */
must_check enum status pay_signed_fields(const char *const *keys, const char *const *values,
                                         size_t count, struct buf *signed_text, struct buf *query);
/* Whether any field has an empty value. */
bool pay_form_has_empty(const struct pay_form *form);

#endif
