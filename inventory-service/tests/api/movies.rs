//! The movie catalog as users of the original movie API know it.

use mesh_proto::inventory::v1::{
    CreateMovieRequest, DeleteAllMoviesRequest, DeleteMovieRequest, GetMovieRequest,
    ListMoviesRequest, UpdateMovieRequest,
};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::spawn_app;

async fn titles(app: &crate::helpers::TestApp, search: &str) -> Vec<String> {
    app.client()
        .list_movies(ListMoviesRequest {
            title: search.into(),
        })
        .await
        .expect("listed")
        .into_inner()
        .movies
        .into_iter()
        .map(|m| m.title)
        .collect()
}

#[tokio::test]
async fn creates_movies_with_increasing_integer_ids() {
    let app = spawn_app().await;
    let first = app.create("Inception", "A mind-bending thriller").await;
    let second = app.create("Heat", "Cops and robbers").await;
    assert!(first.id > 0);
    assert!(second.id > first.id);
    let fetched = app
        .client()
        .get_movie(GetMovieRequest { id: first.id })
        .await
        .expect("found")
        .into_inner();
    assert_eq!(fetched, first);
}

#[tokio::test]
async fn title_and_description_are_both_required() {
    let app = spawn_app().await;
    for (request, field) in [
        (
            CreateMovieRequest {
                title: String::new(),
                description: "x".into(),
            },
            "title",
        ),
        (
            CreateMovieRequest {
                title: "x".into(),
                description: "  ".into(),
            },
            "description",
        ),
    ] {
        let status = app
            .client()
            .create_movie(request)
            .await
            .expect_err("refused");
        mesh_testkit::assert_invalid_argument(&status, field);
    }
}

#[tokio::test]
async fn searches_titles_by_case_insensitive_substring() {
    let app = spawn_app().await;
    app.create("Inception", "Dreams").await;
    app.create("The Incredibles", "Supers").await;
    app.create("Heat", "Cops").await;
    app.create("100% Wolf", "Literal percent").await;
    assert_eq!(titles(&app, "INC").await, ["Inception", "The Incredibles"]);
    assert_eq!(titles(&app, "incep").await, ["Inception"]);
    assert_eq!(
        titles(&app, "%").await,
        ["100% Wolf"],
        "% is literal, not a wildcard"
    );
    assert_eq!(titles(&app, "").await.len(), 4);
    assert!(titles(&app, "zzz").await.is_empty());
}

#[tokio::test]
async fn updates_only_what_is_given() {
    let app = spawn_app().await;
    let movie = app.create("Inception", "A mind-bending thriller").await;
    let updated = app
        .client()
        .update_movie(UpdateMovieRequest {
            id: movie.id,
            title: None,
            description: Some("Dreams within dreams".into()),
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.title, "Inception");
    assert_eq!(updated.description, "Dreams within dreams");

    let status = app
        .client()
        .update_movie(UpdateMovieRequest {
            id: movie.id,
            title: None,
            description: None,
        })
        .await
        .expect_err("nothing to change");
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = app
        .client()
        .update_movie(UpdateMovieRequest {
            id: movie.id + 1000,
            title: Some("X".into()),
            description: None,
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn deletes_one_then_all() {
    let app = spawn_app().await;
    let movie = app.create("Inception", "Dreams").await;
    app.create("Heat", "Cops").await;
    app.client()
        .delete_movie(DeleteMovieRequest { id: movie.id })
        .await
        .expect("deleted");
    let status = app
        .client()
        .get_movie(GetMovieRequest { id: movie.id })
        .await
        .expect_err("gone");
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .client()
        .delete_movie(DeleteMovieRequest { id: movie.id })
        .await
        .expect_err("already gone");
    assert_eq!(status.code(), Code::NotFound);

    let deleted = app
        .client()
        .delete_all_movies(DeleteAllMoviesRequest {})
        .await
        .expect("all deleted")
        .into_inner()
        .deleted;
    assert_eq!(deleted, 1);
    assert!(titles(&app, "").await.is_empty());
}

#[tokio::test]
async fn non_positive_ids_are_invalid() {
    let app = spawn_app().await;
    let status = app
        .client()
        .get_movie(GetMovieRequest { id: 0 })
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn serves_reflection_and_health() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.served.addr).await;
    assert!(
        services.contains(&"mesh.inventory.v1.InventoryService".to_owned()),
        "{services:?}"
    );
    assert_eq!(
        mesh_testkit::health(app.served.addr, "mesh.inventory.v1.InventoryService").await,
        ServingStatus::Serving
    );
}
