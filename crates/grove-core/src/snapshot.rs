//! [`Snapshot`]: every hub and every live green thread of a runtime, as
//! plain data, read from other threads without stopping anyone.
//!
//! Each field is read on its own (there is no global pause), so a snapshot
//! of a busy runtime mixes moments a few microseconds apart: a green thread
//! may show as runnable while its hub already shows it running. Each green
//! thread's wait reason is read whole (`record.rs`).

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::deadlock::Cycle;
use crate::handoff::Port;
use crate::metrics::HubMetrics;
use crate::reason::{self, WaitReason};
use crate::runtime::Shared;
use crate::task::Task;
use crate::thread::ThreadId;

/// What a green thread is doing.
///
/// ```
/// let g = grove::spawn(grove::park);
/// let rt = grove::Handle::current();
/// while rt.snapshot().thread(g.id()).map(|t| t.state) != Some(grove::GreenState::Parked) {
///     std::thread::yield_now();
/// }
/// g.kill();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum GreenState {
    /// Spawned, never run yet (queued, or waiting for its `spawn_later` delay).
    NotStarted,
    /// Ready to run, in a queue.
    Runnable,
    /// Running on a hub now.
    Running,
    /// Blocked: see [`GreenThreadSnapshot::waits_for`].
    Parked,
}

impl fmt::Display for GreenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GreenState::NotStarted => "not started",
            GreenState::Runnable => "runnable",
            GreenState::Running => "running",
            GreenState::Parked => "parked",
        })
    }
}

/// One hub, as a [`Snapshot`] saw it.
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let snap = rt.snapshot();
/// assert_eq!(snap.hubs.len(), 2);
/// assert_eq!(snap.hubs[1].index, 1);
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct HubSnapshot {
    /// The hub's index.
    pub index: usize,
    /// The kernel's id of its OS thread (Linux's `gettid`), once it started.
    pub os_thread: Option<u64>,
    /// The green thread it runs now, if any.
    pub running: Option<ThreadId>,
    /// How long that green thread has run without a blocking point, as the
    /// runtime's watcher measured it (to within one watcher period).
    pub running_for: Option<Duration>,
    /// Green threads queued on this hub where other threads can count
    /// them: its stealable queue (not started yet) and its inbox (bound
    /// here, woken elsewhere). Its private queue is the hub's alone.
    pub runnable: usize,
    /// Timer entries in its heap (ended parks' entries stay until due or swept).
    pub timers: usize,
    /// Descriptors registered with its reactor, if its driver has one.
    pub descriptors: Option<usize>,
    /// Its counters.
    pub metrics: HubMetrics,
}

/// One live green thread, as a [`Snapshot`] saw it.
///
/// ```
/// let g = grove::Builder::new().name("napper").spawn(|| {
///     grove::sleep(std::time::Duration::from_secs(60))
/// }).unwrap();
/// let rt = grove::Handle::current();
/// let t = loop {
///     let snap = rt.snapshot();
///     if let Some(t) = snap.thread(g.id()).filter(|t| t.waits_for.is_some()) {
///         break t.clone();
///     }
///     std::thread::yield_now();
/// };
/// assert_eq!(t.name.as_deref(), Some("napper"));
/// assert_eq!(t.waits_for, Some(grove::WaitReason::Sleep));
/// assert!(t.wakes_in.is_some());
/// g.kill();
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GreenThreadSnapshot {
    /// Its id.
    pub id: ThreadId,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// What it is doing.
    pub state: GreenState,
    /// Its hub: where it runs or last ran (none before it starts, or while
    /// a migrating one is between hubs).
    pub hub: Option<usize>,
    /// The green thread or OS thread that spawned it.
    pub parent: ThreadId,
    /// Spawned for one hub (`Builder::hub`).
    pub pinned: bool,
    /// Allowed to change hub (`Builder::allow_migration`).
    pub migrates: bool,
    /// What it waits for, when parked.
    pub waits_for: Option<WaitReason>,
    /// How long it has been parked (to within one watcher period).
    pub parked_for: Option<Duration>,
    /// When parked with a deadline: how long until it ends the wait itself.
    pub wakes_in: Option<Duration>,
    /// `Thread` handles to it that the program holds (from `current()` or
    /// `Greenlet::thread()`): any of them may unpark it.
    pub handles: usize,
}

impl GreenThreadSnapshot {
    fn read(task: &Task, running: &[Option<ThreadId>], now_ms: u64) -> GreenThreadSnapshot {
        let id = ThreadId::from_raw(task.id);
        let hub = task.home();
        let state = if running.contains(&Some(id)) && task.state.is_running() {
            GreenState::Running
        } else if !task.started() {
            GreenState::NotStarted
        } else if task.state.is_running() {
            GreenState::Runnable
        } else {
            GreenState::Parked
        };
        let waiting = match state {
            GreenState::Parked => task.waiting.get(),
            _ => None,
        };
        let waits_for = waiting.map(|w| match w.reason {
            WaitReason::Lock { lock, .. } => WaitReason::Lock {
                lock,
                owner: reason::holder(lock),
            },
            WaitReason::RLock { lock, .. } => WaitReason::RLock {
                lock,
                owner: reason::holder(lock),
            },
            r => r,
        });
        GreenThreadSnapshot {
            id,
            name: task.name.as_deref().map(String::from),
            state,
            hub,
            parent: ThreadId::from_raw(task.parent),
            pinned: task.pinned,
            migrates: task.migrate,
            waits_for,
            parked_for: waiting.map(|w| reason::span(w.since_ms, now_ms)),
            wakes_in: waiting
                .and_then(|w| w.deadline_ms)
                .map(|d| reason::span(now_ms, d)),
            handles: task.handles.load(Ordering::Relaxed),
        }
    }

    /// "green thread 12 'worker'": how reports name it.
    ///
    /// ```
    /// let g = grove::Builder::new().name("w").spawn(grove::park).unwrap();
    /// let rt = grove::Handle::current();
    /// let snap = rt.snapshot();
    /// let label = snap.thread(g.id()).unwrap().label();
    /// assert_eq!(label, format!("green thread {} 'w'", g.id()));
    /// g.kill();
    /// ```
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("green thread {} '{n}'", self.id),
            None => format!("green thread {}", self.id),
        }
    }
}

/// Every hub and every live green thread of a runtime: what runs where,
/// what waits for what, and for how long. From [`Runtime::snapshot`](crate::Runtime::snapshot),
/// [`Handle::snapshot`](crate::Handle::snapshot) or [`snapshot`](crate::snapshot())
/// (the caller's runtime). `Display` prints a dump like Go's; with the
/// `serde` feature it serializes (to JSON with `serde_json`, for example).
///
/// ```
/// let rt = grove::Runtime::builder().workers(1).build().unwrap();
/// let g = rt.spawn(grove::park);
/// while rt.snapshot().threads.iter().all(|t| t.state != grove::GreenState::Parked) {
///     std::thread::yield_now();
/// }
/// let dump = rt.snapshot().to_string();
/// assert!(dump.contains(&format!("green thread {} [parked", g.id())));
/// g.kill();
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Snapshot {
    /// Every hub, by index.
    pub hubs: Vec<HubSnapshot>,
    /// Every live green thread, by id.
    pub threads: Vec<GreenThreadSnapshot>,
}

impl Snapshot {
    pub(crate) fn take(shared: &Shared) -> Snapshot {
        let now_ms = reason::millis(std::time::Instant::now());
        let hubs: Vec<HubSnapshot> = shared
            .hubs
            .iter()
            .enumerate()
            .map(|(i, h)| h.snapshot(i, &shared.handoff.ports[i], now_ms))
            .collect();
        let running: Vec<Option<ThreadId>> = hubs.iter().map(|h| h.running).collect();
        let mut threads: Vec<GreenThreadSnapshot> = shared
            .registry
            .all()
            .iter()
            .map(|t| GreenThreadSnapshot::read(t, &running, now_ms))
            .collect();
        threads.sort_by_key(|t| t.id);
        Snapshot { hubs, threads }
    }

    /// The green thread `id`, if it was alive.
    ///
    /// ```
    /// let snap = grove::Handle::current().snapshot();
    /// assert!(snap.thread(grove::current().id()).is_none()); // an OS thread
    /// ```
    pub fn thread(&self, id: ThreadId) -> Option<&GreenThreadSnapshot> {
        self.threads
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.threads[i])
    }

    /// Wait-for cycles among parked green threads, found through the edges
    /// grove knows (a lock's holder, a joined green thread): each is a set
    /// of green threads none of which can go on, even while the rest of the
    /// program runs. See [`Cycle`].
    ///
    /// ```
    /// let snap = grove::Handle::current().snapshot();
    /// assert!(snap.cycles().is_empty());
    /// ```
    pub fn cycles(&self) -> Vec<Cycle> {
        crate::deadlock::cycles(self)
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "grove runtime: {}, {} live",
            count(self.hubs.len(), "hub", "hubs"),
            count(self.threads.len(), "green thread", "green threads")
        )?;
        for h in &self.hubs {
            write!(f, "hub {}", h.index)?;
            if let Some(tid) = h.os_thread {
                write!(f, " (OS thread {tid})")?;
            }
            match (h.running, h.running_for) {
                (Some(id), Some(d)) => write!(f, ": running green thread {id} for {d:.0?}")?,
                (Some(id), None) => write!(f, ": running green thread {id}")?,
                (None, _) => write!(f, ": idle")?,
            }
            write!(
                f,
                "; {} runnable, {}",
                h.runnable,
                count(h.timers, "timer", "timers")
            )?;
            if let Some(d) = h.descriptors {
                write!(f, ", {}", count(d, "descriptor", "descriptors"))?;
            }
            let m = &h.metrics;
            writeln!(
                f,
                "; started {}, run {}, stolen {}, parked {}",
                m.started, m.run, m.stolen, m.parked
            )?;
        }
        for t in &self.threads {
            writeln!(f)?;
            write!(f, "{} [{}", t.label(), t.state)?;
            if let Some(h) = t.hub {
                write!(f, " on hub {h}")?;
            }
            if let Some(d) = t.parked_for {
                write!(f, ", {d:.0?}")?;
            }
            write!(f, "]")?;
            if let Some(r) = &t.waits_for {
                write!(f, ": {r}")?;
                if let Some(left) = t.wakes_in {
                    write!(f, " (wakes in {left:.0?})")?;
                }
            }
            write!(f, "\n    spawned by {}", t.parent)?;
            if t.pinned {
                write!(f, ", pinned")?;
            }
            if t.migrates {
                write!(f, ", migrates")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl crate::runtime::HubShared {
    fn snapshot(&self, index: usize, port: &Port<Arc<Task>>, now_ms: u64) -> HubSnapshot {
        let w = &self.watch;
        let running = match self.counters.running.load(Ordering::Relaxed) {
            0 => None,
            id => Some(ThreadId::from_raw(id)),
        };
        let since = w.seen_since.load(Ordering::Relaxed);
        let running_for = match running {
            Some(id) if w.seen_running.load(Ordering::Relaxed) == id.as_u64() && since != 0 => {
                Some(reason::span(since, now_ms))
            }
            _ => None,
        };
        HubSnapshot {
            index,
            os_thread: match w.tid.load(Ordering::Relaxed) {
                0 => None,
                t => Some(t),
            },
            running,
            running_for,
            runnable: port.waiting(),
            timers: w.timers.load(Ordering::Relaxed),
            descriptors: port.driver.registered(),
            metrics: self.counters.snapshot(index),
        }
    }
}

/// "1 hub", "2 hubs".
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
