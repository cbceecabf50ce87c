-- 008_pay_links.sql — what a provider's "create payment" answered for a gateway order: the
-- link the buyer pays with (WeChat Pay's code_url, Alipay's qr_code, Stripe's
-- client_secret) and the provider's own id of the payment (Stripe's PaymentIntent), kept so
-- the order shows them again and reconciliation and refunds can name the payment.
ALTER TABLE orders ADD COLUMN pay_link TEXT;
ALTER TABLE orders ADD COLUMN provider_payment_id TEXT;
