//! What the loom models share: a waker over loom's parker, and the waiting
//! loop of `src/block.rs` (`wait_for` without a deadline), so each model
//! drives a primitive's real state machine the way the primitive does.
#![allow(dead_code)]

use grove_core::{Driver, ThreadParker};
use grove_sync::wait::{Ticket, WaitList};
use loom::sync::{Arc, Mutex};

/// A model thread's waker (what `grove_core::Thread` is outside the models).
pub struct Waker(Arc<ThreadParker>);

impl Waker {
    /// Unparks the thread (after the primitive's lock is released).
    pub fn wake(self) {
        self.0.unpark();
    }
}

/// Wakes every waker in `wakers`.
pub fn wake_all(wakers: Vec<Waker>) {
    wakers.into_iter().for_each(Waker::wake);
}

/// A fresh waker for the calling model thread, and the parker it wakes.
pub fn me() -> (Waker, Arc<ThreadParker>) {
    let p = Arc::new(ThreadParker::new());
    (Waker(p.clone()), p)
}

/// Parks until something is handed to `ticket` in `list(state)`, and takes
/// it: the loop of `wait_for`.
pub fn wait_handed<S, P, H>(
    state: &Mutex<S>,
    ticket: Ticket,
    list: fn(&mut S) -> &mut WaitList<P, H, Waker>,
    parker: &ThreadParker,
) -> H {
    loop {
        if let Some(h) = list(&mut state.lock().unwrap()).take_handed(ticket) {
            return h;
        }
        parker.park(None);
    }
}
