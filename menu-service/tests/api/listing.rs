//! Listing: the seed, filters and pages.

use std::collections::HashSet;

use mesh_proto::menu::v1::{ListMenuItemsRequest, UpdateMenuItemRequest};
use tonic::Code;

use crate::helpers::{spawn_app, spawn_seeded_app};

#[tokio::test]
async fn a_first_start_seeds_a_dozen_items_sorted_by_name() {
    let app = spawn_seeded_app().await;
    let items = app
        .client
        .clone()
        .list_menu_items(ListMenuItemsRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .items;
    assert_eq!(items.len(), 12);
    assert!(
        items
            .iter()
            .all(|i| i.available && i.price_cents > 0 && i.currency == "USD")
    );
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn an_empty_menu_stays_empty_without_the_seed() {
    let app = spawn_app().await;
    let response = app
        .client
        .clone()
        .list_menu_items(ListMenuItemsRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(response.items.is_empty());
    assert!(response.next_page_token.is_empty());
}

#[tokio::test]
async fn filters_by_category_and_availability() {
    let app = spawn_app().await;
    app.create("Cola", 300, "Drinks").await;
    let tea = app.create("Iced Tea", 300, "Drinks").await;
    app.create("Nachos", 800, "Starters").await;
    app.client
        .clone()
        .update_menu_item(UpdateMenuItemRequest {
            id: tea.id.clone(),
            available: Some(false),
            ..Default::default()
        })
        .await
        .expect("updated");

    let list = |category: &str, available: Option<bool>| {
        let mut client = app.client.clone();
        let request = ListMenuItemsRequest {
            category: category.into(),
            available,
            ..Default::default()
        };
        async move {
            let items = client
                .list_menu_items(request)
                .await
                .expect("listed")
                .into_inner()
                .items;
            items.into_iter().map(|i| i.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(list("Drinks", None).await, ["Cola", "Iced Tea"]);
    assert_eq!(list("Drinks", Some(true)).await, ["Cola"]);
    assert_eq!(list("", Some(false)).await, ["Iced Tea"]);
    assert!(list("Desserts", None).await.is_empty());
}

#[tokio::test]
async fn pages_cover_every_item_once() {
    let app = spawn_app().await;
    for name in ["Eclair", "Cannoli", "Baklava", "Mochi", "Churros"] {
        app.create(name, 500, "Desserts").await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .client
            .clone()
            .list_menu_items(ListMenuItemsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["Baklava", "Cannoli", "Churros", "Eclair", "Mochi"]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);
}

#[tokio::test]
async fn rejects_bad_page_sizes_and_tokens() {
    let app = spawn_app().await;
    for request in [
        ListMenuItemsRequest {
            page_size: 101,
            ..Default::default()
        },
        ListMenuItemsRequest {
            page_size: -1,
            ..Default::default()
        },
        ListMenuItemsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        },
    ] {
        let status = app
            .client
            .clone()
            .list_menu_items(request)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
}
