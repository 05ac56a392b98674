-- The W3C trace context of the request that caused the event, published as the record's
-- `traceparent` header so the consumer's work joins the same trace. Empty without tracing.
ALTER TABLE outbox ADD COLUMN traceparent text;
