//! The iterators of `Group::imap` and `Group::imap_unordered`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use grove_core::{Error, Greenlet};

use super::*;

/// Tells an unordered map which call finished, when the call's closure is
/// dropped (it returned, panicked, or was killed).
pub(super) struct Finished {
    pub(super) queue: Arc<Queue<u64>>,
    pub(super) seq: u64,
}

impl Drop for Finished {
    fn drop(&mut self) {
        // An unbounded queue that is never closed accepts every put.
        let _ = self.queue.put(self.seq);
    }
}

/// The iterator of [`Group::imap`]: results in input order.
///
/// ```
/// let group = grove::Group::new();
/// let it: grove::Imap<'_, u8> = group.imap(|x: u8| x, [1, 2]);
/// assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Imap<'a, R> {
    pub(super) next: Box<dyn FnMut() -> Option<Greenlet<R>> + 'a>,
    pub(super) in_flight: VecDeque<Greenlet<R>>,
    pub(super) window: usize,
    pub(super) maxsize: usize,
}

/// The doc of both iterators' `maxsize`.
macro_rules! maxsize_doc {
    () => {
        "At most `n` results (a minimum of 1) are kept ahead of the consumer
(gevent's `maxsize`): a call is started only while fewer than `n` calls
are running or finished and not yet taken, so finished results never pile
up beyond `n`, and the rest wait for room. It lowers the limit a pool's
size already sets, never raises it.

It is a knob on the iterator rather than an `imap_with_maxsize` twin of
each mapping method: one method serves both [`Group::imap`] and
[`Group::imap_unordered`], it reads as std's iterator adapters do
(`group.imap(f, items).maxsize(2)`), and it loses nothing by coming after
the call, because the iterator starts no call before its first `next`."
    };
}

impl<R> fmt::Debug for Imap<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R> Imap<'_, R> {
    #[doc = maxsize_doc!()]
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let group = grove::Group::new(); // no limit of its own
    /// let mut it = group
    ///     .imap(move |x: u32| { s.fetch_add(1, SeqCst); x }, 0..100)
    ///     .maxsize(2);
    /// assert_eq!(it.next().unwrap().unwrap(), 0);
    /// assert!(started.load(SeqCst) <= 2); // not all 100 at once
    /// ```
    pub fn maxsize(mut self, n: usize) -> Self {
        self.maxsize = n.max(1);
        self
    }
}

impl<R: Send + 'static> Iterator for Imap<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window.min(self.maxsize) {
            match (self.next)() {
                Some(g) => self.in_flight.push_back(g),
                None => break,
            }
        }
        self.in_flight.pop_front().map(Greenlet::join)
    }
}

/// The iterator of [`Group::imap_unordered`]: results as calls finish.
///
/// ```
/// let group = grove::Group::new();
/// let it: grove::ImapUnordered<'_, u8> = group.imap_unordered(|x: u8| x, [5]);
/// assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [5]);
/// ```
pub struct ImapUnordered<'a, R> {
    pub(super) next: Box<dyn FnMut() -> Option<(u64, Greenlet<R>)> + 'a>,
    pub(super) in_flight: HashMap<u64, Greenlet<R>>,
    pub(super) finished: Arc<Queue<u64>>,
    pub(super) window: usize,
    pub(super) maxsize: usize,
}

impl<R> fmt::Debug for ImapUnordered<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R> ImapUnordered<'_, R> {
    #[doc = maxsize_doc!()]
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let done: Vec<u32> = group
    ///     .imap_unordered(|x: u32| x * 2, 0..10)
    ///     .maxsize(1) // one call at a time: in order after all
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(done, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    /// ```
    pub fn maxsize(mut self, n: usize) -> Self {
        self.maxsize = n.max(1);
        self
    }
}

impl<R: Send + 'static> Iterator for ImapUnordered<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window.min(self.maxsize) {
            match (self.next)() {
                Some((seq, g)) => {
                    self.in_flight.insert(seq, g);
                }
                None => break,
            }
        }
        if self.in_flight.is_empty() {
            return None;
        }
        loop {
            let seq = self.finished.get().ok()?;
            if let Some(g) = self.in_flight.remove(&seq) {
                return Some(g.join());
            }
        }
    }
}
