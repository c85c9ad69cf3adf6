//! grove: gevent's programming model, rebuilt in Rust for many cores.
//!
//! Write plain blocking code; run thousands of it at once. A *green thread*
//! ([`spawn`]) is a closure on its own small stack; when it would block
//! ([`park`], [`sleep`], waiting on a [`Greenlet`]), it switches to its *hub*,
//! which runs another. Unlike gevent there is one hub per CPU, and idle hubs
//! steal green threads that have not started yet from busy ones. A started
//! green thread keeps its hub's OS thread, so `thread_local!` values and
//! `!Send` guards stay sound across blocking points (see grove-core's
//! "Thread-local storage" section, re-exported here).
//!
//! | gevent | grove |
//! |---|---|
//! | `gevent.spawn(f)` | [`spawn`] |
//! | `gevent.spawn_later(s, f)` | [`spawn_later`] |
//! | `Greenlet.get()` / `join()` / `join(t)` | [`Greenlet::join`] / [`Greenlet::wait`] / [`Greenlet::wait_timeout`] |
//! | `Greenlet.kill()` | [`Greenlet::kill`] ([`GreenletExit`] unwinds the target) |
//! | `Greenlet.link(cb)` | [`Greenlet::link`] |
//! | `gevent.joinall(gs, timeout)` | [`joinall`] |
//! | `gevent.sleep(s)` / `sleep(0)` | [`sleep`] / [`yield_now`] |
//! | `gevent.getcurrent()` | [`current`] |
//! | `gevent.local.local` | [`GreenLocal`] |
//! | `gevent.lock.Semaphore` / `BoundedSemaphore` | [`Semaphore`] / [`BoundedSemaphore`] |
//! | `gevent.lock.RLock` / `Semaphore(1)` as a lock | [`RLock`] / [`Lock`] |
//! | `gevent.event.Event` / `AsyncResult` | [`Event`] / [`AsyncResult`] |
//! | `gevent.queue.Queue` / `LifoQueue` / `PriorityQueue` | [`Queue`] / [`LifoQueue`] / [`PriorityQueue`] |
//! | `gevent.queue.JoinableQueue` / `Channel` | [`JoinableQueue`] / [`Channel`] |
//! | `gevent.pool.Group` / `Pool` | [`Group`] / [`Pool`] |
//! | `gevent.socket` / `monkey.patch_socket()` | [`TcpListener`], [`TcpStream`], [`UdpSocket`], [`UnixListener`], [`UnixStream`] (std's API) |
//! | `gevent.socket.wait_read` / `wait_write` | [`wait_readable`] / [`wait_writable`] |
//! | `gevent.server.StreamServer` / `DatagramServer` | [`StreamServer`] / [`DatagramServer`] |
//! | `gevent.get_hub().threadpool.spawn(f)` / `apply` | [`blocking`] |
//! | `gevent.socket.getaddrinfo` | [`lookup_host`] |
//! | the hub | [`Runtime`] (many hubs) |
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! let jobs: Vec<_> = ["a", "b", "c"]
//!     .into_iter()
//!     .map(|name| grove::spawn(move || {
//!         grove::sleep(Duration::from_millis(5)); // blocks this green thread only
//!         name.to_uppercase()
//!     }))
//!     .collect();
//! grove::joinall(&jobs, Some(Duration::from_secs(2)));
//! let out: Vec<String> = jobs.into_iter().map(|g| g.join().unwrap()).collect();
//! assert_eq!(out, ["A", "B", "C"]);
//! ```
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub use grove_core::*;
pub use grove_io::{
    blocking, fs, in_reactor_hub, install, lookup_host, reactors, wait_readable, wait_writable,
    DatagramServer, Reactor, ServerError, StreamServer, TcpListener, TcpStream, UdpSocket,
    UnixListener, UnixStream,
};
pub use grove_sync::{
    AlreadySet, AsyncResult, BoundedSemaphore, Channel, Event, Fifo, GenericQueue, GetError, Group,
    Handoff, Imap, ImapUnordered, Iter, JoinableQueue, Lifo, LifoQueue, Lock, LockError, LockGuard,
    Pool, Priority, PriorityQueue, PutError, Queue, RLock, RLockGuard, ReleasedTooMany, Semaphore,
    SemaphoreGuard, Store, TaskDoneError,
};
