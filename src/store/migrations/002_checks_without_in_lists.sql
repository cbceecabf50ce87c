-- 002_checks_without_in_lists.sql — rebuilds codes and orders with CHECK constraints written
-- as comparisons. SQLite evaluates `x IN (a, b, c)` (three or more values) in a CHECK
-- through an ephemeral table built for every row written: two per order and one per imported
-- code, about a fifth of the writer's instructions. The rules are the same; only the form
-- changes. Orders gain the status 'expired' (unpaid orders that released their codes).
-- The migration runner turns foreign keys off around this and runs foreign_key_check before
-- committing (SQLite's documented table-rebuild procedure).

CREATE TABLE orders_new (
    id INTEGER PRIMARY KEY,
    buyer_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    sku TEXT NOT NULL,
    product_name TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    face_value INTEGER NOT NULL,
    currency TEXT NOT NULL,
    liquidity TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    amount INTEGER NOT NULL CHECK (amount > 0),
    payment TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status = 'pending_payment' OR status = 'review' OR
                                status = 'paid' OR status = 'delivered' OR
                                status = 'refunded' OR status = 'cancelled' OR
                                status = 'expired'),
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO orders_new SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_buyer ON orders (buyer_id, id);

-- state: 0 free, 1 sold (held by its order), 2 expired unsold.
CREATE TABLE codes_new (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    hash BLOB NOT NULL UNIQUE,
    sealed BLOB NOT NULL,
    expires_at INTEGER,
    state INTEGER NOT NULL DEFAULT 0 CHECK (state >= 0 AND state <= 2),
    order_id INTEGER REFERENCES orders(id),
    imported_at INTEGER NOT NULL,
    CHECK ((state = 1) = (order_id IS NOT NULL))
) STRICT;
INSERT INTO codes_new SELECT * FROM codes;
DROP TABLE codes;
ALTER TABLE codes_new RENAME TO codes;
CREATE INDEX codes_free ON codes (product_id, id) WHERE state = 0;
CREATE INDEX codes_expiring ON codes (expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX codes_order ON codes (order_id) WHERE order_id IS NOT NULL;
