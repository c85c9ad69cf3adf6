//! The reactor: a `polling::Poller` per hub, in which the hub idles, and the
//! table of green threads waiting on each descriptor.
//!
//! # How a wait goes
//!
//! A descriptor is registered with one reactor (the one of the hub where it
//! is first waited on) under a key, with no interest, the first time a green
//! thread waits on it (`Source`, in `source.rs`). To wait, a green thread
//! puts itself on the descriptor's list for one direction (read or write),
//! arms the poller for the directions that have waiters (one-shot mode), and
//! parks. When the hub has nothing to run it waits in the poller
//! ([`Reactor`] is its [`Driver`]); an event takes every waiter of the ready
//! direction off its list and unparks it, and re-arms the poller for a
//! direction that still has waiters. The woken green thread finds itself off
//! the list and retries its read or write.
//!
//! Arming after the failed read or write is not racy: re-arming a one-shot
//! registration makes the kernel check readiness again, so data that arrived
//! in between is reported at once.
//!
//! Cross-hub wakeups end the same wait: the hub's `unpark` is
//! `Poller::notify`. A busy hub also polls its reactor (with no wait) every
//! few dozen green-thread switches (grove-core's hub loop).
//!
//! A runtime built without reactors (grove-core's default driver) has no
//! poller in its hubs; descriptors waited on from its green threads go to a
//! process-wide fallback reactor, polled by a thread of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use grove_core::{Driver, Thread, ThreadId};
use polling::{Event, Events, Poller};

/// Which readiness a green thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (or closed, or in error).
    Read,
    /// Writable (or closed, or in error).
    Write,
}

/// The green threads waiting on one descriptor, by direction.
#[derive(Default)]
pub(crate) struct Waiters {
    read: Vec<(ThreadId, Thread)>,
    write: Vec<(ThreadId, Thread)>,
}

impl Waiters {
    pub(crate) fn list(&mut self, dir: Direction) -> &mut Vec<(ThreadId, Thread)> {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }

    /// The interest to arm: the directions someone waits for.
    fn interest(&self, key: usize) -> Event {
        match (self.read.is_empty(), self.write.is_empty()) {
            (false, false) => Event::all(key),
            (false, true) => Event::readable(key),
            (true, false) => Event::writable(key),
            (true, true) => Event::none(key),
        }
    }
}

/// One registered descriptor.
pub(crate) struct Entry {
    pub(crate) fd: RawFd,
    pub(crate) key: usize,
    waiters: Mutex<Waiters>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks: a poisoned one is still sound.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Entry {
    pub(crate) fn waiters(&self) -> MutexGuard<'_, Waiters> {
        lock(&self.waiters)
    }
}

/// A reactor's shared part: the poller and the registered descriptors.
pub(crate) struct Core {
    poller: Poller,
    /// Only the thread holding this polls (and reuses the buffer).
    events: Mutex<Events>,
    entries: Mutex<HashMap<usize, Arc<Entry>>>,
    next_key: AtomicUsize,
}

impl Core {
    fn new() -> io::Result<Core> {
        Ok(Core {
            poller: Poller::new()?,
            events: Mutex::new(Events::new()),
            entries: Mutex::new(HashMap::new()),
            next_key: AtomicUsize::new(0),
        })
    }

    /// Registers `fd` (with no interest yet).
    ///
    /// # Safety
    ///
    /// `fd` must stay open until [`deregister`](Core::deregister) is called
    /// for the returned entry.
    pub(crate) unsafe fn register(&self, fd: RawFd) -> io::Result<Arc<Entry>> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller keeps `fd` open until it deregisters it.
        unsafe { self.poller.add(fd, Event::none(key))? };
        let entry = Arc::new(Entry {
            fd,
            key,
            waiters: Mutex::new(Waiters::default()),
        });
        lock(&self.entries).insert(key, entry.clone());
        Ok(entry)
    }

    /// Removes `entry`'s descriptor from the poller (before it is closed).
    pub(crate) fn deregister(&self, entry: &Entry) {
        lock(&self.entries).remove(&entry.key);
        // SAFETY: the descriptor is still open (the caller closes it after).
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(entry.fd) };
        let _ = self.poller.delete(fd);
    }

    /// Arms the poller for the directions `waiters` (of `entry`) wait for.
    pub(crate) fn arm(&self, entry: &Entry, waiters: &Waiters) -> io::Result<()> {
        // SAFETY: the descriptor is registered, so its owner keeps it open.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(entry.fd) };
        self.poller.modify(fd, waiters.interest(entry.key))
    }

    /// Waits for events (at most `timeout`) and wakes their waiters. Returns
    /// at once if another thread is polling this reactor.
    pub(crate) fn poll(&self, timeout: Option<Duration>) {
        let Ok(mut events) = self.events.try_lock() else {
            return;
        };
        events.clear();
        if self.poller.wait(&mut events, timeout).is_err() {
            return;
        }
        for ev in events.iter() {
            let entry = lock(&self.entries).get(&ev.key).cloned();
            if let Some(entry) = entry {
                self.fire(&entry, ev.readable, ev.writable);
            }
        }
    }

    fn fire(&self, entry: &Entry, readable: bool, writable: bool) {
        let mut woken = Vec::new();
        {
            let mut w = entry.waiters();
            if readable {
                woken.append(&mut w.read);
            }
            if writable {
                woken.append(&mut w.write);
            }
            if !w.read.is_empty() || !w.write.is_empty() {
                let _ = self.arm(entry, &w);
            }
        }
        for (_, t) in woken {
            t.unpark();
        }
    }

    fn notify(&self) {
        let _ = self.poller.notify();
    }
}

thread_local! {
    /// The reactor of the hub running on this OS thread, if it has one.
    static HUB_REACTOR: RefCell<Option<Arc<Core>>> = const { RefCell::new(None) };
}

/// The reactor new registrations on this thread go to: the hub's, or the
/// process-wide fallback.
pub(crate) fn current() -> io::Result<Arc<Core>> {
    if let Some(core) = HUB_REACTOR.with(|r| r.borrow().clone()) {
        return Ok(core);
    }
    fallback()
}

fn fallback() -> io::Result<Arc<Core>> {
    static FALLBACK: OnceLock<Arc<Core>> = OnceLock::new();
    if let Some(core) = FALLBACK.get() {
        return Ok(core.clone());
    }
    let core = Arc::new(Core::new()?);
    let mut started = false;
    let core = FALLBACK
        .get_or_init(|| {
            started = true;
            core
        })
        .clone();
    if started {
        let c = core.clone();
        std::thread::Builder::new()
            .name("grove-io-reactor".into())
            .spawn(move || loop {
                c.poll(None);
            })?;
    }
    Ok(core)
}

/// A hub's driver that is also its reactor: the hub idles in the poller, so
/// I/O readiness, timers and cross-hub wakeups all end the same wait.
///
/// Build a runtime with one per hub through
/// [`RuntimeBuilder::driver`](grove_core::RuntimeBuilder::driver).
///
/// # Example
///
/// ```
/// use grove_core::Runtime;
/// let rt = Runtime::builder()
///     .workers(2)
///     .driver(grove_io::Reactor::for_hub)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1), 2);
/// ```
pub struct Reactor {
    core: Arc<Core>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("registered", &lock(&self.core.entries).len())
            .finish()
    }
}

impl Reactor {
    /// A new reactor (a new poller).
    ///
    /// ```
    /// let r = grove_io::Reactor::new().unwrap();
    /// # drop(r);
    /// ```
    pub fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            core: Arc::new(Core::new()?),
        })
    }

    /// The driver factory for [`RuntimeBuilder::driver`]: a reactor for hub
    /// `_hub`. If the poller cannot be created (out of descriptors) the hub
    /// gets grove-core's default parker, and its I/O goes to the fallback
    /// reactor.
    ///
    /// [`RuntimeBuilder::driver`]: grove_core::RuntimeBuilder::driver
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder()
    ///     .driver(grove_io::Reactor::for_hub)
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn for_hub(_hub: usize) -> Box<dyn Driver> {
        match Reactor::new() {
            Ok(r) => Box::new(r),
            Err(_) => Box::new(grove_core::ThreadParker::new()),
        }
    }
}

impl Driver for Reactor {
    fn park(&self, timeout: Option<Duration>) {
        self.core.poll(timeout);
    }

    fn unpark(&self) {
        self.core.notify();
    }

    fn attach(&self) {
        HUB_REACTOR.with(|r| *r.borrow_mut() = Some(self.core.clone()));
    }
}
