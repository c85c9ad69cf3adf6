//! The hub: one per worker OS thread, running green threads one at a time.
//!
//! A hub's loop fires due timers, picks the next runnable green thread and
//! switches to it (`switch.rs`); the green thread runs until it blocks,
//! yields or finishes, and then switches back, and the hub acts on what it
//! asked for on its own stack. With nothing to run it searches other hubs
//! (`search.rs`) and then sleeps in its driver.
//!
//! # What a hub holds
//!
//! * `queues.local`: a `crossbeam_deque::Worker` (FIFO) of green threads that
//!   may run anywhere: not started yet, or migrating. Other hubs steal from
//!   its other end.
//! * `queues.bound`: green threads bound to this hub (started here), runnable.
//!   Only this hub looks at it.
//! * `queues.runnext`: the bound (or started migrating) green thread most
//!   recently woken by a green thread on this hub (Go's runnext), for
//!   ping-pong latency. Never an unstarted one (`wake.rs`).
//! * its inbox (`inbox.rs`, in `HubShared`): bound green threads woken from
//!   elsewhere.
//! * its timers (`timer.rs`), for parks of green threads bound here; parks
//!   of unbound green threads (`spawn_later`, migrating ones) arm the
//!   runtime's shared timers instead, which any hub fires.
//!
//! # Where the next green thread comes from
//!
//! 1. Every [`FAIR_TICK`]th turn: the injector, then the inbox, so that
//!    neither remote source is starved by local work, nor one by the other.
//! 2. `runnext`, at most [`RUNNEXT_MAX`] turns in a row while other work
//!    waits, so a pair of green threads waking each other cannot starve the
//!    rest.
//! 3. The `bound` and `local` queues, alternating which goes first (after a
//!    yield, the one the yielder did not go to).
//! 4. The inbox and the injector, alternating which goes first.
//! 5. Searching (`search.rs`), then sleeping ([`Hub::sleep`]).
//!
//! [`Hub::work_pending`] must see every queue that another hub could take
//! work from (the injector and every stealable queue): it is the sleeping
//! hub's last look, and a queue it misses is a lost wakeup. The inbox has its
//! own handshake (`inbox.rs`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use context::Context;
use crossbeam_deque::Worker;

use crate::error::panic_text;
use crate::metrics::Counters;
use crate::overflow;
use crate::runtime::Shared;
use crate::search::steal_one;
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

/// A hub's run queues (see the module docs).
pub(crate) struct Queues {
    pub(crate) local: Worker<Arc<Task>>,
    pub(crate) runnext: Cell<Option<Arc<Task>>>,
    pub(crate) bound: RefCell<VecDeque<Arc<Task>>>,
    /// Set by a yield: the next pick looks first at the queue the yielder
    /// did *not* go to (`Some(true)`: `bound` first), so a yield lets the
    /// others run whichever queue they wait in.
    pub(crate) after_yield: Cell<Option<bool>>,
}

/// One hub's private state. Lives on its OS thread's stack.
///
/// Cells and `RefCell`s only: the hub and the green threads it runs share one
/// OS thread, and no `RefCell` borrow is ever held across a switch.
pub(crate) struct Hub {
    pub(crate) index: usize,
    pub(crate) shared: Arc<Shared>,
    pub(crate) queues: Queues,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) pool: RefCell<StackPool>,
    pub(crate) hub_ctx: Cell<Option<Context>>,
    pub(crate) current: Cell<*const Task>,
    pub(crate) tick: Cell<u32>,
    streak: Cell<u32>,
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
            },
            timers: RefCell::new(Timers::default()),
            pool: RefCell::new(StackPool::default()),
            hub_ctx: Cell::new(None),
            current: Cell::new(ptr::null()),
            tick: Cell::new(0),
            streak: Cell::new(0),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
            searching: Cell::new(false),
            shielded: RefCell::new(Vec::new()),
        };
        crate::switch::enter(&hub);
        hub.contain("attach", || hub.shared.hubs[index].driver.attach());
        // A panic on the hub's own stack (a user driver, a bug) must not end
        // the hub silently: report it and go on with the loop.
        while !hub.contain("loop", || hub.run_loop()) {}
        hub.contain("detach", || hub.shared.hubs[index].driver.detach());
        crate::switch::leave();
        hub.timers.borrow_mut().clear();
        hub.pool.borrow_mut().drain(&hub.shared.stacks);
    }

    /// Runs `f` on the hub's stack; a panic is reported on stderr (naming the
    /// hub) and contained. Returns whether `f` returned normally.
    fn contain(&self, what: &str, f: impl FnOnce()) -> bool {
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
        while !shared.stopping.load(Ordering::Acquire) {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            self.fire_timers();
            self.unshield_all();
            if tick % FAIR_TICK == 0 {
                shared.hubs[self.index].driver.park(Some(Duration::ZERO));
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
        let shared_due = self.shared.timers.due_hint();
        if !own && shared_due.is_none() {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        if own {
            self.timers
                .borrow_mut()
                .fire_due(now, |task, gen| due.push((task, gen)));
        }
        if shared_due.is_some_and(|d| d <= now) {
            self.shared.timers.fire_due(now, &mut due);
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

    fn next_task(&self, tick: u32) -> Option<Arc<Task>> {
        let q = &self.queues;
        if tick % FAIR_TICK == 0 {
            if let Some(t) = self.pop_remote(true) {
                return Some(t);
            }
        }
        if let Some(t) = q.runnext.take() {
            let others = !q.local.is_empty() || !q.bound.borrow().is_empty();
            if self.streak.get() < RUNNEXT_MAX || !others {
                self.streak.set(self.streak.get() + 1);
                return Some(t);
            }
            q.runnext.set(Some(t));
        }
        self.streak.set(0);
        let bound = || q.bound.borrow_mut().pop_front();
        let local = || q.local.pop();
        let bound_first = q.after_yield.take().unwrap_or(tick % 2 == 0);
        let found = if bound_first {
            bound().or_else(local)
        } else {
            local().or_else(bound)
        };
        found
            .or_else(|| self.pop_remote(tick % 4 < 2))
            .or_else(|| q.runnext.take())
    }

    /// The inbox (everything in it moves to `bound`) and the injector (a
    /// batch moves to `local`), `injector_first` or not.
    pub(crate) fn pop_remote(&self, injector_first: bool) -> Option<Arc<Task>> {
        let inbox = || {
            let mut bound = self.queues.bound.borrow_mut();
            self.shared.hubs[self.index].inbox.drain_into(&mut bound);
            bound.pop_front()
        };
        let injector =
            || steal_one(|| self.shared.injector.steal_batch_and_pop(&self.queues.local));
        if injector_first {
            injector().or_else(inbox)
        } else {
            inbox().or_else(injector)
        }
    }

    /// Whether another hub could take work now: the injector or any
    /// stealable queue is non-empty. Must cover every queue that
    /// [`Hub::next_task`] and `search` take unbound work from.
    fn work_pending(&self) -> bool {
        let shared = &self.shared;
        !shared.injector.is_empty() || shared.hubs.iter().any(|h| !h.stealer.is_empty())
    }

    /// Nothing to do: sleep in the driver until woken or the next timer.
    fn sleep(&self) {
        let shared = &self.shared;
        let me = &shared.hubs[self.index];
        let was_searching = self.searching.replace(false);
        // Every sleeper re-checks the queues after listing itself (idle.rs).
        if shared.idle.go_to_sleep(self.index, was_searching) && self.work_pending() {
            shared.notify();
        }
        // Read after go_to_sleep's fence: a shared timer armed since is
        // either seen here or its armer's notify wakes a sleeper (runtime.rs).
        let deadline = earliest(
            self.timers.borrow().next_deadline(),
            shared.timers.due_hint(),
        );
        if me.inbox.begin_sleep() && !shared.stopping.load(Ordering::SeqCst) {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if timeout != Some(Duration::ZERO) {
                self.contain("driver park", || me.driver.park(timeout));
            }
        }
        me.inbox.end_sleep();
        self.searching.set(shared.idle.woken(self.index));
    }

    /// Arms a timer on this hub (for a park of a green thread bound here).
    pub(crate) fn add_timer(&self, deadline: Instant, task: Arc<Task>, gen: crate::park::Gen) {
        self.timers.borrow_mut().insert(deadline, task, gen);
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
