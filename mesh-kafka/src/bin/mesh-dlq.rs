//! `mesh-dlq`: replays a dead-letter topic after its cause is fixed.
//!
//! ```text
//! mesh-dlq replay <topic> [--dry-run]     e.g. mesh-dlq replay billing-requests
//! ```
//!
//! The broker and topic prefix come from `KAFKA_BROKERS` and `KAFKA_TOPIC_PREFIX`, as for the
//! services (`mesh-dlq --print-settings` lists them all). See `mesh_kafka::dlq` for what a replay does and how it remembers where it stopped.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mesh_kafka::{KafkaSettings, dlq};
use mesh_kit::settings;

/// Replays a dead-letter topic after its cause is fixed.
#[derive(Parser)]
#[command(name = "mesh-dlq", version)]
struct Settings {
    #[command(subcommand)]
    command: Tool,
    #[command(flatten)]
    kafka: KafkaSettings,
}

#[derive(Subcommand)]
enum Tool {
    /// Copy every record of <TOPIC>.dlq not replayed before back to <TOPIC>, without its dlq_*
    /// headers.
    Replay {
        /// A logical topic: order-events, delivery-events, billing-events, billing-requests.
        topic: String,
        /// List the records and move nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let settings: Settings = settings::parse();
    let Tool::Replay { topic, dry_run } = settings.command;
    let topic = topic.as_str();
    let kafka = match settings.kafka.config() {
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
