//! Subscriptions over WebSocket at `/graphql/ws`: graphql-transport-ws (and the legacy
//! subscriptions-transport-ws), with server-side keep-alive.
//!
//! A connection is authenticated by the token in its `connection_init` payload
//! (`{"Authorization": "Bearer <token>"}`, or `{"token": "<token>"}`), else by the upgrade
//! request's `Authorization` header; a token that does not verify closes the connection.
//!
//! async-graphql answers the client's pings but never pings first, so a connection that only
//! receives (a subscription waiting for a delivery to move) looks idle to every proxy and load
//! balancer on the way and gets cut. Here the server sends a `ping` (`ka` in the legacy
//! protocol) every `GraphqlConfig::keepalive`; clients answer with `pong`, which async-graphql
//! ignores.
//!
//! The edge holds here as over HTTP ([`crate::http::edge`]): the upgrade counts as one request, each
//! operation the client starts (`subscribe`, legacy `start`) counts as one more against the
//! same per-client rate limit, at most `GATEWAY_WS_MAX_SUBSCRIPTIONS` run at once on a socket,
//! a client holds at most `GATEWAY_WS_MAX_SOCKETS_PER_CLIENT` sockets, and a socket closes with
//! code 4403 when the token it was opened with expires (after the configured leeway). A refused
//! operation gets an `error` message with `extensions.code` (`RESOURCE_EXHAUSTED`); the socket
//! stays open.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, header::SEC_WEBSOCKET_PROTOCOL},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt, future};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use async_graphql::Data;

use super::{Loaders, MeshSchema};
use crate::{
    auth::{self, Auth, Caller},
    error::{ApiError, ErrorCode},
    http::AppState,
    http::edge::rate_limit::{self, RateLimits},
    http::edge::{Client, sockets::Held},
};

/// The close code of a socket whose token expired (graphql-transport-ws's "Forbidden").
pub const TOKEN_EXPIRED: u16 = 4403;

/// Refusals waiting to be sent; past this the socket's input waits for them to go out, so a
/// client that floods without reading slows only itself.
const REFUSALS_QUEUED: usize = 64;

/// `GET /graphql/ws` with an upgrade.
pub async fn handler(
    State(state): State<AppState>,
    caller: Caller,
    client: Client,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = requested_protocol(&headers) else {
        return ApiError::new(
            ErrorCode::InvalidArgument,
            "Sec-WebSocket-Protocol must name graphql-transport-ws (or graphql-ws)",
        )
        .into_response();
    };
    let held = match state.sockets.hold(&client) {
        Ok(held) => held,
        Err(refused) => return refused.into_response(),
    };
    let schema = state.schema.clone();
    let keepalive = state.graphql.keepalive;
    // What every operation of the connection shares: its batch loader, and the upgrade
    // request's id, which the connection's own task takes along.
    let mut data = Data::default();
    data.insert(Loaders::new(&state.backends));
    let request_id = mesh_kit::context::request_id();
    let connection = Connection {
        schema,
        protocol,
        keepalive,
        data,
        auth: state.auth.clone(),
        caller,
        client,
        limits: state.limits.clone(),
        max_operations: state.edge.max_subscriptions_per_socket,
        held,
    };
    // A message is a GraphQL request: no bigger than a request body.
    upgrade
        .max_message_size(state.edge.body_limit)
        .max_frame_size(state.edge.body_limit)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| mesh_kit::context::scope(request_id, serve(socket, connection)))
}

/// One connection's settings.
pub struct Connection {
    pub schema: MeshSchema,
    pub protocol: WebSocketProtocols,
    pub keepalive: Duration,
    /// Shared by every operation of the connection.
    pub data: Data,
    pub auth: Auth,
    /// Who the upgrade request's `Authorization` header named (anonymous without one).
    pub caller: Caller,
    /// Who the upgrade counted against; `connection_init` may name a subject instead.
    pub client: Client,
    pub limits: RateLimits,
    /// Operations running at once on this socket.
    pub max_operations: usize,
    /// This socket, counted among its client's until it closes.
    pub held: Held,
}

/// When a caller's token stops being good: its `exp` plus the leeway, as a point in Tokio's
/// clock. `None` for anonymous callers, whose sockets never expire.
pub(crate) fn expiry(caller: &Caller, leeway: Duration) -> Option<tokio::time::Instant> {
    let expires_at = caller.principal()?.expires_at;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    let left = Duration::from_secs(expires_at.saturating_sub(now)) + leeway;
    Some(tokio::time::Instant::now() + left)
}

/// What the input side of a socket decides about each client message, before async-graphql
/// sees it: operations counted against the rate limit and the per-socket cap.
struct Gate {
    protocol: WebSocketProtocols,
    limits: RateLimits,
    client: watch::Receiver<Client>,
    running: Arc<Mutex<HashSet<String>>>,
    max_operations: usize,
    refusals: mpsc::Sender<String>,
}

impl Gate {
    /// Whether `message` goes on to async-graphql; a refused operation gets its error here.
    async fn admit(&self, message: &[u8]) -> bool {
        #[derive(serde::Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            kind: String,
            id: Option<String>,
        }
        // Anything unreadable goes on: async-graphql closes the socket for it as the protocol
        // says.
        let Ok(envelope) = serde_json::from_slice::<Envelope>(message) else {
            return true;
        };
        let id = envelope.id.unwrap_or_default();
        match envelope.kind.as_str() {
            "subscribe" | "start" => {
                let client = self.client.borrow().clone();
                if let Err(wait) = self.limits.check(&client) {
                    self.refuse(&id, &rate_limit::refusal(wait)).await;
                    return false;
                }
                let full = {
                    let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
                    let full = running.len() >= self.max_operations && !running.contains(&id);
                    if !full {
                        running.insert(id.clone());
                    }
                    full
                };
                if full {
                    let refusal = ApiError::new(
                        ErrorCode::ResourceExhausted,
                        format!(
                            "{} operations are running on this socket; complete one first",
                            self.max_operations
                        ),
                    );
                    self.refuse(&id, &refusal).await;
                    return false;
                }
                true
            }
            "complete" | "stop" => {
                self.finished(&id);
                true
            }
            _ => true,
        }
    }

    fn finished(&self, id: &str) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(id);
    }

    async fn refuse(&self, id: &str, error: &ApiError) {
        let error = json!({
            "message": error.message,
            "extensions": {"code": error.code.as_str()},
        });
        let payload = match self.protocol {
            WebSocketProtocols::GraphQLWS => json!([error]),
            WebSocketProtocols::SubscriptionsTransportWS => error,
        };
        let message = json!({"type": "error", "id": id, "payload": payload}).to_string();
        // Fails only once the connection's loop ended: nobody is left to tell.
        let _ = self.refusals.send(message).await;
    }
}

/// The id of a server message that ends an operation (`complete` or `error`).
fn ended_operation(text: &str) -> Option<String> {
    // Most messages are results; only parse the few that can end one.
    if !text.contains("\"complete\"") && !text.contains("\"error\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    matches!(value["type"].as_str(), Some("complete" | "error"))
        .then(|| value["id"].as_str().map(str::to_owned))
        .flatten()
}

/// The caller a `connection_init` payload names, or `fallback` when it names none.
async fn caller_of(
    auth: &Auth,
    payload: &serde_json::Value,
    fallback: Caller,
) -> async_graphql::Result<Caller> {
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    let token =
        match (
            field("Authorization").or(field("authorization")),
            field("token"),
        ) {
            (Some(header), _) => Some(auth::bearer(header).ok_or_else(|| {
                async_graphql::Error::new("Authorization must be `Bearer <token>`")
            })?),
            (None, Some(token)) => Some(token),
            (None, None) => None,
        };
    match token {
        Some(token) => auth
            .caller_from_token(token)
            .await
            .map_err(|err| async_graphql::Error::new(err.message)),
        None => Ok(fallback),
    }
}

/// The first GraphQL protocol the client offers.
fn requested_protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|protocol| protocol.trim().parse().ok())
}

/// Runs one connection until either side ends it, or its token expires.
pub async fn serve(socket: WebSocket, connection: Connection) {
    let Connection {
        schema,
        protocol,
        keepalive,
        data,
        auth,
        caller,
        client,
        limits,
        max_operations,
        held,
    } = connection;
    let leeway = auth.verifier.leeway();
    // The caller (and so the client and the expiry) may change once, at `connection_init`.
    let (expires_tx, mut expires_rx) = watch::channel(expiry(&caller, leeway));
    let (client_tx, client_rx) = watch::channel(client);
    let (refusals_tx, mut refusals) = mpsc::channel(REFUSALS_QUEUED);
    let gate = Arc::new(Gate {
        protocol,
        limits,
        client: client_rx,
        running: Arc::default(),
        max_operations,
        refusals: refusals_tx,
    });
    let (mut sink, stream) = socket.split();
    let input_gate = gate.clone();
    // A read error ends the input, like a close: async-graphql then ends its streams.
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(move |message| {
            let gate = input_gate.clone();
            // Boxed: async-graphql polls the input as an `Unpin` stream.
            Box::pin(async move {
                let bytes = match message {
                    Ok(Message::Text(text)) => text.as_bytes().to_vec(),
                    Ok(Message::Binary(bytes)) => bytes.to_vec(),
                    _ => return None,
                };
                gate.admit(&bytes).await.then_some(bytes)
            })
        });
    let mut output = async_graphql::http::WebSocket::new(schema, input, protocol)
        .connection_data(data)
        .on_connection_init(move |payload| async move {
            let caller = caller_of(&auth, &payload, caller).await?;
            if let Some(principal) = caller.principal() {
                let _ = client_tx.send(Client::subject(&principal.subject));
            }
            let _ = expires_tx.send(expiry(&caller, leeway));
            let mut data = Data::default();
            data.insert(caller);
            Ok(data)
        });
    let ping = match protocol {
        WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
        WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let never = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    loop {
        let expires = (*expires_rx.borrow_and_update()).unwrap_or(never);
        let message = tokio::select! {
            message = output.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if let Some(id) = ended_operation(&text) {
                        gate.finished(&id);
                    }
                    Message::Text(text.into())
                }
                Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })),
                None => break,
            },
            Some(refusal) = refusals.recv() => Message::Text(refusal.into()),
            _ = ticker.tick() => Message::Text(ping.into()),
            // A new caller from `connection_init`: look at its expiry again.
            Ok(()) = expires_rx.changed() => continue,
            () = tokio::time::sleep_until(expires) => {
                tracing::debug!("token expired; closing the socket");
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code: TOKEN_EXPIRED,
                        reason: "token expired".into(),
                    })))
                    .await;
                break;
            }
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
    drop(held);
}
