//! The `menu_items` table and every query on it.

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, PgArrayExpressionMethods,
    QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::{Allergens, ListFilter, MenuItem, MenuItemPatch, NewMenuItem, PageToken};

pub const MIGRATIONS: mesh_kit::db::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

diesel::table! {
    menu_items (id) {
        id -> Uuid,
        name -> Text,
        description -> Text,
        price_cents -> Int8,
        currency -> Bpchar,
        category -> Text,
        available -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        allergens -> Array<Text>,
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = menu_items)]
struct Row {
    id: Uuid,
    name: String,
    description: String,
    price_cents: i64,
    currency: String,
    category: String,
    available: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    allergens: Vec<String>,
}

impl From<Row> for MenuItem {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            price_cents: row.price_cents,
            currency: row.currency,
            category: row.category,
            available: row.available,
            allergens: Allergens::new(row.allergens),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

type QueryResult<T> = Result<T, diesel::result::Error>;

/// One page of items matching `filter`, ordered by (name, id), starting after `after`. Asks
/// for one row more than `limit` so the caller knows whether another page exists.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ListFilter,
    after: Option<&PageToken>,
    limit: i64,
) -> QueryResult<Vec<MenuItem>> {
    let mut query = menu_items::table.into_boxed();
    if let Some(category) = &filter.category {
        query = query.filter(menu_items::category.eq(category));
    }
    if let Some(available) = filter.available {
        query = query.filter(menu_items::available.eq(available));
    }
    if !filter.allergen_free.names().is_empty() {
        query = query.filter(diesel::dsl::not(
            menu_items::allergens.overlaps_with(filter.allergen_free.names()),
        ));
    }
    if let Some(token) = after {
        query = query.filter(
            menu_items::name.gt(&token.name).or(menu_items::name
                .eq(&token.name)
                .and(menu_items::id.gt(token.id))),
        );
    }
    let rows: Vec<Row> = query
        .order((menu_items::name.asc(), menu_items::id.asc()))
        .limit(limit + 1)
        .select(Row::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(MenuItem::from).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<MenuItem>> {
    let row: Option<Row> = menu_items::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(MenuItem::from))
}

/// The items among `ids` that exist, in no particular order.
pub async fn get_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<MenuItem>> {
    let rows: Vec<Row> = menu_items::table
        .filter(menu_items::id.eq_any(ids))
        .select(Row::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(MenuItem::from).collect())
}

pub async fn insert(conn: &mut AsyncPgConnection, item: NewMenuItem) -> QueryResult<MenuItem> {
    let row: Row = diesel::insert_into(menu_items::table)
        .values((
            menu_items::id.eq(Uuid::new_v4()),
            menu_items::name.eq(item.name.into_inner()),
            menu_items::description.eq(item.description.into_inner()),
            menu_items::price_cents.eq(item.price_cents.get()),
            menu_items::currency.eq(item.currency.into_inner()),
            menu_items::category.eq(item.category.into_inner()),
            menu_items::available.eq(item.available),
            menu_items::allergens.eq(item.allergens.into_inner()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

#[derive(diesel::AsChangeset)]
#[diesel(table_name = menu_items)]
struct Changes {
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    currency: Option<String>,
    category: Option<String>,
    available: Option<bool>,
    allergens: Option<Vec<String>>,
    updated_at: DateTime<Utc>,
}

/// Applies `patch`; `None` when the item does not exist.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    patch: MenuItemPatch,
) -> QueryResult<Option<MenuItem>> {
    let changes = Changes {
        name: patch.name.map(|v| v.into_inner()),
        description: patch.description.map(|v| v.into_inner()),
        price_cents: patch.price_cents.map(|v| v.get()),
        currency: patch.currency.map(|v| v.into_inner()),
        category: patch.category.map(|v| v.into_inner()),
        available: patch.available,
        allergens: patch.allergens.map(Allergens::into_inner),
        updated_at: Utc::now(),
    };
    let row: Option<Row> = diesel::update(menu_items::table.find(id))
        .set(changes)
        .returning(Row::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(MenuItem::from))
}

/// Whether an item was deleted.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(menu_items::table.find(id))
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    menu_items::table.count().get_result(conn).await
}
