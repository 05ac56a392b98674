//! The gateway balancing over two menu-service instances sharing one database: one is killed
//! (SIGKILL) under load, and reads go on succeeding on the other; `/readyz` names the dead
//! endpoint and `/metrics` shows no UNAVAILABLE beyond the calls in flight at the kill.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use gateway::{Application, Config, config::BackendUrls};
use mesh_kit::grpc::GrpcServer;
use mesh_testkit::{
    Served, eventually,
    process::{Process, free_port, wait_for_port, workspace_binary},
};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
/// Clients reading at once: at most this many calls are in flight when the instance dies.
const WORKERS: usize = 4;

async fn spawn_health_only() -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    Served::spawn(addr, |stop| GrpcServer::new().serve(listener, stop.wait()))
}

/// `/readyz`'s state of one menu endpoint.
fn menu_endpoint(readyz: &Value, addr: SocketAddr) -> String {
    readyz["endpoints"]["menu-service"][addr.to_string()]
        .as_str()
        .unwrap_or("ABSENT")
        .to_owned()
}

#[tokio::test]
async fn reads_keep_succeeding_when_one_of_two_menu_instances_is_killed_mid_load() {
    mesh_testkit::init_tracing();
    let database = mesh_testkit::database("menu");
    // The first instance creates, migrates and seeds the database the second then shares.
    let first = menu_service::Application::build(menu_service::Config {
        serve: Default::default(),
        addr: ([127, 0, 0, 1], 0).into(),
        database: database.clone(),
        seed: true,
    })
    .await
    .expect("menu-service starts");
    let first = Served::spawn(first.local_addr(), |stop| {
        first.run_until_stopped(stop.wait())
    });
    let second_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let second_metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut second = Process::start(
        "menu-service",
        &workspace_binary("menu-service"),
        &[],
        &[
            ("MENU_ADDR", second_addr.to_string()),
            ("METRICS_ADDR", second_metrics.to_string()),
            ("PG_URL", database.server_url.clone()),
            ("MENU_DB_NAME", database.name.clone()),
            ("MENU_SEED", "false".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ],
        Path::new("."),
    );
    wait_for_port(second_addr, WAIT).await;

    let mut others = Vec::new();
    for _ in 0..4 {
        others.push(spawn_health_only().await);
    }
    let config = Config::new(
        ([127, 0, 0, 1], 0).into(),
        BackendUrls {
            menu: vec![first.url(), format!("http://{second_addr}")],
            order: vec![others[0].url()],
            delivery: vec![others[1].url()],
            inventory: vec![others[2].url()],
            billing: vec![others[3].url()],
        },
        mesh_testkit::kafka(),
        crate::helpers::token_keys(),
    );
    let app = Application::build(config).await.expect("gateway starts");
    let gateway = Served::spawn(app.local_addr(), |stop| app.run_until_stopped(stop.wait()));
    let http = crate::helpers::admin_client();
    let url = |path: &str| format!("http://{}{path}", gateway.addr);

    let readyz: Value = eventually("both menu instances to be ready", WAIT, || async {
        let response = http.get(url("/readyz")).send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (menu_endpoint(&body, first.addr) == "SERVING"
            && menu_endpoint(&body, second_addr) == "SERVING")
            .then_some(body)
    })
    .await;
    assert_eq!(readyz["backends"]["menu-service"], "SERVING");

    // Clients read the menu over and over.
    let stop = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (stop, succeeded, failed) = (stop.clone(), succeeded.clone(), failed.clone());
            let (http, url) = (http.clone(), url("/menu/items"));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match http.get(&url).send().await {
                        Ok(response) if response.status() == 200 => {
                            succeeded.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(response) => {
                            let status = response.status();
                            let body = response.text().await.unwrap_or_default();
                            failed
                                .lock()
                                .expect("lock")
                                .push(format!("{status} {body}"));
                        }
                        Err(err) => failed.lock().expect("lock").push(err.to_string()),
                    }
                }
            })
        })
        .collect();

    // Load is well under way, on both instances (the second counts its calls on its admin
    // port), before one dies.
    let served_by_second = format!("http://{second_metrics}/metrics");
    eventually(
        "100 reads, some served by the second instance",
        WAIT,
        || async {
            let metrics = match http.get(&served_by_second).send().await {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let on_second = metrics.contains(
                r#"mesh_grpc_server_handling_seconds_count{method="/mesh.menu.v1.MenuService/ListMenuItems",code="OK"}"#,
            );
            (succeeded.load(Ordering::SeqCst) >= 100 && on_second).then_some(())
        },
    )
    .await;
    second.kill().await;
    let at_kill = succeeded.load(Ordering::SeqCst);
    eventually("200 more reads after the kill", WAIT, || {
        let done = succeeded.load(Ordering::SeqCst) >= at_kill + 200;
        async move { done.then_some(()) }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.expect("worker");
    }

    let failed = failed.lock().expect("lock").clone();
    assert!(
        failed.len() <= WORKERS,
        "{} reads failed, more than were in flight: {failed:?}",
        failed.len()
    );

    // Still ready on the surviving instance, and the dead one is named.
    let response = http.get(url("/readyz")).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    let readyz: Value = response.json().await.expect("JSON");
    assert_eq!(readyz["status"], "ready", "{readyz}");
    assert_eq!(menu_endpoint(&readyz, first.addr), "SERVING");
    assert_ne!(menu_endpoint(&readyz, second_addr), "SERVING", "{readyz}");

    let metrics = http
        .get(url("/metrics"))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    let unavailable: u64 = metrics
        .lines()
        .filter(|line| {
            line.starts_with("gateway_backend_calls_total")
                && line.contains("backend=\"menu-service\"")
                && line.contains("code=\"UNAVAILABLE\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(unavailable <= WORKERS as u64, "{metrics}");
}
