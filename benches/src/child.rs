//! Measurements in a child process.
//!
//! may reads its worker count once per process, and a memory measurement
//! needs a process of its own, so the suite re-executes its own binary with
//! the hidden subcommand `__measure WORKLOAD ROW PEER [options]`. The child
//! rebuilds the run's rows from the same options, measures once, and prints
//! one line: `SAMPLE <value>\t<note>`. The parent kills a child that takes
//! longer than [`CHILD_LIMIT`].

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{MeasureArgs, MEASURE};
use crate::config::Config;
use crate::error::BenchError;
use crate::workloads::{self, PeerPlan, Row, Sample};

/// The longest one child may run.
pub const CHILD_LIMIT: Duration = Duration::from_secs(180);

const PREFIX: &str = "SAMPLE ";

/// Measures `plan` of `row` once in a child process.
pub fn measure(
    workload: &str,
    row: &Row,
    plan: &PeerPlan,
    cfg: &Config,
) -> Result<Sample, BenchError> {
    let key = if row.key.is_empty() {
        "-"
    } else {
        row.key.as_str()
    };
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg(MEASURE)
        .args([workload, key, plan.peer.name()])
        .args(cfg.to_args());
    run_for_sample(cmd, &format!("{workload}/{key} on {}", plan.peer))
}

/// Runs `cmd`, which prints a sample line, and reads the sample; `what` names
/// the measurement in errors. A child that runs over [`CHILD_LIMIT`] is killed.
pub fn run_for_sample(mut cmd: Command, what: &str) -> Result<Sample, BenchError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let Some(status) = wait_within(&mut child, CHILD_LIMIT)? else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(BenchError::Timeout(format!(
            "{what} took over {} s",
            CHILD_LIMIT.as_secs()
        )));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        return Err(BenchError::Child(format!("{status}: {}", last_line(&err))));
    }
    parse_sample(&out)
        .ok_or_else(|| BenchError::Child(format!("no sample line in {:?}", last_line(&out))))
}

/// Waits up to `limit` for `child` to exit; `None` if it is still running.
fn wait_within(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if started.elapsed() > limit {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits up to `limit` for a child that was asked to stop, then kills it.
pub fn wait_or_kill(child: &mut Child, limit: Duration) {
    if !matches!(wait_within(child, limit), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The child's side: measure once and print the sample line.
pub fn run(args: &MeasureArgs) -> Result<(), BenchError> {
    let cfg = Config {
        workers: args.workers,
        quick: args.quick,
        spin_iters: args.spin_iters,
        go: None,
    };
    let w = workloads::find(&args.workload)
        .ok_or_else(|| BenchError::Usage(format!("unknown workload {:?}", args.workload)))?;
    let row = w
        .rows(&cfg)
        .into_iter()
        .find(|r| r.key == args.row)
        .ok_or_else(|| BenchError::Usage(format!("{} has no row {:?}", args.workload, args.row)))?;
    let plan = row
        .peers
        .iter()
        .find(|p| p.peer == args.peer)
        .ok_or_else(|| {
            BenchError::Usage(format!("{} does not run {}", args.workload, args.peer))
        })?;
    let s = w.measure(&row, plan, &cfg)?;
    println!("{PREFIX}{}\t{}", s.value, s.note.replace(['\t', '\n'], " "));
    Ok(())
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

fn last_line(s: &str) -> &str {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)")
}

fn parse_sample(out: &str) -> Option<Sample> {
    let line = out.lines().rev().find_map(|l| l.strip_prefix(PREFIX))?;
    let (value, note) = line.split_once('\t').unwrap_or((line, ""));
    Some(Sample {
        value: value.trim().parse().ok()?,
        note: note.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_last_sample_line() {
        let s = parse_sample("noise\nSAMPLE 12.5\tstolen 3\n").unwrap();
        assert_eq!((s.value, s.note.as_str()), (12.5, "stolen 3"));
        assert!(parse_sample("SAMPLE x\t").is_none());
        assert!(parse_sample("").is_none());
    }
}
