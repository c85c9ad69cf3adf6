//! [`Timeout`]: a deadline for a block of code (gevent's `Timeout`), and
//! [`with_timeout`].
//!
//! # How it works
//!
//! Every thread of control (a green thread, or a plain OS thread that blocks
//! through grove) keeps the list of its active timeouts, outermost first.
//! Only that thread of control reads or changes its list, so a timeout needs
//! no timer of its own and nothing crosses threads: at every blocking point
//! (`thread::block`) the park's deadline is capped at the earliest active
//! timeout, and when the park ends with that deadline passed, the blocking
//! point unwinds with an [`Expired`] payload, as a kill unwinds with
//! [`GreenletExit`](crate::GreenletExit). `yield_now` checks the list too.
//! So a timeout interrupts exactly what a kill interrupts (every blocking
//! call of grove, grove-sync and grove-io), destructors run on the way
//! out, and code that never blocks is never interrupted (as in gevent).
//!
//! # Identity
//!
//! Each timeout has an id, carried by its [`Expired`]. When several have
//! passed at one blocking point, the *outermost* one is raised: the inner
//! scopes it unwinds through see a payload that is not theirs and let it
//! go on, so an inner timeout never swallows an outer one's expiry. A
//! timeout fires once; after that it only reports [`Timeout::is_expired`].
//!
//! While its thread of control is unwinding already (a destructor that
//! blocks during a panic or a kill), no timeout is raised: a second unwind
//! there would abort the process. The expiry waits for the next blocking
//! point outside cleanup.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::current_task;
use crate::task::{next_id, Task};

/// One active timeout, in its owner's list.
pub(crate) struct Active {
    id: u64,
    deadline: Instant,
    after: Duration,
    fired: bool,
    /// Set when the [`Timeout`] is cancelled or dropped, wherever that
    /// happens; the owner prunes such entries.
    cancelled: Arc<AtomicBool>,
}

thread_local! {
    /// The active timeouts of this OS thread's own code (not of the green
    /// threads it runs: theirs live in their `Task`).
    static OS_TIMEOUTS: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the calling thread of control's list of active timeouts.
fn with_list<R>(f: impl FnOnce(&mut Vec<Active>) -> R) -> R {
    match current_task() {
        Some(task) => with_task_list(task, f),
        None => OS_TIMEOUTS.with(|l| f(&mut l.borrow_mut())),
    }
}

/// Runs `f` on `task`'s list; `task` must be the running green thread.
#[inline]
fn with_task_list<R>(task: &Task, f: impl FnOnce(&mut Vec<Active>) -> R) -> R {
    // SAFETY: only the running green thread touches its own list (callers
    // pass the running task), and `f` never blocks or re-enters.
    f(unsafe { task.timeouts() }.get_or_insert_with(Box::default))
}

/// Whether the running green thread `task` has an active timeout: the
/// fast check every blocking point makes before anything else.
#[inline]
pub(crate) fn any_in(task: &Task) -> bool {
    // SAFETY: as in `with_task_list`: the running green thread's own list,
    // read and released at once.
    unsafe { task.timeouts() }
        .as_ref()
        .is_some_and(|l| !l.is_empty())
}

/// Whether the calling OS thread (outside any green thread) has one.
pub(crate) fn any_os() -> bool {
    OS_TIMEOUTS.with(|l| !l.borrow().is_empty())
}

/// The deadline to cap the caller's next park at: the earliest active
/// timeout that has not fired. `None` while unwinding (see the module docs).
pub(crate) fn limit() -> Option<Instant> {
    let limit = with_list(|list| {
        if list.is_empty() {
            return None;
        }
        list.retain(|a| !a.cancelled.load(Ordering::Relaxed));
        list.iter().filter(|a| !a.fired).map(|a| a.deadline).min()
    })?;
    if std::thread::panicking() {
        return None;
    }
    Some(limit)
}

/// Unwinds with the outermost expired timeout's [`Expired`], if one has
/// passed and has not fired yet. Called at blocking points, never while
/// unwinding.
pub(crate) fn raise_due() {
    if !std::thread::panicking() {
        raise(with_list(|l| take_due(l)));
    }
}

/// [`raise_due`] for the running green thread `task` (saves a lookup).
#[cold]
pub(crate) fn raise_due_in(task: &Task) {
    if !std::thread::panicking() {
        raise(with_task_list(task, |l| take_due(l)));
    }
}

fn take_due(list: &mut [Active]) -> Option<Expired> {
    if list.is_empty() {
        return None;
    }
    let now = Instant::now();
    let a = list
        .iter_mut()
        .find(|a| !a.fired && !a.cancelled.load(Ordering::Relaxed) && a.deadline <= now)?;
    a.fired = true;
    Some(Expired {
        id: a.id,
        after: a.after,
    })
}

fn raise(due: Option<Expired>) {
    if let Some(e) = due {
        resume_unwind(Box::new(e));
    }
}

/// A deadline for the code that runs while it is alive (gevent's
/// `Timeout`): when it passes, the next blocking call of the thread of
/// control that started it (a green thread, or an OS thread blocking
/// through grove) unwinds with an [`Expired`] payload, as a kill unwinds
/// with [`GreenletExit`](crate::GreenletExit). Dropping it (or
/// [`cancel`](Timeout::cancel)) disarms it.
///
/// Most code wants [`with_timeout`], which catches its own expiry and
/// returns it as an error. Use `Timeout` directly to tell, in code that
/// catches unwinding payloads, whose expiry it is ([`Timeout::is`]).
///
/// A `Timeout` interrupts only blocking calls: a loop that never blocks is
/// not interrupted, as in gevent. Timeouts nest: when several have passed,
/// the outermost is raised, so an inner one never swallows an outer one's
/// expiry. It is neither `Send` nor `Sync`: it belongs to the thread of
/// control that started it.
///
/// ```
/// use std::panic::{catch_unwind, resume_unwind};
/// use std::time::Duration;
///
/// let g = grove::spawn(|| {
///     let t = grove::Timeout::start(Duration::from_millis(10));
///     let r = catch_unwind(|| grove::sleep(Duration::from_secs(60)));
///     match r {
///         Err(p) if t.is(&*p) => "timed out",
///         Err(p) => resume_unwind(p),
///         Ok(()) => "slept",
///     }
/// });
/// assert_eq!(g.join().unwrap(), "timed out");
/// ```
pub struct Timeout {
    id: u64,
    after: Duration,
    deadline: Option<Instant>,
    cancelled: Arc<AtomicBool>,
    _not_send: PhantomData<*const ()>,
}

impl Timeout {
    /// Starts a timeout of `after` for the calling thread of control
    /// (gevent's `Timeout.start_new(seconds)`). A duration too long to
    /// represent as an `Instant` never expires.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = grove::Timeout::start(Duration::from_secs(5));
    /// assert!(t.is_pending());
    /// drop(t); // cancelled
    /// ```
    pub fn start(after: Duration) -> Timeout {
        let id = next_id();
        let deadline = Instant::now().checked_add(after);
        let cancelled = Arc::new(AtomicBool::new(false));
        if let Some(deadline) = deadline {
            let entry = Active {
                id,
                deadline,
                after,
                fired: false,
                cancelled: cancelled.clone(),
            };
            with_list(|list| list.push(entry));
        }
        Timeout {
            id,
            after,
            deadline,
            cancelled,
            _not_send: PhantomData,
        }
    }

    /// The duration it was started with.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = grove::Timeout::start(Duration::from_secs(3));
    /// assert_eq!(t.after(), Duration::from_secs(3));
    /// ```
    pub fn after(&self) -> Duration {
        self.after
    }

    /// When it expires (`None` if never).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = grove::Timeout::start(Duration::from_secs(3));
    /// assert!(t.deadline().unwrap() > Instant::now());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether its deadline has passed (whether or not it was raised yet).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = grove::Timeout::start(Duration::ZERO);
    /// assert!(t.is_expired());
    /// ```
    pub fn is_expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Whether it is still armed: not cancelled, deadline not passed
    /// (gevent's `pending`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut t = grove::Timeout::start(Duration::from_secs(5));
    /// t.cancel();
    /// assert!(!t.is_pending());
    /// ```
    pub fn is_pending(&self) -> bool {
        self.deadline.is_some() && !self.cancelled.load(Ordering::Relaxed) && !self.is_expired()
    }

    /// Disarms it; calling it again does nothing. Dropping the timeout does
    /// the same.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut t = grove::Timeout::start(Duration::from_millis(1));
    /// t.cancel();
    /// grove::sleep(Duration::from_millis(5)); // not interrupted
    /// ```
    pub fn cancel(&mut self) {
        if self.cancelled.swap(true, Ordering::Relaxed) {
            return;
        }
        let id = self.id;
        with_list(|list| list.retain(|a| a.id != id && !a.cancelled.load(Ordering::Relaxed)));
    }

    /// Whether an unwinding payload (from `std::panic::catch_unwind`) is this
    /// timeout's expiry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = grove::Timeout::start(Duration::ZERO);
    /// let p = std::panic::catch_unwind(|| grove::yield_now()).unwrap_err();
    /// assert!(t.is(&*p));
    /// ```
    pub fn is(&self, payload: &(dyn Any + Send)) -> bool {
        payload
            .downcast_ref::<Expired>()
            .is_some_and(|e| e.id == self.id)
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("after", &self.after)
            .field("pending", &self.is_pending())
            .finish()
    }
}

/// A [`Timeout`] that passed: the payload a blocking call unwinds with, and
/// the error [`with_timeout`] returns (gevent's `Timeout` exception).
///
/// If no scope catches it, the green thread ends and its `join` gives
/// `Err(Error::Panicked(payload))` with this as the payload.
///
/// ```
/// use std::time::Duration;
/// let e = grove::with_timeout(Duration::from_millis(1), || {
///     grove::sleep(Duration::from_secs(60))
/// })
/// .unwrap_err();
/// assert_eq!(e.after(), Duration::from_millis(1));
/// assert_eq!(e.to_string(), "timed out after 1ms");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Expired {
    id: u64,
    after: Duration,
}

impl Expired {
    /// The duration of the timeout that passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = grove::with_timeout(Duration::ZERO, grove::yield_now).unwrap_err();
    /// assert_eq!(e.after(), Duration::ZERO);
    /// ```
    pub fn after(&self) -> Duration {
        self.after
    }

    /// Whether this is `timeout`'s expiry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = grove::Timeout::start(Duration::ZERO);
    /// let p = std::panic::catch_unwind(|| grove::yield_now()).unwrap_err();
    /// let e = p.downcast_ref::<grove::Expired>().unwrap();
    /// assert!(e.is(&t));
    /// ```
    pub fn is(&self, timeout: &Timeout) -> bool {
        self.id == timeout.id
    }
}

impl fmt::Debug for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expired")
            .field("after", &self.after)
            .finish()
    }
}

impl fmt::Display for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.after)
    }
}

impl std::error::Error for Expired {}

/// Runs `f`, giving up at its first blocking call after `after` has passed
/// (gevent's `with_timeout`, and `with Timeout(seconds):`): `Err(Expired)`
/// then, after `f`'s destructors have run. Another timeout's expiry, a kill
/// or a panic inside `f` passes through unchanged.
///
/// ```
/// use std::time::Duration;
/// let q = grove::Queue::<u32>::new();
/// let r = grove::with_timeout(Duration::from_millis(10), || q.get());
/// assert!(r.is_err()); // nothing was put
/// q.put(7).unwrap();
/// let r = grove::with_timeout(Duration::from_millis(10), || q.get());
/// assert_eq!(r.unwrap().unwrap(), 7);
/// ```
pub fn with_timeout<T>(after: Duration, f: impl FnOnce() -> T) -> Result<T, Expired> {
    let t = Timeout::start(after);
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Ok(v),
        Err(p) => match p.downcast::<Expired>() {
            Ok(e) if e.id == t.id => Err(*e),
            Ok(e) => resume_unwind(e),
            Err(p) => resume_unwind(p),
        },
    }
}
