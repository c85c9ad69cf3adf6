//! The [`Greenlet`] handle (gevent's Greenlet in `std::thread::JoinHandle`'s
//! clothes) and [`GreenletRef`], its type-erased, cloneable companion for
//! waiting and killing (what groups and pools hold).
//!
//! The completion handshake (outcome, links, waiters) is `completion.rs`;
//! waiting and killing are implemented once, in [`Target`], for both handles.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::completion::{Completion, Unpark};
use crate::deadlock::DeadlockReport;
use crate::error::Error;
use crate::hub::current_task;
use crate::reason::WaitReason;
use crate::task::Task;
use crate::thread::{self, Thread, ThreadId};
use crate::wait::Ticket;

pub(crate) type Packet<T> = Completion<Result<T, Error>, Thread>;

impl Unpark for Thread {
    fn unpark(&self) {
        Thread::unpark(self)
    }
}

/// What waiting needs of a completion, whatever the green thread returns.
trait Finish: Send + Sync {
    fn is_finished(&self) -> bool;
    fn add_waiter(&self, w: Thread) -> Option<Ticket>;
    fn remove_waiter(&self, ticket: Ticket);
}

impl<T: Send> Finish for Packet<T> {
    fn is_finished(&self) -> bool {
        Completion::is_finished(self)
    }
    fn add_waiter(&self, w: Thread) -> Option<Ticket> {
        Completion::add_waiter(self, w)
    }
    fn remove_waiter(&self, ticket: Ticket) {
        Completion::remove_waiter(self, ticket)
    }
}

/// A green thread and its completion: waiting and killing, untyped.
#[derive(Clone)]
struct Target {
    task: Arc<Task>,
    done: Arc<dyn Finish>,
}

impl Target {
    fn is_current(&self) -> bool {
        current_task().is_some_and(|t| std::ptr::eq(t, Arc::as_ptr(&self.task)))
    }

    fn assert_not_current(&self, what: &str) {
        assert!(
            !self.is_current(),
            "grove: a green thread cannot {what} for itself: it would never finish"
        );
    }

    fn request_kill(&self) {
        crate::trace::kill(&self.task);
        let n = self.task.state.kill();
        crate::wake::wake(self.task.clone(), n);
    }

    fn kill_until(&self, deadline: Option<Instant>) -> bool {
        if self.is_current() {
            thread::raise_kill();
        }
        self.request_kill();
        self.wait_until(deadline)
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        matches!(self.wait_end(deadline, false), Ok(true))
    }

    /// Waits for the end or `deadline` (`Ok(false)`). With `deadlocks`, a
    /// caller outside the runtime also stops at a deadlock report of the
    /// target's runtime made after it began (`watch.rs`).
    fn wait_end(
        &self,
        deadline: Option<Instant>,
        deadlocks: bool,
    ) -> Result<bool, Arc<DeadlockReport>> {
        if self.done.is_finished() {
            return Ok(true);
        }
        let watch = &self.task.shared.watch;
        let outside = deadlocks && current_task().is_none();
        let epoch = if outside { watch.epoch() } else { 0 };
        let Some(ticket) = self.done.add_waiter(thread::current_waker()) else {
            return Ok(true);
        };
        if outside {
            crate::thread::join_outside(&self.task.shared);
        }
        // Off the list when the wait ends, also by unwinding (a kill).
        let _unlist = Unlist {
            done: &*self.done,
            ticket,
        };
        let why = WaitReason::Join {
            target: ThreadId::from_raw(self.task.id),
        };
        loop {
            if self.done.is_finished() {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(self.done.is_finished());
            }
            if outside {
                if let Some(report) = watch.deadlock_after(epoch) {
                    return Err(report);
                }
            }
            thread::park_until(why, deadline);
        }
    }
}

struct Unlist<'a> {
    done: &'a dyn Finish,
    ticket: Ticket,
}

impl Drop for Unlist<'_> {
    fn drop(&mut self) {
        self.done.remove_waiter(self.ticket);
    }
}

/// A handle to a green thread: join it, wait for it, kill it, link to it.
///
/// Dropping the handle detaches the green thread, which runs on.
///
/// # Example
///
/// ```
/// let g = grove::spawn(|| 6 * 7);
/// assert_eq!(g.join().unwrap(), 42);
/// ```
pub struct Greenlet<T> {
    target: Target,
    packet: Arc<Packet<T>>,
}

// SAFETY: shared `&Greenlet` access can read the outcome from several threads
// at once (`link` after finish, `is_successful`), which needs T: Sync.
unsafe impl<T: Send + Sync> Sync for Greenlet<T> {}

impl<T> std::panic::UnwindSafe for Greenlet<T> {}
impl<T> std::panic::RefUnwindSafe for Greenlet<T> {}

impl<T> fmt::Debug for Greenlet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Greenlet")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl<T: Send + 'static> Greenlet<T> {
    pub(crate) fn new(task: Arc<Task>, packet: Arc<Packet<T>>) -> Greenlet<T> {
        let done: Arc<dyn Finish> = packet.clone();
        Greenlet {
            target: Target { task, done },
            packet,
        }
    }

    /// Waits for the green thread to finish and returns its value, or why
    /// there is none (gevent's `get()`; `std::thread::JoinHandle::join`).
    ///
    /// Called from outside the runtime (an OS thread), it also ends with
    /// [`Error::Deadlock`] when the runtime reports that none of its green
    /// threads can ever run again (see [`DeadlockReport`]); the green
    /// thread is then left where it is, detached.
    ///
    /// ```
    /// let g = grove::spawn(|| panic!("oops"));
    /// assert!(g.join().is_err());
    /// ```
    pub fn join(self) -> Result<T, Error> {
        if self.target.is_current() {
            return Err(Error::JoinSelf);
        }
        if let Err(report) = self.target.wait_end(None, true) {
            return Err(Error::Deadlock(report));
        }
        // SAFETY: we own the only typed handle, so nobody else can read the
        // outcome (a GreenletRef cannot).
        let outcome = unsafe { self.packet.take() };
        outcome.unwrap_or(Err(Error::Killed))
    }

    /// Waits for the green thread to finish (gevent's `join()`).
    ///
    /// Panics if called by the green thread itself, which could never finish.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.wait();
    /// assert!(g.is_ready());
    /// ```
    pub fn wait(&self) {
        self.target.assert_not_current("wait");
        self.target.wait_until(None);
    }

    /// Waits at most `timeout`; true if it finished (gevent's `join(timeout)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove::spawn(|| grove::sleep(Duration::from_secs(60)));
    /// assert!(!g.wait_timeout(Duration::from_millis(5)));
    /// g.kill();
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.target.assert_not_current("wait_timeout");
        self.target.wait_until(Instant::now().checked_add(timeout))
    }

    /// Kills the green thread and waits for it to finish: it unwinds from its
    /// current blocking point with [`GreenletExit`](crate::GreenletExit),
    /// running every destructor on its stack, and finishes with
    /// [`Error::Killed`]. A green thread that has not started never runs.
    /// Killing a finished green thread does nothing. A green thread that never
    /// blocks (a CPU loop) is only killed when it next blocks or yields.
    /// Killing yourself unwinds at once.
    ///
    /// ```
    /// let g = grove::spawn(|| grove::park());
    /// g.kill();
    /// assert!(matches!(g.join(), Err(grove::Error::Killed)));
    /// ```
    pub fn kill(&self) {
        self.target.kill_until(None);
    }

    /// Like [`kill`](Greenlet::kill), waiting at most `timeout`; true if it
    /// finished. Killing yourself unwinds at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove::spawn(|| grove::sleep(Duration::from_secs(60)));
    /// assert!(g.kill_timeout(Duration::from_secs(5)));
    /// ```
    pub fn kill_timeout(&self, timeout: Duration) -> bool {
        self.target.kill_until(Instant::now().checked_add(timeout))
    }

    /// Calls `f` with the outcome once the green thread finishes (gevent's
    /// `link`). Callbacks run on the green thread itself, in the order they
    /// were added, before joiners wake; if it has finished already, `f` runs
    /// now, on the caller. A panic in a callback is contained either way: it
    /// never reaches the green thread's joiners nor the caller of `link`.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let g = grove::spawn(|| 3);
    /// g.link(move |r| tx.send(*r.as_ref().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 3);
    /// ```
    pub fn link<F>(&self, f: F)
    where
        F: FnOnce(&Result<T, Error>) + Send + 'static,
    {
        self.packet.link(Box::new(f));
    }

    /// A type-erased, cloneable reference for waiting and killing.
    ///
    /// ```
    /// let g = grove::spawn(|| 1);
    /// let r = g.to_ref();
    /// r.wait();
    /// assert!(g.is_ready());
    /// assert_eq!(g.join().unwrap(), 1);
    /// ```
    pub fn to_ref(&self) -> GreenletRef {
        GreenletRef {
            target: self.target.clone(),
        }
    }

    /// Whether it has finished and returned a value (gevent's `successful()`).
    ///
    /// ```
    /// let g = grove::spawn(|| 1);
    /// g.wait();
    /// assert!(g.is_successful());
    /// ```
    pub fn is_successful(&self) -> bool {
        self.packet.inspect(Result::is_ok).unwrap_or(false)
    }
}

impl<T> Greenlet<T> {
    /// The green thread's id.
    ///
    /// ```
    /// let g = grove::spawn(|| grove::current().id());
    /// let id = g.id();
    /// assert_eq!(g.join().unwrap(), id);
    /// ```
    pub fn id(&self) -> ThreadId {
        self.thread().id()
    }

    /// The green thread's name, if it was given one.
    ///
    /// ```
    /// let g = grove::Builder::new().name("fetch").spawn(|| ()).unwrap();
    /// assert_eq!(g.name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.target.task.name.as_deref()
    }

    /// A handle to the green thread, e.g. to [`unpark`](Thread::unpark) it.
    ///
    /// ```
    /// let g = grove::spawn(|| grove::park());
    /// g.thread().unpark();
    /// g.join().unwrap();
    /// ```
    pub fn thread(&self) -> Thread {
        Thread::from_task(self.target.task.clone())
    }

    /// Whether it has finished (gevent's `ready()`).
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.wait();
    /// assert!(g.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.target.done.is_finished()
    }
}

/// A cloneable, type-erased reference to a green thread, for waiting for it
/// and killing it without its result (which only the [`Greenlet`] can take).
/// Groups and pools hold these.
///
/// # Example
///
/// ```
/// let g = grove::spawn(|| grove::park());
/// let r = g.to_ref();
/// let r2 = r.clone();
/// std::thread::spawn(move || r2.kill()).join().unwrap();
/// assert!(r.is_ready());
/// assert!(g.join().is_err());
/// ```
#[derive(Clone)]
pub struct GreenletRef {
    target: Target,
}

impl std::panic::UnwindSafe for GreenletRef {}
impl std::panic::RefUnwindSafe for GreenletRef {}

impl fmt::Debug for GreenletRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenletRef")
            .field("id", &self.id())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl GreenletRef {
    /// The green thread's id.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// assert_eq!(g.to_ref().id(), g.id());
    /// ```
    pub fn id(&self) -> ThreadId {
        ThreadId::from_raw(self.target.task.id)
    }

    /// Whether it has finished.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.wait();
    /// assert!(g.to_ref().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.target.done.is_finished()
    }

    /// Waits for it to finish. Panics if called by that green thread itself.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.to_ref().wait();
    /// ```
    pub fn wait(&self) {
        self.target.assert_not_current("wait");
        self.target.wait_until(None);
    }

    /// Waits at most `timeout`; true if it finished.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// assert!(g.to_ref().wait_timeout(std::time::Duration::from_secs(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.target.assert_not_current("wait_timeout");
        self.target.wait_until(Instant::now().checked_add(timeout))
    }

    /// Kills it and waits for it, as [`Greenlet::kill`] does.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().kill();
    /// assert!(g.join().is_err());
    /// ```
    pub fn kill(&self) {
        self.target.kill_until(None);
    }

    /// Kills it, waiting at most `timeout`; true if it finished.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// assert!(g.to_ref().kill_timeout(std::time::Duration::from_secs(5)));
    /// ```
    pub fn kill_timeout(&self, timeout: Duration) -> bool {
        self.target.kill_until(Instant::now().checked_add(timeout))
    }

    /// Asks it to die without waiting: it unwinds at its next blocking point.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().kill_nowait();
    /// g.wait();
    /// ```
    pub fn kill_nowait(&self) {
        if !self.target.is_current() {
            self.target.request_kill();
        }
    }

    /// A handle to the green thread, e.g. to unpark it.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().thread().unpark();
    /// g.join().unwrap();
    /// ```
    pub fn thread(&self) -> Thread {
        Thread::from_task(self.target.task.clone())
    }
}

/// Waits for every green thread in `greenlets` to finish, or until `timeout`
/// passes (gevent's `joinall`). Returns true if all finished.
///
/// ```
/// let gs: Vec<_> = (0..10).map(|i| grove::spawn(move || i)).collect();
/// assert!(grove::joinall(&gs, None));
/// assert!(gs.iter().all(|g| g.is_ready()));
/// ```
pub fn joinall<T: Send + 'static>(greenlets: &[Greenlet<T>], timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    greenlets.iter().all(|g| match deadline {
        None => {
            g.wait();
            true
        }
        Some(d) => g.wait_timeout(d.saturating_duration_since(Instant::now())),
    })
}
