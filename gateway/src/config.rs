//! Gateway settings, from the environment with defaults that work on a developer machine.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use mesh_kit::{
    config::{ConfigError, parse_or, var_or},
    kafka::KafkaConfig,
};

/// Where each backend answers: one URL, or several (comma-separated) to balance over.
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
    /// `GATEWAY_BACKEND_TIMEOUT_MS`: the deadline of every backend call (default 5000). A slow
    /// backend costs a client this long at most, then a 504.
    pub backend_timeout: Duration,
    /// `GATEWAY_ASSETS_DIR`: the `node_modules` folder GraphiQL's browser files are served from.
    pub assets_dir: PathBuf,
    /// The broker, for billing requests and subscriptions.
    pub kafka: KafkaConfig,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            addr: parse_or("GATEWAY_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000)))?,
            backends: BackendUrls::from_env()?,
            backend_timeout: Duration::from_millis(parse_or("GATEWAY_BACKEND_TIMEOUT_MS", 5_000)?),
            assets_dir: PathBuf::from(var_or("GATEWAY_ASSETS_DIR", DEFAULT_ASSETS_DIR)),
            kafka: KafkaConfig::from_env()?,
        })
    }
}

/// Where `npm ci` in `gateway/web` puts the assets in a source checkout.
pub const DEFAULT_ASSETS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/node_modules");

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
