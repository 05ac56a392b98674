//! `spawn_app()`: an inventory-service on a free port with a database of its own.

use inventory_service::{Application, Config};
use mesh_proto::inventory::v1::{
    CreateMovieRequest, Movie, inventory_service_client::InventoryServiceClient,
};
use mesh_testkit::Served;
use tonic::transport::Channel;

pub struct TestApp {
    pub served: Served,
    pub client: InventoryServiceClient<Channel>,
}

pub async fn spawn_app() -> TestApp {
    mesh_testkit::init_tracing();
    let config = Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: mesh_testkit::database("inventory"),
    };
    let app = Application::build(config)
        .await
        .expect("inventory-service starts");
    let addr = app.local_addr();
    let served = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    TestApp {
        client: InventoryServiceClient::new(mesh_testkit::channel(addr)),
        served,
    }
}

impl TestApp {
    pub fn client(&self) -> InventoryServiceClient<Channel> {
        self.client.clone()
    }

    pub async fn create(&self, title: &str, description: &str) -> Movie {
        self.client()
            .create_movie(CreateMovieRequest {
                title: title.into(),
                description: description.into(),
            })
            .await
            .expect("movie is created")
            .into_inner()
    }
}
