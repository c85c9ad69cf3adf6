//! grove-bench: the same workloads on grove, tokio, may, std threads and Go
//! (where installed), one table, a results file and a picture of it. See
//! `docs/benchmarks.md`.
//!
//! `cargo run --release -p grove-bench -- --help` lists the flags.

mod child;
mod cli;
mod compare;
mod config;
mod error;
mod go_peer;
mod harness;
mod peers;
mod picture;
mod progress;
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
use progress::Progress;
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
    let mut provenance = Provenance::here_and_now();
    let go = match go_peer::build(&cli::output_dir()) {
        Ok(go) => Some(go),
        Err(note) => {
            eprintln!("grove-bench: {note}; the Go rows are skipped");
            None
        }
    };
    provenance.toolchain.go = go.as_ref().map(|g| g.version.clone());
    let cfg = Config {
        workers: opts.workers,
        quick: opts.quick,
        spin_iters: spin::calibrate(SPIN_TARGET),
        go,
    };
    let selected: Vec<_> = workloads::READY
        .iter()
        .copied()
        .filter(|w| opts.only.is_empty() || opts.only.iter().any(|n| n == w.name()))
        .collect();
    let counts: Vec<(&str, u64)> = selected
        .iter()
        .map(|w| (w.name(), harness::measurements(*w, &cfg, opts.reps)))
        .collect();
    // The last run with the same settings tells how long each measurement takes.
    let last = RunFile::read(&opts.json)
        .ok()
        .filter(|r| r.quick == cfg.quick && r.workers == cfg.workers);
    let mut progress = Progress::new(&counts, last.as_ref());
    progress.note(&format!(
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
    ));
    let mut results = Vec::new();
    for (i, w) in selected.iter().enumerate() {
        progress.start_workload(i);
        let r = harness::run_workload(*w, &cfg, opts.reps, &mut progress);
        let failed = r
            .rows
            .iter()
            .flat_map(|row| &row.peers)
            .filter(|p| p.error.is_some())
            .count();
        progress.end_workload(r.seconds, failed);
        results.push(r);
    }
    progress.finish();
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
    let svg = picture::path_beside(&opts.json);
    picture::write(&run, &svg)?;
    println!(
        "\nwrote {} and the charts {} ({:.1} s in all)",
        opts.json.display(),
        svg.display(),
        run.seconds
    );
    Ok(())
}
