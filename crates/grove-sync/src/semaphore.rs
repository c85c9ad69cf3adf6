//! [`Semaphore`] and [`BoundedSemaphore`]: counting semaphores whose waiters
//! are served in FIFO order.
//!
//! # State
//!
//! `permits` (free permits) and a wait list, under one mutex. Invariant: if
//! anyone waits, `permits` is 0, because a release hands its permit straight
//! to the first waiter instead of adding it to `permits`. An acquirer that
//! times out or is killed at the moment a permit is handed to it passes the
//! permit on (to the next waiter, or back to `permits`): no permit is lost.
//!
//! A second list, `watchers`, holds callers of `wait` (gevent's
//! `Semaphore.wait`): they wait for a permit to be free without taking it.
//! They never stand in an acquirer's way: a permit goes to the first
//! acquirer in line if there is one, and only a permit that lands in
//! `permits` wakes a watcher. It wakes the first; each watcher that finds a
//! permit free wakes the next (a cascade), so one wakeup per watcher and no
//! list of wakers to build under the lock. A watcher that finds the permit
//! gone again (taken by a `try_acquire`) goes back to waiting.

use std::fmt;
use std::time::{Duration, Instant};

use grove_core::Thread;

use grove_core::{ObjectId, WaitReason};

use crate::block::{deadline, now_or_wait, Now, Outcome, Waited};
use crate::sync::{lock, Mutex};
use crate::wait::WaitList;

/// A semaphore's state, generic over the waker so the loom models can drive
/// it with their own.
#[derive(Debug)]
pub struct SemState<W> {
    /// Free permits.
    pub permits: usize,
    /// Acquirers waiting, in order.
    pub waiters: WaitList<(), (), W>,
    /// Callers of `wait`, waiting for a free permit without taking one;
    /// each is handed `()` to look again.
    pub watchers: WaitList<(), (), W>,
}

impl<W> SemState<W> {
    /// A state with `permits` free permits and nobody waiting.
    pub fn new(permits: usize) -> Self {
        SemState {
            permits,
            waiters: WaitList::new(),
            watchers: WaitList::new(),
        }
    }

    /// Takes a permit if one is free and nobody is ahead in line.
    pub fn try_take(&mut self) -> bool {
        if self.permits > 0 && self.waiters.is_empty() {
            self.permits -= 1;
            true
        } else {
            false
        }
    }

    /// Returns a permit: to the first waiter (whose waker is returned, to be
    /// unparked after unlocking), or to the free count, which wakes the
    /// first watcher (its waker is returned).
    pub fn give(&mut self) -> Option<W> {
        match self.waiters.hand_first(()) {
            Ok((waker, ())) => Some(waker),
            Err(()) => {
                self.permits += 1;
                self.wake_watcher()
            }
        }
    }

    /// An acquirer that gave up just as a permit was handed to it passes
    /// the permit on, as [`give`](SemState::give) does (`wait_loop`'s
    /// pass-on for `waiters`).
    // The shape every pass-on has (`block::PassOn`); a permit is `()`.
    #[allow(clippy::result_unit_err)]
    pub fn pass_on(&mut self, (): ()) -> Result<Option<W>, ()> {
        Ok(self.give())
    }

    /// Whether a permit is free for the taking: one is free and no acquirer
    /// is ahead in line.
    pub fn available(&self) -> bool {
        self.permits > 0 && self.waiters.is_empty()
    }

    /// Hands the first watcher a look (its waker is returned), if a permit
    /// is available.
    pub fn wake_watcher(&mut self) -> Option<W> {
        if !self.available() {
            return None;
        }
        self.watchers.hand_first(()).ok().map(|(waker, ())| waker)
    }
}

/// A counting semaphore (gevent's `Semaphore`): `acquire` blocks while no
/// permit is free; `release` returns one. Waiters are served in FIFO order.
/// Works from green threads on any hub and from plain OS threads.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(grove::Semaphore::new(2));
/// let gs: Vec<_> = (0..10).map(|_| {
///     let sem = sem.clone();
///     grove::spawn(move || {
///         let _permit = sem.acquire_guard(); // at most 2 inside at once
///         grove::sleep(std::time::Duration::from_millis(1));
///     })
/// }).collect();
/// gs.into_iter().for_each(|g| g.join().unwrap());
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct Semaphore {
    state: Mutex<SemState<Thread>>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &s.permits)
            .field("watching", &s.watchers.len())
            .field("waiting", &s.waiters.len())
            .finish()
    }
}

fn waiters(s: &mut SemState<Thread>) -> &mut WaitList<(), (), Thread> {
    &mut s.waiters
}

fn watchers(s: &mut SemState<Thread>) -> &mut WaitList<(), (), Thread> {
    &mut s.watchers
}

/// A watcher that gave up as it was handed a look passes the look on.
fn pass_look_on(s: &mut SemState<Thread>, (): ()) -> Result<Option<Thread>, ()> {
    Ok(s.wake_watcher())
}

impl Semaphore {
    /// A semaphore with `permits` free permits (0 is allowed).
    ///
    /// ```
    /// let sem = grove::Semaphore::new(0);
    /// assert!(!sem.try_acquire());
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(SemState::new(permits)),
        }
    }

    /// Takes a permit, waiting (in line) until one is free.
    ///
    /// ```
    /// let sem = grove::Semaphore::new(1);
    /// sem.acquire();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release();
    /// ```
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes a permit if one is free now (and nobody is waiting).
    ///
    /// ```
    /// let sem = grove::Semaphore::new(1);
    /// assert!(sem.try_acquire());
    /// assert!(!sem.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        lock(&self.state).try_take()
    }

    /// Takes a permit, waiting at most `timeout`; true if it got one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = grove::Semaphore::new(0);
    /// assert!(!sem.acquire_timeout(Duration::from_millis(5)));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(deadline(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        let now = |s: &mut SemState<Thread>| {
            if s.try_take() {
                Now::Done(())
            } else {
                Now::Wait(())
            }
        };
        matches!(
            now_or_wait(
                &self.state,
                WaitReason::Semaphore {
                    semaphore: ObjectId::of(&self.state)
                },
                deadline,
                now,
                waiters,
                SemState::pass_on
            ),
            Outcome::Now(()) | Outcome::Waited(Waited::Handed(()))
        )
    }

    /// Waits until a permit is free, without taking it (gevent's
    /// `Semaphore.wait`). It does not stand in line: while acquirers wait,
    /// the permits released go to them, and this keeps waiting. The permit
    /// is not reserved, so an `acquire` after it may still wait.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(grove::Semaphore::new(0));
    /// let s = sem.clone();
    /// let watcher = grove::spawn(move || {
    ///     s.wait();
    ///     s.available_permits()
    /// });
    /// sem.release();
    /// assert_eq!(watcher.join().unwrap(), 1); // it saw the permit, left it there
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Like [`wait`](Semaphore::wait), waiting at most `timeout`; true if a
    /// permit is free.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = grove::Semaphore::new(1);
    /// assert!(sem.wait_timeout(Duration::from_millis(5)));
    /// sem.acquire();
    /// assert!(!sem.wait_timeout(Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        // Seeing a permit free, wake the next watcher to see it too.
        let now = |s: &mut SemState<Thread>| {
            if s.available() {
                Now::Done(s.wake_watcher())
            } else {
                Now::Wait(())
            }
        };
        loop {
            match now_or_wait(
                &self.state,
                WaitReason::Semaphore {
                    semaphore: ObjectId::of(&self.state),
                },
                deadline,
                now,
                watchers,
                pass_look_on,
            ) {
                Outcome::Now(next) => {
                    if let Some(w) = next {
                        w.unpark();
                    }
                    return true;
                }
                // Handed a look: look again (the permit may be gone).
                Outcome::Waited(Waited::Handed(())) => {}
                Outcome::Waited(Waited::TimedOut(()) | Waited::PassedOn) => return false,
            }
        }
    }

    /// Returns a permit, waking the first waiter if any.
    ///
    /// ```
    /// let sem = grove::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn release(&self) {
        let waker = lock(&self.state).give();
        if let Some(w) = waker {
            w.unpark();
        }
    }

    /// Free permits right now.
    ///
    /// ```
    /// assert_eq!(grove::Semaphore::new(3).available_permits(), 3);
    /// ```
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Takes a permit (waiting as [`acquire`](Semaphore::acquire) does) and
    /// returns a guard that releases it when dropped.
    ///
    /// ```
    /// let sem = grove::Semaphore::new(1);
    /// {
    ///     let _g = sem.acquire_guard();
    ///     assert_eq!(sem.available_permits(), 0);
    /// }
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn acquire_guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { sem: self }
    }
}

/// Releases one permit of its [`Semaphore`] when dropped.
///
/// ```
/// let sem = grove::Semaphore::new(1);
/// let g = sem.acquire_guard();
/// drop(g);
/// assert!(sem.try_acquire());
/// ```
#[must_use = "the permit is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.sem.release();
    }
}

/// A [`Semaphore`] that refuses to be released above its initial count
/// (gevent's `BoundedSemaphore`).
///
/// # Example
///
/// ```
/// let sem = grove::BoundedSemaphore::new(1);
/// assert!(sem.release().is_err()); // nobody holds a permit
/// sem.acquire();
/// assert!(sem.release().is_ok());
/// ```
#[derive(Debug)]
pub struct BoundedSemaphore {
    inner: Semaphore,
    max: usize,
}

/// Releasing a [`BoundedSemaphore`] that is already at its initial count.
///
/// ```
/// let e = grove::BoundedSemaphore::new(2).release().unwrap_err();
/// assert_eq!(e.to_string(), "released a bounded semaphore above its initial count of 2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleasedTooMany {
    /// The semaphore's initial (and largest) count.
    pub max: usize,
}

impl fmt::Display for ReleasedTooMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "released a bounded semaphore above its initial count of {}",
            self.max
        )
    }
}

impl std::error::Error for ReleasedTooMany {}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its bound.
    ///
    /// ```
    /// assert_eq!(grove::BoundedSemaphore::new(4).available_permits(), 4);
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Semaphore::new(permits),
            max: permits,
        }
    }

    /// See [`Semaphore::acquire`].
    ///
    /// ```
    /// let s = grove::BoundedSemaphore::new(1);
    /// s.acquire();
    /// s.release().unwrap();
    /// ```
    pub fn acquire(&self) {
        self.inner.acquire();
    }

    /// See [`Semaphore::try_acquire`].
    ///
    /// ```
    /// assert!(grove::BoundedSemaphore::new(1).try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        self.inner.try_acquire()
    }

    /// See [`Semaphore::acquire_timeout`].
    ///
    /// ```
    /// let s = grove::BoundedSemaphore::new(0);
    /// assert!(!s.acquire_timeout(std::time::Duration::from_millis(1)));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.inner.acquire_timeout(timeout)
    }

    /// See [`Semaphore::wait`].
    ///
    /// ```
    /// let s = grove::BoundedSemaphore::new(1);
    /// s.wait(); // a permit is free: returns at once, leaving it free
    /// assert_eq!(s.available_permits(), 1);
    /// ```
    pub fn wait(&self) {
        self.inner.wait();
    }

    /// See [`Semaphore::wait_timeout`].
    ///
    /// ```
    /// let s = grove::BoundedSemaphore::new(1);
    /// s.acquire();
    /// assert!(!s.wait_timeout(std::time::Duration::from_millis(1)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner.wait_timeout(timeout)
    }

    /// Returns a permit; an error if that would exceed the initial count.
    ///
    /// ```
    /// let s = grove::BoundedSemaphore::new(1);
    /// assert!(s.release().is_err());
    /// ```
    pub fn release(&self) -> Result<(), ReleasedTooMany> {
        let waker = {
            let mut s = lock(&self.inner.state);
            if s.waiters.is_empty() && s.permits >= self.max {
                return Err(ReleasedTooMany { max: self.max });
            }
            s.give()
        };
        if let Some(w) = waker {
            w.unpark();
        }
        Ok(())
    }

    /// Free permits right now.
    ///
    /// ```
    /// assert_eq!(grove::BoundedSemaphore::new(2).available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }
}
