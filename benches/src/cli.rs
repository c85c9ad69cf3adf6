//! Command-line parsing, with `clap`: `--help` is generated from the
//! documentation of the fields below.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::peers::Peer;

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "grove-bench",
    about = "Runs the same workloads on grove, tokio, may, std threads and (where `go` is \
             installed) Go, and prints one table.",
    long_about = "Runs the same workloads on grove, tokio, may, std threads and (where `go` is \
                  installed) a Go program, and prints a table: per row its unit and \
                  direction, each peer's median and min-max, how grove stands to that \
                  peer, and the best peer; a legend follows the table. The results also \
                  go to a JSON file, and a picture of them (one chart per workload) to an \
                  SVG file beside it. A progress bar shows on a terminal, plain lines \
                  otherwise.",
    after_help = "See docs/benchmarks.md for what each workload measures.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The suite's options (when no subcommand is given).
    #[command(flatten)]
    pub options: Options,
    /// The hidden subcommand a child process runs.
    #[command(subcommand)]
    pub measure: Option<Hidden>,
}

/// Options of a suite run.
#[derive(Debug, Args)]
pub struct Options {
    /// OS threads (hubs, tokio workers, may workers, std threads, GOMAXPROCS) for
    /// the many-worker rows [default: the number of CPUs]
    #[arg(long, value_name = "N", value_parser = positive, default_value_t = default_workers(),
          hide_default_value = true)]
    pub workers: usize,
    /// Small counts and no warm-up repetition: a smoke run (about 20 s on 2 cores)
    #[arg(long)]
    pub quick: bool,
    /// Run only these workloads (comma-separated or repeated), e.g. `--only echo,spawn_join`
    #[arg(long, value_name = "NAME", value_delimiter = ',', value_parser = workload_names())]
    pub only: Vec<String>,
    /// Measured repetitions per (row, peer), at least 1
    #[arg(long, value_name = "N", value_parser = positive, default_value_t = 5)]
    pub reps: usize,
    /// Where to write the results as JSON; the SVG picture goes beside it, named
    /// alike with `.svg` [default: <target dir>/grove-bench/latest.json]
    #[arg(long, value_name = "PATH", default_value_os_t = default_json_path(),
          hide_default_value = true)]
    pub json: PathBuf,
    /// A results file of an earlier run: after the table, print per row
    /// grove's median and its standing to each peer, then and now
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    /// Accepted and ignored: `cargo bench` passes it to every target
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// Subcommands not meant for people.
#[derive(Debug, Subcommand)]
pub enum Hidden {
    /// One measurement, in a child process; prints one sample line.
    #[command(name = "__measure", hide = true)]
    Measure(MeasureArgs),
}

/// Arguments of the hidden `__measure` subcommand.
#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The workload's name.
    pub workload: String,
    /// The row's key (`-` for a workload's only row).
    #[arg(value_parser = row_key)]
    pub row: String,
    /// The peer.
    #[arg(value_parser = peer)]
    pub peer: Peer,
    /// Workers, as in the parent.
    #[arg(long, value_parser = positive, default_value_t = default_workers())]
    pub workers: usize,
    /// Quick mode, as in the parent.
    #[arg(long)]
    pub quick: bool,
    /// The parent's calibration.
    #[arg(long, value_parser = positive_u64, default_value_t = 1)]
    pub spin_iters: u64,
}

/// The name of the hidden subcommand.
pub const MEASURE: &str = "__measure";

/// `--only` accepts the names of the workloads, which `--help` lists.
fn workload_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(crate::workloads::READY.iter().map(|w| w.name()))
}

fn positive(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("needs a positive integer, got {v:?}")),
    }
}

fn positive_u64(v: &str) -> Result<u64, String> {
    positive(v).map(|n| n as u64)
}

fn row_key(v: &str) -> Result<String, String> {
    Ok(if v == "-" {
        String::new()
    } else {
        v.to_string()
    })
}

fn peer(v: &str) -> Result<Peer, String> {
    Peer::parse(v).ok_or_else(|| format!("unknown peer {v:?}"))
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `<target dir>/grove-bench`, the target dir found from this executable's
/// path (`<target>/release/grove-bench`): where the results and the built Go
/// peer go.
pub fn output_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("grove-bench")))
        .unwrap_or_else(|| PathBuf::from("target/grove-bench"))
}

fn default_json_path() -> PathBuf {
    output_dir().join("latest.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("grove-bench").chain(s.split_whitespace()))
    }

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn suite_flags() {
        let cli =
            parse("--workers 3 --only echo,yield_local --only spawn_join --quick --json x.json --compare o.json")
                .unwrap();
        assert!(cli.measure.is_none());
        let o = cli.options;
        assert_eq!(o.workers, 3);
        assert_eq!(o.only, ["echo", "yield_local", "spawn_join"]);
        assert!(o.quick);
        assert_eq!(o.reps, 5);
        assert_eq!(o.json, PathBuf::from("x.json"));
        assert_eq!(o.compare, Some(PathBuf::from("o.json")));
        // `cargo bench` passes --bench to the binary too.
        assert!(parse("--bench").is_ok());
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(parse("--workers 0").is_err());
        assert!(parse("--reps 0").is_err());
        assert!(parse("--workers").is_err());
        assert!(parse("--frobnicate").is_err());
        assert!(parse("--only no_such_workload").is_err());
    }

    #[test]
    fn every_flag_is_documented_in_help() {
        let help = Cli::command().render_long_help().to_string();
        for flag in ["--workers", "--quick", "--only", "--reps", "--json"] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        assert!(!help.contains("--bench"), "{help}");
        assert!(!help.contains(MEASURE), "{help}");
    }

    #[test]
    fn measure_subcommand() {
        let cli = parse("__measure fanout_cpu 2w may --workers 2 --spin-iters 99").unwrap();
        let Some(Hidden::Measure(m)) = cli.measure else {
            panic!("not a measurement");
        };
        assert_eq!(
            (m.workload.as_str(), m.row.as_str(), m.peer),
            ("fanout_cpu", "2w", Peer::May)
        );
        assert_eq!((m.workers, m.spin_iters, m.quick), (2, 99, false));
        let Some(Hidden::Measure(m)) = parse("__measure echo - grove --quick").unwrap().measure
        else {
            panic!("not a measurement");
        };
        assert_eq!((m.row.as_str(), m.quick), ("", true));
    }
}
