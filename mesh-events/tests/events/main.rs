//! The event plumbing against the real broker and PostgreSQL: the relay publishes what the
//! store appended, the consumer applies each event once, dead-letters what it cannot read, and
//! resumes after a restart.

use std::{sync::Arc, time::Duration};

use diesel::{ExpressionMethods, QueryDsl, sql_types::Text};
use diesel_async::{RunQueryDsl, scoped_futures::ScopedFutureExt};
use mesh_events::{
    consumer::{EventConsumer, HandleError, Handler, IncomingEvent, Subscription, apply_once},
    event_store::{self, EventPayload, NewEvent},
    relay::{OutboxSignal, Relay},
};
use mesh_kafka::{KafkaConfig, ORDER_EVENTS, dlq_of};
use mesh_kit::db::{self, PgPool};
use mesh_proto::events::v1::OrderPlaced;
use mesh_testkit::{Served, eventually, records};
use tokio::sync::Mutex;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

async fn store() -> PgPool {
    mesh_testkit::init_tracing();
    let config = mesh_testkit::database("kit");
    let pool = db::connect(&config, &[&event_store::MIGRATIONS])
        .await
        .expect("database");
    {
        let mut conn = pool.get().await.expect("connection");
        diesel::sql_query(
            "CREATE TABLE effects (event_id text PRIMARY KEY, order_id text NOT NULL, \
             txid bigint NOT NULL DEFAULT txid_current())",
        )
        .execute(&mut conn)
        .await
        .expect("effects table");
    }
    pool
}

async fn topics() -> KafkaConfig {
    let kafka = mesh_testkit::kafka();
    kafka.ensure_topics(&[ORDER_EVENTS]).await.expect("topics");
    kafka
}

fn placed(order_id: &str, total_cents: i64) -> OrderPlaced {
    OrderPlaced {
        order_id: order_id.to_owned(),
        customer_id: "c-1".into(),
        total_cents,
        currency: "USD".into(),
        ..Default::default()
    }
}

/// Records each OrderPlaced it applies in `effects`, once; refuses one with a negative total
/// for good, after writing its effect (which must not stay).
#[derive(Clone)]
struct Recorder {
    pool: PgPool,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Handler for Recorder {
    async fn handle(&self, event: &IncomingEvent) -> Result<(), HandleError> {
        self.seen.lock().await.push(event.id.clone());
        if !event.is::<OrderPlaced>() {
            return Ok(());
        }
        let placed: OrderPlaced = event.decode()?;
        apply_once(&self.pool, "recorder", &event.id, |conn| {
            async move {
                diesel::sql_query("INSERT INTO effects (event_id, order_id) VALUES ($1, $2)")
                    .bind::<Text, _>(&event.id)
                    .bind::<Text, _>(&placed.order_id)
                    .execute(conn)
                    .await?;
                if placed.total_cents < 0 {
                    return Err(HandleError::Permanent("a negative total".into()));
                }
                Ok(())
            }
            .scope_boxed()
        })
        .await
        .map(drop)
    }
}

impl Recorder {
    fn new(pool: &PgPool) -> Self {
        Self {
            pool: pool.clone(),
            seen: Arc::default(),
        }
    }
}

/// Publishes the OrderPlaced of `order-<i>` as event `event-<i>`, on `key`.
async fn produce_placed(kafka: &KafkaConfig, key: &str, i: usize, total_cents: i64) {
    let payload =
        mesh_proto::json::to_json(&placed(&format!("order-{i:02}"), total_cents)).expect("json");
    let id = format!("event-{i}");
    records::produce(
        kafka,
        &kafka.topic(ORDER_EVENTS),
        key,
        payload.as_bytes(),
        &[
            ("ce_id", id.as_str()),
            ("ce_type", "mesh.events.v1.OrderPlaced"),
        ],
    )
    .await;
}

async fn effects(pool: &PgPool) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        order_id: String,
    }
    let mut conn = pool.get().await.expect("connection");
    let rows: Vec<Row> = diesel::sql_query("SELECT order_id FROM effects ORDER BY order_id")
        .load(&mut conn)
        .await
        .expect("effects");
    rows.into_iter().map(|r| r.order_id).collect()
}

fn start_consumer(kafka: &KafkaConfig, recorder: Recorder) -> Served {
    let subscription = Subscription {
        group: "recorder".into(),
        topics: vec![ORDER_EVENTS],
    };
    let consumer = EventConsumer::new(kafka, &subscription, kafka.producer().expect("producer"))
        .expect("consumer")
        .batching(recorder.pool.clone());
    Served::spawn(([127, 0, 0, 1], 0).into(), |stop| async move {
        consumer.run(recorder, stop.wait()).await;
        Ok::<(), String>(())
    })
}

#[tokio::test]
async fn the_relay_publishes_appended_events_in_order_with_cloudevents_headers() {
    let pool = store().await;
    let kafka = topics().await;
    let order = Uuid::new_v4();
    let key = order.to_string();
    for (sequence, total) in [(1, 100), (2, 200), (3, 300)] {
        // The request the command works for: carried for it, not passed.
        mesh_kit::context::scope(
            Some("req-7".into()),
            append_placed(&pool, order, sequence, total),
        )
        .await;
    }
    {
        let mut conn = pool.get().await.expect("connection");
        let conflict = event_store::append(
            &mut conn,
            NewEvent {
                aggregate_id: order,
                sequence: 3,
                topic: ORDER_EVENTS,
                key: &key,
                payload: EventPayload::of(&placed(&key, 0)).expect("encodes"),
            },
        )
        .await;
        assert!(
            matches!(
                conflict,
                Err(event_store::AppendError::Conflict { sequence: 3, .. })
            ),
            "a second writer at the same sequence loses: {conflict:?}"
        );
    }

    let signal = OutboxSignal::new();
    let relay = start_relay(&pool, &kafka, &signal);
    signal.notify();

    let records = records::read(&kafka, &kafka.topic(ORDER_EVENTS), 3, WAIT).await;
    let totals = totals(&records);
    assert_eq!(totals, [100, 200, 300], "one key, one partition, in order");
    let first = &records[0];
    assert_eq!(first.key.as_deref(), Some(key.as_str()));
    assert_eq!(first.header("ce_specversion"), Some("1.0"));
    assert_eq!(first.header("ce_type"), Some("mesh.events.v1.OrderPlaced"));
    assert_eq!(first.header("ce_source"), Some("/mesh/test"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("x-request-id"), Some("req-7"));
    assert!(
        first
            .header("ce_time")
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    assert!(
        first
            .header("ce_id")
            .is_some_and(|id| Uuid::parse_str(id).is_ok())
    );
    assert!(
        first.payload.contains("\"totalCents\":\"100\""),
        "{}",
        first.payload
    );

    let history = {
        let mut conn = pool.get().await.expect("connection");
        event_store::history(&mut conn, order)
            .await
            .expect("history")
    };
    assert_eq!(history.len(), 3);
    assert_eq!(
        history[0]
            .decode::<OrderPlaced>()
            .expect("decodes")
            .total_cents,
        100
    );

    relay.stop().await;
}

/// Appends the order's next event, with `total_cents` to tell it by.
async fn append_placed(pool: &PgPool, order: Uuid, sequence: i64, total_cents: i64) {
    let key = order.to_string();
    let mut conn = pool.get().await.expect("connection");
    event_store::append(
        &mut conn,
        NewEvent {
            aggregate_id: order,
            sequence,
            topic: ORDER_EVENTS,
            key: &key,
            payload: EventPayload::of(&placed(&key, total_cents)).expect("encodes"),
        },
    )
    .await
    .expect("appended");
}

/// The total of each OrderPlaced record, in the order read.
fn totals(records: &[records::Record]) -> Vec<i64> {
    records
        .iter()
        .map(|r| {
            mesh_proto::json::from_json::<OrderPlaced>(r.payload.as_bytes())
                .expect("JSON payload")
                .total_cents
        })
        .collect()
}

fn start_relay(pool: &PgPool, kafka: &KafkaConfig, signal: &OutboxSignal) -> Served {
    let relay = Relay::new(
        pool.clone(),
        kafka.producer().expect("producer"),
        kafka.clone(),
        "test",
        signal.clone(),
    );
    Served::spawn(([127, 0, 0, 1], 0).into(), |stop| async move {
        relay.run(stop.wait()).await;
        Ok::<(), String>(())
    })
}

#[tokio::test]
async fn one_relay_of_a_database_publishes_and_a_standby_takes_over_when_it_stops() {
    let pool = store().await;
    let kafka = topics().await;
    let topic = kafka.topic(ORDER_EVENTS);
    let order = Uuid::new_v4();
    let (first_signal, second_signal) = (OutboxSignal::new(), OutboxSignal::new());

    append_placed(&pool, order, 1, 1).await;
    let first = start_relay(&pool, &kafka, &first_signal);
    first_signal.notify();
    records::read(&kafka, &topic, 1, WAIT).await;

    // A second replica's relay: woken for every new row, it publishes nothing while the first
    // holds the lock.
    let second = start_relay(&pool, &kafka, &second_signal);
    append_placed(&pool, order, 2, 2).await;
    second_signal.notify();
    first_signal.notify();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The first stops (its connection, and with it the lock, goes); the standby leads.
    first.stop().await;
    append_placed(&pool, order, 3, 3).await;
    second_signal.notify();
    let records = records::read(&kafka, &topic, 3, WAIT).await;
    let totals = totals(&records);
    assert_eq!(
        totals,
        [1, 2, 3],
        "each once, in order, across the hand-over"
    );
    second.stop().await;
}

/// A backlog of several batches, written before the relay starts: the relay reads the next
/// batch while the broker still acknowledges the last, and every row still goes once, each
/// order's in the order written, and is marked sent.
#[tokio::test]
async fn a_backlog_of_several_batches_is_published_once_each_in_order() {
    let pool = store().await;
    let kafka = topics().await;
    let topic = kafka.topic(ORDER_EVENTS);
    let orders: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    const EVENTS_PER_ORDER: i64 = 140; // 700 rows: the relay's batches are 256
    for sequence in 1..=EVENTS_PER_ORDER {
        for order in &orders {
            append_placed(&pool, *order, sequence, sequence).await;
        }
    }
    let signal = OutboxSignal::new();
    let relay = start_relay(&pool, &kafka, &signal);
    signal.notify();
    let total = orders.len() * EVENTS_PER_ORDER as usize;
    let records = records::read(&kafka, &topic, total, WAIT).await;
    for order in &orders {
        let key = order.to_string();
        let mine: Vec<_> = records
            .iter()
            .filter(|r| r.key.as_deref() == Some(key.as_str()))
            .cloned()
            .collect();
        assert_eq!(
            totals(&mine),
            (1..=EVENTS_PER_ORDER).collect::<Vec<_>>(),
            "order {key}: each event once, in the order written"
        );
    }
    eventually("every row marked sent", WAIT, || async {
        let mut conn = pool.get().await.expect("connection");
        let unsent: i64 = event_store::schema::outbox::table
            .filter(event_store::schema::outbox::sent_at.is_null())
            .count()
            .get_result(&mut conn)
            .await
            .expect("count");
        (unsent == 0).then_some(())
    })
    .await;
    relay.stop().await;
}

#[tokio::test]
async fn each_event_is_applied_once_and_unreadable_ones_go_to_the_dead_letter_topic() {
    let pool = store().await;
    let kafka = topics().await;
    let topic = kafka.topic(ORDER_EVENTS);
    let ty = "mesh.events.v1.OrderPlaced";
    let good = mesh_proto::json::to_json(&placed("order-a", 1)).expect("json");
    let later = mesh_proto::json::to_json(&placed("order-b", 2)).expect("json");
    let headers = |id: &'static str| [("ce_id", id), ("ce_type", ty), ("ce_specversion", "1.0")];
    // All on one key, so one partition keeps them in this order.
    records::produce(&kafka, &topic, "k", good.as_bytes(), &headers("e-1")).await;
    records::produce(&kafka, &topic, "k", good.as_bytes(), &headers("e-1")).await;
    records::produce(&kafka, &topic, "k", b"{not json", &headers("e-2")).await;
    records::produce(&kafka, &topic, "k", later.as_bytes(), &[("ce_type", ty)]).await;
    records::produce(&kafka, &topic, "k", later.as_bytes(), &headers("e-3")).await;

    let consumer = start_consumer(&kafka, Recorder::new(&pool));
    eventually("both good events applied", WAIT, || async {
        (effects(&pool).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        effects(&pool).await,
        ["order-a", "order-b"],
        "the duplicate changed nothing"
    );

    let dead = records::read(&kafka, &dlq_of(&topic), 2, WAIT).await;
    let reasons: Vec<&str> = dead.iter().filter_map(|r| r.header("dlq_reason")).collect();
    assert!(reasons[0].contains("OrderPlaced"), "{reasons:?}");
    assert!(reasons[1].contains("ce_id"), "{reasons:?}");
    assert_eq!(dead[0].payload, "{not json");
    assert_eq!(dead[0].header("dlq_topic"), Some(topic.as_str()));
    assert_eq!(
        dead[0].header("ce_id"),
        Some("e-2"),
        "original headers are kept"
    );
    consumer.stop().await;
}

/// How many transactions wrote the effects.
async fn transactions(pool: &PgPool) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = pool.get().await.expect("connection");
    let row: Row = diesel::sql_query("SELECT count(DISTINCT txid) AS count FROM effects")
        .get_result(&mut conn)
        .await
        .expect("transactions");
    row.count
}

#[tokio::test]
async fn records_queued_behind_a_lane_commit_together_and_a_refused_one_goes_alone() {
    let pool = store().await;
    let kafka = topics().await;
    let topic = kafka.topic(ORDER_EVENTS);
    // One key, so one lane: while it applies the first record, the others queue behind it.
    for i in 0..20 {
        produce_placed(&kafka, "k", i, if i == 7 { -1 } else { 1 }).await;
    }
    let consumer = start_consumer(&kafka, Recorder::new(&pool));
    eventually("the 19 good records applied", WAIT, || async {
        (effects(&pool).await.len() == 19).then_some(())
    })
    .await;
    let dead = records::read(&kafka, &dlq_of(&topic), 1, WAIT).await;
    assert_eq!(dead[0].header("ce_id"), Some("event-7"));
    assert!(
        dead[0]
            .header("dlq_reason")
            .is_some_and(|reason| reason.contains("negative")),
        "{:?}",
        dead[0].header("dlq_reason")
    );
    consumer.stop().await;

    let applied = effects(&pool).await;
    assert!(
        !applied.contains(&"order-07".to_owned()),
        "the refused record's effect was rolled back: {applied:?}"
    );
    let transactions = transactions(&pool).await;
    assert!(
        transactions < 19,
        "19 effects in {transactions} transactions: the queued records were not batched"
    );
}

#[tokio::test]
async fn a_batch_claims_its_records_together_and_skips_the_ones_applied_before() {
    let pool = store().await;
    let kafka = topics().await;
    // Events 1 and 2 were applied before (a consumer that stopped before committing its
    // offsets): their claims are there, their records come again.
    {
        let mut conn = pool.get().await.expect("connection");
        diesel::sql_query(
            "INSERT INTO processed_events (consumer, event_id) \
             VALUES ('recorder', 'event-1'), ('recorder', 'event-2')",
        )
        .execute(&mut conn)
        .await
        .expect("earlier claims");
    }
    // One key, so one lane; event 4 comes twice in a row.
    for i in [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11] {
        produce_placed(&kafka, "k", i, 1).await;
    }
    let recorder = Recorder::new(&pool);
    let consumer = start_consumer(&kafka, recorder.clone());
    eventually("all 13 records read", WAIT, || async {
        (recorder.seen.lock().await.len() >= 13).then_some(())
    })
    .await;
    eventually("the ten new events applied", WAIT, || async {
        (effects(&pool).await.len() >= 10).then_some(())
    })
    .await;
    consumer.stop().await;

    let expected: Vec<String> = [0, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        .iter()
        .map(|i| format!("order-{i:02}"))
        .collect();
    assert_eq!(
        effects(&pool).await,
        expected,
        "each new event once; the ones applied before and the repeat changed nothing"
    );
    assert_eq!(
        recorder.seen.lock().await.len(),
        13,
        "no record needed a second try"
    );
    let transactions = transactions(&pool).await;
    assert!(
        transactions < 10,
        "10 effects in {transactions} transactions: the queued records were not batched"
    );
}

#[tokio::test]
async fn a_restarted_consumer_resumes_where_it_stopped() {
    let pool = store().await;
    let kafka = topics().await;
    for i in 0..5 {
        produce_placed(&kafka, &format!("k{i}"), i, 1).await;
    }
    let first = Recorder::new(&pool);
    let consumer = start_consumer(&kafka, first.clone());
    eventually("first five applied", WAIT, || async {
        (effects(&pool).await.len() == 5).then_some(())
    })
    .await;
    consumer.stop().await;

    for i in 5..10 {
        produce_placed(&kafka, &format!("k{i}"), i, 1).await;
    }
    let second = Recorder::new(&pool);
    let consumer = start_consumer(&kafka, second.clone());
    eventually("all ten applied", WAIT, || async {
        (effects(&pool).await.len() == 10).then_some(())
    })
    .await;
    consumer.stop().await;

    let redelivered = second
        .seen
        .lock()
        .await
        .iter()
        .filter(|id| first.seen.try_lock().is_ok_and(|f| f.contains(id)))
        .count();
    assert_eq!(
        redelivered, 0,
        "committed offsets: nothing the first consumer finished came again"
    );
    assert_eq!(effects(&pool).await.len(), 10);
}
