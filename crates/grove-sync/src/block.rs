//! The one place a primitive blocks: park until something is handed to our
//! ticket, the deadline passes, or we are killed (see `wait.rs`).
//!
//! The loop itself, [`wait_loop`], is generic over the waker and the park,
//! so the loom models (`tests/loom_*.rs`) run it as written, with a model
//! thread's parker where grove parks a green thread.

use std::time::Instant;

use grove_core::{Thread, WaitReason};

use crate::sync::{lock, Mutex};
use crate::wait::{Cancelled, Ticket, WaitList};

/// What wakes a waiter once something is handed to it: grove's [`Thread`]
/// (a green thread or an OS thread), or a model thread's parker under loom.
pub trait Unpark {
    /// Wakes the waiter.
    fn unpark(self);
}

impl Unpark for Thread {
    fn unpark(self) {
        Thread::unpark(&self);
    }
}

/// How a wait ended.
pub enum Waited<P, H> {
    /// The value handed to us.
    Handed(H),
    /// The deadline passed while we were still waiting; our payload back.
    TimedOut(P),
    /// The deadline passed just as a value was handed to us, and it was
    /// passed on to the next waiter (or back into the primitive).
    PassedOn,
}

/// What a primitive's fast path found, under its lock.
pub(crate) enum Now<T, P> {
    /// Done without waiting (or refused without waiting): the result.
    Done(T),
    /// It must wait, with this payload.
    Wait(P),
}

/// How a call that may wait ended.
pub(crate) enum Outcome<T, P, H> {
    /// The fast path finished it.
    Now(T),
    /// It waited; how that ended.
    Waited(Waited<P, H>),
}

/// The shape every blocking call shares: under the lock, try `now`; if it
/// must wait and `deadline` has not passed, join the back of `list(state)`
/// and wait there (see [`wait_for`]). A deadline already past gives
/// `Waited::TimedOut` without joining the line.
pub(crate) fn now_or_wait<S, P, H, T>(
    state: &Mutex<S>,
    why: WaitReason,
    deadline: Option<Instant>,
    now: impl FnOnce(&mut S) -> Now<T, P>,
    list: ListOf<S, P, H>,
    pass_on: PassOn<S, H>,
) -> Outcome<T, P, H> {
    let ticket = {
        let mut s = lock(state);
        let payload = match now(&mut s) {
            Now::Done(t) => return Outcome::Now(t),
            Now::Wait(p) => p,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Outcome::Waited(Waited::TimedOut(payload));
        }
        list(&mut s).push(grove_core::wait::waker(), payload)
    };
    Outcome::Waited(wait_for(state, why, ticket, deadline, list, pass_on))
}

/// The deadline `timeout` from now (`None`, meaning never, if that
/// overflows `Instant`).
pub(crate) fn deadline(timeout: std::time::Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// What a primitive does with a value handed to a waiter that gave up: give
/// it to someone else (`Ok`, with a waker to unpark after unlocking, if any),
/// or let that waiter keep it after all (`Err`).
pub type PassOn<S, H, W = Thread> = fn(&mut S, H) -> Result<Option<W>, H>;

/// The wait list of `S` that a waiter is on.
pub type ListOf<S, P, H, W = Thread> = fn(&mut S) -> &mut WaitList<P, H, W>;

/// Parks the caller, which holds `ticket` in `list(state)`, until a value is
/// handed to it or `deadline` passes; snapshots show it waiting for `why`. If the caller is killed while parked, it
/// leaves the list on the way out, passing on anything handed to it.
pub(crate) fn wait_for<S, P, H>(
    state: &Mutex<S>,
    why: WaitReason,
    ticket: Ticket,
    deadline: Option<Instant>,
    list: ListOf<S, P, H>,
    pass_on: PassOn<S, H>,
) -> Waited<P, H> {
    let park = |deadline| {
        grove_core::wait::park_until(why, deadline);
    };
    wait_loop(state, ticket, deadline, list, pass_on, park)
}

/// The loop of [`wait_for`], with `park(deadline)` for the park: under the
/// lock, take what was handed to `ticket`; past the deadline, leave the
/// line (passing on what was handed at that moment, by `pass_on`, unless
/// the waiter keeps it); otherwise park and look again. A waiter that
/// unwinds out of `park` (killed) leaves the line the same way.
pub fn wait_loop<S, P, H, W: Unpark>(
    state: &Mutex<S>,
    ticket: Ticket,
    deadline: Option<Instant>,
    list: ListOf<S, P, H, W>,
    pass_on: PassOn<S, H, W>,
    mut park: impl FnMut(Option<Instant>),
) -> Waited<P, H> {
    let mut guard = Abandon {
        state,
        ticket: Some(ticket),
        list,
        pass_on,
    };
    loop {
        {
            let mut s = lock(state);
            if let Some(h) = list(&mut s).take_handed(ticket) {
                guard.ticket = None;
                return Waited::Handed(h);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                guard.ticket = None;
                // `Handed` cannot come back here (`take_handed` just ran
                // under this lock); it is handled as the drop guard does, so
                // that the two ways out stay one rule.
                return match list(&mut s).cancel(ticket) {
                    Some(Cancelled::Withdrawn(p)) => Waited::TimedOut(p),
                    Some(Cancelled::Handed(h)) => match pass_on(&mut s, h) {
                        Ok(waker) => {
                            drop(s);
                            if let Some(w) = waker {
                                w.unpark();
                            }
                            Waited::PassedOn
                        }
                        Err(h) => Waited::Handed(h),
                    },
                    None => Waited::PassedOn,
                };
            }
        }
        park(deadline);
    }
}

/// Leaves the wait list if the waiter unwinds (killed) while parked.
struct Abandon<'a, S, P, H, W: Unpark> {
    state: &'a Mutex<S>,
    ticket: Option<Ticket>,
    list: ListOf<S, P, H, W>,
    pass_on: PassOn<S, H, W>,
}

impl<S, P, H, W: Unpark> Drop for Abandon<'_, S, P, H, W> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else {
            return;
        };
        let mut s = lock(self.state);
        if let Some(Cancelled::Handed(h)) = (self.list)(&mut s).cancel(ticket) {
            if let Ok(Some(w)) = (self.pass_on)(&mut s, h) {
                drop(s);
                w.unpark();
            }
        }
    }
}
