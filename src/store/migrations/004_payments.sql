-- 004_payments.sql — orders paid through a gateway, and the payments that settle them.
-- A gateway order is created 'pending_payment' holding its codes (state 1, never shown)
-- until a verified notice pays it (then 'delivered', or 'review' when the risk engine asked
-- for a person: hold = 1) or its time runs out (then 'expired', codes back in stock).

ALTER TABLE orders ADD COLUMN provider TEXT;        -- the gateway of a 'gateway' order
ALTER TABLE orders ADD COLUMN expires_at INTEGER;   -- a pending order's deadline
ALTER TABLE orders ADD COLUMN hold INTEGER NOT NULL DEFAULT 0 CHECK (hold = 0 OR hold = 1);
CREATE INDEX orders_pending ON orders (expires_at) WHERE status = 'pending_payment';

-- One row per provider transaction a verified notice reported paid: (provider,
-- transaction_id) is unique, so a repeated notice finds its row and changes nothing.
-- outcome: 'applied' paid its order; 'duplicate' a second transaction for an order already
-- paid; 'late' paid an order no longer pending (expired or cancelled) — both are money to
-- give back (refund_due), never a second delivery.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    provider TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome = 'applied' OR outcome = 'duplicate' OR
                                 outcome = 'late'),
    refund_due INTEGER NOT NULL CHECK (refund_due = 0 OR refund_due = 1),
    created_at INTEGER NOT NULL,
    UNIQUE (provider, transaction_id)
) STRICT;
CREATE INDEX payments_order ON payments (order_id);
