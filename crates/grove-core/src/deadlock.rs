//! Deadlocks: wait-for cycles in a [`Snapshot`], and the report the
//! watcher (`watch.rs`) makes when a whole runtime is stuck.
//!
//! # What grove can know
//!
//! A parked green thread waits for one thing (`reason.rs`). grove knows who
//! can end some waits: a lock's holder, a joined green thread. Those are
//! the edges of the wait-for graph; each parked green thread has at most
//! one, so every cycle is found by following edges ([`cycles`]). A cycle is
//! a deadlock whatever the rest of the program does.
//!
//! Other waits (a `Queue`, an `Event`, a plain `park`) can be ended by any
//! thread that holds the object or a `Thread` handle, which grove cannot
//! see. So a *whole* runtime is reported stuck only when, for two watcher
//! periods in a row with no switch on any hub:
//!
//! * it has live green threads, and every one is parked, with no deadline
//!   and not waiting for a descriptor; one in a plain `park` also has no
//!   `Thread` handle held by the program (grove's own wakers in wait lists
//!   do not count: a primitive's waiter parks again after a stray unpark);
//! * no blocking-pool job or other declared outside work
//!   ([`OutsideWork`](crate::OutsideWork)) is under way;
//! * every OS thread that spawned onto the runtime (or waits for it in
//!   `block_on`/`join`) has exited or is itself parked in grove without a
//!   deadline; a hub of another runtime that spawned onto it never is.
//!
//! An OS thread that never spawned onto the runtime but holds one of its
//! objects (a `Queue` it will put to later) is invisible: declare it with
//! [`OutsideWork`](crate::OutsideWork), or switch detection off with
//! [`RuntimeBuilder::deadlock_detection`](crate::RuntimeBuilder::deadlock_detection).

use std::collections::HashMap;
use std::fmt;

use crate::reason::WaitReason;
use crate::snapshot::{GreenState, GreenThreadSnapshot, Snapshot};
use crate::thread::ThreadId;

/// Green threads each waiting for the next (the last for the first),
/// through edges grove knows: a lock's holder, a joined green thread.
/// `Display` reads like "green thread 12 'a' waits for the Lock 0x… held by
/// green thread 7 'b', which waits to join green thread 12 'a'".
///
/// ```
/// let rt = grove::Runtime::builder().workers(1).build().unwrap();
/// assert!(rt.snapshot().cycles().is_empty());
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Cycle {
    /// The green threads of the cycle, each waiting for the next.
    pub threads: Vec<GreenThreadSnapshot>,
}

impl Cycle {
    /// The ids in the cycle, starting from the smallest.
    ///
    /// ```
    /// let snap = grove::Handle::current().snapshot();
    /// for c in snap.cycles() {
    ///     assert!(!c.ids().is_empty());
    /// }
    /// ```
    pub fn ids(&self) -> Vec<ThreadId> {
        self.threads.iter().map(|t| t.id).collect()
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.threads.len();
        for (i, t) in self.threads.iter().enumerate() {
            let next = &self.threads[(i + 1) % n];
            if i == 0 {
                write!(f, "{}", t.label())?;
            } else {
                f.write_str(", which")?;
            }
            match t.waits_for {
                Some(crate::WaitReason::Join { .. }) => {
                    write!(f, " waits to join {}", next.label())?
                }
                Some(crate::WaitReason::Lock { lock, .. }) => {
                    write!(f, " waits for the Lock {lock} held by {}", next.label())?
                }
                Some(crate::WaitReason::RLock { lock, .. }) => {
                    write!(f, " waits for the RLock {lock} held by {}", next.label())?
                }
                _ => write!(f, " waits for {}", next.label())?,
            }
        }
        Ok(())
    }
}

/// Every wait-for cycle among the parked green threads of `snap`.
pub(crate) fn cycles(snap: &Snapshot) -> Vec<Cycle> {
    let index: HashMap<ThreadId, usize> = snap
        .threads
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id, i))
        .collect();
    let next = |i: usize| -> Option<usize> {
        let t = &snap.threads[i];
        if t.state != GreenState::Parked {
            return None;
        }
        let j = *index.get(&t.waits_for?.depends_on()?)?;
        (snap.threads[j].state == GreenState::Parked).then_some(j)
    };
    // Each thread has at most one edge: walk from every unvisited thread,
    // colouring the path; meeting the current path closes a cycle.
    let mut colour = vec![0u8; snap.threads.len()]; // 0 new, 1 on path, 2 done
    let mut found = Vec::new();
    for start in 0..snap.threads.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match colour[i] {
                0 => {
                    colour[i] = 1;
                    path.push(i);
                    at = next(i);
                }
                1 => {
                    let from = path.iter().position(|&p| p == i).unwrap_or(0);
                    let mut members: Vec<usize> = path[from..].to_vec();
                    let low = (0..members.len())
                        .min_by_key(|&k| snap.threads[members[k]].id)
                        .unwrap_or(0);
                    members.rotate_left(low);
                    found.push(Cycle {
                        threads: members.iter().map(|&m| snap.threads[m].clone()).collect(),
                    });
                    break;
                }
                _ => break,
            }
        }
        for p in path {
            colour[p] = 2;
        }
    }
    found
}

/// Whether every live green thread of `snap` is parked in a wait that only
/// another green thread (or an unseen OS thread) could end.
pub(crate) fn all_stuck(snap: &Snapshot) -> bool {
    !snap.threads.is_empty()
        && snap.threads.iter().all(|t| {
            t.state == GreenState::Parked
                && t.wakes_in.is_none()
                && match t.waits_for {
                    // A plain park ends with an unpark: nobody may hold a handle.
                    Some(WaitReason::Park { .. }) => t.handles == 0,
                    // The others re-park after an unpark until their object
                    // lets them go.
                    Some(r) => !r.is_io(),
                    None => false,
                }
        })
}

/// A runtime none of whose green threads can ever run again: the wait-for
/// cycles among them, and every waiter with what it waits for. `block_on`
/// and `join` from outside the runtime end with it
/// ([`Error::Deadlock`](crate::Error::Deadlock)); the runtime's watcher
/// prints it on standard error unless
/// [`RuntimeBuilder::on_deadlock`](crate::RuntimeBuilder::on_deadlock) takes it.
/// See the `deadlock` module docs for exactly when.
///
/// ```
/// let rt = grove::Runtime::builder()
///     .workers(1)
///     .on_deadlock(|_| {}) // the error below carries it
///     .build()
///     .unwrap();
/// let g = rt.spawn(grove::park); // nothing will ever unpark it
/// match g.join() {
///     Err(grove::Error::Deadlock(report)) => {
///         assert_eq!(report.waiting.len(), 1);
///         assert!(report.to_string().contains(": park"));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct DeadlockReport {
    /// Wait-for cycles grove could trace (a lock's holder, a join).
    pub cycles: Vec<Cycle>,
    /// Every green thread of the runtime, each parked.
    pub waiting: Vec<GreenThreadSnapshot>,
}

impl DeadlockReport {
    pub(crate) fn new(snap: &Snapshot) -> DeadlockReport {
        DeadlockReport {
            cycles: cycles(snap),
            waiting: snap.threads.clone(),
        }
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = match self.waiting.len() {
            1 => "the only green thread is".to_string(),
            n => format!("all {n} green threads are"),
        };
        writeln!(f, "{all} asleep and nothing can wake them: deadlock")?;
        for c in &self.cycles {
            writeln!(f, "  cycle: {c}")?;
        }
        for t in &self.waiting {
            write!(f, "  {}", t.label())?;
            if let Some(r) = &t.waits_for {
                write!(f, ": {r}")?;
            }
            if let Some(d) = t.parked_for {
                write!(f, " (for {d:.0?})")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
