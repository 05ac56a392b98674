//! Structured logs through `tracing`: human-readable by default, JSON with `LOG_FORMAT=json`.
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans also go to an OpenTelemetry collector (OTLP over
//! HTTP/protobuf, e.g. `http://localhost:4318`), and [`trace_context`] carries the W3C
//! `traceparent` across every hop: HTTP into the gateway, gRPC metadata between programs, the
//! outbox and Kafka headers to the consumer that applies an event, so one request is one trace.

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

mod plain_fields;

use plain_fields::PlainFields;

/// The header that carries a request's id from the gateway to every service it calls, and on to
/// the events it causes.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

static TRACER_PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// How a program logs and traces: every binary's.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LogSettings {
    /// Which logs are written: a tracing filter (`info`, `warn,gateway=debug`); unset, `info`.
    #[arg(long, env = "RUST_LOG")]
    pub rust_log: Option<String>,
    /// `json` for one JSON object per line; unset, human-readable text.
    #[arg(long, env = "LOG_FORMAT", value_parser = ["text", "json"], ignore_case = true)]
    pub log_format: Option<String>,
    /// Set to anything: no colours, even on a terminal (https://no-color.org).
    #[arg(long, env = "NO_COLOR", num_args = 0..=1, default_missing_value = "1")]
    pub no_color: Option<String>,
    /// An OpenTelemetry collector (OTLP over HTTP, `http://localhost:4318`): spans go there, and
    /// each request is one trace across every hop. Unset, no traces.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// Installs the global subscriber for the program `service`, as `settings` say.
pub fn init(service: &'static str, settings: &LogSettings) {
    let tracer = settings
        .otlp_endpoint
        .as_deref()
        .is_some_and(|endpoint| !endpoint.trim().is_empty())
        .then(|| otlp_tracer(service))
        .flatten();
    let json = settings
        .log_format
        .as_deref()
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let filter = settings.rust_log.as_deref().unwrap_or("info");
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|err| {
        // Logging is not up yet: say it on stderr, and keep the default.
        eprintln!("RUST_LOG={filter:?} is not a log filter ({err}); logging at info");
        EnvFilter::new("info")
    });
    install(filter, json, settings.no_color.is_some(), false, tracer);
}

/// For tests: `RUST_LOG` filters (default `warn`), and output goes through the test harness so
/// only failing tests show it. Safe to call from every test; the first subscriber stays.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    install(filter, false, false, true, None);
}

/// Sends the spans still buffered; call before the program exits.
pub fn shutdown() {
    if let Some(provider) = TRACER_PROVIDER.get()
        && let Err(err) = provider.shutdown()
    {
        tracing::warn!(error = %err, "cannot flush the last spans");
    }
}

/// The OTLP tracer (the exporter reads `OTEL_EXPORTER_OTLP_*` itself). Built before any async
/// runtime exists: the batch exporter works on a thread of its own, with a blocking HTTP client.
fn otlp_tracer(service: &'static str) -> Option<opentelemetry_sdk::trace::Tracer> {
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(err) => {
            // Logging is not up yet: say it on stderr, and run without traces.
            eprintln!("OTLP exporter not started, no traces: {err}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer(service);
    let _ = TRACER_PROVIDER.set(provider);
    Some(tracer)
}

fn install(
    filter: EnvFilter,
    json: bool,
    no_color: bool,
    test_writer: bool,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) {
    // Colours only for a terminal: log files and `kubectl logs` get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && !no_color;
    let fmt = tracing_subscriber::fmt::layer().with_ansi(ansi);
    let fmt = match (json, test_writer) {
        (true, true) => fmt.json().flatten_event(true).with_test_writer().boxed(),
        (true, false) => fmt.json().flatten_event(true).boxed(),
        (false, true) => fmt.fmt_fields(PlainFields).with_test_writer().boxed(),
        (false, false) => fmt.fmt_fields(PlainFields).boxed(),
    };
    let traces = tracer.map(|tracer| tracing_opentelemetry::layer().with_tracer(tracer));
    // Ignore "already set": the first caller's subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(traces)
        .try_init();
}

/// The W3C trace context (`traceparent`) of the current span, into and out of the carriers
/// the mesh uses. Without an exporter there is no trace context, and these do nothing.
pub mod trace_context {
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    /// The header (and gRPC metadata key, and Kafka header) that carries it.
    pub const TRACEPARENT: &str = "traceparent";

    struct Headers<'a>(&'a mut http::HeaderMap);

    impl Injector for Headers<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(key.as_bytes()),
                http::HeaderValue::from_str(&value),
            ) {
                self.0.insert(name, value);
            }
        }
    }

    struct ReadHeaders<'a>(&'a http::HeaderMap);

    impl Extractor for ReadHeaders<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(|value| value.to_str().ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(http::HeaderName::as_str).collect()
        }
    }

    struct One(Option<String>);

    impl Injector for One {
        fn set(&mut self, key: &str, value: String) {
            if key == TRACEPARENT {
                self.0 = Some(value);
            }
        }
    }

    impl Extractor for One {
        fn get(&self, key: &str) -> Option<&str> {
            (key == TRACEPARENT).then_some(self.0.as_deref()).flatten()
        }

        fn keys(&self) -> Vec<&str> {
            vec![TRACEPARENT]
        }
    }

    /// Adds the current span's `traceparent` to outgoing HTTP/gRPC headers.
    pub fn inject(headers: &mut http::HeaderMap) {
        let context = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&context, &mut Headers(headers));
    }

    /// Makes `span` a child of the trace the incoming headers name, if any.
    pub fn continue_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
        let parent = TraceContextPropagator::new().extract(&ReadHeaders(headers));
        let _ = span.set_parent(parent);
    }

    /// The current span's `traceparent`, to store with an event for the relay to publish.
    pub fn current() -> Option<String> {
        let context = tracing::Span::current().context();
        let mut one = One(None);
        TraceContextPropagator::new().inject_context(&context, &mut one);
        one.0
    }

    /// Makes `span` a child of the trace a consumed record's `traceparent` names, if any.
    pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
        if let Some(traceparent) = traceparent {
            let parent = TraceContextPropagator::new().extract(&One(Some(traceparent.to_owned())));
            let _ = span.set_parent(parent);
        }
    }
}
