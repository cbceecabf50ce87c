/* installment_apr.c — the annualised rate disclosed before purchase, by the IRR method:
 * the monthly rate r at which the installments t_k, paid k months after purchase, are worth
 * the principal (Σ t_k / (1 + r)^k = principal), times 12.
 *
 * Integer only, so the disclosed number is the same on every machine: the present value is
 * computed in 128-bit fixed point (discount factors scaled by 10^18) and r is found by
 * bisection over whole units of 1e-12 a month. Never floating point, never unbounded: the
 * search interval is fixed and halves each step. */
#include <string.h>

#include "base/assert.h"
#include "domain/installment.h"

__extension__ typedef unsigned __int128 apr_u128;

#define APR_RATE_SCALE 1000000000000LL            /* monthly rates are in units of 1e-12 */
#define APR_DISCOUNT_SCALE 1000000000000000000ULL /* discount factors, 10^18 = 1.0 */
#define APR_RATE_MAX APR_RATE_SCALE               /* 100% a month bounds the search */
#define APR_RATE_E12_PER_BP_YEAR 100000000LL      /* 1 bp a year = 1e8 units over 12 */

_Static_assert(APR_RATE_MAX <= INT64_MAX / 12, "12 × the monthly rate fits int64");

/* Σ t_k × (1 / (1 + rate))^k scaled by APR_DISCOUNT_SCALE, each factor rounded down, so the
 * value is a little low, never high: at most periods units of 10^-18 relative. */
static apr_u128 present_value(const int64_t totals[], int periods, int64_t rate_e12) {
    verify(periods > 0 && periods <= LIMIT_INSTALLMENT_PERIODS);
    verify(rate_e12 >= 0 && rate_e12 <= APR_RATE_MAX);
    apr_u128 discount = (apr_u128)APR_DISCOUNT_SCALE * (apr_u128)APR_RATE_SCALE /
                        (apr_u128)(APR_RATE_SCALE + rate_e12);
    apr_u128 factor = APR_DISCOUNT_SCALE;
    apr_u128 sum = 0;
    for (int k = 0; k < periods; k++) {
        verify(totals[k] >= 0);
        factor = factor * discount / APR_DISCOUNT_SCALE; /* ≤ 10^36: fits */
        sum += (apr_u128)totals[k] * factor;             /* ≤ 2 × 10^11 × 10^18 each */
    }
    return sum;
}

enum status installment_apr(int64_t principal, int64_t fee, int periods,
                            struct installment_apr *apr) {
    verify(apr != 0);
    bool known = false;
    for (int i = 0; i < INSTALLMENT_PLAN_COUNT; i++)
        known |= installment_plan_periods[i] == periods;
    if (!known) return STATUS_INVALID_PLAN;
    if (principal < 1 || principal > LIMIT_INSTALLMENT_PRINCIPAL_MINOR) {
        return STATUS_INVALID_AMOUNT;
    }
    if (fee < 0 || fee > principal) return STATUS_INVALID_VALUE;
    int64_t principal_parts[LIMIT_INSTALLMENT_PERIODS];
    int64_t fee_parts[LIMIT_INSTALLMENT_PERIODS];
    int64_t totals[LIMIT_INSTALLMENT_PERIODS];
    installment_split(principal, fee, periods, principal_parts, fee_parts);
    for (int k = 0; k < periods; k++)
        totals[k] = principal_parts[k] + fee_parts[k];

    apr_u128 target = (apr_u128)principal * APR_DISCOUNT_SCALE;
    /* Invariant: value at low ≥ principal > value at high. A fee of at most the principal,
     * spread over three or more periods, is worth less than the principal at 100% a month. */
    int64_t low = 0, high = APR_RATE_MAX;
    verify(present_value(totals, periods, low) >= target);
    if (present_value(totals, periods, high) >= target) return STATUS_INVALID_VALUE;
    while (high - low > 1) { /* at most 40 steps: the interval halves each time */
        int64_t middle = low + (high - low) / 2;
        if (present_value(totals, periods, middle) >= target) {
            low = middle;
        } else {
            high = middle;
        }
    }
    verify(low >= 0 && low < APR_RATE_MAX);
    verify(fee > 0 || low == 0);
    memset(apr, 0, sizeof *apr);
    apr->monthly_rate_e12 = low;
    apr->apr_bp = (12 * low + APR_RATE_E12_PER_BP_YEAR / 2) / APR_RATE_E12_PER_BP_YEAR;
    return STATUS_OK;
}
