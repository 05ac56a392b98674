//! Per-client rate limits with `governor` (GCRA): each client, its token's subject when it sent
//! one and its IP address otherwise, may make `GATEWAY_RATE_LIMIT_BURST` requests at once and
//! `GATEWAY_RATE_LIMIT_PER_SECOND` sustained. Over that: 429 with `Retry-After` and our JSON
//! error, counted in `/metrics` as `gateway_rate_limited_total`. A rate of 0 turns it off
//! (benchmarks).
//!
//! Keyed by subject first so that many people behind one NAT are not one client, and one
//! person's token is one client wherever they call from.

use std::{net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{Quota, RateLimiter, clock::DefaultClock, state::keyed::DefaultKeyedStateStore};

use crate::{
    auth::Caller,
    config::RateLimitConfig,
    error::{ApiError, ErrorCode},
    metrics::Metrics,
};

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// How often clients that went quiet are forgotten, so the table stays the size of the active
/// ones.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The limits; cheap to clone.
#[derive(Clone, Default)]
pub struct RateLimits {
    limiter: Option<Arc<Limiter>>,
    metrics: Metrics,
}

impl RateLimits {
    /// Limits per `config`; none when its rate is 0.
    pub fn new(config: RateLimitConfig, metrics: Metrics) -> Self {
        let Some(rate) = NonZeroU32::new(config.per_second) else {
            return Self {
                limiter: None,
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
            metrics,
        }
    }

    /// `Err(wait)` when `client` must wait before its next request.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&client.to_owned()).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()))
        })
    }
}

/// Who a request counts against: `sub:<subject>` or `ip:<address>`.
fn client_of(request: &Request) -> String {
    if let Some(principal) = request
        .extensions()
        .get::<Caller>()
        .and_then(Caller::principal)
    {
        return format!("sub:{}", principal.subject);
    }
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("ip:{}", addr.ip()),
        None => "ip:unknown".to_owned(),
    }
}

/// Middleware, after authentication (the caller decides the key).
pub async fn limit(State(limits): State<RateLimits>, request: Request, next: Next) -> Response {
    let client = client_of(&request);
    match limits.check(&client) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            limits.metrics.rate_limited();
            tracing::debug!(%client, wait_ms = wait.as_millis() as u64, "rate limited");
            // Whole seconds, rounded up: Retry-After has no fractions.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = ApiError::new(
                ErrorCode::ResourceExhausted,
                format!("too many requests; retry in {seconds} s"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _guard = runtime.enter();
        let limits = RateLimits::new(
            RateLimitConfig {
                per_second: 1,
                burst: 3,
            },
            Metrics::default(),
        );
        for _ in 0..3 {
            assert!(limits.check("sub:a").is_ok());
        }
        let wait = limits.check("sub:a").expect_err("over the burst");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(
            limits.check("sub:b").is_ok(),
            "another client has its own budget"
        );
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RateLimits::new(RateLimitConfig::OFF, Metrics::default());
        for _ in 0..10_000 {
            assert!(limits.check("ip:1.2.3.4").is_ok());
        }
    }
}
