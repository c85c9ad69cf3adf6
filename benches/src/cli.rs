//! Command-line parsing.

use std::path::PathBuf;

use crate::error::BenchError;
use crate::peers::Peer;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the suite.
    Suite(Options),
    /// Print the usage.
    Help,
    /// The hidden subcommand a child process runs: one measurement.
    Measure(MeasureArgs),
}

/// Options of a suite run.
#[derive(Debug)]
pub struct Options {
    /// OS threads for the many-worker rows.
    pub workers: usize,
    /// Smaller counts, for a smoke run.
    pub quick: bool,
    /// Run only these workloads.
    pub only: Vec<String>,
    /// Where to write the JSON results.
    pub json: PathBuf,
    /// Measured repetitions per (row, peer).
    pub reps: usize,
}

/// Arguments of the hidden `__measure` subcommand.
#[derive(Debug)]
pub struct MeasureArgs {
    /// The workload's name.
    pub workload: String,
    /// The row's key.
    pub row: String,
    /// The peer.
    pub peer: Peer,
    /// Workers, as in the parent.
    pub workers: usize,
    /// Quick mode, as in the parent.
    pub quick: bool,
    /// The parent's calibration.
    pub spin_iters: u64,
}

/// The name of the hidden subcommand.
pub const MEASURE: &str = "__measure";

/// How to call the suite.
pub const USAGE: &str = "\
usage: grove-bench [--workers N] [--only NAME[,NAME..]] [--quick] [--reps N] [--json PATH]

Runs every workload on grove, tokio, may and std threads and prints a table:
per row its unit and direction, each peer's median and min-max, how grove
stands to that peer, and the best peer; a legend follows the table. Results
also go to PATH as JSON
(default: <target dir>/grove-bench/latest.json).

  --workers N   OS threads (hubs, workers) for the many-worker rows (default: CPUs)
  --only NAMES  run only these workloads (comma-separated or repeated)
  --quick       small counts and 5 repetitions without warm-up: a smoke run
  --reps N      measured repetitions per (row, peer) (default 5, at least 1)
  --json PATH   where to write the results";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, BenchError> {
    if args.first().map(String::as_str) == Some(MEASURE) {
        return parse_measure(&args[1..]).map(Command::Measure);
    }
    let mut opts = Options {
        workers: default_workers(),
        quick: false,
        only: Vec::new(),
        json: default_json_path(),
        reps: 5,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quick" => opts.quick = true,
            "--workers" => opts.workers = positive(value(&mut it, a)?, a)?,
            "--reps" => opts.reps = positive(value(&mut it, a)?, a)?,
            "--json" => opts.json = PathBuf::from(value(&mut it, a)?),
            "--only" => opts.only.extend(
                value(&mut it, a)?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            // `cargo bench` passes this to every target; harmless here.
            "--bench" => {}
            other => return Err(BenchError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(Command::Suite(opts))
}

fn parse_measure(args: &[String]) -> Result<MeasureArgs, BenchError> {
    let [workload, row, peer, rest @ ..] = args else {
        return Err(BenchError::Usage(format!(
            "{MEASURE} WORKLOAD ROW PEER [options]"
        )));
    };
    let peer =
        Peer::parse(peer).ok_or_else(|| BenchError::Usage(format!("unknown peer {peer:?}")))?;
    let mut m = MeasureArgs {
        workload: workload.clone(),
        row: if row == "-" {
            String::new()
        } else {
            row.clone()
        },
        peer,
        workers: default_workers(),
        quick: false,
        spin_iters: 1,
    };
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => m.quick = true,
            "--workers" => m.workers = positive(value(&mut it, a)?, a)?,
            "--spin-iters" => m.spin_iters = positive(value(&mut it, a)?, a)? as u64,
            other => return Err(BenchError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    Ok(m)
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, flag: &str) -> Result<&'a str, BenchError> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| BenchError::Usage(format!("{flag} needs a value")))
}

fn positive(v: &str, flag: &str) -> Result<usize, BenchError> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(BenchError::Usage(format!(
            "{flag} needs a positive integer, got {v:?}"
        ))),
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `<target dir>/grove-bench/latest.json`, the target dir found from this
/// executable's path (`<target>/release/grove-bench`).
fn default_json_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            Some(
                exe.parent()?
                    .parent()?
                    .join("grove-bench")
                    .join("latest.json"),
            )
        })
        .unwrap_or_else(|| PathBuf::from("target/grove-bench/latest.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn suite_flags() {
        let Command::Suite(o) = parse(&args(
            "--workers 3 --only a,b --only c --quick --json x.json",
        ))
        .unwrap() else {
            panic!("not a suite run");
        };
        assert_eq!(o.workers, 3);
        assert_eq!(o.only, ["a", "b", "c"]);
        assert!(o.quick);
        assert_eq!(o.json, PathBuf::from("x.json"));
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse(&args("--workers 0")).is_err());
        assert!(parse(&args("--workers")).is_err());
        assert!(parse(&args("--frobnicate")).is_err());
    }

    #[test]
    fn measure_subcommand() {
        let Command::Measure(m) = parse(&args(
            "__measure fanout_cpu 2w may --workers 2 --spin-iters 99",
        ))
        .unwrap() else {
            panic!("not a measurement");
        };
        assert_eq!(
            (m.workload.as_str(), m.row.as_str(), m.peer),
            ("fanout_cpu", "2w", Peer::May)
        );
        assert_eq!((m.workers, m.spin_iters, m.quick), (2, 99, false));
    }
}
