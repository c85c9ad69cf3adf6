//! Green sockets: std's types and methods, where a call that would block
//! parks the green thread (or blocks the OS thread) instead.
//!
//! Each wraps the std socket, switched to non-blocking mode, and a `Source`
//! for waiting on it. A read or write tries the socket first and waits for
//! readiness only when it reports `WouldBlock`.

mod dns;
mod tcp_listener;
mod tcp_stream;
mod udp;
mod unix;

pub use dns::lookup_host;
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::reactor::Direction;
use crate::source::Source;

/// A timeout kept as nanoseconds (`u64::MAX`: none), readable without a lock.
struct Timeout(AtomicU64);

impl Timeout {
    fn none() -> Timeout {
        Timeout(AtomicU64::new(u64::MAX))
    }

    fn set(&self, t: Option<Duration>) -> io::Result<()> {
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

    fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.get().and_then(|t| Instant::now().checked_add(t))
    }
}

/// A non-blocking std socket `S` and what its green type needs to wait on
/// it: the `Source`, the timeouts, and whether the caller chose
/// non-blocking mode.
pub(crate) struct Io<S> {
    // Declared before `inner`: deregistered before the socket closes.
    source: Source,
    pub(crate) inner: S,
    read_timeout: Timeout,
    write_timeout: Timeout,
    nonblocking: AtomicBool,
}

impl<S: AsRawFd> Io<S> {
    /// Wraps `inner`, which is already in non-blocking mode.
    pub(crate) fn new(inner: S) -> Io<S> {
        Io {
            source: Source::new(inner.as_raw_fd()),
            inner,
            read_timeout: Timeout::none(),
            write_timeout: Timeout::none(),
            nonblocking: AtomicBool::new(false),
        }
    }

    /// The socket back (deregistered; still in non-blocking mode).
    pub(crate) fn into_inner(self) -> S {
        let Io { source, inner, .. } = self;
        drop(source);
        inner
    }

    /// Waits until an outgoing connection is established (or fails).
    pub(crate) fn wait_connected(&self, deadline: Option<Instant>) -> io::Result<()> {
        let why = grove_core::WaitReason::Connect {
            fd: self.inner.as_raw_fd(),
        };
        self.source.wait_for(Direction::Write, why, deadline)
    }

    /// Runs `op` (an accept) until it does not report `WouldBlock`, waiting
    /// for a connection (within the read timeout) in between.
    pub(crate) fn accepting<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let why = grove_core::WaitReason::Accept {
            fd: self.inner.as_raw_fd(),
        };
        self.retry(Direction::Read, Some(why), self.read_timeout.deadline(), op)
    }

    /// Runs `op` until it does not report `WouldBlock`, waiting for
    /// readability (within the read timeout) in between.
    pub(crate) fn reading<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.retry(Direction::Read, None, self.read_timeout.deadline(), op)
    }

    /// Like [`reading`](Io::reading), for writability and the write timeout.
    pub(crate) fn writing<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.retry(Direction::Write, None, self.write_timeout.deadline(), op)
    }

    fn retry<R>(
        &self,
        dir: Direction,
        why: Option<grove_core::WaitReason>,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match op(&self.inner) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.nonblocking.load(Ordering::Relaxed) {
                        return Err(e);
                    }
                    match why {
                        Some(why) => self.source.wait_for(dir, why, deadline)?,
                        None => self.source.wait(dir, deadline)?,
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(t)
    }

    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout.get()
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(t)
    }

    pub(crate) fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout.get()
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }
}
