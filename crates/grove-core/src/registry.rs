//! Every live green thread of a runtime, so that shutdown can kill them all.
//!
//! Sharded by id so that spawns and exits on different hubs rarely meet on
//! one lock. A task enters at spawn and leaves when it finishes. Shutdown
//! first sets `closed` and then takes every shard's lock in turn: an insert
//! that took its shard lock before the sweep is seen by the sweep, and one
//! that took it after sees `closed` and is refused.
//!
//! Each shard keeps its own count of live tasks, on its own cache line with
//! its lock: a spawn on one hub and an exit on another touch one shard's
//! line, not a runtime-wide counter as well. The total is the sum. Counts
//! change under the shard lock with `SeqCst`, and an exit after `closed`
//! sums them after its own decrement: of two last exits on different
//! shards, the later one in that total order sees both decrements, so the
//! one that brings the total to zero always wakes `wait_drained`.

use std::sync::Arc;

use crate::driver::{Driver, ThreadParker};
use crate::stack::SpawnError;
use crate::sync::{lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::task::Task;

/// Shards of a runtime's registry.
const SHARDS: usize = 16;

/// What the registry keeps: a green thread's record (`Task`), or, in the
/// loom models, a stand-in with an id and a slot.
pub trait Member: Send + Sync {
    /// Its id (chooses its shard).
    fn id(&self) -> u64;
    /// Where the registry notes its index in the shard (written at insert,
    /// read at remove; the member's hand-off to the remover orders them).
    fn slot(&self) -> &std::sync::atomic::AtomicUsize;
}

impl Member for Task {
    fn id(&self) -> u64 {
        self.id
    }
    fn slot(&self) -> &std::sync::atomic::AtomicUsize {
        &self.slot
    }
}

struct Shard<T> {
    slots: Vec<Option<Arc<T>>>,
    free: Vec<usize>,
}

/// A shard and its count, alone on their cache lines.
#[repr(align(128))]
struct Padded<T> {
    shard: Mutex<Shard<T>>,
    live: AtomicUsize,
}

/// Every live member, sharded (see the module docs).
pub struct Registry<T: Member> {
    shards: Box<[Padded<T>]>,
    closed: AtomicBool,
    drained: ThreadParker,
}

/// A weakened build (loom only) checks `closed` before taking the shard
/// lock: an insert can slip in after shutdown's sweep.
const INSERT_CHECKS_OUTSIDE: bool = cfg!(grove_loom_weaken = "insert_checks_outside");
/// A weakened build (loom only) reads `closed` before the removal: a
/// shutdown in between waits for a wake nobody sends.
const DRAIN_CHECK_EARLY: bool = cfg!(grove_loom_weaken = "drain_check_early");

impl<T: Member> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Member> Registry<T> {
    /// A registry of the runtime's usual number of shards.
    pub fn new() -> Self {
        Self::with_shards(SHARDS)
    }

    /// A registry of `n` shards (the loom models use two).
    pub fn with_shards(n: usize) -> Self {
        Registry {
            shards: (0..n.max(1))
                .map(|_| Padded {
                    shard: Mutex::new(Shard {
                        slots: Vec::new(),
                        free: Vec::new(),
                    }),
                    live: AtomicUsize::new(0),
                })
                .collect(),
            closed: AtomicBool::new(false),
            drained: ThreadParker::new(),
        }
    }

    fn shard(&self, id: u64) -> &Padded<T> {
        &self.shards[(id as usize) % self.shards.len()]
    }

    /// Adds `task`, unless shutdown has begun.
    pub fn insert(&self, task: &Arc<T>) -> Result<(), SpawnError> {
        let padded = self.shard(task.id());
        if INSERT_CHECKS_OUTSIDE && self.closed.load(Ordering::SeqCst) {
            return Err(SpawnError::ShutDown);
        }
        let mut shard = lock(&padded.shard);
        if !INSERT_CHECKS_OUTSIDE && self.closed.load(Ordering::SeqCst) {
            return Err(SpawnError::ShutDown);
        }
        let idx = match shard.free.pop() {
            Some(i) => {
                shard.slots[i] = Some(task.clone());
                i
            }
            None => {
                shard.slots.push(Some(task.clone()));
                shard.slots.len() - 1
            }
        };
        task.slot().store(idx, std::sync::atomic::Ordering::Relaxed);
        padded.live.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Takes `task` out (it finished); after shutdown began, the exit that
    /// brings the count to zero wakes [`wait_drained`](Self::wait_drained).
    pub fn remove(&self, task: &T) {
        let idx = task.slot().load(std::sync::atomic::Ordering::Relaxed);
        let padded = self.shard(task.id());
        let closed_early = DRAIN_CHECK_EARLY && self.closed.load(Ordering::SeqCst);
        let removed = {
            let mut shard = lock(&padded.shard);
            let t = shard.slots.get_mut(idx).and_then(Option::take);
            if t.is_some() {
                shard.free.push(idx);
                padded.live.fetch_sub(1, Ordering::SeqCst);
            }
            t
        };
        let closed = if DRAIN_CHECK_EARLY {
            closed_early
        } else {
            self.closed.load(Ordering::SeqCst)
        };
        if removed.is_some() && closed && self.live() == 0 {
            self.drained.unpark();
        }
        // `removed` (an Arc of this very task) drops here, after the lock.
    }

    /// Refuses new tasks and returns every live one.
    pub fn close(&self) -> Vec<Arc<T>> {
        self.closed.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for p in self.shards.iter() {
            all.extend(lock(&p.shard).slots.iter().flatten().cloned());
        }
        all
    }

    /// Every live task, shard by shard (for snapshots).
    pub fn all(&self) -> Vec<Arc<T>> {
        let mut all = Vec::with_capacity(self.live());
        for p in self.shards.iter() {
            all.extend(lock(&p.shard).slots.iter().flatten().cloned());
        }
        all
    }

    /// The live task with this id, if any.
    pub fn find(&self, id: u64) -> Option<Arc<T>> {
        let shard = lock(&self.shard(id).shard);
        shard.slots.iter().flatten().find(|t| t.id() == id).cloned()
    }

    /// How many members are live (the sum of the shards' counts).
    pub fn live(&self) -> usize {
        self.shards
            .iter()
            .map(|p| p.live.load(Ordering::SeqCst))
            .sum()
    }

    /// After `close`: waits until no task is live or `deadline` passes.
    pub fn wait_drained(&self, deadline: Option<std::time::Instant>) -> bool {
        loop {
            if self.live() == 0 {
                return true;
            }
            let timeout = match deadline {
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(t) if !t.is_zero() => Some(t),
                    _ => return false,
                },
                None => None,
            };
            self.drained.park(timeout);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    struct M {
        id: u64,
        slot: std::sync::atomic::AtomicUsize,
    }

    impl Member for M {
        fn id(&self) -> u64 {
            self.id
        }
        fn slot(&self) -> &std::sync::atomic::AtomicUsize {
            &self.slot
        }
    }

    fn member(id: u64) -> Arc<M> {
        Arc::new(M {
            id,
            slot: std::sync::atomic::AtomicUsize::new(usize::MAX),
        })
    }

    fn ids(v: Vec<Arc<M>>) -> Vec<u64> {
        let mut ids: Vec<u64> = v.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn members_are_found_counted_and_removed_across_shards() {
        let r = Registry::with_shards(2);
        let (a, b, c) = (member(0), member(1), member(2));
        for m in [&a, &b, &c] {
            r.insert(m).unwrap();
        }
        assert_eq!(r.live(), 3);
        assert_eq!(ids(r.all()), [0, 1, 2]);
        assert_eq!(r.find(2).map(|m| m.id), Some(2));
        assert!(r.find(4).is_none());
        r.remove(&a);
        assert_eq!(r.live(), 2);
        assert!(r.find(0).is_none());
        r.remove(&a); // a second removal changes nothing
        assert_eq!(r.live(), 2);
        // The freed slot is reused, and both members stay findable.
        let d = member(4);
        r.insert(&d).unwrap();
        assert_eq!(d.slot.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(r.find(4).map(|m| m.id), Some(4));
        assert_eq!(r.find(2).map(|m| m.id), Some(2));
        assert_eq!(ids(r.all()), [1, 2, 4]);
    }

    #[test]
    fn close_refuses_inserts_and_drains_when_the_last_leaves() {
        let r = Registry::with_shards(2);
        let (a, b) = (member(0), member(1));
        r.insert(&a).unwrap();
        r.insert(&b).unwrap();
        assert_eq!(ids(r.close()), [0, 1]);
        assert!(matches!(r.insert(&member(2)), Err(SpawnError::ShutDown)));
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(!r.wait_drained(Some(soon)), "two are still live");
        r.remove(&a);
        assert!(!r.wait_drained(Some(Instant::now())), "one is still live");
        let r = Arc::new(r);
        // One waiter (shutdown's), with time left: woken by the last exit.
        let waiter = {
            let r = r.clone();
            let deadline = Instant::now() + Duration::from_secs(60);
            std::thread::spawn(move || r.wait_drained(Some(deadline)))
        };
        std::thread::sleep(Duration::from_millis(20));
        r.remove(&b);
        assert!(waiter.join().unwrap(), "the last exit wakes the waiter");
        assert_eq!(r.live(), 0);
    }
}
