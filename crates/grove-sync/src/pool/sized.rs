//! [`Pool`]: a [`Group`] with a cap on how many members run at once.

use std::sync::Arc;
use std::time::Duration;

use std::ops::Deref;

use super::*;

/// A [`Group`] that runs at most `size` of its green threads at once
/// (gevent's `Pool`): `spawn` waits while the pool is full. It dereferences
/// to [`Group`] for joining, killing and mapping.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
/// let pool = grove::Pool::new(2);
/// let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// for _ in 0..10 {
///     let (now, most) = (now.clone(), most.clone());
///     pool.spawn(move || {
///         most.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
///         grove::sleep(std::time::Duration::from_millis(1));
///         now.fetch_sub(1, SeqCst);
///     });
/// }
/// pool.join();
/// assert!(most.load(SeqCst) <= 2);
/// ```
#[derive(Clone, Debug)]
pub struct Pool {
    group: Group,
}

impl Pool {
    /// A pool running at most `size` green threads at once (a size of 0 is
    /// taken as 1).
    ///
    /// ```
    /// assert_eq!(grove::Pool::new(4).size(), 4);
    /// ```
    pub fn new(size: usize) -> Pool {
        let size = size.max(1);
        Pool {
            group: Group {
                members: Arc::default(),
                limit: Some(Arc::new(Semaphore::new(size))),
                window: size,
            },
        }
    }

    /// The most green threads it runs at once.
    ///
    /// ```
    /// assert_eq!(grove::Pool::new(2).size(), 2);
    /// ```
    pub fn size(&self) -> usize {
        self.group.window
    }

    fn sem(&self) -> &Semaphore {
        self.group.limit.as_deref().expect("a pool has a limit")
    }

    /// How many more it could start now without waiting.
    ///
    /// ```
    /// let pool = grove::Pool::new(2);
    /// pool.spawn(grove::park);
    /// assert_eq!(pool.free_count(), 1);
    /// pool.kill();
    /// ```
    pub fn free_count(&self) -> usize {
        self.sem().available_permits()
    }

    /// Whether `spawn` would wait now.
    ///
    /// ```
    /// let pool = grove::Pool::new(1);
    /// pool.spawn(grove::park);
    /// assert!(pool.is_full());
    /// pool.kill();
    /// ```
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }

    /// Waits at most `timeout` for a free slot; true if one is free (it is
    /// not reserved: a `spawn` may still have to wait).
    ///
    /// ```
    /// let pool = grove::Pool::new(1);
    /// assert!(pool.wait_available(std::time::Duration::from_millis(1)));
    /// ```
    pub fn wait_available(&self, timeout: Duration) -> bool {
        self.sem().wait_timeout(timeout)
    }
}

impl Deref for Pool {
    type Target = Group;

    fn deref(&self) -> &Group {
        &self.group
    }
}
