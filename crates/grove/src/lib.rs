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
//! # Example: green threads
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
//!
//! # Example: a server
//!
//! A line server: one green thread per connection, plain blocking code,
//! every hub of the runtime serving. Lines are bounded and both directions
//! time out, so a client that sends garbage, trickles, or never reads costs
//! only its own green thread (the `examples/` directory has fuller servers,
//! each tested against such clients).
//!
//! ```
//! use std::io::{BufRead, BufReader, Read, Write};
//! use std::time::Duration;
//!
//! const MAX_LINE: u64 = 4096;
//!
//! fn shout(conn: grove::TcpStream, _peer: std::net::SocketAddr) -> std::io::Result<()> {
//!     conn.set_read_timeout(Some(Duration::from_secs(60)))?;
//!     conn.set_write_timeout(Some(Duration::from_secs(10)))?;
//!     let mut lines = BufReader::new(&conn);
//!     let mut line = String::new();
//!     loop {
//!         line.clear();
//!         // At most MAX_LINE bytes, however long the client's line is.
//!         if (&mut lines).take(MAX_LINE).read_line(&mut line)? == 0 {
//!             return Ok(()); // the client closed
//!         }
//!         (&conn).write_all(line.to_uppercase().as_bytes())?;
//!     }
//! }
//!
//! let server = grove::StreamServer::bind("127.0.0.1:0", |conn, peer| {
//!     let _ = shout(conn, peer);
//! })
//! .unwrap();
//! server.start().unwrap(); // or serve_forever() in a program's main
//!
//! // A client, from a plain OS thread:
//! let mut c = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
//! c.write_all(b"hello\n").unwrap();
//! let mut reply = [0; 6];
//! c.read_exact(&mut reply).unwrap();
//! assert_eq!(&reply, b"HELLO\n");
//! drop(c);
//! assert!(server.stop(Duration::from_secs(5)));
//! ```
//!
//! # What blocks a hub
//!
//! A hub is one OS thread running many green threads, switching only where
//! one would block through grove. Anything else that blocks stops every
//! green thread of that hub until it returns (the watchdog reports it:
//! `RuntimeBuilder::stuck_hub_after`). Other hubs keep going, and steal the
//! stuck hub's green threads that have not started, but those already
//! started on it wait.
//!
//! | Blocks the hub | Use instead |
//! |---|---|
//! | `std::net` sockets, and crates built on them (blocking HTTP, database and Redis clients) | grove's [`TcpStream`], [`TcpListener`], [`UdpSocket`], [`UnixStream`]: std's API, green. A crate that takes any `Read + Write` runs over them unchanged (TLS, WebSocket, protocol codecs) |
//! | `std::thread::sleep` | [`sleep`] |
//! | `std::fs`, DNS through `ToSocketAddrs`, a C library call, anything else that blocks | [`fs`], [`lookup_host`], [`blocking`] (runs it on a pool of OS threads while the green thread waits) |
//! | a `std::sync::Mutex` (or `RwLock`) guard held across a blocking point: another green thread of the hub that wants it blocks the OS thread, and the holder never runs again to release it | hold std locks only around work that cannot block, or use [`Lock`] / [`RLock`], which park green threads |
//! | `std::sync::mpsc`, `Condvar`, `Barrier` waits | [`Queue`], [`Channel`], [`Event`], [`Semaphore`] |
//! | a long CPU loop | [`yield_now`] every so often, or [`blocking`] for the whole computation |
//! | an async client driven by `futures::executor::block_on` or tokio's `Runtime::block_on` | [`block_on`]: parks only the green thread; with the `tokio` feature, tokio's reactor and timers work inside it (docs/async-interop.md) |
//!
//! State bound to an OS thread stays sound (a started green thread never
//! changes OS thread), but it is shared: other green threads of the same hub
//! see the same `thread_local!` values between your blocking points. Keep
//! per-green-thread state in [`GreenLocal`].
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub use grove_core::*;
#[cfg(feature = "tokio")]
pub use grove_io::tokio_handle;
pub use grove_io::{
    blocking, fs, in_reactor_hub, install, lookup_host, process, reactors, signal_handler,
    wait_readable, wait_writable, DatagramServer, Reactor, ServerError, SignalHandler, Signals,
    StreamServer, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream, IDLE_TIMEOUT,
    MAX_THREADS,
};
pub use grove_sync::{
    AlreadySet, AsyncResult, BoundedSemaphore, Channel, Event, Fifo, GenericQueue, GetError, Group,
    Handoff, Imap, ImapUnordered, Iter, JoinableQueue, Lifo, LifoQueue, Lock, LockError, LockGuard,
    Peek, Pool, Priority, PriorityQueue, PutError, Queue, RLock, RLockGuard, ReleasedTooMany,
    Semaphore, SemaphoreGuard, Store, TaskDoneError,
};

/// Every code example on the pages of grove-core, grove-sync and grove-io
/// (re-exported here), gathered by `build.rs` so that
/// `cargo test --doc -p grove` runs each one against this crate alone.
#[cfg(doctest)]
#[allow(non_camel_case_types, dead_code)]
mod sub_crate_examples {
    include!(concat!(env!("OUT_DIR"), "/doc_examples.rs"));
}
