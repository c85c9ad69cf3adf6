//! Per-hub counters users and tests can read.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of one hub's counters.
///
/// # Example
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// rt.block_on(|| grove::yield_now());
/// let total: u64 = rt.metrics().iter().map(|m| m.started).sum();
/// assert!(total >= 1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct HubMetrics {
    /// The hub's index.
    pub index: usize,
    /// Green threads that started (first ran) on this hub.
    pub started: u64,
    /// Times this hub switched into a green thread.
    pub run: u64,
    /// Green threads this hub took from another hub's queue.
    pub stolen: u64,
    /// Parks committed on this hub (a green thread blocked and switched off).
    pub parked: u64,
}

/// The live counters; written by their hub only, read by anyone.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) started: AtomicU64,
    pub(crate) run: AtomicU64,
    pub(crate) stolen: AtomicU64,
    pub(crate) parked: AtomicU64,
    /// The green thread it switched to last, until it sleeps (0: none);
    /// for the watcher and snapshots (`watch.rs`).
    pub(crate) running: AtomicU64,
    /// Stacks this hub took for starting green threads, and gave back for
    /// finished ones (not always the same hub's); their difference, summed
    /// over hubs, is the stacks in use.
    pub(crate) stacks_taken: AtomicU64,
    pub(crate) stacks_given: AtomicU64,
}

impl Counters {
    /// Adds `n` to a counter only its own hub writes (no RMW needed).
    pub(crate) fn bump(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, index: usize) -> HubMetrics {
        HubMetrics {
            index,
            started: self.started.load(Ordering::Relaxed),
            run: self.run.load(Ordering::Relaxed),
            stolen: self.stolen.load(Ordering::Relaxed),
            parked: self.parked.load(Ordering::Relaxed),
        }
    }
}
