//! Green sockets: std's types and methods, where a call that would block
//! parks the green thread (or blocks the OS thread) instead.
//!
//! Each wraps the std socket, switched to non-blocking mode, and a `Source`
//! for waiting on it. A read or write tries the socket first and waits for
//! readiness only when it reports `WouldBlock`.

mod tcp_listener;
mod tcp_stream;

pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::reactor::Direction;
use crate::source::Source;

/// A timeout kept as nanoseconds (`u64::MAX`: none), readable without a lock.
pub(crate) struct Timeout(AtomicU64);

impl Timeout {
    pub(crate) fn none() -> Timeout {
        Timeout(AtomicU64::new(u64::MAX))
    }

    pub(crate) fn set(&self, t: Option<Duration>) -> io::Result<()> {
        let nanos = match t {
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX - 1),
            None => u64::MAX,
        };
        self.0.store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.get().and_then(|t| Instant::now().checked_add(t))
    }
}

/// Runs `op` until it does not report `WouldBlock`, waiting for `dir`
/// readiness in between (unless the caller chose non-blocking mode).
pub(crate) fn retry<R>(
    source: &Source,
    dir: Direction,
    deadline: Option<Instant>,
    nonblocking: &AtomicBool,
    mut op: impl FnMut() -> io::Result<R>,
) -> io::Result<R> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if nonblocking.load(Ordering::Relaxed) {
                    return Err(e);
                }
                source.wait(dir, deadline)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}
