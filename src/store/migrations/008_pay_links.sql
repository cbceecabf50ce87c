-- 008_pay_links.sql — what a provider's "create payment" answered for a gateway order: the
-- link the buyer pays with (WeChat Pay's code_url, Alipay's qr_code, Stripe's
-- client_secret) and the provider's own id of the payment (Stripe's PaymentIntent), kept so
-- the order shows them again and reconciliation and refunds can name the payment.
ALTER TABLE orders ADD COLUMN pay_link TEXT;
ALTER TABLE orders ADD COLUMN provider_payment_id TEXT;

-- Reconciliation asks about pending orders last asked (or, never asked, created) longest
-- ago: an index on exactly that, so picking a batch is a range scan however many orders
-- are pending (store_orders_to_query).
CREATE INDEX orders_to_query ON orders (provider, coalesce(queried_at, created_at))
    WHERE status = 'pending_payment';

-- The payment worker looks every second for payments owed back that have no refund yet:
-- only those rows, never a scan of every payment.
CREATE INDEX payments_refund_due ON payments (id) WHERE refund_due = 1;
