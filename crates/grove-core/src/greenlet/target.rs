//! [`Target`]: waiting for a green thread and killing it, implemented once
//! for [`Greenlet`](super::Greenlet) and [`GreenletRef`](super::GreenletRef).

use std::any::Any;
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::completion::Unpark;
use crate::deadlock::DeadlockReport;
use crate::hub::current_task;
use crate::reason::WaitReason;
use crate::task::Task;
use crate::thread::{self, Thread, ThreadId};
use crate::wait::Ticket;

/// Who waits for a green thread to finish: a thread of control (parked in
/// `wait`/`join`), or an async task (`Join`, `wait_any`), woken by its
/// `Waker`.
pub(crate) enum Waiter {
    Thread(Thread),
    Task(Waker),
}

impl Unpark for Waiter {
    fn unpark(&self) {
        match self {
            Waiter::Thread(t) => t.unpark(),
            Waiter::Task(w) => w.wake_by_ref(),
        }
    }
}

/// What waiting needs of a completion, whatever the green thread returns.
pub(crate) trait Finish: Send + Sync {
    fn is_finished(&self) -> bool;
    fn add_waiter(&self, w: Waiter) -> Option<Ticket>;
    fn remove_waiter(&self, ticket: Ticket);
}

/// A green thread and its completion: waiting and killing, untyped.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) task: Arc<Task>,
    pub(crate) done: Arc<dyn Finish>,
}

impl Target {
    pub(crate) fn is_current(&self) -> bool {
        current_task().is_some_and(|t| std::ptr::eq(t, Arc::as_ptr(&self.task)))
    }

    pub(crate) fn assert_not_current(&self, what: &str) {
        assert!(
            !self.is_current(),
            "grove: a green thread cannot {what} for itself: it would never finish"
        );
    }

    pub(crate) fn request_kill(&self, value: Option<Box<dyn Any + Send>>) {
        crate::trace::kill(&self.task);
        let n = self.task.request_kill(value);
        crate::wake::wake(self.task.clone(), n);
    }

    /// Asks it to unwind (with `value`, or `GreenletExit`) without waiting;
    /// the calling green thread itself unwinds at once.
    pub(crate) fn kill_nowait(&self, value: Option<Box<dyn Any + Send>>) {
        if self.is_current() {
            match value {
                Some(v) => std::panic::resume_unwind(v),
                None => thread::raise_kill(),
            }
        }
        self.request_kill(value);
    }

    pub(crate) fn kill_until(
        &self,
        value: Option<Box<dyn Any + Send>>,
        deadline: Option<Instant>,
    ) -> bool {
        self.kill_nowait(value);
        self.wait_until(deadline)
    }

    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        matches!(self.wait_end(deadline, false), Ok(true))
    }

    /// Waits for the end or `deadline` (`Ok(false)`). With `deadlocks`, a
    /// caller outside the runtime also stops at a deadlock report of the
    /// target's runtime made after it began (`watch.rs`).
    pub(crate) fn wait_end(
        &self,
        deadline: Option<Instant>,
        deadlocks: bool,
    ) -> Result<bool, Arc<DeadlockReport>> {
        if self.done.is_finished() {
            return Ok(true);
        }
        let watch = &self.task.shared.watch;
        let outside = deadlocks && current_task().is_none();
        let epoch = if outside { watch.epoch() } else { 0 };
        let Some(ticket) = self
            .done
            .add_waiter(Waiter::Thread(thread::current_waker()))
        else {
            return Ok(true);
        };
        if outside {
            crate::thread::join_outside(&self.task.shared);
        }
        // Off the list when the wait ends, also by unwinding (a kill).
        let _unlist = Unlist {
            done: &*self.done,
            ticket,
        };
        let why = WaitReason::Join {
            target: ThreadId::from_raw(self.task.id),
        };
        loop {
            if self.done.is_finished() {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(self.done.is_finished());
            }
            if outside {
                if let Some(report) = watch.deadlock_after(epoch) {
                    return Err(report);
                }
            }
            thread::park_until(why, deadline);
        }
    }
}

struct Unlist<'a> {
    done: &'a dyn Finish,
    ticket: Ticket,
}

impl Drop for Unlist<'_> {
    fn drop(&mut self) {
        self.done.remove_waiter(self.ticket);
    }
}
