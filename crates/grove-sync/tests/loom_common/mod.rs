//! What the loom models share: a waker over loom's parker, and a blocking
//! wait through grove-sync's own waiting loop (`block::wait_loop`, what
//! `wait_for` runs, with the model thread's parker for the park), so each
//! model drives a primitive's real state machine and its real wait.
#![allow(dead_code)]

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use grove_core::{Driver, ThreadParker};
use grove_sync::block::{wait_loop, Unpark, Waited};
use grove_sync::wait::{Ticket, WaitList};
use loom::sync::{Arc, Mutex};

/// A model thread's waker (what `grove_core::Thread` is outside the models).
pub struct Waker(Arc<ThreadParker>);

impl Waker {
    /// Unparks the thread (after the primitive's lock is released).
    pub fn wake(self) {
        self.0.unpark();
    }
}

impl Unpark for Waker {
    fn unpark(self) {
        self.wake();
    }
}

/// Wakes every waker in `wakers`.
pub fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

/// A fresh waker for the calling model thread, and the parker it wakes.
pub fn me() -> (Waker, Arc<ThreadParker>) {
    let p = Arc::new(ThreadParker::new());
    (Waker(p.clone()), p)
}

/// Parks until something is handed to `ticket` in `list(state)`, and takes
/// it: `wait_for` without a deadline.
pub fn wait_handed<S, P, H>(
    state: &Mutex<S>,
    ticket: Ticket,
    list: fn(&mut S) -> &mut WaitList<P, H, Waker>,
    parker: &ThreadParker,
) -> H {
    match wait_loop(state, ticket, None, list, keep, |_| parker.park(None)) {
        Waited::Handed(h) => h,
        Waited::TimedOut(_) | Waited::PassedOn => panic!("a wait without a deadline ended early"),
    }
}

/// The pass-on of a waiter that keeps what it is handed (never called
/// without a deadline).
fn keep<S, H>(_: &mut S, handed: H) -> Result<Option<Waker>, H> {
    Err(handed)
}

/// A waiter that is killed the first time it parks: `wait_for` until its
/// park unwinds (a kill is delivered as an unwind), when it leaves the line
/// on the way out, passing on by `pass_on` a value handed to it at that
/// moment (the drop guard of `block.rs`). Returns what it was handed before
/// it parked, if anything.
///
/// This is the path where a waiter leaving the line can find a value
/// already handed to it: when a deadline passes, the loop takes what was
/// handed and leaves the line under one lock, so nothing can be handed in
/// between.
pub fn killed_while_waiting<S, P, H>(
    state: &Mutex<S>,
    ticket: Ticket,
    list: fn(&mut S) -> &mut WaitList<P, H, Waker>,
    pass_on: fn(&mut S, H) -> Result<Option<Waker>, H>,
) -> Option<H> {
    let wait = AssertUnwindSafe(|| {
        // `resume_unwind`: an unwind without the panic hook's message.
        wait_loop(state, ticket, None, list, pass_on, |_| {
            resume_unwind(Box::new("killed"))
        })
    });
    match catch_unwind(wait) {
        Ok(Waited::Handed(h)) => Some(h),
        Ok(Waited::TimedOut(_) | Waited::PassedOn) => panic!("no deadline, yet it ended"),
        Err(_) => None,
    }
}
