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

use std::time::Duration;

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

use async_graphql::Data;

use super::{Loaders, MeshSchema};
use crate::{
    auth::{self, Auth, Caller},
    error::{ApiError, ErrorCode},
    request_id::RequestId,
    startup::AppState,
};

/// `GET /graphql/ws` with an upgrade.
pub async fn handler(
    State(state): State<AppState>,
    rid: RequestId,
    caller: Caller,
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
    let schema = state.schema.clone();
    let keepalive = state.graphql.keepalive;
    // What every operation of the connection shares: its id, its batch loader.
    let mut data = Data::default();
    data.insert(Loaders::new(&state.backends, &rid));
    data.insert(rid);
    let connection = Connection {
        schema,
        protocol,
        keepalive,
        data,
        auth: state.auth.clone(),
        caller,
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, connection))
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

/// Runs one connection until either side ends it.
pub async fn serve(socket: WebSocket, connection: Connection) {
    let Connection {
        schema,
        protocol,
        keepalive,
        data,
        auth,
        caller,
    } = connection;
    let (mut sink, stream) = socket.split();
    // A read error ends the input, like a close: async-graphql then ends its streams.
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let mut output = async_graphql::http::WebSocket::new(schema, input, protocol)
        .connection_data(data)
        .on_connection_init(move |payload| async move {
            let caller = caller_of(&auth, &payload, caller).await?;
            let mut data = Data::default();
            data.insert(caller);
            Ok(data)
        });
    let ping = match protocol {
        WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
        WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    loop {
        let message = tokio::select! {
            message = output.next() => match message {
                Some(WsMessage::Text(text)) => Message::Text(text.into()),
                Some(WsMessage::Close(code, reason)) => Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })),
                None => break,
            },
            _ = ticker.tick() => Message::Text(ping.into()),
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
}
