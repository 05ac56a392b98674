//! A service binary serves Prometheus metrics on its admin port (`METRICS_ADDR`): latency
//! histograms of the gRPC calls it answered, the events its consumer applied, its consumer lag
//! its outbox backlog, and the statements it sent its database.

use mesh_testkit::eventually;

use crate::mesh::{Options, WAIT, spawn_mesh};

/// The value of the series whose line starts with `series` (name and labels, in the
/// exporter's order), if present.
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn a_service_binary_serves_its_metrics_on_the_admin_port() {
    let mesh = spawn_mesh(Options {
        delivery_as_process: true,
        ..Options::default()
    })
    .await;
    let ids = mesh.menu_ids(1).await;
    let order = mesh.place(&ids).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    mesh.delivery_with_status(&order, "PENDING").await;
    assert_eq!(mesh.move_delivery(&order, "ASSIGNED").await.0, 200);

    // librdkafka reports lag every 5 s, the relay its backlog after each round.
    let metrics: String = eventually("the consumer lag on the admin port", WAIT, || async {
        let metrics = mesh.delivery_metrics().await;
        metrics.contains("mesh_consumer_lag{").then_some(metrics)
    })
    .await;

    let moved = value(
        &metrics,
        r#"mesh_grpc_server_handling_seconds_count{method="/mesh.delivery.v1.DeliveryService/UpdateStatus",code="OK"}"#,
    );
    assert_eq!(moved, Some(1.0), "{metrics}");
    assert!(
        metrics.contains(
            r#"mesh_grpc_server_handling_seconds_bucket{method="/mesh.delivery.v1.DeliveryService/UpdateStatus",code="OK",le="0.1"}"#
        ),
        "no latency buckets: {metrics}"
    );
    let applied = value(
        &metrics,
        r#"mesh_consumer_events_total{group="delivery-service",topic="order-events",outcome="applied"}"#,
    );
    assert!(applied >= Some(2.0), "OrderPlaced and OrderPaid: {metrics}");
    assert!(
        metrics.contains(
            r#"mesh_consumer_lag{group="delivery-service",topic="order-events",partition=""#
        ),
        "{metrics}"
    );
    assert_eq!(
        value(&metrics, "mesh_outbox_backlog "),
        Some(0.0),
        "{metrics}"
    );
    // Opening a delivery, applying two events and a move: statements, each counted once, by
    // kind.
    let statements = |metrics: &str, kind: &str| {
        value(
            metrics,
            &format!("mesh_db_statements_total{{kind=\"{kind}\"}} "),
        )
        .unwrap_or(0.0)
    };
    let total = |metrics: &str| {
        ["read", "write", "transaction"]
            .iter()
            .map(|kind| statements(metrics, kind))
            .sum::<f64>()
    };
    assert!(total(&metrics) >= 10.0, "{metrics}");
    assert!(statements(&metrics, "write") >= 2.0, "{metrics}");
    assert!(statements(&metrics, "transaction") >= 2.0, "{metrics}");

    // Made-up methods, as an attacker scanning the port would call them: answered UNIMPLEMENTED
    // and counted as one series, never a series per path.
    let channel = tonic::transport::Endpoint::from_shared(mesh.delivery_url())
        .expect("URL")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    let made_up = [
        "/mesh.delivery.v1.DeliveryService/Scan0001",
        "/mesh.delivery.v1.DeliveryService/Scan0002",
        "/no.such.Service/Scan0003",
    ];
    for path in made_up {
        grpc.ready().await.expect("ready");
        let status = grpc
            .unary::<(), (), _>(
                tonic::Request::new(()),
                tonic::codegen::http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("no such method");
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{path}");
    }
    let scanned = mesh.delivery_metrics().await;
    assert_eq!(
        value(
            &scanned,
            r#"mesh_grpc_server_handling_seconds_count{method="unknown",code="UNIMPLEMENTED"}"#,
        ),
        Some(3.0),
        "{scanned}"
    );
    assert!(!scanned.contains("Scan000"), "{scanned}");

    let before = mesh.delivery_metrics().await;
    assert_eq!(mesh.move_delivery(&order, "PICKED_UP").await.0, 200);
    let after = mesh.delivery_metrics().await;
    assert!(
        total(&after) > total(&before),
        "a move costs statements: {before} → {after}"
    );
    assert!(
        statements(&after, "write") > statements(&before, "write"),
        "a move writes"
    );
}

#[tokio::test]
async fn the_gateway_times_each_request_by_route_pattern_method_and_status() {
    // As the gateway binary does at start (nextest runs each test in a process of its own).
    mesh_kit::metrics::install();
    let mesh = spawn_mesh(Options::default()).await;
    for _ in 0..3 {
        assert_eq!(mesh.get("/menu/items").await.status(), 200);
    }
    // Two ids, one series: the route's pattern, never the raw path.
    let unknown = [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    ];
    for id in unknown {
        assert_eq!(mesh.get(&format!("/menu/items/{id}")).await.status(), 404);
    }
    assert_eq!(mesh.get("/no/such/route").await.status(), 404);

    let metrics = mesh.get("/metrics").await.text().await.expect("text");
    let count = |labels: &str| {
        value(
            &metrics,
            &format!("gateway_http_request_duration_seconds_count{{{labels}}}"),
        )
    };
    assert_eq!(
        count(r#"route="/menu/items",method="GET",status="200""#),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        count(r#"route="/menu/items/{id}",method="GET",status="404""#),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        count(r#"route="unmatched",method="GET",status="404""#),
        Some(1.0),
        "{metrics}"
    );
    assert!(!metrics.contains(unknown[0]), "{metrics}");
    let listed = value(
        &metrics,
        r#"mesh_grpc_client_handling_seconds_count{backend="menu-service",method="/mesh.menu.v1.MenuService/ListMenuItems",code="OK"}"#,
    );
    assert!(listed >= Some(3.0), "{metrics}");
}
