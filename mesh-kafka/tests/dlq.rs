//! Replaying a dead-letter topic against the real broker: records go back to their topic with
//! their identity, the dead-letter headers stripped, and a second replay copies nothing twice.

use std::time::Duration;

use mesh_kafka::{BILLING_REQUESTS, KafkaConfig, dlq, dlq_of};
use mesh_testkit::records;

const WAIT: Duration = Duration::from_secs(20);

async fn dead_letter(kafka: &KafkaConfig, key: &str, ce_id: &str) {
    let origin = kafka.topic(BILLING_REQUESTS);
    records::produce(
        kafka,
        &kafka.topic(&dlq_of(BILLING_REQUESTS)),
        key,
        format!("{{\"requestId\":\"{ce_id}\"}}").as_bytes(),
        &[
            ("ce_id", ce_id),
            ("ce_type", "mesh.events.v1.BillingRequested"),
            ("x-request-id", "req-1"),
            ("dlq_reason", "user_id: must be a positive integer"),
            ("dlq_topic", origin.as_str()),
            ("dlq_partition", "0"),
            ("dlq_offset", "7"),
            ("dlq_consumer", "billing-service"),
        ],
    )
    .await;
}

#[tokio::test]
async fn replay_moves_each_dead_letter_back_once() {
    mesh_testkit::init_tracing();
    let kafka = mesh_testkit::kafka();
    kafka
        .ensure_topics(&[BILLING_REQUESTS])
        .await
        .expect("topics");
    for n in 1..=3 {
        dead_letter(&kafka, &format!("user-{n}"), &format!("event-{n}")).await;
    }

    let listed = dlq::replay(&kafka, BILLING_REQUESTS, true)
        .await
        .expect("dry run");
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|r| r.reason == "user_id: must be a positive integer")
    );

    let replayed = dlq::replay(&kafka, BILLING_REQUESTS, false)
        .await
        .expect("replay");
    assert_eq!(replayed.len(), 3, "a dry run moves nothing");
    assert!(
        replayed
            .iter()
            .all(|r| r.to == kafka.topic(BILLING_REQUESTS))
    );

    let back = records::read(&kafka, &kafka.topic(BILLING_REQUESTS), 3, WAIT).await;
    let mut ids: Vec<&str> = back.iter().filter_map(|r| r.header("ce_id")).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["event-1", "event-2", "event-3"]);
    for record in &back {
        assert_eq!(record.header("x-request-id"), Some("req-1"));
        assert_eq!(
            record.header("dlq_reason"),
            None,
            "dead-letter headers are stripped"
        );
        let n = record
            .header("ce_id")
            .and_then(|id| id.strip_prefix("event-"));
        assert_eq!(
            record.key.as_deref().and_then(|k| k.strip_prefix("user-")),
            n
        );
    }

    let again = dlq::replay(&kafka, BILLING_REQUESTS, false)
        .await
        .expect("second replay");
    assert!(again.is_empty(), "replayed twice: {again:?}");

    dead_letter(&kafka, "user-4", "event-4").await;
    let fresh = dlq::replay(&kafka, BILLING_REQUESTS, false)
        .await
        .expect("third replay");
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].key.as_deref(), Some("user-4"));
}
