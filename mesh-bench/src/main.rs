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

mod args;
mod burst;
mod cpu;
mod events;
mod gateway;
mod grpc;
mod stats;

use std::process::ExitCode;

use args::Args;

const USAGE: &str = "usage: mesh-bench <command> [--option value]...
  grpc-get-movie --addr URL --id N [--connections 32] [--duration SECONDS]
      closed-loop InventoryService/GetMovie, one call in flight per HTTP/2 connection
  events --gateway-url URL --token CUSTOMER --courier-token COURIER [--samples 50]
      POST /orders -> OrderPaid and PUT /delivery/status -> push, on the orderUpdates subscription
  burst --gateway-url URL --token CUSTOMER [--rate 200] [--seconds 10] [--timeout 60]
      POST /orders at a fixed rate, then how long until every order is PAID
  cpu --pid NAME=PID... [--seconds 60] [--clk-tck 100]
      CPU of the processes over a window (utime + stime from /proc/<pid>/stat)
  settle --pid NAME=PID... [--below 10] [--max-seconds 60] [--clk-tck 100]
      waits until the processes together use less than --below % of a core";

#[tokio::main]
async fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1);
    let Some(command) = raw.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        emit(USAGE);
        return ExitCode::SUCCESS;
    }
    let args = match Args::parse(raw) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("mesh-bench: {err:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "grpc-get-movie" => grpc::get_movie(&args).await,
        "events" => events::run(&args).await,
        "burst" => burst::run(&args).await,
        "cpu" => cpu::measure(&args).await,
        "settle" => cpu::settle(&args).await,
        other => {
            eprintln!("mesh-bench: unknown command '{other}'\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(report) => {
            emit(&report.to_string());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("mesh-bench {command}: {err:#}");
            ExitCode::FAILURE
        }
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
