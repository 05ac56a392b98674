-- The deliveries read model: the fold of each delivery's DeliveryStatusChanged events (see the
-- `events` table of the event store), kept in step with them in the same transaction. One
-- delivery per order, keyed by the order's id.
CREATE TABLE deliveries (
    order_id         uuid PRIMARY KEY,
    status           text        NOT NULL CHECK (status IN
                         ('PENDING', 'ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED', 'FAILED')),
    -- Set by the first move that names one, kept after.
    courier          text,
    delivery_address text        NOT NULL,
    -- The sequence of the last event applied.
    version          bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
