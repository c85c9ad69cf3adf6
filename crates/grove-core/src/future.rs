//! The bridge to async Rust, both ways: [`block_on`] runs a `Future` from a
//! green thread, parking only that green thread; [`Join`] awaits a
//! [`Greenlet`] from any executor without blocking it.
//!
//! # Future -> green thread
//!
//! `block_on` polls the future on the calling green thread's own stack with
//! a `Waker` that unparks that green thread (`Thread::unpark`), and parks
//! between polls. An unpark that comes before the park leaves a token, so no
//! wake is lost; a wake from any thread (a tokio driver, another hub, the
//! same hub) is just an unpark. A kill or a [`Timeout`](crate::Timeout)
//! while parked unwinds through `block_on`, which drops the future.
//!
//! A hook installed once (`set_poll_hook`) wraps every poll: grove-io's
//! `tokio` feature uses it to enter a background tokio runtime's context for
//! the duration of one poll, never across a park.
//!
//! # Green thread -> future
//!
//! [`Join`] holds the `Greenlet`. Its first poll that finds the green thread
//! running links a callback to the green thread's completion; the callback
//! wakes the waker the latest poll left in a shared slot. Dropping the
//! future drops the `Greenlet`, which detaches the green thread (it runs
//! on), as dropping a tokio `JoinHandle` does.

use std::future::{Future, IntoFuture};
use std::pin::{pin, Pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use crate::error::Error;
use crate::greenlet::{Greenlet, Waiter};
use crate::ready::Waitable;
use crate::reason::WaitReason;
use crate::thread::{self, Thread};
use crate::wait::Ticket;

/// Wraps each poll of [`block_on`]: called with the poll to run.
#[doc(hidden)]
pub type PollHook = fn(&mut dyn FnMut());

static POLL_HOOK: OnceLock<PollHook> = OnceLock::new();

/// Installs the hook every [`block_on`] poll runs inside (grove-io's
/// `tokio` feature enters tokio's context with it). The first call wins;
/// later calls return false.
#[doc(hidden)]
pub fn set_poll_hook(hook: PollHook) -> bool {
    POLL_HOOK.set(hook).is_ok()
}

/// Wakes a thread of control by unparking it.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling green thread, parking only
/// that green thread while the future waits; other green threads of its hub
/// run meanwhile. On a plain OS thread it blocks the OS thread, like
/// `futures::executor::block_on`.
///
/// Any future works whose wakeups come from somewhere that runs on its
/// own: a channel fed by another green thread (of any hub, the same one
/// included) or OS thread, an async runtime's driver. With grove's `tokio`
/// feature, futures that need tokio's reactor or timers work too
/// (`tokio::net`, `tokio::time`, `tokio::spawn`): each poll runs inside a
/// background tokio runtime's context.
///
/// A kill or a [`Timeout`](crate::Timeout) while the future waits unwinds
/// the green thread, dropping the future. Not to be confused with
/// [`Runtime::block_on`](crate::Runtime::block_on), which runs a closure
/// in a green thread of that runtime.
///
/// ```
/// use std::sync::mpsc;
/// use std::task::Poll;
///
/// let g = grove::spawn(|| {
///     // A future that is ready on its second poll, woken by another green thread.
///     let mut polls = 0;
///     grove::block_on(std::future::poll_fn(|cx| {
///         polls += 1;
///         if polls == 2 {
///             return Poll::Ready(polls);
///         }
///         let waker = cx.waker().clone();
///         grove::spawn(move || waker.wake());
///         Poll::Pending
///     }))
/// });
/// assert_eq!(g.join().unwrap(), 2);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = poll_once(future.as_mut(), &mut cx) {
            return v;
        }
        thread::park_because(WaitReason::Park {
            label: Some("a future"),
        });
    }
}

fn poll_once<F: Future>(future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    match POLL_HOOK.get() {
        None => future.poll(cx),
        Some(hook) => {
            let mut future = Some(future);
            let mut out = Poll::Pending;
            hook(&mut || {
                if let Some(f) = future.take() {
                    out = f.poll(cx);
                }
            });
            out
        }
    }
}

/// A [`Greenlet`] as a future: its outcome, awaited from any async executor
/// without blocking it (`greenlet.await`, or `greenlet.into_future()`).
///
/// Dropping it detaches the green thread, which runs on (as dropping a
/// tokio `JoinHandle` does); to stop it, keep a
/// [`GreenletRef`](crate::GreenletRef) and kill it.
///
/// ```
/// let g = grove::spawn(|| 6 * 7);
/// // Any executor: here, a green thread's own.
/// let v = grove::block_on(async move { g.await });
/// assert_eq!(v.unwrap(), 42);
/// ```
pub struct Join<T> {
    greenlet: Option<Greenlet<T>>,
    /// The waker queued on the completion, and its place in the line.
    queued: Option<(Waker, Ticket)>,
}

impl<T> Unpin for Join<T> {}

impl<T: Send + 'static> IntoFuture for Greenlet<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Join<T>;

    fn into_future(self) -> Join<T> {
        Join {
            greenlet: Some(self),
            queued: None,
        }
    }
}

impl<T: Send + 'static> Future for Join<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(g) = this.greenlet.as_ref() else {
            panic!("grove: a Join future polled after it completed");
        };
        if !g.is_ready() {
            let fresh = match &this.queued {
                Some((w, _)) => !w.will_wake(cx.waker()),
                None => true,
            };
            if fresh {
                if let Some((_, ticket)) = this.queued.take() {
                    g.remove_waiter(ticket);
                }
                let w = cx.waker().clone();
                // `None`: it finished meanwhile; fall through and take it.
                if let Some(ticket) = g.add_waiter(Waiter::Task(w.clone())) {
                    this.queued = Some((w, ticket));
                    return Poll::Pending;
                }
            } else {
                return Poll::Pending;
            }
        }
        if let Some((_, ticket)) = this.queued.take() {
            g.remove_waiter(ticket);
        }
        match this.greenlet.take() {
            Some(g) => Poll::Ready(g.join()),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Join<T> {
    fn drop(&mut self) {
        if let (Some(g), Some((_, ticket))) = (&self.greenlet, self.queued.take()) {
            g.remove_waiter(ticket);
        }
    }
}

/// A future that completes once `object` is ready (a green thread
/// finished, an event set, a result set): see [`when_ready`].
pub struct WhenReady<'a, W: Waitable + ?Sized> {
    object: &'a W,
    /// The waker queued on the object, and its place in the line.
    queued: Option<(Waker, Ticket)>,
}

impl<W: Waitable + ?Sized> std::fmt::Debug for WhenReady<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhenReady")
            .field("queued", &self.queued.is_some())
            .finish()
    }
}

/// Waits, from async code, for any [`Waitable`] to become ready, without
/// consuming it (the async form of [`wait`](crate::wait) for one object):
/// the executor's task is woken by the object, never blocking its thread.
///
/// ```
/// let g = grove::spawn(|| 3);
/// grove::block_on(grove::when_ready(&g));
/// assert!(g.is_ready());
/// assert_eq!(g.join().unwrap(), 3);
/// ```
pub fn when_ready<W: Waitable + ?Sized>(object: &W) -> WhenReady<'_, W> {
    WhenReady {
        object,
        queued: None,
    }
}

impl<W: Waitable + ?Sized> Future for WhenReady<'_, W> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.object.is_ready() {
            if let Some((w, _)) = &this.queued {
                if w.will_wake(cx.waker()) {
                    return Poll::Pending;
                }
            }
            if let Some((_, ticket)) = this.queued.take() {
                this.object.remove_waker(ticket);
            }
            let w = cx.waker().clone();
            // `None`: it became ready meanwhile.
            if let Some(ticket) = this.object.add_waker(w.clone()) {
                this.queued = Some((w, ticket));
                return Poll::Pending;
            }
        }
        if let Some((_, ticket)) = this.queued.take() {
            this.object.remove_waker(ticket);
        }
        Poll::Ready(())
    }
}

impl<W: Waitable + ?Sized> Drop for WhenReady<'_, W> {
    fn drop(&mut self) {
        if let Some((_, ticket)) = self.queued.take() {
            self.object.remove_waker(ticket);
        }
    }
}
