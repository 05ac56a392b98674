//! What every route shares: JSON errors for unknown routes and bad bodies, request ids, health,
//! and the GraphiQL page served with no CDN.

use serde_json::Value;

use crate::helpers::{error_of, spawn_stack, spawn_stack_with};

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let stack = spawn_stack().await;
    let (code, _) = error_of(stack.get("/nope").await, 404).await;
    assert_eq!(code, "NOT_FOUND");
    let response = stack
        .http
        .patch(stack.url("/api/movies"))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 405).await;
    assert_eq!(code, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn bodies_that_are_not_small_json_are_refused() {
    let stack = spawn_stack().await;
    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "text/plain")
        .body("title=Heat")
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 415).await;
    assert_eq!(code, "UNSUPPORTED_MEDIA_TYPE");

    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 400).await;
    assert_eq!(code, "INVALID_ARGUMENT");

    let huge = format!(
        "{{\"title\": \"{}\", \"description\": \"x\"}}",
        "x".repeat(1 << 20)
    );
    let response = stack
        .http
        .post(stack.url("/api/movies"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");

    // The optional body of a cancel is read under the same limit, with the same JSON error.
    let response = stack
        .http
        .post(stack.url(&format!("/orders/{}/cancel", uuid::Uuid::new_v4())))
        .header("content-type", "application/json")
        .body(format!("{{\"reason\": \"{}\"}}", "x".repeat(1 << 20)))
        .send()
        .await
        .expect("answers");
    let (code, _) = error_of(response, 413).await;
    assert_eq!(code, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn a_backend_that_drops_the_connection_mid_call_is_a_502_not_a_500() {
    // A "backend" that takes the call and hangs up before answering, as a SIGKILL would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let backend = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buffer = vec![0; 64 * 1024];
                // The HTTP/2 preface and the request's frames, then gone.
                let _ = socket.read(&mut buffer).await;
                drop(socket);
            });
        }
    });
    let stack =
        spawn_stack_with(|config| config.backends.order = vec![format!("http://{backend}")]).await;
    // A request the gateway lets through: the backend, not the input, is what fails.
    let item = uuid::Uuid::new_v4();
    let body = serde_json::json!({"customer_id": "c-1", "items": [{"menu_item_id": item, "quantity": 1}], "delivery_address": "x"});
    let response = stack.post("/orders", &body).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error");
    assert!(
        matches!(status, 502 | 503),
        "a lost backend is 502 or 503, got {status}: {body}"
    );
    assert!(
        matches!(
            body["error"]["code"].as_str(),
            Some("BAD_GATEWAY" | "UNAVAILABLE")
        ),
        "{body}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let stack = spawn_stack().await;
    let generated = stack.get("/healthz").await;
    assert_eq!(generated.status(), 200);
    let id = generated.headers()["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

    let echoed = stack
        .http
        .get(stack.url("/menu/items"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("answers");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn ready_when_every_backend_serves_and_the_feed_is_live() {
    let stack = spawn_stack().await;
    // The subscription feed positions itself on the broker just after start.
    let body: Value = mesh_testkit::eventually(
        "the gateway to be ready",
        std::time::Duration::from_secs(20),
        || async {
            let response = stack.get("/readyz").await;
            if response.status() != 200 {
                return None;
            }
            // 200 while degraded too (the feed starting): wait for "ready".
            let body: Value = response.json().await.ok()?;
            (body["status"] == "ready").then_some(body)
        },
    )
    .await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["backends"].as_object().map(|b| b.len()), Some(5));
    assert_eq!(body["feed"], "LIVE");
}

#[tokio::test]
async fn graphiql_is_served_from_the_gateway_itself() {
    let stack = spawn_stack().await;
    let page = stack.get("/graphql").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let html = page.text().await.expect("text");
    assert!(
        html.contains("/graphiql/assets/graphiql/"),
        "page loads GraphiQL from the gateway"
    );
    for external in ["unpkg.com", "jsdelivr", "cdnjs", "googleapis", "https://"] {
        assert!(!html.contains(external), "page references {external}");
    }
    // Every asset the page names is served.
    let assets: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/assets/"))
        .collect();
    assert!(!assets.is_empty());
    for asset in assets {
        let response = stack.get(asset).await;
        assert_eq!(
            response.status(),
            200,
            "{asset} (run `npm ci` in gateway/web)"
        );
    }
    let (code, _) = error_of(stack.get("/graphiql/assets/left-pad/index.js").await, 404).await;
    assert_eq!(code, "NOT_FOUND");
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let ca = mesh_testkit::certs::TestCa::new();
    let dir = std::env::temp_dir().join(format!("gateway-tls-{}", mesh_testkit::unique_id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert, key) = ca.issue(&["localhost", "127.0.0.1"]).write(&dir, "gateway");
    let stack = spawn_stack_with(|config| {
        config.tls = Some(gateway::config::TlsFiles { cert, key });
    })
    .await;
    let url = format!("https://localhost:{}/healthz", stack.gateway.addr.port());

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA"))
        .https_only(true)
        .build()
        .expect("client");
    let response = trusting.get(&url).send().await.expect("HTTPS answers");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().contains_key("strict-transport-security"),
        "HSTS over HTTPS"
    );
    // A client that does not trust the CA refuses the certificate.
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    // Plain HTTP on the HTTPS port gets nothing useful.
    let plain = format!("http://127.0.0.1:{}/healthz", stack.gateway.addr.port());
    let answer = reqwest::Client::new().get(&plain).send().await;
    assert!(answer.map(|r| r.status() != 200).unwrap_or(true));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let stack = spawn_stack().await;
    let response = stack.get("/menu/items").await;
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    // No CORS unless origins are configured.
    assert!(!headers.contains_key("access-control-allow-origin"));

    let stack = spawn_stack_with(|config| {
        config.cors_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = stack
        .http
        .request(reqwest::Method::OPTIONS, stack.url("/orders"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let elsewhere = stack
        .http
        .get(stack.url("/menu/items"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .expect("answers");
    assert!(
        !elsewhere
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn the_root_redirects_to_the_web_page_and_its_routes_serve_index_html() {
    let dir = std::env::temp_dir().join(format!("mesh-app-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).expect("temp dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").expect("index");
    std::fs::write(dir.join("assets/app.js"), "export {}").expect("asset");
    let app_dir = dir.clone();
    let stack = spawn_stack_with(move |config| config.app_dir = app_dir).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let root = http.get(stack.url("/")).send().await.expect("answers");
    assert_eq!(root.status(), 307);
    assert_eq!(root.headers()["location"], "/app/");

    for path in ["/app/", "/app/orders/x", "/app/menu/some-id"] {
        let page = http.get(stack.url(path)).send().await.expect("answers");
        assert_eq!(page.status(), 200, "{path}");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(csp.contains("connect-src 'self'"), "{path}: {csp}");
        assert!(
            page.text()
                .await
                .expect("body")
                .contains("<title>app</title>"),
            "{path}"
        );
    }
    let asset = http
        .get(stack.url("/app/assets/app.js"))
        .send()
        .await
        .expect("answers");
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap_or_default()
            .contains("immutable")
    );
    let (code, _) = error_of(
        http.get(stack.url("/app/assets/gone.js"))
            .send()
            .await
            .expect("answers"),
        404,
    )
    .await;
    assert_eq!(code, "NOT_FOUND");
    // The REST routes keep their paths.
    assert_eq!(stack.get("/menu/items").await.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}
