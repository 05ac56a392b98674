//! `mesh-bench`: the load client `scripts/bench` drives, for what `wrk` cannot measure.
//!
//! ```text
//! mesh-bench grpc-get-movie --addr URL --id N [--connections 32] [--duration 10]
//! mesh-bench events --gateway-url URL --token T --courier-token T [--samples 50]
//! mesh-bench burst --gateway-url URL --token T [--rate 200] [--seconds 10] [--timeout 60]
//! mesh-bench cpu --pid NAME=PID ... [--seconds 60] [--clk-tck 100]
//! mesh-bench settle --pid NAME=PID ... [--below 10] [--max-seconds 60] [--clk-tck 100]
//! ```
//!
//! Each command prints one JSON object on stdout (what the script reads with `jq`) and its
//! progress on stderr. Latencies are in milliseconds, rates per second, CPU in % of one core.

#![forbid(unsafe_code)]

mod burst;
mod cpu;
mod events;
mod gateway;
mod grpc;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The load client scripts/bench drives, for what wrk cannot measure. Each command prints one
/// JSON object on stdout and its progress on stderr.
#[derive(Parser)]
#[command(name = "mesh-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    GrpcGetMovie(grpc::GetMovie),
    Events(events::Events),
    Burst(burst::Burst),
    Cpu(cpu::Measure),
    Settle(cpu::Settle),
}

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    let result = match &command {
        Command::GrpcGetMovie(args) => grpc::get_movie(args).await,
        Command::Events(args) => events::run(args).await,
        Command::Burst(args) => burst::run(args).await,
        Command::Cpu(args) => cpu::measure(args).await,
        Command::Settle(args) => cpu::settle(args).await,
    };
    match result {
        Ok(report) => {
            emit(&report.to_string());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mesh-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Seconds, fractions allowed (`--duration 2.5`): a positive number.
fn seconds(value: &str) -> Result<std::time::Duration, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Ok(std::time::Duration::from_secs_f64(seconds))
        }
        _ => Err("a positive number of seconds".to_owned()),
    }
}

/// The command's result, on stdout.
#[expect(clippy::print_stdout, reason = "a command-line tool reports on stdout")]
fn emit(line: &str) {
    println!("{line}");
}

/// A progress line, on stderr.
fn progress(line: &str) {
    eprintln!("[mesh-bench] {line}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_commands_are_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_take_the_next_argument_or_an_equals_sign() {
        let parsed = Cli::try_parse_from(["mesh-bench", "cpu", "--pid", "a=1", "--pid=b=2"]);
        assert!(matches!(
            parsed,
            Ok(Cli {
                command: Command::Cpu(_)
            })
        ));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for args in [
            &["mesh-bench", "cpu"][..],
            &["mesh-bench", "cpu", "--pid", "a"],
            &[
                "mesh-bench",
                "grpc-get-movie",
                "--addr",
                "http://x",
                "--duration",
                "-1",
            ],
            &[
                "mesh-bench",
                "burst",
                "--gateway-url",
                "u",
                "--token",
                "t",
                "--rate",
                "0",
            ],
            &["mesh-bench", "nothing"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
