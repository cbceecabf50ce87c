/* installment.c — installment plans before any money moves: the terms and their bounds, the
 * plan fee, the exact schedule with its calendar months, a new plan and its invariants.
 * Pure: no I/O, no clock, no allocation. The rate disclosure is installment_apr.c;
 * repayments, late fees and refunds are installment_pay.c. */
#include "domain/installment.h"

#include <string.h>

#include "base/assert.h"
#include "base/money.h"

#define BP_PER_UNIT 10000
#define SECONDS_PER_DAY 86400

const int installment_plan_periods[INSTALLMENT_PLAN_COUNT] = {3, 6, 12};

const struct installment_terms installment_default_terms = {
    .fee_bp = {LIMIT_INSTALLMENT_FEE_3_BP, LIMIT_INSTALLMENT_FEE_6_BP, LIMIT_INSTALLMENT_FEE_12_BP},
    .grace_s = LIMIT_INSTALLMENT_GRACE_S,
    .late_fee_daily_bp = LIMIT_INSTALLMENT_LATE_DAILY_BP,
    .late_fee_cap_bp = LIMIT_INSTALLMENT_LATE_CAP_BP,
};

static int plan_index(int periods) {
    for (int i = 0; i < INSTALLMENT_PLAN_COUNT; i++) {
        if (installment_plan_periods[i] == periods) return i;
    }
    return -1;
}

static bool in_range(int64_t value, int64_t low, int64_t high) {
    return value >= low && value <= high;
}

enum status installment_terms_check(const struct installment_terms *terms) {
    verify(terms != 0);
    for (int i = 0; i < INSTALLMENT_PLAN_COUNT; i++) {
        if (!in_range(terms->fee_bp[i], 0, LIMIT_INSTALLMENT_FEE_MAX_BP)) {
            return STATUS_INVALID_VALUE;
        }
    }
    if (!in_range(terms->grace_s, 0, LIMIT_INSTALLMENT_GRACE_MAX_S)) return STATUS_INVALID_VALUE;
    if (!in_range(terms->late_fee_daily_bp, 0, LIMIT_INSTALLMENT_LATE_DAILY_MAX_BP)) {
        return STATUS_INVALID_VALUE;
    }
    if (!in_range(terms->late_fee_cap_bp, 0, LIMIT_INSTALLMENT_LATE_CAP_MAX_BP)) {
        return STATUS_INVALID_VALUE;
    }
    return STATUS_OK;
}

enum status installment_fee_bp(const struct installment_terms *terms, int periods,
                               int64_t *fee_bp) {
    verify(terms != 0 && fee_bp != 0);
    int index = plan_index(periods);
    if (index < 0) return STATUS_INVALID_PLAN;
    verify(index < INSTALLMENT_PLAN_COUNT);
    *fee_bp = terms->fee_bp[index];
    return STATUS_OK;
}

enum status installment_fee(int64_t principal, int64_t fee_bp, int64_t *fee) {
    verify(fee != 0);
    if (!in_range(principal, 1, LIMIT_INSTALLMENT_PRINCIPAL_MINOR)) return STATUS_INVALID_AMOUNT;
    if (!in_range(fee_bp, 0, LIMIT_INSTALLMENT_FEE_MAX_BP)) return STATUS_INVALID_VALUE;
    int64_t scaled = 0;
    if (money_mul(principal, fee_bp, &scaled) != STATUS_OK) return STATUS_OVERFLOW;
    if (money_add(scaled, BP_PER_UNIT / 2, &scaled) != STATUS_OK) return STATUS_OVERFLOW;
    int64_t result = scaled / BP_PER_UNIT; /* non-negative: floor of x + 1/2 is half up */
    verify(result >= 0 && result <= principal);
    *fee = result;
    return STATUS_OK;
}

/* Civil dates from days since 1970-01-01 and back (H. Hinnant's algorithms, proleptic
 * Gregorian). Only non-negative times reach them. */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
    year -= month <= 2;
    int64_t era = year / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int64_t *year, int64_t *month, int64_t *day) {
    verify(days >= 0);
    days += 719468;
    int64_t era = days / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted_month = (5 * day_of_year + 2) / 153;
    *day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    *month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
    *year = year_of_era + era * 400 + (*month <= 2);
}

static int64_t days_in_month(int64_t year, int64_t month) {
    static const int64_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    verify(month >= 1 && month <= 12);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int64_t installment_add_months(int64_t start_s, int months) {
    verify(start_s >= 0 && months >= 0 && months <= LIMIT_INSTALLMENT_PERIODS);
    int64_t year = 0, month = 0, day = 0;
    civil_from_days(start_s / SECONDS_PER_DAY, &year, &month, &day);
    int64_t month_index = month - 1 + months;
    year += month_index / 12;
    month = month_index % 12 + 1;
    int64_t last = days_in_month(year, month);
    if (day > last) day = last;
    int64_t result =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + start_s % SECONDS_PER_DAY;
    verify(result >= start_s);
    return result;
}

/* Splits whole into count parts differing by at most one: the extras go, one each, to the
 * count_extra periods starting at first_extra (wrapping). */
static void split_even(int64_t whole, int count, int first_extra, int64_t parts[]) {
    verify(whole >= 0 && count > 0 && first_extra >= 0 && first_extra < count);
    int64_t base = whole / count;
    int64_t extras = whole % count;
    for (int i = 0; i < count; i++)
        parts[i] = base;
    for (int64_t k = 0; k < extras; k++)
        parts[(first_extra + k) % count] += 1;
}

void installment_split(int64_t principal, int64_t fee, int periods, int64_t principal_parts[],
                       int64_t fee_parts[]) {
    verify(plan_index(periods) >= 0);
    verify(principal > 0 && principal <= LIMIT_INSTALLMENT_PRINCIPAL_MINOR);
    verify(fee >= 0 && fee <= principal);
    split_even(principal, periods, 0, principal_parts);
    /* The fee's extras start right after the principal's, so no period takes a second extra
     * before every period has one: totals stay within one unit and never increase. */
    split_even(fee, periods, (int)(principal % periods), fee_parts);
}

enum status installment_schedule(int64_t principal, int64_t fee, int periods, int64_t first_due_s,
                                 struct installment_period out[]) {
    verify(out != 0);
    if (plan_index(periods) < 0) return STATUS_INVALID_PLAN;
    if (!in_range(principal, 1, LIMIT_INSTALLMENT_PRINCIPAL_MINOR)) return STATUS_INVALID_AMOUNT;
    if (!in_range(fee, 0, principal)) return STATUS_INVALID_VALUE;
    if (!in_range(first_due_s, 0, LIMIT_INSTALLMENT_TIME_MAX_S)) return STATUS_INVALID_VALUE;
    if (installment_add_months(first_due_s, periods - 1) > LIMIT_INSTALLMENT_TIME_MAX_S) {
        return STATUS_INVALID_VALUE;
    }
    int64_t principal_parts[LIMIT_INSTALLMENT_PERIODS];
    int64_t fee_parts[LIMIT_INSTALLMENT_PERIODS];
    installment_split(principal, fee, periods, principal_parts, fee_parts);
    for (int i = 0; i < periods; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].due_at_s = installment_add_months(first_due_s, i);
        out[i].principal = principal_parts[i];
        out[i].fee = fee_parts[i];
        verify(i == 0 || out[i].due_at_s > out[i - 1].due_at_s);
    }
    return STATUS_OK;
}

enum status installment_plan_init(const struct installment_terms *terms, int64_t principal,
                                  int periods, int64_t first_due_s, struct installment_plan *plan) {
    verify(terms != 0 && plan != 0);
    enum status status = installment_terms_check(terms);
    if (status != STATUS_OK) return status;
    struct installment_plan result;
    memset(&result, 0, sizeof result);
    status = installment_fee_bp(terms, periods, &result.fee_bp);
    if (status != STATUS_OK) return status;
    status = installment_fee(principal, result.fee_bp, &result.fee);
    if (status != STATUS_OK) return status;
    status = installment_schedule(principal, result.fee, periods, first_due_s, result.period);
    if (status != STATUS_OK) return status;
    result.periods = periods;
    result.principal = principal;
    result.grace_s = terms->grace_s;
    result.late_fee_daily_bp = terms->late_fee_daily_bp;
    result.late_fee_cap_bp = terms->late_fee_cap_bp;
    verify(installment_valid(&result));
    *plan = result;
    return STATUS_OK;
}

enum status installment_plan_start(const struct installment_terms *terms, int64_t principal,
                                   int periods, int64_t purchase_s, struct installment_plan *plan) {
    verify(terms != 0 && plan != 0);
    if (!in_range(purchase_s, 0, LIMIT_INSTALLMENT_TIME_MAX_S)) return STATUS_INVALID_VALUE;
    if (plan_index(periods) < 0) return STATUS_INVALID_PLAN;
    struct installment_plan result;
    enum status status = installment_plan_init(terms, principal, periods,
                                               installment_add_months(purchase_s, 1), &result);
    if (status != STATUS_OK) return status;
    /* each due date from the purchase itself, so a month end never pulls the later ones
     * earlier (Jan 31 → Feb 28, Mar 31, Apr 30, not Feb 28, Mar 28, Apr 28) */
    for (int i = 0; i < periods; i++) {
        result.period[i].due_at_s = installment_add_months(purchase_s, i + 1);
        if (result.period[i].due_at_s > LIMIT_INSTALLMENT_TIME_MAX_S) return STATUS_INVALID_VALUE;
    }
    verify(installment_valid(&result));
    *plan = result;
    return STATUS_OK;
}

enum status installment_quote(const struct installment_terms *terms, int64_t principal, int periods,
                              struct installment_quote *quote) {
    verify(terms != 0 && quote != 0);
    struct installment_plan plan;
    enum status status = installment_plan_init(terms, principal, periods, 0, &plan);
    if (status != STATUS_OK) return status;
    struct installment_quote result;
    memset(&result, 0, sizeof result);
    status = installment_apr(principal, plan.fee, periods, &result.apr);
    if (status != STATUS_OK) return status;
    result.periods = periods;
    result.principal = principal;
    result.fee_bp = plan.fee_bp;
    result.fee = plan.fee;
    result.total = principal + plan.fee;
    result.first_total = plan.period[0].principal + plan.period[0].fee;
    result.last_total = plan.period[periods - 1].principal + plan.period[periods - 1].fee;
    verify(result.first_total >= result.last_total && result.first_total - result.last_total <= 1);
    *quote = result;
    return STATUS_OK;
}

static bool period_valid(const struct installment_plan *plan, const struct installment_period *p) {
    /* Each field is bounded before any sum, so a corrupted row cannot overflow the checks. */
    if (!in_range(p->principal, 0, plan->principal) || !in_range(p->fee, 0, plan->fee)) {
        return false;
    }
    if (!in_range(p->principal_paid, 0, p->principal)) return false;
    if (!in_range(p->principal_cancelled, 0, p->principal - p->principal_paid)) return false;
    if (!in_range(p->fee_paid, 0, p->fee) || !in_range(p->fee_waived, 0, p->fee - p->fee_paid)) {
        return false;
    }
    int64_t cap_e4 = (p->principal + p->fee) * plan->late_fee_cap_bp;
    if (!in_range(p->late_fee_accrued_e4, 0, cap_e4)) return false;
    if (!in_range(p->late_days_charged, 0, LIMIT_INSTALLMENT_TIME_MAX_S / SECONDS_PER_DAY)) {
        return false;
    }
    int64_t late_fee = (p->late_fee_accrued_e4 + BP_PER_UNIT / 2) / BP_PER_UNIT;
    if (!in_range(p->late_fee_paid, 0, late_fee)) return false;
    return in_range(p->late_fee_waived, 0, late_fee - p->late_fee_paid);
}

bool installment_valid(const struct installment_plan *plan) {
    verify(plan != 0);
    if (plan_index(plan->periods) < 0) return false;
    int64_t fee = 0;
    if (installment_fee(plan->principal, plan->fee_bp, &fee) != STATUS_OK) return false;
    if (fee != plan->fee) return false;
    if (!in_range(plan->grace_s, 0, LIMIT_INSTALLMENT_GRACE_MAX_S)) return false;
    if (!in_range(plan->late_fee_daily_bp, 0, LIMIT_INSTALLMENT_LATE_DAILY_MAX_BP)) return false;
    if (!in_range(plan->late_fee_cap_bp, 0, LIMIT_INSTALLMENT_LATE_CAP_MAX_BP)) return false;
    if (!in_range(plan->principal_refunded, 0, plan->principal)) return false;
    if (plan->cancelled != (plan->principal_refunded == plan->principal)) return false;
    int64_t principal_sum = 0, fee_sum = 0, fee_paid = 0;
    for (int i = 0; i < plan->periods; i++) {
        const struct installment_period *p = &plan->period[i];
        if (!in_range(p->due_at_s, 0, LIMIT_INSTALLMENT_TIME_MAX_S)) return false;
        if (i > 0 && p->due_at_s <= plan->period[i - 1].due_at_s) return false;
        if (!period_valid(plan, p)) return false;
        principal_sum += p->principal;
        fee_sum += p->fee;
        fee_paid += p->fee_paid;
        if (principal_sum > plan->principal || fee_sum > plan->fee) return false;
    }
    if (principal_sum != plan->principal || fee_sum != plan->fee) return false;
    return in_range(plan->fee_returned, 0, fee_paid);
}
