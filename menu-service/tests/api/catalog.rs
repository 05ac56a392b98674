//! Creating, reading, updating and deleting items.

use mesh_proto::menu::v1::{
    BatchGetMenuItemsRequest, DeleteMenuItemRequest, GetMenuItemRequest, ListMenuItemsRequest,
    UpdateMenuItemRequest,
};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{new_item, spawn_app};

#[tokio::test]
async fn creates_an_item_and_reads_it_back() {
    let app = spawn_app().await;
    let created = app
        .client
        .clone()
        .create_menu_item(new_item("Shakshuka"))
        .await
        .expect("created")
        .into_inner();
    assert!(
        Uuid::parse_str(&created.id).is_ok(),
        "id is a UUID: {}",
        created.id
    );
    assert_eq!(created.name, "Shakshuka");
    assert_eq!(created.price_cents, 990);
    assert_eq!(created.currency, "EUR");
    assert!(created.available);
    assert!(created.created_at.is_some());

    let fetched = app
        .client
        .clone()
        .get_menu_item(GetMenuItemRequest {
            id: created.id.clone(),
        })
        .await
        .expect("found")
        .into_inner();
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn currency_defaults_to_usd_and_availability_to_true() {
    let app = spawn_app().await;
    let item = app.create("Falafel Wrap", 850, "Wraps").await;
    assert_eq!(item.currency, "USD");
    assert!(item.available);
}

#[tokio::test]
async fn rejects_invalid_fields_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        ("name", {
            let mut r = new_item("");
            r.name = "   ".into();
            r
        }),
        ("price_cents", {
            let mut r = new_item("Soup");
            r.price_cents = Some(-1);
            r
        }),
        ("currency", {
            let mut r = new_item("Soup");
            r.currency = "euro".into();
            r
        }),
        ("category", {
            let mut r = new_item("Soup");
            r.category = String::new();
            r
        }),
    ];
    for (field, request) in cases {
        let status = app
            .client
            .clone()
            .create_menu_item(request)
            .await
            .expect_err("must be refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(field),
            "{field}: {}",
            status.message()
        );
    }
}

/// The bounds are the contract's (`buf.validate` in `proto/menu.proto`): any client, grpcurl
/// included, meets them before a handler runs, and nothing is written.
#[tokio::test]
async fn the_contracts_bounds_hold_for_any_grpc_client() {
    let app = spawn_app().await;
    let mut pricey = new_item("Gold Leaf Pizza");
    pricey.price_cents = Some(1_000_001);
    let mut wordy = new_item("Soup");
    wordy.name = "x".repeat(121);
    for (request, reason) in [
        (pricey, "price_cents: must be between 0 and 1000000"),
        (wordy, "name: must be at most 120 characters"),
    ] {
        let status = app
            .client
            .clone()
            .create_menu_item(request)
            .await
            .expect_err("must be refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), reason);
    }
    let listed = app
        .client
        .clone()
        .list_menu_items(ListMenuItemsRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.items.is_empty(), "nothing was stored: {listed:?}");
}

#[tokio::test]
async fn missing_item_is_not_found_and_a_malformed_id_is_invalid() {
    let app = spawn_app().await;
    let status = app
        .client
        .clone()
        .get_menu_item(GetMenuItemRequest {
            id: Uuid::new_v4().to_string(),
        })
        .await
        .expect_err("unknown id");
    assert_eq!(status.code(), Code::NotFound);

    let status = app
        .client
        .clone()
        .get_menu_item(GetMenuItemRequest { id: "42".into() })
        .await
        .expect_err("not a uuid");
    mesh_testkit::assert_invalid_argument(&status, "id");
}

#[tokio::test]
async fn update_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let item = app.create("Bibimbap", 1400, "Bowls").await;
    let updated = app
        .client
        .clone()
        .update_menu_item(UpdateMenuItemRequest {
            id: item.id.clone(),
            price_cents: Some(1500),
            available: Some(false),
            ..Default::default()
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.price_cents, 1500);
    assert!(!updated.available);
    assert_eq!(updated.name, item.name);
    assert_eq!(updated.category, item.category);

    let status = app
        .client
        .clone()
        .update_menu_item(UpdateMenuItemRequest {
            id: item.id.clone(),
            price_cents: Some(-5),
            ..Default::default()
        })
        .await
        .expect_err("negative price");
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = app
        .client
        .clone()
        .update_menu_item(UpdateMenuItemRequest {
            id: Uuid::new_v4().to_string(),
            name: Some("Ghost".into()),
            ..Default::default()
        })
        .await
        .expect_err("unknown id");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn deleted_items_are_gone() {
    let app = spawn_app().await;
    let item = app.create("Poke Bowl", 1300, "Bowls").await;
    let delete = || {
        let mut client = app.client.clone();
        let request = DeleteMenuItemRequest {
            id: item.id.clone(),
        };
        async move { client.delete_menu_item(request).await }
    };
    delete().await.expect("deleted");
    let status = delete().await.expect_err("already gone");
    assert_eq!(status.code(), Code::NotFound);
    let status = app
        .client
        .clone()
        .get_menu_item(GetMenuItemRequest {
            id: item.id.clone(),
        })
        .await
        .expect_err("gone");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn batch_get_answers_in_request_order_and_reports_missing_ids() {
    let app = spawn_app().await;
    let a = app.create("Arancini", 700, "Starters").await;
    let b = app.create("Bruschetta", 650, "Starters").await;
    let ghost = Uuid::new_v4().to_string();
    let response = app
        .client
        .clone()
        .batch_get_menu_items(BatchGetMenuItemsRequest {
            ids: vec![b.id.clone(), ghost.clone(), a.id.clone(), b.id.clone()],
        })
        .await
        .expect("batch")
        .into_inner();
    let names: Vec<&str> = response.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["Bruschetta", "Arancini"]);
    assert_eq!(response.missing_ids, [ghost]);

    let status = app
        .client
        .clone()
        .batch_get_menu_items(BatchGetMenuItemsRequest {
            ids: vec![Uuid::new_v4().to_string(); 1001],
        })
        .await
        .expect_err("too many");
    assert_eq!(status.code(), Code::InvalidArgument);
}
