//! A hub's inbox: where green threads bound to this hub arrive when they are
//! woken (or spawned) anywhere else, and the handshake that makes such a wake
//! reach the hub even while it is going to sleep.
//!
//! # State
//!
//! * `queue`: a FIFO under a mutex. Pushed by any thread, drained only by the
//!   owning hub (in one lock for everything waiting).
//! * `len`: the queue's length, kept under the lock and readable without it,
//!   so a hub can look at an empty inbox with one load.
//! * `sleeping`: whether the owning hub is in (or about to enter) its
//!   driver's `park`.
//!
//! # Transitions
//!
//! | method | by | what |
//! |---|---|---|
//! | [`push`](Inbox::push) | a waker | lock, append, `len += 1`, unlock; `fence(SeqCst)`; read `sleeping`: if set, the caller must unpark the hub's driver |
//! | [`drain_into`](Inbox::drain_into) | the hub | if `len` is not 0: lock, move everything out, `len = 0` |
//! | [`begin_sleep`](Inbox::begin_sleep) | the hub | `sleeping = true`; `fence(SeqCst)`; read `len`: the hub may park only if it is 0 |
//! | [`end_sleep`](Inbox::end_sleep) | the hub | `sleeping = false` |
//!
//! # Why a wake is never lost
//!
//! A waker does *append; fence; read `sleeping`*; the hub does *write
//! `sleeping`; fence; read `len`*. Under `SeqCst` fences one of the two reads
//! sees the other's write: either the hub sees the item and does not park, or
//! the waker sees `sleeping` and unparks the driver, whose token outlives a
//! park that has not started yet. A waker that reads `sleeping` as false
//! while the hub is awake leaves the item for the hub's next look at its
//! queues. The loom model `loom_wake.rs` checks this on this very code,
//! together with the park word (`park.rs`), so that a started green thread
//! woken from another hub and from an OS thread at once reaches its hub
//! exactly once; a build with `--cfg grove_loom_weaken="inbox_skip_recheck"`
//! lets the hub park without reading `len` after it set `sleeping`, and the
//! model finds the lost wakeup.

use std::collections::VecDeque;

use crate::sync::{fence, lock, AtomicBool, AtomicUsize, Mutex, Ordering};

const RECHECK: bool = !cfg!(grove_loom_weaken = "inbox_skip_recheck");

/// One hub's inbox. See the module documentation for the protocol.
#[derive(Debug)]
pub struct Inbox<T> {
    queue: Mutex<VecDeque<T>>,
    len: AtomicUsize,
    sleeping: AtomicBool,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Inbox<T> {
    /// An empty inbox of an awake hub.
    pub fn new() -> Self {
        Inbox {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
        }
    }

    /// A waker: queue `item`. Returns true if the hub may be asleep: the
    /// caller must then unpark its driver.
    #[must_use = "a true result obliges the caller to unpark the hub"]
    pub fn push(&self, item: T) -> bool {
        {
            let mut q = lock(&self.queue);
            q.push_back(item);
            self.len.store(q.len(), Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
        self.sleeping.load(Ordering::SeqCst)
    }

    /// Whether nothing waits (a hint for the owning hub; exact under the
    /// handshake of [`begin_sleep`](Inbox::begin_sleep)).
    pub fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// The owning hub: move everything waiting to the back of `into`, in
    /// order. Returns how many.
    pub fn drain_into(&self, into: &mut VecDeque<T>) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut q = lock(&self.queue);
        let n = q.len();
        into.extend(q.drain(..));
        self.len.store(0, Ordering::Relaxed);
        n
    }

    /// The owning hub, before it parks its driver: returns true if it may
    /// park (nothing waits, and every later push will unpark it).
    #[must_use = "the hub may park only if this returns true"]
    pub fn begin_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !RECHECK || self.len.load(Ordering::SeqCst) == 0
    }

    /// The owning hub is awake again.
    pub fn end_sleep(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}
