//! `spawn_stack()`: the gateway in front of menu- and inventory-service, each with a database of
//! its own, and health-only stand-ins for the other backends. All on free ports.

use std::net::SocketAddr;

use gateway::{
    Application, Config,
    auth::{Role, Verifier},
    config::{BackendUrls, TokenKeys},
};
use mesh_kit::{config::DatabaseConfig, grpc::GrpcServer};
use mesh_testkit::Served;
use serde_json::{Value, json};

pub struct Stack {
    pub gateway: Served,
    pub _menu: Served,
    pub inventory: Option<Served>,
    pub inventory_db: DatabaseConfig,
    pub inventory_addr: SocketAddr,
    pub http: reqwest::Client,
    _others: Vec<Served>,
}

/// The secret the test gateways check tokens with.
pub const SECRET: &[u8] = b"the gateway tests' own HS256 secret, 32+ bytes";

/// The token keys every test gateway is configured with.
pub fn token_keys() -> TokenKeys {
    TokenKeys::Secret(SECRET.to_vec())
}

/// A token a test gateway accepts: `subject` with `role`, valid for an hour.
pub fn token(role: Role, subject: &str) -> String {
    Verifier::secret(SECRET)
        .issue(subject, &[role], std::time::Duration::from_secs(3600))
        .expect("a secret issues tokens")
}

/// An HTTP client that sends `token` as its bearer on every request (none: anonymous).
pub fn client_with(token: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        let value = format!("Bearer {token}");
        headers.insert(
            reqwest::header::AUTHORIZATION,
            value.parse().expect("a token is a valid header"),
        );
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// What most tests act as: an admin, who may do everything.
pub fn admin_client() -> reqwest::Client {
    client_with(Some(&token(Role::Admin, "test-admin")))
}

pub async fn spawn_stack() -> Stack {
    spawn_stack_with(|_| {}).await
}

/// [`spawn_stack`] with the gateway's settings changed first.
pub async fn spawn_stack_with(configure: impl FnOnce(&mut Config)) -> Stack {
    mesh_testkit::init_tracing();
    let menu = spawn_menu().await;
    let inventory_db = mesh_testkit::database("inventory");
    let inventory = spawn_inventory(([127, 0, 0, 1], 0).into(), inventory_db.clone()).await;
    let inventory_addr = inventory.addr;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(spawn_health_only().await);
    }
    let mut config = Config::new(
        ([127, 0, 0, 1], 0).into(),
        BackendUrls {
            menu: vec![menu.url()],
            order: vec![others[0].url()],
            delivery: vec![others[1].url()],
            inventory: vec![inventory.url()],
            billing: vec![others[2].url()],
        },
        mesh_testkit::kafka(),
        token_keys(),
    );
    configure(&mut config);
    let app = Application::build(config).await.expect("gateway starts");
    let addr = app.local_addr();
    let gateway = Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()));
    Stack {
        gateway,
        _menu: menu,
        inventory: Some(inventory),
        inventory_db,
        inventory_addr,
        http: admin_client(),
        _others: others,
    }
}

async fn spawn_menu() -> Served {
    let config = menu_service::Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: mesh_testkit::database("menu"),
        seed: true,
    };
    let app = menu_service::Application::build(config)
        .await
        .expect("menu-service starts");
    let addr = app.local_addr();
    Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()))
}

pub async fn spawn_inventory(addr: SocketAddr, database: DatabaseConfig) -> Served {
    let config = inventory_service::Config {
        addr,
        serve: Default::default(),
        database,
    };
    let app = inventory_service::Application::build(config)
        .await
        .expect("inventory-service starts");
    let addr = app.local_addr();
    Served::spawn(addr, |stop| app.run_until_stopped(stop.wait()))
}

async fn spawn_health_only() -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    Served::spawn(addr, |stop| GrpcServer::new().serve(listener, stop.wait()))
}

impl Stack {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("gateway answers")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http
            .delete(self.url(path))
            .send()
            .await
            .expect("gateway answers")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("gateway answers")
    }

    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("gateway answers")
    }

    /// Runs a GraphQL operation; returns the whole response document.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .post(
                "/graphql",
                &json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(response.status(), 200, "GraphQL answers 200");
        response.json().await.expect("GraphQL answers JSON")
    }

    /// Stops inventory-service, as an outage would.
    pub async fn stop_inventory(&mut self) {
        if let Some(inventory) = self.inventory.take() {
            inventory.stop().await;
        }
    }

    /// Starts inventory-service again on the same port and database.
    pub async fn start_inventory(&mut self) {
        self.inventory =
            Some(spawn_inventory(self.inventory_addr, self.inventory_db.clone()).await);
    }
}

/// The `{"error": {"code", "message"}}` of an error response, after checking its status.
pub async fn error_of(response: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(response.status(), status, "status");
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    (code, message)
}

/// POSTs `body` as JSON with `client`; the answer's JSON, whatever its status.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("the answer is JSON")
}

/// A WebSocket upgrade request to the gateway at `addr` speaking graphql-transport-ws.
pub fn ws_request(addr: SocketAddr) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("a WebSocket URL");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    request
}

/// The `extensions.code` of the first GraphQL error.
pub fn graphql_error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}
