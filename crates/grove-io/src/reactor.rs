//! The reactor: an epoll poller per hub (`epoll.rs`), in which the hub idles, and the
//! table of green threads waiting on each descriptor.
//!
//! # How a wait goes
//!
//! A descriptor is registered with one reactor (the one of the hub where it
//! is first waited on) under a key the first time a green thread waits on it
//! (`Source`, in `source.rs`), edge-triggered for both directions: the kernel
//! reports each time the descriptor *becomes* readable or writable, and the
//! registration is never touched again until it is deleted. To wait after a
//! read or write that would block, a green thread locks the descriptor's
//! entry; if an edge in its direction arrived since the last wait (the
//! entry's *ready* flag), it clears the flag and retries at once; otherwise
//! it puts itself on the direction's list and parks. When the hub has
//! nothing to run it waits in the poller ([`Reactor`] is its [`Driver`]); an
//! event takes every waiter of the ready direction off its list and unparks
//! it, or, if there is none, sets the direction's ready flag. The woken
//! green thread finds itself off the list and retries its read or write.
//!
//! No edge is lost: an edge that arrives between the failed read or write
//! and the wait finds no waiter and sets the flag, which the wait sees under
//! the same lock. A stale flag (set by an edge whose data an earlier read
//! already took) costs one retry that would block again, after which the
//! wait parks. Where the poller cannot do edge-triggered mode, the entry is
//! registered one-shot with no interest instead, and each wait arms it for
//! the directions that have waiters (re-arming makes the kernel check
//! readiness again, so data that arrived in between is reported at once);
//! an event re-arms for a direction that still has waiters.
//!
//! Cross-hub wakeups end the same wait: the hub's `unpark` is
//! `Poller::notify`. A busy hub also looks at its reactor (with no wait)
//! every few dozen green-thread switches (grove-core's hub loop), at most
//! once per `QUICK_LOOK_EVERY` and only while a descriptor is registered.
//!
//! A runtime built without reactors (grove-core's default driver) has no
//! poller in its hubs; descriptors waited on from its green threads go to a
//! process-wide fallback reactor, polled by a thread of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::epoll::{Event, Events, PollMode, Poller};
use crate::watch::Group;
use grove_core::wait::WaitList;
use grove_core::{Driver, Thread};

/// Which readiness a green thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (or closed, or in error).
    Read,
    /// Writable (or closed, or in error).
    Write,
}

/// The green threads waiting on one descriptor, by direction (grove's one
/// wait list: an event hands every waiter of its direction a notification),
/// and the edges that arrived while none waited.
#[derive(Default)]
pub(crate) struct Waiters {
    read: WaitList<(), (), Thread>,
    write: WaitList<(), (), Thread>,
    read_ready: bool,
    write_ready: bool,
}

impl Waiters {
    /// Takes the ready flag of `dir`: whether an edge arrived since the last
    /// wait in that direction (always false in one-shot mode).
    pub(crate) fn take_ready(&mut self, dir: Direction) -> bool {
        match dir {
            Direction::Read => std::mem::take(&mut self.read_ready),
            Direction::Write => std::mem::take(&mut self.write_ready),
        }
    }

    pub(crate) fn list(&mut self, dir: Direction) -> &mut WaitList<(), (), Thread> {
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
    pub(crate) poller: Poller,
    /// Registrations are edge-triggered (else one-shot, armed per wait).
    edge: bool,
    /// Only the thread holding this polls (and reuses the buffer).
    events: Mutex<Events>,
    entries: Mutex<HashMap<usize, Arc<Entry>>>,
    next_key: AtomicUsize,
    /// Its hub has stopped: nobody polls it any more, and a descriptor
    /// registered here must move to a live reactor before it is waited on.
    closed: AtomicBool,
    /// Its hub is asleep in its poller, where its own events wake it: the
    /// watch thread leaves them to it (`watch.rs`).
    pub(crate) parked: AtomicBool,
    /// Descriptors registered now: while there are none, a busy hub's
    /// quick look has nothing to find and is skipped.
    registered: AtomicUsize,
    /// When this reactor was last polled, in nanoseconds since `epoch`
    /// (a hint for [`Core::quick_look`]'s pacing; relaxed).
    last_look: AtomicU64,
    epoch: Instant,
}

/// A busy hub looks at its reactor (with no wait) at most this often: a
/// look costs a system call, while green threads
/// switch in tens of nanoseconds. Events wait at most this long (plus one
/// green thread's turn) on a hub that never idles; an idle hub sees them
/// at once.
const QUICK_LOOK_EVERY: Duration = Duration::from_micros(20);

impl Core {
    fn new() -> io::Result<Core> {
        let poller = Poller::new()?;
        Ok(Core {
            edge: poller.supports_edge(),
            poller,
            events: Mutex::new(Events::new()),
            entries: Mutex::new(HashMap::new()),
            next_key: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            registered: AtomicUsize::new(0),
            last_look: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// A busy hub's look at its reactor, with no wait: skipped while no
    /// descriptor is registered, or when the last look is less than
    /// [`QUICK_LOOK_EVERY`] old.
    fn quick_look(&self) {
        if self.registered.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now = self.nanos();
        if now.saturating_sub(self.last_look.load(Ordering::Relaxed))
            < QUICK_LOOK_EVERY.as_nanos() as u64
        {
            return;
        }
        self.poll(Some(Duration::ZERO));
    }

    /// Whether this reactor was polled (by anyone) less than `d` ago.
    pub(crate) fn looked_within(&self, d: Duration) -> bool {
        self.nanos()
            .saturating_sub(self.last_look.load(Ordering::Relaxed))
            < d.as_nanos() as u64
    }

    fn nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether its hub has stopped (see [`Core::close`]).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Its hub stopped: mark it closed, then wake everyone still waiting on
    /// one of its descriptors (green threads of other runtimes), so that they
    /// retry, find it closed, and register with a reactor that is polled.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let entries: Vec<Arc<Entry>> = lock(&self.entries).values().cloned().collect();
        for entry in entries {
            self.fire(&entry, true, true);
        }
    }

    /// Registers `fd`: edge-triggered for both directions, or one-shot with
    /// no interest yet.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until [`deregister`](Core::deregister) is called
    /// for the returned entry.
    pub(crate) unsafe fn register(&self, fd: RawFd) -> io::Result<Arc<Entry>> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            fd,
            key,
            waiters: Mutex::new(Waiters::default()),
        });
        // In the table before the kernel can report it, so no edge is lost.
        lock(&self.entries).insert(key, entry.clone());
        self.registered.fetch_add(1, Ordering::Relaxed);
        let added = if self.edge {
            // SAFETY: the caller keeps `fd` open until it deregisters it.
            unsafe {
                self.poller
                    .add_with_mode(fd, Event::all(key), PollMode::Edge)
            }
        } else {
            // SAFETY: as above.
            unsafe { self.poller.add(fd, Event::none(key)) }
        };
        if let Err(e) = added {
            lock(&self.entries).remove(&key);
            self.registered.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }
        Ok(entry)
    }

    /// Removes `entry`'s descriptor from the poller (before it is closed).
    pub(crate) fn deregister(&self, entry: &Entry) {
        if lock(&self.entries).remove(&entry.key).is_some() {
            self.registered.fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY: the descriptor is still open (the caller closes it after).
        let fd = unsafe { BorrowedFd::borrow_raw(entry.fd) };
        let _ = self.poller.delete(fd);
    }

    /// Arms the poller for the directions `waiters` (of `entry`) wait for;
    /// nothing to do for an edge-triggered registration.
    pub(crate) fn arm(&self, entry: &Entry, waiters: &Waiters) -> io::Result<()> {
        if self.edge {
            return Ok(());
        }
        // SAFETY: the descriptor is registered, so its owner keeps it open.
        let fd = unsafe { BorrowedFd::borrow_raw(entry.fd) };
        self.poller.modify(fd, waiters.interest(entry.key))
    }

    /// Waits for events (at most `timeout`) and wakes their waiters. Returns
    /// at once if another thread is polling this reactor. For the thread
    /// that owns the reactor (its hub, or the fallback reactor's thread): a
    /// notification is consumed here.
    pub(crate) fn poll(&self, timeout: Option<Duration>) {
        self.poll_as(timeout, true);
    }

    /// Takes the events of a busy hub's reactor on its behalf, without
    /// waiting (the watch thread, `watch.rs`). A notification is left for
    /// the hub: taking it here could make the hub's next sleep miss the
    /// wakeup it was sent for.
    pub(crate) fn poll_for_owner(&self) {
        self.poll_as(Some(Duration::ZERO), false);
    }

    fn poll_as(&self, timeout: Option<Duration>, owner: bool) {
        let Ok(mut events) = self.events.try_lock() else {
            return;
        };
        self.last_look.store(self.nanos(), Ordering::Relaxed);
        events.clear();
        let waited = if owner {
            self.poller.wait(&mut events, timeout)
        } else {
            self.poller.look_leaving_notify(&mut events)
        };
        if timeout != Some(Duration::ZERO) {
            // A sleep: the look ends now, not when the sleep began.
            self.last_look.store(self.nanos(), Ordering::Relaxed);
        }
        if waited.is_err() {
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
            // Kept only for edges: a one-shot event comes only when armed
            // for a waiter, and its next wait re-arms anyway.
            if readable {
                w.read_ready = self.edge && w.read.is_empty();
                woken.extend(w.read.hand_all(|()| ()));
            }
            if writable {
                w.write_ready = self.edge && w.write.is_empty();
                woken.extend(w.write.hand_all(|()| ()));
            }
            if !self.edge && (!w.read.is_empty() || !w.write.is_empty()) {
                let _ = self.arm(entry, &w);
            }
        }
        for t in woken {
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

/// Makes [`reactors`] what runtimes built without a driver of their own
/// idle in (grove-core's default runtime included). It runs by itself when
/// the program is loaded, before `main` (`INSTALL_AT_LOAD` in `reactor.rs`), so every
/// runtime a program that links grove-io builds gets reactors, whatever it
/// calls first; calling it again changes nothing. Returns whether this call
/// installed them (false if they, or other default drivers, already were).
///
/// # Example
///
/// ```
/// grove::install();
/// let rt = grove::Runtime::builder().workers(1).build().unwrap();
/// assert!(rt.block_on(grove::in_reactor_hub));
/// ```
pub fn install() -> bool {
    fn provider() -> grove_core::DriverFactory {
        Box::new(reactors())
    }
    grove_core::set_default_drivers(provider)
}

/// Runs [`install`] when the program is loaded, before `main` and before
/// anything could start a runtime: the loader calls every function listed
/// in the `.init_array` section. Without it, a program that started the
/// default runtime (by spawning, or by `Handle::current()`) before creating
/// its first socket would get hubs without reactors, and all its I/O would
/// go through the fallback reactor's single thread.
///
/// `install` only stores a function pointer in a `OnceLock`: no allocation,
/// no thread-local, nothing that needs Rust's runtime to be set up.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static INSTALL_AT_LOAD: extern "C" fn() = install_at_load;

#[cfg(target_os = "linux")]
extern "C" fn install_at_load() {
    install();
    #[cfg(feature = "tokio")]
    crate::tokio_bridge::install();
}

/// Whether the calling thread is a hub that idles in a grove-io reactor
/// (false on a plain OS thread, and on a hub of a runtime built with other
/// drivers, whose I/O goes to the fallback reactor).
///
/// ```
/// assert!(!grove::in_reactor_hub()); // a plain OS thread
/// ```
pub fn in_reactor_hub() -> bool {
    HUB_REACTOR.with(|r| r.borrow().is_some())
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

/// The driver factory for
/// [`RuntimeBuilder::driver`](grove_core::RuntimeBuilder::driver): one
/// [`Reactor`] per hub. Each hub idles in its own poller, and one watch
/// thread per runtime watches every hub's poller, so that readiness on a
/// descriptor registered with a hub that is busy computing is still
/// noticed (the watch thread takes the events and wakes their green
/// threads), and an event never wakes the other sleeping hubs (`watch.rs`).
/// A hub whose poller cannot be created (out of descriptors) gets
/// grove-core's default parker, and its I/O goes to the fallback reactor.
///
/// Use one factory per runtime.
///
/// # Example
///
/// ```
/// let rt = grove::Runtime::builder()
///     .workers(2)
///     .driver(grove::reactors())
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1), 2);
/// ```
pub fn reactors() -> impl Fn(usize) -> Box<dyn Driver> + Send + Sync + 'static {
    let group = Arc::new(Group::new());
    move |hub| match Core::new() {
        Ok(core) => Box::new(Reactor {
            core: Arc::new(core),
            group: Some((group.clone(), hub)),
        }),
        Err(_) => Box::new(grove_core::ThreadParker::new()),
    }
}

/// A hub's driver that is also its reactor: the hub idles in the poller, so
/// I/O readiness, timers and cross-hub wakeups all end the same wait. Made
/// per hub by [`reactors`].
///
/// # Example
///
/// ```
/// use grove::Driver;
/// let r = grove::Reactor::new().unwrap();
/// r.unpark();
/// r.park(None); // returns at once: the wakeup was kept
/// ```
pub struct Reactor {
    core: Arc<Core>,
    /// For a hub of a runtime built with [`reactors`]: the runtime's
    /// reactors (whose watch thread notices this one's events while its
    /// hub is busy, `watch.rs`) and the hub's index.
    group: Option<(Arc<Group>, usize)>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("registered", &lock(&self.core.entries).len())
            .finish()
    }
}

impl Reactor {
    /// A reactor of its own (one poller), watching no other.
    ///
    /// ```
    /// let r = grove::Reactor::new().unwrap();
    /// # drop(r);
    /// ```
    pub fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            core: Arc::new(Core::new()?),
            group: None,
        })
    }
}

impl Driver for Reactor {
    fn park(&self, timeout: Option<Duration>) {
        match &self.group {
            // A busy hub's quick look: its own reactor only.
            _ if timeout == Some(Duration::ZERO) => self.core.quick_look(),
            Some(_) => {
                self.core.parked.store(true, Ordering::Relaxed);
                self.core.poll(timeout);
                self.core.parked.store(false, Ordering::Relaxed);
            }
            None => self.core.poll(timeout),
        }
    }

    fn poll(&self) {
        if self.core.registered.load(Ordering::Relaxed) > 0 {
            self.core.poll(Some(Duration::ZERO));
        }
    }

    fn unpark(&self) {
        self.core.notify();
    }

    fn attach(&self) {
        HUB_REACTOR.with(|r| *r.borrow_mut() = Some(self.core.clone()));
        if let Some((group, hub)) = &self.group {
            group.join(*hub, &self.core);
        }
    }

    fn detach(&self) {
        HUB_REACTOR.with(|r| *r.borrow_mut() = None);
        if let Some((group, hub)) = &self.group {
            group.leave(*hub);
        }
        self.core.close();
    }

    fn registered(&self) -> Option<usize> {
        Some(lock(&self.core.entries).len())
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if let Some((group, hub)) = &self.group {
            group.leave(*hub);
        }
    }
}
