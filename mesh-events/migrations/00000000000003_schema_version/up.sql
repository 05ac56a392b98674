-- The version of its type's payload schema each event was written with (the CloudEvents
-- extension `ce_schemaversion` on the wire): readers upcast older payloads before decoding, so
-- an event stored before a field was added still loads. Every event so far is version 1.
ALTER TABLE events ADD COLUMN schema_version integer NOT NULL DEFAULT 1 CHECK (schema_version > 0);
ALTER TABLE outbox ADD COLUMN schema_version integer NOT NULL DEFAULT 1;
