//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, one `POST /orders` is one trace: the gateway, the
//! order-service that stores it, the billing-service that charges it (over Kafka) and the
//! delivery-service that opens its delivery (over Kafka again) all export spans of that trace
//! to the collector. The programs are the real binaries; the collector is an OTLP/HTTP endpoint
//! served here.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
};

use axum::{body::Bytes, routing::post};
use gateway::auth::Role;
use mesh_testkit::{
    eventually,
    process::{Process, free_port, wait_for_port, workspace_binary},
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest, common::v1::any_value::Value as AnyValue,
};
use prost::Message;
use serde_json::{Value, json};

use crate::{
    helpers::{SECRET, client_with, token},
    mesh::WAIT,
};

/// Trace id (hex) → the services that exported spans of it.
type Traces = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

/// An OTLP/HTTP collector that remembers which service sent spans of which trace.
async fn collector() -> (SocketAddr, Traces) {
    let traces = Traces::default();
    let seen = traces.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let seen = seen.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut seen = seen.lock().expect("lock");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|attribute| attribute.key == "service.name")
                        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
                        .map(|value| match value {
                            AnyValue::StringValue(name) => name.clone(),
                            other => format!("{other:?}"),
                        })
                        .unwrap_or_default();
                    for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                        let trace: String =
                            span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                        seen.entry(trace).or_default().insert(service.clone());
                    }
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, traces)
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

#[tokio::test]
async fn one_order_is_one_trace_across_the_gateway_and_three_services() {
    mesh_testkit::init_tracing();
    let (collector, traces) = collector().await;
    let kafka = mesh_testkit::kafka();
    let pg = mesh_testkit::database("traces").server_url;
    let common = |name: &str, db: Option<&str>| {
        let mut env = vec![
            ("PG_URL", pg.clone()),
            ("KAFKA_BROKERS", kafka.brokers.clone()),
            ("KAFKA_TOPIC_PREFIX", kafka.prefix.clone()),
            ("KAFKA_FETCH_WAIT_MS", "10".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
            // Export within a moment, not the default 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
            ("METRICS_ADDR", local().to_string()),
            ("RUST_LOG", "info".to_owned()),
        ];
        if let Some(db) = db {
            let prefix = name.trim_end_matches("-service").to_uppercase();
            env.push((
                match prefix.as_str() {
                    "MENU" => "MENU_DB_NAME",
                    "ORDER" => "ORDER_DB_NAME",
                    "BILLING" => "BILLING_DB_NAME",
                    _ => "DELIVERY_DB_NAME",
                },
                format!("test_{db}_{}", mesh_testkit::unique_id()),
            ));
        }
        env
    };
    let start = |name: &'static str, mut env: Vec<(&'static str, String)>, addr_var| {
        let addr = local();
        env.push((addr_var, addr.to_string()));
        let process = Process::start(name, &workspace_binary(name), &[], &env, Path::new("."));
        (process, addr)
    };

    let (_menu, menu) = start(
        "menu-service",
        common("menu-service", Some("menu")),
        "MENU_ADDR",
    );
    wait_for_port(menu, WAIT).await;
    let mut order_env = common("order-service", Some("orders"));
    order_env.push(("MENU_URL", format!("http://{menu}")));
    let (_order, order) = start("order-service", order_env, "ORDER_ADDR");
    let (_billing, billing) = start(
        "billing-service",
        common("billing-service", Some("billing")),
        "BILLING_ADDR",
    );
    let (_delivery, delivery) = start(
        "delivery-service",
        common("delivery-service", Some("delivery")),
        "DELIVERY_ADDR",
    );
    for addr in [order, billing, delivery] {
        wait_for_port(addr, WAIT).await;
    }
    let mut gateway_env = common("gateway", None);
    gateway_env.extend([
        ("MENU_URL", format!("http://{menu}")),
        ("ORDER_URL", format!("http://{order}")),
        ("BILLING_URL", format!("http://{billing}")),
        ("DELIVERY_URL", format!("http://{delivery}")),
        // Not part of this flow: nothing listens there.
        ("INVENTORY_URL", format!("http://{}", local())),
        (
            "GATEWAY_JWT_SECRET",
            String::from_utf8(SECRET.to_vec()).expect("utf-8"),
        ),
        ("GATEWAY_RATE_LIMIT_PER_SECOND", "0".to_owned()),
    ]);
    let (mut gateway, gateway_addr) = start("gateway", gateway_env, "GATEWAY_ADDR");
    wait_for_port(gateway_addr, WAIT).await;

    let customer = client_with(Some(&token(Role::Customer, "c-trace")));
    let courier = client_with(Some(&token(Role::Courier, "k-trace")));
    let url = |path: &str| format!("http://{gateway_addr}{path}");
    let items: Value = customer
        .get(url("/menu/items?page_size=1"))
        .send()
        .await
        .expect("menu")
        .json()
        .await
        .expect("json");
    let placed = customer
        .post(url("/orders"))
        .json(&json!({
            "items": [{"menu_item_id": items[0]["id"], "quantity": 1}],
            "delivery_address": "1 Trace Street",
        }))
        .send()
        .await
        .expect("order");
    assert_eq!(placed.status(), 201, "{}", gateway.log());
    let placed: Value = placed.json().await.expect("json");
    let id = placed["id"].as_str().expect("id").to_owned();

    // The order is paid and its delivery opened: every hop ran.
    eventually("the order's delivery", WAIT, || async {
        let response = courier
            .get(url(&format!("/delivery/status/{id}")))
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(())
    })
    .await;

    let wanted: BTreeSet<String> = [
        "gateway",
        "order-service",
        "billing-service",
        "delivery-service",
    ]
    .map(str::to_owned)
    .into();
    eventually(
        "one trace with spans of all four programs",
        WAIT,
        || async {
            let traces = traces.lock().expect("lock");
            traces
                .values()
                .any(|services| services.is_superset(&wanted))
                .then_some(())
        },
    )
    .await;
    gateway.terminate(std::time::Duration::from_secs(5)).await;
}
