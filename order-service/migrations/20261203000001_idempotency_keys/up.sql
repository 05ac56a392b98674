-- Idempotency keys are the command side's memory of requests, not part of an order: the orders
-- read model is the fold of the order's events alone, so it can be rebuilt from them, and the
-- keys live beside it. No foreign key: a rebuild deletes and rewrites the orders.
CREATE TABLE idempotency_keys (
    key      text PRIMARY KEY,
    order_id uuid NOT NULL
);
INSERT INTO idempotency_keys (key, order_id)
    SELECT idempotency_key, id FROM orders WHERE idempotency_key IS NOT NULL;
ALTER TABLE orders DROP COLUMN idempotency_key;
