//! grove-core: the green-thread runtime under [grove](https://docs.rs/grove).
//!
//! Most programs depend on `grove`, which re-exports everything here.
//!
//! # The design in one place
//!
//! A **green thread** is a closure running on its own stack (`stack.rs`), with
//! a park word (`park.rs`) and an execution record (`task.rs`). It runs until
//! it blocks: then it switches (the `context` crate, Boost.Context's
//! `jump_fcontext`) back to its **hub**.
//!
//! A **hub** (`hub.rs`) is one worker OS thread's loop, gevent's hub made one
//! of many. It picks the next runnable green thread, switches to it, and when
//! the green thread switches back, acts on what it asked for: requeue it
//! (`yield_now`), finish its park (`park`, `sleep`, any blocking wait), or
//! recycle its stack (it returned). Acting after the switch, on the hub's own
//! stack, is the rule that makes cross-thread wakeups safe: a green thread is
//! published as parked only once its stack is no longer in use.
//!
//! **Run queues** (`hub.rs`, `runtime.rs`): each hub owns a work-stealing
//! deque (`crossbeam_deque::Worker`) and a one-slot `runnext` for the green
//! thread it just woke; the runtime has one shared injector for work coming
//! from outside; pinned green threads have their hub's private queues. An idle
//! hub steals half of another hub's deque, starting at a random victim.
//!
//! **Idle hubs** (`idle.rs`, `driver.rs`) search for a bounded spin, then
//! sleep in their [`Driver`]. A producer wakes at most one sleeper, and only
//! when no hub is searching; the fences on both sides make a lost wakeup
//! impossible.
//!
//! **Park/unpark** (`park.rs`, `thread.rs`) is one atomic state machine per
//! green thread. Every blocking primitive grove has or will have is built on
//! [`park`], [`park_timeout`] and [`Thread::unpark`], which work the same from
//! green threads on any hub and from plain OS threads.
//!
//! **Timers** (`timer.rs`) are a heap per hub; a timer ends exactly the park
//! that armed it and never needs cancelling from another thread.
//!
//! **Kill** sets a bit in the park word and wakes the target, which unwinds
//! with [`GreenletExit`] from its blocking point, running its destructors.
//!
//! The full picture, with the reasoning, is in `docs/architecture.md`.
//!
//! # Thread-local storage
//!
//! A green thread may move to another OS thread at any blocking point, so a
//! `std::thread_local!` value can change under it. Use [`GreenLocal`] for
//! per-green-thread state, or pin the green thread ([`Builder::pinned`]).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! let greenlets: Vec<_> = (0..1000)
//!     .map(|i| grove_core::spawn(move || {
//!         grove_core::sleep(Duration::from_millis(1));
//!         i
//!     }))
//!     .collect();
//! let sum: u64 = greenlets.into_iter().map(|g| g.join().unwrap()).sum();
//! assert_eq!(sum, 999 * 1000 / 2);
//! ```
//!
//! # What must be `Send`
//!
//! A green thread may run on any hub's OS thread, so everything that crosses
//! into one must be `Send`, and the compiler holds every caller to it. A
//! closure capturing something thread-bound does not compile:
//!
//! ```compile_fail
//! let rc = std::rc::Rc::new(1);
//! grove_core::spawn(move || *rc + 1);
//! ```
//!
//! nor does a green thread returning one:
//!
//! ```compile_fail
//! let g = grove_core::spawn(|| std::rc::Rc::new(1));
//! ```
//!
//! nor a green-thread-local holding one (its green thread migrates):
//!
//! ```compile_fail
//! static BAD: grove_core::GreenLocal<std::rc::Rc<u8>> =
//!     grove_core::GreenLocal::new(|| std::rc::Rc::new(0));
//! ```
//!
//! The handles themselves ([`Greenlet`], [`Thread`], [`Handle`]) are `Send`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod driver;
mod error;
mod greenlet;
mod hub;
mod local;
mod metrics;
mod overflow;
mod registry;
mod runtime;
mod search;
mod spawn;
mod stack;
mod switch;
mod task;
mod thread;
mod timer;
mod wake;

#[cfg(not(loom))]
mod completion;
#[cfg(not(loom))]
mod idle;
#[cfg(not(loom))]
mod inbox;
#[cfg(not(loom))]
mod park;
#[cfg(not(loom))]
mod sync;

/// The concurrent protocols, exposed to the loom models (`--cfg loom` only).
#[cfg(loom)]
#[doc(hidden)]
pub mod completion;
#[cfg(loom)]
#[doc(hidden)]
pub mod idle;
#[cfg(loom)]
#[doc(hidden)]
pub mod inbox;
#[cfg(loom)]
#[doc(hidden)]
pub mod park;
#[cfg(loom)]
#[doc(hidden)]
pub mod sync;

pub use driver::{set_default_drivers, Driver, DriverFactory, ThreadParker};
pub use error::{BuildError, Error, GreenletExit, SpawnError};
pub use greenlet::{joinall, Greenlet, GreenletRef};
pub use local::GreenLocal;
pub use metrics::HubMetrics;
pub use runtime::{Handle, Runtime, RuntimeBuilder, MAX_WORKERS};
pub use spawn::{spawn, spawn_later, Builder};
pub use stack::{DEFAULT_STACK, MAX_STACK, MIN_STACK};
pub use thread::{
    current, hub_index, park, park_timeout, sleep, yield_now, ParkTimeoutResult, Thread, ThreadId,
};
