/* installment.h — installment plans (分期) as pure values: the plan fee and its disclosed
 * annualised rate, the exact monthly schedule, repayment allocation, overdue periods and
 * late fees, early payoff and refunds. No I/O and no clock: whatever depends on time takes
 * now_s (Unix seconds) from the caller, so tests and replay move time by passing it.
 *
 * Money is int64 minor units (fen). Every split is exact: the parts always sum to the whole.
 *
 * The rules, in one place (each function below repeats the ones it applies):
 *  - Plans: 3, 6 or 12 monthly periods. The fee is a total over the plan, fee_bp basis
 *    points of the principal, rounded half up to a minor unit.
 *  - Disclosure: the annualised rate by the IRR (内部收益率) method the 2022 PBOC/CBIRC
 *    credit-card notice requires: the monthly internal rate of return of the installments
 *    (period k paid k months after purchase) times 12, in basis points, half up.
 *  - Schedule: principal and fee are each split evenly; the remainders go one minor unit a
 *    period to the earliest periods — principal first, then fee in the periods after the
 *    principal's extras, wrapping — so every part differs from its peers by at most one
 *    unit, every total too, and totals never increase from one period to the next.
 *  - Due dates: the same day of month and time of day (UTC) as the first due date, clamped
 *    to the month's last day (Jan 31 → Feb 28 or 29 → Mar 31), never drifting.
 *  - Repayment: oldest period first; within a period late fee, then fee, then principal
 *    (先费后本). An amount above everything outstanding is refused, never kept as credit.
 *  - Overdue: a period with anything unpaid after due_at_s + grace_s. Each started day
 *    after that adds late_fee_daily_bp of the period's unpaid principal and fee (no late
 *    fee on late fees), until the period's late fee reaches late_fee_cap_bp of its
 *    scheduled total. Accrual is kept exactly (in 1/10000 minor units) so the result does
 *    not depend on how often it is computed; it is rounded half up when owed.
 *  - Early payoff: outstanding principal, fees of periods already due, late fees. The fees
 *    of periods not yet due are waived (that time of credit is not used).
 *  - Refund of the credit order (amount R): R of principal is cancelled from the last period
 *    backwards (principal the buyer already repaid is returned instead); the plan fee is
 *    recomputed on the principal left, the difference waived from the last period
 *    backwards, or returned where already paid. A refund of all the principal cancels the
 *    plan and waives unpaid late fees. Per COMPLIANCE.md, what is returned goes back to the
 *    credit account, never to withdrawable balance; that is the store's job.
 *
 * A plan's terms are copied into it at purchase, so a later configuration change never
 * alters a running contract. The store persists struct installment_plan field by field and
 * passes it back; only the functions here change it. */
#ifndef TESSERA_DOMAIN_INSTALLMENT_H
#define TESSERA_DOMAIN_INSTALLMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"
#include "base/status.h"

#define INSTALLMENT_PLAN_COUNT 3 /* the 3-, 6- and 12-period plans */

/* installment_plan_periods[i] is the number of periods of plan i: 3, 6, 12. */
extern const int installment_plan_periods[INSTALLMENT_PLAN_COUNT];

/* What the configuration may set; installment_default_terms holds the defaults of
 * src/base/limits.h (LIMIT_INSTALLMENT_*): fees of 1.5%, 3% and 6% of the principal, which
 * disclose as 8.98%, 10.21% and 10.90% a year; 3 days' grace; late fee 0.05% a day (万分之五),
 * at most 25% of the period. */
struct installment_terms {
    int64_t fee_bp[INSTALLMENT_PLAN_COUNT]; /* total plan fee, bp of principal, by plan index */
    int64_t grace_s;                        /* unpaid this long after due_at_s is overdue */
    int64_t late_fee_daily_bp;              /* per started overdue day, bp of the unpaid */
    int64_t late_fee_cap_bp;                /* a period's late fee ≤ this, bp of its total */
};

extern const struct installment_terms installment_default_terms;

/* STATUS_INVALID_VALUE when a field is outside the LIMIT_INSTALLMENT_*_MAX bounds. */
must_check enum status installment_terms_check(const struct installment_terms *terms);
/* The fee rate of the plan with this many periods; STATUS_INVALID_PLAN unless 3, 6 or 12. */
must_check enum status installment_fee_bp(const struct installment_terms *terms, int periods,
                                          int64_t *fee_bp);
/* fee = principal × fee_bp / 10000, rounded half up. principal in 1 ..
 * LIMIT_INSTALLMENT_PRINCIPAL_MINOR (else STATUS_INVALID_AMOUNT), fee_bp in 0 ..
 * LIMIT_INSTALLMENT_FEE_MAX_BP (else STATUS_INVALID_VALUE). */
must_check enum status installment_fee(int64_t principal, int64_t fee_bp, int64_t *fee);

/* The disclosed cost. monthly_rate_e12 is the largest monthly rate, in 1e-12 units, at which
 * the present value of the installments is still at least the principal (so the present
 * value at it is within one minor unit of the principal); apr_bp is 12 × that rate in basis
 * points, rounded half up — the number shown to the buyer. */
struct installment_apr {
    int64_t monthly_rate_e12;
    int64_t apr_bp;
};

/* The IRR-based rate of the schedule installment_schedule makes for (principal, fee,
 * periods). STATUS_INVALID_PLAN, STATUS_INVALID_AMOUNT as for installment_fee;
 * STATUS_INVALID_VALUE when fee is negative or above the principal. */
must_check enum status installment_apr(int64_t principal, int64_t fee, int periods,
                                       struct installment_apr *apr);

/* Everything shown before purchase. */
struct installment_quote {
    int periods;
    int64_t principal;
    int64_t fee_bp;
    int64_t fee;
    int64_t total;       /* principal + fee */
    int64_t first_total; /* the first (largest) installment */
    int64_t last_total;  /* the last (smallest) installment */
    struct installment_apr apr;
};

must_check enum status installment_quote(const struct installment_terms *terms, int64_t principal,
                                         int periods, struct installment_quote *quote);

/* One period: what is scheduled, then what happened to it. Invariants (installment_valid):
 * principal_paid + principal_cancelled ≤ principal; fee_paid + fee_waived ≤ fee;
 * late_fee_paid + late_fee_waived ≤ the late fee accrued, rounded half up. */
struct installment_period {
    int64_t due_at_s;
    int64_t principal; /* scheduled */
    int64_t fee;       /* scheduled */
    int64_t principal_paid;
    int64_t principal_cancelled; /* by a refund */
    int64_t fee_paid;
    int64_t fee_waived;          /* by early payoff or a refund */
    int64_t late_fee_accrued_e4; /* exact, in 1/10000 minor units (amount × bp) */
    int64_t late_days_charged;   /* overdue days already in late_fee_accrued_e4 */
    int64_t late_fee_paid;
    int64_t late_fee_waived; /* by cancelling the plan */
};

/* The amounts of installment_schedule without the dates: principal_parts[i] and
 * fee_parts[i] for i < periods. Inputs must be valid (asserted): installment_schedule checks
 * them for callers. */
void installment_split(int64_t principal, int64_t fee, int periods, int64_t principal_parts[],
                       int64_t fee_parts[]);

/* Fills out[0 .. periods-1] with due dates and the exact split of principal and fee (the
 * payment fields zeroed). first_due_s in 0 .. LIMIT_INSTALLMENT_TIME_MAX_S and every due date
 * within it, else STATUS_INVALID_VALUE; other errors as installment_apr. */
must_check enum status installment_schedule(int64_t principal, int64_t fee, int periods,
                                            int64_t first_due_s, struct installment_period out[]);

/* The time months (0 .. LIMIT_INSTALLMENT_PERIODS) after start_s (≥ 0): the same day of month,
 * clamped to the month's last day, and time of day, in UTC — a plan's first due date is one
 * month after its purchase. */
int64_t installment_add_months(int64_t start_s, int months);

/* One credit order's plan: the contract terms copied at purchase and its periods. */
struct installment_plan {
    int periods;
    int64_t principal;
    int64_t fee_bp;
    int64_t fee;
    int64_t grace_s;
    int64_t late_fee_daily_bp;
    int64_t late_fee_cap_bp;
    int64_t principal_refunded; /* sum of refund amounts so far */
    int64_t fee_returned;       /* paid fee given back by refunds so far */
    bool cancelled;             /* all principal refunded */
    struct installment_period period[LIMIT_INSTALLMENT_PERIODS];
};

/* A new plan for a purchase of principal on the plan with this many periods. */
must_check enum status installment_plan_init(const struct installment_terms *terms,
                                             int64_t principal, int periods, int64_t first_due_s,
                                             struct installment_plan *plan);
/* The plan of a purchase made at purchase_s: as installment_plan_init, with period i due
 * i + 1 calendar months after the purchase (each clamped to its month's end on its own: a
 * purchase on Jan 31 is due Feb 28 or 29, Mar 31, Apr 30, …). */
must_check enum status installment_plan_start(const struct installment_terms *terms,
                                              int64_t principal, int periods, int64_t purchase_s,
                                              struct installment_plan *plan);
/* True when every invariant of a plan holds; the store checks a plan it loads with it. The
 * functions below assert it. */
bool installment_valid(const struct installment_plan *plan);

enum installment_state {
    INSTALLMENT_ACTIVE,   /* something is owed, nothing overdue */
    INSTALLMENT_OVERDUE,  /* a period is unpaid after its due date and the grace period */
    INSTALLMENT_PAID_OFF, /* nothing is owed */
    INSTALLMENT_CANCELLED /* refunded in full */
};

const char *installment_state_name(enum installment_state state); /* "overdue" */
enum installment_state installment_state(const struct installment_plan *plan, int64_t now_s);
/* Whether period index (0-based) is overdue at now_s. */
bool installment_period_overdue(const struct installment_plan *plan, int index, int64_t now_s);

/* Amounts of money by kind. total = principal + fee + late_fee; fee_waived is not in it. */
struct installment_amounts {
    int64_t principal;
    int64_t fee;
    int64_t late_fee;
    int64_t total;
    int64_t fee_waived;
};

/* Everything owed at now_s if the plan runs to its end (future fees included). */
void installment_outstanding(const struct installment_plan *plan, int64_t now_s,
                             struct installment_amounts *owed);
/* Only what is due at now_s: periods with due_at_s ≤ now_s, with their late fees. */
void installment_due(const struct installment_plan *plan, int64_t now_s,
                     struct installment_amounts *due);

/* Applies a repayment of amount at now_s, oldest period first (late fee, fee, principal);
 * applied says where it went (applied->total == amount). STATUS_PLAN_CLOSED on a paid-off or
 * cancelled plan; STATUS_INVALID_AMOUNT when amount ≤ 0 or above installment_outstanding's
 * total. The plan is unchanged on error. */
must_check enum status installment_repay(struct installment_plan *plan, int64_t amount,
                                         int64_t now_s, struct installment_amounts *applied);

/* What settles the plan at now_s: unpaid principal, unpaid fees of periods due (due_at_s ≤
 * now_s), late fees; quote->fee_waived is the unpaid fee of the periods not yet due. */
must_check enum status installment_payoff_quote(const struct installment_plan *plan, int64_t now_s,
                                                struct installment_amounts *quote);
/* Settles the plan; amount must equal the quote's total at now_s (else
 * STATUS_INVALID_AMOUNT), so a quote shown and then paid cannot silently change. */
must_check enum status installment_payoff(struct installment_plan *plan, int64_t amount,
                                          int64_t now_s, struct installment_amounts *applied);

/* What a refund did. principal_cancelled + principal_returned == the refund amount. */
struct installment_refund {
    int64_t principal_cancelled; /* unpaid principal written off: restores the credit line */
    int64_t principal_returned;  /* principal the buyer had repaid, given back */
    int64_t fee_waived;          /* unpaid fee no longer owed */
    int64_t fee_returned;        /* paid fee given back */
    int64_t late_fee_waived;     /* unpaid late fees written off (only when cancelled) */
    bool cancelled;              /* all the principal is now refunded */
};

/* Refunds amount of the order's principal at now_s (late fees accrue to now_s first).
 * STATUS_PLAN_CLOSED on a cancelled plan; STATUS_INVALID_AMOUNT when amount ≤ 0 or above the
 * principal not yet refunded. A paid-off plan may be refunded. */
must_check enum status installment_refund(struct installment_plan *plan, int64_t amount,
                                          int64_t now_s, struct installment_refund *refund);

#endif
