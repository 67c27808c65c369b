-- Orders found and summed by the store at a real conference's size (100,000 orders):
-- the seats an order holds as a column (the back office sums it without reading the
-- seats JSON), the registrant's names searchable by prefix, and each conference's
-- newest orders and the back office's totals read from one covering index.
ALTER TABLE rm_orders ADD COLUMN seat_count INTEGER NOT NULL DEFAULT 0;

-- Per seat type the seats reserved, or those asked for before anything is reserved.
UPDATE rm_orders SET seat_count = (
    SELECT coalesce(sum(CASE WHEN json_extract(value, '$.reserved') > 0
                             THEN json_extract(value, '$.reserved')
                             ELSE json_extract(value, '$.requested') END), 0)
    FROM json_each(rm_orders.seats));

CREATE INDEX rm_orders_by_name ON rm_orders
    (registrant_first COLLATE NOCASE, registrant_last COLLATE NOCASE)
    WHERE registrant_first IS NOT NULL;
CREATE INDEX rm_orders_by_last ON rm_orders (registrant_last COLLATE NOCASE)
    WHERE registrant_last IS NOT NULL;

-- Replaces (conference_id, placed_at): the same order, and every column the back
-- office's totals and sales over time read.
DROP INDEX rm_orders_by_conference;
CREATE INDEX rm_orders_by_conference ON rm_orders
    (conference_id, placed_at, id, status, device_id, payment_method, total, seat_count);
