//! The `movies` table and every query on it.

use diesel::{
    ExpressionMethods, OptionalExtension, PgTextExpressionMethods, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::{Movie, MovieId, MoviePatch, NewMovie};

pub const MIGRATIONS: mesh_kit::db::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

diesel::table! {
    movies (id) {
        id -> Int8,
        title -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = movies)]
struct Row {
    id: i64,
    title: String,
    description: String,
}

impl From<Row> for Movie {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            title: row.title,
            description: row.description,
        }
    }
}

type QueryResult<T> = Result<T, diesel::result::Error>;

/// Every movie, or those whose title matches the `ILIKE` pattern, ordered by id.
pub async fn list(conn: &mut AsyncPgConnection, pattern: Option<&str>) -> QueryResult<Vec<Movie>> {
    let mut query = movies::table.into_boxed();
    if let Some(pattern) = pattern {
        query = query.filter(movies::title.ilike(pattern));
    }
    let rows: Vec<Row> = query
        .order(movies::id.asc())
        .select(Row::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Movie::from).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, id: MovieId) -> QueryResult<Option<Movie>> {
    let row: Option<Row> = movies::table
        .find(id.get())
        .select(Row::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Movie::from))
}

pub async fn insert(conn: &mut AsyncPgConnection, movie: NewMovie) -> QueryResult<Movie> {
    let row: Row = diesel::insert_into(movies::table)
        .values((
            movies::title.eq(movie.title.into_inner()),
            movies::description.eq(movie.description.into_inner()),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

#[derive(diesel::AsChangeset)]
#[diesel(table_name = movies)]
struct Changes {
    title: Option<String>,
    description: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// Applies `patch`; `None` when the movie does not exist.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: MovieId,
    patch: MoviePatch,
) -> QueryResult<Option<Movie>> {
    let (title, description) = patch.into_parts();
    let row: Option<Row> = diesel::update(movies::table.find(id.get()))
        .set(Changes {
            title,
            description,
            updated_at: chrono::Utc::now(),
        })
        .returning(Row::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(Movie::from))
}

/// Whether a movie was deleted.
pub async fn delete(conn: &mut AsyncPgConnection, id: MovieId) -> QueryResult<bool> {
    let deleted = diesel::delete(movies::table.find(id.get()))
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

/// Deletes every movie; returns how many there were.
pub async fn delete_all(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::delete(movies::table).execute(conn).await
}
