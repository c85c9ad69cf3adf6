//! The runtime: its hubs, the state they share, building and shutting down.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Stealer, Worker};

use crate::driver::{self, Driver, DriverFactory, ThreadParker};
use crate::error::BuildError;
use crate::greenlet::Greenlet;
use crate::hub::{self, Hub};
use crate::idle::Idle;
use crate::inbox::Inbox;
use crate::metrics::{Counters, HubMetrics};
use crate::overflow;
use crate::park::Gen;
use crate::registry::Registry;
use crate::spawn::Builder;
use crate::stack::{self, StackSource};
use crate::task::Task;
use crate::timer::SharedTimers;

/// The most hubs one runtime may have.
///
/// ```
/// let too_many = grove_core::Runtime::builder().workers(grove_core::MAX_WORKERS + 1).build();
/// assert!(too_many.is_err());
/// ```
pub const MAX_WORKERS: usize = 1024;

/// What every hub of a runtime can see of one hub.
pub(crate) struct HubShared {
    pub(crate) stealer: Stealer<Arc<Task>>,
    /// Green threads bound to this hub, woken from elsewhere (`inbox.rs`).
    pub(crate) inbox: Inbox<Arc<Task>>,
    pub(crate) driver: Box<dyn Driver>,
    pub(crate) counters: Counters,
}

/// The state a runtime's hubs share. Routing work to it is `wake.rs`.
pub(crate) struct Shared {
    pub(crate) hubs: Box<[HubShared]>,
    pub(crate) injector: Injector<Arc<Task>>,
    pub(crate) idle: Idle,
    pub(crate) registry: Registry,
    pub(crate) stacks: StackSource,
    /// Timers of parks that any hub may end: `spawn_later` green threads
    /// not started yet, and migrating green threads.
    pub(crate) timers: SharedTimers,
    pub(crate) spin: Duration,
    /// Green threads spawned here migrate unless spawned `pinned`.
    pub(crate) migrate: bool,
    pub(crate) stopping: AtomicBool,
}

impl Shared {
    /// Arms a timer any hub may fire. If it is now the earliest, wakes a
    /// sleeping hub (unless one searches), so that no hub sleeps past it:
    /// the timer's store and `notify`'s fence pair with `Hub::sleep`'s
    /// `go_to_sleep` fence and its read of the earliest deadline.
    pub(crate) fn add_shared_timer(&self, deadline: Instant, task: Arc<Task>, gen: Gen) {
        if self.timers.insert(deadline, task, gen) {
            self.notify();
        }
    }
}

/// A cheap, cloneable reference to a runtime, for spawning onto it from
/// anywhere.
///
/// # Example
///
/// ```
/// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
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
    /// let h = grove_core::Handle::current();
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
    /// let rt = grove_core::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.hubs.len()
    }

    /// Spawns a green thread on this runtime. Panics if the runtime has shut
    /// down; use [`Builder::spawn_on`] to get that as an error instead.
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
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
    /// let rt = grove_core::Runtime::new().unwrap();
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
    /// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
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
    /// let rt = grove_core::Runtime::new().unwrap();
    /// rt.block_on(|| ());
    /// # std::thread::sleep(std::time::Duration::from_millis(10));
    /// assert_eq!(rt.handle().live(), 0);
    /// ```
    pub fn live(&self) -> usize {
        self.shared.registry.live()
    }

    /// How many stacks are held by green threads that have started and not
    /// finished (queued green threads hold none; finished ones gave theirs
    /// back to a pool).
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
    /// let g = rt.spawn(grove_core::park);
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

/// Configures and starts a [`Runtime`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// let rt = grove_core::Runtime::builder()
///     .workers(2)
///     .stack_size(256 * 1024)
///     .spin(Duration::from_micros(20))
///     .thread_name("my-hub")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 1), 1);
/// ```
pub struct RuntimeBuilder {
    workers: usize,
    stack_size: usize,
    guard_pages: bool,
    spin: Duration,
    thread_name: String,
    driver: Option<DriverFactory>,
    migrate: bool,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("workers", &self.workers)
            .field("stack_size", &self.stack_size)
            .field("guard_pages", &self.guard_pages)
            .field("spin", &self.spin)
            .field("migrate", &self.migrate)
            .finish_non_exhaustive()
    }
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            workers: num_cpus::get().max(1),
            stack_size: stack::DEFAULT_STACK,
            guard_pages: true,
            spin: Duration::from_micros(50),
            thread_name: "grove-hub".to_string(),
            driver: None,
            migrate: false,
        }
    }
}

impl RuntimeBuilder {
    /// Number of hubs (worker OS threads). Default: the number of CPUs.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 2);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Default stack size for green threads, in bytes (rounded up to pages;
    /// 16 KiB to 1 GiB). Default: 128 KiB.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().stack_size(1 << 20).build().unwrap();
    /// rt.block_on(|| { let big = [0u8; 512 * 1024]; std::hint::black_box(&big); });
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Whether each stack gets its own mapping and a guard page (default:
    /// true). `false` carves stacks from slabs, so a process can hold far more
    /// green threads than `vm.max_map_count / 2`; overflows are then caught by
    /// a canary checked at every switch instead of a guard page.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().guard_pages(false).build().unwrap();
    /// assert_eq!(rt.block_on(|| 1), 1);
    /// ```
    pub fn guard_pages(mut self, on: bool) -> Self {
        self.guard_pages = on;
        self
    }

    /// How long an idle hub searches other hubs for work before it sleeps.
    /// Default: 50 µs, a little more than it costs to wake a sleeping CPU.
    /// After the first 5 µs the hub yields its CPU (`sched_yield`) between
    /// two looks, so other threads on the same core run during the rest.
    ///
    /// ```
    /// // Never spin: sleep as soon as there is nothing to steal.
    /// let rt = grove_core::Runtime::builder().spin(std::time::Duration::ZERO).build().unwrap();
    /// assert_eq!(rt.block_on(|| 1), 1);
    /// ```
    pub fn spin(mut self, d: Duration) -> Self {
        self.spin = d;
        self
    }

    /// Prefix of the hub threads' names (`{prefix}-{index}`). Default: `grove-hub`.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().thread_name("web").build().unwrap();
    /// let name = rt.block_on(|| std::thread::current().name().map(String::from));
    /// assert!(name.unwrap().starts_with("web-"));
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// How each hub waits when idle: `f(hub_index)` makes hub `hub_index`'s
    /// [`Driver`]. Default: the drivers set by
    /// [`set_default_drivers`](crate::set_default_drivers) (grove-io's
    /// reactors, once grove-io is used), else a [`ThreadParker`] per hub.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder()
    ///     .driver(|_hub| Box::new(grove_core::ThreadParker::new()))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(|| 1), 1);
    /// ```
    pub fn driver<F>(mut self, f: F) -> Self
    where
        F: Fn(usize) -> Box<dyn Driver> + Send + Sync + 'static,
    {
        self.driver = Some(Box::new(f));
        self
    }

    /// Lets every green thread spawned on this runtime move to another hub
    /// at any blocking point, as [`Builder::allow_migration`] does for one,
    /// except those spawned with [`Builder::pinned`] or [`Builder::hub`].
    /// Default: off (a started green thread keeps the OS thread it started
    /// on).
    ///
    /// # Safety
    ///
    /// The caller promises for *every* green thread spawned on this runtime
    /// what [`Builder::allow_migration`] asks of one: no OS-thread-bound state
    /// (a `thread_local!` or a reference into one, values derived from one
    /// such as `std::io::stdout().lock()` or a tokio `EnterGuard`, any
    /// `!Send` guard such as `std::sync::MutexGuard`) is live in any of its
    /// frames across a blocking point, in its own code or in any library it
    /// calls. Breaking that promise is undefined behaviour.
    ///
    /// ```
    /// // SAFETY: these green threads only compute and sleep; they hold no
    /// // thread-local state across a blocking point.
    /// let rt = unsafe { grove_core::Runtime::builder().allow_migration() }
    ///     .workers(2)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(|| { grove_core::yield_now(); 1 }), 1);
    /// ```
    pub unsafe fn allow_migration(mut self) -> Self {
        self.migrate = true;
        self
    }

    /// Starts the hubs.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().build().unwrap();
    /// assert!(rt.handle().workers() >= 1);
    /// ```
    pub fn build(self) -> Result<Runtime, BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if self.workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers {
                requested: self.workers,
                max: MAX_WORKERS,
            });
        }
        let stack_size = stack::validate_size(self.stack_size).map_err(BuildError::StackSize)?;
        overflow::install_handler();
        let drivers = self.driver.or_else(driver::default_drivers);
        let workers: Vec<Worker<Arc<Task>>> =
            (0..self.workers).map(|_| Worker::new_fifo()).collect();
        let hubs = workers
            .iter()
            .enumerate()
            .map(|(i, w)| HubShared {
                stealer: w.stealer(),
                inbox: Inbox::new(),
                driver: match &drivers {
                    Some(f) => f(i),
                    None => Box::new(ThreadParker::new()),
                },
                counters: Counters::default(),
            })
            .collect();
        let shared = Arc::new(Shared {
            hubs,
            injector: Injector::new(),
            idle: Idle::new(self.workers),
            registry: Registry::new(),
            stacks: StackSource::new(self.guard_pages, stack_size),
            timers: SharedTimers::new(),
            spin: self.spin,
            migrate: self.migrate,
            stopping: AtomicBool::new(false),
        });
        let mut rt = Runtime {
            handle: Handle {
                shared: shared.clone(),
            },
            threads: Vec::with_capacity(self.workers),
        };
        for (i, w) in workers.into_iter().enumerate() {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{i}", self.thread_name))
                .spawn(move || Hub::run(shared, i, w));
            match spawned {
                Ok(h) => rt.threads.push(h),
                Err(e) => return Err(BuildError::Thread(e)),
            }
        }
        Ok(rt)
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
/// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
/// let gs: Vec<_> = (0..100).map(|i| rt.spawn(move || i * 2)).collect();
/// let sum: i32 = gs.into_iter().map(|g| g.join().unwrap()).sum();
/// assert_eq!(sum, 9900);
/// rt.shutdown();
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<JoinHandle<()>>,
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
    /// let rt = grove_core::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(|| 7), 7);
    /// ```
    pub fn new() -> Result<Runtime, BuildError> {
        RuntimeBuilder::default().build()
    }

    /// Starts configuring a runtime.
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 1);
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// A handle for spawning onto this runtime from anywhere.
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
    /// let h = rt.handle().clone();
    /// assert_eq!(h.spawn(|| 1).join().unwrap(), 1);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a green thread on this runtime (see [`Handle::spawn`]).
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
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
    /// let rt = grove_core::Runtime::new().unwrap();
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
    /// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.metrics().len(), 2);
    /// ```
    pub fn metrics(&self) -> Vec<HubMetrics> {
        self.handle.metrics()
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
    /// let rt = grove_core::Runtime::new().unwrap();
    /// let g = rt.spawn(|| grove_core::sleep(Duration::from_secs(3600)));
    /// rt.shutdown();
    /// assert!(matches!(g.join(), Err(grove_core::Error::Killed)));
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
    /// let rt = grove_core::Runtime::new().unwrap();
    /// rt.spawn(|| grove_core::park());
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
            let n = task.state.kill();
            crate::wake::wake(task, n);
        }
        let drained = shared.registry.wait_drained(deadline);
        shared.stopping.store(true, Ordering::SeqCst);
        for hub in shared.hubs.iter() {
            hub.driver.unpark();
        }
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
