/* form.c — form and query-string notices (see form.h). */
#include "pay/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/text.h"

static int form_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes text[0, len) into a new string of at most limit bytes; NULL with reason. */
static char *form_decode(const char *text, size_t len, size_t limit, char *reason,
                         size_t reason_size) {
    char *out = mem_alloc(len + 1);
    size_t n = 0;
    const char *why = 0;
    for (size_t i = 0; i < len && why == 0; i++) {
        char c = text[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 1 < len ? form_hex(text[i + 1]) : -1;
            int lo = i + 2 < len ? form_hex(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                why = "a bad percent escape";
                break;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == 0) why = "a NUL byte in a field";
        out[n++] = c;
    }
    out[n] = 0;
    if (why == 0 && n > limit) why = "a field is over the length limit";
    if (why == 0 && !text_utf8_valid(out, n)) why = "a field is not valid UTF-8";
    if (why != 0) {
        snprintf(reason, reason_size, "%s", why);
        free(out);
        return 0;
    }
    return out;
}

void pay_form_free(struct pay_form *form) {
    verify(form != 0);
    for (int i = 0; i < form->count; i++) {
        free(form->fields[i].key);
        free(form->fields[i].value);
    }
    form->count = 0;
}

const char *pay_form_get(const struct pay_form *form, const char *key) {
    verify(form != 0 && key != 0);
    for (int i = 0; i < form->count; i++) {
        if (strcmp(form->fields[i].key, key) == 0) return form->fields[i].value;
    }
    return 0;
}

enum status pay_form_parse(const char *text, size_t len, struct pay_form *form, char *reason,
                           size_t reason_size) {
    verify((text != 0 || len == 0) && form != 0 && reason != 0);
    form->count = 0;
    size_t start = 0;
    while (start < len) {
        const char *part = text + start;
        const char *amp = memchr(part, '&', len - start);
        size_t part_len = amp ? (size_t)(amp - part) : len - start;
        start += part_len + 1;
        if (part_len == 0) continue; /* "a=1&&b=2", a trailing '&' */
        const char *eq = memchr(part, '=', part_len);
        size_t key_len = eq ? (size_t)(eq - part) : part_len;
        const char *why = 0;
        if (key_len == 0) why = "a field without a name";
        if (why == 0 && form->count == LIMIT_PAY_FIELDS) why = "too many fields";
        if (why != 0) {
            snprintf(reason, reason_size, "%s", why);
            pay_form_free(form);
            return STATUS_INVALID_NOTICE;
        }
        char *key = form_decode(part, key_len, LIMIT_PAY_REF_BYTES, reason, reason_size);
        char *value = 0;
        if (key != 0) {
            const char *v = eq ? eq + 1 : part + part_len;
            size_t v_len = eq ? part_len - key_len - 1 : 0;
            value = form_decode(v, v_len, LIMIT_PAY_VALUE_BYTES, reason, reason_size);
        }
        if (key != 0 && value != 0 && (key[0] == 0 || pay_form_get(form, key) != 0)) {
            snprintf(reason, reason_size, "%s", key[0] ? "a repeated field" : "an empty name");
            free(value);
            value = 0;
        }
        if (key == 0 || value == 0) {
            free(key);
            pay_form_free(form);
            return STATUS_INVALID_NOTICE;
        }
        form->fields[form->count].key = key;
        form->fields[form->count].value = value;
        form->count++;
    }
    return STATUS_OK;
}

static int form_by_key(const void *a, const void *b) {
    const struct pay_field *x = *(const struct pay_field *const *)a;
    const struct pay_field *y = *(const struct pay_field *const *)b;
    return strcmp(x->key, y->key);
}

bool pay_form_has_empty(const struct pay_form *form) {
    verify(form != 0);
    for (int i = 0; i < form->count; i++) {
        if (form->fields[i].value[0] == 0) return true;
    }
    return false;
}

enum status pay_form_sign_string(const struct pay_form *form, const char *const *skip,
                                 bool keep_empty, struct buf *out) {
    verify(form != 0 && out != 0);
    const struct pay_field *sorted[LIMIT_PAY_FIELDS];
    int count = 0;
    for (int i = 0; i < form->count; i++) {
        const struct pay_field *field = &form->fields[i];
        bool skipped = !keep_empty && field->value[0] == 0;
        for (int k = 0; skip != 0 && skip[k] != 0 && !skipped; k++)
            skipped = strcmp(field->key, skip[k]) == 0;
        if (!skipped) sorted[count++] = field;
    }
    qsort(sorted, (size_t)count, sizeof sorted[0], form_by_key);
    enum status status = STATUS_OK;
    for (int i = 0; status == STATUS_OK && i < count; i++) {
        if (i > 0) status = buf_append(out, "&", 1);
        if (status == STATUS_OK) status = buf_append(out, sorted[i]->key, strlen(sorted[i]->key));
        if (status == STATUS_OK) status = buf_append(out, "=", 1);
        if (status == STATUS_OK)
            status = buf_append(out, sorted[i]->value, strlen(sorted[i]->value));
    }
    return status;
}

enum status pay_url_escape(struct buf *out, const char *text) {
    verify(out != 0 && text != 0);
    static const char hex[] = "0123456789ABCDEF";
    enum status status = STATUS_OK;
    for (const unsigned char *p = (const unsigned char *)text; *p && status == STATUS_OK; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char escaped[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        status = plain ? buf_append(out, p, 1) : buf_append(out, escaped, 3);
    }
    return status;
}

enum status pay_signed_fields(const char *const *keys, const char *const *values, size_t count,
                              struct buf *signed_text, struct buf *query) {
    verify(keys != 0 && values != 0 && signed_text != 0 && query != 0);
    enum status status = STATUS_OK;
    for (size_t i = 0; status == STATUS_OK && i < count; i++) {
        if (values[i][0] == 0) continue;
        status =
            buf_printf(signed_text, "%s%s=%s", signed_text->len ? "&" : "", keys[i], values[i]);
        if (status == STATUS_OK) status = buf_printf(query, "%s=", keys[i]);
        if (status == STATUS_OK) status = pay_url_escape(query, values[i]);
        if (status == STATUS_OK) status = buf_append(query, "&", 1);
    }
    return status;
}
