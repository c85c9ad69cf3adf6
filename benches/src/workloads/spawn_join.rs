//! `spawn_join`: spawn 100,000 tasks that each return a value, then join them all.
//!
//! Measures the whole life of a short task: allocating its record, queuing it,
//! giving it a stack (or a future slot) and running it, handing its result to
//! the joiner and freeing everything. gevent programs spawn a green thread per
//! request or per item of work, so this cost bounds how fine-grained they can be.
//!
//! - grove: from inside a green thread (`block_on`), `grove::spawn` then
//!   `Greenlet::join`, on a runtime with default settings (2 MiB stacks
//!   with guard regions). Queued green threads hold no stack, so 100,000 at once is fine.
//! - tokio: from inside a task on the multi-thread runtime, `tokio::spawn` then
//!   awaiting the `JoinHandle`s.
//! - may: from inside a coroutine, `go!` then `JoinHandle::join`, 30,000 only:
//!   may maps a coroutine's stack (two kernel mappings, with its guard page)
//!   when it is spawned, so 100,000 spawned-but-unjoined coroutines exceed the
//!   default `vm.max_map_count` (65530) and the spawn panics with ENOMEM.
//! - std: `thread::spawn` + `join` of 1,000 threads only (100,000 OS threads
//!   would measure the kernel's limits, not spawning); the unit is the same.
//! - go: from the main goroutine, `go` statements that each fill a result
//!   slot and mark a `sync.WaitGroup`, then `Wait` (Go has no join handle).

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};

/// See the module documentation.
pub struct SpawnJoin;

impl Workload for SpawnJoin {
    fn name(&self) -> &'static str {
        "spawn_join"
    }

    fn about(&self) -> &'static str {
        "spawn tasks that return a value and join them all: the full cost of one short task"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let n = cfg.pick(100_000, 20_000);
        let threads = cfg.pick(1_000, 200);
        // may gives a coroutine its stack (two kernel mappings) when it is
        // spawned, so 100,000 unjoined coroutines exceed vm.max_map_count.
        let coroutines = cfg.pick(30_000, 20_000);
        vec![Row {
            key: String::new(),
            unit: Unit::NsPerTask,
            workers: cfg.workers,
            isolate: false,
            peers: vec![
                PeerPlan::new(
                    Peer::Grove,
                    n,
                    "from a green thread; default runtime (2 MiB stacks with guard regions)",
                ),
                PeerPlan::new(Peer::Tokio, n, "from a task on the multi-thread runtime"),
                PeerPlan::new(
                    Peer::May,
                    coroutines,
                    format!("from a coroutine; only {coroutines}: may maps each stack at spawn"),
                ),
                PeerPlan::new(Peer::Std, threads, format!("OS threads: only {threads}")),
                PeerPlan::new(
                    Peer::Go,
                    n,
                    "from the main goroutine; a WaitGroup and a result slot each",
                ),
            ],
        }]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let n = plan.count;
        let took = match plan.peer {
            Peer::Grove => grove(row.workers, n)?,
            Peer::Tokio => tokio(row.workers, n)?,
            Peer::May => may(row.workers, n)?,
            Peer::Std => std_threads(n)?,
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample::plain(took.as_nanos() as f64 / n as f64))
    }
}

fn grove(workers: usize, n: usize) -> Result<Duration, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let out = rt.block_on(move || {
        let t = Instant::now();
        let gs: Vec<_> = (0..n).map(|i| grove::spawn(move || i)).collect();
        let mut sum = 0usize;
        for g in gs {
            sum += g.join().map_err(|e| task_err("grove", e))?;
        }
        black_box(sum);
        Ok(t.elapsed())
    });
    rt.shutdown();
    out
}

fn tokio(workers: usize, n: usize) -> Result<Duration, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let outer = rt.spawn(async move {
        let t = Instant::now();
        let hs: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0usize;
        for h in hs {
            sum += h.await.map_err(|e| task_err("tokio", e))?;
        }
        black_box(sum);
        Ok(t.elapsed())
    });
    let out = rt.block_on(outer).map_err(|e| task_err("tokio", e))?;
    rt.shutdown_background();
    out
}

fn may(workers: usize, n: usize) -> Result<Duration, BenchError> {
    peers::may_configure(workers);
    super::cpu_batch::may_warm_up()?;
    let outer = may::go!(move || {
        let t = Instant::now();
        let hs: Vec<_> = (0..n).map(|i| may::go!(move || i)).collect();
        let mut sum = 0usize;
        for h in hs {
            sum += h
                .join()
                .map_err(|_| task_err("may", "a coroutine panicked"))?;
        }
        black_box(sum);
        Ok(t.elapsed())
    });
    outer
        .join()
        .map_err(|_| task_err("may", "the spawning coroutine panicked"))?
}

fn std_threads(n: usize) -> Result<Duration, BenchError> {
    let t = Instant::now();
    let hs: Vec<_> = (0..n).map(|i| std::thread::spawn(move || i)).collect();
    let mut sum = 0usize;
    for h in hs {
        sum += h.join().map_err(|_| task_err("std", "a thread panicked"))?;
    }
    black_box(sum);
    Ok(t.elapsed())
}
