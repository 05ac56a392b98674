//! The real billing-service binary: requests queued while it is down are all stored when it
//! starts, and a SIGKILL in the middle of a burst loses and repeats nothing.

use std::{collections::HashSet, net::SocketAddr, time::Duration};

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use futures::{StreamExt, stream};
use mesh_kafka::{BILLING_REQUESTS, CloudEvent, KafkaConfig};
use mesh_kit::{config::DatabaseConfig, db};
use mesh_proto::events::v1::BillingRequested;
use mesh_testkit::{
    eventually,
    process::{Process, free_port, wait_for_port, workspace_binary},
};

use crate::helpers::{WAIT, all_orders_of, client, requested};

const BURST: usize = 1_000;

struct Billing {
    process: Process,
    addr: SocketAddr,
}

async fn start_billing(
    addr: SocketAddr,
    database: &DatabaseConfig,
    kafka: &KafkaConfig,
) -> Billing {
    let process = Process::start(
        "billing-service",
        &workspace_binary("billing-service"),
        &[],
        &[
            ("BILLING_ADDR", addr.to_string()),
            ("PG_URL", database.server_url.clone()),
            ("BILLING_DB_NAME", database.name.clone()),
            ("KAFKA_BROKERS", kafka.brokers.clone()),
            ("KAFKA_TOPIC_PREFIX", kafka.prefix.clone()),
            ("KAFKA_FETCH_WAIT_MS", "10".to_owned()),
            ("KAFKA_SESSION_TIMEOUT_MS", "6000".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ],
        std::path::Path::new("."),
    );
    wait_for_port(addr, WAIT).await;
    Billing { process, addr }
}

/// Queues `BURST` requests of user `user_id` through one producer, as the gateway does, each
/// acknowledged by the broker; returns their ids.
async fn queue_burst(kafka: &KafkaConfig, user_id: i64) -> HashSet<String> {
    kafka
        .ensure_topics(&[BILLING_REQUESTS])
        .await
        .expect("topics");
    let producer = kafka.producer().expect("producer");
    let topic = kafka.topic(BILLING_REQUESTS);
    let requests: Vec<BillingRequested> =
        (0..BURST).map(|n| requested(user_id, n as i64)).collect();
    stream::iter(requests.iter().map(|request| {
        let producer = producer.clone();
        let topic = topic.clone();
        async move {
            let payload = mesh_proto::json::to_json(request).expect("json");
            let event_type = <BillingRequested as mesh_proto::Name>::full_name();
            let headers = CloudEvent {
                id: &request.request_id,
                event_type: &event_type,
                source: "/mesh/test",
                time: chrono::Utc::now(),
                subject: None,
                request_id: None,
                traceparent: None,
                schema_version: 1,
            }
            .headers();
            mesh_kafka::publish(
                &producer,
                &topic,
                &user_id.to_string(),
                payload.as_bytes(),
                headers,
            )
            .await
            .expect("the broker acknowledges");
        }
    }))
    .buffer_unordered(32)
    .collect::<Vec<()>>()
    .await;
    requests.into_iter().map(|r| r.request_id).collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn stored_rows(pool: &db::PgPool) -> i64 {
    let mut conn = pool.get().await.expect("connection");
    diesel::sql_query("SELECT count(*) AS n FROM billing_orders")
        .get_result::<Count>(&mut conn)
        .await
        .map(|count| count.n)
        .unwrap_or(0)
}

/// Waits until all `BURST` are stored and checks each accepted request is there exactly once.
async fn assert_all_stored_once(
    billing: &Billing,
    user_id: i64,
    accepted: &HashSet<String>,
    pool: &db::PgPool,
) {
    eventually("every queued request to be stored", WAIT, || async {
        (stored_rows(pool).await >= BURST as i64).then_some(())
    })
    .await;
    let stored = all_orders_of(&client(billing.addr), user_id, 500).await;
    let ids: HashSet<String> = stored.iter().map(|o| o.request_id.clone()).collect();
    assert_eq!(
        stored.len(),
        BURST,
        "no request stored twice\n{}",
        billing.process.log()
    );
    assert_eq!(&ids, accepted, "every accepted request stored");
    assert_eq!(stored_rows(pool).await, BURST as i64);
}

#[tokio::test]
async fn requests_queued_while_billing_is_down_are_all_stored_once_when_it_starts() {
    mesh_testkit::init_tracing();
    let kafka = mesh_testkit::kafka();
    let database = mesh_testkit::database("billing");
    let accepted = queue_burst(&kafka, 5).await;

    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let billing = start_billing(addr, &database, &kafka).await;
    let pool = db::connect(&database, &[]).await.expect("database");
    assert_all_stored_once(&billing, 5, &accepted, &pool).await;
}

#[tokio::test]
async fn a_sigkill_in_the_middle_of_a_burst_loses_and_repeats_nothing() {
    mesh_testkit::init_tracing();
    let kafka = mesh_testkit::kafka();
    let database = mesh_testkit::database("billing");
    let accepted = queue_burst(&kafka, 6).await;

    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut billing = start_billing(addr, &database, &kafka).await;
    let pool = db::connect(&database, &[]).await.expect("database");
    eventually("the burst to be under way", WAIT, || async {
        (stored_rows(&pool).await >= 50).then_some(())
    })
    .await;
    billing.process.kill().await;
    let stored_at_kill = stored_rows(&pool).await;
    assert!(
        (stored_at_kill as usize) < BURST,
        "killed after the burst was done ({stored_at_kill} rows): the test proves nothing"
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let billing = start_billing(addr, &database, &kafka).await;
    assert_all_stored_once(&billing, 6, &accepted, &pool).await;
}
