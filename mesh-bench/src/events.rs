//! Event latency as a client sees it, on the GraphQL `orderUpdates` subscription over
//! `/graphql/ws` (graphql-transport-ws):
//!
//! - `POST /orders` → `OrderPaid`: from sending the POST until the update with status `PAID`
//!   arrives (order-service → billing-service → order-service → gateway feed, a broker hop
//!   each). The subscription starts once the POST answered; an update that happened before it
//!   comes in its replayed history, so the figure is never shorter than the truth.
//! - `PUT /delivery/status` → push: from sending the PUT (the delivery `PENDING → ASSIGNED`)
//!   until its `DeliveryStatusChanged` arrives; and the PUT's own response time.
//!
//! One sample after the other, on one WebSocket connection, so nothing queues behind itself.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::{
    gateway::{Gateway, text},
    progress, seconds, stats,
};

const SUBSCRIPTION: &str = "subscription($id: ID!) { orderUpdates(orderId: $id) { eventType orderStatus deliveryStatus } }";

/// POST /orders -> OrderPaid and PUT /delivery/status -> push, on the orderUpdates subscription.
#[derive(Debug, clap::Args)]
pub struct Events {
    /// The gateway, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    gateway_url: String,
    /// A customer's bearer token.
    #[arg(long)]
    token: String,
    /// A courier's bearer token.
    #[arg(long)]
    courier_token: String,
    /// Orders placed, one after the other.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// How long to wait for each event, in seconds.
    #[arg(long, default_value = "15", value_parser = seconds)]
    timeout: std::time::Duration,
}

pub async fn run(args: &Events) -> Result<Value> {
    let gateway = Gateway::new(&args.gateway_url, &args.token)?;
    let courier = args.courier_token.clone();
    let samples = args.samples;
    let wait = args.timeout;
    let items = gateway.menu_item_ids().await?;
    let mut ws = Subscriptions::connect(gateway.base(), &args.token).await?;
    progress(&format!("{samples} orders, one after the other"));

    let mut paid = stats::histogram()?;
    let mut pushed = stats::histogram()?;
    let mut put = stats::histogram()?;
    let mut failures = Vec::new();
    for sample in 0..samples {
        let item = &items[sample % items.len()];
        match one_sample(&gateway, &mut ws, &courier, item, sample, wait).await {
            Ok(times) => {
                stats::record(&mut paid, times.paid);
                stats::record(&mut pushed, times.pushed);
                stats::record(&mut put, times.put);
            }
            // A lost sample is reported, not hidden; the WebSocket may be gone with it.
            Err(err) => {
                progress(&format!("sample {sample}: {err:#}"));
                failures.push(format!("{err:#}"));
                if failures.len() > samples / 5 {
                    bail!(
                        "{} of {} samples failed; the last: {err:#}",
                        failures.len(),
                        sample + 1
                    );
                }
                ws = Subscriptions::connect(gateway.base(), &args.token).await?;
            }
        }
    }
    Ok(json!({
        "order_paid": stats::summary(&paid),
        "delivery_push": stats::summary(&pushed),
        "delivery_put": stats::summary(&put),
        "failed": failures.len(),
    }))
}

struct Times {
    paid: Duration,
    pushed: Duration,
    put: Duration,
}

async fn one_sample(
    gateway: &Gateway,
    ws: &mut Subscriptions,
    courier: &str,
    item: &str,
    sample: usize,
    wait: Duration,
) -> Result<Times> {
    let sub = format!("s{sample}");
    let posted = Instant::now();
    let order = gateway.place_order(item).await?;
    let id = text(&order, "id")?.to_owned();
    ws.subscribe(&sub, &id).await?;
    let (mut paid, mut pending) = (None, false);
    while paid.is_none() || !pending {
        let update = ws.next_update(&sub, wait).await?;
        match (
            update["orderStatus"].as_str(),
            update["deliveryStatus"].as_str(),
        ) {
            (Some("PAID"), _) => paid = Some(posted.elapsed()),
            (Some(status @ ("PAYMENT_FAILED" | "CANCELLED")), _) => {
                bail!("order {id} went {status}, not PAID")
            }
            (_, Some("PENDING")) => pending = true,
            _ => {}
        }
    }
    let moved = Instant::now();
    gateway.move_delivery(courier, &id, "ASSIGNED").await?;
    let put = moved.elapsed();
    loop {
        let update = ws.next_update(&sub, wait).await?;
        if update["deliveryStatus"].as_str() == Some("ASSIGNED") {
            break;
        }
    }
    let pushed = moved.elapsed();
    ws.complete(&sub).await?;
    Ok(Times {
        paid: paid.unwrap_or_default(),
        pushed,
        put,
    })
}

/// One graphql-transport-ws connection, signed in with `connection_init`.
struct Subscriptions {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Subscriptions {
    async fn connect(gateway: &str, token: &str) -> Result<Self> {
        let url = format!(
            "{}/graphql/ws",
            gateway
                .replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1)
        );
        let mut request = url
            .as_str()
            .into_client_request()
            .with_context(|| format!("{url}: not a WebSocket URL"))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let mut this = Self { socket };
        this.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
            .await?;
        let ack = this.next_message(Duration::from_secs(10)).await?;
        if ack["type"] != "connection_ack" {
            bail!("{url}: expected connection_ack, got {ack}");
        }
        Ok(this)
    }

    async fn send(&mut self, message: Value) -> Result<()> {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .context("sending on the WebSocket")
    }

    async fn subscribe(&mut self, sub: &str, order_id: &str) -> Result<()> {
        self.send(json!({"id": sub, "type": "subscribe", "payload": {
            "query": SUBSCRIPTION, "variables": {"id": order_id},
        }}))
        .await
    }

    async fn complete(&mut self, sub: &str) -> Result<()> {
        self.send(json!({"id": sub, "type": "complete"})).await
    }

    /// The next protocol message (not a ping: those are answered here).
    async fn next_message(&mut self, wait: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| anyhow!("nothing on the WebSocket within {wait:?}"))?
                .ok_or_else(|| anyhow!("the gateway closed the WebSocket"))?
                .context("reading the WebSocket")?;
            let text = match frame {
                Message::Text(text) => text,
                Message::Close(close) => bail!("the gateway closed the WebSocket: {close:?}"),
                _ => continue,
            };
            let message: Value = serde_json::from_str(text.as_str())
                .with_context(|| format!("not JSON on the WebSocket: {}", text.as_str()))?;
            if message["type"] == "ping" {
                self.send(json!({"type": "pong"})).await?;
                continue;
            }
            return Ok(message);
        }
    }

    /// The next `orderUpdates` item of subscription `sub`.
    async fn next_update(&mut self, sub: &str, wait: Duration) -> Result<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next_message(left).await?;
            if message["id"] != sub {
                continue;
            }
            match message["type"].as_str() {
                Some("next") => {
                    let payload = &message["payload"];
                    if !payload["errors"].is_null() {
                        bail!("subscription error: {}", payload["errors"]);
                    }
                    return Ok(payload["data"]["orderUpdates"].clone());
                }
                Some("error") => bail!("subscription refused: {}", message["payload"]),
                Some("complete") => bail!("the subscription ended"),
                _ => {}
            }
        }
    }
}
