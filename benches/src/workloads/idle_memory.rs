//! `idle_memory`: 100,000 green threads parked; bytes per green thread above
//! the baseline, resident pages and the page tables that map them.
//!
//! Measures what an idle connection or waiting job costs, which decides how
//! many a machine holds: gevent's promise is a green thread per connection,
//! so this is the number that matters for a server with many idle clients.
//!
//! Each (row, peer) runs in its own child process, which reads
//! `/proc/self/statm` and `VmPTE` in `/proc/self/status` (page tables grow
//! with the spread of the stacks, so they count) after building its runtime and warming it up (the
//! baseline), starts the green threads, waits until every one has reached its
//! park, reads it again, and divides the difference by the count. The count
//! includes the handles the spawner keeps (a `Greenlet`, a `JoinHandle` and a
//! oneshot sender), as a real program would keep them.
//!
//! Rows:
//! - `100k`: grove with default settings (2 MiB stacks with guard regions,
//!   carved from slabs), each green thread in `grove::park()`; tokio tasks
//!   awaiting a oneshot. may is not in this row: its stacks take two kernel
//!   mappings each, so 100,000 live coroutines exceed the default
//!   `vm.max_map_count` (65530).
//! - `30k`: the same at a count may's default stacks fit in: grove and tokio
//!   again, may coroutines in `coroutine::park()` with may's default 32 KiB
//!   stacks.
//! - go: both rows, goroutines blocked receiving on a channel each, in the
//!   Go program, which measures itself the same way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};
use crate::rss;

/// How long to wait for every green thread to reach its park.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// A pause after the last one has counted itself, so it is really parked.
const SETTLE_PAUSE: Duration = Duration::from_millis(100);

/// See the module documentation.
pub struct IdleMemory;

impl Workload for IdleMemory {
    fn name(&self) -> &'static str {
        "idle_memory"
    }

    fn about(&self) -> &'static str {
        "100,000 parked green threads: resident and page-table bytes each"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let big = cfg.pick(100_000, 10_000);
        let small = cfg.pick(30_000, 5_000);
        vec![
            Row {
                key: format!("{}k", big / 1000),
                unit: Unit::BytesPerThread,
                workers: cfg.workers,
                isolate: true,
                peers: vec![
                    PeerPlan::new(Peer::Grove, big, "default 2 MiB stacks, parked"),
                    PeerPlan::new(Peer::Tokio, big, "tasks awaiting a oneshot"),
                    PeerPlan::new(Peer::Go, big, "goroutines in a channel receive"),
                ],
            },
            Row {
                key: format!("{}k", small / 1000),
                unit: Unit::BytesPerThread,
                workers: cfg.workers,
                isolate: true,
                peers: vec![
                    PeerPlan::new(Peer::Grove, small, "default 2 MiB stacks, parked"),
                    PeerPlan::new(Peer::Tokio, small, "tasks awaiting a oneshot"),
                    PeerPlan::new(Peer::May, small, "default 32 KiB stacks, parked"),
                    PeerPlan::new(Peer::Go, small, "goroutines in a channel receive"),
                ],
            },
        ]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let n = plan.count;
        let grown = match plan.peer {
            Peer::Grove => grove(row.workers, n)?,
            Peer::Tokio => tokio(row.workers, n)?,
            Peer::May => may(row.workers, n)?,
            Peer::Std => return Err(task_err("std", "idle_memory has no std version")),
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample::plain(grown as f64 / n as f64))
    }
}

/// Waits until `count` reaches `n`, then a little more.
fn settle(count: &AtomicUsize, n: usize, peer: &'static str) -> Result<(), BenchError> {
    let t = Instant::now();
    while count.load(Ordering::Acquire) < n {
        if t.elapsed() > SETTLE_LIMIT {
            return Err(BenchError::Timeout(format!(
                "{peer}: only {} of {n} reached their park",
                count.load(Ordering::Acquire)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(SETTLE_PAUSE);
    Ok(())
}

fn grove(workers: usize, n: usize) -> Result<u64, BenchError> {
    let rt = peers::grove_build(peers::grove_builder(workers))?;
    rt.block_on(|| ());
    let page = rss::page_size()?;
    let before = rss::held_bytes(page)?;
    let parked = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let gs: Vec<_> = (0..n)
        .map(|_| {
            let (parked, release) = (parked.clone(), release.clone());
            rt.spawn(move || {
                parked.fetch_add(1, Ordering::Release);
                while !release.load(Ordering::Acquire) {
                    grove::park();
                }
            })
        })
        .collect();
    settle(&parked, n, "grove")?;
    let after = rss::held_bytes(page)?;
    release.store(true, Ordering::Release);
    for g in &gs {
        g.thread().unpark();
    }
    for g in gs {
        g.join().map_err(|e| task_err("grove", e))?;
    }
    rt.shutdown();
    Ok(after.saturating_sub(before))
}

fn tokio(workers: usize, n: usize) -> Result<u64, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    rt.block_on(async {});
    let page = rss::page_size()?;
    let before = rss::held_bytes(page)?;
    let waiting = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let waiting = waiting.clone();
        senders.push(tx);
        handles.push(rt.spawn(async move {
            waiting.fetch_add(1, Ordering::Release);
            let _ = rx.await;
        }));
    }
    settle(&waiting, n, "tokio")?;
    let after = rss::held_bytes(page)?;
    for tx in senders {
        let _ = tx.send(());
    }
    rt.block_on(async move {
        for h in handles {
            h.await.map_err(|e| task_err("tokio", e))?;
        }
        Ok::<_, BenchError>(())
    })?;
    rt.shutdown_background();
    Ok(after.saturating_sub(before))
}

fn may(workers: usize, n: usize) -> Result<u64, BenchError> {
    peers::may_configure(workers);
    super::cpu_batch::may_warm_up()?;
    let page = rss::page_size()?;
    let before = rss::held_bytes(page)?;
    let parked = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (parked, release) = (parked.clone(), release.clone());
            may::go!(move || {
                parked.fetch_add(1, Ordering::Release);
                while !release.load(Ordering::Acquire) {
                    may::coroutine::park();
                }
            })
        })
        .collect();
    settle(&parked, n, "may")?;
    let after = rss::held_bytes(page)?;
    release.store(true, Ordering::Release);
    for h in &hs {
        h.coroutine().unpark();
    }
    for h in hs {
        h.join()
            .map_err(|_| task_err("may", "a coroutine panicked"))?;
    }
    Ok(after.saturating_sub(before))
}
