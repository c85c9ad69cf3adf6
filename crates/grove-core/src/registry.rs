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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::driver::{Driver, ThreadParker};
use crate::stack::SpawnError;
use crate::sync::{lock, Mutex};
use crate::task::Task;

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    slots: Vec<Option<Arc<Task>>>,
    free: Vec<usize>,
}

/// A shard and its count, alone on their cache lines.
#[repr(align(128))]
#[derive(Default)]
struct Padded {
    shard: Mutex<Shard>,
    live: AtomicUsize,
}

pub(crate) struct Registry {
    shards: Box<[Padded]>,
    closed: AtomicBool,
    drained: ThreadParker,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
            closed: AtomicBool::new(false),
            drained: ThreadParker::new(),
        }
    }

    fn shard(&self, id: u64) -> &Padded {
        &self.shards[(id as usize) % SHARDS]
    }

    pub(crate) fn insert(&self, task: &Arc<Task>) -> Result<(), SpawnError> {
        let padded = self.shard(task.id);
        let mut shard = lock(&padded.shard);
        if self.closed.load(Ordering::SeqCst) {
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
        task.slot.store(idx, Ordering::Relaxed);
        padded.live.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn remove(&self, task: &Task) {
        let idx = task.slot.load(Ordering::Relaxed);
        let padded = self.shard(task.id);
        let removed = {
            let mut shard = lock(&padded.shard);
            let t = shard.slots.get_mut(idx).and_then(Option::take);
            if t.is_some() {
                shard.free.push(idx);
                padded.live.fetch_sub(1, Ordering::SeqCst);
            }
            t
        };
        if removed.is_some() && self.closed.load(Ordering::SeqCst) && self.live() == 0 {
            self.drained.unpark();
        }
        // `removed` (an Arc of this very task) drops here, after the lock.
    }

    /// Refuses new tasks and returns every live one.
    pub(crate) fn close(&self) -> Vec<Arc<Task>> {
        self.closed.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for p in self.shards.iter() {
            all.extend(lock(&p.shard).slots.iter().flatten().cloned());
        }
        all
    }

    /// Every live task, shard by shard (for snapshots).
    pub(crate) fn all(&self) -> Vec<Arc<Task>> {
        let mut all = Vec::with_capacity(self.live());
        for p in self.shards.iter() {
            all.extend(lock(&p.shard).slots.iter().flatten().cloned());
        }
        all
    }

    /// The live task with this id, if any.
    pub(crate) fn find(&self, id: u64) -> Option<Arc<Task>> {
        let shard = lock(&self.shard(id).shard);
        shard.slots.iter().flatten().find(|t| t.id == id).cloned()
    }

    pub(crate) fn live(&self) -> usize {
        self.shards
            .iter()
            .map(|p| p.live.load(Ordering::SeqCst))
            .sum()
    }

    /// After `close`: waits until no task is live or `deadline` passes.
    pub(crate) fn wait_drained(&self, deadline: Option<std::time::Instant>) -> bool {
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
