CREATE TABLE menu_items (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    description text        NOT NULL DEFAULT '',
    -- Integer minor units of `currency`: money is never a float.
    price_cents bigint      NOT NULL CHECK (price_cents >= 0),
    currency    char(3)     NOT NULL,
    category    text        NOT NULL,
    available   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Listing is ordered by (name, id) and paged by keyset on the same pair.
CREATE INDEX menu_items_name_id ON menu_items (name, id);
CREATE INDEX menu_items_category ON menu_items (category, name, id);
