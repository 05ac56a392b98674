//! `/readyz` with backends down: the gateway stays ready (200, `"status": "degraded"`, naming
//! what does not serve) while at least one backend serves, and a route whose backend has no
//! live endpoint answers 503 at once; 503 from `/readyz` only when no backend serves.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use gateway::{Application, Config, config::BackendUrls};
use mesh_testkit::{Served, eventually};
use serde_json::{Value, json};

use crate::{
    helpers::{error_of, spawn_stack_with},
    mesh::{Options, WAIT, spawn_mesh},
};

/// What the issue asks of a route whose backend is down. Measured in debug builds on a busy
/// two-core machine, those answers take one to ten milliseconds (the tests print them).
const AT_ONCE: Duration = Duration::from_millis(100);

/// Requests to the downed backend's routes, each timed.
const TIMED_CALLS: usize = 20;

/// An address where nothing listens.
fn dead_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// `/readyz`'s status code and body.
async fn readyz(http: &reqwest::Client, gateway: SocketAddr) -> (u16, Value) {
    let response = http
        .get(format!("http://{gateway}/readyz"))
        .send()
        .await
        .expect("gateway answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("/readyz answers JSON"))
}

/// The feed reads (or rests, reading again for the next subscriber).
const FEED_UP: &[&str] = &["LIVE", "RESTING"];

/// Waits until `/readyz` says `status` (with its 200 or 503) with the feed in one of `feed`;
/// returns the body.
async fn readyz_says(
    http: &reqwest::Client,
    gateway: SocketAddr,
    status: &str,
    feed: &[&str],
) -> Value {
    eventually(
        &format!("/readyz to say {status} with the feed {feed:?}"),
        WAIT,
        || async {
            let (code, body) = readyz(http, gateway).await;
            let expected = if status == "not ready" { 503 } else { 200 };
            let feed_as_wanted = feed.iter().any(|state| body["feed"] == *state);
            (code == expected && body["status"] == status && feed_as_wanted).then_some(body)
        },
    )
    .await
}

/// Sends `request` (built anew each time) `TIMED_CALLS` times; each must answer 503
/// UNAVAILABLE naming `backend`. Returns how long each took.
async fn timed_503s(
    backend: &str,
    mut request: impl FnMut() -> reqwest::RequestBuilder,
) -> Vec<Duration> {
    let mut took = Vec::with_capacity(TIMED_CALLS);
    for _ in 0..TIMED_CALLS {
        let started = Instant::now();
        let response = request().send().await.expect("gateway answers");
        took.push(started.elapsed());
        let (code, message) = error_of(response, 503).await;
        assert_eq!(code, "UNAVAILABLE");
        assert!(message.contains(backend), "{message}");
    }
    took
}

/// The median and the longest of `took`, printed with every figure for the record.
fn median_and_max(what: &str, took: &[Duration]) -> (Duration, Duration) {
    let mut sorted = took.to_vec();
    sorted.sort();
    let (median, max) = (sorted[sorted.len() / 2], sorted[sorted.len() - 1]);
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    eprintln!(
        "{what}: {} answers in ms: min {} median {} max {} (all: {})",
        sorted.len(),
        ms(sorted[0]),
        ms(median),
        ms(max),
        took.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(" "),
    );
    (median, max)
}

/// Every answer within [`AT_ONCE`].
fn assert_at_once(what: &str, took: &[Duration]) {
    let (_, max) = median_and_max(what, took);
    assert!(max < AT_ONCE, "{what}: a 503 took {max:?}, not at once");
}

#[tokio::test]
async fn with_delivery_service_killed_the_gateway_stays_ready_and_delivery_answers_503_at_once() {
    let mut mesh = spawn_mesh(Options {
        delivery_as_process: true,
        ..Options::default()
    })
    .await;
    let order_id = uuid::Uuid::new_v4();
    let delivery = mesh.url(&format!("/delivery/status/{order_id}"));
    // Up, delivery-service answers for itself: no such delivery.
    error_of(mesh.http.get(&delivery).send().await.expect("answers"), 404).await;

    mesh.kill_delivery().await;

    // Still in its Service: 200, degraded, delivery-service named with the reason.
    let body = readyz_says(&mesh.http, mesh.gateway.addr, "degraded", FEED_UP).await;
    assert_ne!(body["backends"]["delivery-service"], "SERVING", "{body}");
    for serving in [
        "menu-service",
        "order-service",
        "inventory-service",
        "billing-service",
    ] {
        assert_eq!(body["backends"][serving], "SERVING", "{body}");
    }
    let degraded: Vec<&String> = body["degraded"]
        .as_object()
        .expect("degraded is an object")
        .keys()
        .collect();
    assert_eq!(degraded, ["delivery-service"], "{body}");
    let why = body["degraded"]["delivery-service"].as_str().unwrap_or("");
    assert!(why.contains("no endpoint serves"), "{body}");
    assert!(body.get("error").is_none(), "{body}");

    // The other backends' routes answer.
    let menu = mesh.get("/menu/items").await;
    assert_eq!(menu.status(), 200);
    let items: Vec<Value> = menu.json().await.expect("menu JSON");
    assert!(!items.is_empty(), "the seeded menu");
    assert_eq!(mesh.get("/api/movies").await.status(), 200);

    // delivery-service's answer 503 at once, reads and writes alike.
    let reads = timed_503s("delivery-service", || mesh.http.get(&delivery)).await;
    assert_at_once("GET /delivery/status/:id, delivery-service killed", &reads);
    let writes = timed_503s("delivery-service", || {
        mesh.http
            .put(&delivery)
            .json(&json!({"status": "ASSIGNED"}))
    })
    .await;
    assert_at_once("PUT /delivery/status/:id, delivery-service killed", &writes);

    // And it heals when delivery-service is back.
    mesh.restart_delivery().await;
    let body = readyz_says(&mesh.http, mesh.gateway.addr, "ready", FEED_UP).await;
    assert_eq!(body["degraded"], json!({}), "{body}");
    eventually("delivery-service to answer again", WAIT, || async {
        let response = mesh.http.get(&delivery).send().await.ok()?;
        (response.status() == 404).then_some(())
    })
    .await;
}

/// A backend that takes connections and never answers (a process stopped with SIGSTOP, a
/// wedged server): its health checks hang until their timeout (a second) instead of being
/// refused, and calls must not wait for them. The call that starts a round of checks waits for
/// it up to the gateway's `HALF_OPEN_WAIT` (50 ms: a backend that is back answers within it),
/// the calls during the rest of the round not at all; before, each waited 100 ms.
#[tokio::test]
async fn a_backend_that_hangs_answers_503_at_once_without_waiting_for_its_checks() {
    // Accepted by the kernel (the backlog), never by anyone: no HTTP/2 answer, ever.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hung_addr = hung.local_addr().expect("addr");
    let stack = spawn_stack_with(|config| {
        config.backends.delivery = vec![format!("http://{hung_addr}")];
    })
    .await;

    let body = readyz_says(&stack.http, stack.gateway.addr, "degraded", FEED_UP).await;
    assert_eq!(
        body["backends"]["delivery-service"], "UNREACHABLE",
        "{body}"
    );
    assert_eq!(
        body["degraded"].as_object().map(|d| d.len()),
        Some(1),
        "{body}"
    );
    assert_eq!(stack.get("/menu/items").await.status(), 200);

    let delivery = stack.url(&format!("/delivery/status/{}", uuid::Uuid::new_v4()));
    let reads = timed_503s("delivery-service", || stack.http.get(&delivery)).await;
    let (median, max) = median_and_max("GET /delivery/status/:id, delivery-service hung", &reads);
    // Measured: the first ~55 ms, the others ~1 ms; waiting for each round, ~104 ms each.
    assert!(
        median < Duration::from_millis(20),
        "calls wait for the hung checks: median {median:?}"
    );
    assert!(
        max < gateway::backends::HALF_OPEN_WAIT + Duration::from_millis(200),
        "a call waited {max:?}"
    );
    drop(hung);
}

#[tokio::test]
async fn a_feed_that_cannot_reach_the_broker_is_degraded_not_unready() {
    let stack = spawn_stack_with(|config| {
        config.kafka.brokers = dead_addr().to_string();
    })
    .await;
    let body = readyz_says(&stack.http, stack.gateway.addr, "degraded", &["STARTING"]).await;
    let degraded: Vec<&String> = body["degraded"]
        .as_object()
        .expect("degraded is an object")
        .keys()
        .collect();
    assert_eq!(degraded, ["feed"], "every backend serves: {body}");
    assert_eq!(stack.get("/menu/items").await.status(), 200);
}

#[tokio::test]
async fn with_no_backend_serving_the_gateway_is_not_ready() {
    mesh_testkit::init_tracing();
    let dead = || vec![format!("http://{}", dead_addr())];
    let config = Config::new(
        ([127, 0, 0, 1], 0).into(),
        BackendUrls {
            menu: dead(),
            order: dead(),
            delivery: dead(),
            inventory: dead(),
            billing: dead(),
        },
        mesh_testkit::kafka(),
        crate::helpers::token_keys(),
    );
    let app = Application::build(config).await.expect("gateway starts");
    let gateway = Served::spawn(app.local_addr(), |stop| app.run_until_stopped(stop.wait()));
    let http = crate::helpers::admin_client();

    // Once the feed reads: positioning it blocks the test's one runtime thread for a moment
    // (dropping rdkafka's admin client), which would show in the timings below.
    let body = readyz_says(&http, gateway.addr, "not ready", FEED_UP).await;
    assert_eq!(body["error"]["code"], "UNAVAILABLE");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for backend in [
        "menu-service",
        "order-service",
        "delivery-service",
        "inventory-service",
        "billing-service",
    ] {
        assert!(message.contains(backend), "{body}");
        assert_ne!(body["backends"][backend], "SERVING", "{body}");
        assert!(body["degraded"][backend].is_string(), "{body}");
    }

    let menu = format!("http://{}/menu/items", gateway.addr);
    let reads = timed_503s("menu-service", || http.get(&menu)).await;
    assert_at_once("GET /menu/items, no backend up", &reads);
}
