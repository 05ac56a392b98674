//! `spawn_app()`: a menu-service on a free port with a database of its own.

use menu_service::{Application, Config};
use mesh_proto::menu::v1::{
    CreateMenuItemRequest, MenuItem, menu_service_client::MenuServiceClient,
};
use mesh_testkit::Served;
use tonic::transport::Channel;

pub struct TestApp {
    pub served: Served,
    pub client: MenuServiceClient<Channel>,
}

/// An empty menu.
pub async fn spawn_app() -> TestApp {
    spawn(false).await
}

/// A menu seeded as on a first start.
pub async fn spawn_seeded_app() -> TestApp {
    spawn(true).await
}

async fn spawn(seed: bool) -> TestApp {
    mesh_testkit::init_tracing();
    let config = Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: mesh_testkit::database("menu"),
        seed,
    };
    let app = Application::build(config)
        .await
        .expect("menu-service starts");
    let addr = app.local_addr();
    let served = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    TestApp {
        client: MenuServiceClient::new(mesh_testkit::channel(addr)),
        served,
    }
}

impl TestApp {
    /// Creates an item, panicking if the service refuses.
    pub async fn create(&self, name: &str, price_cents: i64, category: &str) -> MenuItem {
        self.client
            .clone()
            .create_menu_item(CreateMenuItemRequest {
                allergens: Vec::new(),
                name: name.into(),
                description: format!("{name}, freshly made"),
                price_cents: Some(price_cents),
                currency: String::new(),
                category: category.into(),
                available: None,
            })
            .await
            .expect("item is created")
            .into_inner()
    }
}

/// A valid create request to tweak.
pub fn new_item(name: &str) -> CreateMenuItemRequest {
    CreateMenuItemRequest {
        allergens: Vec::new(),
        name: name.into(),
        description: "tasty".into(),
        price_cents: Some(990),
        currency: "EUR".into(),
        category: "Mains".into(),
        available: Some(true),
    }
}
