//! The watcher: one OS thread per runtime that looks at the hubs from
//! outside, every [`period`](Watch::period), and never touches their
//! queues. It
//!
//! * moves the coarse clock (`reason.rs`) that blocking points read;
//! * is the **stuck-hub watchdog**: a hub whose `run` counter has not moved
//!   while it runs one green thread for longer than the threshold is
//!   reported once ([`StuckHub`]), naming the green thread, how long, how
//!   many wait behind it, and the system call its OS thread is in;
//! * finds **whole-runtime deadlocks** (`deadlock.rs`): reports them and
//!   wakes the OS threads waiting in `block_on`/`join`, which then end with
//!   [`Error::Deadlock`](crate::Error::Deadlock).
//!
//! What a hub pays for this, on the switch path: one plain store, the id of
//! the green thread it switches to (`switch.rs`); it stores zero when it
//! goes to sleep (`idle.rs`). No clock read. Between a switch back and the
//! next switch in (or sleep) the id is stale: a snapshot trusts it only
//! for a green thread whose park word says it is running, and the watcher
//! only together with the hub's `run` counter.
//!
//! The watcher sees a hub run one green thread for a period when, at two
//! looks a period apart, the hub's `running` id and `run` counter are the
//! same (no switch in between). It then times that episode from its first
//! look, so its measure is short by less than a period; one report per
//! episode.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::deadlock::{self, DeadlockReport};
use crate::driver::{Driver, ThreadParker};
use crate::reason;
use crate::runtime::Shared;
use crate::snapshot::Snapshot;
use crate::thread::ThreadId;

/// The default threshold of the stuck-hub watchdog.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_millis(100);

/// What the watcher can see of one hub, besides its counters (where the
/// hub keeps `running`, next to `run`); written by that hub with plain
/// stores (`timers`, `tid`) or by the watcher (`seen_*`).
#[derive(Debug, Default)]
pub(crate) struct HubWatch {
    /// Entries in its timer heap.
    pub(crate) timers: AtomicUsize,
    /// Its OS thread's kernel id (0 until it starts).
    pub(crate) tid: AtomicU64,
    /// The watcher's current episode: the green thread it saw running...
    pub(crate) seen_running: AtomicU64,
    /// ...since this time on the coarse clock.
    pub(crate) seen_since: AtomicU64,
}

/// The watchdog's report: a hub ran one green thread for longer than the
/// threshold without a blocking point, so every other green thread bound to
/// that hub waited. Printed on standard error unless
/// [`RuntimeBuilder::on_stuck_hub`](crate::RuntimeBuilder::on_stuck_hub)
/// takes it; also a `tracing` event with the `tracing` feature.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let rt = grove::Runtime::builder()
///     .workers(1)
///     .stuck_hub_after(Some(Duration::from_millis(50)))
///     .on_stuck_hub(move |r| s.lock().unwrap().push(r.clone()))
///     .build()
///     .unwrap();
/// rt.block_on(|| std::thread::sleep(Duration::from_millis(300)));
/// let reports = seen.lock().unwrap();
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].running_for >= Duration::from_millis(50));
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct StuckHub {
    /// The hub's index.
    pub hub: usize,
    /// The green thread it runs.
    pub thread: ThreadId,
    /// That green thread's name.
    pub name: Option<String>,
    /// How long it has run without a blocking point (at least).
    pub running_for: Duration,
    /// Green threads queued on that hub, waiting for it: its stealable
    /// queue and its inbox (see [`HubSnapshot::runnable`](crate::HubSnapshot::runnable)).
    pub waiting: usize,
    /// The system call the hub's OS thread is in, if it is in one
    /// (read from `/proc`, Linux only): `clock_nanosleep`, `read`, `futex`…
    pub syscall: Option<String>,
}

impl fmt::Display for StuckHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hub {} has run green thread {}", self.hub, self.thread)?;
        if let Some(n) = &self.name {
            write!(f, " '{n}'")?;
        }
        let behind = match self.waiting {
            1 => "1 green thread waits".to_string(),
            n => format!("{n} green threads wait"),
        };
        write!(
            f,
            " for {:.0?} without a blocking point; {behind} behind it",
            self.running_for
        )?;
        match &self.syscall {
            Some(s) => write!(f, "; its OS thread is blocked in the system call {s}"),
            None => write!(f, "; its OS thread is computing"),
        }
    }
}

type OnStuck = Arc<dyn Fn(&StuckHub) + Send + Sync>;
type OnDeadlock = Arc<dyn Fn(&DeadlockReport) + Send + Sync>;

/// The watcher's settings, from the runtime builder.
#[derive(Clone)]
pub(crate) struct WatchConfig {
    pub(crate) stuck_after: Option<Duration>,
    pub(crate) on_stuck: Option<OnStuck>,
    pub(crate) deadlocks: bool,
    pub(crate) on_deadlock: Option<OnDeadlock>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            stuck_after: Some(DEFAULT_STUCK_AFTER),
            on_stuck: None,
            deadlocks: true,
            on_deadlock: None,
        }
    }
}

/// The watcher's half of a runtime's shared state.
pub(crate) struct Watch {
    pub(crate) config: WatchConfig,
    parker: ThreadParker,
    /// The current whole-runtime deadlock, numbered: waiters that began
    /// before it ended with it.
    report: Mutex<(u64, Option<Arc<DeadlockReport>>)>,
}

impl Watch {
    pub(crate) fn new(config: WatchConfig) -> Watch {
        Watch {
            config,
            parker: ThreadParker::new(),
            report: Mutex::new((0, None)),
        }
    }

    /// How often the watcher looks: a quarter of the watchdog's threshold,
    /// between 5 and 25 ms.
    pub(crate) fn period(&self) -> Duration {
        let q = self.config.stuck_after.map_or(Duration::MAX, |t| t / 4);
        q.clamp(Duration::from_millis(5), Duration::from_millis(25))
    }

    /// Ends the watcher's wait (at shutdown).
    pub(crate) fn wake(&self) {
        self.parker.unpark();
    }

    /// The number of the last deadlock report (0: none yet).
    pub(crate) fn epoch(&self) -> u64 {
        lock(&self.report).0
    }

    /// The deadlock reported after `epoch`, if it is still current.
    pub(crate) fn deadlock_after(&self, epoch: u64) -> Option<Arc<DeadlockReport>> {
        let r = lock(&self.report);
        if r.0 > epoch {
            r.1.clone()
        } else {
            None
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the watcher remembers of one hub between looks.
#[derive(Clone, Copy, Default)]
struct Seen {
    running: u64,
    run: u64,
    since: u64,
    reported: bool,
}

/// Starts the watcher thread of `shared`; it ends when the runtime stops.
pub(crate) fn start(shared: &Arc<Shared>, name: String) -> std::io::Result<()> {
    let weak = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || run(weak))
        .map(drop)
}

fn run(weak: Weak<Shared>) {
    let mut seen: Vec<Seen> = Vec::new();
    let mut quiet: Option<(u64, u64)> = None;
    let mut reported = false;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if shared.handoff.stopping() {
            return;
        }
        let now = reason::tick_clock();
        seen.resize(shared.hubs.len(), Seen::default());
        if let Some(threshold) = shared.watch.config.stuck_after {
            watchdog(&shared, &mut seen, now, threshold);
        }
        if shared.watch.config.deadlocks {
            look_for_deadlock(&shared, &mut quiet, &mut reported);
        }
        // Stop sets `stopping` and wakes this wait.
        shared.watch.parker.park(Some(shared.watch.period()));
    }
}

fn watchdog(shared: &Shared, seen: &mut [Seen], now: u64, threshold: Duration) {
    for (i, hub) in shared.hubs.iter().enumerate() {
        let w = &hub.watch;
        let running = hub.counters.running.load(Ordering::Relaxed);
        let run = hub.counters.run.load(Ordering::Relaxed);
        let s = &mut seen[i];
        if running == 0 || running != s.running || run != s.run {
            *s = Seen {
                running,
                run,
                since: now,
                reported: false,
            };
            w.seen_running.store(running, Ordering::Relaxed);
            w.seen_since.store(now, Ordering::Relaxed);
            continue;
        }
        let for_ = reason::span(s.since, now);
        if s.reported || for_ < threshold {
            continue;
        }
        s.reported = true;
        let task = shared.registry.find(running);
        let report = StuckHub {
            hub: i,
            thread: ThreadId::from_raw(running),
            name: task.and_then(|t| t.name.as_deref().map(String::from)),
            running_for: for_,
            waiting: shared.handoff.ports[i].waiting(),
            syscall: syscall_of(w.tid.load(Ordering::Relaxed)),
        };
        crate::trace::stuck(&report);
        match &shared.watch.config.on_stuck {
            Some(f) => f(&report),
            None => eprintln!("grove: {report}"),
        }
    }
}

/// Two looks a period apart with no switch, no park, and nothing running;
/// then a snapshot decides (`deadlock.rs`).
fn look_for_deadlock(shared: &Shared, quiet: &mut Option<(u64, u64)>, reported: &mut bool) {
    let mut run = 0;
    let mut parked = 0;
    let mut idle = true;
    for h in shared.hubs.iter() {
        run += h.counters.run.load(Ordering::Relaxed);
        parked += h.counters.parked.load(Ordering::Relaxed);
        idle &= h.counters.running.load(Ordering::Relaxed) == 0;
    }
    let now = Some((run, parked));
    if !idle || *quiet != now {
        *quiet = if idle { now } else { None };
        *reported = false;
        shared.watch.clear();
        return;
    }
    if *reported
        || shared.registry.live() == 0
        || OUTSIDE_WORK.load(Ordering::SeqCst) != 0
        || !crate::thread::outside_quiet(shared)
    {
        return;
    }
    let snap = Snapshot::take(shared);
    if !deadlock::all_stuck(&snap) {
        return;
    }
    *reported = true;
    let report = Arc::new(DeadlockReport::new(&snap));
    match &shared.watch.config.on_deadlock {
        Some(f) => f(&report),
        None => eprintln!("grove: {report}"),
    }
    {
        let mut r = lock(&shared.watch.report);
        r.0 += 1;
        r.1 = Some(report);
    }
    crate::thread::wake_outside(shared);
}

impl Watch {
    /// Something moved: the last deadlock report is no longer current.
    fn clear(&self) {
        let mut r = lock(&self.report);
        if r.1.is_some() {
            r.1 = None;
        }
    }
}

static OUTSIDE_WORK: AtomicUsize = AtomicUsize::new(0);

/// Tells grove's deadlock detection that work outside any runtime (an OS
/// thread of your own, holding a `Queue` or a `Thread` handle) may still
/// wake green threads: while one of these lives, no runtime is reported
/// deadlocked. grove's blocking pool holds one per job. OS threads that
/// spawn onto a runtime are seen without it.
///
/// ```
/// let g = grove::spawn(|| { grove::park(); 1 });
/// let waker = g.thread();
/// let work = grove::OutsideWork::begin();
/// let helper = std::thread::spawn(move || {
///     let _work = work; // ends when this thread is done
///     std::thread::sleep(std::time::Duration::from_millis(100));
///     waker.unpark();
/// });
/// assert_eq!(g.join().unwrap(), 1);
/// helper.join().unwrap();
/// ```
#[derive(Debug)]
#[must_use = "the outside work ends when this is dropped"]
pub struct OutsideWork(());

impl OutsideWork {
    /// Declares outside work until the returned value drops.
    ///
    /// ```
    /// let w = grove::OutsideWork::begin();
    /// drop(w);
    /// ```
    pub fn begin() -> OutsideWork {
        OUTSIDE_WORK.fetch_add(1, Ordering::SeqCst);
        OutsideWork(())
    }
}

impl Drop for OutsideWork {
    fn drop(&mut self) {
        OUTSIDE_WORK.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The system call thread `tid` of this process is in, if any.
#[cfg(target_os = "linux")]
fn syscall_of(tid: u64) -> Option<String> {
    if tid == 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let first = text.split_whitespace().next()?;
    let n: i64 = first.parse().ok()?; // "running" when it is not in one
    if n < 0 {
        return None;
    }
    Some(match syscall_name(n) {
        Some(name) => name.to_string(),
        None => format!("number {n}"),
    })
}

#[cfg(not(target_os = "linux"))]
fn syscall_of(_tid: u64) -> Option<String> {
    None
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn syscall_name(n: i64) -> Option<&'static str> {
    Some(match n {
        0 => "read",
        1 => "write",
        7 => "poll",
        17 => "pread64",
        18 => "pwrite64",
        19 => "readv",
        20 => "writev",
        23 => "select",
        35 => "nanosleep",
        42 => "connect",
        43 => "accept",
        44 => "sendto",
        45 => "recvfrom",
        46 => "sendmsg",
        47 => "recvmsg",
        61 => "wait4",
        74 => "fsync",
        202 => "futex",
        230 => "clock_nanosleep",
        232 => "epoll_wait",
        257 => "openat",
        270 => "pselect6",
        271 => "ppoll",
        281 => "epoll_pwait",
        288 => "accept4",
        441 => "epoll_pwait2",
        _ => return None,
    })
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
fn syscall_name(n: i64) -> Option<&'static str> {
    Some(match n {
        22 => "epoll_pwait",
        56 => "openat",
        63 => "read",
        64 => "write",
        65 => "readv",
        66 => "writev",
        67 => "pread64",
        68 => "pwrite64",
        72 => "pselect6",
        73 => "ppoll",
        82 => "fsync",
        98 => "futex",
        101 => "nanosleep",
        115 => "clock_nanosleep",
        202 => "accept",
        203 => "connect",
        206 => "sendto",
        207 => "recvfrom",
        211 => "sendmsg",
        212 => "recvmsg",
        242 => "accept4",
        260 => "wait4",
        _ => return None,
    })
}

#[cfg(all(
    target_os = "linux",
    not(any(target_arch = "x86_64", target_arch = "aarch64"))
))]
fn syscall_name(_n: i64) -> Option<&'static str> {
    None
}
