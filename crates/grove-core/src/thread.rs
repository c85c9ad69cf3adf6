//! The calling thread of control, green or OS, in `std::thread`'s shape:
//! [`current`], [`park`], [`park_timeout`], [`sleep`], [`yield_now`].
//!
//! Inside a green thread these block only the green thread: it switches to
//! its hub, which runs others. On a plain OS thread they block the OS thread,
//! through the same park state machine (`park.rs`) and a per-thread parker.
//!
//! A green thread that blocks while it is unwinding (a destructor running
//! during a panic or a kill) parks like any other: it switches to its hub,
//! which goes on running other green threads, firing timers and polling its
//! reactor. Its unwinding never leaves its OS thread (a started green thread
//! keeps its hub, and a migrating one binds itself there first), so std's
//! per-thread panic count goes up and down on one thread. The park is
//! *shielded*: a kill neither ends it nor is raised from it, since raising
//! inside a destructor during cleanup would abort the process; the kill
//! stays pending for the next blocking point outside cleanup.
//!
//! What the other green threads of that hub see meanwhile: std keeps the
//! panic count per OS thread, so while one green thread is parked
//! mid-unwind, `std::thread::panicking()` is true in every other green
//! thread that runs on the same hub (and a `std::sync::MutexGuard` dropped
//! there poisons its mutex). grove cannot change std's count; it decides
//! for itself with [`block`]'s rule below.

use std::cell::RefCell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::driver::{Driver, ThreadParker};
use crate::error::GreenletExit;
use crate::hub::{self, current_task};
use crate::park::{Begin, How, Mode, Notify, ParkState, Wake};
use crate::reason::WaitReason;
use crate::runtime::Shared;
use crate::switch::{switch_out, PARK, YIELD};
use crate::task::{next_id, Task};

/// A unique identifier for a green thread or an OS thread seen by grove.
///
/// ```
/// let a = grove::current().id();
/// let b = grove::spawn(grove::current).join().unwrap().id();
/// assert_ne!(a, b);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    pub(crate) fn from_raw(id: u64) -> ThreadId {
        ThreadId::new(id)
    }

    fn new(id: u64) -> ThreadId {
        ThreadId(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number.
    ///
    /// ```
    /// assert!(grove::current().id().as_u64() > 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A plain OS thread's park state and parker.
pub(crate) struct OsThread {
    id: u64,
    name: Option<Box<str>>,
    state: ParkState,
    pub(crate) parker: ThreadParker,
    /// Blocked in grove now without a deadline (`block`): it cannot act
    /// until woken.
    parked: AtomicBool,
    /// The OS thread has ended.
    exited: AtomicBool,
}

/// The calling OS thread's record; marks it exited when the thread ends.
struct OsThreadSlot(Arc<OsThread>);

impl Drop for OsThreadSlot {
    fn drop(&mut self) {
        self.0.exited.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static OS_THREAD: OsThreadSlot = OsThreadSlot(Arc::new(OsThread {
        id: next_id(),
        name: std::thread::current().name().map(Into::into),
        state: ParkState::new(),
        parker: ThreadParker::new(),
        parked: AtomicBool::new(false),
        exited: AtomicBool::new(false),
    }));
    /// The runtimes (by id) this OS thread has joined as an outside party.
    static JOINED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

fn os_thread() -> Arc<OsThread> {
    OS_THREAD.with(|s| s.0.clone())
}

/// The OS threads outside a runtime that act on it: those that spawned
/// onto it or wait for one of its green threads. Deadlock detection
/// (`deadlock.rs`) counts on them only while they are parked in grove.
#[derive(Default)]
pub(crate) struct Outside {
    threads: Mutex<Vec<Arc<OsThread>>>,
}

fn lock_outside(o: &Outside) -> std::sync::MutexGuard<'_, Vec<Arc<OsThread>>> {
    o.threads.lock().unwrap_or_else(|p| p.into_inner())
}

/// The calling thread, if it is not one of `shared`'s hubs, joins the
/// outside parties of `shared` (once). A hub of another runtime joins too:
/// it is never parked in place, so it keeps `shared` from being reported
/// deadlocked for as long as it runs (its green threads may act on
/// `shared`'s objects).
pub(crate) fn join_outside(shared: &Shared) {
    if hub::current_hub().is_some_and(|h| h.shared.id == shared.id) {
        return;
    }
    let known = JOINED
        .try_with(|j| {
            let mut j = j.borrow_mut();
            if j.contains(&shared.id) {
                true
            } else {
                j.push(shared.id);
                false
            }
        })
        .unwrap_or(true);
    if !known {
        let me = os_thread();
        let mut all = lock_outside(&shared.outside);
        all.retain(|t| !t.exited.load(Ordering::SeqCst));
        all.push(me);
    }
}

/// Whether every outside party of `shared` has exited or is parked in grove.
pub(crate) fn outside_quiet(shared: &Shared) -> bool {
    lock_outside(&shared.outside)
        .iter()
        .all(|t| t.exited.load(Ordering::SeqCst) || t.parked.load(Ordering::SeqCst))
}

/// Wakes every outside party of `shared` parked in grove, to look at a
/// deadlock report (their waits allow spurious wakes).
pub(crate) fn wake_outside(shared: &Shared) {
    let all: Vec<Arc<OsThread>> = lock_outside(&shared.outside).clone();
    for t in all {
        if t.parked.load(Ordering::SeqCst) {
            Thread {
                inner: Inner::Os(t),
                counted: false,
            }
            .unpark();
        }
    }
}

/// The id of the calling green thread, or of the calling OS thread.
pub(crate) fn current_id() -> u64 {
    match current_task() {
        Some(task) => task.id,
        None => OS_THREAD.with(|o| o.0.id),
    }
}

#[derive(Clone)]
enum Inner {
    Green(Arc<Task>),
    Os(Arc<OsThread>),
}

/// A handle to a green thread or an OS thread: its id, its name, and
/// [`unpark`](Thread::unpark). Cloneable and `Send`, like
/// `std::thread::Thread`.
///
/// # Example
///
/// ```
/// let waiter = grove::spawn(|| {
///     grove::park();
///     "woken"
/// });
/// waiter.thread().unpark(); // before or after the park: never lost
/// assert_eq!(waiter.join().unwrap(), "woken");
/// ```
pub struct Thread {
    inner: Inner,
    /// A handle the program holds (from [`current`] or
    /// `Greenlet::thread`), counted in `Task::handles`: deadlock detection
    /// knows someone may unpark that green thread. grove's own wakers (in
    /// wait lists) are not counted.
    counted: bool,
}

impl Clone for Thread {
    fn clone(&self) -> Thread {
        if let (Inner::Green(task), true) = (&self.inner, self.counted) {
            task.handles.fetch_add(1, Ordering::Relaxed);
        }
        Thread {
            inner: self.inner.clone(),
            counted: self.counted,
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if let (Inner::Green(task), true) = (&self.inner, self.counted) {
            task.handles.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("green", &self.is_green())
            .finish()
    }
}

// Unparking from a caught panic cannot observe broken state.
impl std::panic::UnwindSafe for Thread {}
impl std::panic::RefUnwindSafe for Thread {}

impl Thread {
    /// A handle for the program (counted, see `counted`).
    pub(crate) fn from_task(task: Arc<Task>) -> Thread {
        task.handles.fetch_add(1, Ordering::Relaxed);
        Thread {
            inner: Inner::Green(task),
            counted: true,
        }
    }

    /// A handle grove keeps in a wait list (not counted).
    pub(crate) fn waker(task: Arc<Task>) -> Thread {
        Thread {
            inner: Inner::Green(task),
            counted: false,
        }
    }

    /// The thread's unique id.
    ///
    /// ```
    /// let t = grove::current();
    /// assert_eq!(t.id(), t.clone().id());
    /// ```
    pub fn id(&self) -> ThreadId {
        ThreadId::new(match &self.inner {
            Inner::Green(t) => t.id,
            Inner::Os(o) => o.id,
        })
    }

    /// The thread's name, if it has one.
    ///
    /// ```
    /// let g = grove::Builder::new()
    ///     .name("worker")
    ///     .spawn(|| grove::current().name().map(String::from))
    ///     .unwrap();
    /// assert_eq!(g.join().unwrap().as_deref(), Some("worker"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        match &self.inner {
            Inner::Green(t) => t.name.as_deref(),
            Inner::Os(o) => o.name.as_deref(),
        }
    }

    /// Whether this is a green thread (false: a plain OS thread).
    ///
    /// ```
    /// assert!(!grove::current().is_green());
    /// assert!(grove::spawn(|| grove::current().is_green()).join().unwrap());
    /// ```
    pub fn is_green(&self) -> bool {
        matches!(self.inner, Inner::Green(_))
    }

    /// Makes the thread's token available, waking it if it is in [`park`] or
    /// [`park_timeout`]. Callable from any green thread, hub or OS thread.
    /// A token given before the park is kept (std's semantics); tokens do not
    /// add up. An unpark never ends a [`sleep`].
    ///
    /// ```
    /// let me = grove::current();
    /// me.unpark();
    /// grove::park(); // returns at once: the token was there
    /// ```
    pub fn unpark(&self) {
        match &self.inner {
            Inner::Green(task) => crate::wake::wake(task.clone(), task.state.unpark()),
            Inner::Os(os) => {
                if os.state.unpark() == Notify::WakeInPlace {
                    os.parker.unpark();
                }
            }
        }
    }
}

/// A handle to the calling green thread, or to the calling OS thread outside
/// the runtime.
///
/// ```
/// let t = grove::current();
/// assert!(!t.is_green());
/// ```
pub fn current() -> Thread {
    match current_arc() {
        Some(task) => Thread::from_task(task),
        None => os_handle(),
    }
}

/// A waker for the calling thread, for grove's wait lists (not counted as
/// a handle the program holds; see `Thread::counted`).
pub(crate) fn current_waker() -> Thread {
    match current_arc() {
        Some(task) => Thread::waker(task),
        None => os_handle(),
    }
}

fn os_handle() -> Thread {
    Thread {
        inner: Inner::Os(os_thread()),
        counted: false,
    }
}

/// One more reference to the running green thread's task.
fn current_arc() -> Option<Arc<Task>> {
    let task = current_task()?;
    let p: *const Task = task;
    // SAFETY: `p` comes from a live Arc<Task> (the running task is
    // registered until it ends); taking one more strong reference.
    Some(unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    })
}

/// The index of the hub the calling green thread runs on (`None` on an OS
/// thread that is not a hub). It never changes once a green thread has
/// started, unless it migrates ([`Builder::allow_migration`](crate::Builder::allow_migration)).
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let i = rt.block_on(|| grove::hub_index()).unwrap();
/// assert!(i < 2);
/// assert_eq!(grove::hub_index(), None);
/// ```
pub fn hub_index() -> Option<usize> {
    hub::current_hub().map(|h| h.index)
}

/// Blocks the caller until `deadline` (if any) or a wake, through the park
/// state machine. The single place where every kind of park happens.
///
/// An active [`Timeout`](crate::Timeout) of the caller caps the deadline;
/// when the park ends at that cap, this unwinds with its `Expired`
/// (`timeout.rs`). A park the cap ended without raising (the timeout was
/// cancelled meanwhile) reports a spurious wake.
pub(crate) fn block(mode: Mode, deadline: Option<Instant>, reason: WaitReason) -> Wake {
    let timeouts = match current_task() {
        Some(task) => crate::timeout::any_in(task),
        None => crate::timeout::any_os(),
    };
    if !timeouts {
        return block_uncapped(mode, deadline, reason);
    }
    let capped = match (crate::timeout::limit(), deadline) {
        (Some(cap), Some(d)) if cap < d => Some(cap),
        (Some(cap), None) => Some(cap),
        _ => None,
    };
    if capped.is_none() {
        return block_uncapped(mode, deadline, reason);
    }
    crate::timeout::raise_due();
    match block_uncapped(mode, capped, reason) {
        Wake::TimedOut => {
            crate::timeout::raise_due();
            Wake::Unparked
        }
        w => w,
    }
}

fn block_uncapped(mode: Mode, deadline: Option<Instant>, reason: WaitReason) -> Wake {
    match current_task() {
        Some(task) => block_green(task, mode, deadline, reason),
        None => {
            let os = os_thread();
            // Parked for good, as far as deadlock detection goes, only
            // without a deadline: a timed wait ends by itself and acts.
            let untimed = deadline.is_none();
            if untimed {
                os.parked.store(true, Ordering::SeqCst);
            }
            let w = block_in_place(&os.state, &os.parker, mode, deadline);
            if untimed {
                os.parked.store(false, Ordering::SeqCst);
            }
            w
        }
    }
}

/// The calling green thread is about to block or yield: records whether it
/// is unwinding, binds a migrating green thread to its hub while it is (it
/// must finish unwinding on the OS thread where std counted its panic) and
/// frees it again when it is not, and returns whether the park must be
/// shielded from kills.
///
/// "Unwinding" is std's per-OS-thread `panicking()`, read here, at each
/// blocking point, and remembered per green thread (`Task::unwinding`). It
/// is exact unless another green thread of the same hub is parked
/// mid-unwind at that moment; then this one is shielded too, for that park
/// only: the hub ends every shielded park as soon as none of its green
/// threads is unwinding (`Hub::unshield_all`), and a kill that came
/// meanwhile is delivered as that park ends, never inside a destructor
/// during cleanup (which would abort the process).
fn enter_block(task: &Task) -> bool {
    let unwinding = std::thread::panicking();
    task.set_unwinding(unwinding);
    if task.migrate {
        let here = hub::current_hub().map(|h| h.index);
        task.set_migrating_home(if unwinding { here } else { None });
    }
    unwinding
}

fn block_green(task: &Task, mode: Mode, deadline: Option<Instant>, reason: WaitReason) -> Wake {
    task.waiting.set(reason, deadline);
    crate::trace::park(task, &reason);
    let how = if enter_block(task) {
        How::Shielded
    } else {
        How::Switch
    };
    let gen = match task.state.begin(mode, how) {
        Begin::Ready(w) => return w,
        Begin::Parking(g) => g,
    };
    if let Some(d) = deadline {
        let p: *const Task = task;
        // SAFETY: as in `current`: one more reference to a live task.
        let arc = unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        };
        match hub::current_hub() {
            Some(h) if task.home() == Some(h.index) => h.add_timer(d, arc, gen),
            _ => task.shared.add_shared_timer(d, arc, gen),
        }
    }
    switch_out(PARK);
    // Shielded only if it still must be: a park shielded because another
    // green thread of the hub was mid-unwind is ended by the hub once none
    // is (`Hub::unshield_all`), and then delivers a pending kill at once,
    // instead of returning as if unparked. A green thread unwinding itself
    // is still unwinding here (its panic count is on this OS thread).
    task.state
        .resumed(task.unwinding() && std::thread::panicking())
}

fn block_in_place(
    state: &ParkState,
    parker: &ThreadParker,
    mode: Mode,
    deadline: Option<Instant>,
) -> Wake {
    let gen = match state.begin(mode, How::InPlace) {
        Begin::Ready(w) => return w,
        Begin::Parking(g) => g,
    };
    loop {
        if state.is_running() {
            return state.resumed(true);
        }
        match deadline {
            None => parker.park(None),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => parker.park(Some(left)),
                // Our own timeout: if we win, we are running; if an unpark
                // won first, we are running too. Either way, loop once more.
                _ => {
                    state.timeout(gen);
                }
            },
        }
    }
}

/// Unwinds the calling green thread with the pending kill's payload:
/// [`GreenletExit`], or the value given to `Greenlet::throw`.
pub(crate) fn raise_kill() -> ! {
    match current_task() {
        Some(task) => std::panic::resume_unwind(task.take_thrown()),
        None => std::panic::resume_unwind(Box::new(GreenletExit)),
    }
}

/// Blocks the calling green thread (or OS thread) until its token is
/// available, then consumes it. May return spuriously: call it in a loop that
/// checks your condition, as with `std::thread::park`.
///
/// Inside a green thread this is a kill point: a pending kill unwinds it.
///
/// ```
/// let me = grove::current();
/// let waker = grove::spawn(move || me.unpark());
/// grove::park();
/// waker.join().unwrap();
/// ```
pub fn park() {
    park_because(WaitReason::Park { label: None });
}

/// [`park`], with a label that snapshots and deadlock reports show as what
/// the green thread waits for (for a primitive of your own built on
/// `park`/`unpark`).
///
/// ```
/// let me = grove::current();
/// me.unpark();
/// grove::park_with("my condition"); // returns at once: the token was there
/// ```
pub fn park_with(label: &'static str) {
    park_because(WaitReason::Park { label: Some(label) });
}

/// [`park`], recording `reason`.
pub(crate) fn park_because(reason: WaitReason) {
    if block(Mode::Park, None, reason) == Wake::Killed {
        raise_kill();
    }
}

/// Parks until unparked or `deadline`, recording `reason`; a kill unwinds.
/// Returns whether the deadline passed first.
pub(crate) fn park_until(reason: WaitReason, deadline: Option<Instant>) -> bool {
    match block(Mode::Park, deadline, reason) {
        Wake::Killed => raise_kill(),
        Wake::TimedOut => true,
        Wake::Unparked => false,
    }
}

/// The result of [`park_timeout`]: whether the park ended by timing out.
///
/// ```
/// use std::time::Duration;
/// let r = grove::park_timeout(Duration::from_millis(1));
/// assert!(r.timed_out());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct ParkTimeoutResult(bool);

impl ParkTimeoutResult {
    /// True if the timeout passed before any unpark.
    ///
    /// ```
    /// grove::current().unpark();
    /// let r = grove::park_timeout(std::time::Duration::from_secs(5));
    /// assert!(!r.timed_out());
    /// ```
    pub fn timed_out(self) -> bool {
        self.0
    }
}

/// Like [`park`], but gives up after `timeout`, and says which happened.
/// Exactly one outcome is reported: a token that arrives as the timer fires
/// is either consumed (not timed out) or left for the next park (timed out).
///
/// ```
/// use std::time::Duration;
/// let g = grove::spawn(|| grove::park_timeout(Duration::from_millis(5)).timed_out());
/// assert!(g.join().unwrap());
/// ```
pub fn park_timeout(timeout: Duration) -> ParkTimeoutResult {
    let deadline = Instant::now().checked_add(timeout);
    ParkTimeoutResult(park_until(WaitReason::Park { label: None }, deadline))
}

/// Puts the calling green thread (or OS thread) to sleep for at least `dur`.
/// Only a kill ends it early; unparks during the sleep keep their token.
/// `sleep(Duration::ZERO)` is [`yield_now`] (gevent's `sleep(0)`).
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// grove::spawn(|| grove::sleep(Duration::from_millis(10))).join().unwrap();
/// assert!(t.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        return yield_now();
    }
    let Some(deadline) = Instant::now().checked_add(dur) else {
        loop {
            if block(Mode::Sleep, None, WaitReason::Sleep) == Wake::Killed {
                raise_kill();
            }
        }
    };
    while Instant::now() < deadline {
        if block(Mode::Sleep, Some(deadline), WaitReason::Sleep) == Wake::Killed {
            raise_kill();
        }
    }
}

/// Lets the hub run other green threads: the caller goes to the back of its
/// hub's run queue (gevent's `sleep(0)`). On an OS thread, yields the OS
/// thread. A kill point.
///
/// ```
/// let g = grove::spawn(|| { grove::yield_now(); 1 });
/// assert_eq!(g.join().unwrap(), 1);
/// ```
pub fn yield_now() {
    match current_task() {
        Some(task) => {
            if !enter_block(task) {
                if task.state.take_kill() {
                    raise_kill();
                }
                if crate::timeout::any_in(task) {
                    crate::timeout::raise_due_in(task);
                }
            }
            switch_out(YIELD);
        }
        None => {
            crate::timeout::raise_due();
            std::thread::yield_now()
        }
    }
}
