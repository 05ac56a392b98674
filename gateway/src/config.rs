//! Gateway settings: what it reads from the environment ([`Settings`], with defaults that work
//! on a developer machine) and what it runs with ([`Config`]).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use mesh_kit::{
    balance::{BalanceConfig, BalanceSettings},
    config::ConfigError,
    settings::{Secret, comma_list},
    telemetry::LogSettings,
    tls::TlsSettings,
};

use mesh_kafka::{KafkaConfig, KafkaSettings};

/// Everything the gateway reads (`gateway --print-settings` lists it).
#[derive(Clone, Debug, clap::Parser)]
#[command(version, about = "The mesh's REST, GraphQL and web entry point.")]
pub struct Settings {
    /// The address HTTP (or HTTPS) is served on.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// menu-service: one URL, or several comma-separated to balance over (a DNS name stands for
    /// every address it resolves to).
    #[arg(long, env = "MENU_URL", default_value = "http://127.0.0.1:50051")]
    menu_url: String,
    /// order-service's URLs, as MENU_URL.
    #[arg(long, env = "ORDER_URL", default_value = "http://127.0.0.1:50052")]
    order_url: String,
    /// delivery-service's URLs, as MENU_URL.
    #[arg(long, env = "DELIVERY_URL", default_value = "http://127.0.0.1:50053")]
    delivery_url: String,
    /// inventory-service's URLs, as MENU_URL.
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:50054")]
    inventory_url: String,
    /// billing-service's URLs, as MENU_URL.
    #[arg(long, env = "BILLING_URL", default_value = "http://127.0.0.1:50055")]
    billing_url: String,
    /// The deadline of every backend call in ms, retries included; a slow backend costs a
    /// client this long at most, then a 504.
    #[arg(long, env = "GATEWAY_BACKEND_TIMEOUT_MS", default_value_t = BACKEND_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    backend_timeout_ms: u64,
    /// How long a menu item fetched for a GraphQL field (an order line's `menuItem`, a
    /// federation entity) is reused, in ms; 0 fetches every time. Menu items are public and
    /// change rarely, and a page of orders names the same few again and again.
    #[arg(long, env = "GATEWAY_MENU_ITEM_TTL_MS", default_value_t = MENU_ITEM_TTL_MS)]
    menu_item_ttl_ms: u64,
    /// The `node_modules` folder GraphiQL's browser files are served from.
    #[arg(long, env = "GATEWAY_ASSETS_DIR", default_value = DEFAULT_ASSETS_DIR)]
    assets_dir: PathBuf,
    /// The built web page (`npm run build` in gateway/app), served under /app/.
    #[arg(long, env = "GATEWAY_APP_DIR", default_value = DEFAULT_APP_DIR)]
    app_dir: PathBuf,
    /// Whether GraphQL's `__schema` and `__type` answer (GraphiQL's docs and completion).
    #[arg(long, env = "GATEWAY_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    graphql_introspection: bool,
    /// How often an open subscription (WebSocket or event stream) gets a keep-alive, in ms.
    #[arg(long, env = "GATEWAY_STREAM_KEEPALIVE_MS", default_value_t = STREAM_KEEPALIVE_MS, value_parser = clap::value_parser!(u64).range(1..))]
    stream_keepalive_ms: u64,
    /// How often the subscription feed looks for subscribers, in ms; after two looks without
    /// any it stops fetching until one comes.
    #[arg(long, env = "GATEWAY_FEED_REST_MS", default_value_t = FEED_REST_MS, value_parser = clap::value_parser!(u64).range(1..))]
    feed_rest_ms: u64,
    /// An Apollo persisted query manifest (JSON): GraphQL then runs only the documents it lists
    /// (production). Unset, any.
    #[arg(long, env = "GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS")]
    graphql_trusted_documents: Option<PathBuf>,
    /// HS256 secret bearer tokens are signed with, at least 32 bytes (development; scripts/up
    /// makes one). Set it or GATEWAY_JWKS_URL.
    #[arg(long, env = "GATEWAY_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<Secret>,
    /// The identity provider's published keys (https://): RS256/ES256 tokens. Set it or
    /// GATEWAY_JWT_SECRET.
    #[arg(long, env = "GATEWAY_JWKS_URL")]
    jwks_url: Option<String>,
    /// `POST /auth/dev-token` hands out a token for any role (the web page's development
    /// sign-in). Never on in production.
    #[arg(long, env = "GATEWAY_DEV_LOGIN", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    dev_login: bool,
    /// The `iss` every token must carry; unset, not checked.
    #[arg(long, env = "GATEWAY_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// A value every token's `aud` must hold; unset, not checked.
    #[arg(long, env = "GATEWAY_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// The longest `exp - iat` accepted, in seconds, tokens then carrying `iat`; 0, not checked.
    #[arg(long, env = "GATEWAY_JWT_MAX_LIFETIME_SECS", default_value_t = 0)]
    jwt_max_lifetime_secs: u64,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds; a stream is closed this long after
    /// its token's `exp`.
    #[arg(long, env = "GATEWAY_JWT_LEEWAY_SECS", default_value_t = 30)]
    jwt_leeway_secs: u64,
    /// Requests per second each client (token subject, else address) may sustain; 0 turns
    /// limiting off.
    #[arg(long, env = "GATEWAY_RATE_LIMIT_PER_SECOND", default_value_t = 50)]
    rate_limit_per_second: u32,
    /// Requests a client may make at once.
    #[arg(long, env = "GATEWAY_RATE_LIMIT_BURST", default_value_t = 100)]
    rate_limit_burst: u32,
    /// Clients tracked at once; past that, new clients share one budget.
    #[arg(
        long,
        env = "GATEWAY_RATE_LIMIT_MAX_CLIENTS",
        default_value_t = 100_000
    )]
    rate_limit_max_clients: usize,
    /// Comma-separated addresses of the proxies in front of the gateway: only their
    /// X-Forwarded-For names the client. Empty, the peer address counts.
    #[arg(long, env = "GATEWAY_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// The largest request body on any route, GraphQL included; larger is a 413.
    #[arg(long, env = "GATEWAY_BODY_LIMIT_BYTES", default_value_t = BODY_LIMIT_BYTES)]
    body_limit_bytes: usize,
    /// A client must send a request's headers within this many ms (slowloris).
    #[arg(long, env = "GATEWAY_HEADER_READ_TIMEOUT_MS", default_value_t = HEADER_READ_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_ms: u64,
    /// The longest a request may take to read its body and get its answer started, in ms.
    #[arg(long, env = "GATEWAY_REQUEST_TIMEOUT_MS", default_value_t = REQUEST_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout_ms: u64,
    /// Open connections at once; more are closed as they arrive.
    #[arg(long, env = "GATEWAY_MAX_CONNECTIONS", default_value_t = MAX_CONNECTIONS, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// WebSockets and event streams one client may hold open at once.
    #[arg(long, env = "GATEWAY_WS_MAX_SOCKETS_PER_CLIENT", default_value_t = MAX_SOCKETS_PER_CLIENT)]
    ws_max_sockets_per_client: usize,
    /// Operations running at once on one WebSocket.
    #[arg(long, env = "GATEWAY_WS_MAX_SUBSCRIPTIONS", default_value_t = MAX_SUBSCRIPTIONS_PER_SOCKET)]
    ws_max_subscriptions: usize,
    /// Comma-separated origins a browser page elsewhere may call the API from. Empty, none.
    #[arg(long, env = "GATEWAY_CORS_ORIGINS", default_value = "")]
    cors_origins: String,
    /// Serve HTTPS with this certificate (PEM path); goes with GATEWAY_TLS_KEY.
    #[arg(long, env = "GATEWAY_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The key of GATEWAY_TLS_CERT (PEM path).
    #[arg(long, env = "GATEWAY_TLS_KEY")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    kafka: KafkaSettings,
    #[command(flatten)]
    balance: BalanceSettings,
    #[command(flatten)]
    grpc_tls: TlsSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

/// Where each backend answers: one URL, or several (comma-separated) to balance over. A DNS name
/// stands for every address it resolves to, looked up again and again (a headless Kubernetes
/// Service: one endpoint per pod). The balancer's other knobs are the `BALANCE_*` variables
/// (`mesh_kit::balance::BalanceSettings`).
#[derive(Clone, Debug)]
pub struct BackendUrls {
    pub menu: Vec<String>,
    pub order: Vec<String>,
    pub delivery: Vec<String>,
    pub inventory: Vec<String>,
    pub billing: Vec<String>,
}

/// The URLs of setting `name`: at least one, each http:// or https://.
fn urls(name: &str, value: &str) -> Result<Vec<String>, ConfigError> {
    let urls = comma_list(value);
    match urls
        .iter()
        .find(|url| !url.starts_with("http://") && !url.starts_with("https://"))
    {
        Some(bad) => Err(ConfigError {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: format!("{bad:?} is not an http:// or https:// URL"),
        }),
        None if urls.is_empty() => Err(ConfigError {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: "at least one URL is required".to_owned(),
        }),
        None => Ok(urls),
    }
}

const BACKEND_TIMEOUT_MS: u64 = 5_000;
const MENU_ITEM_TTL_MS: u64 = 1_000;
const STREAM_KEEPALIVE_MS: u64 = 15_000;
const FEED_REST_MS: u64 = 15_000;
const BODY_LIMIT_BYTES: usize = 64 * 1024;
const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
const REQUEST_TIMEOUT_MS: u64 = 30_000;
const MAX_CONNECTIONS: u64 = 10_000;
const MAX_SOCKETS_PER_CLIENT: usize = 16;
const MAX_SUBSCRIPTIONS_PER_SOCKET: usize = 32;

#[derive(Clone, Debug)]
pub struct Config {
    /// `GATEWAY_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    pub backends: BackendUrls,
    /// `GATEWAY_BACKEND_TIMEOUT_MS`: the deadline of every backend call (default 5000), retry
    /// included, sent to the backend as `grpc-timeout`. A slow backend costs a client this long
    /// at most, then a 504.
    pub backend_timeout: Duration,
    /// `GATEWAY_MENU_ITEM_TTL_MS`: how long a menu item the GraphQL loader fetched is reused
    /// (default 1000; zero: not at all).
    pub menu_item_ttl: Duration,
    /// How backend calls are balanced and retried (`BALANCE_*`, and `GRPC_TLS_*` for https://).
    pub balance: BalanceConfig,
    /// `GATEWAY_ASSETS_DIR`: the `node_modules` folder GraphiQL's browser files are served from.
    pub assets_dir: PathBuf,
    /// `GATEWAY_APP_DIR`: the built web page (`npm run build` in `gateway/app` writes `dist`),
    /// served under `/app/`.
    pub app_dir: PathBuf,
    /// The broker, for billing requests and subscriptions.
    pub kafka: KafkaConfig,
    pub graphql: GraphqlConfig,
    /// `GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS`: an Apollo persisted query manifest (JSON). When set,
    /// GraphQL runs only the documents it lists (production); unset (the default), any.
    pub trusted_documents: Option<PathBuf>,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    /// What every connection and request may take (see [`crate::http::edge`]).
    pub edge: EdgeConfig,
    /// `GATEWAY_CORS_ORIGINS`: comma-separated origins a browser page elsewhere may call the
    /// API from (`https://app.example.com`). Empty (the default): no cross-origin access; the
    /// gateway's own pages need none.
    pub cors_origins: Vec<String>,
    /// `GATEWAY_TLS_CERT` + `GATEWAY_TLS_KEY` (PEM paths): serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
}

/// How bearer tokens are checked.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub keys: TokenKeys,
    /// `GATEWAY_DEV_LOGIN` (default false): `POST /auth/dev-token` hands out a token for any
    /// role, for the web page's development sign-in. Never on in production.
    pub dev_login: bool,
    pub claims: ClaimRules,
}

/// What a token's registered claims must say, beyond a good signature, `exp` and `sub`.
#[derive(Clone, Debug, Default)]
pub struct ClaimRules {
    /// `GATEWAY_JWT_ISSUER`: the `iss` every token must carry (unset: not checked).
    pub issuer: Option<String>,
    /// `GATEWAY_JWT_AUDIENCE`: a value the token's `aud` must hold (unset: not checked).
    pub audience: Option<String>,
    /// `GATEWAY_JWT_MAX_LIFETIME_SECS`: the longest `exp - iat` accepted; a token must then
    /// carry `iat` (0, the default: not checked). Bounds what a leaked token is worth.
    pub max_lifetime: Option<Duration>,
    /// `GATEWAY_JWT_LEEWAY_SECS` (default 30): clock skew tolerated on `exp` and `nbf`; a
    /// WebSocket or event stream is closed this long after its token's `exp`.
    pub leeway: Duration,
}

impl ClaimRules {
    /// No iss/aud/lifetime checks, 30 s of leeway: what tests and embedders start from.
    pub fn lenient() -> Self {
        Self {
            leeway: Duration::from_secs(30),
            ..Self::default()
        }
    }
}

/// Where the keys that sign tokens come from.
#[derive(Clone)]
pub enum TokenKeys {
    /// `GATEWAY_JWT_SECRET`: HS256 with a shared secret of at least 32 bytes (development;
    /// `scripts/up` makes one per machine).
    Secret(Vec<u8>),
    /// `GATEWAY_JWKS_URL`: RS256/ES256 with the identity provider's published keys.
    Jwks(String),
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The secret itself never reaches a log line.
            Self::Secret(_) => f.write_str("Secret(<redacted>)"),
            Self::Jwks(url) => f.debug_tuple("Jwks").field(url).finish(),
        }
    }
}

/// The shortest HS256 secret accepted: 256 bits, the hash's size.
pub const MIN_SECRET_BYTES: usize = 32;

impl TokenKeys {
    /// The keys `GATEWAY_JWT_SECRET` or `GATEWAY_JWKS_URL` name: exactly one of them.
    fn from_settings(secret: Option<&Secret>, jwks: Option<&str>) -> Result<Self, ConfigError> {
        let secret = secret.map(Secret::expose).unwrap_or_default().to_owned();
        let jwks = jwks.unwrap_or_default().to_owned();
        Ok(match (secret.is_empty(), jwks.is_empty()) {
            // Keys fetched over plain HTTP could be swapped on the way: anyone on the path
            // would mint tokens.
            (_, false) if !jwks.starts_with("https://") => {
                return Err(ConfigError {
                    name: "GATEWAY_JWKS_URL".to_owned(),
                    value: jwks,
                    reason: "must be an https:// URL".to_owned(),
                });
            }
            (true, false) => Self::Jwks(jwks),
            (false, true) if secret.len() >= MIN_SECRET_BYTES => Self::Secret(secret.into_bytes()),
            (false, true) => {
                return Err(ConfigError {
                    name: "GATEWAY_JWT_SECRET".to_owned(),
                    value: "<redacted>".to_owned(),
                    reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
                });
            }
            (false, false) => {
                return Err(ConfigError {
                    name: "GATEWAY_JWKS_URL".to_owned(),
                    value: jwks,
                    reason: "set GATEWAY_JWT_SECRET or GATEWAY_JWKS_URL, not both".to_owned(),
                });
            }
            (true, true) => {
                return Err(ConfigError {
                    name: "GATEWAY_JWT_SECRET".to_owned(),
                    value: String::new(),
                    reason: "the gateway needs GATEWAY_JWT_SECRET (scripts/up makes one) or \
                             GATEWAY_JWKS_URL to check bearer tokens"
                        .to_owned(),
                });
            }
        })
    }
}

/// Requests per client (token subject, else IP address).
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// `GATEWAY_RATE_LIMIT_PER_SECOND` (default 50): the sustained rate; 0 turns limiting off
    /// (benchmarks).
    pub per_second: u32,
    /// `GATEWAY_RATE_LIMIT_BURST` (default 100): how many requests may come at once.
    pub burst: u32,
    /// `GATEWAY_RATE_LIMIT_MAX_CLIENTS` (default 100000): clients tracked at once. Past that,
    /// new clients share one budget until quiet ones are forgotten, so a flood of addresses
    /// cannot grow the limiter's memory.
    pub max_clients: usize,
    /// `GATEWAY_TRUSTED_PROXIES`: comma-separated addresses of the proxies in front of the
    /// gateway (a load balancer, an ingress). Only a request from one of them has its client
    /// taken from `X-Forwarded-For`; from anyone else the header is ignored, so it cannot be
    /// used to pose as many clients. Empty (the default): the peer address counts.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl RateLimitConfig {
    pub const OFF: Self = Self {
        per_second: 0,
        burst: 0,
        max_clients: 100_000,
        trusted_proxies: Vec::new(),
    };
}

/// The addresses of `GATEWAY_TRUSTED_PROXIES`.
fn trusted_proxies(value: &str) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    comma_list(value)
        .iter()
        .map(|proxy| {
            proxy.parse().map_err(|_| ConfigError {
                name: "GATEWAY_TRUSTED_PROXIES".to_owned(),
                value: value.to_owned(),
                reason: format!("{proxy:?} is not an IP address"),
            })
        })
        .collect()
}

/// What one connection, request or socket may take.
#[derive(Clone, Copy, Debug)]
pub struct EdgeConfig {
    /// `GATEWAY_BODY_LIMIT_BYTES` (default 65536): the largest request body on any route,
    /// GraphQL included; a larger one is a 413 before it is read.
    pub body_limit: usize,
    /// `GATEWAY_HEADER_READ_TIMEOUT_MS` (default 10000): a client must send a request's
    /// headers within this, or its connection is closed (slowloris).
    pub header_read_timeout: Duration,
    /// `GATEWAY_REQUEST_TIMEOUT_MS` (default 30000): the longest a request may take to read
    /// its body and get its answer started (event streams and sockets then live on).
    pub request_timeout: Duration,
    /// `GATEWAY_MAX_CONNECTIONS` (default 10000): open connections at once; more are closed
    /// as they arrive.
    pub max_connections: usize,
    /// `GATEWAY_WS_MAX_SOCKETS_PER_CLIENT` (default 16): WebSockets and event streams one
    /// client (token subject, else address) may hold open at once.
    pub max_sockets_per_client: usize,
    /// `GATEWAY_WS_MAX_SUBSCRIPTIONS` (default 32): operations running at once on one
    /// WebSocket.
    pub max_subscriptions_per_socket: usize,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            body_limit: BODY_LIMIT_BYTES,
            header_read_timeout: Duration::from_millis(HEADER_READ_TIMEOUT_MS),
            request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS),
            max_connections: MAX_CONNECTIONS as usize,
            max_sockets_per_client: MAX_SOCKETS_PER_CLIENT,
            max_subscriptions_per_socket: MAX_SUBSCRIPTIONS_PER_SOCKET,
        }
    }
}

/// The gateway's HTTPS certificate and key, as PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// `GATEWAY_TLS_CERT` and `GATEWAY_TLS_KEY`, both or neither.
    fn from_settings(
        cert: Option<&PathBuf>,
        key: Option<&PathBuf>,
    ) -> Result<Option<Self>, ConfigError> {
        match (cert, key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => Ok(Some(Self {
                cert: cert.clone(),
                key: key.clone(),
            })),
            _ => Err(ConfigError {
                name: "GATEWAY_TLS_CERT".to_owned(),
                value: cert
                    .map(|cert| cert.display().to_string())
                    .unwrap_or_default(),
                reason: "GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together".to_owned(),
            }),
        }
    }
}

impl Config {
    /// The defaults of every setting but where to listen, the backends, the broker and the
    /// token keys: what tests and embedders start from. No rate limit, no TLS, no CORS.
    pub fn new(
        addr: SocketAddr,
        backends: BackendUrls,
        kafka: KafkaConfig,
        keys: TokenKeys,
    ) -> Self {
        Self {
            addr,
            backends,
            backend_timeout: Duration::from_millis(BACKEND_TIMEOUT_MS),
            menu_item_ttl: Duration::from_millis(MENU_ITEM_TTL_MS),
            balance: BalanceConfig::default(),
            assets_dir: PathBuf::from(DEFAULT_ASSETS_DIR),
            app_dir: PathBuf::from(DEFAULT_APP_DIR),
            kafka,
            graphql: GraphqlConfig::default(),
            trusted_documents: None,
            auth: AuthConfig {
                keys,
                dev_login: false,
                claims: ClaimRules::lenient(),
            },
            rate_limit: RateLimitConfig::OFF,
            edge: EdgeConfig::default(),
            cors_origins: Vec::new(),
            tls: None,
        }
    }
}

impl Settings {
    pub fn config(&self) -> Result<Config, ConfigError> {
        let millis = Duration::from_millis;
        Ok(Config {
            addr: self.addr,
            backends: BackendUrls {
                menu: urls("MENU_URL", &self.menu_url)?,
                order: urls("ORDER_URL", &self.order_url)?,
                delivery: urls("DELIVERY_URL", &self.delivery_url)?,
                inventory: urls("INVENTORY_URL", &self.inventory_url)?,
                billing: urls("BILLING_URL", &self.billing_url)?,
            },
            backend_timeout: millis(self.backend_timeout_ms),
            menu_item_ttl: millis(self.menu_item_ttl_ms),
            balance: self.balance.config(self.grpc_tls.client()?),
            assets_dir: self.assets_dir.clone(),
            app_dir: self.app_dir.clone(),
            kafka: self.kafka.config()?,
            graphql: GraphqlConfig {
                introspection: self.graphql_introspection,
                keepalive: millis(self.stream_keepalive_ms),
                feed_rest: millis(self.feed_rest_ms),
            },
            trusted_documents: self.graphql_trusted_documents.clone(),
            auth: AuthConfig {
                keys: TokenKeys::from_settings(self.jwt_secret.as_ref(), self.jwks_url.as_deref())?,
                dev_login: self.dev_login,
                claims: ClaimRules {
                    issuer: self.jwt_issuer.clone(),
                    audience: self.jwt_audience.clone(),
                    max_lifetime: (self.jwt_max_lifetime_secs > 0)
                        .then(|| Duration::from_secs(self.jwt_max_lifetime_secs)),
                    leeway: Duration::from_secs(self.jwt_leeway_secs),
                },
            },
            rate_limit: RateLimitConfig {
                per_second: self.rate_limit_per_second,
                burst: self.rate_limit_burst,
                max_clients: self.rate_limit_max_clients,
                trusted_proxies: trusted_proxies(&self.trusted_proxies)?,
            },
            edge: EdgeConfig {
                body_limit: self.body_limit_bytes,
                header_read_timeout: millis(self.header_read_timeout_ms),
                request_timeout: millis(self.request_timeout_ms),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
                max_sockets_per_client: self.ws_max_sockets_per_client,
                max_subscriptions_per_socket: self.ws_max_subscriptions,
            },
            cors_origins: comma_list(&self.cors_origins),
            tls: TlsFiles::from_settings(self.tls_cert.as_ref(), self.tls_key.as_ref())?,
        })
    }
}

/// Where `npm ci` in `gateway/web` puts the assets in a source checkout.
pub const DEFAULT_ASSETS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/node_modules");

/// Where `npm run build` in `gateway/app` puts the web page in a source checkout.
pub const DEFAULT_APP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/app/dist");

/// How long the subscription feed goes without subscribers before it rests (two looks this far
/// apart), unless `GATEWAY_FEED_REST_MS` says otherwise.
pub const FEED_REST_AFTER: Duration = Duration::from_millis(FEED_REST_MS);

/// How the schema is served.
#[derive(Clone, Copy, Debug)]
pub struct GraphqlConfig {
    /// `GATEWAY_GRAPHQL_INTROSPECTION` (default true): whether `__schema` and `__type` answer.
    /// GraphiQL's docs and completion need it; a production gateway may turn it off.
    pub introspection: bool,
    /// `GATEWAY_STREAM_KEEPALIVE_MS` (default 15000): how often an open subscription (WebSocket
    /// or server-sent events) gets a keep-alive, so proxies with a 30 to 60 s idle timeout
    /// never cut a quiet one.
    pub keepalive: std::time::Duration,
    /// `GATEWAY_FEED_REST_MS` (default 15000): how often the subscription feed looks for
    /// subscribers; after two looks without any it stops fetching until the next one comes
    /// (see `crate::feed`).
    pub feed_rest: std::time::Duration,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            introspection: true,
            keepalive: Duration::from_millis(STREAM_KEEPALIVE_MS),
            feed_rest: FEED_REST_AFTER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_urls_are_a_comma_separated_list_of_http_urls() {
        let parse = |value| urls("MENU_URL", value);
        assert_eq!(
            parse("http://a:1, http://b:2").ok(),
            Some(vec!["http://a:1".to_owned(), "http://b:2".to_owned()])
        );
        assert!(parse("127.0.0.1:1").is_err());
        assert!(parse(" , ").is_err());
    }
}
