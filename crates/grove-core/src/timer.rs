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
use std::sync::TryLockError;
use std::time::{Duration, Instant};

use crate::park::Gen;
use crate::sync::{lock, AtomicU64, Mutex, Ordering};

/// What a timer ends: one park of its owner, named by the park's generation.
pub trait Target {
    /// Whether the owner still waits in the park of generation `gen` (an
    /// entry for an ended park is stale and may be swept).
    fn waiting_in(&self, gen: Gen) -> bool;
}

struct Entry<T> {
    deadline: Instant,
    seq: u64,
    gen: Gen,
    task: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// One hub's timer heap.
pub struct Timers<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
    sweep_at: usize,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
            sweep_at: 0,
        }
    }
}

impl<T: Target> Timers<T> {
    /// Arms a timer ending `task`'s park of generation `gen` at `deadline`.
    pub fn insert(&mut self, deadline: Instant, task: T, gen: Gen) {
        self.seq += 1;
        self.heap.push(Entry {
            deadline,
            seq: self.seq,
            gen,
            task,
        });
        if self.heap.len() >= self.sweep_at.max(64) {
            self.heap.retain(|e| e.task.waiting_in(e.gen));
            self.sweep_at = 2 * self.heap.len();
        }
    }
}

impl<T> Timers<T> {
    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Pops every entry due at `now`, handing each to `fire`.
    pub fn fire_due(&mut self, now: Instant, mut fire: impl FnMut(T, Gen)) {
        while self.heap.peek().is_some_and(|e| e.deadline <= now) {
            if let Some(e) = self.heap.pop() {
                fire(e.task, e.gen);
            }
        }
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Entries in the heap (ended parks' entries included until swept).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops every entry (the hub is stopping).
    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

/// Timers any hub of a runtime may fire: a [`Timers`] heap under a mutex,
/// with its earliest deadline readable without the lock.
///
/// `next` holds the earliest deadline as nanoseconds since `epoch` (or
/// [`NONE`]); it is written under the lock, with `SeqCst`, and read by hubs
/// on every turn (a plain load when it is `NONE`) and before they sleep.
pub struct SharedTimers<T> {
    heap: Mutex<Timers<T>>,
    next: AtomicU64,
    epoch: Instant,
}

const NONE: u64 = u64::MAX;

impl<T> Default for SharedTimers<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> SharedTimers<T> {
    /// No timer armed.
    pub fn new() -> Self {
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
    pub fn insert(&self, deadline: Instant, task: T, gen: Gen) -> bool
    where
        T: Target,
    {
        let mut heap = lock(&self.heap);
        heap.insert(deadline, task, gen);
        let next = self.encode(heap.next_deadline());
        self.next.store(next, Ordering::SeqCst);
        next == self.encode(Some(deadline))
    }

    /// The earliest deadline, if any (without taking the lock).
    pub fn due_hint(&self) -> Option<Instant> {
        match self.next.load(Ordering::SeqCst) {
            NONE => None,
            n => Some(self.epoch + Duration::from_nanos(n)),
        }
    }

    /// Pops every entry due at `now` into `out`, unless another hub is
    /// firing them right now.
    pub fn fire_due(&self, now: Instant, out: &mut Vec<(T, Gen)>) {
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// An entry whose park is still waiting only if its generation is even.
    struct Even;

    impl Target for Even {
        fn waiting_in(&self, gen: Gen) -> bool {
            gen % 2 == 0
        }
    }

    #[test]
    fn entries_fire_in_deadline_order_and_stale_ones_are_swept() {
        let mut timers = Timers::default();
        let now = Instant::now();
        assert!(timers.is_empty() && timers.next_deadline().is_none());
        for gen in 0..63 {
            timers.insert(now + Duration::from_millis(100 - gen as u64), Even, gen);
        }
        assert_eq!(timers.len(), 63, "no sweep below 64 entries");
        assert!(!timers.is_empty());
        timers.insert(now, Even, 64);
        assert_eq!(timers.len(), 33, "the 31 odd (ended) parks were swept");
        assert_eq!(timers.next_deadline(), Some(now));
        let mut fired = Vec::new();
        timers.fire_due(now + Duration::from_millis(40), |_, gen| fired.push(gen));
        assert_eq!(fired, [64, 62, 60], "earliest first, and only the due ones");
        timers.clear();
        assert!(timers.is_empty());
    }

    #[test]
    fn equal_deadlines_fire_in_the_order_they_were_armed() {
        let mut timers = Timers::default();
        let at = Instant::now();
        for gen in [8, 2, 6, 4] {
            timers.insert(at, Even, gen);
        }
        let mut fired = Vec::new();
        timers.fire_due(at, |_, gen| fired.push(gen));
        assert_eq!(fired, [8, 2, 6, 4]);
    }

    #[test]
    fn the_next_sweep_waits_until_the_heap_has_doubled() {
        let mut timers = Timers::default();
        let at = Instant::now();
        // 64 live entries: the sweep at 64 keeps them all and waits for 128.
        for gen in 0..64 {
            timers.insert(at, Even, 2 * gen);
        }
        assert_eq!(timers.len(), 64);
        for gen in 0..63 {
            timers.insert(at, Even, 2 * gen + 1);
        }
        assert_eq!(timers.len(), 127, "stale entries wait for the next sweep");
        timers.insert(at, Even, 1);
        assert_eq!(timers.len(), 64, "at 128 (twice 64) the sweep runs again");
    }

    #[test]
    fn shared_timers_publish_their_earliest_deadline() {
        let shared = SharedTimers::default();
        let now = Instant::now();
        assert_eq!(shared.due_hint(), None);
        assert!(shared.insert(now + Duration::from_secs(2), Even, 0));
        assert!(
            shared.insert(now + Duration::from_secs(1), Even, 2),
            "earlier"
        );
        assert!(
            !shared.insert(now + Duration::from_secs(3), Even, 4),
            "later"
        );
        let hint = shared.due_hint().unwrap();
        assert!(hint <= now + Duration::from_secs(1));
        assert!(hint + Duration::from_millis(1) > now + Duration::from_secs(1));
        let mut out = Vec::new();
        shared.fire_due(now + Duration::from_millis(1500), &mut out);
        assert_eq!(out.iter().map(|(_, g)| *g).collect::<Vec<_>>(), [2]);
        assert!(shared.due_hint().unwrap() > now + Duration::from_millis(1500));
    }
}
