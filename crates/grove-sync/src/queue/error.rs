//! What a queue's `put`, `get` and `task_done` report.

use std::fmt;

/// Why a `put` did not add its item; the item comes back in every case.
///
/// `put` fails only with `Closed`, `try_put` with `Full` or `Closed`, and
/// `put_timeout` with `Timeout` or `Closed`.
///
/// ```
/// let q = grove::Queue::bounded(1);
/// q.put(1).unwrap();
/// let e = q.try_put(2).unwrap_err();
/// assert_eq!(e, grove::PutError::Full(2));
/// assert_eq!(e.to_string(), "the queue is full");
/// assert_eq!(e.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue is full (only from `try_put`).
    Full(T),
    /// The queue is closed.
    Closed(T),
    /// The timeout passed while the queue stayed full.
    Timeout(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    ///
    /// ```
    /// let q = grove::Queue::new();
    /// q.close();
    /// assert_eq!(q.put("x").unwrap_err().into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(t) | PutError::Closed(t) | PutError::Timeout(t) => t,
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "Full(..)",
            PutError::Closed(_) => "Closed(..)",
            PutError::Timeout(_) => "Timeout(..)",
        })
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutError::Full(_) => "the queue is full",
            PutError::Closed(_) => "the queue is closed",
            PutError::Timeout(_) => "timed out waiting for room in the queue",
        })
    }
}

impl<T> std::error::Error for PutError<T> {}

/// Why a `get` returned no item.
///
/// `get` fails only with `Closed` (closed and drained), `try_get` with
/// `Empty` or `Closed`, and `get_timeout` with `Timeout` or `Closed`.
///
/// ```
/// let q = grove::Queue::<u8>::new();
/// assert_eq!(q.try_get(), Err(grove::GetError::Empty));
/// q.close();
/// assert_eq!(q.get().unwrap_err().to_string(), "the queue is closed and empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetError {
    /// The queue is empty (only from `try_get`).
    Empty,
    /// The queue is closed and every item has been taken.
    Closed,
    /// The timeout passed while the queue stayed empty.
    Timeout,
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Empty => "the queue is empty",
            GetError::Closed => "the queue is closed and empty",
            GetError::Timeout => "timed out waiting for an item",
        })
    }
}

impl std::error::Error for GetError {}

/// `task_done` called more times than items were put (gevent raises
/// `ValueError` here).
///
/// ```
/// let q = grove::JoinableQueue::<u8>::new();
/// let e = q.task_done().unwrap_err();
/// assert_eq!(e.to_string(), "task_done called more times than items were put");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done called more times than items were put")
    }
}

impl std::error::Error for TaskDoneError {}
