//! grove-bench: the same workloads on grove, tokio, may and std threads, one
//! table. See `docs/benchmarks.md`.
//!
//! `cargo run --release -p grove-bench -- --help` lists the flags.

mod child;
mod cli;
mod compare;
mod config;
mod error;
mod harness;
mod peers;
mod provenance;
mod report;
mod results;
mod rss;
mod spin;
mod stats;
mod workloads;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use cli::{Cli, Hidden, Options};
use config::{Config, SPIN_TARGET};
use error::BenchError;
use provenance::Provenance;
use results::RunFile;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.measure {
        Some(Hidden::Measure(m)) => child::run(m),
        None => suite(&cli.options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grove-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn suite(opts: &Options) -> Result<(), BenchError> {
    // Read the old results first: a wrong path should not cost a whole run.
    let old = opts.compare.as_deref().map(RunFile::read).transpose()?;
    let started = Instant::now();
    let provenance = Provenance::here_and_now();
    let cfg = Config {
        workers: opts.workers,
        quick: opts.quick,
        spin_iters: spin::calibrate(SPIN_TARGET),
    };
    let selected: Vec<_> = workloads::READY
        .iter()
        .copied()
        .filter(|w| opts.only.is_empty() || opts.only.iter().any(|n| n == w.name()))
        .collect();
    eprintln!(
        "grove-bench: {} workers, {} repetitions{}, {} spin iterations per {} us task",
        cfg.workers,
        opts.reps,
        if cfg.quick {
            " (quick, no warm-up)"
        } else {
            " after one warm-up"
        },
        cfg.spin_iters,
        SPIN_TARGET.as_micros()
    );
    let mut results = Vec::new();
    for (i, w) in selected.iter().enumerate() {
        eprint!("[{}/{}] {} ... ", i + 1, selected.len(), w.name());
        let r = harness::run_workload(*w, &cfg, opts.reps);
        let failed = r
            .rows
            .iter()
            .flat_map(|row| &row.peers)
            .filter(|p| p.error.is_some())
            .count();
        eprintln!(
            "{:.1} s{}",
            r.seconds,
            if failed > 0 {
                format!(" ({failed} peer runs failed)")
            } else {
                String::new()
            }
        );
        results.push(r);
    }
    let run = RunFile::new(
        provenance,
        &cfg,
        opts.reps,
        &results,
        started.elapsed().as_secs_f64(),
    );
    print!("{}", report::table(&run));
    if let (Some(old), Some(path)) = (&old, &opts.compare) {
        print!("{}", compare::text(old, &run, &path.display().to_string()));
    }
    run.write(&opts.json)?;
    println!(
        "\nwrote {} ({:.1} s in all)",
        opts.json.display(),
        run.seconds
    );
    Ok(())
}
