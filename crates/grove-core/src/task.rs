//! A green thread's shared record: identity, park state, and the execution
//! state that only its current owner may touch.
//!
//! # Who touches what
//!
//! * `state` is the park word (`park.rs`): any thread, atomically.
//! * `exec` (saved context, stack, the closure not yet run) belongs to the one
//!   hub that holds the task: the hub that popped it from a queue, from that
//!   moment until it commits a park, yields it, or finishes it. The park state
//!   machine guarantees there is exactly one such hub at a time, and its
//!   `AcqRel` transitions carry `exec` from one owner to the next.
//! * `locals` (green-thread-local values) belongs to the running green thread.
//! * `inplace` is written by the green thread before an in-place park and read
//!   by the one party that wins the `PARKED -> RUNNING` transition of that park.

use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use context::Context;

use crate::driver::Driver;
use crate::error::Error;
use crate::park::ParkState;
use crate::runtime::Shared;
use crate::stack::Stack;
use crate::thread::OsThread;

/// The closure a task runs: `None` to run the user's function, `Some(err)` to
/// complete without running it (killed or unable to start).
pub(crate) type Main = Box<dyn FnOnce(Option<Error>) + Send>;

const UNPINNED: usize = usize::MAX;
/// Pin to whichever hub first runs the task.
pub(crate) const PIN_ON_START: usize = usize::MAX - 1;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a green thread or an OS thread.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What the owning hub keeps for a task between runs.
pub(crate) struct Exec {
    pub(crate) context: Option<Context>,
    pub(crate) stack: Option<Stack>,
    pub(crate) main: Option<Main>,
    pub(crate) started: bool,
}

pub(crate) struct Task {
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    pub(crate) state: ParkState,
    pub(crate) shared: Arc<Shared>,
    pub(crate) stack_size: usize,
    pub(crate) start_at: Option<Instant>,
    pin: AtomicUsize,
    pub(crate) slot: AtomicUsize,
    exec: UnsafeCell<Exec>,
    locals: UnsafeCell<Vec<(usize, Box<dyn Any + Send>)>>,
    inplace: UnsafeCell<Option<Arc<OsThread>>>,
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
        pin: Option<usize>,
        start_at: Option<Instant>,
        main: Main,
    ) -> Task {
        Task {
            id: next_id(),
            name: name.map(String::into_boxed_str),
            state: ParkState::new(),
            shared,
            stack_size,
            start_at,
            pin: AtomicUsize::new(pin.unwrap_or(UNPINNED)),
            slot: AtomicUsize::new(usize::MAX),
            exec: UnsafeCell::new(Exec {
                context: None,
                stack: None,
                main: Some(main),
                started: false,
            }),
            locals: UnsafeCell::new(Vec::new()),
            inplace: UnsafeCell::new(None),
        }
    }

    /// The hub this task may only run on, if it is pinned.
    pub(crate) fn pinned_hub(&self) -> Option<usize> {
        match self.pin.load(Ordering::Relaxed) {
            UNPINNED | PIN_ON_START => None,
            h => Some(h),
        }
    }

    /// At first run: a task that asked to be pinned on start is pinned here.
    pub(crate) fn pin_on_start(&self, hub: usize) {
        let _ = self
            .pin
            .compare_exchange(PIN_ON_START, hub, Ordering::Relaxed, Ordering::Relaxed);
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

    /// Green thread, just before an in-place park: who to wake.
    ///
    /// # Safety
    /// Only the running green thread may call this, before `ParkState::begin`.
    pub(crate) unsafe fn set_inplace_waker(&self, os: Arc<OsThread>) {
        // SAFETY: nobody reads the cell until a party wins the transition out
        // of the park that follows, which `begin`'s release publishes to it.
        unsafe { *self.inplace.get() = Some(os) }
    }

    /// The winner of an in-place park's `PARKED -> RUNNING` wakes its OS thread.
    pub(crate) fn wake_in_place(&self) {
        // SAFETY: the caller won the CAS that ends the in-place park, which
        // acquired the write made before `begin`; the owner does not write the
        // cell again until it parks in place again, after it has resumed.
        if let Some(os) = unsafe { (*self.inplace.get()).as_ref() } {
            os.parker.unpark();
        }
    }
}
