//! The hub: one per worker OS thread, running green threads one at a time.
//!
//! A hub's loop fires due timers, picks the next runnable green thread and
//! switches to it (`switch.rs`); the green thread runs until it blocks,
//! yields or finishes, and then switches back, and the hub acts on what it
//! asked for on its own stack. With nothing to run it searches other hubs
//! (`search.rs`) and then sleeps in its driver.
//!
//! What a hub holds and the order it looks in for work: `queues.rs`. How it
//! goes to sleep and who wakes it: `idle.rs`. Where a woken green thread
//! goes: `wake.rs`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use context::Context;

use crate::deque::Worker;
use crate::error::panic_text;
use crate::metrics::Counters;
use crate::overflow;
use crate::queues::Queues;
use crate::runtime::Shared;
use crate::stack::StackPool;
use crate::task::Task;
use crate::timer::Timers;

pub(crate) use crate::switch::{current_hub, current_task};

/// Consecutive turns `runnext` may take while other work waits.
pub(crate) const RUNNEXT_MAX: u32 = 16;

/// Every this many turns a hub looks at the remote sources first and polls
/// its driver without blocking (Go's `schedtick % 61`): a prime, so the
/// rhythm does not lock into step with a workload's own period.
pub(crate) const FAIR_TICK: u32 = 61;

/// One hub's private state. Lives on its OS thread's stack.
///
/// Cells and `RefCell`s only: the hub and the green threads it runs share one
/// OS thread, and no `RefCell` borrow is ever held across a switch.
pub(crate) struct Hub {
    pub(crate) index: usize,
    pub(crate) shared: Arc<Shared>,
    pub(crate) queues: Queues,
    pub(crate) timers: RefCell<Timers<Arc<Task>>>,
    pub(crate) pool: RefCell<StackPool>,
    pub(crate) hub_ctx: Cell<Option<Context>>,
    pub(crate) current: Cell<*const Task>,
    pub(crate) tick: Cell<u32>,
    pub(crate) rng: Cell<u64>,
    pub(crate) searching: Cell<bool>,
    /// Green threads of this hub parked shielded (`thread::block`), to be
    /// woken once none of its green threads is unwinding.
    pub(crate) shielded: RefCell<Vec<Arc<Task>>>,
}

impl Hub {
    /// Runs hub `index` of `shared` on the calling thread until the runtime stops.
    pub(crate) fn run(shared: Arc<Shared>, index: usize, local: Worker<Arc<Task>>) {
        let _alt = overflow::ensure_altstack();
        let hub = Hub {
            index,
            shared,
            queues: Queues {
                local,
                runnext: Cell::new(None),
                bound: RefCell::new(VecDeque::new()),
                after_yield: Cell::new(None),
                streak: Cell::new(0),
            },
            timers: RefCell::new(Timers::default()),
            pool: RefCell::new(StackPool::default()),
            hub_ctx: Cell::new(None),
            current: Cell::new(ptr::null()),
            tick: Cell::new(0),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
            searching: Cell::new(false),
            shielded: RefCell::new(Vec::new()),
        };
        crate::switch::enter(&hub);
        hub.shared.hubs[index]
            .watch
            .tid
            .store(os_thread_id(), Ordering::Relaxed);
        let driver = &hub.shared.handoff.ports[index].driver;
        hub.contain("attach", || driver.attach());
        // A panic on the hub's own stack (a user driver, a bug) must not end
        // the hub silently: report it and go on with the loop.
        while !hub.contain("loop", || hub.run_loop()) {}
        hub.contain("detach", || driver.detach());
        crate::switch::leave();
        hub.timers.borrow_mut().clear();
        hub.pool.borrow_mut().drain(&hub.shared.stacks);
    }

    /// Runs `f` on the hub's stack; a panic is reported on stderr (naming the
    /// hub) and contained. Returns whether `f` returned normally.
    pub(crate) fn contain(&self, what: &str, f: impl FnOnce()) -> bool {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(()) => true,
            Err(payload) => {
                eprintln!(
                    "grove: hub {} caught a panic on its own stack ({what}): {}; the hub goes on",
                    self.index,
                    panic_text(&*payload)
                );
                false
            }
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.hubs[self.index].counters
    }

    /// The green thread this hub is running, if any.
    pub(crate) fn running(&self) -> Option<&Task> {
        // SAFETY: `current` points at a task the hub holds an Arc of while it
        // runs it (see `switch::run_task`).
        unsafe { self.current.get().as_ref() }
    }

    fn run_loop(&self) {
        let shared = &self.shared;
        while !shared.handoff.stopping() {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            self.fire_timers();
            self.unshield_all();
            if tick % FAIR_TICK == 0 {
                shared.handoff.ports[self.index]
                    .driver
                    .park(Some(Duration::ZERO));
            }
            match self.next_task(tick).or_else(|| self.search()) {
                Some(task) => {
                    self.stop_searching();
                    self.run_task(task);
                }
                None => self.sleep(),
            }
        }
    }

    /// Fires this hub's due timers and, if any is due, the runtime's shared
    /// ones (when no other hub is firing them).
    fn fire_timers(&self) {
        let own = !self.timers.borrow().is_empty();
        let shared_due = self.shared.handoff.timers.due_hint();
        if !own && shared_due.is_none() {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        if own {
            let mut timers = self.timers.borrow_mut();
            timers.fire_due(now, |task, gen| due.push((task, gen)));
            self.mirror_timers(timers.len());
        }
        if shared_due.is_some_and(|d| d <= now) {
            self.shared.handoff.timers.fire_due(now, &mut due);
        }
        for (task, gen) in due {
            let n = task.state.timeout(gen);
            crate::wake::wake(task, n);
        }
    }

    /// On the hub's own stack, `std::thread::panicking()` is true exactly
    /// while one of its green threads is parked mid-unwind (std's count is
    /// per OS thread, and the hub itself never unwinds). Once it is false,
    /// every green thread parked shielded since is woken (a spurious wake)
    /// to look again: any pending kill is delivered at its next park.
    fn unshield_all(&self) {
        if self.shielded.borrow().is_empty() || std::thread::panicking() {
            return;
        }
        let parked = std::mem::take(&mut *self.shielded.borrow_mut());
        for task in parked {
            let n = task.state.unshield();
            crate::wake::wake(task, n);
        }
    }

    /// Arms a timer on this hub (for a park of a green thread bound here).
    pub(crate) fn add_timer(&self, deadline: Instant, task: Arc<Task>, gen: crate::park::Gen) {
        let mut timers = self.timers.borrow_mut();
        timers.insert(deadline, task, gen);
        self.mirror_timers(timers.len());
    }

    /// Tells snapshots how many timer entries this hub holds.
    fn mirror_timers(&self, n: usize) {
        self.shared.hubs[self.index]
            .watch
            .timers
            .store(n, Ordering::Relaxed);
    }
}

/// The kernel's id of the calling OS thread (0 where there is none).
fn os_thread_id() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        (unsafe { libc::gettid() }) as u64
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}
