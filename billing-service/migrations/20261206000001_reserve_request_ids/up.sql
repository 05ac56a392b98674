-- Request ids the gateway derives from users' Idempotency-Keys, each bound to the request first
-- sent with it before that request is queued: another request under the same id is refused,
-- whichever gateway instance it reaches and however often the gateway restarts.
CREATE TABLE reserved_request_ids (
    request_id         uuid        PRIMARY KEY,
    user_id            bigint      NOT NULL CHECK (user_id > 0),
    number_of_items    bigint      NOT NULL CHECK (number_of_items > 0),
    total_amount_cents bigint      NOT NULL CHECK (total_amount_cents >= 0),
    reserved_at        timestamptz NOT NULL DEFAULT now()
);
