//! A green thread's life on its hub: the first run, every switch in and out,
//! and the last switch.
//!
//! The hub switches to a green thread with `Context::resume`; the green
//! thread switches back with an *action* ([`PARK`], [`YIELD`], [`DONE`]).
//! The hub acts on it on its own stack, after the switch: this is what makes
//! it safe for a parked green thread to be woken from any thread, because it
//! is published as parked (`ParkState::commit`) only once it is off its stack.
//!
//! `current_hub()` is how any code finds the hub of its OS thread. It is
//! never inlined and re-read after every switch, and callers hold no
//! `RefCell` borrow of the hub across a switch.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use context::{Context, Transfer};

use crate::error::Error;
use crate::hub::Hub;
use crate::metrics::Counters;
use crate::overflow;
use crate::park::Commit;
use crate::sanitize;
use crate::task::Task;

/// The green thread blocked; the hub commits its park.
pub(crate) const PARK: usize = 1;
/// The green thread yielded; the hub queues it at the back.
pub(crate) const YIELD: usize = 2;
/// The green thread finished; the hub recycles its stack.
pub(crate) const DONE: usize = 3;

thread_local! {
    static HUB: Cell<*const Hub> = const { Cell::new(ptr::null()) };
}

/// The hub of the calling OS thread, if it is a hub thread.
///
/// Never inlined: with migration allowed a green thread may resume on
/// another OS thread, and a thread-local's address computed before a switch
/// would then name the old hub. Callers must not hold the returned reference
/// across anything that may switch.
#[inline(never)]
pub(crate) fn current_hub() -> Option<&'static Hub> {
    let p = HUB.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: HUB is non-null only between `enter` and `leave`, while
    // `Hub::run` (which owns the Hub) is on this thread's stack; callers drop
    // the reference before switching.
    unsafe { p.as_ref() }
}

/// The green thread running on this OS thread, if any.
pub(crate) fn current_task() -> Option<&'static Task> {
    current_hub()?.running()
}

/// The calling OS thread becomes `hub`'s.
pub(crate) fn enter(hub: &Hub) {
    HUB.set(hub);
}

/// The calling OS thread's hub has stopped.
pub(crate) fn leave() {
    HUB.set(ptr::null());
}

impl Hub {
    /// Runs `task` until it switches back, then acts on what it asked for.
    pub(crate) fn run_task(&self, task: Arc<Task>) {
        // SAFETY: this hub popped `task` from a queue, so it owns `exec`.
        let exec = unsafe { task.exec() };
        if !task.started() {
            task.start_on(self.index);
            crate::trace::start(&task, self.index);
            Counters::bump(&self.counters().started, 1);
            let taken = self
                .pool
                .borrow_mut()
                .take(&self.shared.stacks, task.stack_size);
            match taken {
                Ok(stack) => {
                    Counters::bump(&self.counters().stacks_taken, 1);
                    // SAFETY: the stack outlives the context: it is freed only
                    // after the green thread's final switch (DONE).
                    exec.context = Some(unsafe { Context::new(&stack.as_context_stack(), entry) });
                    exec.fiber.put(sanitize::Fiber::new(&stack));
                    exec.stack = Some(stack);
                }
                Err(e) => {
                    // No stack: finish it here, on the hub's own stack.
                    if let Some(main) = exec.main.take() {
                        crate::trace::end(&task, main.run(Some(Error::Spawn(e))));
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
        let counters = self.counters();
        Counters::bump(&counters.run, 1);
        // For the watcher and snapshots (`watch.rs`): one plain store.
        counters.running.store(task.id, Ordering::Relaxed);
        // No call may stand between the checkers' switch and the real one
        // (ThreadSanitizer would count a call's entry and its return on two
        // different stacks): `to_green` is inlined, not passed to `map`.
        #[allow(clippy::manual_map)]
        let side = match exec.fiber.get() {
            Some(fiber) => Some(sanitize::to_green(fiber)),
            None => None,
        };
        // SAFETY: `ctx` is the task's suspended context (or its fresh entry),
        // owned by this hub; the task's stack is alive; the data word is a
        // pointer to the task, which `task` keeps alive until we return.
        let t: Transfer = unsafe { ctx.resume(Arc::as_ptr(&task) as usize) };
        if let Some(side) = side {
            sanitize::back_in_hub(side);
        }
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
                if let Some(fiber) = exec.fiber.take() {
                    fiber.end();
                }
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
                match task.state.commit() {
                    Commit::Resume => self.set_runnext(task),
                    Commit::Parked if task.unwinding() => self.shielded.borrow_mut().push(task),
                    Commit::Parked => {}
                }
            }
        }
    }
}

/// Green thread: switch to the hub of the current OS thread with `action`;
/// returns when its hub resumes this green thread.
pub(crate) fn switch_out(action: usize) {
    let hub = current_hub().expect("grove: switch_out outside a hub");
    let ctx = hub
        .hub_ctx
        .take()
        .expect("grove: no hub context to switch to");
    let side = sanitize::to_hub();
    // SAFETY: `ctx` is this OS thread's hub loop, suspended in `run_task`.
    let t = unsafe { ctx.resume(action) };
    sanitize::arrived_in_green(side);
    // Another OS thread if the green thread migrates: look the hub up again.
    let hub = current_hub().expect("grove: resumed outside a hub");
    hub.hub_ctx.set(Some(t.context));
}

/// Where every green thread starts. Never returns: its last act is `DONE`.
extern "C" fn entry(t: Transfer) -> ! {
    sanitize::arrived_in_green(sanitize::GreenSide::first());
    let hub = current_hub().expect("grove: green thread started outside a hub");
    hub.hub_ctx.set(Some(t.context));
    // SAFETY: the hub passed a pointer to the task and holds an Arc of it
    // until it has handled our final switch.
    let task: &Task = unsafe { &*(t.data as *const Task) };
    run_main(task);
    switch_out_last();
}

/// Green thread: the last switch to the hub, with `DONE`. Never returns.
///
/// Apart from `switch_out` so that nothing here lives at an address taken
/// (see `sanitize::to_hub_last`).
#[inline(never)]
fn switch_out_last() -> ! {
    let hub = current_hub().expect("grove: switch_out outside a hub");
    let ctx = hub
        .hub_ctx
        .take()
        .expect("grove: no hub context to switch to");
    sanitize::to_hub_last();
    // SAFETY: `ctx` is this OS thread's hub loop, suspended in `run_task`;
    // it drops this stack's context without resuming it.
    unsafe { ctx.resume(DONE) };
    unreachable!("grove: a finished green thread was resumed");
}

fn run_main(task: &Task) {
    // SAFETY: the running green thread is the only user of its `exec` while
    // the hub is switched away; this borrow ends before any switch.
    let main = unsafe { task.exec() }.main.take();
    let cancel = task.state.take_kill().then(|| {
        let payload = task.take_thrown();
        if payload.is::<crate::error::GreenletExit>() {
            Error::Killed
        } else {
            Error::Panicked(payload)
        }
    });
    if let Some(main) = main {
        // `main` catches every panic of the user's code and of dropping it.
        crate::trace::end(task, main.run(cancel));
    }
    // Green-thread locals die with their green thread, on its own stack.
    // SAFETY: only the running green thread touches its locals.
    let locals = std::mem::take(unsafe { task.locals() });
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(locals)));
    task.shared.registry.remove(task);
}
