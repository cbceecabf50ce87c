-- 012_order_lists_its_codes.sql — an order lists the codes it holds (orders.code_ids, a
-- JSON array of code ids, ascending), written by the order's own INSERT, instead of an
-- index finding the codes by their order: the index took one more entry per code sold and
-- ~2.1 WAL pages of ~27 per group commit. Codes keep order_id (the sold-to-whom of each
-- code, which `tessera check` counts); the list is emptied (NULL) when the codes go back to
-- stock. `tessera check` (orders_list_their_codes) keeps the two in step.
ALTER TABLE orders ADD COLUMN code_ids TEXT;
UPDATE orders SET code_ids =
    (SELECT json_group_array(id) FROM (SELECT id FROM codes c WHERE c.order_id = orders.id
                                       ORDER BY id))
    WHERE EXISTS (SELECT 1 FROM codes c WHERE c.order_id = orders.id);
DROP INDEX IF EXISTS codes_order;
