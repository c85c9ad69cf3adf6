//! Runs the selected workloads: every (row, peer) pair, repetition after
//! repetition, with the order of peers rotated each repetition so no peer
//! always runs first (on a warm or a cold machine).

use std::time::Instant;

use crate::child;
use crate::config::Config;
use crate::peers::Peer;
use crate::stats::{self, Summary};
use crate::workloads::{Derived, PeerPlan, Row, RowMedians, Sample, Workload};

/// One peer's results in one row.
pub struct PeerResult {
    /// What it ran.
    pub plan: PeerPlan,
    /// Its measured samples, in order.
    pub samples: Vec<Sample>,
    /// The failure that stopped it, if one did.
    pub error: Option<String>,
}

impl PeerResult {
    /// Median, min and max of its samples.
    pub fn summary(&self) -> Option<Summary> {
        let v: Vec<f64> = self.samples.iter().map(|s| s.value).collect();
        stats::summarize(&v)
    }
}

/// One row's results.
pub struct RowResult {
    /// The row.
    pub row: Row,
    /// Per peer, in the row's order.
    pub peers: Vec<PeerResult>,
}

impl RowResult {
    /// grove's median over `peer`'s, when both ran.
    pub fn grove_ratio(&self, peer: &PeerResult) -> Option<f64> {
        let grove = self.peers.iter().find(|p| p.plan.peer == Peer::Grove)?;
        if grove.plan.peer == peer.plan.peer {
            return None;
        }
        Some(grove.summary()?.median / peer.summary()?.median)
    }
}

/// One workload's results.
pub struct WorkloadResult {
    /// Its name.
    pub name: &'static str,
    /// What it measures.
    pub about: &'static str,
    /// Its rows.
    pub rows: Vec<RowResult>,
    /// Numbers computed across its rows.
    pub derived: Vec<Derived>,
    /// How long it took, warm-up included.
    pub seconds: f64,
}

/// The measurement about to start, as told to a [`Watch`].
pub struct Measuring<'a> {
    /// The row's key (empty for a workload's only row).
    pub row: &'a str,
    /// The peer.
    pub peer: Peer,
    /// Whether this is the warm-up repetition.
    pub warm_up: bool,
    /// The measured repetition, from 1 (0 for the warm-up).
    pub rep: usize,
    /// Measured repetitions in all.
    pub reps: usize,
}

/// Follows a run: told before each measurement and after each one, also
/// after a measurement skipped because its peer already failed.
pub trait Watch {
    /// A measurement starts.
    fn measuring(&mut self, m: &Measuring<'_>);
    /// It ended (or was skipped).
    fn measured(&mut self);
}

/// How many measurements [`run_workload`] makes of `w`, skipped ones
/// included.
pub fn measurements(w: &dyn Workload, cfg: &Config, reps: usize) -> u64 {
    let per_peer = reps + usize::from(!cfg.quick);
    rows_of(w, cfg)
        .iter()
        .map(|r| (r.peers.len() * per_peer) as u64)
        .sum()
}

/// Runs `w` with `reps` measured repetitions (and one warm-up unless quick).
pub fn run_workload(
    w: &dyn Workload,
    cfg: &Config,
    reps: usize,
    watch: &mut dyn Watch,
) -> WorkloadResult {
    let started = Instant::now();
    let mut rows = Vec::new();
    for row in rows_of(w, cfg) {
        let mut peers: Vec<PeerResult> = row
            .peers
            .iter()
            .map(|plan| PeerResult {
                plan: plan.clone(),
                samples: Vec::new(),
                error: None,
            })
            .collect();
        let warm_up = usize::from(!cfg.quick);
        for rep in 0..warm_up + reps {
            let n = peers.len();
            for i in 0..n {
                let p = &mut peers[(i + rep) % n];
                if p.error.is_some() {
                    watch.measured();
                    continue;
                }
                watch.measuring(&Measuring {
                    row: &row.key,
                    peer: p.plan.peer,
                    warm_up: rep < warm_up,
                    rep: (rep + 1).saturating_sub(warm_up),
                    reps,
                });
                let measured = measure_once(w, &row, &p.plan, cfg);
                watch.measured();
                match measured {
                    Ok(s) if !s.value.is_finite() => {
                        p.error = Some(format!("measured a non-finite value ({})", s.value));
                    }
                    Ok(s) if rep >= warm_up => p.samples.push(s),
                    Ok(_) => {}
                    Err(e) => p.error = Some(e.to_string()),
                }
            }
        }
        rows.push(RowResult { row, peers });
    }
    let medians: Vec<RowMedians<'_>> = rows
        .iter()
        .map(|r| RowMedians {
            key: &r.row.key,
            medians: r
                .peers
                .iter()
                .filter_map(|p| Some((p.plan.peer, p.summary()?.median)))
                .collect(),
        })
        .collect();
    let derived = w.derived(&medians);
    WorkloadResult {
        name: w.name(),
        about: w.about(),
        rows,
        derived,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The rows of `w` for this run: without the Go peer where it was not built.
fn rows_of(w: &dyn Workload, cfg: &Config) -> Vec<Row> {
    let mut rows = w.rows(cfg);
    if cfg.go.is_none() {
        for r in &mut rows {
            r.peers.retain(|p| p.peer != Peer::Go);
        }
    }
    rows
}

fn measure_once(
    w: &dyn Workload,
    row: &Row,
    plan: &PeerPlan,
    cfg: &Config,
) -> Result<Sample, crate::error::BenchError> {
    // The Go peer is a process of its own already.
    if plan.peer != Peer::Go && (row.isolate || plan.peer.needs_child()) {
        child::measure(w.name(), row, plan, cfg)
    } else {
        w.measure(row, plan, cfg)
    }
}
