//! Where a runnable green thread goes: the one place that decides.
//!
//! Every path that makes a green thread runnable ends here: a spawn
//! ([`push_new`]), a wake that won the park word's `PARKED -> RUNNING`
//! ([`wake`], [`schedule`]), a timer, a yield (`Hub::push_yielded`), a park
//! whose commit found a wake already there.
//!
//! # The rule
//!
//! A green thread with a *home* (it has started and does not migrate, or it
//! was spawned onto one hub with `Builder::hub`) runs only there. One without
//! (not started yet, or migrating by its `unsafe` opt-in) may run anywhere and
//! goes where every hub can steal it. Nothing that could run elsewhere is ever
//! put where only one hub looks: `runnext` and a hub's `bound` queue hold
//! bound green threads only (and, with migration, started migrating ones in
//! `runnext`, as before affinity).
//!
//! # The table
//!
//! | waker | wakee | goes to | who is woken |
//! |---|---|---|---|
//! | a green thread on hub H | bound to H | H's `runnext` (the one it displaces: H's `bound` queue, or its stealable queue) | nobody: H runs it next |
//! | a green thread on hub H | started, migrating | H's `runnext` | nobody |
//! | H's own loop, committing a park a wake already ended | bound to H (or started, migrating) | H's `runnext` | nobody |
//! | H's own loop (timers, ending shielded parks) | bound to H | H's `bound` queue | nobody |
//! | any thread but hub K | bound to K | K's inbox | K, if it sleeps (`inbox.rs`) |
//! | hub H (anything on it) | unbound (not started, or migrating and not woken by a green thread) | H's stealable queue | one sleeping hub, if no hub searches (`idle.rs`) |
//! | a thread outside the runtime | unbound | the runtime's injector | likewise |
//! | anyone | a plain OS thread's park | its parker (`Notify::WakeInPlace`) | that OS thread |
//!
//! "Bound to H" is read from `Task::home` after winning the park word's
//! transition, which acquired the binding (`task.rs`).

use std::sync::Arc;

use crate::hub::{current_hub, Hub};
use crate::park::Notify;
use crate::runtime::Shared;
use crate::task::Task;

/// Acts on what a wake method of `task`'s park state returned. Green threads
/// never park in place, so `WakeInPlace` cannot come from a task's word.
pub(crate) fn wake(task: Arc<Task>, n: Notify) {
    match n {
        Notify::Nothing => {}
        Notify::Schedule | Notify::WakeInPlace => {
            crate::trace::wake(&task);
            schedule(task)
        }
    }
}

/// Puts a runnable `task` where the table says, woken by the calling thread.
pub(crate) fn schedule(task: Arc<Task>) {
    match current_hub() {
        Some(hub) if Arc::ptr_eq(&hub.shared, &task.shared) => hub.schedule(task),
        _ => {
            let shared = task.shared.clone();
            shared.push_remote(task);
        }
    }
}

/// Queues a green thread that was just spawned (never started).
pub(crate) fn push_new(shared: &Arc<Shared>, task: Arc<Task>) {
    match current_hub() {
        Some(hub) if Arc::ptr_eq(&hub.shared, shared) => hub.push_runnable(task),
        _ => shared.push_remote(task),
    }
}

impl Shared {
    /// Queues `task` from a thread that is not one of this runtime's hubs
    /// (or for a hub that is not its home).
    pub(crate) fn push_remote(&self, task: Arc<Task>) {
        self.handoff.push_remote(task.home(), task);
    }
}

impl Hub {
    /// Wakes `task` from this hub: from a green thread running on it, or from
    /// its own loop (timers).
    pub(crate) fn schedule(&self, task: Arc<Task>) {
        let by_green_thread = self.running().is_some();
        match task.home() {
            Some(h) if h != self.index => {
                self.shared.handoff.push_home(h, task);
            }
            Some(_) if by_green_thread => self.set_runnext(task),
            None if by_green_thread && task.started() => self.set_runnext(task),
            _ => self.push_runnable(task),
        }
    }

    /// Queues `task` on this hub, behind what is there: the `bound` queue if
    /// it is bound here, its home's inbox if bound elsewhere, else the
    /// stealable queue (and a sleeping hub is told).
    pub(crate) fn push_runnable(&self, task: Arc<Task>) {
        match task.home() {
            Some(h) if h == self.index => self.queues.bound.borrow_mut().push_back(task),
            Some(h) => {
                self.shared.handoff.push_home(h, task);
            }
            None => {
                self.shared.handoff.push_local(&self.queues.local, task);
            }
        }
    }

    /// `task` (bound here, or a started migrating one) runs next: woken by a
    /// green thread on this hub, or found already woken when the hub
    /// committed its park. The one it displaces is queued.
    pub(crate) fn set_runnext(&self, task: Arc<Task>) {
        if let Some(old) = self.queues.runnext.replace(Some(task)) {
            self.push_runnable(old);
        }
    }

    /// `task` yielded: it goes behind everything runnable here now, including
    /// green threads waiting in this hub's inbox and (a batch of) the
    /// injector, so a yield really lets the others run.
    pub(crate) fn push_yielded(&self, task: Arc<Task>) {
        let handoff = &self.shared.handoff;
        handoff.ports[self.index]
            .inbox
            .drain_into(&mut self.queues.bound.borrow_mut());
        if !handoff.injector.is_empty() {
            let _ = handoff.injector.steal_batch(&self.queues.local);
        }
        let to_bound = task.home() == Some(self.index);
        self.queues.after_yield.set(Some(!to_bound));
        self.push_runnable(task);
    }
}
