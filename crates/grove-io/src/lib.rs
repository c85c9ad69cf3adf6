//! grove-io: green sockets with std's API, on a reactor per hub.
//!
//! This crate is one part of [grove](https://docs.rs/grove), which
//! re-exports all of it: depend on `grove`. The examples here are written
//! as a user of `grove` writes them (`grove::...` paths) and run as
//! `grove`'s doctests (`cargo test --doc -p grove`).
//!
//! A green thread that reads from a socket with nothing to read parks, and
//! its hub runs another; the socket's readiness unparks it. The types keep
//! std's names and signatures (`Read`/`Write`, `ToSocketAddrs`, timeouts),
//! so synchronous code written against std's sockets runs unchanged on green
//! threads: grove's answer to gevent's `monkey.patch_all()`. Used from a
//! plain OS thread, the same types block that thread.
//!
//! Runtimes idle in grove-io's reactors when built with [`reactors`], and
//! so does every runtime built without a driver of its own (the default
//! runtime included) once grove-io has been used ([`install`]). On a runtime
//! that started before that, or was built with other drivers, waits go to a
//! process-wide fallback reactor thread (see `reactor.rs`).
//!
//! # Example
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! let rt = grove::Runtime::builder()
//!     .workers(2)
//!     .driver(grove::reactors())
//!     .build()
//!     .unwrap();
//! let listener = grove::TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! rt.spawn(move || {
//!     for conn in listener.incoming().take(1) {
//!         let conn = conn.unwrap();
//!         let mut lines = BufReader::new(&conn);
//!         let mut line = String::new();
//!         lines.read_line(&mut line).unwrap();
//!         (&conn).write_all(line.to_uppercase().as_bytes()).unwrap();
//!     }
//! });
//! let reply = rt.block_on(move || {
//!     let mut s = grove::TcpStream::connect(addr).unwrap();
//!     s.write_all(b"hello\n").unwrap();
//!     let mut reply = String::new();
//!     BufReader::new(&s).read_line(&mut reply).unwrap();
//!     reply
//! });
//! assert_eq!(reply, "HELLO\n");
//! ```
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod blocking;
mod epoll;
pub mod fs;
mod net;
pub mod process;
mod reactor;
mod server;
mod signal;
mod source;
#[cfg(feature = "tokio")]
mod tokio_bridge;
mod wait;
mod watch;

pub use blocking::{blocking, IDLE_TIMEOUT, MAX_THREADS};
pub use net::{lookup_host, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
pub use reactor::{in_reactor_hub, install, reactors, Reactor};
pub use server::{DatagramServer, ServerError, StreamServer};
pub use signal::{signal_handler, SignalHandler, Signals};
#[cfg(feature = "tokio")]
pub use tokio_bridge::tokio_handle;
pub use wait::{wait_readable, wait_writable};
