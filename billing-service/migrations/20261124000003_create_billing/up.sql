-- One payment per order, recorded with the PaymentCaptured / PaymentDeclined event it produced.
CREATE TABLE payments (
    order_id       uuid PRIMARY KEY,
    status         text        NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED')),
    amount_cents   bigint      NOT NULL CHECK (amount_cents >= 0),
    currency       char(3)     NOT NULL,
    decline_reason text,
    created_at     timestamptz NOT NULL
);

-- Billing orders of the movie platform, stored from `billing-requests`: one row per request,
-- however often the request is delivered.
CREATE TABLE billing_orders (
    id                 bigserial PRIMARY KEY,
    request_id         uuid        NOT NULL UNIQUE,
    user_id            bigint      NOT NULL CHECK (user_id > 0),
    number_of_items    bigint      NOT NULL CHECK (number_of_items > 0),
    total_amount_cents bigint      NOT NULL CHECK (total_amount_cents >= 0),
    -- When the gateway accepted it.
    received_at        timestamptz NOT NULL,
    -- When billing-service stored it.
    processed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_orders_by_user ON billing_orders (user_id, id);
