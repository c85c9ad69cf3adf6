//! Timers: a binary heap of deadlines, each ending one park. Each hub has
//! one for the parks of green threads bound to it ([`Timers`], touched by
//! that hub only); the runtime has one any hub may fire ([`SharedTimers`])
//! for parks of green threads that are not bound (`spawn_later` before the
//! start, migrating green threads), so that a busy hub never holds them.
//!
//! Every entry names a green thread and the generation of the park that armed
//! it (see `park.rs`). Firing an entry calls `ParkState::timeout(gen)`, which
//! does nothing if that park has already ended, so a timer never needs to be
//! cancelled from another thread. Entries whose park ended early are stale;
//! they are swept whenever the heap has doubled since the last sweep, which
//! keeps it within twice the number of live timers at amortised O(1) cost.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

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

    /// Entries in the heap (ended parks' entries included until swept).
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops every entry (the hub is stopping).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

/// Timers any hub of a runtime may fire: a [`Timers`] heap under a mutex,
/// with its earliest deadline readable without the lock.
///
/// `next` holds the earliest deadline as nanoseconds since `epoch` (or
/// [`NONE`]); it is written under the lock, with `SeqCst`, and read by hubs
/// on every turn (a plain load when it is `NONE`) and before they sleep.
pub(crate) struct SharedTimers {
    heap: Mutex<Timers>,
    next: AtomicU64,
    epoch: Instant,
}

const NONE: u64 = u64::MAX;

impl SharedTimers {
    pub(crate) fn new() -> Self {
        SharedTimers {
            heap: Mutex::new(Timers::default()),
            next: AtomicU64::new(NONE),
            epoch: Instant::now(),
        }
    }

    fn encode(&self, t: Option<Instant>) -> u64 {
        match t {
            None => NONE,
            Some(t) => {
                let nanos = t.saturating_duration_since(self.epoch).as_nanos();
                u64::try_from(nanos).unwrap_or(NONE - 1).min(NONE - 1)
            }
        }
    }

    /// Arms a timer. Returns true if it is now the earliest.
    pub(crate) fn insert(&self, deadline: Instant, task: Arc<Task>, gen: Gen) -> bool {
        let mut heap = lock(&self.heap);
        heap.insert(deadline, task, gen);
        let next = self.encode(heap.next_deadline());
        self.next.store(next, Ordering::SeqCst);
        next == self.encode(Some(deadline))
    }

    /// The earliest deadline, if any (without taking the lock).
    pub(crate) fn due_hint(&self) -> Option<Instant> {
        match self.next.load(Ordering::SeqCst) {
            NONE => None,
            n => Some(self.epoch + Duration::from_nanos(n)),
        }
    }

    /// Pops every entry due at `now` into `out`, unless another hub is
    /// firing them right now.
    pub(crate) fn fire_due(&self, now: Instant, out: &mut Vec<(Arc<Task>, Gen)>) {
        let mut heap = match self.heap.try_lock() {
            Ok(heap) => heap,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        heap.fire_due(now, |task, gen| out.push((task, gen)));
        self.next
            .store(self.encode(heap.next_deadline()), Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only grove's own code runs under this lock: poisoning cannot happen
    // mid-update, and a poisoned lock still guards a sound heap.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
