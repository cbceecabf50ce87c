-- 007_credit.sql — credit lines and installment plans (分期). A buyer's credit line has a
-- limit set by an admin or risk analyst; `used` caches the principal still owed on its
-- plans (`tessera check` proves it). A credit order's plan keeps its contract terms and each
-- period's schedule and history, field by field as src/domain/installment.h defines them.
-- Ledger: a credit order moves its amount from the buyer's credit_receivable account to
-- revenue (the account goes negative: owed to the platform); a repayment moves money from
-- the wallet to the receivable (principal) and to fees (fee, late fee); a refund moves it
-- back into the receivable, never to the wallet.
CREATE TABLE credit_lines (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    credit_limit INTEGER NOT NULL CHECK (credit_limit >= 0),
    used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    currency TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE credit_plans (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id),
    buyer_id INTEGER NOT NULL REFERENCES users(id),
    periods INTEGER NOT NULL CHECK (periods = 3 OR periods = 6 OR periods = 12),
    principal INTEGER NOT NULL CHECK (principal > 0),
    fee_bp INTEGER NOT NULL,
    fee INTEGER NOT NULL CHECK (fee >= 0),
    apr_bp INTEGER NOT NULL,
    grace_s INTEGER NOT NULL,
    late_fee_daily_bp INTEGER NOT NULL,
    late_fee_cap_bp INTEGER NOT NULL,
    principal_refunded INTEGER NOT NULL DEFAULT 0,
    fee_returned INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled = 0 OR cancelled = 1),
    closed INTEGER NOT NULL DEFAULT 0 CHECK (closed = 0 OR closed = 1), -- paid off or cancelled
    -- 1 while its order waits for a review: nothing is due and nothing can be repaid; the
    -- schedule starts when the order is approved
    held INTEGER NOT NULL DEFAULT 0 CHECK (held = 0 OR held = 1),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX credit_plans_buyer ON credit_plans (buyer_id, closed, order_id);

CREATE TABLE credit_periods (
    order_id INTEGER NOT NULL REFERENCES credit_plans(order_id),
    idx INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    principal INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    principal_paid INTEGER NOT NULL DEFAULT 0,
    principal_cancelled INTEGER NOT NULL DEFAULT 0,
    fee_paid INTEGER NOT NULL DEFAULT 0,
    fee_waived INTEGER NOT NULL DEFAULT 0,
    late_fee_accrued_e4 INTEGER NOT NULL DEFAULT 0,
    late_days_charged INTEGER NOT NULL DEFAULT 0,
    late_fee_paid INTEGER NOT NULL DEFAULT 0,
    late_fee_waived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, idx)
) STRICT, WITHOUT ROWID;

-- A repayment or payoff under an Idempotency-Key: a client's retry answers the first one
-- again instead of taking the money twice. request is what the key was used for
-- ("repay:AMOUNT", "payoff:ORDER:AMOUNT").
CREATE TABLE credit_repayments (
    user_id INTEGER NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    request TEXT NOT NULL,
    principal INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    late_fee INTEGER NOT NULL,
    total INTEGER NOT NULL,
    fee_waived INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;
