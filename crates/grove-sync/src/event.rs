//! [`Event`]: a flag that green threads wait to see set.
//!
//! # State
//!
//! `set` and a wait list, under one mutex. `set()` raises the flag and hands a
//! notification to every waiter at once, so each of them returns true even if
//! the flag is cleared again before it runs. A waiter whose timeout passes as
//! it is notified keeps the notification (it returns true): `set` wakes
//! everyone, so there is nobody to pass it on to.

use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

use grove_core::Thread;

use grove_core::{ObjectId, WaitReason};

use crate::block::{deadline, now_or_wait, Now, Outcome, Waited};
use crate::sync::{lock, Mutex};
use crate::wait::WaitList;

/// An event's state, generic over the waker so the loom models can drive it
/// with their own.
#[derive(Debug)]
pub struct EventState<W> {
    /// The flag.
    pub set: bool,
    /// Waiters, in order.
    pub waiters: WaitList<(), (), W>,
    /// Async tasks and `grove::wait` callers waiting for the flag, woken
    /// by their `Waker`s along with the waiters.
    pub tasks: WaitList<(), (), Waker>,
}

impl<W> EventState<W> {
    /// A lowered flag and nobody waiting.
    pub fn new() -> Self {
        EventState {
            set: false,
            waiters: WaitList::new(),
            tasks: WaitList::new(),
        }
    }

    /// Raises the flag and hands a notification to every waiter; returns
    /// their wakers, to unpark after unlocking.
    pub fn raise(&mut self) -> Vec<W> {
        self.set = true;
        // A weakened build (loom only) raises the flag but wakes nobody.
        if cfg!(grove_loom_weaken = "event_raise_no_hand") {
            return Vec::new();
        }
        self.waiters.hand_all(|()| ())
    }
}

impl<W> Default for EventState<W> {
    fn default() -> Self {
        Self::new()
    }
}

type State = EventState<Thread>;

fn waiters(s: &mut State) -> &mut WaitList<(), (), Thread> {
    &mut s.waiters
}

fn keep(_: &mut State, (): ()) -> Result<Option<Thread>, ()> {
    Err(())
}

/// gevent's `Event`: `set` wakes every waiter; `wait` returns at once while
/// the flag is set; `clear` lowers it. Waiters are woken in FIFO order.
/// Works from green threads on any hub and from plain OS threads.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let ready = Arc::new(grove::Event::new());
/// let r = ready.clone();
/// let waiter = grove::spawn(move || r.wait());
/// ready.set();
/// waiter.join().unwrap();
/// assert!(ready.is_set());
/// ```
pub struct Event {
    state: Mutex<State>,
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Event")
            .field("set", &s.set)
            .field("waiting", &s.waiters.len())
            .finish()
    }
}

impl Event {
    /// An event whose flag is not set.
    ///
    /// ```
    /// assert!(!grove::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            state: Mutex::new(State::new()),
        }
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// ```
    /// let e = grove::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        let (wakers, tasks) = {
            let mut s = lock(&self.state);
            let wakers = s.raise();
            (wakers, s.tasks.hand_all(|()| ()))
        };
        for w in wakers {
            w.unpark();
        }
        for t in tasks {
            t.wake();
        }
    }

    /// A future that completes once the flag is set, for async code: an
    /// executor's task waits without blocking its thread. If the flag is
    /// cleared again before the task looks, it goes on waiting.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let e = Arc::new(grove::Event::new());
    /// let e2 = e.clone();
    /// grove::spawn(move || e2.set());
    /// grove::block_on(e.wait_async());
    /// assert!(e.is_set());
    /// ```
    pub fn wait_async(&self) -> grove_core::WhenReady<'_, Self> {
        grove_core::when_ready(self)
    }

    /// Lowers the flag.
    ///
    /// ```
    /// let e = grove::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        lock(&self.state).set = false;
    }

    /// Whether the flag is set.
    ///
    /// ```
    /// assert!(!grove::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        lock(&self.state).set
    }

    /// Waits until the flag is set.
    ///
    /// ```
    /// let e = grove::Event::new();
    /// e.set();
    /// e.wait(); // returns at once
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; true if the flag was set (gevent returns
    /// false while it stays unset).
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = grove::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let now = |s: &mut State| if s.set { Now::Done(()) } else { Now::Wait(()) };
        matches!(
            now_or_wait(
                &self.state,
                WaitReason::Event {
                    event: ObjectId::of(&self.state)
                },
                deadline,
                now,
                waiters,
                keep
            ),
            Outcome::Now(()) | Outcome::Waited(Waited::Handed(()))
        )
    }
}

impl grove_core::Waitable for Event {
    fn is_ready(&self) -> bool {
        self.is_set()
    }
    fn add_waker(&self, waker: Waker) -> Option<grove_core::wait::Ticket> {
        let mut s = lock(&self.state);
        if s.set {
            return None;
        }
        Some(s.tasks.push(waker, ()))
    }
    fn remove_waker(&self, ticket: grove_core::wait::Ticket) {
        let _ = lock(&self.state).tasks.cancel(ticket);
    }
}
