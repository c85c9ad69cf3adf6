//! Looking at the next item without taking it: `peek`, `try_peek`,
//! `peek_timeout` (gevent's `peek`, `peek_nowait`).

use std::time::Duration;

use super::*;

impl<T: Clone, S: Peek<T>> GenericQueue<T, S> {
    /// A clone of the next item, left in the queue, waiting while the queue
    /// is empty (gevent's `peek`). Fails only once the queue is closed and
    /// drained.
    ///
    /// A waiting peek never takes an item from a getter in line: a put
    /// hands its item to the first waiting getter, and peeks wait on; an
    /// item that stays in the queue wakes every waiting peek. On a queue of
    /// capacity 0 items are never stored, so a peek waits until it closes.
    /// The clone is made under the queue's lock: keep `clone` cheap.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let q = Arc::new(grove::Queue::new());
    /// let q2 = q.clone();
    /// let peeker = grove::spawn(move || q2.peek());
    /// q.put("next").unwrap();
    /// assert_eq!(peeker.join().unwrap(), Ok("next"));
    /// assert_eq!(q.get(), Ok("next")); // still there
    /// ```
    pub fn peek(&self) -> Result<T, GetError> {
        self.peek_until(None)
    }

    /// A clone of the next item if there is one now (gevent's
    /// `peek_nowait`).
    ///
    /// ```
    /// let q = grove::LifoQueue::new();
    /// assert_eq!(q.try_peek(), Err(grove::GetError::Empty));
    /// q.put(1).unwrap();
    /// q.put(2).unwrap();
    /// assert_eq!(q.try_peek(), Ok(2));
    /// assert_eq!(q.len(), 2);
    /// ```
    pub fn try_peek(&self) -> Result<T, GetError> {
        match look(&mut lock(&self.state)) {
            Now::Done(r) => r.map(|(item, _next)| item),
            Now::Wait(()) => Err(GetError::Empty),
        }
    }

    /// Like [`peek`](GenericQueue::peek), waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = grove::PriorityQueue::<u8>::new();
    /// assert_eq!(q.peek_timeout(Duration::from_millis(5)), Err(grove::GetError::Timeout));
    /// q.put(9).unwrap();
    /// q.put(4).unwrap();
    /// assert_eq!(q.peek_timeout(Duration::from_millis(5)), Ok(4));
    /// ```
    pub fn peek_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.peek_until(deadline(timeout))
    }

    fn peek_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        loop {
            match now_or_wait(
                &self.state,
                self.reason(true),
                deadline,
                look,
                peekers,
                pass_look_on,
            ) {
                // `_next` wakes the next peeker as it drops, unlocked.
                Outcome::Now(r) => return r.map(|(item, _next)| item),
                // Handed a look: look again (the item may be gone).
                Outcome::Waited(Waited::Handed(())) => {}
                Outcome::Waited(Waited::TimedOut(()) | Waited::PassedOn) => {
                    return Err(GetError::Timeout)
                }
            }
        }
    }
}
