-- The allergens an item contains, by their names in the contract (`ALLERGEN_GLUTEN`, ...):
-- stable, since renaming an enum value breaks the contract anyway. Items from before have none
-- declared.
ALTER TABLE menu_items ADD COLUMN allergens text[] NOT NULL DEFAULT '{}';
