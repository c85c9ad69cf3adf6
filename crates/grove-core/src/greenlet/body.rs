//! A green thread's body: the closure it runs and the completion its
//! outcome goes to, in one allocation.
//!
//! A spawn used to allocate the closure (boxed, for the hub to call) and the
//! completion (shared with the `Greenlet` handle) separately. [`Body`] holds
//! both, and is shared three ways through one `Arc`: as [`Main`] (what the
//! hub runs), as the handle's typed [`Outcome`], and as the untyped
//! [`Finish`] that waiters use. One allocation and one free fewer per
//! green thread, which is most of what a short green thread costs.
//!
//! # Who touches the closure
//!
//! `f` is taken exactly once, by [`Main::run`]. `run` is called only by the
//! holder of the task's `exec.main` (an `Option` that is `take`n before the
//! call, under the task's ownership rules in `task.rs`), so no two calls,
//! and no call concurrent with another access, can happen: the other two
//! views never touch `f`. If `run` never happens, `f` drops with the `Body`.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::target::Finish;
use super::{Packet, Waiter};
use crate::completion::Completion;
use crate::error::{Error, GreenletExit};
use crate::wait::Ticket;

/// What the hub runs: the closure, or (with `Some(err)`) its cancellation.
/// Returns how it ended (`returned`, `panicked`, `killed`, `not started`),
/// for traces.
pub(crate) trait Main: Send + Sync {
    fn run(&self, cancel: Option<Error>) -> &'static str;
}

/// The typed view a `Greenlet<T>` keeps: its completion.
pub(crate) trait Outcome<T>: Send + Sync {
    fn packet(&self) -> &Packet<T>;
}

/// The closure `F` and the completion of its `T`.
pub(crate) struct Body<F, T> {
    packet: Packet<T>,
    f: UnsafeCell<Option<F>>,
}

// SAFETY: `f` is touched only by the single `Main::run` call (module docs),
// so sharing a `Body` never shares `F` (F: Send moves it to the running
// hub); the completion is Sync for T: Send.
unsafe impl<F: Send, T: Send> Sync for Body<F, T> {}

impl<F, T> Body<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    pub(crate) fn new(f: F) -> Body<F, T> {
        Body {
            packet: Completion::new(),
            f: UnsafeCell::new(Some(f)),
        }
    }
}

impl<F, T> Main for Body<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self, cancel: Option<Error>) -> &'static str {
        // SAFETY: the only access to `f`, made once (module docs).
        let Some(f) = (unsafe { &mut *self.f.get() }).take() else {
            return "not started";
        };
        let outcome = match cancel {
            Some(e) => {
                // Never run: its captures drop here, and a panicking `Drop`
                // among them is contained like any other panic.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(f)));
                Err(e)
            }
            None => match catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => Ok(v),
                Err(payload) if payload.is::<GreenletExit>() => Err(Error::Killed),
                Err(payload) => Err(Error::Panicked(payload)),
            },
        };
        let how = match &outcome {
            Ok(_) => "returned",
            Err(Error::Killed) => "killed",
            Err(Error::Panicked(_)) => "panicked",
            Err(_) => "not started",
        };
        self.packet.complete(outcome);
        how
    }
}

impl<F: Send, T: Send> Outcome<T> for Body<F, T> {
    fn packet(&self) -> &Packet<T> {
        &self.packet
    }
}

impl<F: Send, T: Send> Finish for Body<F, T> {
    fn is_finished(&self) -> bool {
        self.packet.is_finished()
    }
    fn add_waiter(&self, w: Waiter) -> Option<Ticket> {
        self.packet.add_waiter(w)
    }
    fn remove_waiter(&self, ticket: Ticket) {
        self.packet.remove_waiter(ticket)
    }
}
