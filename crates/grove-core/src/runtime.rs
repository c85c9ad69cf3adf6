//! The runtime: its hubs, the state they share, building and shutting down.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::builder::RuntimeBuilder;
use crate::error::BuildError;
use crate::greenlet::Greenlet;
use crate::handoff::Handoff;
use crate::hub;
use crate::metrics::{Counters, HubMetrics};
use crate::park::Gen;
use crate::registry::Registry;
use crate::snapshot::Snapshot;
use crate::spawn::Builder;
use crate::stack::StackSource;
use crate::task::Task;
use crate::thread::Outside;
use crate::watch::{HubWatch, Watch};

/// The most hubs one runtime may have.
///
/// ```
/// let too_many = grove::Runtime::builder().workers(grove::MAX_WORKERS + 1).build();
/// assert!(too_many.is_err());
/// ```
pub const MAX_WORKERS: usize = 1024;

/// What every hub of a runtime can see of one hub.
/// (Its queues, inbox and driver are its [`Port`](crate::handoff::Port).)
pub(crate) struct HubShared {
    pub(crate) counters: Counters,
    /// What the watcher and snapshots read of it (`watch.rs`).
    pub(crate) watch: HubWatch,
}

/// The state a runtime's hubs share. Routing work to it is `wake.rs`.
pub(crate) struct Shared {
    /// Unique among runtimes, for the whole process.
    pub(crate) id: u64,
    pub(crate) hubs: Box<[HubShared]>,
    /// The queues, inboxes, drivers and idle state every thread reaches
    /// (`handoff.rs`).
    pub(crate) handoff: Handoff<Arc<Task>>,
    pub(crate) registry: Registry<crate::task::Task>,
    pub(crate) stacks: StackSource,
    pub(crate) spin: Duration,
    /// Green threads spawned here migrate unless spawned `pinned`.
    pub(crate) migrate: bool,
    /// The watcher's settings and its last deadlock report (`watch.rs`).
    pub(crate) watch: Watch,
    /// OS threads outside the runtime that act on it (`thread.rs`).
    pub(crate) outside: Outside,
}

impl Shared {
    /// Arms a timer any hub may fire (`Handoff::add_timer`).
    pub(crate) fn add_shared_timer(&self, deadline: Instant, task: Arc<Task>, gen: Gen) {
        self.handoff.add_timer(deadline, task, gen);
    }
}

/// A cheap, cloneable reference to a runtime, for spawning onto it from
/// anywhere.
///
/// # Example
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let handle = rt.handle().clone();
/// let answer = std::thread::spawn(move || handle.spawn(|| 40 + 2).join().unwrap())
///     .join()
///     .unwrap();
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.workers())
            .finish()
    }
}

/// Two handles are equal when they name the same runtime.
///
/// ```
/// let rt = grove::Runtime::builder().workers(1).build().unwrap();
/// assert!(rt.block_on(grove::Handle::current) == *rt.handle());
/// assert!(grove::Handle::current() != *rt.handle()); // the default runtime
/// ```
impl PartialEq for Handle {
    fn eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Handle {}

// grove's shared state stays consistent across a caught panic: its locks
// ignore poisoning and no invariant spans user code.
impl std::panic::UnwindSafe for Handle {}
impl std::panic::RefUnwindSafe for Handle {}
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl Handle {
    /// The runtime the caller runs on, or the default runtime (started on
    /// first use, with one hub per CPU) when called outside any runtime.
    ///
    /// ```
    /// let h = grove::Handle::current();
    /// assert!(h.workers() >= 1);
    /// ```
    pub fn current() -> Handle {
        match hub::current_hub() {
            Some(hub) => Handle {
                shared: hub.shared.clone(),
            },
            None => default_runtime().handle().clone(),
        }
    }

    /// How many hubs (worker OS threads) the runtime has.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.hubs.len()
    }

    /// Spawns a green thread on this runtime. Panics if the runtime has shut
    /// down; use [`Builder::spawn_on`] to get that as an error instead.
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().spawn(|| "hi").join().unwrap(), "hi");
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Greenlet<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match Builder::new().spawn_on(self, f) {
            Ok(g) => g,
            Err(e) => panic!("grove: spawn failed: {e}"),
        }
    }

    /// Runs `f` on a green thread of this runtime and blocks the caller (an
    /// OS thread, or a green thread) until it returns. A panic in `f` is
    /// resumed in the caller; if the green thread is killed, this panics.
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(|| 2 + 2), 4);
    /// ```
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn(f).join() {
            Ok(v) => v,
            Err(crate::Error::Panicked(p)) => std::panic::resume_unwind(p),
            Err(e) => panic!("grove: block_on: {e}"),
        }
    }

    /// A snapshot of every hub's counters.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().metrics().len(), 2);
    /// ```
    pub fn metrics(&self) -> Vec<HubMetrics> {
        self.shared
            .hubs
            .iter()
            .enumerate()
            .map(|(i, h)| h.counters.snapshot(i))
            .collect()
    }

    /// How many green threads of this runtime are alive (spawned, not finished).
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// rt.block_on(|| ());
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// assert_eq!(rt.handle().live(), 0);
    /// ```
    pub fn live(&self) -> usize {
        self.shared.registry.live()
    }

    /// Every hub and every live green thread of this runtime, with what each
    /// waits for (see [`Snapshot`]). Callable from anywhere, also while a
    /// hub is stuck; it does not stop the runtime.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(2).build().unwrap();
    /// let g = rt.spawn(grove::park);
    /// let snap = rt.handle().snapshot();
    /// assert_eq!(snap.hubs.len(), 2);
    /// assert!(snap.thread(g.id()).is_some());
    /// g.kill();
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::take(&self.shared)
    }

    /// How many stacks are held by green threads that have started and not
    /// finished (queued green threads hold none; finished ones gave theirs
    /// back to a pool).
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// let g = rt.spawn(grove::park);
    /// # while rt.handle().stacks_in_use() == 0 { std::thread::yield_now(); }
    /// assert_eq!(rt.handle().stacks_in_use(), 1);
    /// g.kill();
    /// // The stack goes back just after the green thread's last switch.
    /// while rt.handle().stacks_in_use() != 0 { std::thread::yield_now(); }
    /// ```
    pub fn stacks_in_use(&self) -> usize {
        // Per-hub counters written with plain stores by their own hub, so the
        // hot path pays no shared atomic; a stack may be taken on one hub and
        // given back on another, so only the sums mean anything.
        let (taken, given) = self.shared.hubs.iter().fold((0u64, 0u64), |(t, g), h| {
            (
                t + h
                    .counters
                    .stacks_taken
                    .load(std::sync::atomic::Ordering::Relaxed),
                g + h
                    .counters
                    .stacks_given
                    .load(std::sync::atomic::Ordering::Relaxed),
            )
        });
        taken.saturating_sub(given) as usize
    }
}

/// A set of hubs running green threads: gevent's hub, one per worker thread,
/// with idle hubs stealing work from busy ones.
///
/// Dropping a runtime shuts it down as [`Runtime::shutdown`] does.
///
/// # Example
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let gs: Vec<_> = (0..100).map(|i| rt.spawn(move || i * 2)).collect();
/// let sum: i32 = gs.into_iter().map(|g| g.join().unwrap()).sum();
/// assert_eq!(sum, 9900);
/// rt.shutdown();
/// ```
pub struct Runtime {
    pub(crate) handle: Handle,
    pub(crate) threads: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.workers())
            .finish()
    }
}

impl Runtime {
    /// A runtime with the default settings (one hub per CPU).
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(|| 7), 7);
    /// ```
    pub fn new() -> Result<Runtime, BuildError> {
        RuntimeBuilder::default().build()
    }

    /// Starts configuring a runtime.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 1);
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A handle for spawning onto this runtime from anywhere.
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// let h = rt.handle().clone();
    /// assert_eq!(h.spawn(|| 1).join().unwrap(), 1);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a green thread on this runtime (see [`Handle::spawn`]).
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// assert_eq!(rt.spawn(|| 5).join().unwrap(), 5);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Greenlet<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn(f)
    }

    /// Runs `f` on this runtime and waits for it (see [`Handle::block_on`]).
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(|| "done"), "done");
    /// ```
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.block_on(f)
    }

    /// A snapshot of every hub's counters (see [`HubMetrics`]).
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.metrics().len(), 2);
    /// ```
    pub fn metrics(&self) -> Vec<HubMetrics> {
        self.handle.metrics()
    }

    /// Every hub and every live green thread (see [`Handle::snapshot`]).
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(1).build().unwrap();
    /// println!("{}", rt.snapshot());
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        self.handle.snapshot()
    }

    /// Shuts the runtime down and waits for it.
    ///
    /// New spawns are refused ([`crate::SpawnError::ShutDown`]); every green
    /// thread still alive is killed: it unwinds from its current blocking
    /// point, running its destructors, and its joiners get
    /// [`crate::Error::Killed`]; green threads that never started are dropped
    /// unrun, also as `Killed`. Then the hubs stop and their threads are
    /// joined. A green thread that never blocks again (a CPU loop) keeps this
    /// waiting; see [`shutdown_timeout`](Runtime::shutdown_timeout).
    ///
    /// Panics if called from one of this runtime's own green threads, which
    /// could never see itself finish.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = grove::Runtime::new().unwrap();
    /// let g = rt.spawn(|| grove::sleep(Duration::from_secs(3600)));
    /// rt.shutdown();
    /// assert!(matches!(g.join(), Err(grove::Error::Killed)));
    /// ```
    pub fn shutdown(mut self) {
        self.stop(None);
    }

    /// Like [`shutdown`](Runtime::shutdown), waiting at most `timeout` for the
    /// killed green threads to finish. Returns false if some did not: their
    /// hubs are left to stop on their own when those green threads next block,
    /// and their stacks are never freed (they still hold frames).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = grove::Runtime::new().unwrap();
    /// rt.spawn(|| grove::park());
    /// assert!(rt.shutdown_timeout(Duration::from_secs(5)));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> bool {
        self.stop(Some(timeout))
    }

    fn stop(&mut self, timeout: Option<Duration>) -> bool {
        if self.threads.is_empty() {
            return true;
        }
        let shared = self.handle.shared.clone();
        if let Some(hub) = hub::current_hub() {
            if Arc::ptr_eq(&hub.shared, &shared) && hub::current_task().is_some() {
                panic!("grove: a runtime cannot be shut down from one of its own green threads");
            }
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        for task in shared.registry.close() {
            let n = task.request_kill(None);
            crate::wake::wake(task, n);
        }
        let drained = shared.registry.wait_drained(deadline);
        shared.handoff.stop();
        shared.watch.wake();
        let threads = std::mem::take(&mut self.threads);
        if drained {
            for t in threads {
                let _ = t.join();
            }
        }
        drained
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.stop(None);
        }
    }
}

static DEFAULT: OnceLock<Runtime> = OnceLock::new();

/// The runtime `grove::spawn` uses outside any runtime; started on first use
/// with one hub per CPU, idling in the default drivers (see
/// `set_default_drivers`), and never shut down.
pub(crate) fn default_runtime() -> &'static Runtime {
    DEFAULT.get_or_init(|| match Runtime::builder().thread_name("grove").build() {
        Ok(rt) => rt,
        Err(e) => panic!("grove: could not start the default runtime: {e}"),
    })
}
