//! A burst of orders and how long the event chain takes to pay them all.
//!
//! `POST /orders` goes out at a fixed rate for `--seconds` (open loop: a slow answer does not
//! hold back the next order, up to `--in-flight` at once). The burst ends when the last POST has
//! answered. Then the orders are read back (`GET /orders/:id`) until all are `PAID` (or failed,
//! or `--timeout` passed). When each was paid comes from its own history (the `OrderPaid`
//! entry's `occurred_at`, stamped by order-service), not from when the poll happened to look,
//! so polling does not blur the figure: `all_paid_after_s` is the last payment's time minus the
//! burst's end (negative: everything was paid before the last POST answered). The reads go
//! oldest first and pause at the first order still waiting, so watching costs little.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::{sync::Semaphore, task::JoinSet, time::MissedTickBehavior};

use crate::{
    gateway::{Gateway, text},
    progress, seconds, stats,
};

/// Concurrent reads while polling: enough to sweep thousands of orders in a second or two
/// without turning the poll into a load test of its own.
const POLL_CONCURRENCY: usize = 8;

/// POST /orders at a fixed rate, then how long until every order is PAID.
#[derive(Debug, clap::Args)]
pub struct Burst {
    /// The gateway, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    gateway_url: String,
    /// A customer's bearer token.
    #[arg(long)]
    token: String,
    /// Orders per second.
    #[arg(long, default_value_t = 200.0, value_parser = positive)]
    rate: f64,
    /// How long the burst lasts, in seconds.
    #[arg(long, default_value = "10", value_parser = seconds)]
    seconds: Duration,
    /// How long to wait for every order to be PAID, in seconds.
    #[arg(long, default_value = "60", value_parser = seconds)]
    timeout: Duration,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 512)]
    in_flight: usize,
}

/// A positive, finite number.
fn positive(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() && number > 0.0 => Ok(number),
        _ => Err("a positive number".to_owned()),
    }
}

pub async fn run(args: &Burst) -> Result<Value> {
    let gateway = Gateway::new(&args.gateway_url, &args.token)?;
    let (rate, seconds, timeout) = (args.rate, args.seconds, args.timeout);
    let in_flight = Arc::new(Semaphore::new(args.in_flight));
    let items = gateway.menu_item_ids().await?;
    progress(&format!(
        "POST /orders at {rate}/s for {:.1} s",
        seconds.as_secs_f64()
    ));

    // === The burst ===
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut posts = JoinSet::new();
    let mut sent = 0_usize;
    while started.elapsed() < seconds {
        ticks.tick().await;
        let permit = in_flight.clone().acquire_owned().await?;
        let gateway = gateway.clone();
        let item = items[sent % items.len()].clone();
        posts.spawn(async move {
            let posted = Instant::now();
            let order = gateway.place_order(&item).await;
            drop(permit);
            (order, posted.elapsed())
        });
        sent += 1;
    }
    let sending = started.elapsed();
    let mut post_latency = stats::histogram()?;
    let mut created: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut post_errors = Vec::new();
    while let Some(done) = posts.join_next().await {
        let (order, latency) = done.context("a POST task panicked")?;
        stats::record(&mut post_latency, latency);
        match order.and_then(|order| {
            Ok((
                text(&order, "id")?.to_owned(),
                timestamp(&order["created_at"])?,
            ))
        }) {
            Ok((id, at)) => {
                created.insert(id, at);
            }
            Err(err) => post_errors.push(format!("{err:#}")),
        }
    }
    let burst_end = Utc::now();
    let burst_took = started.elapsed();
    progress(&format!(
        "{} orders placed, {} failed, in {:.1} s; polling until all are PAID",
        created.len(),
        post_errors.len(),
        burst_took.as_secs_f64()
    ));

    // === Until every order is paid ===
    // Orders are paid about in the order they were placed, so the oldest unresolved ones are
    // read, a few at a time, and the watch pauses at any still waiting: reading them all every
    // round loaded the machine as much as the chain it measures. What is still open at the
    // timeout is read once more, all of it, so the counts are exact.
    let mut by_age: Vec<(&DateTime<Utc>, &String)> =
        created.iter().map(|(id, at)| (at, id)).collect();
    by_age.sort();
    let mut pending: VecDeque<String> = by_age.into_iter().map(|(_, id)| id.clone()).collect();
    let mut paid_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut failed: HashMap<String, String> = HashMap::new();
    let poll_deadline = Instant::now() + timeout;
    while !pending.is_empty() && Instant::now() < poll_deadline {
        let oldest = pending.len().min(POLL_CONCURRENCY);
        let rest = pending.split_off(oldest);
        let waiting = resolve(&gateway, pending, &mut paid_at, &mut failed).await;
        let paused = !waiting.is_empty();
        pending = waiting;
        pending.extend(rest);
        if paused {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    if !pending.is_empty() {
        pending = resolve(&gateway, pending, &mut paid_at, &mut failed).await;
    }

    let mut chain = stats::histogram()?;
    for (id, at) in &paid_at {
        if let Some(created_at) = created.get(id) {
            stats::record(&mut chain, (*at - *created_at).to_std().unwrap_or_default());
        }
    }
    let last_paid = paid_at.values().max().copied();
    let all_paid = pending.is_empty() && failed.is_empty() && post_errors.is_empty();
    let after = last_paid.map(|last| {
        stats::round((last - burst_end).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6)
    });
    Ok(json!({
        "rate": rate,
        "sent": sent,
        "sending_s": stats::round(sending.as_secs_f64()),
        "burst_s": stats::round(burst_took.as_secs_f64()),
        "achieved_rate": stats::round(sent as f64 / burst_took.as_secs_f64()),
        "placed": created.len(),
        "post_errors": post_errors.len(),
        "first_post_error": post_errors.first(),
        "post": stats::summary(&post_latency),
        "paid": paid_at.len(),
        "failed": failed.len(),
        "unpaid_at_timeout": pending.len(),
        "all_paid": all_paid,
        "all_paid_after_s": after,
        "placed_to_paid": stats::summary(&chain),
    }))
}

fn timestamp(value: &Value) -> Result<DateTime<Utc>> {
    let raw = value.as_str().context("a timestamp is not a string")?;
    Ok(DateTime::parse_from_rfc3339(raw)
        .with_context(|| format!("'{raw}' is not an RFC 3339 time"))?
        .with_timezone(&Utc))
}

/// Reads each order once: the paid ones' payment times and the failed ones go into the maps;
/// the ones still waiting (or whose read failed) come back, in the same order.
async fn resolve(
    gateway: &Gateway,
    orders: VecDeque<String>,
    paid_at: &mut HashMap<String, DateTime<Utc>>,
    failed: &mut HashMap<String, String>,
) -> VecDeque<String> {
    let answers: Vec<(String, Result<Value>)> = stream::iter(orders)
        .map(|id| async move {
            let order = gateway.order(&id).await;
            (id, order)
        })
        .buffered(POLL_CONCURRENCY)
        .collect()
        .await;
    let mut waiting = VecDeque::new();
    for (id, order) in answers {
        match order.as_ref().map(|order| order["status"].as_str()) {
            Ok(Some("PAID" | "OUT_FOR_DELIVERY" | "DELIVERED")) => {
                match order.as_ref().ok().and_then(paid_time) {
                    Some(at) => {
                        paid_at.insert(id, at);
                    }
                    None => {
                        failed.insert(id, "PAID without an OrderPaid entry".to_owned());
                    }
                }
            }
            Ok(Some(status @ ("PAYMENT_FAILED" | "CANCELLED"))) => {
                failed.insert(id, status.to_owned());
            }
            // Not yet, or the read failed: look again.
            _ => waiting.push_back(id),
        }
    }
    waiting
}

/// When the order's history says it was paid.
fn paid_time(order: &Value) -> Option<DateTime<Utc>> {
    order["history"]
        .as_array()?
        .iter()
        .find(|entry| entry["event_type"] == "OrderPaid" || entry["status"] == "PAID")
        .and_then(|entry| timestamp(&entry["occurred_at"]).ok())
}
