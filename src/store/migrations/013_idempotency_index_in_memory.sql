-- 013_idempotency_index_in_memory.sql — orders are found by (buyer, Idempotency-Key) through
-- the writer's in-memory index (src/store/idempotency.c) instead of a unique index: with the
-- random keys API clients send (UUIDs) every order wrote a leaf page at a random place of
-- this index, two-thirds of a commit's WAL pages once a million orders were stored. The key
-- stays on the order row; `tessera check` verifies that no key answers for two orders.
DROP INDEX orders_idempotency;
