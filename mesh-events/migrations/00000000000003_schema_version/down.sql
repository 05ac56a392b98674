ALTER TABLE outbox DROP COLUMN schema_version;
ALTER TABLE events DROP COLUMN schema_version;
