//! A dozen realistic items on first start, so a new user's `GET /menu/items` shows a menu.
//! Turned off with `MENU_SEED=false`.

use diesel_async::{AsyncConnection, RunQueryDsl, scoped_futures::ScopedFutureExt};
use mesh_kit::{InvalidField, StoreError, db::PgPool};
use mesh_proto::menu::v1::Allergen;

use crate::{
    db,
    domain::{Allergens, Category, Currency, Description, ItemName, NewMenuItem, PriceCents},
};

/// (name, description, price in cents, category, allergens)
const ITEMS: [(&str, &str, i64, &str, &[Allergen]); 12] = [
    (
        "Margherita Pizza",
        "San Marzano tomato, fior di latte, basil",
        1250,
        "Pizza",
        &[Allergen::Gluten, Allergen::Milk],
    ),
    (
        "Pepperoni Pizza",
        "Tomato, mozzarella, spicy pepperoni",
        1450,
        "Pizza",
        &[Allergen::Gluten, Allergen::Milk],
    ),
    (
        "Quattro Formaggi",
        "Mozzarella, gorgonzola, fontina, parmesan",
        1550,
        "Pizza",
        &[Allergen::Gluten, Allergen::Milk],
    ),
    (
        "Pad Thai",
        "Rice noodles, tamarind, peanuts, lime",
        1350,
        "Noodles",
        &[Allergen::Peanuts, Allergen::Fish, Allergen::Soybeans],
    ),
    (
        "Tonkotsu Ramen",
        "Pork broth, chashu, soft egg, nori",
        1500,
        "Noodles",
        &[
            Allergen::Gluten,
            Allergen::Eggs,
            Allergen::Soybeans,
            Allergen::Sesame,
        ],
    ),
    (
        "Classic Cheeseburger",
        "Beef patty, cheddar, pickles, brioche bun",
        1200,
        "Burgers",
        &[
            Allergen::Gluten,
            Allergen::Milk,
            Allergen::Mustard,
            Allergen::Sesame,
        ],
    ),
    (
        "Veggie Burger",
        "Black bean patty, avocado, chipotle mayo",
        1150,
        "Burgers",
        &[Allergen::Gluten, Allergen::Eggs],
    ),
    (
        "Caesar Salad",
        "Romaine, parmesan, croutons, anchovy dressing",
        950,
        "Salads",
        &[
            Allergen::Gluten,
            Allergen::Milk,
            Allergen::Fish,
            Allergen::Eggs,
        ],
    ),
    (
        "Greek Salad",
        "Tomato, cucumber, feta, olives, oregano",
        900,
        "Salads",
        &[Allergen::Milk],
    ),
    (
        "Garlic Fries",
        "Hand-cut fries, garlic, parsley",
        500,
        "Sides",
        &[],
    ),
    (
        "Lemonade",
        "Freshly squeezed, lightly sweetened",
        350,
        "Drinks",
        &[],
    ),
    (
        "Tiramisu",
        "Mascarpone, espresso, cocoa",
        700,
        "Desserts",
        &[Allergen::Gluten, Allergen::Eggs, Allergen::Milk],
    ),
];

/// Any constant works; replicas starting together must agree on it.
const SEED_LOCK_KEY: i64 = 0x6d65_6e75; // "menu"

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot seed the menu: {0}")]
    Store(#[from] StoreError),
    #[error("a seed item is invalid: {0}")]
    Invalid(#[from] InvalidField),
}

impl From<diesel::result::Error> for SeedError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Store(err.into())
    }
}

/// Inserts the seed items when the table is empty; returns how many it inserted.
pub async fn seed_if_empty(pool: &PgPool) -> Result<usize, SeedError> {
    let items = ITEMS
        .iter()
        .map(|(name, description, price, category, allergens)| {
            Ok(NewMenuItem {
                name: ItemName::parse(name)?,
                description: Description::parse(description)?,
                price_cents: PriceCents::new(*price),
                currency: Currency::parse("")?,
                category: Category::parse(category)?,
                available: true,
                allergens: Allergens::new(
                    allergens
                        .iter()
                        .map(|allergen| allergen.as_str_name().to_owned()),
                ),
            })
        })
        .collect::<Result<Vec<_>, InvalidField>>()?;
    let mut conn = pool.get().await.map_err(StoreError::from)?;
    let inserted = conn
        .transaction::<usize, SeedError, _>(|conn| {
            async move {
                // Two replicas starting at once must not both see an empty table.
                diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SEED_LOCK_KEY})"))
                    .execute(conn)
                    .await?;
                if db::count(conn).await? > 0 {
                    return Ok(0);
                }
                let count = items.len();
                for item in items {
                    db::insert(conn, item).await?;
                }
                Ok(count)
            }
            .scope_boxed()
        })
        .await?;
    if inserted > 0 {
        tracing::info!(items = inserted, "seeded the menu");
    }
    Ok(inserted)
}
