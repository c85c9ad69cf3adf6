//! `yield_local`: two green threads on one hub yielding to each other.
//!
//! Measures the cost of one switch: a green thread calls `yield_now`, its hub
//! queues it, and the other green thread runs until it yields back. This is
//! the floor under every blocking call in a gevent-style program, since each
//! one ends in a switch through the hub. One switch here is one `yield_now`
//! call (two context switches for grove and may: into the hub and out).
//!
//! - grove: both green threads pinned to hub 0 (`Builder::hub(0)`) of a
//!   runtime with the run's worker count; the other hubs stay idle. Row
//!   `reactors`: the default drivers (a reactor per hub, nothing registered);
//!   row `no_reactors`: hubs that idle in a `ThreadParker`, for the cost of
//!   the reactor to a busy hub (derived: `reactors / no_reactors`).
//! - tokio: a current-thread runtime, two tasks calling `task::yield_now`.
//! - may: a child process whose may scheduler has one worker
//!   (`may::config().set_workers(1)`), two coroutines calling `yield_now`.
//! - go: `GOMAXPROCS=1`, two goroutines calling `runtime.Gosched`.
//! - std: not measured. Two OS threads cannot be put on one core without
//!   affinity calls, and `sched_yield` does not hand the CPU to a chosen thread.

use std::time::{Duration, Instant};

use super::{Derived, PeerPlan, Row, RowMedians, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};

/// See the module documentation.
pub struct YieldLocal;

impl Workload for YieldLocal {
    fn name(&self) -> &'static str {
        "yield_local"
    }

    fn about(&self) -> &'static str {
        "two green threads on one hub yielding to each other: the cost of one switch"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let switches = cfg.pick(1_000_000, 100_000);
        vec![
            Row {
                key: "reactors".to_string(),
                unit: Unit::NsPerSwitch,
                workers: 1,
                isolate: false,
                peers: vec![
                    PeerPlan::new(
                        Peer::Grove,
                        switches,
                        format!(
                            "both pinned to hub 0 of a {}-hub runtime; default drivers (a reactor per hub)",
                            cfg.workers
                        ),
                    ),
                    PeerPlan::new(Peer::Tokio, switches, "current-thread runtime"),
                    PeerPlan::new(Peer::May, switches, "child process, set_workers(1)"),
                    PeerPlan::new(Peer::Go, switches, "GOMAXPROCS=1, runtime.Gosched"),
                ],
            },
            Row {
                key: "no_reactors".to_string(),
                unit: Unit::NsPerSwitch,
                workers: 1,
                isolate: false,
                peers: vec![PeerPlan::new(
                    Peer::Grove,
                    switches,
                    "as above, hubs idling in a ThreadParker (no reactor)",
                )],
            },
        ]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let per_side = plan.count / 2;
        let took = match plan.peer {
            Peer::Grove => grove(cfg.workers, per_side, row.key == "reactors")?,
            Peer::Tokio => tokio(per_side)?,
            Peer::May => may(per_side)?,
            Peer::Std => return Err(task_err("std", "yield_local has no std version")),
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample::plain(
            took.as_nanos() as f64 / (2 * per_side) as f64,
        ))
    }

    fn derived(&self, rows: &[RowMedians<'_>]) -> Vec<Derived> {
        let (Some(with), Some(without)) = (rows.first(), rows.get(1)) else {
            return Vec::new();
        };
        match (with.of(Peer::Grove), without.of(Peer::Grove)) {
            (Some(w), Some(wo)) => vec![Derived {
                label: "reactors / no_reactors".to_string(),
                peer: Peer::Grove,
                value: w / wo,
                lower_is_better: true,
            }],
            _ => Vec::new(),
        }
    }
}

fn grove(workers: usize, per_side: usize, reactors: bool) -> Result<Duration, BenchError> {
    let rt = if reactors {
        peers::grove_runtime(workers)?
    } else {
        peers::grove_build(
            peers::grove_builder(workers).driver(|_| Box::new(grove::ThreadParker::new())),
        )?
    };
    let h = rt.handle().clone();
    let out = rt.block_on(move || {
        let side = || {
            grove::Builder::new().hub(0).spawn_on(&h, move || {
                for _ in 0..per_side {
                    grove::yield_now();
                }
            })
        };
        let t = Instant::now();
        let a = side().map_err(|e| task_err("grove", e))?;
        let b = side().map_err(|e| task_err("grove", e))?;
        a.join().map_err(|e| task_err("grove", e))?;
        b.join().map_err(|e| task_err("grove", e))?;
        Ok(t.elapsed())
    });
    rt.shutdown();
    out
}

fn tokio(per_side: usize) -> Result<Duration, BenchError> {
    let rt = peers::tokio_current_thread()?;
    rt.block_on(async move {
        let side = || {
            tokio::spawn(async move {
                for _ in 0..per_side {
                    tokio::task::yield_now().await;
                }
            })
        };
        let t = Instant::now();
        let a = side();
        let b = side();
        a.await.map_err(|e| task_err("tokio", e))?;
        b.await.map_err(|e| task_err("tokio", e))?;
        Ok(t.elapsed())
    })
}

fn may(per_side: usize) -> Result<Duration, BenchError> {
    peers::may_configure(1);
    super::cpu_batch::may_warm_up()?;
    let side = || {
        may::go!(move || {
            for _ in 0..per_side {
                may::coroutine::yield_now();
            }
        })
    };
    let t = Instant::now();
    let a = side();
    let b = side();
    a.join()
        .map_err(|_| task_err("may", "a coroutine panicked"))?;
    b.join()
        .map_err(|_| task_err("may", "a coroutine panicked"))?;
    Ok(t.elapsed())
}
