//! What the suite shows while it runs: an `indicatif` progress bar with the
//! workload, row, peer and repetition being measured, the time so far and an
//! estimate of what is left, when standard error is a terminal; plain lines,
//! one per workload, when it is not (CI logs stay readable).
//!
//! Measurements differ in length by orders of magnitude (a quick
//! `spawn_join` repetition takes milliseconds, an `echo` one a fixed 3 s), so
//! the bar does not count measurements: each one weighs what it took in the
//! last run with the same settings, read from the results file it left
//! (uniform weights when there is none), and the estimate comes from those.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::harness::{Measuring, Watch};
use crate::results::RunFile;

/// The weight of a measurement with nothing to go by, milliseconds.
const DEFAULT_STEP_MS: u64 = 100;

/// Shows the run's progress on standard error.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Each workload's name, its measurements and the weight of one.
    plan: Vec<(String, u64, u64)>,
    /// Index into `plan` of the workload under way.
    current: usize,
    started: Instant,
    done_weight: u64,
}

impl Progress {
    /// A display for workloads with these names and measurement counts;
    /// `last` is the previous run's results file with the same settings.
    pub fn new(workloads: &[(&str, u64)], last: Option<&RunFile>) -> Progress {
        let plan: Vec<(String, u64, u64)> = workloads
            .iter()
            .map(|&(name, steps)| (name.to_string(), steps, weight(last, name)))
            .collect();
        let total: u64 = plan.iter().map(|(_, steps, w)| steps * w).sum();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total.max(1));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner:.green} [{bar:30.green/dim}] {percent:>3}%  {elapsed} so far, about {eta} left\n  {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            plan,
            current: 0,
            started: Instant::now(),
            done_weight: 0,
        }
    }

    /// Workload `index` (of the list given to [`Progress::new`]) starts.
    pub fn start_workload(&mut self, index: usize) {
        self.current = index;
        if self.bar.is_none() {
            eprint!(
                "[{}/{}] {} ... ",
                index + 1,
                self.plan.len(),
                self.plan[index].0
            );
        }
    }

    /// The workload under way ended after `seconds`, with `failed` peers
    /// stopped by a failure.
    pub fn end_workload(&mut self, seconds: f64, failed: usize) {
        let failed = if failed > 0 {
            format!(" ({failed} peer runs failed)")
        } else {
            String::new()
        };
        let (name, _, _) = &self.plan[self.current];
        match &self.bar {
            Some(bar) => bar.println(format!(
                "[{}/{}] {name}: {seconds:.1} s{failed}",
                self.current + 1,
                self.plan.len()
            )),
            None => eprintln!("{seconds:.1} s{failed}{}", self.left()),
        }
    }

    /// A line above the bar (or a plain line).
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar, before the table is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// `; about 2m 10s left` for the plain lines, from the weights.
    fn left(&self) -> String {
        let total: u64 = self.plan.iter().map(|(_, s, w)| s * w).sum();
        if self.done_weight == 0 || self.done_weight >= total {
            return String::new();
        }
        let per_weight = self.started.elapsed().as_secs_f64() / self.done_weight as f64;
        let left = Duration::from_secs((per_weight * (total - self.done_weight) as f64) as u64);
        format!(
            "; about {} left",
            indicatif::HumanDuration(left.max(Duration::from_secs(1)))
        )
    }
}

impl Watch for Progress {
    fn measuring(&mut self, m: &Measuring<'_>) {
        if let Some(bar) = &self.bar {
            let (name, _, _) = &self.plan[self.current];
            let row = if m.row.is_empty() {
                name.clone()
            } else {
                format!("{name}/{}", m.row)
            };
            let rep = if m.warm_up {
                "warm-up".to_string()
            } else {
                format!("repetition {}/{}", m.rep, m.reps)
            };
            bar.set_message(format!(
                "[{}/{}] {row} · {} · {rep}",
                self.current + 1,
                self.plan.len(),
                m.peer
            ));
        }
    }

    fn measured(&mut self) {
        let w = self.plan[self.current].2;
        self.done_weight += w;
        if let Some(bar) = &self.bar {
            bar.inc(w);
        }
    }
}

/// What one measurement of `workload` weighs: its time per measurement in
/// `last`, in milliseconds, or [`DEFAULT_STEP_MS`].
fn weight(last: Option<&RunFile>, workload: &str) -> u64 {
    let Some(run) = last else {
        return DEFAULT_STEP_MS;
    };
    let Some(w) = run.workloads.iter().find(|w| w.name == workload) else {
        return DEFAULT_STEP_MS;
    };
    let per_peer = (run.repetitions + usize::from(run.warm_up)) as f64;
    let steps: f64 = w.rows.iter().map(|r| r.peers.len() as f64 * per_peer).sum();
    if steps == 0.0 {
        return DEFAULT_STEP_MS;
    }
    ((w.seconds * 1e3 / steps) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::sample_run;

    #[test]
    fn weights_come_from_the_last_run() {
        let run = sample_run();
        // spawn_join: 2 s over 1 row x 3 peers x 3 repetitions.
        assert_eq!(weight(Some(&run), "spawn_join"), 222);
        // echo: 4 s over 2 rows of 3 and 4 peers x 3 repetitions.
        assert_eq!(weight(Some(&run), "echo"), 190);
        assert_eq!(weight(Some(&run), "http_hello"), DEFAULT_STEP_MS);
        assert_eq!(weight(None, "echo"), DEFAULT_STEP_MS);
    }
}
