-- An order's latest payment moves onto its row in rm_orders (a read model: the log is the
-- truth). A door sale then writes one row fewer, in one B-tree fewer, per transaction.
ALTER TABLE rm_orders ADD COLUMN payment_method TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_status TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_amount TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_tendered TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_change TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_reference TEXT;
ALTER TABLE rm_orders ADD COLUMN payment_reason TEXT;

UPDATE rm_orders SET
    (payment_method, payment_status, payment_amount, payment_tendered, payment_change,
     payment_reference, payment_reason) =
    (SELECT method, status, amount, tendered, change_given, reference, reason
     FROM rm_payments WHERE rm_payments.id = rm_orders.payment_id)
WHERE payment_id IS NOT NULL;

DROP TABLE rm_payments;
