//! Where a queue keeps its items, and so in what order `get` returns them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The items a queue holds, in the order its kind defines: [`Fifo`] for
/// `Queue`, [`Lifo`] for `LifoQueue`, [`Priority`] for `PriorityQueue` and
/// [`Handoff`] for `Channel`. A program can supply its own order by
/// implementing this trait and building the queue with
/// [`GenericQueue::with_store`](crate::GenericQueue::with_store).
///
/// # Example
///
/// ```
/// use grove::{Fifo, Store};
/// let mut s = Fifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(1));
/// s.unget(1);
/// assert_eq!(s.len(), 2);
/// ```
pub trait Store<T> {
    /// Whether a put waits for a getter to take the item (a `Channel`);
    /// snapshots name such waits `Channel::get` / `Channel::put`.
    ///
    /// ```
    /// use grove::{Fifo, Handoff, Store};
    /// assert!(<Handoff<u8> as Store<u8>>::RENDEZVOUS);
    /// assert!(!<Fifo<u8> as Store<u8>>::RENDEZVOUS);
    /// ```
    const RENDEZVOUS: bool = false;

    /// Adds an item.
    ///
    /// ```
    /// use grove::{Lifo, Store};
    /// let mut s = Lifo::default();
    /// s.push(1);
    /// assert_eq!(s.len(), 1);
    /// ```
    fn push(&mut self, item: T);

    /// Removes the next item to hand out.
    ///
    /// ```
    /// use grove::{Priority, Store};
    /// let mut s = Priority::default();
    /// s.push(9);
    /// s.push(4);
    /// assert_eq!(s.pop(), Some(4));
    /// ```
    fn pop(&mut self) -> Option<T>;

    /// Puts back an item just popped, so that it is the next one out again.
    ///
    /// ```
    /// use grove::{Fifo, Store};
    /// let mut s = Fifo::default();
    /// s.push('a');
    /// s.push('b');
    /// let first = s.pop().unwrap();
    /// s.unget(first);
    /// assert_eq!(s.pop(), Some('a'));
    /// ```
    fn unget(&mut self, item: T);

    /// How many items it holds.
    ///
    /// ```
    /// use grove::{Fifo, Store};
    /// assert_eq!(Fifo::<u8>::default().len(), 0);
    /// ```
    fn len(&self) -> usize;

    /// Whether it holds none.
    ///
    /// ```
    /// use grove::{Handoff, Store};
    /// assert!(Handoff::<u8>::default().is_empty());
    /// ```
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Store`] that can show its next item without removing it. Queues over
/// such a store have `peek`, `try_peek` and `peek_timeout`. [`Fifo`],
/// [`Lifo`] and [`Priority`] are; [`Handoff`] is not, as gevent's `Channel`
/// has no `peek`: a channel's items pass from putter to getter without ever
/// being stored.
///
/// # Example
///
/// ```
/// use grove::{Lifo, Peek, Store};
/// let mut s = Lifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.peek(), Some(&2));
/// assert_eq!(s.len(), 2);
/// ```
pub trait Peek<T>: Store<T> {
    /// The item [`pop`](Store::pop) would remove next, left in place.
    ///
    /// ```
    /// use grove::{Peek, Priority, Store};
    /// let mut s = Priority::default();
    /// assert_eq!(s.peek(), None);
    /// s.push(7);
    /// s.push(3);
    /// assert_eq!(s.peek(), Some(&3));
    /// ```
    fn peek(&self) -> Option<&T>;
}

/// First in, first out (gevent's `Queue`).
///
/// ```
/// use grove::{Fifo, Store};
/// let mut s = Fifo::default();
/// s.push('a');
/// s.push('b');
/// assert_eq!(s.pop(), Some('a'));
/// ```
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out (gevent's `LifoQueue`).
///
/// ```
/// use grove::{Lifo, Store};
/// let mut s = Lifo::default();
/// s.push('a');
/// s.push('b');
/// assert_eq!(s.pop(), Some('b'));
/// ```
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

/// Smallest first (gevent's `PriorityQueue`, like Python's `heapq`); equal
/// items come out in no particular order.
///
/// ```
/// use grove::{Priority, Store};
/// let mut s = Priority::default();
/// s.push(3);
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(1));
/// ```
#[derive(Debug)]
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

/// A `Channel`'s store: with capacity 0 it holds nothing except, for a
/// moment, an item whose getter gave up as the item reached it.
///
/// ```
/// use grove::{Handoff, Store};
/// let s = Handoff::<u8>::default();
/// assert!(s.is_empty());
/// ```
#[derive(Debug)]
pub struct Handoff<T>(Fifo<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> Default for Handoff<T> {
    fn default() -> Self {
        Handoff(Fifo::default())
    }
}

impl<T> Store<T> for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn unget(&mut self, item: T) {
        self.0.push_front(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Store<T> for Handoff<T> {
    const RENDEZVOUS: bool = true;

    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn unget(&mut self, item: T) {
        self.0.unget(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Store<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn unget(&mut self, item: T) {
        self.0.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Store<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(t)| t)
    }
    fn unget(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Peek<T> for Fifo<T> {
    fn peek(&self) -> Option<&T> {
        self.0.front()
    }
}

impl<T> Peek<T> for Lifo<T> {
    fn peek(&self) -> Option<&T> {
        self.0.last()
    }
}

impl<T: Ord> Peek<T> for Priority<T> {
    fn peek(&self) -> Option<&T> {
        self.0.peek().map(|Reverse(t)| t)
    }
}
