//! A hub's inbox: where green threads bound to this hub arrive when they are
//! woken (or spawned) anywhere else, and the handshake that makes such a wake
//! reach the hub even while it is going to sleep.
//!
//! # State
//!
//! * `queue`: a `crossbeam_deque::Injector` (a lock-free FIFO; `deque.rs`). Pushed by any
//!   thread, drained only by the owning hub (everything waiting at once).
//! * `sleeping`: whether the owning hub is in (or about to enter) its
//!   driver's `park`.
//!
//! # Transitions
//!
//! | method | by | what |
//! |---|---|---|
//! | [`push`](Inbox::push) | a waker | append; `fence(SeqCst)`; read `sleeping`: if set, the caller must unpark the hub's driver |
//! | [`drain_into`](Inbox::drain_into) | the hub | take everything waiting, in order |
//! | [`begin_sleep`](Inbox::begin_sleep) | the hub | `sleeping = true`; `fence(SeqCst)`; look at the queue: the hub may park only if it is empty |
//! | [`end_sleep`](Inbox::end_sleep) | the hub | `sleeping = false` |
//!
//! # Why a wake is never lost
//!
//! A waker does *append; fence; read `sleeping`*; the hub does *write
//! `sleeping`; fence; look at the queue*. Under `SeqCst` fences one of the two reads
//! sees the other's write: either the hub sees the item and does not park, or
//! the waker sees `sleeping` and unparks the driver, whose token outlives a
//! park that has not started yet. A waker that reads `sleeping` as false
//! while the hub is awake leaves the item for the hub's next look at its
//! queues. The loom model `bound_wake_from_another_hub_and_an_os_thread_reaches_home_once`
//! (`tests/loom_handoff.rs`) checks this on this very code, together with
//! the park word (`park.rs`) and the hub's sleep (`handoff.rs`), so that a
//! started green thread woken from another hub and from an OS thread at once
//! reaches its hub exactly once (the queue is the loom build of `deque.rs`:
//! one locked step per push or take); a build with
//! `--cfg grove_loom_weaken="inbox_skip_recheck"`
//! lets the hub park without looking at the queue after it set `sleeping`,
//! and the model finds the lost wakeup.

use std::collections::VecDeque;

use crate::deque::{Injector, Steal};
use crate::sync::{fence, AtomicBool, Ordering};

const RECHECK: bool = !cfg!(grove_loom_weaken = "inbox_skip_recheck");

/// One hub's inbox. See the module documentation for the protocol.
pub struct Inbox<T> {
    queue: Injector<T>,
    sleeping: AtomicBool,
}

impl<T> std::fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("empty", &self.queue.is_empty())
            .finish_non_exhaustive()
    }
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Inbox<T> {
    /// How many items wait in it (a moment's count, for snapshots).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// An empty inbox of an awake hub.
    pub fn new() -> Self {
        Inbox {
            queue: Injector::new(),
            sleeping: AtomicBool::new(false),
        }
    }

    /// A waker: queue `item`. Returns true if the hub may be asleep: the
    /// caller must then unpark its driver.
    #[must_use = "a true result obliges the caller to unpark the hub"]
    pub fn push(&self, item: T) -> bool {
        self.queue.push(item);
        fence(Ordering::SeqCst);
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Whether nothing waits (a hint for the owning hub; exact under the
    /// handshake of [`begin_sleep`](Inbox::begin_sleep)).
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The owning hub: move everything waiting to the back of `into`, in
    /// order. Returns how many.
    pub fn drain_into(&self, into: &mut VecDeque<T>) -> usize {
        let mut n = 0;
        while !self.queue.is_empty() {
            match self.queue.steal() {
                Steal::Success(t) => {
                    into.push_back(t);
                    n += 1;
                }
                Steal::Empty => break,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
        n
    }

    /// The owning hub, before it parks its driver: returns true if it may
    /// park (nothing waits, and every later push will unpark it).
    #[must_use = "the hub may park only if this returns true"]
    pub fn begin_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !RECHECK || self.queue.is_empty()
    }

    /// The owning hub is awake again.
    pub fn end_sleep(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn drain_moves_everything_in_order_and_counts_it() {
        let inbox = Inbox::new();
        assert!(inbox.is_empty());
        assert_eq!(inbox.len(), 0);
        for i in 1..=3 {
            assert!(!inbox.push(i), "an awake hub needs no unpark");
        }
        assert!(!inbox.is_empty());
        assert_eq!(inbox.len(), 3);
        assert!(format!("{inbox:?}").starts_with("Inbox"));
        let mut into = VecDeque::from([0]);
        assert_eq!(inbox.drain_into(&mut into), 3);
        assert_eq!(into, [0, 1, 2, 3]);
        assert!(inbox.is_empty());
        assert_eq!(inbox.drain_into(&mut into), 0);
    }

    #[test]
    fn a_push_to_a_sleeping_hub_asks_for_an_unpark() {
        let inbox = Inbox::new();
        assert!(inbox.begin_sleep(), "empty: the hub may park");
        assert!(inbox.push(1), "asleep: the pusher must unpark it");
        assert!(!inbox.begin_sleep(), "not empty: the hub must not park");
        inbox.end_sleep();
        assert!(!inbox.push(2), "awake again");
    }
}
