//! Allergens: declared on an item, changed or cleared, and filtered on.

use mesh_proto::menu::v1::{
    Allergen, CreateMenuItemRequest, ListMenuItemsRequest, MenuItem, UpdateMenuItemRequest,
};
use tonic::Code;

use crate::helpers::{TestApp, new_item, spawn_app};

fn numbers(allergens: &[Allergen]) -> Vec<i32> {
    allergens.iter().copied().map(i32::from).collect()
}

async fn create_with(app: &TestApp, name: &str, allergens: &[Allergen]) -> MenuItem {
    app.client
        .clone()
        .create_menu_item(CreateMenuItemRequest {
            allergens: numbers(allergens),
            ..new_item(name)
        })
        .await
        .expect("created")
        .into_inner()
}

async fn update(app: &TestApp, request: UpdateMenuItemRequest) -> Result<MenuItem, tonic::Status> {
    app.client
        .clone()
        .update_menu_item(request)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn an_item_keeps_its_allergens_until_they_change_or_are_cleared() {
    let app = spawn_app().await;
    let item = create_with(&app, "Tiramisu", &[Allergen::Milk, Allergen::Gluten]).await;
    assert_eq!(
        item.allergens,
        numbers(&[Allergen::Gluten, Allergen::Milk]),
        "each once, in name order"
    );

    let renamed = update(
        &app,
        UpdateMenuItemRequest {
            id: item.id.clone(),
            name: Some("Tiramisu Classico".into()),
            ..Default::default()
        },
    )
    .await
    .expect("renamed");
    assert_eq!(renamed.allergens, item.allergens, "left out, they stay");

    let changed = update(
        &app,
        UpdateMenuItemRequest {
            id: item.id.clone(),
            allergens: numbers(&[Allergen::Eggs, Allergen::Milk]),
            ..Default::default()
        },
    )
    .await
    .expect("changed");
    assert_eq!(
        changed.allergens,
        numbers(&[Allergen::Eggs, Allergen::Milk])
    );

    let both = update(
        &app,
        UpdateMenuItemRequest {
            id: item.id.clone(),
            allergens: numbers(&[Allergen::Nuts]),
            no_allergens: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect_err("contradicts itself");
    mesh_testkit::assert_invalid_argument(&both, "no_allergens");

    let cleared = update(
        &app,
        UpdateMenuItemRequest {
            id: item.id.clone(),
            no_allergens: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("cleared");
    assert!(cleared.allergens.is_empty());
}

#[tokio::test]
async fn the_list_keeps_only_items_free_of_what_is_named() {
    let app = spawn_app().await;
    create_with(&app, "Bread", &[Allergen::Gluten]).await;
    create_with(&app, "Cheese", &[Allergen::Milk]).await;
    create_with(&app, "Apple", &[]).await;
    let free_of = |allergens: &[Allergen]| {
        let request = ListMenuItemsRequest {
            allergen_free: numbers(allergens),
            ..Default::default()
        };
        let mut client = app.client.clone();
        async move {
            let items = client
                .list_menu_items(request)
                .await
                .expect("listed")
                .into_inner()
                .items;
            items.into_iter().map(|item| item.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(free_of(&[]).await, ["Apple", "Bread", "Cheese"]);
    assert_eq!(free_of(&[Allergen::Gluten]).await, ["Apple", "Cheese"]);
    assert_eq!(
        free_of(&[Allergen::Gluten, Allergen::Milk]).await,
        ["Apple"]
    );

    let status = app
        .client
        .clone()
        .list_menu_items(ListMenuItemsRequest {
            allergen_free: vec![0],
            ..Default::default()
        })
        .await
        .expect_err("the zero value names nothing");
    assert_eq!(status.code(), Code::InvalidArgument);
}
