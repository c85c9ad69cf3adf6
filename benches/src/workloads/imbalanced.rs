//! `imbalanced`: the `fanout_cpu` batch on N workers, all spawned (and
//! joined) from one green thread on one hub, against the same batch spawned
//! from one green thread per hub, each spawning an equal share.
//!
//! Shows work stealing at work: in the `one_spawner` row every task starts on
//! hub 0's local queue, so the other hubs only get work by stealing it. With
//! good stealing its wall time is close to the `spread` row's; without it, it
//! would be N times longer. grove's notes give how many green threads were
//! stolen and how many started on each hub. In gevent one green thread often
//! spawns all the work (an accept loop, a crawler), so this is the common case.
//!
//! - grove: spawner `i` is pinned to hub `i` with `Builder::hub(i)`; the tasks
//!   it spawns are not pinned, so they are stealable.
//! - tokio: the spawners are tasks; their spawns go to their worker's local
//!   queue (tokio cannot pin a task to a worker, so where each runs is up to it).
//! - may: the spawners are coroutines; their spawns go to their worker's local
//!   queue (may cannot pin either).
//! - go: the spawners are goroutines (`GOMAXPROCS` the workers); Go places
//!   them, and steals, as its scheduler likes.
//! - std: not measured (there is nothing to steal).

use super::cpu_batch::{self, Start};
use super::{Derived, PeerPlan, Row, RowMedians, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::Peer;

/// See the module documentation.
pub struct Imbalanced;

impl Workload for Imbalanced {
    fn name(&self) -> &'static str {
        "imbalanced"
    }

    fn about(&self) -> &'static str {
        "the fanout batch spawned from one green thread on one hub vs spread: stealing at work"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let n = cfg.pick(10_000, 2_000);
        let row = |key: &str, grove_note: &str, other_note: &str, go_note: &str| Row {
            key: key.to_string(),
            unit: Unit::Millis,
            workers: cfg.workers,
            isolate: false,
            peers: vec![
                PeerPlan::new(Peer::Grove, n, grove_note),
                PeerPlan::new(Peer::Tokio, n, other_note),
                PeerPlan::new(Peer::May, n, other_note),
                PeerPlan::new(Peer::Go, n, go_note),
            ],
        };
        vec![
            row(
                "spread",
                "one spawner pinned to each hub",
                "one spawning task/coroutine per worker",
                "one spawning goroutine per P (GOMAXPROCS)",
            ),
            row(
                "one_spawner",
                "one spawner, pinned to hub 0",
                "one spawning task/coroutine",
                "one spawning goroutine",
            ),
        ]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let start = if row.key == "spread" {
            Start::Spawners(row.workers)
        } else {
            Start::Spawners(1)
        };
        let (w, n, it) = (row.workers, plan.count, cfg.spin_iters);
        let run = match plan.peer {
            Peer::Grove => cpu_batch::grove(w, n, it, start)?,
            Peer::Tokio => cpu_batch::tokio(w, n, it, start)?,
            Peer::May => cpu_batch::may(w, n, it, start)?,
            Peer::Std => return Err(task_err("std", "imbalanced has no std version")),
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample {
            value: run.took.as_secs_f64() * 1e3,
            note: run.note,
        })
    }

    fn derived(&self, rows: &[RowMedians<'_>]) -> Vec<Derived> {
        let (Some(spread), Some(one)) = (rows.first(), rows.get(1)) else {
            return Vec::new();
        };
        Peer::ALL
            .into_iter()
            .filter_map(|p| {
                Some(Derived {
                    label: "one_spawner / spread".to_string(),
                    peer: p,
                    value: one.of(p)? / spread.of(p)?,
                    lower_is_better: true,
                })
            })
            .collect()
    }
}
