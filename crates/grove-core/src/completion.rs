//! The completion handshake between a finishing green thread and everyone
//! waiting for it (joiners, `wait`, links).
//!
//! # States
//!
//! `stage`, under the mutex: `Running -> Linking -> Finished`, moved only by
//! the finishing party, in that order, once each. `finished` (an atomic flag)
//! mirrors `Finished` for lock-free checks.
//!
//! # Transitions
//!
//! | method | by | what |
//! |---|---|---|
//! | `complete(v)` | the finisher, once | write the outcome; `Running -> Linking`; run links (outside the lock, until none are left); `-> Finished`; set `finished` (Release); drain and unpark every waiter |
//! | `link(f)` | anyone | before `Finished`: queue `f` for the finisher; after: run `f` now |
//! | `unlink(id)` | anyone | take a queued link off the queue, if the finisher has not taken it yet |
//! | `add_waiter(w)` | a waiter | before `Finished`: queue `w` (grove's one wait list, `wait.rs`) and return its ticket; after: return `None` |
//! | `remove_waiter(ticket)` | a waiter whose wait ended | take itself off the list (a no-op once `Finished` drained it) |
//! | `take()` | the one owner, after `Finished` | move the outcome out |
//!
//! # Orderings and why the outcome is never raced
//!
//! The outcome is written once, under the lock, before `Linking`; the lock
//! orders that write before every link run and every `Finished` observation.
//! `finished` is stored with `Release` after the last link ran and loaded with
//! `Acquire`, so a waiter that sees it also sees the outcome. A waiter never
//! sleeps through `Finished`: it queues itself under the same lock that the
//! finisher holds when it sets `Finished` and drains the list, and its unpark
//! token survives if the unpark comes before the park.
//!
//! Readers: links run one at a time (by the finisher while `Linking`, by the
//! registering caller once `Finished`); `take` needs ownership of the only
//! handle, so it cannot overlap a read made through that handle.

use crate::sync::{lock, AtomicBool, Mutex, Ordering, UnsafeCell};
use crate::wait::{Ticket, WaitList};

/// Something that can be woken: a parked thread of control.
pub trait Unpark: Send {
    /// Wakes it (keeping a token if it is not parked yet).
    fn unpark(&self);
}

/// A callback run with the outcome.
pub type Link<T> = Box<dyn FnOnce(&T) + Send>;

#[derive(PartialEq, Eq)]
enum Stage {
    Running,
    Linking,
    Finished,
}

struct Inner<T, W> {
    stage: Stage,
    /// Queued links, with the id `link` returned for each.
    links: Vec<(u64, Link<T>)>,
    next_link: u64,
    /// Handed `()` at `Finished`: a notification, to every waiter at once.
    waiters: WaitList<(), (), W>,
}

/// One outcome of type `T`, and the waiters (`W`) for it.
pub struct Completion<T, W> {
    outcome: UnsafeCell<Option<T>>,
    inner: Mutex<Inner<T, W>>,
    finished: AtomicBool,
}

// SAFETY: the outcome is handed from the finisher to readers and the taker
// under the protocol above (never two writers, never a write during a read);
// T: Send covers moving it between threads, and readers on several threads
// at once only happen through `&` handles whose own Sync bound requires
// T: Sync (see `Greenlet`).
unsafe impl<T: Send, W: Send> Send for Completion<T, W> {}
// SAFETY: as above.
unsafe impl<T: Send, W: Send> Sync for Completion<T, W> {}

/// A weakened build (loom only) runs the queued links once and finishes,
/// forgetting a link queued while they ran.
const LINKS_ONCE: bool = cfg!(grove_loom_weaken = "links_once");

#[cfg(not(grove_loom_weaken = "completion_relaxed"))]
const FINISHED_STORE: Ordering = Ordering::Release;
#[cfg(grove_loom_weaken = "completion_relaxed")]
const FINISHED_STORE: Ordering = Ordering::Relaxed;

impl<T, W: Unpark> Default for Completion<T, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, W: Unpark> Completion<T, W> {
    /// Not finished, no links, no waiters.
    pub fn new() -> Self {
        Completion {
            outcome: UnsafeCell::new(None),
            inner: Mutex::new(Inner {
                stage: Stage::Running,
                links: Vec::new(),
                next_link: 0,
                waiters: WaitList::new(),
            }),
            finished: AtomicBool::new(false),
        }
    }

    /// The finisher: record `outcome`, run the links, wake every waiter.
    /// A panicking link is contained (`catch_unwind`).
    pub fn complete(&self, outcome: T) {
        let mut g = lock(&self.inner);
        debug_assert!(g.stage == Stage::Running, "completed twice");
        // SAFETY: the only write, made under the lock while `Running`.
        self.outcome.with_mut(|p| unsafe { *p = Some(outcome) });
        g.stage = Stage::Linking;
        loop {
            let links = std::mem::take(&mut g.links);
            if links.is_empty() {
                break;
            }
            drop(g);
            for (_, f) in links {
                self.read(|v| {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(v)));
                });
            }
            g = lock(&self.inner);
            if LINKS_ONCE {
                break;
            }
        }
        g.stage = Stage::Finished;
        self.finished.store(true, FINISHED_STORE);
        // Each waiter checks `finished` itself when it wakes: a plain
        // notification, nothing handed (and nothing allocated).
        let waiters = g.waiters.drain();
        drop(g);
        for (w, ()) in waiters {
            w.unpark();
        }
    }

    /// Runs `f` with the outcome once there is one: queued for the finisher
    /// (returning its id, for [`unlink`](Self::unlink)), or now if it has
    /// finished (returning `None`). A panicking link is contained either way.
    pub fn link(&self, f: Link<T>) -> Option<u64> {
        let mut g = lock(&self.inner);
        if g.stage != Stage::Finished {
            let id = g.next_link;
            g.next_link += 1;
            g.links.push((id, f));
            return Some(id);
        }
        drop(g);
        self.read(|v| {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(v)));
        });
        None
    }

    /// Takes the link `id` off the queue if it has not run yet; returns
    /// whether it was there. The callback is dropped outside the lock.
    pub fn unlink(&self, id: u64) -> bool {
        let removed = {
            let mut g = lock(&self.inner);
            let at = g.links.iter().position(|(i, _)| *i == id);
            at.map(|at| g.links.remove(at))
        };
        removed.is_some()
    }

    /// Whether the outcome is in and every link has run.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Queues `w` to be unparked at `Finished`; `None` if already finished.
    pub fn add_waiter(&self, w: W) -> Option<Ticket> {
        let mut g = lock(&self.inner);
        if g.stage == Stage::Finished {
            return None;
        }
        Some(g.waiters.push(w, ()))
    }

    /// The waiter of `ticket` is done waiting (finished or not): it leaves
    /// the list, or forgets the notification handed to it.
    pub fn remove_waiter(&self, ticket: Ticket) {
        let _ = lock(&self.inner).waiters.cancel(ticket);
    }

    /// Calls `f` with the outcome if finished (or linking: the finisher's
    /// own reads).
    fn read<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        // SAFETY: called only after the single write (see the module docs),
        // and never concurrently with `take`.
        self.outcome.with(|p| unsafe { (*p).as_ref() }).map(f)
    }

    /// Calls `f` with the outcome, if it has finished.
    pub fn inspect<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        if self.is_finished() {
            self.read(f)
        } else {
            None
        }
    }

    /// The outcome, if it has finished, borrowed for as long as `self`.
    /// Sound because the outcome is written once before `finished`, and
    /// only [`take`](Self::take) moves it, whose caller promises that no
    /// other party can read it (so no borrow from here is alive).
    pub fn get(&self) -> Option<&T> {
        if !self.is_finished() {
            return None;
        }
        // SAFETY: finished, so the single write happened before (Acquire on
        // `finished`); `take`'s contract excludes overlapping borrows.
        self.outcome.with(|p| unsafe { (*p).as_ref() })
    }

    /// Moves the outcome out, if it has finished.
    ///
    /// # Safety
    /// The caller must be the only party that can still read the outcome
    /// (for `Greenlet`, `join` consumes the only handle).
    pub unsafe fn take(&self) -> Option<T> {
        if !self.is_finished() {
            return None;
        }
        // SAFETY: finished, so the finisher is done with it; exclusivity is
        // the caller's contract.
        self.outcome.with_mut(|p| unsafe { (*p).take() })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A waiter that counts how often it was woken.
    struct Counted(Arc<AtomicUsize>);

    impl Unpark for Counted {
        fn unpark(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> Arc<AtomicUsize> {
        Arc::new(AtomicUsize::new(0))
    }

    /// A link that adds `n` to `ran` when it runs.
    fn adds(ran: &Arc<AtomicUsize>, n: usize) -> Link<u32> {
        let ran = ran.clone();
        Box::new(move |_| {
            ran.fetch_add(n, Ordering::SeqCst);
        })
    }

    #[test]
    fn each_link_has_its_own_id_and_unlink_removes_only_that_one() {
        let c: Completion<u32, Counted> = Completion::new();
        let ran = counter();
        let first = c.link(adds(&ran, 1)).expect("queued");
        let second = c.link(adds(&ran, 10)).expect("queued");
        assert_ne!(first, second);
        assert!(c.unlink(first));
        assert!(!c.unlink(first), "a link is removed once");
        c.complete(5);
        assert_eq!(ran.load(Ordering::SeqCst), 10, "only the second ran");
        assert!(!c.unlink(second), "it ran: nothing left to remove");
        // Linked after the end: runs now, no id.
        assert_eq!(c.link(adds(&ran, 100)), None);
        assert_eq!(ran.load(Ordering::SeqCst), 110);
    }

    #[test]
    fn a_removed_waiter_is_not_woken_and_the_others_are() {
        let c: Completion<u32, Counted> = Completion::new();
        let (gone, stays) = (counter(), counter());
        let ticket = c.add_waiter(Counted(gone.clone())).expect("not finished");
        c.remove_waiter(ticket);
        c.add_waiter(Counted(stays.clone())).expect("not finished");
        c.complete(1);
        assert_eq!(gone.load(Ordering::SeqCst), 0);
        assert_eq!(stays.load(Ordering::SeqCst), 1);
        assert!(
            c.add_waiter(Counted(counter())).is_none(),
            "already finished"
        );
    }

    #[test]
    fn the_outcome_is_seen_only_once_finished() {
        let c: Completion<u32, Counted> = Completion::new();
        assert!(!c.is_finished());
        assert_eq!(c.inspect(|v| *v), None);
        assert_eq!(c.get(), None);
        c.complete(7);
        assert!(c.is_finished());
        assert_eq!(c.inspect(|v| *v + 1), Some(8));
        assert_eq!(c.get(), Some(&7));
        // SAFETY: this test holds the only reference.
        assert_eq!(unsafe { c.take() }, Some(7));
    }
}
