//! Direct gRPC load on `InventoryService/GetMovie`: the read the gateway's
//! `GET /api/movies/:id` and GraphQL `movie(id)` make, without the gateway.
//!
//! Like `wrk`, it is closed-loop: every connection (an HTTP/2 connection of its own) has one
//! call in flight, and the next goes as soon as the answer is in. So the figures compare with
//! wrk's at the same number of connections.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mesh_proto::inventory::v1::{
    GetMovieRequest, inventory_service_client::InventoryServiceClient,
};
use serde_json::{Value, json};
use tonic::transport::{Channel, Endpoint};

use crate::{progress, seconds, stats};

/// Closed-loop InventoryService/GetMovie, one call in flight per HTTP/2 connection.
#[derive(Debug, clap::Args)]
pub struct GetMovie {
    /// inventory-service, e.g. http://127.0.0.1:50054.
    #[arg(long)]
    addr: String,
    /// The movie read.
    #[arg(long, default_value_t = 1)]
    id: i64,
    /// Connections, each with one call in flight.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// How long the load lasts, in seconds.
    #[arg(long, default_value = "10", value_parser = seconds)]
    duration: Duration,
}

pub async fn get_movie(args: &GetMovie) -> Result<Value> {
    let addr = args.addr.clone();
    let (id, connections, duration) = (args.id, args.connections, args.duration);
    let endpoint = Endpoint::from_shared(addr.clone())
        .with_context(|| format!("--addr {addr}: not a URL"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10));

    let mut channels = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        // `connect` opens a connection per channel; a clone would share one.
        channels.push(
            endpoint
                .connect()
                .await
                .with_context(|| format!("connecting to {addr}"))?,
        );
    }
    // One call first: a missing movie or a wrong address fails here, not as a million errors.
    InventoryServiceClient::new(channels[0].clone())
        .get_movie(GetMovieRequest { id })
        .await
        .with_context(|| format!("GetMovie {id} at {addr}"))?;
    progress(&format!(
        "GetMovie {id} at {addr}: {} connections for {:.1} s",
        channels.len(),
        duration.as_secs_f64()
    ));

    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = channels
        .into_iter()
        .map(|channel| tokio::spawn(worker(channel, id, deadline)))
        .collect();
    let mut histogram = stats::histogram()?;
    let mut errors = 0_u64;
    for worker in workers {
        let (part, failed) = worker.await.context("a load worker panicked")??;
        histogram.add(&part)?;
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut report = stats::summary(&histogram);
    report["rps"] = json!(stats::round(histogram.len() as f64 / elapsed));
    report["errors"] = json!(errors);
    report["seconds"] = json!(stats::round(elapsed));
    report["connections"] = json!(connections);
    Ok(report)
}

async fn worker(
    channel: Channel,
    id: i64,
    deadline: Instant,
) -> Result<(hdrhistogram::Histogram<u64>, u64)> {
    let mut client = InventoryServiceClient::new(channel);
    let mut histogram = stats::histogram()?;
    let mut errors = 0;
    while Instant::now() < deadline {
        let sent = Instant::now();
        match client.get_movie(GetMovieRequest { id }).await {
            Ok(_) => stats::record(&mut histogram, sent.elapsed()),
            Err(_) => errors += 1,
        }
    }
    Ok((histogram, errors))
}
