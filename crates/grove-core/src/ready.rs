//! Waiting for several objects at once (gevent's `wait` and `iwait`): the
//! [`Waitable`] trait, [`wait`], [`iwait`].
//!
//! # How it works
//!
//! The waiter gives each object that is not ready a `Waker` of its own
//! ([`Notice`]), queued in the object's line like any waiter; when the
//! object becomes ready it wakes that waker, which records the object's
//! index in the waiter's [`Arrivals`] and unparks the waiter. Objects ready
//! at the start are recorded at once, in index order. So indices come out
//! in the order the objects became ready, each once, and nothing is lost
//! between a check and a park: a wake that comes before the park leaves the
//! waiter's token. When the waiter stops (done, timed out, killed, or the
//! iterator dropped), it takes every registration still queued off its line.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use crate::greenlet::{Greenlet, GreenletRef, Waiter};
use crate::reason::WaitReason;
use crate::thread::{self, Thread};
use crate::wait::Ticket;

/// Something a green thread can wait for among others with [`wait`] and
/// [`iwait`]: green threads ([`Greenlet`], [`GreenletRef`]), and grove's
/// events and results (`Event`, `AsyncResult`).
///
/// ```
/// fn ready_count(objects: &[&dyn grove::Waitable]) -> usize {
///     objects.iter().filter(|o| o.is_ready()).count()
/// }
/// let g = grove::spawn(|| ());
/// g.wait();
/// assert_eq!(ready_count(&[&g]), 1);
/// ```
pub trait Waitable {
    /// Whether it is ready now (a green thread finished, an event set).
    fn is_ready(&self) -> bool;

    /// Queues `waker` to be woken once it is ready; `None` if it is ready
    /// already (nothing queued). For [`wait`]'s use.
    #[doc(hidden)]
    fn add_waker(&self, waker: Waker) -> Option<Ticket>;

    /// Takes a waker queued by `add_waker` off the line (whether or not it
    /// was woken).
    #[doc(hidden)]
    fn remove_waker(&self, ticket: Ticket);
}

impl<T> Waitable for Greenlet<T> {
    fn is_ready(&self) -> bool {
        Greenlet::is_ready(self)
    }
    fn add_waker(&self, waker: Waker) -> Option<Ticket> {
        self.add_waiter(Waiter::Task(waker))
    }
    fn remove_waker(&self, ticket: Ticket) {
        self.remove_waiter(ticket)
    }
}

impl Waitable for GreenletRef {
    fn is_ready(&self) -> bool {
        GreenletRef::is_ready(self)
    }
    fn add_waker(&self, waker: Waker) -> Option<Ticket> {
        self.target.done.add_waiter(Waiter::Task(waker))
    }
    fn remove_waker(&self, ticket: Ticket) {
        self.target.done.remove_waiter(ticket)
    }
}

/// The indices of the objects that became ready, in order, and who to wake.
struct Arrivals {
    order: Mutex<VecDeque<usize>>,
    waiter: Thread,
}

/// One object's registration: records its index, wakes the waiter.
struct Notice {
    index: usize,
    arrivals: Arc<Arrivals>,
}

impl Wake for Notice {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.arrivals.order).push_back(self.index);
        self.arrivals.waiter.unpark();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An iterator over the indices of `objects` in the order they become
/// ready (gevent's `iwait`): see [`iwait`].
pub struct Iwait<'a> {
    objects: &'a [&'a dyn Waitable],
    arrivals: Arc<Arrivals>,
    /// The registration still queued for each object, if any.
    queued: Vec<Option<Ticket>>,
    deadline: Option<Instant>,
    left: usize,
}

impl std::fmt::Debug for Iwait<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iwait").field("left", &self.left).finish()
    }
}

/// Yields the index of each object in `objects` as it becomes ready, in the
/// order they do (those ready at the start first, by index), each once;
/// ends when all have, or when `timeout` (counted from this call) passes
/// (gevent's `iwait`). Only the calling green thread waits, in `next`.
///
/// ```
/// use std::time::Duration;
/// let slow = grove::spawn(|| grove::sleep(Duration::from_millis(30)));
/// let fast = grove::spawn(|| grove::sleep(Duration::from_millis(1)));
/// let order: Vec<usize> = grove::iwait(&[&slow, &fast], None).collect();
/// assert_eq!(order, [1, 0]);
/// ```
pub fn iwait<'a>(objects: &'a [&'a dyn Waitable], timeout: Option<Duration>) -> Iwait<'a> {
    let arrivals = Arc::new(Arrivals {
        order: Mutex::new(VecDeque::new()),
        waiter: thread::current(),
    });
    let mut queued = Vec::with_capacity(objects.len());
    for (index, o) in objects.iter().enumerate() {
        let notice = Arc::new(Notice {
            index,
            arrivals: arrivals.clone(),
        });
        let ticket = o.add_waker(Waker::from(notice));
        if ticket.is_none() {
            lock(&arrivals.order).push_back(index);
        }
        queued.push(ticket);
    }
    Iwait {
        objects,
        arrivals,
        queued,
        deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
        left: objects.len(),
    }
}

impl Iterator for Iwait<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        loop {
            let next = lock(&self.arrivals.order).pop_front();
            if let Some(index) = next {
                if let Some(ticket) = self.queued[index].take() {
                    self.objects[index].remove_waker(ticket);
                }
                self.left -= 1;
                return Some(index);
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            thread::park_until(
                WaitReason::Park {
                    label: Some("any of several objects"),
                },
                self.deadline,
            );
        }
    }
}

impl Drop for Iwait<'_> {
    fn drop(&mut self) {
        for (o, q) in self.objects.iter().zip(self.queued.iter_mut()) {
            if let Some(ticket) = q.take() {
                o.remove_waker(ticket);
            }
        }
    }
}

/// Waits until `count` of `objects` are ready (all of them with `None`), or
/// `timeout` passes, and returns the indices of those that became ready, in
/// the order they did (gevent's `wait(objects, timeout, count)`; also
/// `joinall(count=...)`).
///
/// ```
/// use std::time::Duration;
/// let gs: Vec<_> = (0..3u64)
///     .map(|i| grove::spawn(move || grove::sleep(Duration::from_millis(1 + 20 * i))))
///     .collect();
/// let objects: Vec<&dyn grove::Waitable> = gs.iter().map(|g| g as _).collect();
/// assert_eq!(grove::wait(&objects, Some(1), None), [0]);
/// assert_eq!(grove::wait(&objects, None, None).len(), 3);
/// ```
pub fn wait(
    objects: &[&dyn Waitable],
    count: Option<usize>,
    timeout: Option<Duration>,
) -> Vec<usize> {
    let want = count.unwrap_or(objects.len()).min(objects.len());
    iwait(objects, timeout).take(want).collect()
}
