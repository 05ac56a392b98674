-- The movie catalog. Integer ids, as the users of the original movie API type them.
CREATE TABLE movies (
    id          bigserial PRIMARY KEY,
    title       text        NOT NULL CHECK (length(title) > 0),
    description text        NOT NULL CHECK (length(description) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- `?title=` is a case-insensitive substring search: a trigram index serves ILIKE '%...%'
-- without scanning the table.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX movies_title_trgm ON movies USING gin (title gin_trgm_ops);
