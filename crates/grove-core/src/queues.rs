//! A hub's run queues, and the order it looks in for the next green thread.
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
//! 5. Searching (`search.rs`), then sleeping (`Hub::sleep`, `handoff.rs`).
//!
//! `Handoff::work_pending` (`handoff.rs`) must see every queue that another hub could take
//! work from (the injector and every stealable queue): it is the sleeping
//! hub's last look, and a queue it misses is a lost wakeup. The inbox has its
//! own handshake (`inbox.rs`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;

use crate::deque::Worker;
use crate::hub::{Hub, FAIR_TICK, RUNNEXT_MAX};
use crate::task::Task;

/// A hub's run queues (see the module docs).
pub(crate) struct Queues {
    pub(crate) local: Worker<Arc<Task>>,
    pub(crate) runnext: Cell<Option<Arc<Task>>>,
    pub(crate) bound: RefCell<VecDeque<Arc<Task>>>,
    /// Set by a yield: the next pick looks first at the queue the yielder
    /// did *not* go to (`Some(true)`: `bound` first), so a yield lets the
    /// others run whichever queue they wait in.
    pub(crate) after_yield: Cell<Option<bool>>,
    /// Turns `runnext` has taken in a row.
    pub(crate) streak: Cell<u32>,
}

impl Hub {
    /// The next green thread to run, from this hub's own queues and the
    /// remote ones, in the order of the module docs; `None` if all are
    /// empty (the hub then searches).
    pub(crate) fn next_task(&self, tick: u32) -> Option<Arc<Task>> {
        let q = &self.queues;
        if tick % FAIR_TICK == 0 {
            if let Some(t) = self.pop_remote(true) {
                return Some(t);
            }
        }
        if let Some(t) = q.runnext.take() {
            let others = !q.local.is_empty() || !q.bound.borrow().is_empty();
            if q.streak.get() < RUNNEXT_MAX || !others {
                q.streak.set(q.streak.get() + 1);
                return Some(t);
            }
            q.runnext.set(Some(t));
        }
        q.streak.set(0);
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
        let mut bound = self.queues.bound.borrow_mut();
        let local = &self.queues.local;
        let handoff = &self.shared.handoff;
        handoff.take_remote(self.index, local, &mut bound, injector_first)
    }
}
