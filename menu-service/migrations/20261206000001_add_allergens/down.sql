ALTER TABLE menu_items DROP COLUMN allergens;
