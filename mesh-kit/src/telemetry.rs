//! Structured logs through `tracing`: human-readable by default, JSON with `LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

/// The header that carries a request's id from the gateway to every service it calls, and on to
/// the events it causes.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Installs the global subscriber. `RUST_LOG` filters (default `info`).
pub fn init() {
    install("info", false);
}

/// For tests: `RUST_LOG` filters (default `warn`), and output goes through the test harness so
/// only failing tests show it. Safe to call from every test; the first subscriber stays.
pub fn init_for_tests() {
    install("warn", true);
}

fn install(default: &str, test_writer: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    // Colours only for a terminal: log files and `kubectl logs` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // Ignore "already set": the first caller's subscriber stays.
    let _ = match (json, test_writer) {
        (true, true) => builder
            .json()
            .flatten_event(true)
            .with_test_writer()
            .try_init(),
        (true, false) => builder.json().flatten_event(true).try_init(),
        (false, true) => builder.with_test_writer().try_init(),
        (false, false) => builder.try_init(),
    };
}
