//! The [`Greenlet`] handle (gevent's Greenlet in `std::thread::JoinHandle`'s
//! clothes) and [`GreenletRef`], its type-erased, cloneable companion for
//! waiting and killing (what groups and pools hold).
//!
//! The completion handshake (outcome, links, waiters) is `completion.rs`;
//! waiting and killing are implemented once, in [`Target`], for both handles.

use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::completion::Completion;
use crate::error::Error;
use crate::task::Task;
use crate::thread::{Thread, ThreadId};

mod all;
mod body;
mod gref;
mod kill;
mod outcome;
mod start;
mod target;

pub use all::{joinall, killall, try_joinall};
pub(crate) use body::{Body, Main};
pub use gref::GreenletRef;
pub use outcome::LinkId;
pub(crate) use start::hold;
pub(crate) use target::Waiter;
use target::{Finish, Target};

pub(crate) type Packet<T> = Completion<Result<T, Error>, Waiter>;

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
    /// The completion, typed (the same allocation as `target.done`).
    body: Arc<dyn body::Outcome<T>>,
    /// For a green thread created but not started (`Builder::create`): the
    /// generation of the park it waits in, plus one; 0 once started (or if
    /// it never waited). See `start.rs`.
    held: AtomicUsize,
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
    /// The handle to `task`, whose body (closure and completion) is `body`.
    pub(crate) fn new<F>(task: Arc<Task>, body: Arc<Body<F, T>>) -> Greenlet<T>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let done: Arc<dyn Finish> = body.clone();
        Greenlet {
            target: Target { task, done },
            body,
            held: AtomicUsize::new(0),
        }
    }

    /// The completion this green thread's outcome goes to.
    fn packet(&self) -> &Packet<T> {
        self.body.packet()
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
        let outcome = unsafe { self.packet().take() };
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
        self.target.kill_until(None, None);
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
        self.target
            .kill_until(None, Instant::now().checked_add(timeout))
    }

    /// Calls `f` with the outcome once the green thread finishes (gevent's
    /// `link`). Callbacks run on the green thread itself, in the order they
    /// were added, before joiners wake; if it has finished already, `f` runs
    /// now, on the caller. A panic in a callback is contained either way: it
    /// never reaches the green thread's joiners nor the caller of `link`.
    /// Returns the callback's id while it is queued, for
    /// [`unlink`](Greenlet::unlink); `None` if it ran now.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let g = grove::spawn(|| 3);
    /// g.link(move |r| tx.send(*r.as_ref().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 3);
    /// ```
    pub fn link<F>(&self, f: F) -> Option<LinkId>
    where
        F: FnOnce(&Result<T, Error>) + Send + 'static,
    {
        self.packet().link(Box::new(f)).map(LinkId)
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
        self.packet().inspect(Result::is_ok).unwrap_or(false)
    }

    /// Whether it has finished without a value (killed, panicked, or never
    /// started).
    pub(crate) fn is_failed(&self) -> bool {
        self.packet().inspect(Result::is_err).unwrap_or(false)
    }
}

impl<T> Greenlet<T> {
    /// Queues `w` to be woken when it finishes; `None` if it has.
    pub(crate) fn add_waiter(&self, w: Waiter) -> Option<crate::wait::Ticket> {
        self.target.done.add_waiter(w)
    }

    /// Takes a waiter queued by [`add_waiter`](Self::add_waiter) off the line.
    pub(crate) fn remove_waiter(&self, ticket: crate::wait::Ticket) {
        self.target.done.remove_waiter(ticket)
    }

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
