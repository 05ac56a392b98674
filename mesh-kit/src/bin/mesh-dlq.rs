//! `mesh-dlq`: replays a dead-letter topic after its cause is fixed.
//!
//! ```text
//! mesh-dlq replay <topic> [--dry-run]     e.g. mesh-dlq replay billing-requests
//! ```
//!
//! The broker and topic prefix come from `KAFKA_BROKERS` and `KAFKA_TOPIC_PREFIX`, as for the
//! services. See `mesh_kit::dlq` for what a replay does and how it remembers where it stopped.

use std::process::ExitCode;

use mesh_kit::{dlq, kafka::KafkaConfig};

const USAGE: &str = "usage: mesh-dlq replay <topic> [--dry-run]
  Copies every record of <topic>.dlq not replayed before back to <topic>, without its dlq_*
  headers. <topic> is a logical name: order-events, delivery-events, billing-events,
  billing-requests. --dry-run lists the records and moves nothing.
  Broker: KAFKA_BROKERS (default 127.0.0.1:9092); topic prefix: KAFKA_TOPIC_PREFIX.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (topic, dry_run) = match args.as_slice() {
        ["replay", topic] => (*topic, false),
        ["replay", topic, "--dry-run"] | ["replay", "--dry-run", topic] => (*topic, true),
        ["-h" | "--help" | "help"] => {
            report(USAGE);
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let kafka = match KafkaConfig::from_env() {
        Ok(kafka) => kafka,
        Err(err) => {
            eprintln!("mesh-dlq: {err}");
            return ExitCode::from(2);
        }
    };
    match dlq::replay(&kafka, topic, dry_run).await {
        Ok(records) => {
            let verb = if dry_run { "would replay" } else { "replayed" };
            for record in &records {
                report(&format!(
                    "{verb} {}.dlq[{}]@{} -> {} key={} reason: {}",
                    topic,
                    record.partition,
                    record.offset,
                    record.to,
                    record.key.as_deref().unwrap_or("-"),
                    record.reason
                ));
            }
            report(&format!(
                "{verb} {} record(s) of {topic}.dlq",
                records.len()
            ));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mesh-dlq: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The command's output, on stdout.
#[expect(clippy::print_stdout, reason = "a command-line tool reports on stdout")]
fn report(line: &str) {
    println!("{line}");
}
