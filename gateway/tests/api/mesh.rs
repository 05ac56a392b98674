//! `spawn_mesh()`: the whole mesh on a Kafka prefix of the test's own: the five services, each
//! with its own database, and the gateway in front. delivery-service can also run as a child
//! process, for tests that kill it.

use std::{net::SocketAddr, time::Duration};

use gateway::{Application, Config, config::BackendUrls};
use mesh_kafka::KafkaConfig;
use mesh_kit::config::DatabaseConfig;
use mesh_testkit::{
    Served, eventually,
    process::{Process, free_port, wait_for_port, workspace_binary},
};
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(30);

pub struct Mesh {
    pub gateway: Served,
    pub http: reqwest::Client,
    pub kafka: KafkaConfig,
    delivery: Delivery,
    _services: Vec<Served>,
}

/// How delivery-service runs: in-process, or as a process a test can SIGKILL.
enum Delivery {
    InProcess(Option<Served>),
    Child {
        process: Box<Process>,
        addr: SocketAddr,
        /// Its admin port (`METRICS_ADDR`): a binary serves its metrics there.
        metrics: SocketAddr,
        database: DatabaseConfig,
    },
}

impl Delivery {
    /// Its gRPC URL.
    fn url(&self) -> String {
        match self {
            Delivery::InProcess(served) => served.as_ref().expect("started").url(),
            Delivery::Child { addr, .. } => format!("http://{addr}"),
        }
    }
}

pub struct Options {
    /// billing-service declines payments above this.
    pub payment_limit_cents: i64,
    /// Run delivery-service as a child process.
    pub delivery_as_process: bool,
    /// The gateway's `GATEWAY_FEED_REST_MS`, when not the default.
    pub feed_rest: Option<std::time::Duration>,
    /// Any other change to the gateway's settings.
    pub configure_gateway: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            payment_limit_cents: 100_000,
            delivery_as_process: false,
            feed_rest: None,
            configure_gateway: |_| {},
        }
    }
}

pub async fn spawn_mesh(options: Options) -> Mesh {
    mesh_testkit::init_tracing();
    let kafka = mesh_testkit::kafka();
    let local = || SocketAddr::from(([127, 0, 0, 1], 0));

    let menu = menu_service::Application::build(menu_service::Config {
        serve: Default::default(),
        addr: local(),
        database: mesh_testkit::database("menu"),
        seed: true,
    })
    .await
    .expect("menu-service starts");
    let menu = Served::spawn(menu.local_addr(), |stop| {
        menu.run_until_stopped(stop.wait())
    });

    let inventory = inventory_service::Application::build(inventory_service::Config {
        serve: Default::default(),
        addr: local(),
        database: mesh_testkit::database("inventory"),
    })
    .await
    .expect("inventory-service starts");
    let inventory = Served::spawn(inventory.local_addr(), |stop| {
        inventory.run_until_stopped(stop.wait())
    });

    let order = order_service::build(order_service::Config {
        serve: Default::default(),
        balance: Default::default(),
        addr: local(),
        database: mesh_testkit::database("orders"),
        kafka: kafka.clone(),
        menu_url: menu.url(),
    })
    .await
    .expect("order-service starts");
    let order = Served::spawn(order.local_addr(), |stop| {
        order.run_until_stopped(stop.wait())
    });

    let billing = billing_service::build(billing_service::Config {
        serve: Default::default(),
        addr: local(),
        database: mesh_testkit::database("billing"),
        kafka: kafka.clone(),
        payment_limit_cents: options.payment_limit_cents,
    })
    .await
    .expect("billing-service starts");
    let billing = Served::spawn(billing.local_addr(), |stop| {
        billing.run_until_stopped(stop.wait())
    });

    let delivery_db = mesh_testkit::database("delivery");
    let delivery = if options.delivery_as_process {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let process = start_delivery_process(addr, metrics, &delivery_db, &kafka).await;
        Delivery::Child {
            process: Box::new(process),
            addr,
            metrics,
            database: delivery_db,
        }
    } else {
        let app = delivery_service::build(delivery_service::Config {
            serve: Default::default(),
            addr: local(),
            database: delivery_db,
            kafka: kafka.clone(),
        })
        .await
        .expect("delivery-service starts");
        Delivery::InProcess(Some(Served::spawn(app.local_addr(), |stop| {
            app.run_until_stopped(stop.wait())
        })))
    };
    let delivery_url = delivery.url();

    let mut config = Config::new(
        local(),
        BackendUrls {
            menu: vec![menu.url()],
            order: vec![order.url()],
            delivery: vec![delivery_url],
            inventory: vec![inventory.url()],
            billing: vec![billing.url()],
        },
        kafka.clone(),
        crate::helpers::token_keys(),
    );
    if let Some(rest) = options.feed_rest {
        config.graphql.feed_rest = rest;
    }
    (options.configure_gateway)(&mut config);
    let app = Application::build(config).await.expect("gateway starts");
    let gateway = Served::spawn(app.local_addr(), |stop| app.run_until_stopped(stop.wait()));
    let mesh = Mesh {
        gateway,
        http: crate::helpers::admin_client(),
        kafka,
        delivery,
        _services: vec![menu, inventory, order, billing],
    };
    // Every backend serving and the feed live: "ready", not only 200 (a gateway with a backend
    // down answers 200 "degraded").
    eventually("the mesh to be ready", WAIT, || async {
        let response = mesh.get("/readyz").await;
        let status = response.status();
        let body: Value = response.json().await.ok()?;
        (status == 200 && body["status"] == "ready").then_some(())
    })
    .await;
    mesh
}

async fn start_delivery_process(
    addr: SocketAddr,
    metrics: SocketAddr,
    database: &DatabaseConfig,
    kafka: &KafkaConfig,
) -> Process {
    let binary = workspace_binary("delivery-service");
    let process = Process::start(
        "delivery-service",
        &binary,
        &[],
        &[
            ("DELIVERY_ADDR", addr.to_string()),
            ("METRICS_ADDR", metrics.to_string()),
            ("PG_URL", database.server_url.clone()),
            ("DELIVERY_DB_NAME", database.name.clone()),
            ("KAFKA_BROKERS", kafka.brokers.clone()),
            ("KAFKA_TOPIC_PREFIX", kafka.prefix.clone()),
            ("KAFKA_FETCH_WAIT_MS", "10".to_owned()),
            ("KAFKA_SESSION_TIMEOUT_MS", "6000".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ],
        std::path::Path::new("."),
    );
    wait_for_port(addr, WAIT).await;
    process
}

impl Mesh {
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

    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .post(
                "/graphql",
                &json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("GraphQL answers JSON")
    }

    /// Ids of seeded menu items.
    pub async fn menu_ids(&self, count: usize) -> Vec<String> {
        let items: Vec<Value> = self.get("/menu/items").await.json().await.expect("menu");
        items
            .iter()
            .take(count)
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// Places an order for one of each of `ids`; returns the order JSON.
    pub async fn place(&self, ids: &[String]) -> Value {
        let items: Vec<Value> = ids
            .iter()
            .map(|id| json!({"menu_item_id": id, "quantity": 1}))
            .collect();
        let response = self
            .post(
                "/orders",
                &json!({"customer_id": "c-42", "items": items, "delivery_address": "742 Evergreen Terrace"}),
            )
            .await;
        assert_eq!(response.status(), 201, "order placed");
        response.json().await.expect("order JSON")
    }

    /// Waits until the order has `status`; returns it.
    pub async fn order_with_status(&self, id: &str, status: &str) -> Value {
        eventually(&format!("order {id} to be {status}"), WAIT, || async {
            let order: Value = self.get(&format!("/orders/{id}")).await.json().await.ok()?;
            (order["status"] == status).then_some(order)
        })
        .await
    }

    /// Waits until the order's delivery exists with `status`; returns it.
    pub async fn delivery_with_status(&self, id: &str, status: &str) -> Value {
        eventually(
            &format!("delivery of {id} to be {status}"),
            WAIT,
            || async {
                let response = self.get(&format!("/delivery/status/{id}")).await;
                if response.status() != 200 {
                    return None;
                }
                let delivery: Value = response.json().await.ok()?;
                (delivery["status"] == status).then_some(delivery)
            },
        )
        .await
    }

    /// `PUT /delivery/status/:id`; returns the status code and body.
    pub async fn move_delivery(&self, id: &str, status: &str) -> (u16, Value) {
        let response = self
            .put(
                &format!("/delivery/status/{id}"),
                &json!({"status": status}),
            )
            .await;
        let code = response.status().as_u16();
        (code, response.json().await.expect("JSON"))
    }

    /// How many calls the gateway made to `backend`'s `method` (from `/metrics`).
    pub async fn backend_calls(&self, method: &str) -> u64 {
        let text = self.get("/metrics").await.text().await.expect("metrics");
        text.lines()
            .filter(|line| {
                line.starts_with("gateway_backend_calls_total")
                    && line.contains(&format!("method=\"{method}\""))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// SIGKILLs delivery-service (it must run as a process).
    pub async fn kill_delivery(&mut self) {
        match &mut self.delivery {
            Delivery::Child { process, .. } => process.kill().await,
            Delivery::InProcess(_) => {
                panic!("delivery-service runs in-process; use Options::delivery_as_process")
            }
        }
    }

    /// Starts delivery-service again on the same port, database and topics.
    pub async fn restart_delivery(&mut self) {
        let kafka = self.kafka.clone();
        match &mut self.delivery {
            Delivery::Child {
                process,
                addr,
                metrics,
                database,
            } => {
                **process = start_delivery_process(*addr, *metrics, database, &kafka).await;
            }
            Delivery::InProcess(_) => panic!("delivery-service runs in-process"),
        }
    }

    /// What the delivery-service process serves on its admin port (it must run as a process).
    /// The gRPC URL of delivery-service.
    pub fn delivery_url(&self) -> String {
        self.delivery.url()
    }

    pub async fn delivery_metrics(&self) -> String {
        let Delivery::Child { metrics, .. } = &self.delivery else {
            panic!("delivery-service runs in-process; use Options::delivery_as_process")
        };
        let response = self
            .http
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .expect("the admin port answers");
        assert_eq!(response.status(), 200);
        response.text().await.expect("text")
    }

    /// The log of the delivery-service process, for failure messages.
    pub fn delivery_log(&self) -> String {
        match &self.delivery {
            Delivery::Child { process, .. } => process.log(),
            Delivery::InProcess(_) => String::new(),
        }
    }
}
