-- The event store every event-sourced service shares (order, delivery, billing): an append-only
-- event log, the outbox its relay publishes to Kafka, and the ids of events a consumer applied.

CREATE TABLE events (
    id           uuid PRIMARY KEY,
    aggregate_id uuid        NOT NULL,
    sequence     bigint      NOT NULL CHECK (sequence > 0),
    -- Full proto name of the payload, e.g. mesh.events.v1.OrderPlaced (the CloudEvents type).
    event_type   text        NOT NULL,
    -- Canonical proto3 JSON, exactly what goes on the wire.
    payload      jsonb       NOT NULL,
    request_id   text,
    occurred_at  timestamptz NOT NULL,
    -- Optimistic concurrency: two writers appending the same position, one loses.
    CONSTRAINT events_aggregate_sequence_key UNIQUE (aggregate_id, sequence)
);

-- Append-only means append-only: history is never rewritten, only compensated by new events.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE REFERENCES events (id),
    -- Logical topic name (order-events); the relay adds the deployment's prefix.
    topic       text        NOT NULL,
    record_key  text        NOT NULL,
    event_type  text        NOT NULL,
    payload     text        NOT NULL,
    request_id  text,
    occurred_at timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
