ALTER TABLE orders ADD COLUMN idempotency_key text UNIQUE;
UPDATE orders SET idempotency_key = k.key FROM idempotency_keys k WHERE k.order_id = orders.id;
DROP TABLE idempotency_keys;
