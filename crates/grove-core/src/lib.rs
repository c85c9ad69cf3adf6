//! grove-core: the green-thread runtime under [grove](https://docs.rs/grove).
//!
//! This crate is one part of [grove](https://docs.rs/grove), which
//! re-exports all of it: depend on `grove`. The examples here are written
//! as a user of `grove` writes them (`grove::...` paths) and run as
//! `grove`'s doctests (`cargo test --doc -p grove`).
//!
//! # The design in one place
//!
//! A **green thread** is a closure running on its own stack (`stack/`), with
//! a park word (`park.rs`) and an execution record (`task.rs`). It runs until
//! it blocks: then it switches (the `context` crate, Boost.Context's
//! `jump_fcontext`) back to its **hub**.
//!
//! A **hub** (`hub.rs`) is one worker OS thread's loop, gevent's hub made one
//! of many. It picks the next runnable green thread, switches to it
//! (`switch.rs`), and when the green thread switches back, acts on what it
//! asked for: requeue it (`yield_now`), finish its park (`park`, `sleep`, any
//! blocking wait), or recycle its stack (it returned). Acting after the
//! switch, on the hub's own stack, is the rule that makes cross-thread
//! wakeups safe: a green thread is published as parked only once its stack
//! is no longer in use.
//!
//! **Affinity** (`task.rs`): a green thread may move between hubs only
//! before it first runs. Once started it resumes only on the OS thread that
//! started it, its *home*, unless it opted into migration with the `unsafe`
//! [`Builder::allow_migration`] (or [`RuntimeBuilder::allow_migration`]).
//!
//! **Run queues** (`hub.rs`, `wake.rs`): each hub owns a work-stealing deque
//! (`crossbeam_deque::Worker`) of green threads that may run anywhere (not
//! started yet, or migrating), a private queue and a `runnext` slot for the
//! green threads bound to it, and an inbox (`inbox.rs`) where they arrive when
//! woken elsewhere; the runtime has one shared injector for unbound work from
//! outside. `wake.rs` is the one place that decides where a runnable green
//! thread goes. An idle hub steals half of another hub's deque, starting at a
//! random victim (`search.rs`).
//!
//! **Idle hubs** (`idle.rs`, `driver.rs`) search for a bounded spin, then
//! sleep in their [`Driver`]. A producer of stealable work wakes at most one
//! sleeper, and only when no hub is searching; work for one hub wakes that
//! hub (`inbox.rs`). The fences on both sides make a lost wakeup impossible.
//!
//! **Park/unpark** (`park.rs`, `thread.rs`) is one atomic state machine per
//! green thread. Every blocking primitive grove has or will have is built on
//! [`park`], [`park_timeout`] and [`Thread::unpark`], which work the same from
//! green threads on any hub and from plain OS threads.
//!
//! **Timers** (`timer.rs`) are a heap per hub for the green threads bound to
//! it, and one per runtime, which any hub fires, for the others; a timer ends
//! exactly the park that armed it and never needs cancelling.
//!
//! **Kill** sets a bit in the park word and wakes the target, which unwinds
//! with [`GreenletExit`] from its blocking point, running its destructors.
//! Destructors may block like any other code: a green thread that blocks
//! while unwinding parks as usual (its hub runs others meanwhile), shielded
//! from further kills until its cleanup is done.
//!
//! The full picture, with the reasoning, is in `docs/architecture.md`.
//!
//! # Thread-local storage and other OS-thread-bound state
//!
//! A started green thread never changes OS thread: grove guarantees it.
//! Between two lines of a green thread, whatever blocks between them, a
//! `std::thread_local!` is the same slot, a reference into one stays valid
//! and private to that OS thread, and a `!Send` guard (a
//! `std::sync::MutexGuard`, `std::io::stdout().lock()`, a tokio
//! `EnterGuard`) is released on the thread that took it. This holds for code
//! grove never sees (any library), with no `unsafe` in the program.
//!
//! What it does not make safe is *sharing* the OS thread: other green
//! threads of the same hub run on it while one is parked. A
//! `std::sync::MutexGuard` held across a blocking point can deadlock the hub
//! (another green thread there blocks the OS thread on that mutex), and
//! std's re-entrant locks (`stdout().lock()`) let another green thread of the
//! same hub in as the same owner. Hold no std lock across a blocking point;
//! use grove's `Lock` (grove-sync, re-exported by `grove`), which parks green
//! threads instead. Use [`GreenLocal`] for per-green-thread state.
//!
//! The opt-in [`Builder::allow_migration`] gives the guarantee up for one
//! green thread (its safety contract says what the caller promises instead),
//! in exchange for stealing started work; see the `settled` row of the
//! benchmark suite for what that buys.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! let greenlets: Vec<_> = (0..1000)
//!     .map(|i| grove::spawn(move || {
//!         grove::sleep(Duration::from_millis(1));
//!         i
//!     }))
//!     .collect();
//! let sum: u64 = greenlets.into_iter().map(|g| g.join().unwrap()).sum();
//! assert_eq!(sum, 999 * 1000 / 2);
//! ```
//!
//! # What must be `Send`
//!
//! A green thread may start on any hub's OS thread, so everything that
//! crosses into one must be `Send`, and the compiler holds every caller to it. A
//! closure capturing something thread-bound does not compile:
//!
//! ```compile_fail,E0277
//! let rc = std::rc::Rc::new(1);
//! grove::spawn(move || *rc + 1);
//! ```
//!
//! nor does a green thread returning one:
//!
//! ```compile_fail,E0277
//! let g = grove::spawn(|| std::rc::Rc::new(1));
//! ```
//!
//! nor a green-thread-local holding one (its green thread may migrate, and
//! an unstarted one moves between hubs):
//!
//! ```compile_fail,E0277
//! static BAD: grove::GreenLocal<std::rc::Rc<u8>> =
//!     grove::GreenLocal::new(|| std::rc::Rc::new(0));
//! ```
//!
//! The handles themselves ([`Greenlet`], [`Thread`], [`Handle`]) are `Send`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod builder;
mod deadlock;
mod driver;
mod dump;
mod error;
mod fifo;
mod future;
mod greenlet;
mod hub;
mod local;
mod metrics;
mod overflow;
mod queues;
mod ready;
mod reason;
mod report;
mod runtime;
mod sanitize;
mod search;
mod snapshot;
mod spawn;
mod stack;
mod switch;
mod task;
mod thread;
mod timeout;
mod trace;
mod wake;
mod watch;

#[doc(hidden)]
pub mod wait;

#[cfg(not(loom))]
mod completion;
#[cfg(not(loom))]
mod deque;
#[cfg(not(loom))]
mod handoff;
#[cfg(not(loom))]
mod idle;
#[cfg(not(loom))]
mod inbox;
#[cfg(not(loom))]
mod park;
#[cfg(not(loom))]
mod record;
#[cfg(not(loom))]
mod registry;
#[cfg(not(loom))]
mod sync;
#[cfg(not(loom))]
mod timer;

/// The concurrent protocols, exposed to the loom models (`--cfg loom` only).
#[cfg(loom)]
#[doc(hidden)]
pub mod completion;
#[cfg(loom)]
#[doc(hidden)]
pub mod deque;
#[cfg(loom)]
#[doc(hidden)]
pub mod handoff;
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
pub mod record;
#[cfg(loom)]
#[doc(hidden)]
pub mod registry;
#[cfg(loom)]
#[doc(hidden)]
pub mod sync;
#[cfg(loom)]
#[doc(hidden)]
pub mod timer;

pub use deadlock::{Cycle, DeadlockReport};
pub use driver::{set_default_drivers, Driver, DriverFactory, ThreadParker};
pub use dump::{dump_on_signal, signals, snapshot_all};
pub use error::{BuildError, Error, GreenletExit, SpawnError};
pub use future::{block_on, set_poll_hook, when_ready, Join, PollHook, WhenReady};
pub use greenlet::{joinall, killall, try_joinall, Greenlet, GreenletRef, LinkId};
pub use local::GreenLocal;
pub use metrics::HubMetrics;
pub use ready::{iwait, wait, Iwait, Waitable};
pub use reason::{ObjectId, WaitReason};
pub use runtime::{Handle, Runtime, RuntimeBuilder, MAX_WORKERS};
pub use snapshot::{GreenState, GreenThreadSnapshot, HubSnapshot, Snapshot};
pub use spawn::{spawn, spawn_later, Builder};
pub use stack::{DEFAULT_STACK, MAX_STACK, MIN_STACK};
pub use thread::{
    current, hub_index, park, park_timeout, park_with, sleep, yield_now, ParkTimeoutResult, Thread,
    ThreadId,
};
pub use timeout::{with_timeout, Expired, Timeout};
pub use watch::{OutsideWork, StuckHub, DEFAULT_STUCK_AFTER};

/// A [`Snapshot`] of the caller's runtime (the default runtime outside
/// one): every hub and every live green thread, with what each waits for.
///
/// ```
/// let g = grove::spawn(grove::park);
/// let snap = grove::snapshot();
/// assert!(snap.thread(g.id()).is_some());
/// g.kill();
/// ```
pub fn snapshot() -> Snapshot {
    Handle::current().snapshot()
}
