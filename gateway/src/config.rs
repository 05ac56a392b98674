//! Gateway settings, from the environment with defaults that work on a developer machine.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use mesh_kit::{
    config::{ConfigError, parse_or, var_or},
    kafka::KafkaConfig,
};

/// Where each backend answers: one URL, or several (comma-separated) to balance over. A DNS name
/// stands for every address it resolves to, looked up again and again (a headless Kubernetes
/// Service: one endpoint per pod). The balancer's other knobs are the `BALANCE_*` variables
/// (`mesh_kit::balance::BalanceConfig`).
#[derive(Clone, Debug)]
pub struct BackendUrls {
    pub menu: Vec<String>,
    pub order: Vec<String>,
    pub delivery: Vec<String>,
    pub inventory: Vec<String>,
    pub billing: Vec<String>,
}

impl BackendUrls {
    /// `MENU_URL`, `ORDER_URL`, `DELIVERY_URL`, `INVENTORY_URL`, `BILLING_URL`; defaults are the
    /// services' local ports.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            menu: urls("MENU_URL", "http://127.0.0.1:50051")?,
            order: urls("ORDER_URL", "http://127.0.0.1:50052")?,
            delivery: urls("DELIVERY_URL", "http://127.0.0.1:50053")?,
            inventory: urls("INVENTORY_URL", "http://127.0.0.1:50054")?,
            billing: urls("BILLING_URL", "http://127.0.0.1:50055")?,
        })
    }
}

fn urls(name: &str, default: &str) -> Result<Vec<String>, ConfigError> {
    let value = var_or(name, default);
    let urls: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect();
    match urls
        .iter()
        .find(|url| !url.starts_with("http://") && !url.starts_with("https://"))
    {
        Some(bad) => Err(ConfigError {
            name: name.to_owned(),
            value: value.clone(),
            reason: format!("{bad:?} is not an http:// or https:// URL"),
        }),
        None if urls.is_empty() => Err(ConfigError {
            name: name.to_owned(),
            value,
            reason: "at least one URL is required".to_owned(),
        }),
        None => Ok(urls),
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `GATEWAY_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    pub backends: BackendUrls,
    /// `GATEWAY_BACKEND_TIMEOUT_MS`: the deadline of every backend call (default 5000), retry
    /// included, sent to the backend as `grpc-timeout`. A slow backend costs a client this long
    /// at most, then a 504.
    pub backend_timeout: Duration,
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
    fn from_env() -> Result<Self, ConfigError> {
        let set = |value: String| Some(value).filter(|value| !value.is_empty());
        let lifetime: u64 = parse_or("GATEWAY_JWT_MAX_LIFETIME_SECS", 0)?;
        Ok(Self {
            issuer: set(var_or("GATEWAY_JWT_ISSUER", "")),
            audience: set(var_or("GATEWAY_JWT_AUDIENCE", "")),
            max_lifetime: (lifetime > 0).then(|| Duration::from_secs(lifetime)),
            leeway: Duration::from_secs(parse_or("GATEWAY_JWT_LEEWAY_SECS", 30)?),
        })
    }

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

impl AuthConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret = var_or("GATEWAY_JWT_SECRET", "");
        let jwks = var_or("GATEWAY_JWKS_URL", "");
        let keys = match (secret.is_empty(), jwks.is_empty()) {
            // Keys fetched over plain HTTP could be swapped on the way: anyone on the path
            // would mint tokens.
            (_, false) if !jwks.starts_with("https://") => {
                return Err(ConfigError {
                    name: "GATEWAY_JWKS_URL".to_owned(),
                    value: jwks,
                    reason: "must be an https:// URL".to_owned(),
                });
            }
            (true, false) => TokenKeys::Jwks(jwks),
            (false, true) if secret.len() >= MIN_SECRET_BYTES => {
                TokenKeys::Secret(secret.into_bytes())
            }
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
        };
        Ok(Self {
            keys,
            dev_login: parse_or("GATEWAY_DEV_LOGIN", false)?,
            claims: ClaimRules::from_env()?,
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

    pub fn from_env() -> Result<Self, ConfigError> {
        let proxies = var_or("GATEWAY_TRUSTED_PROXIES", "");
        let trusted_proxies = proxies
            .split(',')
            .map(str::trim)
            .filter(|proxy| !proxy.is_empty())
            .map(|proxy| {
                proxy.parse().map_err(|_| ConfigError {
                    name: "GATEWAY_TRUSTED_PROXIES".to_owned(),
                    value: proxies.clone(),
                    reason: format!("{proxy:?} is not an IP address"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            per_second: parse_or("GATEWAY_RATE_LIMIT_PER_SECOND", 50)?,
            burst: parse_or("GATEWAY_RATE_LIMIT_BURST", 100)?,
            max_clients: parse_or("GATEWAY_RATE_LIMIT_MAX_CLIENTS", 100_000)?,
            trusted_proxies,
        })
    }
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
            body_limit: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_sockets_per_client: 16,
            max_subscriptions_per_socket: 32,
        }
    }
}

impl EdgeConfig {
    /// Each setting from its variable, [`EdgeConfig::default`]'s value when unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let millis = |ms: u64| Duration::from_millis(ms.max(1));
        Ok(Self {
            body_limit: parse_or("GATEWAY_BODY_LIMIT_BYTES", d.body_limit)?,
            header_read_timeout: millis(parse_or(
                "GATEWAY_HEADER_READ_TIMEOUT_MS",
                ms(d.header_read_timeout),
            )?),
            request_timeout: millis(parse_or(
                "GATEWAY_REQUEST_TIMEOUT_MS",
                ms(d.request_timeout),
            )?),
            max_connections: parse_or("GATEWAY_MAX_CONNECTIONS", d.max_connections)?.max(1),
            max_sockets_per_client: parse_or(
                "GATEWAY_WS_MAX_SOCKETS_PER_CLIENT",
                d.max_sockets_per_client,
            )?,
            max_subscriptions_per_socket: parse_or(
                "GATEWAY_WS_MAX_SUBSCRIPTIONS",
                d.max_subscriptions_per_socket,
            )?,
        })
    }
}

/// The gateway's HTTPS certificate and key, as PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let cert = var_or("GATEWAY_TLS_CERT", "");
        let key = var_or("GATEWAY_TLS_KEY", "");
        match (cert.is_empty(), key.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(Self {
                cert: cert.into(),
                key: key.into(),
            })),
            _ => Err(ConfigError {
                name: "GATEWAY_TLS_CERT".to_owned(),
                value: cert,
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
            backend_timeout: Duration::from_millis(5_000),
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

    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: parse_or("GATEWAY_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            backends: BackendUrls::from_env()?,
            backend_timeout: Duration::from_millis(parse_or("GATEWAY_BACKEND_TIMEOUT_MS", 5_000)?),
            assets_dir: PathBuf::from(var_or("GATEWAY_ASSETS_DIR", DEFAULT_ASSETS_DIR)),
            app_dir: PathBuf::from(var_or("GATEWAY_APP_DIR", DEFAULT_APP_DIR)),
            kafka: KafkaConfig::from_env()?,
            graphql: GraphqlConfig {
                introspection: parse_or("GATEWAY_GRAPHQL_INTROSPECTION", true)?,
                keepalive: Duration::from_millis(parse_or("GATEWAY_STREAM_KEEPALIVE_MS", 15_000)?),
                feed_rest: Duration::from_millis(parse_or("GATEWAY_FEED_REST_MS", 15_000)?.max(1)),
            },
            trusted_documents: Some(var_or("GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS", ""))
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            auth: AuthConfig::from_env()?,
            rate_limit: RateLimitConfig::from_env()?,
            edge: EdgeConfig::from_env()?,
            cors_origins: var_or("GATEWAY_CORS_ORIGINS", "")
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_owned)
                .collect(),
            tls: TlsFiles::from_env()?,
        })
    }
}

/// Where `npm ci` in `gateway/web` puts the assets in a source checkout.
pub const DEFAULT_ASSETS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/node_modules");

/// Where `npm run build` in `gateway/app` puts the web page in a source checkout.
pub const DEFAULT_APP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/app/dist");

/// How long the subscription feed goes without subscribers before it rests (two looks this far
/// apart), unless `GATEWAY_FEED_REST_MS` says otherwise.
pub const FEED_REST_AFTER: std::time::Duration = std::time::Duration::from_secs(15);

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
            keepalive: std::time::Duration::from_secs(15),
            feed_rest: FEED_REST_AFTER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_urls_are_a_comma_separated_list_of_http_urls() {
        // An unset variable falls back to the default, so the default is the input here.
        let parse = |value| urls("GATEWAY_TEST_UNSET_URL", value);
        assert_eq!(
            parse("http://a:1, http://b:2").ok(),
            Some(vec!["http://a:1".to_owned(), "http://b:2".to_owned()])
        );
        assert!(parse("127.0.0.1:1").is_err());
        assert!(parse(" , ").is_err());
    }
}
