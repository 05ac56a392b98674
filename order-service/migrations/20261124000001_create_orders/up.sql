-- The orders read model: the fold of each order's events (see the `events` table of the event
-- store), kept in step with them in the same transaction.
CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    customer_id      text        NOT NULL,
    status           text        NOT NULL CHECK (status IN
                         ('PLACED', 'PAID', 'PAYMENT_FAILED', 'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED')),
    total_cents      bigint      NOT NULL CHECK (total_cents >= 0),
    currency         char(3)     NOT NULL,
    delivery_address text        NOT NULL,
    -- The client's Idempotency-Key: the same key twice returns the first order.
    idempotency_key  text UNIQUE,
    -- The sequence of the last event applied.
    version          bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, id DESC);

CREATE TABLE order_lines (
    order_id         uuid    NOT NULL REFERENCES orders (id),
    line_no          integer NOT NULL,
    menu_item_id     uuid    NOT NULL,
    -- Name and price as the menu had them when the order was placed.
    name             text    NOT NULL,
    unit_price_cents bigint  NOT NULL CHECK (unit_price_cents >= 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    PRIMARY KEY (order_id, line_no)
);
