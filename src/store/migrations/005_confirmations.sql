-- 005_confirmations.sql — payments confirmed by hand (补单): an admin names the provider's
-- transaction and a reason. Above the configured amount a second, different admin must
-- confirm the same transaction before the payment is applied; until then the first admin's
-- word waits here. Every step is also in the audit log.
CREATE TABLE payment_confirmations (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    transaction_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    proposed_by INTEGER NOT NULL REFERENCES users(id),
    approved_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    approved_at INTEGER,
    CHECK (approved_by IS NULL OR approved_by != proposed_by),
    UNIQUE (order_id, transaction_id)
) STRICT;
