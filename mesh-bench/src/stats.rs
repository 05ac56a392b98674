//! Latency histograms (microseconds, 3 significant digits) and their summary as JSON.

use std::time::Duration;

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Up to an hour, in microseconds.
pub fn histogram() -> Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 3_600_000_000, 3)?)
}

pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

fn ms(micros: u64) -> f64 {
    round(micros as f64 / 1000.0)
}

/// Two decimals are more than a load test can tell apart.
pub fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `{"count", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms"}` (zeros when empty).
pub fn summary(histogram: &Histogram<u64>) -> Value {
    if histogram.is_empty() {
        return json!({"count": 0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0});
    }
    json!({
        "count": histogram.len(),
        "p50_ms": ms(histogram.value_at_quantile(0.50)),
        "p90_ms": ms(histogram.value_at_quantile(0.90)),
        "p99_ms": ms(histogram.value_at_quantile(0.99)),
        "max_ms": ms(histogram.max()),
        "mean_ms": round(histogram.mean() / 1000.0),
    })
}
