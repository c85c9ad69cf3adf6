//! The settings one run shares with the child processes it starts.

use std::time::Duration;

use crate::go_peer::GoPeer;

/// Settings every workload reads.
#[derive(Clone, Debug)]
pub struct Config {
    /// OS threads (hubs, workers) for the many-worker rows.
    pub workers: usize,
    /// Smaller counts, for a smoke run.
    pub quick: bool,
    /// Iterations of [`crate::spin::spin`] that take about [`SPIN_TARGET`],
    /// measured once by the parent and passed to children.
    pub spin_iters: u64,
    /// The Go peer, where it was built (never in a child process).
    pub go: Option<GoPeer>,
}

/// How long one CPU-bound task of `fanout_cpu` and `imbalanced` should take.
pub const SPIN_TARGET: Duration = Duration::from_micros(20);

impl Config {
    /// `full` in a full run, `quick` in a quick one.
    pub fn pick(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// The arguments that recreate this configuration in a child process.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "--workers".to_string(),
            self.workers.to_string(),
            "--spin-iters".to_string(),
            self.spin_iters.to_string(),
        ];
        if self.quick {
            v.push("--quick".to_string());
        }
        v
    }
}
