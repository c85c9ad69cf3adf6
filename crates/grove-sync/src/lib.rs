//! grove-sync: gevent's synchronisation primitives for grove's green threads,
//! correct across hubs running in parallel.
//!
//! This crate is one part of [grove](https://docs.rs/grove), which
//! re-exports all of it: depend on `grove`. The examples here are written
//! as a user of `grove` writes them (`grove::...` paths) and run as
//! `grove`'s doctests (`cargo test --doc -p grove`).
//!
//! Every primitive works from green threads on any hub and from plain OS
//! threads (which then block), mixed freely; a blocked green thread costs no
//! CPU until it is woken. Waiters are served in FIFO order. A waiter that
//! times out or is killed leaves cleanly, and a permit or notification handed
//! to it at that same moment is passed on, never lost (`wait.rs` explains the
//! hand-off protocol they all share).
//!
//! Most programs use these through `grove`, which re-exports them.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! let sem = Arc::new(grove::Semaphore::new(1));
//! let done = Arc::new(grove::Event::new());
//! let (s, d) = (sem.clone(), done.clone());
//! grove::spawn(move || {
//!     let _one_at_a_time = s.acquire_guard();
//!     d.set();
//! });
//! done.wait();
//! ```
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod async_result;
mod event;
mod lock;
mod pool;
mod queue;
mod semaphore;

#[cfg(not(loom))]
mod block;
#[cfg(not(loom))]
mod sync;
#[cfg(not(loom))]
use grove_core::wait;

/// The protocol modules, exposed to the loom models (`--cfg loom` only).
#[cfg(loom)]
#[doc(hidden)]
pub mod block;
#[cfg(loom)]
#[doc(hidden)]
pub mod sync;
#[cfg(loom)]
#[doc(hidden)]
pub use grove_core::wait;

pub use async_result::{AlreadySet, AsyncResult};
pub use event::Event;
pub use lock::{Lock, LockError, LockGuard, RLock, RLockGuard};
pub use pool::{Group, Imap, ImapUnordered, Pool};
pub use queue::{
    Channel, Fifo, GenericQueue, GetError, Handoff, Iter, JoinableQueue, Lifo, LifoQueue, Peek,
    Priority, PriorityQueue, PutError, Queue, Store, TaskDoneError,
};

/// The state machines, generic over the waker, for the loom models.
#[doc(hidden)]
pub use async_result::ResultState;
#[doc(hidden)]
pub use event::EventState;
#[doc(hidden)]
pub use queue::{GetRefused, PutRefused, QueueState};
#[doc(hidden)]
pub use semaphore::SemState;
pub use semaphore::{BoundedSemaphore, ReleasedTooMany, Semaphore, SemaphoreGuard};
