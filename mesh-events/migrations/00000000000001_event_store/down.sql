DROP TABLE processed_events;
DROP TABLE outbox;
DROP TABLE events;
DROP FUNCTION events_are_append_only();
