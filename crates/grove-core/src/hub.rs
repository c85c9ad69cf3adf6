//! The hub: one per worker OS thread, running green threads one at a time.
//!
//! A hub's loop fires due timers, picks the next runnable green thread and
//! switches to it; the green thread runs until it blocks, yields or finishes,
//! and then switches back, passing an *action* (`PARK`, `YIELD`, `DONE`). The
//! hub acts on it on its own stack, after the switch: this is what makes it
//! safe for a parked green thread to be woken from any thread, because it is
//! published as parked (`ParkState::commit`) only once it is off its stack.
//!
//! # Where the next green thread comes from
//!
//! 1. Every 61st turn: the hub's pinned inbox, then the shared injector first,
//!    so remote work is never starved by local work.
//! 2. `runnext`: the green thread most recently woken by a green thread on
//!    this hub (Go's runnext), for ping-pong latency. At most [`RUNNEXT_MAX`]
//!    turns in a row while other work waits, so a pair of green threads waking
//!    each other cannot starve the rest.
//! 3. The local queue (a `crossbeam_deque::Worker`, FIFO; others steal from its
//!    other end) and this hub's pinned green threads, alternating.
//! 4. The pinned inbox (pinned green threads woken from elsewhere), then the
//!    injector (`steal_batch_and_pop`, which also refills the local queue).
//! 5. Searching: steal from the injector and from the other hubs, starting at a
//!    random victim, for up to the runtime's spin time (pausing with spin
//!    hints for the first 5 µs, with `sched_yield` after); then sleep
//!    (`idle.rs`).
//!
//! Pinned green threads never enter the stealable queue: they live in their
//! hub's `pinned_local` queue (when requeued by that hub) or its `inbox`
//! (when woken from elsewhere, followed by a targeted unpark of that hub).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use context::{Context, Transfer};
use crossbeam_deque::{Steal, Worker};

use crate::error::Error;
use crate::metrics::Counters;
use crate::overflow;
use crate::park::{Commit, Mode, Notify};
use crate::runtime::Shared;
use crate::stack::StackPool;
use crate::task::Task;
use crate::timer::Timers;

/// The green thread blocked; the hub commits its park.
pub(crate) const PARK: usize = 1;
/// The green thread yielded; the hub queues it at the back.
pub(crate) const YIELD: usize = 2;
/// The green thread finished; the hub recycles its stack.
pub(crate) const DONE: usize = 3;

/// Consecutive turns `runnext` may take while other work waits.
pub(crate) const RUNNEXT_MAX: u32 = 16;

/// How long a spinning hub pauses with spin hints before it pauses with
/// `sched_yield` instead (an active spin, then a passive one, as Go's
/// runtime locks do). On a core with nothing else to run the yield returns
/// at once, so the hub still sees work within a microsecond or so; on a core
/// shared with other threads (a client on the same machine, another
/// program) it lets them run instead of burning the rest of the spin.
const YIELD_AFTER: Duration = Duration::from_micros(5);

/// One pause of a spin that has lasted `spun`: [`SPIN_BATCH`] spin hints
/// at first, then `sched_yield` (see [`YIELD_AFTER`]).
fn spin_pause(spun: Duration) {
    if spun < YIELD_AFTER {
        for _ in 0..SPIN_BATCH {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

/// `spin_loop` hints between two looks at the queues while a hub spins
/// before sleeping: few, so that work handed to a spinning hub is seen
/// within a fraction of a microsecond (a `pause` can take tens of cycles).
const SPIN_BATCH: u32 = 2;

thread_local! {
    static HUB: Cell<*const Hub> = const { Cell::new(ptr::null()) };
}

/// The hub of the calling OS thread, if it is a hub thread.
///
/// Never inlined and never cached across a switch: a green thread may resume
/// on another OS thread, and a thread-local's address computed before a switch
/// would then name the old hub. Callers must not hold the returned reference
/// across anything that may switch.
#[inline(never)]
pub(crate) fn current_hub() -> Option<&'static Hub> {
    let p = HUB.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: HUB is non-null only while `Hub::run` is on this thread's stack,
    // and that frame owns the Hub; callers drop the reference before switching.
    unsafe { p.as_ref() }
}

/// The green thread running on this OS thread, if any.
pub(crate) fn current_task() -> Option<&'static Task> {
    let hub = current_hub()?;
    // SAFETY: `current` points at a task the hub holds an Arc of while it
    // runs, and the running task is registered (and so alive) until it ends.
    unsafe { hub.current.get().as_ref() }
}

/// One hub's private state. Lives on its OS thread's stack.
pub(crate) struct Hub {
    pub(crate) index: usize,
    pub(crate) shared: Arc<Shared>,
    local: Worker<Arc<Task>>,
    runnext: Cell<Option<Arc<Task>>>,
    pinned_local: RefCell<VecDeque<Arc<Task>>>,
    timers: RefCell<Timers>,
    pool: RefCell<StackPool>,
    hub_ctx: Cell<Option<Context>>,
    current: Cell<*const Task>,
    tick: Cell<u32>,
    streak: Cell<u32>,
    rng: Cell<u64>,
    searching: Cell<bool>,
}

impl Hub {
    /// Runs hub `index` of `shared` on the calling thread until the runtime stops.
    pub(crate) fn run(shared: Arc<Shared>, index: usize, local: Worker<Arc<Task>>) {
        let _alt = overflow::ensure_altstack();
        let hub = Hub {
            index,
            shared,
            local,
            runnext: Cell::new(None),
            pinned_local: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Timers::default()),
            pool: RefCell::new(StackPool::default()),
            hub_ctx: Cell::new(None),
            current: Cell::new(ptr::null()),
            tick: Cell::new(0),
            streak: Cell::new(0),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
            searching: Cell::new(false),
        };
        HUB.set(&hub);
        hub.shared.hubs[index].driver.attach();
        hub.run_loop();
        HUB.set(ptr::null());
        hub.timers.borrow_mut().clear();
        hub.pool.borrow_mut().drain(&hub.shared.stacks);
    }

    fn counters(&self) -> &Counters {
        &self.shared.hubs[self.index].counters
    }

    fn run_loop(&self) {
        let shared = &self.shared;
        while !shared.stopping.load(Ordering::Acquire) {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            if !self.timers.borrow().is_empty() {
                self.fire_timers(Instant::now());
            }
            if tick % 61 == 0 {
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

    fn fire_timers(&self, now: Instant) {
        let mut due = Vec::new();
        self.timers
            .borrow_mut()
            .fire_due(now, |task, gen| due.push((task, gen)));
        for (task, gen) in due {
            let n = task.state.timeout(gen);
            wake(task, n);
        }
    }

    fn next_task(&self, tick: u32) -> Option<Arc<Task>> {
        if tick % 61 == 0 {
            if let Some(t) = self.pop_remote() {
                return Some(t);
            }
        }
        if let Some(t) = self.runnext.take() {
            let others = !self.local.is_empty() || !self.pinned_local.borrow().is_empty();
            if self.streak.get() < RUNNEXT_MAX || !others {
                self.streak.set(self.streak.get() + 1);
                return Some(t);
            }
            self.runnext.set(Some(t));
        }
        self.streak.set(0);
        let pinned_first = tick % 2 == 0;
        let pinned = || self.pinned_local.borrow_mut().pop_front();
        let local = || self.local.pop();
        let found = if pinned_first {
            pinned().or_else(local)
        } else {
            local().or_else(pinned)
        };
        found
            .or_else(|| self.pop_remote())
            .or_else(|| self.runnext.take())
    }

    fn pop_remote(&self) -> Option<Arc<Task>> {
        if let Some(t) = steal_one(|| self.shared.hubs[self.index].inbox.steal()) {
            return Some(t);
        }
        steal_one(|| self.shared.injector.steal_batch_and_pop(&self.local))
    }

    /// Looks for work on other hubs for up to the spin time.
    fn search(&self) -> Option<Arc<Task>> {
        let shared = &self.shared;
        if !self.searching.get() {
            if !shared.idle.start_searching() {
                return self.watch_inbox();
            }
            self.searching.set(true);
        }
        let start = Instant::now();
        loop {
            if let Some(t) = self.steal_round() {
                return Some(t);
            }
            let spun = start.elapsed();
            if shared.stopping.load(Ordering::Acquire) || spun >= shared.spin {
                return None;
            }
            spin_pause(spun);
        }
    }

    /// Not allowed to search (enough hubs do): still spin for the spin time on
    /// this hub's own inbox, where work aimed at it (a pinned green thread
    /// woken elsewhere) arrives. Without this, two hubs that go idle at the
    /// same moment leave one of them asleep, and a ping-pong between pinned
    /// green threads pays an OS wakeup on every handoff.
    fn watch_inbox(&self) -> Option<Arc<Task>> {
        let shared = &self.shared;
        let inbox = &shared.hubs[self.index].inbox;
        let start = Instant::now();
        loop {
            if !inbox.is_empty() {
                if let Some(t) = steal_one(|| inbox.steal()) {
                    return Some(t);
                }
            }
            let spun = start.elapsed();
            if shared.stopping.load(Ordering::Acquire) || spun >= shared.spin {
                return None;
            }
            spin_pause(spun);
        }
    }

    /// A searching hub found work (by searching or otherwise): it stops
    /// searching, and the last searcher wakes another hub, since work tends
    /// to come in bursts and producers held back while it searched.
    fn stop_searching(&self) {
        if self.searching.replace(false) && self.shared.idle.stop_searching() {
            self.shared.notify();
        }
    }

    fn steal_round(&self) -> Option<Arc<Task>> {
        if let Some(t) = self.pop_remote() {
            return Some(t);
        }
        let hubs = &self.shared.hubs;
        let n = hubs.len();
        let start = (self.next_random() % n as u64) as usize;
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == self.index {
                continue;
            }
            let before = self.local.len();
            if let Some(t) = steal_one(|| hubs[victim].stealer.steal_batch_and_pop(&self.local)) {
                let moved = (self.local.len() - before) as u64;
                Counters::bump(&self.counters().stolen, moved + 1);
                return Some(t);
            }
        }
        None
    }

    fn next_random(&self) -> u64 {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

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
        me.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if me.inbox.is_empty() && !shared.stopping.load(Ordering::SeqCst) {
            let timeout = self
                .timers
                .borrow()
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if timeout != Some(Duration::ZERO) {
                me.driver.park(timeout);
            }
        }
        me.sleeping.store(false, Ordering::Relaxed);
        self.searching.set(shared.idle.woken(self.index));
    }

    /// Queues `task` on this hub: the stealable queue, or the pinned queue.
    pub(crate) fn push_local(&self, task: Arc<Task>) {
        if task.pinned_hub() == Some(self.index) {
            self.pinned_local.borrow_mut().push_back(task);
        } else {
            self.local.push(task);
            self.shared.notify();
        }
    }

    /// `task` yielded: it goes behind everything runnable here now, including
    /// green threads waiting in this hub's inbox and (a batch of) the
    /// injector, so a yield really lets the others run.
    fn push_yielded(&self, task: Arc<Task>) {
        let me = &self.shared.hubs[self.index];
        while let Some(t) = steal_one(|| me.inbox.steal()) {
            self.pinned_local.borrow_mut().push_back(t);
        }
        if !self.shared.injector.is_empty() {
            let _ = self.shared.injector.steal_batch(&self.local);
        }
        self.push_local(task);
    }

    /// A green thread on this hub woke `task`: let it run next.
    pub(crate) fn set_runnext(&self, task: Arc<Task>) {
        if let Some(old) = self.runnext.replace(Some(task)) {
            self.push_local(old);
        }
    }

    /// Wakes `task` from this hub (a green thread on it, or its timers).
    pub(crate) fn schedule(&self, task: Arc<Task>) {
        match task.pinned_hub() {
            Some(h) if h != self.index => self.shared.push_pinned(h, task),
            _ if !self.current.get().is_null() => self.set_runnext(task),
            _ => self.push_local(task),
        }
    }

    /// Arms a timer on this hub.
    pub(crate) fn add_timer(&self, deadline: Instant, task: Arc<Task>, gen: crate::park::Gen) {
        self.timers.borrow_mut().insert(deadline, task, gen);
    }

    fn run_task(&self, task: Arc<Task>) {
        // SAFETY: this hub popped `task` from a queue, so it owns `exec`.
        let exec = unsafe { task.exec() };
        if !exec.started {
            if self.delay_start(&task) {
                return;
            }
            exec.started = true;
            task.pin_on_start(self.index);
            Counters::bump(&self.counters().started, 1);
            match self
                .pool
                .borrow_mut()
                .take(&self.shared.stacks, task.stack_size)
            {
                Ok(stack) => {
                    Counters::bump(&self.counters().stacks_taken, 1);
                    // SAFETY: the stack outlives the context: it is freed only
                    // after the green thread's final switch (DONE).
                    exec.context = Some(unsafe { Context::new(&stack.as_context_stack(), entry) });
                    exec.stack = Some(stack);
                }
                Err(e) => {
                    // No stack: finish it here, on the hub's own stack.
                    if let Some(main) = exec.main.take() {
                        main(Some(Error::Spawn(e)));
                    }
                    self.shared.registry.remove(&task);
                    return;
                }
            }
        }
        let Some(ctx) = exec.context.take() else {
            return;
        };
        let (size, guard) = match &exec.stack {
            Some(s) => (s.size(), s.guard()),
            None => (0, None),
        };
        self.current.set(Arc::as_ptr(&task));
        overflow::set_running(&task, size, guard);
        Counters::bump(&self.counters().run, 1);
        // SAFETY: `ctx` is the task's suspended context (or its fresh entry),
        // owned by this hub; the task's stack is alive; the data word is a
        // pointer to the task, which `task` keeps alive until we return.
        let t: Transfer = unsafe { ctx.resume(Arc::as_ptr(&task) as usize) };
        overflow::clear_running();
        self.current.set(ptr::null());

        // SAFETY: the green thread switched back to us; until we hand the task
        // on (queue, commit, or drop), this hub owns `exec` again.
        let exec = unsafe { task.exec() };
        if let Some(stack) = &exec.stack {
            if !stack.canary_ok() {
                overflow::report_canary(&task, stack.size());
            }
        }
        match t.data {
            DONE => {
                if let Some(stack) = exec.stack.take() {
                    self.pool.borrow_mut().give(&self.shared.stacks, stack);
                    Counters::bump(&self.counters().stacks_given, 1);
                }
            }
            YIELD => {
                exec.context = Some(t.context);
                self.push_yielded(task);
            }
            _ => {
                exec.context = Some(t.context);
                Counters::bump(&self.counters().parked, 1);
                if task.state.commit() == Commit::Resume {
                    self.set_runnext(task);
                }
            }
        }
    }

    /// A `spawn_later` green thread whose start time has not come: park it on
    /// a timer instead of running it. Returns true if it was parked.
    fn delay_start(&self, task: &Arc<Task>) -> bool {
        let Some(at) = task.start_at else {
            return false;
        };
        if task.state.kill_pending() || at <= Instant::now() {
            return false;
        }
        match task.state.begin(Mode::Sleep, false) {
            crate::park::Begin::Parking(gen) => {
                self.add_timer(at, task.clone(), gen);
                task.state.commit() == Commit::Parked
            }
            crate::park::Begin::Ready(_) => {
                // A kill slipped in between: put it back so the entry sees it.
                task.state.kill();
                false
            }
        }
    }
}

fn steal_one(mut f: impl FnMut() -> Steal<Arc<Task>>) -> Option<Arc<Task>> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

/// Acts on what a wake method of `task`'s park state returned.
pub(crate) fn wake(task: Arc<Task>, n: Notify) {
    match n {
        Notify::Nothing => {}
        Notify::Schedule => schedule(task),
        Notify::WakeInPlace => task.wake_in_place(),
    }
}

/// Puts a woken `task` on a run queue: this hub's if the caller is one of its
/// runtime's hubs, else the runtime's injector (or the pinned hub's inbox).
pub(crate) fn schedule(task: Arc<Task>) {
    if let Some(hub) = current_hub() {
        if Arc::ptr_eq(&hub.shared, &task.shared) {
            hub.schedule(task);
            return;
        }
    }
    let shared = task.shared.clone();
    shared.push_remote(task);
}

/// Green thread: switch to the hub of the current OS thread with `action`;
/// returns when some hub resumes this green thread.
pub(crate) fn switch_out(action: usize) {
    let hub = current_hub().expect("grove: switch_out outside a hub");
    let ctx = hub
        .hub_ctx
        .take()
        .expect("grove: no hub context to switch to");
    // SAFETY: `ctx` is this OS thread's hub loop, suspended in `run_task`.
    let t = unsafe { ctx.resume(action) };
    // Possibly another OS thread now: look the hub up again.
    let hub = current_hub().expect("grove: resumed outside a hub");
    hub.hub_ctx.set(Some(t.context));
}

/// Where every green thread starts. Never returns: its last act is `DONE`.
extern "C" fn entry(t: Transfer) -> ! {
    let hub = current_hub().expect("grove: green thread started outside a hub");
    hub.hub_ctx.set(Some(t.context));
    // SAFETY: the hub passed a pointer to the task and holds an Arc of it
    // until it has handled our final switch.
    let task: &Task = unsafe { &*(t.data as *const Task) };
    run_main(task);
    switch_out(DONE);
    unreachable!("grove: a finished green thread was resumed");
}

fn run_main(task: &Task) {
    // SAFETY: the running green thread is the only user of its `exec` while
    // the hub is switched away; this borrow ends before any switch.
    let main = unsafe { task.exec() }.main.take();
    let cancel = task.state.take_kill().then_some(Error::Killed);
    if let Some(main) = main {
        main(cancel);
    }
    // Green-thread locals die with their green thread, on its own stack.
    // SAFETY: only the running green thread touches its locals.
    let locals = std::mem::take(unsafe { task.locals() });
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(locals)));
    task.shared.registry.remove(task);
}
