//! Spawning green threads and the [`Greenlet`] handle: gevent's Greenlet in
//! `std::thread::JoinHandle`'s clothes.
//!
//! The completion handshake (outcome, links, waiters) is `completion.rs`.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::completion::{Completion, Unpark};
use crate::error::{Error, GreenletExit};
use crate::hub::{self, current_task};
use crate::runtime::Handle;
use crate::stack::{self, SpawnError};
use crate::task::{Task, PIN_ON_START};
use crate::thread::{self, Thread, ThreadId};

type Packet<T> = Completion<Result<T, Error>, Thread>;

impl Unpark for Thread {
    fn unpark(&self) {
        Thread::unpark(self)
    }
}

/// A handle to a green thread: join it, wait for it, kill it, link to it.
///
/// Dropping the handle detaches the green thread, which runs on.
///
/// # Example
///
/// ```
/// let g = grove_core::spawn(|| 6 * 7);
/// assert_eq!(g.join().unwrap(), 42);
/// ```
pub struct Greenlet<T> {
    task: Arc<Task>,
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
    /// Waits for the green thread to finish and returns its value, or why
    /// there is none (gevent's `get()`; `std::thread::JoinHandle::join`).
    ///
    /// ```
    /// let g = grove_core::spawn(|| panic!("oops"));
    /// assert!(g.join().is_err());
    /// ```
    pub fn join(self) -> Result<T, Error> {
        if self.is_current() {
            return Err(Error::JoinSelf);
        }
        self.wait_until(None);
        // SAFETY: we own the only handle, so nobody else can read the outcome.
        let outcome = unsafe { self.packet.take() };
        outcome.unwrap_or(Err(Error::Killed))
    }

    /// Waits for the green thread to finish (gevent's `join()`).
    ///
    /// Panics if called by the green thread itself, which could never finish.
    ///
    /// ```
    /// let g = grove_core::spawn(|| ());
    /// g.wait();
    /// assert!(g.is_ready());
    /// ```
    pub fn wait(&self) {
        self.assert_not_current("wait");
        self.wait_until(None);
    }

    /// Waits at most `timeout`; true if it finished (gevent's `join(timeout)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove_core::spawn(|| grove_core::sleep(Duration::from_secs(60)));
    /// assert!(!g.wait_timeout(Duration::from_millis(5)));
    /// g.kill();
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.assert_not_current("wait_timeout");
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Kills the green thread and waits for it to finish: it unwinds from its
    /// current blocking point with [`GreenletExit`], running every destructor
    /// on its stack, and finishes with [`Error::Killed`]. A green thread that
    /// has not started never runs. Killing a finished green thread does
    /// nothing. A green thread that never blocks (a CPU loop) is only killed
    /// when it next blocks or yields. Killing yourself unwinds at once.
    ///
    /// ```
    /// let g = grove_core::spawn(|| grove_core::park());
    /// g.kill();
    /// assert!(matches!(g.join(), Err(grove_core::Error::Killed)));
    /// ```
    pub fn kill(&self) {
        if self.is_current() {
            thread::raise_kill();
        }
        self.request_kill();
        self.wait_until(None);
    }

    /// Like [`kill`](Greenlet::kill), waiting at most `timeout`; true if it
    /// finished. Killing yourself unwinds at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove_core::spawn(|| grove_core::sleep(Duration::from_secs(60)));
    /// assert!(g.kill_timeout(Duration::from_secs(5)));
    /// ```
    pub fn kill_timeout(&self, timeout: Duration) -> bool {
        if self.is_current() {
            thread::raise_kill();
        }
        self.request_kill();
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Calls `f` with the outcome once the green thread finishes (gevent's
    /// `link`). Callbacks run on the green thread itself, in the order they
    /// were added, before joiners wake; if it has finished already, `f` runs
    /// now, on the caller. A panic in a callback is contained.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let g = grove_core::spawn(|| 3);
    /// g.link(move |r| tx.send(*r.as_ref().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 3);
    /// ```
    pub fn link<F>(&self, f: F)
    where
        F: FnOnce(&Result<T, Error>) + Send + 'static,
    {
        self.packet.link(Box::new(f));
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.is_ready() {
            return true;
        }
        let me = thread::current();
        let id = me.id();
        if !self.packet.add_waiter(me) {
            return true;
        }
        let _unlist = Unlist {
            packet: &self.packet,
            id,
        };
        loop {
            if self.is_ready() {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        let _ = thread::park_timeout(left);
                    }
                    _ => return self.is_ready(),
                },
            }
        }
    }
}

/// Takes a waiter off the list when its wait ends (also when it unwinds).
struct Unlist<'a, T> {
    packet: &'a Packet<T>,
    id: ThreadId,
}

impl<T> Drop for Unlist<'_, T> {
    fn drop(&mut self) {
        self.packet.remove_waiter(|w| w.id() == self.id);
    }
}

impl<T> Greenlet<T> {
    /// The green thread's id.
    ///
    /// ```
    /// let g = grove_core::spawn(|| grove_core::current().id());
    /// let id = g.id();
    /// assert_eq!(g.join().unwrap(), id);
    /// ```
    pub fn id(&self) -> ThreadId {
        self.thread().id()
    }

    /// The green thread's name, if it was given one.
    ///
    /// ```
    /// let g = grove_core::Builder::new().name("fetch").spawn(|| ()).unwrap();
    /// assert_eq!(g.name(), Some("fetch"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.task.name.as_deref()
    }

    /// A handle to the green thread, e.g. to [`unpark`](Thread::unpark) it.
    ///
    /// ```
    /// let g = grove_core::spawn(|| grove_core::park());
    /// g.thread().unpark();
    /// g.join().unwrap();
    /// ```
    pub fn thread(&self) -> Thread {
        Thread::from_task(self.task.clone())
    }

    /// Whether it has finished (gevent's `ready()`).
    ///
    /// ```
    /// let g = grove_core::spawn(|| ());
    /// g.wait();
    /// assert!(g.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.packet.is_finished()
    }

    /// Whether it has finished and returned a value (gevent's `successful()`).
    ///
    /// ```
    /// let g = grove_core::spawn(|| 1);
    /// g.wait();
    /// assert!(g.is_successful());
    /// ```
    pub fn is_successful(&self) -> bool {
        self.packet.inspect(Result::is_ok).unwrap_or(false)
    }

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
        let n = self.task.state.kill();
        hub::wake(self.task.clone(), n);
    }
}

/// Waits for every green thread in `greenlets` to finish, or until `timeout`
/// passes (gevent's `joinall`). Returns true if all finished.
///
/// ```
/// let gs: Vec<_> = (0..10).map(|i| grove_core::spawn(move || i)).collect();
/// assert!(grove_core::joinall(&gs, None));
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

#[derive(Clone, Copy, Debug)]
enum Pin {
    No,
    OnStart,
    Hub(usize),
}

/// Configures a green thread before spawning it, like `std::thread::Builder`.
///
/// # Example
///
/// ```
/// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
/// let g = grove_core::Builder::new()
///     .name("pinned-to-1")
///     .stack_size(64 * 1024)
///     .hub(1)
///     .spawn_on(rt.handle(), || grove_core::hub_index())
///     .unwrap();
/// assert_eq!(g.join().unwrap(), Some(1));
/// ```
#[derive(Debug)]
#[must_use]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
    pin: Pin,
    delay: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with the runtime's defaults.
    ///
    /// ```
    /// let g = grove_core::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(g.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            stack_size: None,
            pin: Pin::No,
            delay: None,
        }
    }

    /// Names the green thread (shown by [`Thread::name`] and in overflow reports).
    ///
    /// ```
    /// let g = grove_core::Builder::new().name("x").spawn(|| ()).unwrap();
    /// assert_eq!(g.name(), Some("x"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// The green thread's stack size in bytes (16 KiB to 1 GiB, rounded up to
    /// pages). Default: the runtime's.
    ///
    /// ```
    /// let g = grove_core::Builder::new().stack_size(1 << 20).spawn(|| ()).unwrap();
    /// g.join().unwrap();
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Pins the green thread to the hub it starts on: it never migrates, so
    /// OS-thread-local state stays put under it.
    ///
    /// ```
    /// let g = grove_core::Builder::new()
    ///     .pinned()
    ///     .spawn(|| {
    ///         let a = grove_core::hub_index();
    ///         grove_core::yield_now();
    ///         a == grove_core::hub_index()
    ///     })
    ///     .unwrap();
    /// assert!(g.join().unwrap());
    /// ```
    pub fn pinned(mut self) -> Builder {
        self.pin = Pin::OnStart;
        self
    }

    /// Pins the green thread to hub `index` (see [`Builder::pinned`]).
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
    /// let g = grove_core::Builder::new().hub(0).spawn_on(rt.handle(), grove_core::hub_index);
    /// assert_eq!(g.unwrap().join().unwrap(), Some(0));
    /// ```
    pub fn hub(mut self, index: usize) -> Builder {
        self.pin = Pin::Hub(index);
        self
    }

    /// Starts the green thread only after `delay` (gevent's `spawn_later`).
    /// Until then it holds no stack.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let g = grove_core::Builder::new().delay(Duration::from_millis(5)).spawn(|| ()).unwrap();
    /// g.join().unwrap();
    /// assert!(t.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn delay(mut self, delay: Duration) -> Builder {
        self.delay = Some(delay);
        self
    }

    /// Spawns on the caller's runtime (or the default runtime).
    ///
    /// ```
    /// let err = grove_core::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
    /// assert!(matches!(err, grove_core::SpawnError::StackSize { .. }));
    /// ```
    pub fn spawn<F, T>(self, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_on(&Handle::current(), f)
    }

    /// Spawns on the runtime of `handle`.
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
    /// let g = grove_core::Builder::new().spawn_on(rt.handle(), || 2).unwrap();
    /// assert_eq!(g.join().unwrap(), 2);
    /// ```
    pub fn spawn_on<F, T>(self, handle: &Handle, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &handle.shared;
        let stack_size = match self.stack_size {
            Some(s) => stack::validate_size(s)?,
            None => shared.stacks.default_size(),
        };
        let pin = match self.pin {
            Pin::No => None,
            Pin::OnStart => Some(PIN_ON_START),
            Pin::Hub(i) if i < shared.hubs.len() => Some(i),
            Pin::Hub(index) => {
                return Err(SpawnError::NoSuchHub {
                    index,
                    hubs: shared.hubs.len(),
                })
            }
        };
        let packet: Arc<Packet<T>> = Arc::new(Completion::new());
        let p = packet.clone();
        let main = Box::new(move |cancel: Option<Error>| {
            let outcome = match cancel {
                Some(e) => {
                    drop(f);
                    Err(e)
                }
                None => match catch_unwind(AssertUnwindSafe(f)) {
                    Ok(v) => Ok(v),
                    Err(payload) if payload.is::<GreenletExit>() => Err(Error::Killed),
                    Err(payload) => Err(Error::Panicked(payload)),
                },
            };
            p.complete(outcome);
        });
        let start_at = self.delay.and_then(|d| Instant::now().checked_add(d));
        let task = Arc::new(Task::new(
            shared.clone(),
            self.name,
            stack_size,
            pin,
            start_at,
            main,
        ));
        shared.registry.insert(&task)?;
        shared.push_new(task.clone());
        Ok(Greenlet { task, packet })
    }
}

/// Spawns a green thread running `f` on the caller's runtime (the default
/// runtime outside one) and returns its handle (gevent's `spawn`).
///
/// Panics if the green thread cannot be spawned (the runtime has shut down);
/// [`Builder::spawn`] reports that as an error instead.
///
/// ```
/// let g = grove_core::spawn(|| "hello from a green thread");
/// assert_eq!(g.join().unwrap(), "hello from a green thread");
/// ```
pub fn spawn<F, T>(f: F) -> Greenlet<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(g) => g,
        Err(e) => panic!("grove: spawn failed: {e}"),
    }
}

/// Spawns a green thread that starts after `delay` (gevent's `spawn_later`).
///
/// ```
/// use std::time::Duration;
/// let g = grove_core::spawn_later(Duration::from_millis(1), || 5);
/// assert_eq!(g.join().unwrap(), 5);
/// ```
pub fn spawn_later<F, T>(delay: Duration, f: F) -> Greenlet<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().delay(delay).spawn(f) {
        Ok(g) => g,
        Err(e) => panic!("grove: spawn_later failed: {e}"),
    }
}
