//! The contract's field rules as a client meets them: each bound `proto/` states, broken once,
//! answered in the mesh's words. The services get these answers from their codec, before any
//! handler runs.

use mesh_proto::{
    billing::v1 as billing,
    delivery::v1 as delivery,
    inventory::v1 as inventory,
    menu::v1 as menu,
    order::v1 as order,
    rules::{Violations, check_message},
};

const ID: &str = "3f1c2a9e-8a4b-4f7e-9a51-0b6f7e2d4c11";

fn refused<M: mesh_proto::Message + mesh_proto::Name>(message: &M) -> String {
    match check_message(message) {
        Ok(()) => panic!("{} was let through", M::full_name()),
        Err(Violations(reasons)) => reasons.join("; "),
    }
}

fn new_item() -> menu::CreateMenuItemRequest {
    menu::CreateMenuItemRequest {
        name: "Margherita".into(),
        description: "Tomato, mozzarella, basil".into(),
        price_cents: Some(1150),
        currency: String::new(),
        category: "Pizza".into(),
        available: None,
        allergens: vec![menu::Allergen::Gluten.into(), menu::Allergen::Milk.into()],
    }
}

fn new_order() -> order::CreateOrderRequest {
    order::CreateOrderRequest {
        customer_id: "c-1".into(),
        items: vec![order::CreateOrderItem {
            menu_item_id: ID.into(),
            quantity: 1,
        }],
        delivery_address: "1 Main St".into(),
        idempotency_key: String::new(),
    }
}

#[test]
fn valid_requests_pass() {
    assert_eq!(check_message(&new_item()), Ok(()));
    assert_eq!(check_message(&new_order()), Ok(()));
    let free = menu::CreateMenuItemRequest {
        price_cents: Some(0),
        ..new_item()
    };
    assert_eq!(check_message(&free), Ok(()), "a free side is a price");
    assert_eq!(
        check_message(&menu::ListMenuItemsRequest::default()),
        Ok(()),
        "0 is the default page size"
    );
}

#[test]
fn a_menu_item_keeps_its_bounds() {
    let cases = [
        (
            menu::CreateMenuItemRequest {
                name: String::new(),
                ..new_item()
            },
            "name: is required",
        ),
        (
            menu::CreateMenuItemRequest {
                name: "x".repeat(121),
                ..new_item()
            },
            "name: must be at most 120 characters",
        ),
        (
            menu::CreateMenuItemRequest {
                description: "x".repeat(1001),
                ..new_item()
            },
            "description: must be at most 1000 characters",
        ),
        (
            menu::CreateMenuItemRequest {
                price_cents: None,
                ..new_item()
            },
            "price_cents: is required",
        ),
        (
            menu::CreateMenuItemRequest {
                price_cents: Some(-1),
                ..new_item()
            },
            "price_cents: must be between 0 and 1000000",
        ),
        (
            menu::CreateMenuItemRequest {
                price_cents: Some(1_000_001),
                ..new_item()
            },
            "price_cents: must be between 0 and 1000000",
        ),
        (
            menu::CreateMenuItemRequest {
                category: "x".repeat(61),
                ..new_item()
            },
            "category: must be at most 60 characters",
        ),
    ];
    for (request, reason) in cases {
        assert_eq!(refused(&request), reason);
    }
    let gluten = i32::from(menu::Allergen::Gluten);
    for (allergens, reason) in [
        (vec![gluten, gluten], "allergens: items must be unique"),
        (
            vec![0],
            "allergens[0]: must be one of GLUTEN, CRUSTACEANS, EGGS, FISH, PEANUTS, SOYBEANS, MILK, NUTS, CELERY, MUSTARD, SESAME, SULPHITES, LUPIN, MOLLUSCS",
        ),
        (
            vec![99],
            "allergens[0]: must be one of GLUTEN, CRUSTACEANS, EGGS, FISH, PEANUTS, SOYBEANS, MILK, NUTS, CELERY, MUSTARD, SESAME, SULPHITES, LUPIN, MOLLUSCS",
        ),
    ] {
        let request = menu::CreateMenuItemRequest {
            allergens,
            ..new_item()
        };
        assert_eq!(refused(&request), reason);
    }
    let patch = menu::UpdateMenuItemRequest {
        id: ID.into(),
        price_cents: Some(2_000_000),
        ..Default::default()
    };
    assert_eq!(
        refused(&patch),
        "price_cents: must be between 0 and 1000000"
    );
    let page = menu::ListMenuItemsRequest {
        page_size: 101,
        ..Default::default()
    };
    assert_eq!(refused(&page), "page_size: must be between 0 and 100");
    let get = menu::GetMenuItemRequest { id: "pizza".into() };
    assert_eq!(refused(&get), "id: must be a UUID");
    let batch = menu::BatchGetMenuItemsRequest {
        ids: vec![ID.to_owned(); 1001],
    };
    assert_eq!(refused(&batch), "ids: must hold at most 1000 items");
}

#[test]
fn an_order_keeps_its_bounds_and_names_the_line() {
    let mut no_items = new_order();
    no_items.items.clear();
    assert_eq!(refused(&no_items), "items: at least one item is required");
    for quantity in [0, 101] {
        let mut order = new_order();
        order.items[0].quantity = quantity;
        assert_eq!(
            refused(&order),
            "items[0].quantity: must be between 1 and 100"
        );
    }
    let mut bad_id = new_order();
    bad_id.items[0].menu_item_id = "pizza".into();
    assert_eq!(refused(&bad_id), "items[0].menu_item_id: must be a UUID");
    let mut many = new_order();
    many.items = vec![many.items[0].clone(); 101];
    assert_eq!(refused(&many), "items: must hold at most 100 items");
    let no_address = order::CreateOrderRequest {
        delivery_address: String::new(),
        ..new_order()
    };
    assert_eq!(refused(&no_address), "delivery_address: is required");
    let everything = order::CreateOrderRequest {
        customer_id: String::new(),
        items: Vec::new(),
        ..new_order()
    };
    assert_eq!(
        refused(&everything),
        "customer_id: is required",
        "the first broken rule, in field order"
    );
    let reason = order::CancelOrderRequest {
        order_id: ID.into(),
        reason: "x".repeat(501),
    };
    assert_eq!(refused(&reason), "reason: must be at most 500 characters");
}

#[test]
fn movies_keep_the_seed_apis_rules() {
    let get = inventory::GetMovieRequest { id: 0 };
    assert_eq!(refused(&get), "id: must be a positive integer");
    let untitled = inventory::CreateMovieRequest {
        title: String::new(),
        description: "A thriller".into(),
    };
    assert_eq!(refused(&untitled), "title: is required");
    let long = inventory::UpdateMovieRequest {
        id: 1,
        title: Some("x".repeat(301)),
        description: None,
    };
    assert_eq!(refused(&long), "title: must be at most 300 characters");
}

#[test]
fn a_delivery_move_names_the_statuses_it_allows() {
    let unspecified = delivery::UpdateStatusRequest {
        order_id: ID.into(),
        ..Default::default()
    };
    assert_eq!(
        refused(&unspecified),
        "status: must be one of PENDING, ASSIGNED, PICKED_UP, IN_TRANSIT, DELIVERED, FAILED"
    );
    let unknown = delivery::UpdateStatusRequest {
        order_id: ID.into(),
        status: 42,
        ..Default::default()
    };
    assert!(refused(&unknown).starts_with("status: must be one of PENDING"));
    let chatty = delivery::UpdateStatusRequest {
        order_id: ID.into(),
        status: delivery::DeliveryStatus::Assigned.into(),
        courier: Some("x".repeat(201)),
        ..Default::default()
    };
    assert_eq!(refused(&chatty), "courier: must be at most 200 characters");
}

#[test]
fn billing_ids_are_positive_and_uuids() {
    let list = billing::ListBillingOrdersRequest {
        user_id: 0,
        ..Default::default()
    };
    assert_eq!(refused(&list), "user_id: must be a positive integer");
    let reserve = billing::ReserveRequestIdRequest {
        request_id: "nope".into(),
        user_id: 1,
        number_of_items: 1,
        total_amount_cents: -1,
    };
    assert_eq!(refused(&reserve), "request_id: must be a UUID");
    let free = billing::ReserveRequestIdRequest {
        request_id: ID.into(),
        ..reserve
    };
    assert_eq!(refused(&free), "total_amount_cents: must be at least 0");
    let batch = billing::BatchGetPaymentsRequest {
        order_ids: vec!["nope".into()],
    };
    assert_eq!(refused(&batch), "order_ids[0]: must be a UUID");
}

#[test]
fn responses_carry_no_rules_and_skip_the_check() {
    use mesh_proto::Name;
    assert!(mesh_proto::rules::ruled(&order::Order::full_name()).is_none());
    assert!(mesh_proto::rules::ruled(&order::CreateOrderRequest::full_name()).is_some());
}

#[test]
fn a_batch_calls_bound_is_its_list_rule() {
    use mesh_proto::rules::max_items;
    for field in [
        "mesh.menu.v1.BatchGetMenuItemsRequest.ids",
        "mesh.delivery.v1.BatchGetStatusRequest.order_ids",
        "mesh.billing.v1.BatchGetPaymentsRequest.order_ids",
    ] {
        assert_eq!(max_items(field), Some(1000), "{field}");
    }
    assert_eq!(
        max_items("mesh.order.v1.CreateOrderRequest.items"),
        Some(100)
    );
    assert_eq!(
        max_items("mesh.order.v1.Order.items"),
        None,
        "responses are not bounded"
    );
}
