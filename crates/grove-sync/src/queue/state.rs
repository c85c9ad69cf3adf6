//! A queue's state and every move it makes, under the queue's mutex.
//!
//! # State
//!
//! - `items`: the [`Store`]; `cap`: its capacity (`None`: unbounded;
//!   `Some(0)`: a rendezvous channel);
//! - `getters`: waiting `get`s; each is handed `Some(item)`, or `None` when
//!   the queue closes;
//! - `putters`: waiting `put`s, each with its item as payload; each is handed
//!   `Ok(())` once its item is accepted (into the store or straight to a
//!   getter), or `Err(item)` back when the queue closes;
//! - `peekers`: waiting `peek`s; each is handed `()`, a sign to look
//!   again;
//! - `closed`; `unfinished` (items accepted and not yet `task_done`) and
//!   `joiners` waiting for it to reach 0.
//!
//! # Invariants
//!
//! - If a getter waits, the store is empty and no putter waits: a `put`
//!   hands its item straight to the first getter.
//! - If a putter waits, the store is full (`len == cap`): a `get` that frees
//!   a slot moves the first putter's item in, and on a channel a `get` takes
//!   the first putter's item directly.
//! - Once closed, nobody waits: `close` hands `None` to every getter and
//!   every putter its item back, a look to every peeker, and later calls do
//!   not wait.
//! - Peekers only wait while the store is empty, and never stand in a
//!   getter's way: a put with a getter waiting hands the item to the getter,
//!   and the peekers wait on. An item that lands in the store hands a look
//!   to the first peeker; a peeker that finds an item hands a look to the
//!   next (a cascade: one wakeup each, no list of wakers built under the
//!   lock). A peeker that finds the store empty again (a `try_get` came
//!   first) waits again; one that gives up as a look reaches it passes the
//!   look on.
//!
//! One exception, for a moment: a getter that gives up (timeout, kill) just
//! as an item is handed to it passes the item on ([`give_back`]): to the next
//! getter, or back to the front of the store, even if that makes the store
//! one over its capacity. Nothing is lost, and order is kept.
//!
//! [`give_back`]: QueueState::give_back

use super::error::TaskDoneError;
use super::store::{Peek, Store};
use crate::wait::WaitList;

/// Why an item was not accepted now.
#[derive(Debug, PartialEq, Eq)]
pub enum PutRefused<T> {
    /// The queue is full; wait with the item, or give it back.
    Full(T),
    /// The queue is closed; here is the item back.
    Closed(T),
}

/// Why no item is available now.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum GetRefused {
    /// Empty; wait, or report it.
    Empty,
    /// Empty and closed: there will be none.
    Closed,
}

/// A queue's state, generic over the store `S` and the waker `W` (so the
/// loom models can drive it with their own).
#[derive(Debug)]
pub struct QueueState<T, S, W> {
    /// The items.
    pub items: S,
    /// The capacity (`None`: unbounded).
    pub cap: Option<usize>,
    /// Whether `close` was called.
    pub closed: bool,
    /// Items accepted and not yet marked done.
    pub unfinished: usize,
    /// Waiting gets.
    pub getters: WaitList<(), Option<T>, W>,
    /// Waiting puts, each with its item.
    pub putters: WaitList<T, Result<(), T>, W>,
    /// Waiting peeks, each handed a look.
    pub peekers: WaitList<(), (), W>,
    /// Waiting joins.
    pub joiners: WaitList<(), (), W>,
}

impl<T, S: Store<T>, W> QueueState<T, S, W> {
    /// An open, empty queue holding items in `items`, with capacity `cap`.
    pub fn new(items: S, cap: Option<usize>) -> Self {
        QueueState {
            items,
            cap,
            closed: false,
            unfinished: 0,
            getters: WaitList::new(),
            putters: WaitList::new(),
            peekers: WaitList::new(),
            joiners: WaitList::new(),
        }
    }

    /// Whether the store is at (or, for a moment, over) capacity.
    pub fn is_full(&self) -> bool {
        self.cap.is_some_and(|c| self.items.len() >= c)
    }

    /// Accepts `item` if it can now: to the first waiting getter (whose waker
    /// is returned, to unpark after unlocking), or into the store (then the
    /// first waiting peeker's waker is returned).
    pub fn put_now(&mut self, item: T) -> Result<Option<W>, PutRefused<T>> {
        if self.closed {
            return Err(PutRefused::Closed(item));
        }
        let item = match self.getters.hand_first(Some(item)) {
            Ok((waker, ())) => {
                self.unfinished += 1;
                return Ok(Some(waker));
            }
            Err(item) => item.expect("what we handed"),
        };
        if self.is_full() {
            return Err(PutRefused::Full(item));
        }
        self.items.push(item);
        self.unfinished += 1;
        Ok(self.wake_peeker())
    }

    /// Hands the first waiting peeker a look (its waker is returned), if
    /// there is an item to see.
    pub fn wake_peeker(&mut self) -> Option<W> {
        if self.items.is_empty() {
            return None;
        }
        self.peekers.hand_first(()).ok().map(|(waker, ())| waker)
    }

    /// The next item, left in place, if there is one now, and the next
    /// waiting peeker's waker (it is handed a look too).
    pub fn peek_now(&mut self) -> Result<(&T, Option<W>), GetRefused>
    where
        S: Peek<T>,
    {
        let next = self.wake_peeker();
        match self.items.peek() {
            Some(item) => Ok((item, next)),
            None if self.closed => Err(GetRefused::Closed),
            None => Err(GetRefused::Empty),
        }
    }

    /// Takes the next item if there is one now. Taking from a full store
    /// admits the first waiting putter's item; on a channel the item comes
    /// straight from the first waiting putter. The putter's waker is
    /// returned, to unpark after unlocking.
    pub fn get_now(&mut self) -> Result<(T, Option<W>), GetRefused> {
        if let Some(item) = self.items.pop() {
            let mut waker = None;
            // A weakened build (loom only) forgets the waiting putters.
            if !cfg!(grove_loom_weaken = "get_skips_putters") && !self.is_full() {
                if let Ok((w, next)) = self.putters.hand_first(Ok(())) {
                    self.items.push(next);
                    self.unfinished += 1;
                    waker = Some(w);
                }
            }
            return Ok((item, waker));
        }
        if let Ok((w, item)) = self.putters.hand_first(Ok(())) {
            self.unfinished += 1;
            return Ok((item, Some(w)));
        }
        Err(if self.closed {
            GetRefused::Closed
        } else {
            GetRefused::Empty
        })
    }

    /// A getter that gave up just as an item was handed to it passes the
    /// item on ([`give_back`](QueueState::give_back)); a close notification
    /// it keeps (`wait_loop`'s pass-on for `getters`).
    pub fn pass_item_on(&mut self, handed: Option<T>) -> Result<Option<W>, Option<T>> {
        match handed {
            Some(item) => Ok(self.give_back(item)),
            None => Err(None),
        }
    }

    /// A getter gave up as `item` was handed to it: pass the item to the
    /// next getter (its waker is returned), or back to the front of the
    /// store (then the first waiting peeker's waker is returned).
    pub fn give_back(&mut self, item: T) -> Option<W> {
        match self.getters.hand_first(Some(item)) {
            Ok((waker, ())) => Some(waker),
            Err(item) => {
                // A weakened build (loom only) drops it: a lost item.
                if !cfg!(grove_loom_weaken = "give_back_drops") {
                    if let Some(item) = item {
                        self.items.unget(item);
                    }
                }
                self.wake_peeker()
            }
        }
    }

    /// Closes the queue: every waiting getter is handed `None`, every
    /// waiting putter its item back, every peeker a look. Returns their
    /// wakers.
    pub fn close(&mut self) -> Vec<W> {
        self.closed = true;
        let mut wakers = self.getters.hand_all(|()| None);
        wakers.extend(self.putters.hand_all(Err));
        wakers.extend(self.peekers.hand_all(|()| ()));
        wakers
    }

    /// Closes the queue and empties the store at once, counting each item
    /// removed as done; at 0 unfinished, every joiner is woken too. Returns
    /// the items (to drop after unlocking: dropping runs their code) and the
    /// wakers.
    pub fn shutdown_now(&mut self) -> (Vec<T>, Vec<W>) {
        let mut wakers = self.close();
        let mut dropped = Vec::with_capacity(self.items.len());
        while let Some(item) = self.items.pop() {
            dropped.push(item);
        }
        // `task_done` may have been called for items not yet taken.
        self.unfinished = self.unfinished.saturating_sub(dropped.len());
        if self.unfinished == 0 {
            wakers.extend(self.joiners.hand_all(|()| ()));
        }
        (dropped, wakers)
    }

    /// One accepted item is done; at 0 unfinished, every joiner is woken
    /// (their wakers are returned). An error if nothing was unfinished.
    pub fn task_done(&mut self) -> Result<Vec<W>, TaskDoneError> {
        if self.unfinished == 0 {
            return Err(TaskDoneError);
        }
        self.unfinished -= 1;
        Ok(if self.unfinished == 0 {
            self.joiners.hand_all(|()| ())
        } else {
            Vec::new()
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::queue::store::{Fifo, Handoff};

    type Q<S> = QueueState<u32, S, char>;

    #[test]
    fn a_full_store_admits_the_first_putter_on_get() {
        let mut q: Q<Fifo<u32>> = QueueState::new(Fifo::default(), Some(1));
        assert_eq!(q.put_now(1), Ok(None));
        assert_eq!(q.put_now(2), Err(PutRefused::Full(2)));
        q.putters.push('p', 2);
        assert_eq!(q.get_now(), Ok((1, Some('p'))));
        assert_eq!(q.items.len(), 1);
        assert_eq!(q.unfinished, 2);
        assert_eq!(q.get_now(), Ok((2, None)));
        assert_eq!(q.get_now(), Err(GetRefused::Empty));
    }

    #[test]
    fn a_channel_hands_over_directly_and_gives_back_in_order() {
        let mut q: Q<Handoff<u32>> = QueueState::new(Handoff::default(), Some(0));
        assert_eq!(q.put_now(1), Err(PutRefused::Full(1)));
        let g = q.getters.push('g', ());
        assert_eq!(q.put_now(7), Ok(Some('g')));
        // The getter gives up as 7 reaches it: 7 is kept for the next get.
        assert_eq!(q.getters.take_handed(g), Some(Some(7)));
        assert_eq!(q.give_back(7), None);
        q.putters.push('p', 8);
        assert_eq!(q.get_now(), Ok((7, None)));
        assert_eq!(q.get_now(), Ok((8, Some('p'))));
    }

    #[test]
    fn close_lets_getters_drain_then_refuses() {
        let mut q: Q<Fifo<u32>> = QueueState::new(Fifo::default(), Some(1));
        q.put_now(1).unwrap();
        q.putters.push('p', 2);
        assert_eq!(q.close(), vec!['p']);
        assert_eq!(q.put_now(3), Err(PutRefused::Closed(3)));
        assert_eq!(q.get_now(), Ok((1, None)));
        assert_eq!(q.get_now(), Err(GetRefused::Closed));
        assert_eq!(q.task_done(), Ok(vec![]));
        assert_eq!(q.task_done(), Err(TaskDoneError));
    }

    #[test]
    fn a_stored_item_wakes_one_peeker_and_each_peeker_the_next() {
        let mut q: Q<Fifo<u32>> = QueueState::new(Fifo::default(), None);
        let g = q.getters.push('g', ());
        let a = q.peekers.push('a', ());
        let b = q.peekers.push('b', ());
        // A getter waits: the item is its, and the peekers wait on.
        assert_eq!(q.put_now(1), Ok(Some('g')));
        assert_eq!(q.getters.take_handed(g), Some(Some(1)));
        assert_eq!(q.peekers.len(), 2);
        // Into the store: the first peeker is handed a look...
        assert_eq!(q.put_now(2), Ok(Some('a')));
        assert_eq!(q.peekers.take_handed(a), Some(()));
        // ...and, seeing the item, hands the next one a look.
        assert_eq!(q.peek_now().map(|(i, w)| (*i, w)), Ok((2, Some('b'))));
        assert_eq!(q.peekers.take_handed(b), Some(()));
        assert_eq!(q.items.len(), 1, "peeking leaves the item");
    }

    #[test]
    fn shutdown_drops_the_items_as_done_and_wakes_everyone() {
        let mut q: Q<Fifo<u32>> = QueueState::new(Fifo::default(), Some(2));
        q.put_now(1).unwrap();
        q.put_now(2).unwrap();
        q.putters.push('p', 3);
        q.joiners.push('j', ());
        let (dropped, wakers) = q.shutdown_now();
        assert_eq!(dropped, [1, 2]);
        assert_eq!(wakers, ['p', 'j']);
        assert_eq!(q.unfinished, 0);
        assert_eq!(q.get_now(), Err(GetRefused::Closed));
        assert_eq!(q.peek_now().map(|(i, _)| *i), Err(GetRefused::Closed));
    }
}
