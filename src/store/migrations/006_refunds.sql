-- 006_refunds.sql — refunds, only back to where the money came from, and codes reported
-- invalid by support (after-sales). A delivered order's codes were shown to its buyer, so
-- it is refundable only for codes support marked invalid: at most unit_price per marked
-- code, and never more than the order's amount in all.
--
-- instrument: 'wallet' (back to the buyer's wallet, at once), 'gateway' (through the
-- provider's refund API: 'pending' until the provider accepts it, then 'succeeded', or
-- 'failed' and the money booked back; 'unknown' when a provider whose refunds cannot be
-- sent twice safely (EPay) gave no clear answer: a person checks and settles it), 'credit'
-- (back to the credit line).
-- A gateway refund names the payment it returns (payment_id); a refund of a payment that
-- was never delivered (a duplicate or late payment, a rejected review) has kind 'payment'.
CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    payment_id INTEGER REFERENCES payments(id),
    kind TEXT NOT NULL CHECK (kind = 'order' OR kind = 'payment'),
    instrument TEXT NOT NULL CHECK (instrument = 'wallet' OR instrument = 'gateway' OR
                                    instrument = 'credit'),
    provider TEXT,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status = 'pending' OR status = 'succeeded' OR
                                status = 'failed' OR status = 'unknown'),
    provider_refund_id TEXT,
    reason TEXT NOT NULL,
    idempotency_key TEXT,
    actor_id INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    settled_at INTEGER,
    CHECK ((instrument = 'gateway') = (payment_id IS NOT NULL)),
    UNIQUE (order_id, idempotency_key)
) STRICT;
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX refunds_pending ON refunds (next_attempt_at) WHERE status = 'pending';
CREATE UNIQUE INDEX refunds_of_payment ON refunds (payment_id) WHERE kind = 'payment';

-- The amount of an order's refunds that are not failed (kind 'order'), kept with the order
-- so reads need no sum; `tessera check` proves it equals the sum.
ALTER TABLE orders ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0);

-- Codes of delivered orders that support marked invalid (the buyer reported them).
CREATE TABLE code_reports (
    code_id INTEGER PRIMARY KEY REFERENCES codes(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    reason TEXT NOT NULL,
    actor_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX code_reports_order ON code_reports (order_id);

-- Reconciliation: when the payment worker last asked the provider about a pending order.
ALTER TABLE orders ADD COLUMN queried_at INTEGER;

-- The built-in sandbox provider's own side: what buyers paid it, notified or not. A query
-- (reconciliation) reads it as a real provider's query API would answer.
CREATE TABLE sandbox_payments (
    order_ref TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    paid_at INTEGER NOT NULL
) STRICT;
