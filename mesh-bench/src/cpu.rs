//! CPU time of processes: `utime + stime` from `/proc/<pid>/stat` at the start and end of a
//! window, in % of one core (100 = one core busy the whole window).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use serde_json::{Map, Value, json};

use crate::{progress, seconds, stats};

/// A process to watch, `NAME=PID`.
#[derive(Clone, Debug)]
pub struct Process {
    name: String,
    pid: u32,
}

fn process(spec: &str) -> Result<Process, String> {
    let (name, pid) = spec.split_once('=').ok_or("not NAME=PID")?;
    let pid = pid.parse().map_err(|_| "not a pid")?;
    Ok(Process {
        name: name.to_owned(),
        pid,
    })
}

/// CPU of the processes over a window (utime + stime from /proc/<pid>/stat).
#[derive(Debug, clap::Args)]
pub struct Measure {
    /// A process to watch, NAME=PID; one or more.
    #[arg(long = "pid", required = true, value_parser = process)]
    processes: Vec<Process>,
    /// The window, in seconds.
    #[arg(long, default_value = "60", value_parser = seconds)]
    seconds: Duration,
    /// Clock ticks per second (getconf CLK_TCK).
    #[arg(long, default_value_t = 100.0)]
    clk_tck: f64,
}

/// Waits until the processes together use less than --below % of a core.
#[derive(Debug, clap::Args)]
pub struct Settle {
    /// A process to watch, NAME=PID; one or more.
    #[arg(long = "pid", required = true, value_parser = process)]
    processes: Vec<Process>,
    /// % of one core the processes together must fall below.
    #[arg(long, default_value_t = 10.0)]
    below: f64,
    /// How long to wait at most, in seconds.
    #[arg(long, default_value = "60", value_parser = seconds)]
    max_seconds: Duration,
    /// Clock ticks per second (getconf CLK_TCK).
    #[arg(long, default_value_t = 100.0)]
    clk_tck: f64,
}

/// Clock ticks of user and system time the process has used.
fn ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    let (_, rest) = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow!("{path}: no ')' after the command"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let field = |index: usize| -> Result<u64> {
        fields
            .get(index)
            .ok_or_else(|| anyhow!("{path}: too few fields"))?
            .parse()
            .with_context(|| format!("{path}: field {} is not a number", index + 3))
    };
    Ok(field(11)? + field(12)?)
}

/// The processes' CPU over `window`, each and together, in % of one core.
async fn window(
    procs: &[Process],
    window: Duration,
    clk_tck: f64,
) -> Result<(f64, Map<String, Value>)> {
    let before = procs
        .iter()
        .map(|p| ticks(p.pid))
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut each = Map::new();
    let mut total = 0.0;
    for (process, before) in procs.iter().zip(before) {
        let used = ticks(process.pid)
            .with_context(|| {
                format!(
                    "{} (pid {}) exited during the window",
                    process.name, process.pid
                )
            })?
            .saturating_sub(before) as f64
            / clk_tck;
        let percent = 100.0 * used / elapsed;
        total += percent;
        let slot = each.entry(process.name.clone()).or_insert(json!(0.0));
        *slot = json!(stats::round(slot.as_f64().unwrap_or_default() + percent));
    }
    Ok((stats::round(total), each))
}

pub async fn measure(args: &Measure) -> Result<Value> {
    let (procs, seconds, clk_tck) = (&args.processes, args.seconds, args.clk_tck);
    progress(&format!(
        "CPU of {} processes over {:.0} s",
        procs.len(),
        seconds.as_secs_f64()
    ));
    let (total, each) = window(procs, seconds, clk_tck).await?;
    Ok(json!({"seconds": seconds.as_secs_f64(), "total_pct": total, "processes": each}))
}

/// Waits (2 s windows) until the processes together use less than `--below` % of a core: the
/// work a load left behind (events still flowing) is done.
pub async fn settle(args: &Settle) -> Result<Value> {
    let (procs, below, max, clk_tck) =
        (&args.processes, args.below, args.max_seconds, args.clk_tck);
    let started = Instant::now();
    let mut last = f64::INFINITY;
    while started.elapsed() < max {
        (last, _) = window(procs, Duration::from_secs(2), clk_tck).await?;
        if last < below {
            break;
        }
    }
    Ok(json!({
        "settled": last < below,
        "after_s": stats::round(started.elapsed().as_secs_f64()),
        "last_pct": if last.is_finite() { json!(last) } else { Value::Null },
    }))
}
