//! The synchronisation facade.
//!
//! Every piece of cross-thread protocol code in grove-core (the park state
//! machine, the thread parker, the idle protocol) takes its atomics, `Arc`,
//! `Mutex` and `Condvar` from here. A normal build gets `std`'s; a build with
//! `RUSTFLAGS="--cfg loom"` gets loom's, so the loom models in `tests/loom_*.rs`
//! explore every interleaving of exactly the code that ships.
//!
//! Code outside those protocols (statics such as the id counter, the hub's
//! thread-local state) uses `std` directly: loom types only work inside a
//! model, and nothing outside the protocols is modelled.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: grove's own critical sections never panic
/// while they hold a lock, and a user panic elsewhere must not wedge a hub.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
