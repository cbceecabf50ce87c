/* money.h — overflow-checked arithmetic on int64 minor units (fen, cents).
 * Money is never floating point. Every add and multiply goes through these. */
#ifndef TESSERA_BASE_MONEY_H
#define TESSERA_BASE_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

#define MONEY_CURRENCY_BYTES 4 /* three letters and a NUL */

/* Results are written only on success; STATUS_OVERFLOW leaves *out untouched. */
must_check enum status money_add(int64_t a, int64_t b, int64_t *out);
must_check enum status money_sub(int64_t a, int64_t b, int64_t *out);
must_check enum status money_mul(int64_t amount, int64_t count, int64_t *out);

/* A valid amount is positive and at most LIMIT_AMOUNT_MINOR. */
bool money_amount_valid(int64_t amount);
/* A valid currency is three upper-case ASCII letters (ISO 4217 form). */
bool money_currency_valid(const char *currency);

#endif
