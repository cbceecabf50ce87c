-- 010_drop_orders_buyer.sql — the index of orders by buyer had no reader: no query selects
-- a buyer's orders by buyer and id (an order is found by its id; a replayed request by
-- (buyer, Idempotency-Key), whose unique index also serves any lookup by buyer alone). Every
-- order paid for it with one more index entry, and every group commit with ~2.4 more WAL
-- pages of ~37. A listing of a buyer's orders, when one exists, brings its own index.
DROP INDEX IF EXISTS orders_buyer;
