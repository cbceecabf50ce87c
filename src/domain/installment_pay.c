/* installment_pay.c — a running plan: late fees accruing, its state, what is owed, and the
 * three ways money meets it (repayment, early payoff, refund). Pure: each function takes the
 * plan and now_s and either returns amounts or changes the plan it is given, all or nothing
 * (work happens on a copy that replaces the plan only on success). Never reads a clock,
 * never moves money: the store posts the ledger transfers these amounts describe. */
#include <string.h>

#include "base/assert.h"
#include "domain/installment.h"

#define BP_PER_UNIT 10000
#define SECONDS_PER_DAY 86400

static const char *const installment_state_names[] = {
    [INSTALLMENT_ACTIVE] = "active",
    [INSTALLMENT_OVERDUE] = "overdue",
    [INSTALLMENT_PAID_OFF] = "paid_off",
    [INSTALLMENT_CANCELLED] = "cancelled",
};

const char *installment_state_name(enum installment_state state) {
    verify((unsigned)state <= INSTALLMENT_CANCELLED);
    return installment_state_names[state];
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t unpaid_principal(const struct installment_period *p) {
    return p->principal - p->principal_paid - p->principal_cancelled;
}

static int64_t unpaid_fee(const struct installment_period *p) {
    return p->fee - p->fee_paid - p->fee_waived;
}

static int64_t owed_late_fee(const struct installment_period *p) {
    int64_t accrued = (p->late_fee_accrued_e4 + BP_PER_UNIT / 2) / BP_PER_UNIT; /* half up */
    return accrued - p->late_fee_paid - p->late_fee_waived;
}

static void check_now(int64_t now_s) {
    /* now_s comes from the clock (clock_now_s), never from a request. */
    verify(now_s >= 0 && now_s <= LIMIT_INSTALLMENT_TIME_MAX_S);
}

/* Started days since the grace period of the period ended; 0 before. */
static int64_t overdue_days(const struct installment_plan *plan, const struct installment_period *p,
                            int64_t now_s) {
    int64_t overdue_at_s = p->due_at_s + plan->grace_s;
    if (now_s <= overdue_at_s) return 0;
    return (now_s - overdue_at_s + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY;
}

/* Charges every overdue day not yet charged on what is unpaid now. Applying it at t1 then t2
 * equals applying it at t2, so only calls between payments matter, and every payment makes
 * one first. Exact: the sum is kept in amount × bp, the cap is applied in the same units. */
static void accrue(struct installment_plan *plan, int64_t now_s) {
    if (plan->cancelled) return;
    for (int i = 0; i < plan->periods; i++) {
        struct installment_period *p = &plan->period[i];
        int64_t days = overdue_days(plan, p, now_s);
        if (days <= p->late_days_charged) continue;
        int64_t cap_e4 = (p->principal + p->fee) * plan->late_fee_cap_bp; /* ≤ 2e15 */
        int64_t base = unpaid_principal(p) + unpaid_fee(p);
        int64_t added_e4 = 0;
        int64_t accrued_e4 = cap_e4; /* an overflow is far above any cap */
        if (!__builtin_mul_overflow(base * plan->late_fee_daily_bp, days - p->late_days_charged,
                                    &added_e4) &&
            !__builtin_add_overflow(p->late_fee_accrued_e4, added_e4, &accrued_e4)) {
            accrued_e4 = min64(accrued_e4, cap_e4);
        }
        verify(accrued_e4 >= p->late_fee_accrued_e4 && accrued_e4 <= cap_e4);
        p->late_fee_accrued_e4 = accrued_e4;
        p->late_days_charged = days;
    }
}

static void sum_amounts(const struct installment_plan *plan, int64_t due_by_s,
                        struct installment_amounts *amounts) {
    memset(amounts, 0, sizeof *amounts);
    for (int i = 0; i < plan->periods; i++) {
        const struct installment_period *p = &plan->period[i];
        amounts->late_fee += owed_late_fee(p);
        if (p->due_at_s > due_by_s) continue;
        amounts->principal += unpaid_principal(p);
        amounts->fee += unpaid_fee(p);
    }
    amounts->total = amounts->principal + amounts->fee + amounts->late_fee;
    verify(amounts->principal >= 0 && amounts->fee >= 0 && amounts->late_fee >= 0);
}

void installment_outstanding(const struct installment_plan *plan, int64_t now_s,
                             struct installment_amounts *owed) {
    verify(plan != 0 && owed != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    sum_amounts(&copy, LIMIT_INSTALLMENT_TIME_MAX_S, owed);
}

void installment_due(const struct installment_plan *plan, int64_t now_s,
                     struct installment_amounts *due) {
    verify(plan != 0 && due != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    sum_amounts(&copy, now_s, due);
}

static bool period_overdue(const struct installment_plan *accrued, int index, int64_t now_s) {
    const struct installment_period *p = &accrued->period[index];
    if (accrued->cancelled || now_s <= p->due_at_s + accrued->grace_s) return false;
    return unpaid_principal(p) + unpaid_fee(p) + owed_late_fee(p) > 0;
}

bool installment_period_overdue(const struct installment_plan *plan, int index, int64_t now_s) {
    verify(plan != 0 && installment_valid(plan));
    verify(index >= 0 && index < plan->periods);
    check_now(now_s);
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    return period_overdue(&copy, index, now_s);
}

enum installment_state installment_state(const struct installment_plan *plan, int64_t now_s) {
    verify(plan != 0 && installment_valid(plan));
    check_now(now_s);
    if (plan->cancelled) return INSTALLMENT_CANCELLED;
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    struct installment_amounts owed;
    sum_amounts(&copy, LIMIT_INSTALLMENT_TIME_MAX_S, &owed);
    if (owed.total == 0) return INSTALLMENT_PAID_OFF;
    for (int i = 0; i < copy.periods; i++) {
        if (period_overdue(&copy, i, now_s)) return INSTALLMENT_OVERDUE;
    }
    return INSTALLMENT_ACTIVE;
}

/* Takes up to *left from *owed into *paid and into the allocation's *kind. */
static void take(int64_t *left, int64_t owed, int64_t *paid, int64_t *kind) {
    int64_t part = min64(*left, owed);
    verify(part >= 0);
    *left -= part;
    *paid += part;
    *kind += part;
}

enum status installment_repay(struct installment_plan *plan, int64_t amount, int64_t now_s,
                              struct installment_amounts *applied) {
    verify(plan != 0 && applied != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    if (plan->cancelled) return STATUS_PLAN_CLOSED;
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    struct installment_amounts owed;
    sum_amounts(&copy, LIMIT_INSTALLMENT_TIME_MAX_S, &owed);
    if (owed.total == 0) return STATUS_PLAN_CLOSED;
    if (amount <= 0 || amount > owed.total) return STATUS_INVALID_AMOUNT;

    struct installment_amounts result;
    memset(&result, 0, sizeof result);
    int64_t left = amount;
    for (int i = 0; i < copy.periods && left > 0; i++) { /* oldest first */
        struct installment_period *p = &copy.period[i];
        take(&left, owed_late_fee(p), &p->late_fee_paid, &result.late_fee);
        take(&left, unpaid_fee(p), &p->fee_paid, &result.fee);
        take(&left, unpaid_principal(p), &p->principal_paid, &result.principal);
    }
    verify(left == 0);
    result.total = result.principal + result.fee + result.late_fee;
    verify(result.total == amount);
    verify(installment_valid(&copy));
    *plan = copy;
    *applied = result;
    return STATUS_OK;
}

static enum status payoff_amounts(const struct installment_plan *accrued, int64_t now_s,
                                  struct installment_amounts *quote) {
    if (accrued->cancelled) return STATUS_PLAN_CLOSED;
    struct installment_amounts owed;
    sum_amounts(accrued, LIMIT_INSTALLMENT_TIME_MAX_S, &owed);
    if (owed.total == 0) return STATUS_PLAN_CLOSED;
    sum_amounts(accrued, now_s, quote);
    quote->principal = owed.principal; /* all of it, due or not */
    quote->fee_waived = owed.fee - quote->fee;
    quote->total = quote->principal + quote->fee + quote->late_fee;
    verify(quote->fee_waived >= 0 && quote->total <= owed.total);
    return STATUS_OK;
}

enum status installment_payoff_quote(const struct installment_plan *plan, int64_t now_s,
                                     struct installment_amounts *quote) {
    verify(plan != 0 && quote != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    return payoff_amounts(&copy, now_s, quote);
}

enum status installment_payoff(struct installment_plan *plan, int64_t amount, int64_t now_s,
                               struct installment_amounts *applied) {
    verify(plan != 0 && applied != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    struct installment_amounts quote;
    enum status status = payoff_amounts(&copy, now_s, &quote);
    if (status != STATUS_OK) return status;
    if (amount != quote.total) return STATUS_INVALID_AMOUNT;
    for (int i = 0; i < copy.periods; i++) {
        struct installment_period *p = &copy.period[i];
        p->late_fee_paid += owed_late_fee(p);
        p->principal_paid += unpaid_principal(p);
        if (p->due_at_s <= now_s) {
            p->fee_paid += unpaid_fee(p);
        } else {
            p->fee_waived += unpaid_fee(p); /* credit time not used */
        }
    }
    verify(installment_valid(&copy));
    verify(installment_state(&copy, now_s) == INSTALLMENT_PAID_OFF);
    *plan = copy;
    *applied = quote;
    return STATUS_OK;
}

/* Cuts up to amount from what each period still owes of one kind, last period first;
 * returns what could not be cut. */
static int64_t cut_backwards(struct installment_plan *plan, int64_t amount, bool principal,
                             int64_t *cut_total) {
    int64_t left = amount;
    for (int i = plan->periods - 1; i >= 0 && left > 0; i--) {
        struct installment_period *p = &plan->period[i];
        if (principal) {
            take(&left, unpaid_principal(p), &p->principal_cancelled, cut_total);
        } else {
            take(&left, unpaid_fee(p), &p->fee_waived, cut_total);
        }
    }
    verify(left >= 0 && left <= amount);
    return left;
}

/* The fee still charged (paid or owed) must not exceed the plan fee recomputed on the
 * principal left; the excess is waived where unpaid, returned where paid. */
static void refund_fee(struct installment_plan *plan, struct installment_refund *refund) {
    int64_t principal_left = plan->principal - plan->principal_refunded;
    int64_t fee_left = 0;
    if (principal_left > 0) {
        enum status status = installment_fee(principal_left, plan->fee_bp, &fee_left);
        verify(status == STATUS_OK);
    }
    int64_t charged = -plan->fee_returned;
    for (int i = 0; i < plan->periods; i++) {
        charged += plan->period[i].fee - plan->period[i].fee_waived;
    }
    int64_t excess = charged > fee_left ? charged - fee_left : 0;
    refund->fee_returned = cut_backwards(plan, excess, false, &refund->fee_waived);
    plan->fee_returned += refund->fee_returned;
}

enum status installment_refund(struct installment_plan *plan, int64_t amount, int64_t now_s,
                               struct installment_refund *refund) {
    verify(plan != 0 && refund != 0);
    verify(installment_valid(plan));
    check_now(now_s);
    if (plan->cancelled) return STATUS_PLAN_CLOSED;
    if (amount <= 0 || amount > plan->principal - plan->principal_refunded) {
        return STATUS_INVALID_AMOUNT;
    }
    struct installment_plan copy = *plan;
    accrue(&copy, now_s);
    struct installment_refund result;
    memset(&result, 0, sizeof result);
    result.principal_returned = cut_backwards(&copy, amount, true, &result.principal_cancelled);
    copy.principal_refunded += amount;
    refund_fee(&copy, &result);
    if (copy.principal_refunded == copy.principal) {
        copy.cancelled = true;
        for (int i = 0; i < copy.periods; i++) {
            struct installment_period *p = &copy.period[i];
            int64_t waived = owed_late_fee(p);
            p->late_fee_waived += waived;
            result.late_fee_waived += waived;
            verify(unpaid_principal(p) == 0 && unpaid_fee(p) == 0);
        }
    }
    result.cancelled = copy.cancelled;
    verify(result.principal_cancelled + result.principal_returned == amount);
    verify(installment_valid(&copy));
    *plan = copy;
    *refund = result;
    return STATUS_OK;
}
