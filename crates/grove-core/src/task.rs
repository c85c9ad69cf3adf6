//! A green thread's shared record: identity, park state, its home hub, and
//! the execution state that only its current owner may touch.
//!
//! # Affinity: a started green thread keeps its OS thread
//!
//! Rust code, and the compiler, assume that a function runs on one OS thread
//! from entry to return: a `thread_local!`'s address may be computed once and
//! reused after a call that switches stacks, `!Send` guards (a `MutexGuard`,
//! `stdout().lock()`, a tokio `EnterGuard`) stay tied to the thread that made
//! them, and std's panic count is per OS thread. No check at a switch can
//! make moving a suspended green thread sound, because the stale address may
//! sit in any frame. So a green thread may move only before its first run
//! (it has no frames yet): `home` is empty until a hub starts it, and that
//! hub becomes its home for good. Every wake of a started green thread goes
//! to its home (`wake.rs`).
//!
//! The exception is a green thread that opted into migration
//! (`Builder::allow_migration`, `RuntimeBuilder::allow_migration`, both
//! `unsafe`): its `home` stays empty while it runs normally, so any hub may
//! resume it; a blocking point reached while unwinding binds it where it is
//! (std's panic count must go down on the thread where it went up), and the
//! next one reached outside cleanup frees it again.
//!
//! # Who touches what
//!
//! * `state` is the park word (`park.rs`): any thread, atomically.
//! * `home` is written once, by the hub that starts the task (or at spawn
//!   for `Builder::hub`), or, for a migrating green thread, by the green
//!   thread itself at each blocking point; always before the park transition
//!   that publishes the task to wakers, so a waker that won `PARKED ->
//!   RUNNING` (an acquire) reads it with a relaxed load. `started` likewise.
//! * `exec` (saved context, stack, the closure not yet run) belongs to the one
//!   hub that holds the task: the hub that popped it from a queue, from that
//!   moment until it commits a park, yields it, or finishes it. The park state
//!   machine guarantees there is exactly one such hub at a time, and its
//!   `AcqRel` transitions carry `exec` from one owner to the next. For a
//!   started bound green thread that hub is always its home.
//! * `locals` (green-thread-local values) and `timeouts` (its active
//!   `Timeout`s, `timeout.rs`) belong to the running green thread.
//! * `waiting` is written by the green thread only, at its blocking points,
//!   and read whole by anyone (`record.rs`).
//! * `unwinding` is written and read by the running green thread only (it is
//!   atomic so that the record stays `Sync` without another `unsafe`).

use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use context::Context;

use crate::park::{Notify, ParkState};
use crate::reason::WaitRecord;
use crate::runtime::Shared;
use crate::sanitize::Slot;
use crate::stack::Stack;
use crate::timeout::Active;

/// What a task runs, once (`greenlet/body.rs`): `run(None)` runs the
/// user's function, `run(Some(err))` completes without running it (killed
/// or unable to start).
pub(crate) type Main = Arc<dyn crate::greenlet::Main>;

/// `home` of a task no hub has claimed: not started, or migrating.
const UNBOUND: usize = usize::MAX;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a green thread or an OS thread.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What the owning hub keeps for a task between runs.
pub(crate) struct Exec {
    pub(crate) context: Option<Context>,
    pub(crate) stack: Option<Stack>,
    /// What memory and thread checkers know of it (`sanitize.rs`).
    pub(crate) fiber: Slot,
    pub(crate) main: Option<Main>,
}

/// Where a task may run, decided at spawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Any hub until it starts; then only the hub that started it.
    BindOnStart,
    /// Only hub `i`, from spawn on.
    Hub(usize),
    /// Any hub at any blocking point (the `unsafe` opt-in), until it blocks
    /// while unwinding.
    Migrate,
}

pub(crate) struct Task {
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    pub(crate) state: ParkState,
    pub(crate) shared: Arc<Shared>,
    pub(crate) stack_size: usize,
    pub(crate) migrate: bool,
    /// Spawned for one hub (`Builder::hub`), never stolen.
    pub(crate) pinned: bool,
    /// The id of the green thread or OS thread that spawned it.
    pub(crate) parent: u64,
    /// What it last blocked on (`reason.rs`): written by the green thread
    /// itself at each blocking point, read by snapshots.
    pub(crate) waiting: WaitRecord,
    /// `Thread` handles to it the program holds (`thread.rs`): any of them
    /// may unpark it.
    pub(crate) handles: AtomicUsize,
    home: AtomicUsize,
    started: AtomicBool,
    unwinding: AtomicBool,
    pub(crate) slot: AtomicUsize,
    exec: UnsafeCell<Exec>,
    locals: UnsafeCell<Vec<(usize, Box<dyn Any + Send>)>>,
    /// Boxed on first use: most green threads never start a `Timeout`,
    /// and the record stays one pointer larger, not three.
    #[allow(clippy::box_collection)]
    timeouts: UnsafeCell<Option<Box<Vec<Active>>>>,
    /// What the pending kill delivers (`Greenlet::throw`), set before the
    /// park word's `KILLED` bit and taken by the green thread when it
    /// acts on that bit.
    thrown: Mutex<Thrown>,
}

/// What a pending kill unwinds its green thread with.
enum Thrown {
    /// `GreenletExit` (also when a kill came without going through here).
    Exit,
    /// A value of the killer's choosing; a later kill replaces it.
    Value(Box<dyn Any + Send>),
}

// SAFETY: the UnsafeCell fields follow the ownership rules in the module
// docs; every other field is Send + Sync.
unsafe impl Send for Task {}
// SAFETY: as above.
unsafe impl Sync for Task {}

impl Task {
    pub(crate) fn new(
        shared: Arc<Shared>,
        name: Option<String>,
        stack_size: usize,
        placement: Placement,
        parent: u64,
        main: Main,
    ) -> Task {
        let home = match placement {
            Placement::Hub(i) => i,
            Placement::BindOnStart | Placement::Migrate => UNBOUND,
        };
        Task {
            id: next_id(),
            name: name.map(String::into_boxed_str),
            state: ParkState::new(),
            shared,
            stack_size,
            migrate: placement == Placement::Migrate,
            pinned: matches!(placement, Placement::Hub(_)),
            parent,
            waiting: WaitRecord::default(),
            handles: AtomicUsize::new(0),
            home: AtomicUsize::new(home),
            started: AtomicBool::new(false),
            unwinding: AtomicBool::new(false),
            slot: AtomicUsize::new(usize::MAX),
            exec: UnsafeCell::new(Exec {
                context: None,
                stack: None,
                fiber: Slot::default(),
                main: Some(main),
            }),
            locals: UnsafeCell::new(Vec::new()),
            timeouts: UnsafeCell::new(None),
            thrown: Mutex::new(Thrown::Exit),
        }
    }

    /// The only hub this task may run on, if it has one (see the module docs).
    pub(crate) fn home(&self) -> Option<usize> {
        match self.home.load(Ordering::Relaxed) {
            UNBOUND => None,
            h => Some(h),
        }
    }

    /// Whether a hub has started it.
    pub(crate) fn started(&self) -> bool {
        self.started.load(Ordering::Relaxed)
    }

    /// The hub `hub` starts the task: unless it migrates, `hub` becomes its
    /// home. Called once, by the owning hub, before the first switch in.
    pub(crate) fn start_on(&self, hub: usize) {
        self.started.store(true, Ordering::Relaxed);
        if !self.migrate {
            let _ = self
                .home
                .compare_exchange(UNBOUND, hub, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// A running migrating green thread, at a blocking point, before its
    /// park begins: bound to `hub` while it is unwinding (`Some`), free to
    /// move again once it is not (`None`).
    pub(crate) fn set_migrating_home(&self, hub: Option<usize>) {
        debug_assert!(self.migrate);
        self.home.store(hub.unwrap_or(UNBOUND), Ordering::Relaxed);
    }

    /// The running green thread records whether it blocks while unwinding.
    pub(crate) fn set_unwinding(&self, on: bool) {
        self.unwinding.store(on, Ordering::Relaxed);
    }

    /// Whether it last blocked while unwinding (see `thread::block`).
    pub(crate) fn unwinding(&self) -> bool {
        self.unwinding.load(Ordering::Relaxed)
    }

    /// The owning hub's view of the execution state.
    ///
    /// # Safety
    /// The caller must be the task's current owner (see the module docs) and
    /// must not hold another reference from `exec` at the same time.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn exec(&self) -> &mut Exec {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.exec.get() }
    }

    /// The running green thread's locals.
    ///
    /// # Safety
    /// Only the running green thread itself may call this, and it must not
    /// hold another reference from `locals` at the same time.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn locals(&self) -> &mut Vec<(usize, Box<dyn Any + Send>)> {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.locals.get() }
    }

    /// The running green thread's active timeouts (`timeout.rs`).
    ///
    /// # Safety
    /// Only the running green thread itself may call this, and it must not
    /// hold another reference from `timeouts` at the same time.
    #[allow(clippy::mut_from_ref)]
    #[allow(clippy::box_collection)]
    pub(crate) unsafe fn timeouts(&self) -> &mut Option<Box<Vec<Active>>> {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.timeouts.get() }
    }

    /// Asks the green thread to unwind at its next blocking point, with
    /// `value` as the payload (`None`: `GreenletExit`). A kill replaces a
    /// pending value; a value does not replace a pending kill or value (it
    /// is dropped, outside the lock). Returns what the caller must do with
    /// the park word's answer.
    pub(crate) fn request_kill(&self, value: Option<Box<dyn Any + Send>>) -> Notify {
        let dropped = {
            let mut t = self.thrown.lock().unwrap_or_else(|p| p.into_inner());
            match value {
                None => Some(std::mem::replace(&mut *t, Thrown::Exit)),
                Some(v) if self.state.kill_pending() => Some(Thrown::Value(v)),
                Some(v) => Some(std::mem::replace(&mut *t, Thrown::Value(v))),
            }
        };
        let n = self.state.kill();
        drop(dropped);
        n
    }

    /// The payload of the kill being delivered now: the thrown value, if
    /// one was pending, else `GreenletExit`.
    pub(crate) fn take_thrown(&self) -> Box<dyn Any + Send> {
        let t = {
            let mut t = self.thrown.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *t, Thrown::Exit)
        };
        match t {
            Thrown::Exit => Box::new(crate::error::GreenletExit),
            Thrown::Value(v) => v,
        }
    }
}

impl crate::timer::Target for Arc<Task> {
    fn waiting_in(&self, gen: crate::park::Gen) -> bool {
        self.state.is_waiting_in(gen)
    }
}
