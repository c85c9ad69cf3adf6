//! [`RuntimeBuilder`]: a runtime's settings, and starting its hubs and
//! its watcher.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::driver::{self, Driver, DriverFactory, ThreadParker};
use crate::error::BuildError;
use crate::handoff::Handoff;
use crate::hub::Hub;
use crate::metrics::Counters;
use crate::overflow;
use crate::registry::Registry;
use crate::runtime::{Handle, HubShared, Runtime, Shared, MAX_WORKERS};
use crate::stack::{self, StackSource};
use crate::watch::{self, HubWatch, Watch, WatchConfig};

/// Configures and starts a [`Runtime`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// let rt = grove::Runtime::builder()
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
    max_stacks: Option<usize>,
    spin: Duration,
    thread_name: String,
    driver: Option<DriverFactory>,
    migrate: bool,
    watch: WatchConfig,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("workers", &self.workers)
            .field("stack_size", &self.stack_size)
            .field("guard_pages", &self.guard_pages)
            .field("max_stacks", &self.max_stacks)
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
            max_stacks: None,
            spin: Duration::from_micros(50),
            thread_name: "grove-hub".to_string(),
            driver: None,
            migrate: false,
            watch: WatchConfig::default(),
        }
    }
}

impl RuntimeBuilder {
    /// Number of hubs (worker OS threads). Default: the number of CPUs.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().workers(), 2);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Default stack size for green threads, in bytes (rounded up to pages;
    /// 16 KiB to 1 GiB). Default: 2 MiB, as for `std::thread::spawn`; pages
    /// are committed only when touched.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().stack_size(1 << 20).build().unwrap();
    /// rt.block_on(|| { let big = [0u8; 512 * 1024]; std::hint::black_box(&big); });
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Whether stacks have guard pages (default: true), so that running off
    /// a stack faults at once and is reported. On Linux 6.13 and later the
    /// guards are guard regions inside slabs of stacks, one kernel mapping
    /// per 128 stacks; on older kernels each guarded stack is a mapping of
    /// its own plus a guard page, up to half of `vm.max_map_count`, and
    /// further stacks come from slabs with canaries. `false` carves every
    /// stack from slabs without guards: overflows are then caught by a
    /// canary checked at every switch, after the fact.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().guard_pages(false).build().unwrap();
    /// assert_eq!(rt.block_on(|| 1), 1);
    /// ```
    pub fn guard_pages(mut self, on: bool) -> Self {
        self.guard_pages = on;
        self
    }

    /// At most `n` green threads started and unfinished at once (each holds
    /// a stack); default: no limit but the kernel's (see
    /// `SpawnError::MapLimit`). A green thread that would be one too many
    /// finishes without running, with
    /// `Error::Spawn(SpawnError::StackLimit { .. })`, and a server reports
    /// it and pauses accepting. Bounds a program's stack memory; green
    /// threads queued and not started hold no stack and do not count.
    ///
    /// ```
    /// use grove::{Error, SpawnError};
    /// let rt = grove::Runtime::builder().max_stacks(1).build().unwrap();
    /// let outcome = rt.block_on(|| grove::spawn(|| ()).join());
    /// assert!(matches!(outcome, Err(Error::Spawn(SpawnError::StackLimit { limit: 1 }))));
    /// ```
    pub fn max_stacks(mut self, n: usize) -> Self {
        self.max_stacks = Some(n);
        self
    }

    /// How long an idle hub searches other hubs for work before it sleeps.
    /// Default: 50 µs, a little more than it costs to wake a sleeping CPU.
    /// After the first 5 µs the hub yields its CPU (`sched_yield`) between
    /// two looks, so other threads on the same core run during the rest.
    ///
    /// ```
    /// // Never spin: sleep as soon as there is nothing to steal.
    /// let rt = grove::Runtime::builder().spin(std::time::Duration::ZERO).build().unwrap();
    /// assert_eq!(rt.block_on(|| 1), 1);
    /// ```
    pub fn spin(mut self, d: Duration) -> Self {
        self.spin = d;
        self
    }

    /// Prefix of the hub threads' names (`{prefix}-{index}`). Default: `grove-hub`.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().thread_name("web").build().unwrap();
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
    /// let rt = grove::Runtime::builder()
    ///     .driver(|_hub| Box::new(grove::ThreadParker::new()))
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
    /// at any blocking point, as [`Builder::allow_migration`](crate::Builder::allow_migration) does for one,
    /// except those spawned with [`Builder::pinned`](crate::Builder::pinned) or [`Builder::hub`](crate::Builder::hub).
    /// Default: off (a started green thread keeps the OS thread it started
    /// on).
    ///
    /// # Safety
    ///
    /// The caller promises for *every* green thread spawned on this runtime
    /// what [`Builder::allow_migration`](crate::Builder::allow_migration) asks of one: no OS-thread-bound state
    /// (a `thread_local!` or a reference into one, values derived from one
    /// such as `std::io::stdout().lock()` or a tokio `EnterGuard`, any
    /// `!Send` guard such as `std::sync::MutexGuard`) is live in any of its
    /// frames across a blocking point, in its own code or in any library it
    /// calls. Breaking that promise is undefined behaviour.
    ///
    /// ```
    /// // SAFETY: these green threads only compute and sleep; they hold no
    /// // thread-local state across a blocking point.
    /// let rt = unsafe { grove::Runtime::builder().allow_migration() }
    ///     .workers(2)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(|| { grove::yield_now(); 1 }), 1);
    /// ```
    pub unsafe fn allow_migration(mut self) -> Self {
        self.migrate = true;
        self
    }

    /// The stuck-hub watchdog's threshold: a hub that runs one green thread
    /// this long without a blocking point is reported once (see
    /// [`StuckHub`](crate::StuckHub)). `None` switches the watchdog off.
    /// Default: 100 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = grove::Runtime::builder()
    ///     .stuck_hub_after(Some(Duration::from_millis(500)))
    ///     .build()
    ///     .unwrap();
    /// let quiet = grove::Runtime::builder().stuck_hub_after(None).build().unwrap();
    /// # drop((rt, quiet));
    /// ```
    pub fn stuck_hub_after(mut self, threshold: Option<Duration>) -> Self {
        self.watch.stuck_after = threshold;
        self
    }

    /// Where the watchdog's reports go instead of standard error.
    ///
    /// ```
    /// let rt = grove::Runtime::builder()
    ///     .on_stuck_hub(|report| eprintln!("my log: {report}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_stuck_hub<F>(mut self, f: F) -> Self
    where
        F: Fn(&crate::StuckHub) + Send + Sync + 'static,
    {
        self.watch.on_stuck = Some(Arc::new(f));
        self
    }

    /// Whether the runtime reports a deadlock of all its green threads
    /// (see [`DeadlockReport`](crate::DeadlockReport) for exactly when),
    /// ending `block_on` and `join` from outside with
    /// [`Error::Deadlock`](crate::Error::Deadlock). Default: on.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().deadlock_detection(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn deadlock_detection(mut self, on: bool) -> Self {
        self.watch.deadlocks = on;
        self
    }

    /// Where deadlock reports go instead of standard error (the waiters
    /// outside still get them as errors).
    ///
    /// ```
    /// let rt = grove::Runtime::builder()
    ///     .on_deadlock(|report| eprintln!("my log: {report}"))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn on_deadlock<F>(mut self, f: F) -> Self
    where
        F: Fn(&crate::DeadlockReport) + Send + Sync + 'static,
    {
        self.watch.on_deadlock = Some(Arc::new(f));
        self
    }

    /// Starts the hubs.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().build().unwrap();
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
        let drivers: Vec<Box<dyn Driver>> = (0..self.workers)
            .map(|i| match &drivers {
                Some(f) => f(i),
                None => Box::new(ThreadParker::new()),
            })
            .collect();
        let (handoff, workers) = Handoff::new(drivers);
        let hubs = (0..self.workers)
            .map(|_| HubShared {
                counters: Counters::default(),
                watch: HubWatch::default(),
            })
            .collect();
        let shared = Arc::new(Shared {
            id: crate::task::next_id(),
            hubs,
            handoff,
            registry: Registry::new(),
            stacks: StackSource::new(self.guard_pages, stack_size, self.max_stacks),
            spin: self.spin,
            migrate: self.migrate,
            watch: Watch::new(self.watch),
            outside: Default::default(),
        });
        crate::reason::tick_clock();
        crate::report::install_panic_hook();
        crate::dump::register(&shared);
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
        watch::start(&shared, format!("{}-watch", self.thread_name)).map_err(BuildError::Thread)?;
        Ok(rt)
    }
}
