//! Per-client rate limits with `governor` (GCRA): each client ([`crate::http::edge::Client`]: its
//! token's subject when it sent one and its address otherwise) may make
//! `GATEWAY_RATE_LIMIT_BURST` operations at once and `GATEWAY_RATE_LIMIT_PER_SECOND` sustained:
//! an HTTP request is one, and so is each operation started over a WebSocket. Over that: 429 with `Retry-After` and our JSON
//! error, counted in `/metrics` as `gateway_rate_limited_total`. A rate of 0 turns it off
//! (benchmarks).
//!
//! Keyed by subject first so that many people behind one NAT are not one client, and one
//! person's token is one client wherever they call from.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use axum::{
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use governor::{Quota, RateLimiter, clock::DefaultClock, state::keyed::DefaultKeyedStateStore};

use crate::{
    config::RateLimitConfig,
    error::{ApiError, ErrorCode},
    http::edge::client::Client,
    metrics::Metrics,
};

type Limiter = RateLimiter<Client, DefaultKeyedStateStore<Client>, DefaultClock>;

/// How often clients that went quiet are forgotten, so the table stays the size of the active
/// ones.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The limits; cheap to clone.
#[derive(Clone, Default)]
pub struct RateLimits {
    limiter: Option<Arc<Limiter>>,
    max_clients: usize,
    metrics: Metrics,
}

impl RateLimits {
    /// Limits per `config`; none when its rate is 0.
    pub fn new(config: &RateLimitConfig, metrics: Metrics) -> Self {
        let Some(rate) = NonZeroU32::new(config.per_second) else {
            return Self {
                limiter: None,
                max_clients: config.max_clients,
                metrics,
            };
        };
        let burst = NonZeroU32::new(config.burst).unwrap_or(rate);
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_second(rate).allow_burst(burst),
        ));
        let weak = Arc::downgrade(&limiter);
        // Only while the gateway runs (a runtime exists); tests building routers without one
        // simply keep every key.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(FORGET_EVERY);
                loop {
                    tick.tick().await;
                    let Some(limiter) = weak.upgrade() else { break };
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            });
        }
        Self {
            limiter: Some(limiter),
            max_clients: config.max_clients,
            metrics,
        }
    }

    /// Counts one operation of `client`; `Err(wait)` when it must wait before the next.
    pub fn check(&self, client: &Client) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // A full table takes no new keys: everyone shares one budget until quiet clients are
        // forgotten, so a flood of addresses costs no memory (and gets little through).
        let overflow;
        let key = if limiter.len() >= self.max_clients {
            overflow = Client::address(None);
            &overflow
        } else {
            client
        };
        limiter.check_key(key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()))
        })
    }

    /// The 429 for `client`, counted in `/metrics`.
    pub fn too_many(&self, client: &Client, wait: Duration) -> Response {
        self.metrics.rate_limited();
        tracing::debug!(
            client = client.as_str(),
            wait_ms = wait.as_millis() as u64,
            "rate limited"
        );
        let mut response = refusal(wait).into_response();
        let seconds = retry_after(wait);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Whole seconds, rounded up and at least 1: `Retry-After` has no fractions.
fn retry_after(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// The error a limited operation gets, over HTTP or inside a WebSocket.
pub fn refusal(wait: Duration) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceExhausted,
        format!("too many requests; retry in {} s", retry_after(wait)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Limits of 1/s with `burst`, tracking at most `max_clients`, inside a runtime (they
    /// start their forgetting task in one).
    fn limits(burst: u32, max_clients: usize) -> (tokio::runtime::Runtime, RateLimits) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let limits = {
            let _guard = runtime.enter();
            RateLimits::new(
                &RateLimitConfig {
                    per_second: 1,
                    burst,
                    max_clients,
                    ..RateLimitConfig::OFF
                },
                Metrics::default(),
            )
        };
        (runtime, limits)
    }

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let (_runtime, limits) = limits(3, 100);
        let a = Client::subject("a");
        for _ in 0..3 {
            assert!(limits.check(&a).is_ok());
        }
        let wait = limits.check(&a).expect_err("over the burst");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(
            limits.check(&Client::subject("b")).is_ok(),
            "another client has its own budget"
        );
    }

    #[test]
    fn past_its_client_cap_the_table_stops_growing() {
        let (_runtime, limits) = limits(2, 10);
        let mut allowed = 0;
        for i in 0..1_000 {
            let client = Client::address(Some(std::net::IpAddr::from([
                10,
                0,
                (i / 256) as u8,
                (i % 256) as u8,
            ])));
            allowed += usize::from(limits.check(&client).is_ok());
        }
        let table = limits.limiter.as_ref().map_or(0, |limiter| limiter.len());
        assert!(table <= 11, "{table} keys");
        assert!(allowed <= 12, "{allowed} of 1000 new addresses got through");
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RateLimits::new(&RateLimitConfig::OFF, Metrics::default());
        let client = Client::address(Some([1, 2, 3, 4].into()));
        for _ in 0..10_000 {
            assert!(limits.check(&client).is_ok());
        }
    }
}
