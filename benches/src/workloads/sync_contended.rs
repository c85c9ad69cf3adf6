//! `sync_contended`: many green threads on all hubs contending for a
//! semaphore, and producers and consumers on all hubs sharing a bounded queue.
//!
//! Measures grove-sync under contention from hubs running in parallel: the
//! lock inside each primitive, its FIFO line of waiters, and the hand-off of
//! a permit or an item to a blocked green thread (a wakeup, often on another
//! hub). gevent programs throttle with a `Semaphore` (a connection limit, a
//! pool) and hand work over with a `Queue`, from many green threads at once.
//! Both rows count nanoseconds per operation: operations per second is
//! 1e9 / (ns/op).
//!
//! Rows (the per-peer code is in `contended_semaphore.rs` and
//! `contended_queue.rs`):
//! - `semaphore`: a semaphore of 4 permits shared by 1,000 green threads
//!   (tasks, coroutines), each doing the same number of cycles of acquire,
//!   yield while holding the permit, release. One operation is one cycle. Every
//!   holder checks that at most 4 hold a permit at once.
//! - `queue`: a queue of capacity 64, 4 producers and 4 consumers; one
//!   operation is one item put and taken. Every item is counted and summed.
//!
//! Go's version uses a channel of tokens as the semaphore and a buffered
//! channel as the queue, the idioms Go offers for both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{contended_queue, contended_semaphore};
use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::Peer;

/// Permits of the `semaphore` row's semaphore.
pub const PERMITS: usize = 4;
/// Green threads (tasks, coroutines) sharing the semaphore.
pub const CONTENDERS: usize = 1_000;
/// OS threads sharing std's semaphore (1,000 would measure the kernel).
pub const STD_CONTENDERS: usize = 16;
/// Capacity of the `queue` row's queue.
pub const CAPACITY: usize = 64;
/// Producers, and consumers, of the `queue` row.
pub const SIDES: usize = 4;

/// See the module documentation.
pub struct SyncContended;

impl Workload for SyncContended {
    fn name(&self) -> &'static str {
        "sync_contended"
    }

    fn about(&self) -> &'static str {
        "many green threads on all hubs contending for a semaphore and for a bounded queue"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let cycles = CONTENDERS * cfg.pick(100, 10);
        let items = cfg.pick(200_000, 20_000);
        vec![
            Row {
                key: "semaphore".to_string(),
                unit: Unit::NsPerOp,
                workers: cfg.workers,
                isolate: false,
                peers: vec![
                    PeerPlan::new(
                        Peer::Grove,
                        cycles,
                        format!("{CONTENDERS} green threads from outside; Semaphore({PERMITS})"),
                    ),
                    PeerPlan::new(
                        Peer::Tokio,
                        cycles,
                        format!("{CONTENDERS} tasks from outside; sync::Semaphore"),
                    ),
                    PeerPlan::new(
                        Peer::May,
                        cycles,
                        format!("{CONTENDERS} coroutines; child process; sync::Semphore"),
                    ),
                    PeerPlan::new(
                        Peer::Std,
                        cycles,
                        format!("only {STD_CONTENDERS} OS threads; Mutex+Condvar semaphore"),
                    ),
                    PeerPlan::new(
                        Peer::Go,
                        cycles,
                        format!("{CONTENDERS} goroutines; a channel of {PERMITS} tokens"),
                    ),
                ],
            },
            Row {
                key: "queue".to_string(),
                unit: Unit::NsPerOp,
                workers: cfg.workers,
                isolate: false,
                peers: vec![
                    PeerPlan::new(
                        Peer::Grove,
                        items,
                        format!("{SIDES}+{SIDES} pinned round-robin to hubs; Queue::bounded({CAPACITY})"),
                    ),
                    PeerPlan::new(
                        Peer::Tokio,
                        items,
                        format!("{SIDES}+{SIDES} tasks; mpsc::channel({CAPACITY}), receiver behind a Mutex"),
                    ),
                    PeerPlan::new(
                        Peer::Std,
                        items,
                        format!("{SIDES}+{SIDES} OS threads; crossbeam-channel bounded({CAPACITY})"),
                    ),
                    PeerPlan::new(
                        Peer::Go,
                        items,
                        format!("{SIDES}+{SIDES} goroutines; a channel of capacity {CAPACITY}"),
                    ),
                ],
            },
        ]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let (w, n) = (row.workers, plan.count);
        let run = match (row.key.as_str(), plan.peer) {
            ("semaphore", Peer::Grove) => contended_semaphore::grove(w, n)?,
            ("semaphore", Peer::Tokio) => contended_semaphore::tokio(w, n)?,
            ("semaphore", Peer::May) => contended_semaphore::may(w, n)?,
            ("semaphore", Peer::Std) => contended_semaphore::std_threads(n)?,
            ("queue", Peer::Grove) => contended_queue::grove(w, n)?,
            ("queue", Peer::Tokio) => contended_queue::tokio(w, n)?,
            ("queue", Peer::Std) => contended_queue::std_threads(n)?,
            (_, Peer::Go) => return go_peer::measure(self.name(), row, plan, cfg),
            (key, peer) => {
                return Err(task_err(
                    peer.name(),
                    format!("sync_contended/{key} has no {peer} version"),
                ))
            }
        };
        Ok(Sample {
            value: run.took.as_nanos() as f64 / n as f64,
            note: run.note,
        })
    }
}

/// How long the contenders may take to start.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Waits (sleeping) until `started` reaches `n`.
pub fn all_started(peer: &'static str, started: &AtomicUsize, n: usize) -> Result<(), BenchError> {
    let since = Instant::now();
    while started.load(Ordering::Acquire) < n {
        if since.elapsed() > START_LIMIT {
            return Err(task_err(peer, "the contenders did not all start"));
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    Ok(())
}
