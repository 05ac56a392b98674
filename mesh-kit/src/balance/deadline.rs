//! The call's deadline, as gRPC carries it: the `grpc-timeout` header (what tonic's
//! `Request::set_timeout` writes). Read once when the call enters the balancer, and written again
//! before each attempt with what remains, so the server gives up when the client does and a
//! retry gets only the time the first attempt left.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

pub(crate) const GRPC_TIMEOUT: &str = "grpc-timeout";

/// When the call must be over: now plus its `grpc-timeout`, or plus `default` when it has none.
pub(crate) fn deadline(
    headers: &HeaderMap,
    now: Instant,
    default: Option<Duration>,
) -> Option<Instant> {
    headers
        .get(GRPC_TIMEOUT)
        .and_then(|value| parse(value.to_str().ok()?))
        .or(default)
        .map(|timeout| now + timeout)
}

/// Writes the time left until `deadline` as `grpc-timeout`.
pub(crate) fn set_remaining(headers: &mut HeaderMap, remaining: Duration) {
    if let Ok(value) = HeaderValue::from_str(&format(remaining)) {
        headers.insert(GRPC_TIMEOUT, value);
    }
}

/// `grpc-timeout` is at most 8 digits and a unit (H, M, S, m, u, n).
fn parse(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The finest unit whose count fits in 8 digits, rounded down: the server's deadline must not
/// be later than ours.
fn format(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    if nanos <= MAX {
        return format!("{nanos}n");
    }
    let micros = timeout.as_micros();
    if micros <= MAX {
        return format!("{micros}u");
    }
    let millis = timeout.as_millis();
    if millis <= MAX {
        return format!("{millis}m");
    }
    let secs = timeout.as_secs();
    if u128::from(secs) <= MAX {
        return format!("{secs}S");
    }
    format!("{}H", (secs / 3600).min(99_999_999))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit_of_grpc_timeout() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("250u"), Some(Duration::from_micros(250)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "5", "m", "123456789m", "5s", "-5m", "1.5S"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn writes_the_finest_unit_that_fits_in_eight_digits() {
        assert_eq!(format(Duration::from_millis(50)), "50000000n");
        assert_eq!(format(Duration::from_millis(4999)), "4999000u");
        assert_eq!(format(Duration::from_secs(1000)), "1000000m");
        assert_eq!(format(Duration::from_secs(200_000)), "200000S");
        for timeout in [
            Duration::from_millis(1),
            Duration::from_millis(4321),
            Duration::from_secs(3 * 86_400),
        ] {
            let back = parse(&format(timeout)).expect("parses");
            assert!(back <= timeout && timeout - back < Duration::from_millis(1));
        }
    }

    #[test]
    fn the_deadline_comes_from_the_header_or_else_the_default() {
        let now = Instant::now();
        let mut headers = HeaderMap::new();
        assert_eq!(deadline(&headers, now, None), None);
        assert_eq!(
            deadline(&headers, now, Some(Duration::from_secs(5))),
            Some(now + Duration::from_secs(5))
        );
        set_remaining(&mut headers, Duration::from_millis(800));
        assert_eq!(
            deadline(&headers, now, Some(Duration::from_secs(5))),
            Some(now + Duration::from_millis(800)),
            "the caller's own deadline wins over the default"
        );
    }
}
