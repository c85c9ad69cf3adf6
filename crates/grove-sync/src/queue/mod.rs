//! The queue family: [`Queue`], [`LifoQueue`], [`PriorityQueue`],
//! [`JoinableQueue`] and [`Channel`], all one [`GenericQueue`] over a
//! different [`Store`]. The protocol is in `state.rs`.

mod error;
mod kinds;
mod peek;
mod state;
mod store;

use std::fmt;
use std::time::{Duration, Instant};

use grove_core::Thread;

pub use error::{GetError, PutError, TaskDoneError};
pub use state::{GetRefused, PutRefused, QueueState};
pub use store::{Fifo, Handoff, Lifo, Peek, Priority, Store};

use grove_core::{ObjectId, WaitReason};

use crate::block::{deadline, now_or_wait, Now, Outcome, Waited};
use crate::sync::{lock, Mutex};
use crate::wait::WaitList;

/// gevent's `Queue`: first in, first out; unbounded ([`new`](Queue::new))
/// or bounded ([`bounded`](Queue::bounded)).
///
/// ```
/// let q = grove::Queue::new();
/// q.put(1).unwrap();
/// q.put(2).unwrap();
/// assert_eq!(q.get(), Ok(1));
/// ```
pub type Queue<T> = GenericQueue<T, Fifo<T>>;

/// gevent's `LifoQueue`: last in, first out.
///
/// ```
/// let q = grove::LifoQueue::new();
/// q.put(1).unwrap();
/// q.put(2).unwrap();
/// assert_eq!(q.get(), Ok(2));
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo<T>>;

/// gevent's `PriorityQueue`: smallest item first.
///
/// ```
/// let q = grove::PriorityQueue::new();
/// q.put((2, "later")).unwrap();
/// q.put((1, "sooner")).unwrap();
/// assert_eq!(q.get(), Ok((1, "sooner")));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority<T>>;

/// gevent's `JoinableQueue`. Every grove queue counts unfinished items and
/// has [`task_done`](GenericQueue::task_done) and
/// [`join`](GenericQueue::join) (as Python's `queue.Queue` does); this name
/// is the FIFO one, kept for gevent programs.
///
/// ```
/// let q = grove::JoinableQueue::new();
/// q.put("job").unwrap();
/// q.get().unwrap();
/// q.task_done().unwrap();
/// q.join(); // every item put is done
/// ```
pub type JoinableQueue<T> = Queue<T>;

/// gevent's `Channel`: a queue of capacity 0. A `put` waits until a getter
/// takes the item; a `get` waits until a putter brings one. As in gevent, a
/// channel has no `peek`: its items are never stored (see [`Peek`]).
///
/// ```
/// use std::sync::Arc;
/// let ch = Arc::new(grove::Channel::new());
/// let c = ch.clone();
/// let putter = grove::spawn(move || c.put("hello"));
/// assert_eq!(ch.get(), Ok("hello"));
/// putter.join().unwrap().unwrap(); // returned once the item was taken
/// ```
pub type Channel<T> = GenericQueue<T, Handoff<T>>;

/// A queue over any [`Store`]; use it through its aliases ([`Queue`],
/// [`LifoQueue`], [`PriorityQueue`], [`JoinableQueue`], [`Channel`]).
///
/// Works from green threads on any hub and from plain OS threads, mixed
/// freely. Waiting getters are served in FIFO order, and so are waiting
/// putters; a `put` hands its item straight to a waiting getter. A waiter
/// that times out or is killed leaves the line, and an item handed to it at
/// that moment passes to the next getter (or back to the front of the
/// queue): nothing is lost.
///
/// [`close`](GenericQueue::close) ends a queue: puts are refused, and
/// getters drain what is left, then get [`GetError::Closed`];
/// [`shutdown(true)`](GenericQueue::shutdown) also drops what is left.
///
/// [`peek`](GenericQueue::peek) shows the next item without taking it, on
/// queues whose store is [`Peek`] (all but a [`Channel`]).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let q = Arc::new(grove::Queue::bounded(2));
/// let producer = {
///     let q = q.clone();
///     grove::spawn(move || {
///         for i in 0..10 {
///             q.put(i).unwrap(); // waits while 2 are queued
///         }
///         q.close();
///     })
/// };
/// let got: Vec<i32> = q.iter().collect(); // ends when closed and drained
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// producer.join().unwrap();
/// ```
pub struct GenericQueue<T, S> {
    state: Mutex<QueueState<T, S, Thread>>,
}

type State<T, S> = QueueState<T, S, Thread>;

fn getters<T, S>(s: &mut State<T, S>) -> &mut WaitList<(), Option<T>, Thread> {
    &mut s.getters
}

fn putters<T, S>(s: &mut State<T, S>) -> &mut WaitList<T, Result<(), T>, Thread> {
    &mut s.putters
}

fn joiners<T, S>(s: &mut State<T, S>) -> &mut WaitList<(), (), Thread> {
    &mut s.joiners
}

fn peekers<T, S>(s: &mut State<T, S>) -> &mut WaitList<(), (), Thread> {
    &mut s.peekers
}

/// A peeker that gave up as it was handed a look passes the look on.
fn pass_look_on<T, S: Store<T>>(s: &mut State<T, S>, (): ()) -> Result<Option<Thread>, ()> {
    Ok(s.wake_peeker())
}

/// Unparks the waker it holds when dropped: after the queue is unlocked, or
/// while unwinding from a panicking `clone` under the lock (so a look handed
/// on is not lost).
struct WakeOnDrop(Option<Thread>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        wake(self.0.take());
    }
}

/// A peek's look under the lock: a clone of the next item (the next peeker
/// woken when the returned guard drops), or why there is none.
fn look<T: Clone, S: Peek<T>>(s: &mut State<T, S>) -> Now<Result<(T, WakeOnDrop), GetError>, ()> {
    match s.peek_now() {
        Ok((item, next)) => {
            let next = WakeOnDrop(next);
            Now::Done(Ok((item.clone(), next)))
        }
        Err(GetRefused::Closed) => Now::Done(Err(GetError::Closed)),
        Err(GetRefused::Empty) => Now::Wait(()),
    }
}

/// A putter keeps what it was handed: its item was accepted, or came back.
fn keep<T, S, H>(_: &mut State<T, S>, handed: H) -> Result<Option<Thread>, H> {
    Err(handed)
}

fn wake(waker: Option<Thread>) {
    if let Some(w) = waker {
        w.unpark();
    }
}

impl<T, S: Store<T>> fmt::Debug for GenericQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("GenericQueue")
            .field("len", &s.items.len())
            .field("capacity", &s.cap)
            .field("closed", &s.closed)
            .field("getters", &s.getters.len())
            .field("putters", &s.putters.len())
            .field("peekers", &s.peekers.len())
            .finish()
    }
}

impl<T, S: Store<T>> GenericQueue<T, S> {
    /// A queue over `store` (which should start empty), holding at most
    /// `capacity` items (`None`: unbounded).
    ///
    /// ```
    /// use grove::{GenericQueue, Lifo};
    /// let q = GenericQueue::with_store(Lifo::default(), Some(8));
    /// q.put(1u8).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn with_store(store: S, capacity: Option<usize>) -> Self {
        GenericQueue {
            state: Mutex::new(QueueState::new(store, capacity)),
        }
    }

    /// Adds `item`, waiting (in line) while the queue is full. Fails only if
    /// the queue is closed, giving the item back.
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// q.put("a").unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_until(item, None)
    }

    /// Adds `item` if there is room now (or, on a channel, a getter waits).
    ///
    /// ```
    /// let q = grove::Queue::bounded(1);
    /// assert!(q.try_put(1).is_ok());
    /// assert_eq!(q.try_put(2), Err(grove::PutError::Full(2)));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        let waker = lock(&self.state).put_now(item).map_err(|r| match r {
            PutRefused::Full(t) => PutError::Full(t),
            PutRefused::Closed(t) => PutError::Closed(t),
        })?;
        wake(waker);
        Ok(())
    }

    /// Adds `item`, waiting at most `timeout` for room.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = grove::Queue::bounded(1);
    /// q.put(1).unwrap();
    /// let e = q.put_timeout(2, Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(e, grove::PutError::Timeout(2));
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_until(item, deadline(timeout))
    }

    /// What a getter (`get`) or putter waits for, for snapshots.
    fn reason(&self, get: bool) -> WaitReason {
        let id = ObjectId::of(&self.state);
        match (S::RENDEZVOUS, get) {
            (true, true) => WaitReason::ChannelGet { channel: id },
            (true, false) => WaitReason::ChannelPut { channel: id },
            (false, true) => WaitReason::QueueGet { queue: id },
            (false, false) => WaitReason::QueuePut { queue: id },
        }
    }

    fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        let now = |s: &mut State<T, S>| match s.put_now(item) {
            Ok(waker) => Now::Done(Ok(waker)),
            Err(PutRefused::Closed(t)) => Now::Done(Err(PutError::Closed(t))),
            Err(PutRefused::Full(t)) => Now::Wait(t),
        };
        match now_or_wait(
            &self.state,
            self.reason(false),
            deadline,
            now,
            putters,
            keep,
        ) {
            Outcome::Now(r) => r.map(wake),
            Outcome::Waited(Waited::Handed(r)) => r.map_err(PutError::Closed),
            Outcome::Waited(Waited::TimedOut(t)) => Err(PutError::Timeout(t)),
            // Putters keep what they are handed, so nothing was passed on:
            // the item was accepted.
            Outcome::Waited(Waited::PassedOn) => Ok(()),
        }
    }

    /// Takes the next item, waiting (in line) while the queue is empty.
    /// Fails only once the queue is closed and drained.
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// q.put(5).unwrap();
    /// q.close();
    /// assert_eq!(q.get(), Ok(5)); // what is left is still delivered
    /// assert_eq!(q.get(), Err(grove::GetError::Closed));
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.get_until(None)
    }

    /// Takes the next item if there is one now.
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// assert_eq!(q.try_get(), Err(grove::GetError::Empty));
    /// q.put(1).unwrap();
    /// assert_eq!(q.try_get(), Ok(1));
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        let (item, waker) = lock(&self.state).get_now().map_err(|r| match r {
            GetRefused::Empty => GetError::Empty,
            GetRefused::Closed => GetError::Closed,
        })?;
        wake(waker);
        Ok(item)
    }

    /// Takes the next item, waiting at most `timeout`.
    ///
    /// ```
    /// let q = grove::Queue::<u8>::new();
    /// let r = q.get_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(r, Err(grove::GetError::Timeout));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_until(deadline(timeout))
    }

    fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        let now = |s: &mut State<T, S>| match s.get_now() {
            Ok(got) => Now::Done(Ok(got)),
            Err(GetRefused::Closed) => Now::Done(Err(GetError::Closed)),
            Err(GetRefused::Empty) => Now::Wait(()),
        };
        match now_or_wait(
            &self.state,
            self.reason(true),
            deadline,
            now,
            getters,
            State::pass_item_on,
        ) {
            Outcome::Now(r) => r.map(|(item, waker)| {
                wake(waker);
                item
            }),
            Outcome::Waited(Waited::Handed(Some(item))) => Ok(item),
            Outcome::Waited(Waited::Handed(None)) => Err(GetError::Closed),
            Outcome::Waited(Waited::TimedOut(()) | Waited::PassedOn) => Err(GetError::Timeout),
        }
    }

    /// An iterator of blocking [`get`](GenericQueue::get)s; it ends when the
    /// queue is closed and drained.
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// q.put(1).unwrap();
    /// q.put(2).unwrap();
    /// q.close();
    /// assert_eq!(q.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T, S> {
        Iter { queue: self }
    }

    /// Closes the queue: waiting and later puts fail with
    /// [`PutError::Closed`] (giving their items back); getters take what is
    /// left, then get [`GetError::Closed`]. Closing twice does nothing more.
    ///
    /// ```
    /// let q = grove::Queue::<u8>::new();
    /// q.close();
    /// assert!(q.is_closed());
    /// ```
    pub fn close(&self) {
        let wakers = lock(&self.state).close();
        for w in wakers {
            w.unpark();
        }
    }

    /// Shuts the queue down (gevent's and Python 3.13's `Queue.shutdown`).
    ///
    /// `shutdown(false)` is [`close`](GenericQueue::close): puts fail with
    /// [`PutError::Closed`], waiting putters get their items back, and
    /// getters take what is left, then get [`GetError::Closed`].
    ///
    /// `shutdown(true)` does that and also drops every item still queued, at
    /// once, counting each as done (as a [`task_done`](GenericQueue::task_done)
    /// would): waiting getters and peekers get [`GetError::Closed`] now, and
    /// [`join`](GenericQueue::join)s return unless items taken earlier are
    /// still not marked done (they return once those are). The items are
    /// dropped by the caller, after the queue is unlocked. Calling either
    /// again later is allowed; `shutdown(true)` after `close` drops what the
    /// getters have not taken yet.
    ///
    /// ```
    /// let q = grove::JoinableQueue::new();
    /// q.put("a").unwrap();
    /// q.put("b").unwrap();
    /// q.shutdown(true);
    /// assert!(q.is_closed() && q.is_empty());
    /// assert_eq!(q.get(), Err(grove::GetError::Closed));
    /// assert_eq!(q.put("c"), Err(grove::PutError::Closed("c")));
    /// q.join(); // the dropped items count as done
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        if !immediate {
            return self.close();
        }
        let (dropped, wakers) = lock(&self.state).shutdown_now();
        for w in wakers {
            w.unpark();
        }
        drop(dropped);
    }

    /// How many green threads (or OS threads) are blocked in a `get` right
    /// now (gevent's `len(q.getters)`; waiting peeks are not counted).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(grove::Queue::new());
    /// let q2 = q.clone();
    /// let getter = grove::spawn(move || q2.get());
    /// while q.getters_waiting() == 0 {
    ///     grove::sleep(std::time::Duration::from_millis(1));
    /// }
    /// q.put(1).unwrap();
    /// assert_eq!(getter.join().unwrap(), Ok(1));
    /// assert_eq!(q.getters_waiting(), 0);
    /// ```
    pub fn getters_waiting(&self) -> usize {
        lock(&self.state).getters.len()
    }

    /// How many green threads (or OS threads) are blocked in a `put` right
    /// now, waiting for room (gevent's `len(q.putters)`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(grove::Queue::bounded(1));
    /// q.put(0).unwrap();
    /// let q2 = q.clone();
    /// let putter = grove::spawn(move || q2.put(1));
    /// while q.putters_waiting() == 0 {
    ///     grove::sleep(std::time::Duration::from_millis(1));
    /// }
    /// assert_eq!(q.get(), Ok(0)); // makes room: the putter's item goes in
    /// putter.join().unwrap().unwrap();
    /// assert_eq!(q.putters_waiting(), 0);
    /// ```
    pub fn putters_waiting(&self) -> usize {
        lock(&self.state).putters.len()
    }

    /// Whether [`close`](GenericQueue::close) was called.
    ///
    /// ```
    /// assert!(!grove::Queue::<u8>::new().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// How many items are queued (a channel's is 0: its items go hand to
    /// hand).
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// q.put(()).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.state).items.len()
    }

    /// Whether no items are queued.
    ///
    /// ```
    /// assert!(grove::Queue::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a `put` would wait now (always for a channel with no getter;
    /// never for an unbounded queue).
    ///
    /// ```
    /// let q = grove::Queue::bounded(1);
    /// q.put(1).unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        lock(&self.state).is_full()
    }

    /// The capacity (`None`: unbounded).
    ///
    /// ```
    /// assert_eq!(grove::Channel::<u8>::new().capacity(), Some(0));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        lock(&self.state).cap
    }

    /// Marks one item taken with `get` as processed. When every item ever
    /// put is done, [`join`](GenericQueue::join) returns. An error if called
    /// more times than items were put.
    ///
    /// ```
    /// let q = grove::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// q.get().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let wakers = lock(&self.state).task_done()?;
        for w in wakers {
            w.unpark();
        }
        Ok(())
    }

    /// Items put and not yet marked done.
    ///
    /// ```
    /// let q = grove::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        lock(&self.state).unfinished
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](GenericQueue::task_done).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(grove::JoinableQueue::new());
    /// for i in 0..3 {
    ///     q.put(i).unwrap();
    /// }
    /// let w = q.clone();
    /// grove::spawn(move || {
    ///     while let Ok(_job) = w.try_get() {
    ///         w.task_done().unwrap();
    ///     }
    /// });
    /// q.join();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// ```
    pub fn join(&self) {
        self.join_until(None);
    }

    /// Like [`join`](GenericQueue::join), waiting at most `timeout`; true if
    /// every item is done.
    ///
    /// ```
    /// let q = grove::JoinableQueue::new();
    /// q.put(1).unwrap();
    /// assert!(!q.join_timeout(std::time::Duration::from_millis(2)));
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.join_until(deadline(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> bool {
        let now = |s: &mut State<T, S>| {
            if s.unfinished == 0 {
                Now::Done(())
            } else {
                Now::Wait(())
            }
        };
        matches!(
            now_or_wait(
                &self.state,
                WaitReason::QueueJoin {
                    queue: ObjectId::of(&self.state)
                },
                deadline,
                now,
                joiners,
                keep
            ),
            Outcome::Now(()) | Outcome::Waited(Waited::Handed(()))
        )
    }
}

/// The iterator of [`GenericQueue::iter`]: blocking gets until the queue is
/// closed and drained.
///
/// ```
/// let q = grove::Queue::new();
/// q.put('x').unwrap();
/// q.close();
/// let mut it = q.iter();
/// assert_eq!(it.next(), Some('x'));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T, S: Store<T>> {
    queue: &'a GenericQueue<T, S>,
}

impl<T, S: Store<T>> Iterator for Iter<'_, T, S> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.queue.get().ok()
    }
}

impl<'a, T, S: Store<T>> IntoIterator for &'a GenericQueue<T, S> {
    type Item = T;
    type IntoIter = Iter<'a, T, S>;

    fn into_iter(self) -> Iter<'a, T, S> {
        self.iter()
    }
}
