//! A hub's timers: a binary heap of deadlines, each ending one park.
//!
//! Every entry names a green thread and the generation of the park that armed
//! it (see `park.rs`). Firing an entry calls `ParkState::timeout(gen)`, which
//! does nothing if that park has already ended, so a timer never needs to be
//! cancelled from another thread. Entries whose park ended early are stale;
//! they are swept whenever the heap has doubled since the last sweep, which
//! keeps it within twice the number of live timers at amortised O(1) cost.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use crate::park::Gen;
use crate::task::Task;

struct Entry {
    deadline: Instant,
    seq: u64,
    gen: Gen,
    task: Arc<Task>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// One hub's timer heap.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Entry>,
    seq: u64,
    sweep_at: usize,
}

impl Timers {
    /// Arms a timer ending `task`'s park of generation `gen` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, task: Arc<Task>, gen: Gen) {
        self.seq += 1;
        self.heap.push(Entry {
            deadline,
            seq: self.seq,
            gen,
            task,
        });
        if self.heap.len() >= self.sweep_at.max(64) {
            self.heap.retain(|e| e.task.state.is_waiting_in(e.gen));
            self.sweep_at = 2 * self.heap.len();
        }
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Pops every entry due at `now`, handing each to `fire`.
    pub(crate) fn fire_due(&mut self, now: Instant, mut fire: impl FnMut(Arc<Task>, Gen)) {
        while self.heap.peek().is_some_and(|e| e.deadline <= now) {
            if let Some(e) = self.heap.pop() {
                fire(e.task, e.gen);
            }
        }
    }

    /// Whether no timer is armed.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every entry (the hub is stopping).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}
