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
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// std's `UnsafeCell` with loom's access API (`with` / `with_mut`), so that
/// code using it compiles against either and loom can check each access.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared raw pointer to the value.
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive raw pointer to the value.
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
