/* money.c — checked arithmetic for minor units. Uses the compiler's overflow builtins so
 * the check is exact; never wraps, never saturates. */
#include "base/money.h"

#include <string.h>

#include "base/assert.h"
#include "base/limits.h"

enum status money_add(int64_t a, int64_t b, int64_t *out) {
    verify(out != 0);
    int64_t result = 0;
    if (__builtin_add_overflow(a, b, &result)) return STATUS_OVERFLOW;
    *out = result;
    return STATUS_OK;
}

enum status money_sub(int64_t a, int64_t b, int64_t *out) {
    verify(out != 0);
    int64_t result = 0;
    if (__builtin_sub_overflow(a, b, &result)) return STATUS_OVERFLOW;
    *out = result;
    return STATUS_OK;
}

enum status money_mul(int64_t amount, int64_t count, int64_t *out) {
    verify(out != 0);
    int64_t result = 0;
    if (__builtin_mul_overflow(amount, count, &result)) return STATUS_OVERFLOW;
    *out = result;
    return STATUS_OK;
}

bool money_amount_valid(int64_t amount) { return amount > 0 && amount <= LIMIT_AMOUNT_MINOR; }

bool money_currency_valid(const char *currency) {
    verify(currency != 0);
    if (strlen(currency) != MONEY_CURRENCY_BYTES - 1) return false;
    for (int i = 0; i < MONEY_CURRENCY_BYTES - 1; i++) {
        if (currency[i] < 'A' || currency[i] > 'Z') return false;
    }
    return true;
}
