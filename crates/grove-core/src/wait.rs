//! The one wait list of grove: FIFO waiters, and direct hand-off of what
//! they wait for. Every place that keeps green threads (or OS threads)
//! waiting for something uses it: every grove-sync primitive, a green
//! thread's completion (its joiners, `completion.rs`), and grove-io's
//! descriptors (their readers and writers). Shared by grove's crates, not
//! a stable API of its own.
//!
//! # The protocol
//!
//! A primitive keeps, under its own mutex, its state and one or more
//! [`WaitList`]s. A caller that cannot proceed joins a list
//! ([`push`](WaitList::push)) with a waker for itself and, for putters, a
//! payload (the item it wants to put), gets a [`Ticket`], unlocks and parks.
//! Whoever makes progress possible does not bump a counter for the waiter to
//! race for: it *hands* the value (a permit, an item, a notification) to the
//! first waiter ([`hand_first`](WaitList::hand_first)), which removes it from
//! the list, and unparks it after unlocking. The woken waiter takes what was
//! handed to it ([`take_handed`](WaitList::take_handed)). So waiters are
//! served strictly in arrival order, and a newcomer can never barge in and
//! take what was meant for a waiter.
//!
//! A waiter that gives up (its timeout passed, or it is killed and unwinds)
//! calls [`cancel`](WaitList::cancel) under the lock. Either it was still
//! waiting, and it leaves the list with its payload, or something was handed
//! to it at that same moment, and it gets that back and passes it on (to the
//! next waiter, or back into the primitive's state). Nothing handed is lost.
//!
//! All of this happens under the primitive's mutex, so the list itself needs
//! no atomics; the wakeup is grove's park/unpark, which keeps a token, so an
//! unpark that comes before the park is not lost either.

use std::time::Instant;

use crate::fifo::Fifo;

pub use crate::reason::set_holder;

/// A waker for the calling green thread (or OS thread) to put in a wait
/// list: like [`current`](crate::current), but not counted among the
/// handles the program holds (deadlock detection counts those).
pub fn waker() -> crate::Thread {
    crate::thread::current_waker()
}

/// The calling green thread's (or OS thread's) id, without making a handle.
pub fn current_id() -> crate::ThreadId {
    crate::ThreadId::from_raw(crate::thread::current_id())
}

/// Parks the calling green thread (or OS thread) until it is unparked or
/// `deadline` passes, recording `reason` for snapshots; a kill unwinds it
/// with `GreenletExit`. Returns whether the deadline passed first. May
/// return spuriously, like [`park`](crate::park). Every blocking point in
/// grove's crates parks through this.
pub fn park_until(reason: crate::WaitReason, deadline: Option<Instant>) -> bool {
    crate::thread::park_until(reason, deadline)
}

/// A waiter's place in a [`WaitList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// What [`WaitList::cancel`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Cancelled<P, H> {
    /// It was still waiting: it has left the list, with its payload.
    Withdrawn(P),
    /// A value was handed to it just before: here it is, to pass on.
    Handed(H),
}

/// Waiters in arrival order (each with a waker `W` and a payload `P`), and
/// the values (`H`) handed to the ones already taken off the list.
///
/// # Example
///
/// ```
/// use grove::wait::{Cancelled, WaitList};
///
/// // Two waiters for a permit (no payload), woken by name.
/// let mut list: WaitList<(), u32, &str> = WaitList::new();
/// let a = list.push("a", ());
/// let b = list.push("b", ());
/// // A release hands its permit to the first in line, who is then unparked.
/// assert_eq!(list.hand_first(7), Ok(("a", ())));
/// assert_eq!(list.take_handed(a), Some(7));
/// // `b` gives up: it leaves the list.
/// assert_eq!(list.cancel(b), Some(Cancelled::Withdrawn(())));
/// assert!(list.is_empty());
/// ```
///
/// The first waiter and the first handed value are kept inline: a list with
/// one waiter at a time (a joiner, a socket's reader) never allocates.
#[derive(Debug)]
pub struct WaitList<P, H, W> {
    waiting: Fifo<(u64, W, P)>,
    handed: Fifo<(u64, H)>,
    next: u64,
}

impl<P, H, W> Default for WaitList<P, H, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, H, W> WaitList<P, H, W> {
    /// An empty list.
    pub fn new() -> Self {
        WaitList {
            waiting: Fifo::new(),
            handed: Fifo::new(),
            next: 0,
        }
    }

    /// Joins the back of the list.
    pub fn push(&mut self, waker: W, payload: P) -> Ticket {
        self.next += 1;
        self.waiting.push_back((self.next, waker, payload));
        Ticket(self.next)
    }

    /// How many are waiting (not counting those handed a value).
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether nobody is waiting.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Hands `value` to the first waiter and takes it off the list; returns
    /// its waker (unpark it after unlocking) and payload. Gives `value` back
    /// if nobody waits.
    pub fn hand_first(&mut self, value: H) -> Result<(W, P), H> {
        match self.waiting.pop_front() {
            Some((ticket, waker, payload)) => {
                self.handed.push_back((ticket, value));
                Ok((waker, payload))
            }
            None => Err(value),
        }
    }

    /// Hands a value made by `value` to every waiter; returns their wakers.
    pub fn hand_all(&mut self, mut value: impl FnMut(P) -> H) -> Vec<W> {
        let mut wakers = Vec::with_capacity(self.waiting.len());
        while let Some((ticket, waker, payload)) = self.waiting.pop_front() {
            self.handed.push_back((ticket, value(payload)));
            wakers.push(waker);
        }
        wakers
    }

    /// Takes every waiter off the list without handing anything; returns
    /// their wakers and payloads. For notifications that a woken waiter
    /// checks for itself (a completion's `finished` flag): their tickets
    /// become unknown, so a later [`cancel`](Self::cancel) returns `None`.
    /// Allocates nothing.
    ///
    /// ```
    /// use grove::wait::WaitList;
    ///
    /// let mut list: WaitList<(), (), &str> = WaitList::new();
    /// let a = list.push("a", ());
    /// let woken: Vec<_> = list.drain().map(|(w, ())| w).collect();
    /// assert_eq!(woken, ["a"]);
    /// assert_eq!(list.cancel(a), None);
    /// ```
    pub fn drain(&mut self) -> impl Iterator<Item = (W, P)> {
        std::mem::take(&mut self.waiting)
            .into_iter()
            .map(|(_, waker, payload)| (waker, payload))
    }

    /// The value handed to `ticket`, if any (the waiter's own check on waking).
    pub fn take_handed(&mut self, ticket: Ticket) -> Option<H> {
        let (_, h) = self.handed.remove_first(|(t, _)| *t == ticket.0)?;
        Some(h)
    }

    /// The waiter gives up. `None` only if the ticket is unknown (it already
    /// took its value).
    pub fn cancel(&mut self, ticket: Ticket) -> Option<Cancelled<P, H>> {
        // A weakened build (loom only) forgets what was handed: lost permits.
        if !cfg!(grove_loom_weaken = "cancel_ignores_handed") {
            if let Some(h) = self.take_handed(ticket) {
                return Some(Cancelled::Handed(h));
            }
        }
        let (_, _, payload) = self.waiting.remove_first(|(t, _, _)| *t == ticket.0)?;
        Some(Cancelled::Withdrawn(payload))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_hand_off_and_cancel() {
        let mut l: WaitList<u8, &str, char> = WaitList::new();
        let a = l.push('a', 1);
        let b = l.push('b', 2);
        let c = l.push('c', 3);
        assert_eq!(l.hand_first("x"), Ok(('a', 1)));
        assert_eq!(l.len(), 2);
        // `b` gives up while still waiting: it leaves with its payload.
        assert_eq!(l.cancel(b), Some(Cancelled::Withdrawn(2)));
        // `a` was handed a value; `c` is next in line.
        assert_eq!(l.take_handed(a), Some("x"));
        assert_eq!(l.hand_first("y"), Ok(('c', 3)));
        // `c` gives up at the same moment it was handed "y": it gets it back.
        assert_eq!(l.cancel(c), Some(Cancelled::Handed("y")));
        assert_eq!(l.hand_first("z"), Err("z"));
        assert!(l.is_empty());
    }

    #[test]
    fn hand_all_hands_every_waiter_its_own_value_in_order() {
        let mut l: WaitList<u8, u8, char> = WaitList::new();
        let a = l.push('a', 1);
        let b = l.push('b', 2);
        assert!(!l.is_empty());
        assert_eq!(l.hand_all(|p| p * 10), ['a', 'b']);
        assert!(l.is_empty());
        assert_eq!(l.take_handed(b), Some(20));
        assert_eq!(l.take_handed(a), Some(10));
        assert_eq!(l.hand_all(|p| p), Vec::<char>::new(), "nobody left");
    }

    #[test]
    fn park_until_reports_whether_the_deadline_passed() {
        let reason = crate::WaitReason::Sleep;
        let past = Instant::now();
        assert!(park_until(reason, Some(past)), "the deadline passed");
        waker().unpark();
        let later = Instant::now() + std::time::Duration::from_secs(60);
        assert!(!park_until(reason, Some(later)), "the unpark came first");
    }
}
