-- 011_order_names_its_risk_event.sql — an order names the risk event that decided it
-- (orders.risk_event_id), instead of an index finding the event by its order: the row is
-- written by the same INSERT, where the index took one more entry per order and ~2.3 WAL
-- pages per group commit. Events keep order_id (replays and backtests read it); `tessera
-- check` (risk_events_named) keeps the two in step.
-- Not a foreign key: the order row is written just before its event's row.
ALTER TABLE orders ADD COLUMN risk_event_id INTEGER;
UPDATE orders SET risk_event_id =
    (SELECT max(e.id) FROM risk_events e WHERE e.order_id = orders.id);
DROP INDEX IF EXISTS risk_events_order;
