/* installment_test.c — installment plans: hand-computed cases (10000 fen over 3 periods, the
 * disclosed rates of the default plans), calendar months, and properties over many amounts
 * from a fixed seed × every plan: splits are exact and even, the rate's present value is the
 * principal, repayments, payoffs and refunds keep every sum exact. Time is passed as now_s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/limits.h"
#include "domain/installment.h"

#define DAY_S 86400

static const int plan_periods[] = {3, 6, 12};

/* 2024-01-31T08:00:00Z: a month end in a leap year. */
static int64_t jan31_2024(void) {
    struct tm tm = {.tm_year = 124, .tm_mon = 0, .tm_mday = 31, .tm_hour = 8};
    return (int64_t)timegm(&tm);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void) { /* splitmix64: a fixed seed, the same run every time */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int64_t random_between(int64_t low, int64_t high) {
    return low + (int64_t)(next_random() % (uint64_t)(high - low + 1));
}

/* The amounts every property runs over: edges, primes, the limit, and random ones. */
#define AMOUNT_COUNT 96
static int amounts(int64_t out[AMOUNT_COUNT]) {
    static const int64_t fixed[] = {1,
                                    2,
                                    3,
                                    5,
                                    6,
                                    7,
                                    11,
                                    12,
                                    13,
                                    34,
                                    9973,
                                    10000,
                                    1000003,
                                    999999937,
                                    1000000000,
                                    LIMIT_INSTALLMENT_PRINCIPAL_MINOR - 1,
                                    LIMIT_INSTALLMENT_PRINCIPAL_MINOR};
    int count = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        out[count++] = fixed[i];
    while (count < AMOUNT_COUNT)
        out[count++] = random_between(1, 1000000000);
    return count;
}

static struct installment_plan new_plan(int64_t principal, int periods) {
    struct installment_plan plan;
    assert_int_equal(
        installment_plan_init(&installment_default_terms, principal, periods, jan31_2024(), &plan),
        STATUS_OK);
    return plan;
}

static int64_t period_total(const struct installment_period *p) { return p->principal + p->fee; }

static void fees_round_half_up(void **state) {
    int64_t fee = -1;
    assert_int_equal(installment_fee(10000, 150, &fee), STATUS_OK);
    assert_int_equal(fee, 150);
    assert_int_equal(installment_fee(33, 150, &fee), STATUS_OK); /* 0.495 */
    assert_int_equal(fee, 0);
    assert_int_equal(installment_fee(34, 150, &fee), STATUS_OK); /* 0.51 */
    assert_int_equal(fee, 1);
    assert_int_equal(installment_fee(100, 50, &fee), STATUS_OK); /* exactly 0.5 */
    assert_int_equal(fee, 1);
    assert_int_equal(installment_fee(300, 50, &fee), STATUS_OK); /* exactly 1.5 */
    assert_int_equal(fee, 2);
    assert_int_equal(installment_fee(10000, 0, &fee), STATUS_OK);
    assert_int_equal(fee, 0);
    assert_int_equal(
        installment_fee(LIMIT_INSTALLMENT_PRINCIPAL_MINOR, LIMIT_INSTALLMENT_FEE_MAX_BP, &fee),
        STATUS_OK);
    assert_int_equal(fee, LIMIT_INSTALLMENT_PRINCIPAL_MINOR / 2);
    fee = 7;
    assert_int_equal(installment_fee(0, 150, &fee), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_fee(-5, 150, &fee), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_fee(LIMIT_INSTALLMENT_PRINCIPAL_MINOR + 1, 150, &fee),
                     STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_fee(100, -1, &fee), STATUS_INVALID_VALUE);
    assert_int_equal(installment_fee(100, LIMIT_INSTALLMENT_FEE_MAX_BP + 1, &fee),
                     STATUS_INVALID_VALUE);
    assert_int_equal(fee, 7); /* untouched on error */
}

static void terms_and_plans(void **state) {
    assert_int_equal(installment_terms_check(&installment_default_terms), STATUS_OK);
    int64_t fee_bp = 0;
    assert_int_equal(installment_fee_bp(&installment_default_terms, 3, &fee_bp), STATUS_OK);
    assert_int_equal(fee_bp, 150);
    assert_int_equal(installment_fee_bp(&installment_default_terms, 6, &fee_bp), STATUS_OK);
    assert_int_equal(fee_bp, 300);
    assert_int_equal(installment_fee_bp(&installment_default_terms, 12, &fee_bp), STATUS_OK);
    assert_int_equal(fee_bp, 600);
    assert_int_equal(installment_fee_bp(&installment_default_terms, 4, &fee_bp),
                     STATUS_INVALID_PLAN);
    assert_int_equal(installment_fee_bp(&installment_default_terms, 0, &fee_bp),
                     STATUS_INVALID_PLAN);

    struct installment_terms terms = installment_default_terms;
    terms.fee_bp[1] = 450; /* a configuration override */
    assert_int_equal(installment_terms_check(&terms), STATUS_OK);
    assert_int_equal(installment_fee_bp(&terms, 6, &fee_bp), STATUS_OK);
    assert_int_equal(fee_bp, 450);
    terms.fee_bp[2] = LIMIT_INSTALLMENT_FEE_MAX_BP + 1;
    assert_int_equal(installment_terms_check(&terms), STATUS_INVALID_VALUE);
    terms = installment_default_terms;
    terms.grace_s = -1;
    assert_int_equal(installment_terms_check(&terms), STATUS_INVALID_VALUE);
    terms = installment_default_terms;
    terms.late_fee_daily_bp = LIMIT_INSTALLMENT_LATE_DAILY_MAX_BP + 1;
    assert_int_equal(installment_terms_check(&terms), STATUS_INVALID_VALUE);
    terms = installment_default_terms;
    terms.late_fee_cap_bp = LIMIT_INSTALLMENT_LATE_CAP_MAX_BP + 1;
    assert_int_equal(installment_terms_check(&terms), STATUS_INVALID_VALUE);

    struct installment_plan plan;
    assert_int_equal(installment_plan_init(&terms, 10000, 3, 0, &plan), STATUS_INVALID_VALUE);
    assert_int_equal(
        installment_plan_init(&installment_default_terms, 10000, 24, jan31_2024(), &plan),
        STATUS_INVALID_PLAN);
    assert_int_equal(installment_plan_init(&installment_default_terms, 0, 3, jan31_2024(), &plan),
                     STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_plan_init(&installment_default_terms, 10000, 3, -1, &plan),
                     STATUS_INVALID_VALUE);
    assert_int_equal(installment_plan_init(&installment_default_terms, 10000, 12,
                                           LIMIT_INSTALLMENT_TIME_MAX_S - 40 * DAY_S, &plan),
                     STATUS_INVALID_VALUE); /* the last due date would pass the limit */
}

static void ten_thousand_fen_over_three_periods(void **state) {
    struct installment_plan plan = new_plan(10000, 3);
    assert_int_equal(plan.fee, 150);
    assert_int_equal(plan.period[0].principal, 3334); /* the extra unit goes first */
    assert_int_equal(plan.period[1].principal, 3333);
    assert_int_equal(plan.period[2].principal, 3333);
    for (int i = 0; i < 3; i++)
        assert_int_equal(plan.period[i].fee, 50);

    /* Both remainders: principal's extra in period 0, fee's extras right after it. */
    struct installment_period out[LIMIT_INSTALLMENT_PERIODS];
    assert_int_equal(installment_schedule(11, 2, 3, 0, out), STATUS_OK);
    assert_int_equal(out[0].principal, 4);
    assert_int_equal(out[1].principal, 4);
    assert_int_equal(out[2].principal, 3);
    assert_int_equal(out[0].fee, 1); /* wrapped: periods 2 and 0 */
    assert_int_equal(out[1].fee, 0);
    assert_int_equal(out[2].fee, 1);
    assert_int_equal(installment_schedule(10, 2, 3, 0, out), STATUS_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(period_total(&out[i]), 4);
    assert_int_equal(installment_schedule(10, 11, 3, 0, out), STATUS_INVALID_VALUE);
    assert_int_equal(installment_schedule(10, -1, 3, 0, out), STATUS_INVALID_VALUE);

    struct installment_quote quote;
    assert_int_equal(installment_quote(&installment_default_terms, 10000, 3, &quote), STATUS_OK);
    assert_int_equal(quote.fee, 150);
    assert_int_equal(quote.total, 10150);
    assert_int_equal(quote.first_total, 3384);
    assert_int_equal(quote.last_total, 3383);
    assert_int_equal(quote.apr.apr_bp, 898); /* 8.98% a year */
}

static void due_dates_follow_calendar_months(void **state) {
    struct installment_plan plan = new_plan(10000, 12);
    static const int expected_day[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < 12; i++) {
        time_t due = (time_t)plan.period[i].due_at_s;
        struct tm tm;
        assert_non_null(gmtime_r(&due, &tm));
        assert_int_equal(tm.tm_year, 124);
        assert_int_equal(tm.tm_mon, i);
        assert_int_equal(tm.tm_mday, expected_day[i]); /* Feb 29: leap year, then back to 31 */
        assert_int_equal(tm.tm_hour, 8);
        assert_int_equal(tm.tm_min, 0);
    }
    /* A non-leap year and a year boundary: 2022-11-30 → Dec 30, Jan 30, Feb 28, Mar 30. */
    struct tm start = {.tm_year = 122, .tm_mon = 10, .tm_mday = 30, .tm_hour = 23, .tm_min = 59};
    struct installment_period out[LIMIT_INSTALLMENT_PERIODS];
    assert_int_equal(installment_schedule(600, 0, 6, (int64_t)timegm(&start), out), STATUS_OK);
    static const int expected[6][3] = {{122, 10, 30}, {122, 11, 30}, {123, 0, 30},
                                       {123, 1, 28},  {123, 2, 30},  {123, 3, 30}};
    for (int i = 0; i < 6; i++) {
        time_t due = (time_t)out[i].due_at_s;
        struct tm tm;
        assert_non_null(gmtime_r(&due, &tm));
        assert_int_equal(tm.tm_year, expected[i][0]);
        assert_int_equal(tm.tm_mon, expected[i][1]);
        assert_int_equal(tm.tm_mday, expected[i][2]);
        assert_int_equal(tm.tm_hour * 60 + tm.tm_min, 23 * 60 + 59);
    }
    /* 2100 is not a leap year; 2000 was. */
    struct tm y2100 = {.tm_year = 200, .tm_mon = 0, .tm_mday = 31};
    assert_int_equal(installment_schedule(3, 0, 3, (int64_t)timegm(&y2100), out), STATUS_OK);
    struct tm feb = {.tm_year = 200, .tm_mon = 1, .tm_mday = 28};
    assert_int_equal(out[1].due_at_s, (int64_t)timegm(&feb));
    struct tm y2000 = {.tm_year = 100, .tm_mon = 0, .tm_mday = 31};
    assert_int_equal(installment_schedule(3, 0, 3, (int64_t)timegm(&y2000), out), STATUS_OK);
    struct tm feb29 = {.tm_year = 100, .tm_mon = 1, .tm_mday = 29};
    assert_int_equal(out[1].due_at_s, (int64_t)timegm(&feb29));
}

static void schedules_are_exact_and_even(void **state) {
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            int periods = plan_periods[k];
            struct installment_plan plan = new_plan(principals[a], periods);
            assert_true(installment_valid(&plan));
            int64_t principal_sum = 0, fee_sum = 0;
            for (int i = 0; i < periods; i++) {
                const struct installment_period *p = &plan.period[i];
                principal_sum += p->principal;
                fee_sum += p->fee;
                for (int j = 0; j < periods; j++) {
                    const struct installment_period *q = &plan.period[j];
                    assert_true(p->principal - q->principal <= 1);
                    assert_true(p->fee - q->fee <= 1);
                    assert_true(period_total(p) - period_total(q) <= 1);
                }
                if (i > 0) {
                    assert_true(p->due_at_s > plan.period[i - 1].due_at_s);
                    assert_true(period_total(p) <= period_total(&plan.period[i - 1]));
                    assert_true(p->due_at_s - plan.period[i - 1].due_at_s >= 28 * DAY_S);
                    assert_true(p->due_at_s - plan.period[i - 1].due_at_s <= 31 * DAY_S);
                }
            }
            assert_int_equal(principal_sum, principals[a]);
            assert_int_equal(fee_sum, plan.fee);
        }
    }
}

/* Present value in long double, independently of the fixed point under test. */
static long double present_value(const struct installment_plan *plan, int64_t rate_e12) {
    long double rate = (long double)rate_e12 / 1e12L, factor = 1.0L, sum = 0.0L;
    for (int i = 0; i < plan->periods; i++) {
        factor /= 1.0L + rate;
        sum += (long double)period_total(&plan->period[i]) * factor;
    }
    return sum;
}

static void disclosed_rates_of_the_default_plans(void **state) {
    /* Expected values solved exactly with rational arithmetic, outside this code. */
    static const struct {
        int64_t principal;
        int periods;
        int64_t fee;
        int64_t rate_e12;
        int64_t apr_bp;
    } cases[] = {
        {10000, 3, 150, 7481783754, 898},
        {10000, 6, 300, 8512270421, 1021},
        {10000, 12, 600, 9082485649, 1090},
        {100000000, 3, 1500000, 7481412476, 898},
        {100000000, 6, 3000000, 8511318012, 1021},
        {100000000, 12, 6000000, 9080318982, 1090},
        {34, 3, 1, 14849150353, 1782},
        {1, 3, 1, 618033988749, 74164},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct installment_apr apr;
        assert_int_equal(installment_apr(cases[i].principal, cases[i].fee, cases[i].periods, &apr),
                         STATUS_OK);
        assert_int_equal(apr.monthly_rate_e12, cases[i].rate_e12);
        assert_int_equal(apr.apr_bp, cases[i].apr_bp);
    }
    struct installment_apr apr;
    assert_int_equal(installment_apr(10000, 0, 12, &apr), STATUS_OK);
    assert_int_equal(apr.monthly_rate_e12, 0);
    assert_int_equal(apr.apr_bp, 0);
    assert_int_equal(installment_apr(10000, 150, 5, &apr), STATUS_INVALID_PLAN);
    assert_int_equal(installment_apr(10000, 10001, 3, &apr), STATUS_INVALID_VALUE);
    assert_int_equal(installment_apr(0, 0, 3, &apr), STATUS_INVALID_AMOUNT);
}

static void rate_present_value_is_the_principal(void **state) {
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            struct installment_plan plan = new_plan(principals[a], plan_periods[k]);
            struct installment_apr apr;
            assert_int_equal(installment_apr(plan.principal, plan.fee, plan.periods, &apr),
                             STATUS_OK);
            long double principal = (long double)plan.principal;
            long double value = present_value(&plan, apr.monthly_rate_e12);
            assert_true(value >= principal - 1e-3L); /* the rate is not too high… */
            assert_true(value - principal <= 1.0L);  /* …and within a unit of the root */
            assert_true(present_value(&plan, apr.monthly_rate_e12 + 1) < principal + 1e-3L);
            long double apr_bp = (long double)apr.monthly_rate_e12 * 12.0L / 1e8L;
            assert_true(apr_bp - (long double)apr.apr_bp <= 0.5L);
            assert_true((long double)apr.apr_bp - apr_bp <= 0.5L);
            if (plan.principal >= 100000) { /* rounding no longer moves the rate */
                static const int64_t expected_bp[3] = {898, 1021, 1090};
                assert_true(apr.apr_bp - expected_bp[k] <= 1 && expected_bp[k] - apr.apr_bp <= 1);
            }
        }
    }
}

static void paying_every_period_on_time_pays_off(void **state) {
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            struct installment_plan plan = new_plan(principals[a], plan_periods[k]);
            int64_t principal_paid = 0, fee_paid = 0;
            for (int i = 0; i < plan.periods; i++) {
                int64_t now_s = plan.period[i].due_at_s;
                struct installment_amounts owed, due;
                installment_outstanding(&plan, now_s, &owed);
                /* Tiny principals leave the last periods empty: paid off early. */
                assert_int_equal(installment_state(&plan, now_s),
                                 owed.total > 0 ? INSTALLMENT_ACTIVE : INSTALLMENT_PAID_OFF);
                installment_due(&plan, now_s, &due);
                assert_int_equal(due.total, period_total(&plan.period[i]));
                assert_int_equal(due.late_fee, 0);
                if (due.total == 0) continue;
                struct installment_amounts applied;
                assert_int_equal(installment_repay(&plan, due.total, now_s, &applied), STATUS_OK);
                assert_int_equal(applied.principal, plan.period[i].principal);
                assert_int_equal(applied.fee, plan.period[i].fee);
                assert_int_equal(applied.late_fee, 0);
                principal_paid += applied.principal;
                fee_paid += applied.fee;
            }
            int64_t end_s = plan.period[plan.periods - 1].due_at_s + 365 * DAY_S;
            assert_int_equal(installment_state(&plan, end_s), INSTALLMENT_PAID_OFF);
            assert_int_equal(principal_paid, plan.principal);
            assert_int_equal(fee_paid, plan.fee);
            struct installment_amounts applied;
            assert_int_equal(installment_repay(&plan, 1, end_s, &applied), STATUS_PLAN_CLOSED);
        }
    }
}

static void repayments_allocate_oldest_first_and_sum(void **state) {
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            struct installment_plan plan = new_plan(principals[a], plan_periods[k]);
            int64_t now_s = plan.period[0].due_at_s - 20 * DAY_S;
            int64_t paid_total = 0, late_total = 0;
            for (int step = 0; step < 40; step++) {
                now_s += random_between(0, 25 * DAY_S);
                struct installment_amounts owed;
                installment_outstanding(&plan, now_s, &owed);
                if (owed.total == 0) break;
                int64_t amount = step == 39 ? owed.total : random_between(1, owed.total);
                struct installment_amounts applied;
                assert_int_equal(installment_repay(&plan, amount, now_s, &applied), STATUS_OK);
                assert_int_equal(applied.principal + applied.fee + applied.late_fee, amount);
                assert_int_equal(applied.total, amount);
                struct installment_amounts after;
                installment_outstanding(&plan, now_s, &after);
                assert_int_equal(after.total, owed.total - amount);
                paid_total += amount;
                late_total += applied.late_fee;
                /* Oldest first: no later period has been paid while an earlier one owes. */
                for (int i = 1; i < plan.periods; i++) {
                    const struct installment_period *p = &plan.period[i];
                    if (p->principal_paid + p->fee_paid + p->late_fee_paid == 0) continue;
                    const struct installment_period *q = &plan.period[i - 1];
                    assert_int_equal(q->principal_paid, q->principal);
                    assert_int_equal(q->fee_paid, q->fee);
                }
            }
            assert_int_equal(installment_state(&plan, now_s), INSTALLMENT_PAID_OFF);
            assert_int_equal(paid_total, plan.principal + plan.fee + late_total);
        }
    }
}

static void overdue_after_grace_not_before(void **state) {
    struct installment_plan plan = new_plan(10000, 3);
    int64_t due_s = plan.period[0].due_at_s;
    int64_t overdue_at_s = due_s + LIMIT_INSTALLMENT_GRACE_S;
    assert_int_equal(installment_state(&plan, due_s - 1), INSTALLMENT_ACTIVE);
    assert_int_equal(installment_state(&plan, overdue_at_s), INSTALLMENT_ACTIVE);
    assert_false(installment_period_overdue(&plan, 0, overdue_at_s));
    struct installment_amounts owed;
    installment_outstanding(&plan, overdue_at_s, &owed);
    assert_int_equal(owed.late_fee, 0);
    assert_int_equal(owed.total, 10150);

    assert_int_equal(installment_state(&plan, overdue_at_s + 1), INSTALLMENT_OVERDUE);
    assert_true(installment_period_overdue(&plan, 0, overdue_at_s + 1));
    assert_false(installment_period_overdue(&plan, 1, overdue_at_s + 1));
    installment_outstanding(&plan, overdue_at_s + 1, &owed); /* day 1: 3384 × 0.05% = 1.692 */
    assert_int_equal(owed.late_fee, 2);
    installment_outstanding(&plan, overdue_at_s + DAY_S, &owed); /* still day 1 */
    assert_int_equal(owed.late_fee, 2);
    installment_outstanding(&plan, overdue_at_s + 10 * DAY_S, &owed); /* 16.92 */
    assert_int_equal(owed.late_fee, 17);

    /* Paying the period after 10 days: late fee, then fee, then principal; nothing overdue. */
    struct installment_amounts applied;
    assert_int_equal(installment_repay(&plan, 3384 + 17, overdue_at_s + 10 * DAY_S, &applied),
                     STATUS_OK);
    assert_int_equal(applied.late_fee, 17);
    assert_int_equal(applied.fee, 50);
    assert_int_equal(applied.principal, 3334);
    assert_int_equal(installment_state(&plan, overdue_at_s + 10 * DAY_S), INSTALLMENT_ACTIVE);
    installment_outstanding(&plan, overdue_at_s + 20 * DAY_S, &owed);
    assert_int_equal(owed.late_fee, 0); /* a paid period accrues nothing more */
}

static void late_fees_are_exact_and_capped(void **state) {
    struct installment_plan plan = new_plan(10000, 3);
    int64_t overdue_at_s = plan.period[0].due_at_s + LIMIT_INSTALLMENT_GRACE_S;
    /* A partial payment on day 10 lowers the base from then on, not before. */
    struct installment_amounts applied, owed;
    assert_int_equal(installment_repay(&plan, 1017, overdue_at_s + 10 * DAY_S, &applied),
                     STATUS_OK); /* late fee 17, fee 50, principal 950: 2384 unpaid */
    assert_int_equal(applied.late_fee, 17);
    assert_int_equal(applied.principal, 950);
    /* Days 1–10 on 3384 (169200 e4) + days 11–20 on 2384 (119200 e4) = 28.84 → 29, 17 paid. */
    installment_outstanding(&plan, overdue_at_s + 20 * DAY_S, &owed);
    assert_int_equal(owed.late_fee, 12);

    /* Asking often or once gives the same late fee: the accrual is kept exactly. */
    struct installment_plan once = new_plan(10000, 12);
    int64_t start_s = once.period[0].due_at_s + LIMIT_INSTALLMENT_GRACE_S;
    struct installment_amounts at_once;
    installment_outstanding(&once, start_s + 333 * DAY_S, &at_once);
    struct installment_plan often = once;
    for (int day = 1; day <= 333; day += 7) {
        struct installment_amounts ignored;
        installment_outstanding(&often, start_s + day * DAY_S, &ignored);
    }
    installment_outstanding(&often, start_s + 333 * DAY_S, &owed);
    assert_int_equal(owed.late_fee, at_once.late_fee);

    /* The cap: 25% of the period's 3384 is 846, reached on day 500 (1.692 a day). */
    struct installment_plan capped = new_plan(10000, 3);
    installment_outstanding(&capped, overdue_at_s + 499 * DAY_S, &owed);
    int64_t late_499 = owed.late_fee;
    installment_outstanding(&capped, overdue_at_s + 1000 * DAY_S, &owed);
    /* period 0: 846; periods 1 and 2 (3383 each) are capped at 845.75 → 846 each. */
    assert_int_equal(owed.late_fee, 846 * 3);
    assert_true(late_499 < owed.late_fee);
    installment_outstanding(&capped, LIMIT_INSTALLMENT_TIME_MAX_S, &owed); /* no overflow */
    assert_int_equal(owed.late_fee, 846 * 3);
    struct installment_amounts payoff;
    assert_int_equal(installment_payoff_quote(&capped, overdue_at_s + 1000 * DAY_S, &payoff),
                     STATUS_OK);
    assert_int_equal(payoff.total, 10150 + 846 * 3);
}

static void early_payoff_waives_fees_not_yet_due(void **state) {
    struct installment_plan plan = new_plan(10000, 3);
    struct installment_amounts quote;
    int64_t due0 = plan.period[0].due_at_s, due1 = plan.period[1].due_at_s;
    assert_int_equal(installment_payoff_quote(&plan, due0 - 1, &quote), STATUS_OK);
    assert_int_equal(quote.total, 10000);
    assert_int_equal(quote.fee, 0);
    assert_int_equal(quote.fee_waived, 150);
    assert_int_equal(installment_payoff_quote(&plan, due0, &quote), STATUS_OK);
    assert_int_equal(quote.total, 10050);
    assert_int_equal(quote.fee_waived, 100);
    /* Period 0 overdue by a day when period 1 falls due (grace 3 days; Feb 29 − Jan 31). */
    int64_t late_days = (due1 - due0 - LIMIT_INSTALLMENT_GRACE_S + DAY_S - 1) / DAY_S;
    assert_int_equal(late_days, 26);
    assert_int_equal(installment_payoff_quote(&plan, due1, &quote), STATUS_OK);
    assert_int_equal(quote.late_fee, (3384 * 5 * late_days + 5000) / 10000); /* 43.992 */
    assert_int_equal(quote.late_fee, 44);
    assert_int_equal(quote.total, 10000 + 100 + 44);
    assert_int_equal(quote.fee_waived, 50);

    struct installment_amounts applied;
    assert_int_equal(installment_payoff(&plan, quote.total - 1, due1, &applied),
                     STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_payoff(&plan, quote.total, due1, &applied), STATUS_OK);
    assert_int_equal(applied.total, quote.total);
    assert_int_equal(installment_state(&plan, due1 + 400 * DAY_S), INSTALLMENT_PAID_OFF);
    assert_int_equal(plan.period[2].fee_waived, 50);
    assert_int_equal(installment_payoff_quote(&plan, due1, &quote), STATUS_PLAN_CLOSED);

    /* Every amount, every plan, a random time: the payoff settles it with exact sums. */
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            struct installment_plan p = new_plan(principals[a], plan_periods[k]);
            int64_t now_s = p.period[0].due_at_s + random_between(-30 * DAY_S, 400 * DAY_S);
            struct installment_amounts owed;
            installment_outstanding(&p, now_s, &owed);
            assert_int_equal(installment_payoff_quote(&p, now_s, &quote), STATUS_OK);
            assert_int_equal(quote.principal, p.principal);
            assert_int_equal(quote.fee + quote.fee_waived, p.fee);
            assert_int_equal(quote.total + quote.fee_waived, owed.total);
            assert_int_equal(installment_payoff(&p, quote.total, now_s, &applied), STATUS_OK);
            installment_outstanding(&p, now_s, &owed);
            assert_int_equal(owed.total, 0);
        }
    }
}

static void refunds_cancel_from_the_last_period(void **state) {
    /* Half refunded before any payment: principal 3334, 1666, 0; fee 150 → 75. */
    struct installment_plan plan = new_plan(10000, 3);
    int64_t now_s = plan.period[0].due_at_s - DAY_S;
    struct installment_refund refund;
    assert_int_equal(installment_refund(&plan, 5000, now_s, &refund), STATUS_OK);
    assert_int_equal(refund.principal_cancelled, 5000);
    assert_int_equal(refund.principal_returned, 0);
    assert_int_equal(refund.fee_waived, 75);
    assert_int_equal(refund.fee_returned, 0);
    assert_false(refund.cancelled);
    assert_int_equal(plan.period[2].principal_cancelled, 3333);
    assert_int_equal(plan.period[1].principal_cancelled, 1667);
    assert_int_equal(plan.period[0].principal_cancelled, 0);
    assert_int_equal(plan.period[2].fee_waived, 50);
    assert_int_equal(plan.period[1].fee_waived, 25);
    struct installment_amounts owed;
    installment_outstanding(&plan, now_s, &owed);
    assert_int_equal(owed.principal, 5000);
    assert_int_equal(owed.fee, 75);
    assert_int_equal(installment_state(&plan, now_s), INSTALLMENT_ACTIVE);

    assert_int_equal(installment_refund(&plan, 5001, now_s, &refund), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_refund(&plan, 0, now_s, &refund), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_refund(&plan, 5000, now_s, &refund), STATUS_OK);
    assert_true(refund.cancelled);
    assert_int_equal(refund.principal_cancelled, 5000);
    assert_int_equal(refund.fee_waived, 75);
    assert_int_equal(installment_state(&plan, now_s), INSTALLMENT_CANCELLED);
    assert_int_equal(installment_refund(&plan, 1, now_s, &refund), STATUS_PLAN_CLOSED);
    struct installment_amounts applied;
    assert_int_equal(installment_repay(&plan, 1, now_s, &applied), STATUS_PLAN_CLOSED);

    /* Refunded in full after the first period was paid late: what was repaid comes back,
     * the unpaid is written off, late fees paid stay paid. */
    plan = new_plan(10000, 3);
    int64_t late_s = plan.period[0].due_at_s + LIMIT_INSTALLMENT_GRACE_S + 10 * DAY_S;
    assert_int_equal(installment_repay(&plan, 3384 + 17, late_s, &applied), STATUS_OK);
    int64_t overdue_s = plan.period[1].due_at_s + LIMIT_INSTALLMENT_GRACE_S + 1;
    assert_int_equal(installment_refund(&plan, 10000, overdue_s, &refund), STATUS_OK);
    assert_int_equal(refund.principal_cancelled, 6666);
    assert_int_equal(refund.principal_returned, 3334);
    assert_int_equal(refund.fee_waived, 100);
    assert_int_equal(refund.fee_returned, 50);
    assert_int_equal(refund.late_fee_waived, 2); /* period 1, one day: 3383 × 0.05% */
    assert_true(refund.cancelled);
    installment_outstanding(&plan, overdue_s + 100 * DAY_S, &owed);
    assert_int_equal(owed.total, 0);
}

static void refunds_keep_sums_exact(void **state) {
    int64_t principals[AMOUNT_COUNT];
    int count = amounts(principals);
    for (int a = 0; a < count; a++) {
        for (int k = 0; k < 3; k++) {
            struct installment_plan plan = new_plan(principals[a], plan_periods[k]);
            int64_t now_s = plan.period[0].due_at_s - 10 * DAY_S;
            int64_t cancelled = 0, returned = 0, fee_waived = 0, fee_returned = 0, paid_fee = 0;
            for (int step = 0; step < 12 && !plan.cancelled; step++) {
                now_s += random_between(0, 20 * DAY_S);
                struct installment_amounts owed, applied;
                installment_outstanding(&plan, now_s, &owed);
                if (owed.total > 0) {
                    assert_int_equal(
                        installment_repay(&plan, random_between(1, owed.total), now_s, &applied),
                        STATUS_OK);
                    paid_fee += applied.fee;
                }
                int64_t left = plan.principal - plan.principal_refunded;
                int64_t amount = step == 11 ? left : random_between(1, left);
                struct installment_refund refund;
                assert_int_equal(installment_refund(&plan, amount, now_s, &refund), STATUS_OK);
                assert_int_equal(refund.principal_cancelled + refund.principal_returned, amount);
                cancelled += refund.principal_cancelled;
                returned += refund.principal_returned;
                fee_waived += refund.fee_waived;
                fee_returned += refund.fee_returned;
                assert_true(installment_valid(&plan));
                /* The fee still charged is the fee of the principal left, never more. */
                int64_t fee_left = 0;
                left = plan.principal - plan.principal_refunded;
                if (left > 0) assert_int_equal(installment_fee(left, plan.fee_bp, &fee_left), 0);
                assert_true(plan.fee - fee_waived - fee_returned <= fee_left);
                installment_outstanding(&plan, now_s, &owed);
                assert_true(owed.principal <= left);
            }
            assert_true(plan.cancelled);
            assert_int_equal(cancelled + returned, plan.principal);
            assert_int_equal(fee_waived + fee_returned, plan.fee);
            assert_true(fee_returned <= paid_fee);
            int64_t principal_paid = 0;
            for (int i = 0; i < plan.periods; i++)
                principal_paid += plan.period[i].principal_paid;
            assert_int_equal(returned, principal_paid);
        }
    }
}

static void errors_leave_the_plan_unchanged(void **state) {
    struct installment_plan plan = new_plan(10000, 6);
    struct installment_plan before = plan;
    int64_t now_s = plan.period[2].due_at_s + 10 * DAY_S;
    struct installment_amounts owed, applied;
    installment_outstanding(&plan, now_s, &owed);
    assert_int_equal(installment_repay(&plan, 0, now_s, &applied), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_repay(&plan, -1, now_s, &applied), STATUS_INVALID_AMOUNT);
    assert_int_equal(installment_repay(&plan, owed.total + 1, now_s, &applied),
                     STATUS_INVALID_AMOUNT); /* overpayment is refused, not kept */
    assert_int_equal(installment_payoff(&plan, 1, now_s, &applied), STATUS_INVALID_AMOUNT);
    struct installment_refund refund;
    assert_int_equal(installment_refund(&plan, 10001, now_s, &refund), STATUS_INVALID_AMOUNT);
    assert_memory_equal(&plan, &before, sizeof plan);
    assert_int_equal(installment_repay(&plan, owed.total, now_s, &applied), STATUS_OK);
    assert_int_equal(installment_state(&plan, now_s), INSTALLMENT_PAID_OFF);
}

static void invalid_plans_are_detected(void **state) {
    struct installment_plan plan = new_plan(10000, 3);
    assert_true(installment_valid(&plan));
    struct installment_plan bad = plan;
    bad.period[1].principal += 1; /* sums no longer match */
    assert_false(installment_valid(&bad));
    bad = plan;
    bad.period[0].fee_paid = 51;
    assert_false(installment_valid(&bad));
    bad = plan;
    bad.period[2].due_at_s = bad.period[1].due_at_s;
    assert_false(installment_valid(&bad));
    bad = plan;
    bad.period[0].principal_paid = INT64_MAX;
    assert_false(installment_valid(&bad));
    bad = plan;
    bad.cancelled = true;
    assert_false(installment_valid(&bad));
    bad = plan;
    bad.fee = 151;
    assert_false(installment_valid(&bad));
    assert_string_equal(installment_state_name(INSTALLMENT_ACTIVE), "active");
    assert_string_equal(installment_state_name(INSTALLMENT_OVERDUE), "overdue");
    assert_string_equal(installment_state_name(INSTALLMENT_PAID_OFF), "paid_off");
    assert_string_equal(installment_state_name(INSTALLMENT_CANCELLED), "cancelled");
}

/* A purchase on a month's last day: every due date is counted from the purchase, so the
 * clamp of a short month never pulls the later ones earlier. */
static void due_dates_count_from_the_purchase(void **state) {
    (void)state;
    struct tm jan31 = {.tm_year = 127, .tm_mon = 0, .tm_mday = 31, .tm_hour = 9};
    struct installment_plan plan;
    assert_int_equal(installment_plan_start(&installment_default_terms, 1200, 12,
                                            (int64_t)timegm(&jan31), &plan),
                     STATUS_OK);
    static const int days[12] = {28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31};
    for (int i = 0; i < 12; i++) {
        time_t due = (time_t)plan.period[i].due_at_s;
        struct tm at;
        assert_non_null(gmtime_r(&due, &at));
        assert_int_equal(at.tm_mday, days[i]);
        assert_int_equal(at.tm_mon, (i + 1) % 12);
        assert_int_equal(at.tm_hour, 9);
    }
    assert_int_equal(installment_plan_start(&installment_default_terms, 1200, 5, 0, &plan),
                     STATUS_INVALID_PLAN);
    assert_int_equal(installment_plan_start(&installment_default_terms, 1200, 3, -1, &plan),
                     STATUS_INVALID_VALUE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(due_dates_count_from_the_purchase),
        cmocka_unit_test(fees_round_half_up),
        cmocka_unit_test(terms_and_plans),
        cmocka_unit_test(ten_thousand_fen_over_three_periods),
        cmocka_unit_test(due_dates_follow_calendar_months),
        cmocka_unit_test(schedules_are_exact_and_even),
        cmocka_unit_test(disclosed_rates_of_the_default_plans),
        cmocka_unit_test(rate_present_value_is_the_principal),
        cmocka_unit_test(paying_every_period_on_time_pays_off),
        cmocka_unit_test(repayments_allocate_oldest_first_and_sum),
        cmocka_unit_test(overdue_after_grace_not_before),
        cmocka_unit_test(late_fees_are_exact_and_capped),
        cmocka_unit_test(early_payoff_waives_fees_not_yet_due),
        cmocka_unit_test(refunds_cancel_from_the_last_period),
        cmocka_unit_test(refunds_keep_sums_exact),
        cmocka_unit_test(errors_leave_the_plan_unchanged),
        cmocka_unit_test(invalid_plans_are_detected),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
