//! `settled`: long-lived green threads that all *started* on one worker and
//! then compute, in slices of about 20 µs with a yield between slices.
//!
//! This is the case grove's affinity rule costs something: a started green
//! thread keeps the hub it started on, so work that started unevenly stays
//! uneven. The `bound` row runs it with grove's defaults; the `migrating`
//! row with `RuntimeBuilder::allow_migration` (the `unsafe` opt-in that
//! lets started green threads move again). tokio's tasks and may's
//! coroutines always move, so they run only in the first row.
//!
//! Setup (not timed): while one green thread (task, coroutine) keeps one
//! worker busy, another spawns `4 × workers` long-lived ones, which all
//! start on the free worker and wait, yielding, for the go. The busy one
//! lets go of its worker once all have started. Timed: from the go to the
//! last slice of the last of them.
//!
//! - grove: the busy one is pinned to hub 1 (`Builder::hub`), the spawner to
//!   hub 0; the long-lived ones are spawned with the runtime's defaults.
//! - tokio: the busy task and the spawning task are both spawned from
//!   outside; tokio puts the second on the worker the first leaves free.
//! - may: the same with coroutines, in a child process; may starts none of
//!   them while one of its workers is held, so the busy coroutine gives up
//!   after 50 ms and may places them as it likes (it moves them anyway).
//! - go: not measured: the row is about where green threads stay once
//!   started, and Go gives no way to start goroutines on one P.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Derived, PeerPlan, Row, RowMedians, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::peers::{self, Peer};
use crate::spin::spin;

/// See the module documentation.
pub struct Settled;

/// The shared flags of one run.
#[derive(Default)]
struct Phase {
    started: AtomicUsize,
    go: AtomicBool,
}

impl Phase {
    fn all_started(&self, k: usize) -> bool {
        self.started.load(Ordering::Acquire) >= k
    }
}

/// Long-lived ones per worker.
const PER_WORKER: usize = 4;

/// How long the busy one holds its worker at most: grove and tokio start
/// every long-lived one on the other worker within a few milliseconds; may
/// starts none of them while one of its workers is held, so there the busy
/// one gives up, and may places them as it likes.
const BUSY_MAX: Duration = Duration::from_millis(50);

impl Workload for Settled {
    fn name(&self) -> &'static str {
        "settled"
    }

    fn about(&self) -> &'static str {
        "long-lived green threads that all started on one worker, then compute: what affinity costs, and the migration opt-in"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let slices = cfg.pick(400, 40);
        let k = PER_WORKER * cfg.workers;
        let note = format!("{k} long-lived, {slices} slices of 20 us each");
        vec![
            Row {
                key: "bound".to_string(),
                unit: Unit::Millis,
                workers: cfg.workers,
                isolate: false,
                peers: vec![
                    PeerPlan::new(Peer::Grove, slices, format!("{note}; defaults (affinity)")),
                    PeerPlan::new(Peer::Tokio, slices, note.clone()),
                    PeerPlan::new(Peer::May, slices, format!("{note}; child process")),
                ],
            },
            Row {
                key: "migrating".to_string(),
                unit: Unit::Millis,
                workers: cfg.workers,
                isolate: false,
                peers: vec![PeerPlan::new(
                    Peer::Grove,
                    slices,
                    format!("{note}; RuntimeBuilder::allow_migration"),
                )],
            },
        ]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let (w, slices, it) = (row.workers, plan.count, cfg.spin_iters);
        let took = match plan.peer {
            Peer::Grove => grove(w, slices, it, row.key == "migrating")?,
            Peer::Tokio => tokio(w, slices, it)?,
            Peer::May => may(w, slices, it)?,
            Peer::Std => return Err(task_err("std", "settled has no std version")),
            Peer::Go => return Err(task_err("go", "settled has no Go version")),
        };
        Ok(Sample::plain(took.as_secs_f64() * 1e3))
    }

    fn derived(&self, rows: &[RowMedians<'_>]) -> Vec<Derived> {
        let (Some(bound), Some(migrating)) = (rows.first(), rows.get(1)) else {
            return Vec::new();
        };
        match (bound.of(Peer::Grove), migrating.of(Peer::Grove)) {
            (Some(b), Some(m)) => vec![Derived {
                label: "migrating / bound".to_string(),
                peer: Peer::Grove,
                value: m / b,
                lower_is_better: true,
            }],
            _ => Vec::new(),
        }
    }
}

/// Keeps its worker until every long-lived one has started, or for
/// [`BUSY_MAX`] at most.
fn busy_until_started(phase: &Phase, k: usize) {
    let t = Instant::now();
    while !phase.all_started(k) && t.elapsed() < BUSY_MAX {
        std::hint::spin_loop();
    }
}

/// Waits for every long-lived one to start, sets the go, and returns when
/// the clock starts.
fn start_when_ready(phase: &Phase, k: usize) -> Result<Instant, BenchError> {
    let t = Instant::now();
    while !phase.all_started(k) {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(task_err("settled", "the long-lived ones never all started"));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // Let the busy one leave its worker before the clock starts.
    std::thread::sleep(Duration::from_millis(2));
    let start = Instant::now();
    phase.go.store(true, Ordering::Release);
    Ok(start)
}

fn grove(workers: usize, slices: usize, iters: u64, migrate: bool) -> Result<Duration, BenchError> {
    let mut b = peers::grove_builder(workers);
    if migrate {
        // SAFETY: the long-lived green threads only spin and yield; they hold
        // no thread-local state, reference or guard across a yield.
        b = unsafe { b.allow_migration() };
    }
    let rt = peers::grove_build(b)?;
    let k = PER_WORKER * workers;
    let phase = Arc::new(Phase::default());
    let busy = {
        let phase = phase.clone();
        grove::Builder::new()
            .hub(workers - 1)
            .spawn_on(rt.handle(), move || busy_until_started(&phase, k))
            .map_err(|e| task_err("grove", e))?
    };
    let spawner = {
        let phase = phase.clone();
        grove::Builder::new()
            .hub(0)
            .spawn_on(rt.handle(), move || {
                (0..k)
                    .map(|_| {
                        let phase = phase.clone();
                        grove::spawn(move || {
                            phase.started.fetch_add(1, Ordering::AcqRel);
                            while !phase.go.load(Ordering::Acquire) {
                                grove::yield_now();
                            }
                            (0..slices).fold(0u64, |acc, _| {
                                let x = spin(iters);
                                grove::yield_now();
                                acc ^ x
                            })
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .map_err(|e| task_err("grove", e))?
    };
    let long_lived = spawner.join().map_err(|e| task_err("grove", e))?;
    let start = start_when_ready(&phase, k)?;
    let mut acc = 0u64;
    for g in long_lived {
        acc ^= g.join().map_err(|e| task_err("grove", e))?;
    }
    let took = start.elapsed();
    black_box(acc);
    busy.join().map_err(|e| task_err("grove", e))?;
    rt.shutdown();
    Ok(took)
}

fn tokio(workers: usize, slices: usize, iters: u64) -> Result<Duration, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let k = PER_WORKER * workers;
    let phase = Arc::new(Phase::default());
    let busy = {
        let phase = phase.clone();
        rt.spawn(async move { busy_until_started(&phase, k) })
    };
    std::thread::sleep(Duration::from_millis(2));
    let spawner = {
        let phase = phase.clone();
        rt.spawn(async move {
            (0..k)
                .map(|_| {
                    let phase = phase.clone();
                    tokio::spawn(async move {
                        phase.started.fetch_add(1, Ordering::AcqRel);
                        while !phase.go.load(Ordering::Acquire) {
                            tokio::task::yield_now().await;
                        }
                        let mut acc = 0u64;
                        for _ in 0..slices {
                            acc ^= spin(iters);
                            tokio::task::yield_now().await;
                        }
                        acc
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    let handles = rt.block_on(spawner).map_err(|e| task_err("tokio", e))?;
    let start = start_when_ready(&phase, k)?;
    let took = rt.block_on(async move {
        let mut acc = 0u64;
        for h in handles {
            acc ^= h.await.map_err(|e| task_err("tokio", e))?;
        }
        black_box(acc);
        Ok::<_, BenchError>(start.elapsed())
    })?;
    rt.block_on(busy).map_err(|e| task_err("tokio", e))?;
    rt.shutdown_background();
    Ok(took)
}

/// may, in a child process (its worker count is set once per process).
fn may(workers: usize, slices: usize, iters: u64) -> Result<Duration, BenchError> {
    peers::may_configure(workers);
    super::cpu_batch::may_warm_up()?;
    let k = PER_WORKER * workers;
    let phase = Arc::new(Phase::default());
    let busy = {
        let phase = phase.clone();
        may::go!(move || busy_until_started(&phase, k))
    };
    std::thread::sleep(Duration::from_millis(2));
    let spawner = {
        let phase = phase.clone();
        may::go!(move || {
            (0..k)
                .map(|_| {
                    let phase = phase.clone();
                    may::go!(move || {
                        phase.started.fetch_add(1, Ordering::AcqRel);
                        while !phase.go.load(Ordering::Acquire) {
                            may::coroutine::yield_now();
                        }
                        (0..slices).fold(0u64, |acc, _| {
                            let x = spin(iters);
                            may::coroutine::yield_now();
                            acc ^ x
                        })
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    let handles = spawner
        .join()
        .map_err(|_| task_err("may", "the spawner panicked"))?;
    let start = start_when_ready(&phase, k)?;
    let mut acc = 0u64;
    for h in handles {
        acc ^= h
            .join()
            .map_err(|_| task_err("may", "a coroutine panicked"))?;
    }
    let took = start.elapsed();
    black_box(acc);
    busy.join()
        .map_err(|_| task_err("may", "the busy coroutine panicked"))?;
    Ok(took)
}
