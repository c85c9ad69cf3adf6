//! [`AsyncResult`]: a value or an error, set once, that any number of green
//! threads wait for.
//!
//! # State
//!
//! `value` (`None` until set) and a wait list, under one mutex. The first
//! `set`/`set_error` stores the outcome and hands a notification to every
//! waiter at once; later ones are refused and get their value back. A waiter
//! woken by the notification reads (clones) the stored outcome. A waiter whose
//! timeout passes as it is notified keeps the notification and returns the
//! outcome: `set` wakes everyone, so there is nobody to pass it on to.

use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

use grove_core::Thread;

use grove_core::{ObjectId, WaitReason};

use crate::block::{deadline, now_or_wait, Now, Outcome, Waited};
use crate::sync::{lock, Mutex};
use crate::wait::WaitList;

/// A result's state, generic over the waker so the loom models can drive it
/// with their own.
#[derive(Debug)]
pub struct ResultState<T, E, W> {
    /// The outcome, once set.
    pub value: Option<Result<T, E>>,
    /// Waiters, in order.
    pub waiters: WaitList<(), (), W>,
    /// Async tasks and `grove::wait` callers waiting for the outcome, woken
    /// by their `Waker`s along with the waiters.
    pub tasks: WaitList<(), (), Waker>,
}

impl<T, E, W> ResultState<T, E, W> {
    /// Not set, nobody waiting.
    pub fn new() -> Self {
        ResultState {
            value: None,
            waiters: WaitList::new(),
            tasks: WaitList::new(),
        }
    }

    /// Stores `outcome` and hands a notification to every waiter; returns
    /// their wakers, to unpark after unlocking. The caller has checked that
    /// nothing is stored yet.
    pub fn store(&mut self, outcome: Result<T, E>) -> Vec<W> {
        debug_assert!(self.value.is_none(), "an AsyncResult is set once");
        self.value = Some(outcome);
        // A weakened build (loom only) stores the value but wakes nobody.
        if cfg!(grove_loom_weaken = "result_store_no_hand") {
            return Vec::new();
        }
        self.waiters.hand_all(|()| ())
    }
}

impl<T, E, W> Default for ResultState<T, E, W> {
    fn default() -> Self {
        Self::new()
    }
}

/// A second `set` or `set_error` on an [`AsyncResult`]; holds the value that
/// was refused.
///
/// ```
/// let r = grove::AsyncResult::<u8, ()>::new();
/// r.set(1).unwrap();
/// let e = r.set(2).unwrap_err();
/// assert_eq!(e.0, 2);
/// assert_eq!(e.to_string(), "the result was already set");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AlreadySet<V>(pub V);

impl<V> fmt::Debug for AlreadySet<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AlreadySet(..)")
    }
}

impl<V> fmt::Display for AlreadySet<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the result was already set")
    }
}

impl<V> std::error::Error for AlreadySet<V> {}

type State<T, E> = ResultState<T, E, Thread>;

/// gevent's `AsyncResult`: one green thread (or OS thread) sets a value or
/// an error, once; every waiter, before or after, gets a clone of it.
/// Waiters are woken in FIFO order.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let answer = Arc::new(grove::AsyncResult::<u32, String>::new());
/// let waiters: Vec<_> = (0..3).map(|_| {
///     let a = answer.clone();
///     grove::spawn(move || a.get())
/// }).collect();
/// answer.set(42).unwrap();
/// for w in waiters {
///     assert_eq!(w.join().unwrap(), Ok(42));
/// }
/// ```
pub struct AsyncResult<T, E> {
    state: Mutex<State<T, E>>,
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("AsyncResult")
            .field("ready", &s.value.is_some())
            .field("successful", &matches!(s.value, Some(Ok(_))))
            .field("waiting", &s.waiters.len())
            .finish()
    }
}

fn waiters<T, E>(s: &mut State<T, E>) -> &mut WaitList<(), (), Thread> {
    &mut s.waiters
}

fn keep<T, E>(_: &mut State<T, E>, (): ()) -> Result<Option<Thread>, ()> {
    Err(())
}

impl<T, E> AsyncResult<T, E> {
    /// A result not set yet.
    ///
    /// ```
    /// assert!(!grove::AsyncResult::<(), ()>::new().ready());
    /// ```
    pub fn new() -> Self {
        AsyncResult {
            state: Mutex::new(State::new()),
        }
    }

    /// Sets the value and wakes every waiter. An error (with `value` back)
    /// if it was already set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<&str, ()>::new();
    /// r.set("done").unwrap();
    /// assert!(r.set("again").is_err());
    /// ```
    pub fn set(&self, value: T) -> Result<(), AlreadySet<T>> {
        self.store(value, Ok)
    }

    /// Sets an error, which every waiter gets, and wakes them. An error
    /// (with `error` back) if it was already set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<(), &str>::new();
    /// r.set_error("no route").unwrap();
    /// assert_eq!(r.get(), Err("no route"));
    /// ```
    pub fn set_error(&self, error: E) -> Result<(), AlreadySet<E>> {
        self.store(error, Err)
    }

    fn store<V>(&self, v: V, outcome: fn(V) -> Result<T, E>) -> Result<(), AlreadySet<V>> {
        let (wakers, tasks) = {
            let mut s = lock(&self.state);
            if s.value.is_some() {
                return Err(AlreadySet(v));
            }
            let wakers = s.store(outcome(v));
            (wakers, s.tasks.hand_all(|()| ()))
        };
        for w in wakers {
            w.unpark();
        }
        for t in tasks {
            t.wake();
        }
        Ok(())
    }

    /// Whether a value or an error is set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// r.set(1).unwrap();
    /// assert!(r.ready());
    /// ```
    pub fn ready(&self) -> bool {
        lock(&self.state).value.is_some()
    }

    /// Whether a value (not an error) is set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// r.set_error(()).unwrap();
    /// assert!(r.ready() && !r.successful());
    /// ```
    pub fn successful(&self) -> bool {
        matches!(lock(&self.state).value, Some(Ok(_)))
    }

    /// Waits until it is set (without taking the value).
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// r.set(1).unwrap();
    /// r.wait();
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; true if it is set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// assert!(!r.wait_timeout(std::time::Duration::from_millis(1)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let now = |s: &mut State<T, E>| {
            if s.value.is_some() {
                Now::Done(())
            } else {
                Now::Wait(())
            }
        };
        matches!(
            now_or_wait(
                &self.state,
                WaitReason::AsyncResult {
                    result: ObjectId::of(&self.state)
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

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// Waits until it is set and returns a clone of the value or the error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let r = Arc::new(grove::AsyncResult::<u8, ()>::new());
    /// let r2 = r.clone();
    /// grove::spawn(move || r2.set(7).unwrap());
    /// assert_eq!(r.get(), Ok(7));
    /// ```
    pub fn get(&self) -> Result<T, E> {
        self.wait();
        self.read().expect("set once, never unset")
    }

    /// Like [`get`](AsyncResult::get), waiting at most `timeout`; `None` if
    /// it is still not set.
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// assert_eq!(r.get_timeout(std::time::Duration::from_millis(1)), None);
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        self.wait_timeout(timeout);
        self.read()
    }

    /// The value or the error if set, without waiting (gevent's
    /// `get_nowait`).
    ///
    /// ```
    /// let r = grove::AsyncResult::<u8, ()>::new();
    /// assert_eq!(r.try_get(), None);
    /// r.set(3).unwrap();
    /// assert_eq!(r.try_get(), Some(Ok(3)));
    /// ```
    pub fn try_get(&self) -> Option<Result<T, E>> {
        self.read()
    }

    fn read(&self) -> Option<Result<T, E>> {
        lock(&self.state).value.clone()
    }
}

impl<T, E> grove_core::Waitable for AsyncResult<T, E> {
    fn is_ready(&self) -> bool {
        self.ready()
    }
    fn add_waker(&self, waker: Waker) -> Option<grove_core::wait::Ticket> {
        let mut s = lock(&self.state);
        if s.value.is_some() {
            return None;
        }
        Some(s.tasks.push(waker, ()))
    }
    fn remove_waker(&self, ticket: grove_core::wait::Ticket) {
        let _ = lock(&self.state).tasks.cancel(ticket);
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// A future of the outcome, for async code (the async form of
    /// [`get`](AsyncResult::get)): an executor's task waits without
    /// blocking its thread, then gets a clone of the value or the error.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let r = Arc::new(grove::AsyncResult::<u32, ()>::new());
    /// let r2 = r.clone();
    /// grove::spawn(move || r2.set(9).unwrap());
    /// assert_eq!(grove::block_on(r.get_async()), Ok(9));
    /// ```
    pub async fn get_async(&self) -> Result<T, E> {
        grove_core::when_ready(self).await;
        let s = lock(&self.state);
        s.value.clone().expect("ready means set")
    }
}
