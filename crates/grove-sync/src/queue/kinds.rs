//! The constructors of each kind of queue (`Queue`, `LifoQueue`,
//! `PriorityQueue`, `Channel`) and their `Default`s.

use super::*;

impl<T> GenericQueue<T, Fifo<T>> {
    /// An unbounded FIFO queue.
    ///
    /// ```
    /// let q = grove::Queue::<u8>::new();
    /// assert!(q.is_empty() && !q.is_full());
    /// ```
    pub fn new() -> Self {
        Self::with_store(Fifo::default(), None)
    }

    /// A FIFO queue holding at most `capacity` items; `put` waits while it
    /// is full. (`bounded(0)` behaves as a [`Channel`].)
    ///
    /// ```
    /// let q = grove::Queue::bounded(1);
    /// q.put('a').unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self::with_store(Fifo::default(), Some(capacity))
    }
}

impl<T> GenericQueue<T, Lifo<T>> {
    /// An unbounded LIFO queue.
    ///
    /// ```
    /// let q = grove::LifoQueue::<u8>::new();
    /// assert_eq!(q.capacity(), None);
    /// ```
    pub fn new() -> Self {
        Self::with_store(Lifo::default(), None)
    }

    /// A LIFO queue holding at most `capacity` items.
    ///
    /// ```
    /// let q = grove::LifoQueue::<u8>::bounded(3);
    /// assert_eq!(q.capacity(), Some(3));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self::with_store(Lifo::default(), Some(capacity))
    }
}

impl<T: Ord> GenericQueue<T, Priority<T>> {
    /// An unbounded priority queue.
    ///
    /// ```
    /// let q = grove::PriorityQueue::<u8>::new();
    /// assert!(q.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_store(Priority::default(), None)
    }

    /// A priority queue holding at most `capacity` items.
    ///
    /// ```
    /// let q = grove::PriorityQueue::<u8>::bounded(2);
    /// assert_eq!(q.capacity(), Some(2));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self::with_store(Priority::default(), Some(capacity))
    }
}

impl<T> GenericQueue<T, Handoff<T>> {
    /// A rendezvous channel (capacity 0).
    ///
    /// ```
    /// let ch = grove::Channel::<u8>::new();
    /// assert_eq!(ch.try_put(1), Err(grove::PutError::Full(1))); // no getter waits
    /// ```
    pub fn new() -> Self {
        Self::with_store(Handoff::default(), Some(0))
    }
}

impl<T> Default for GenericQueue<T, Fifo<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Default for GenericQueue<T, Lifo<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord> Default for GenericQueue<T, Priority<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Default for GenericQueue<T, Handoff<T>> {
    fn default() -> Self {
        Self::new()
    }
}
