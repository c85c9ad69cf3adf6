//! `wait_readable` / `wait_writable` for any descriptor (gevent's
//! `wait_read` / `wait_write`), so other non-blocking code can integrate.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use crate::reactor::Direction;
use crate::source::Source;

/// Waits until `fd` is readable (or closed, or in error), at most
/// `timeout`: a green thread parks, an OS thread blocks. A timeout gives an
/// error of kind `TimedOut`.
///
/// For descriptors grove does not own: a grove socket waits through its own
/// methods.
///
/// # Example
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// let (a, mut b) = UnixStream::pair().unwrap();
/// b.write_all(b"x").unwrap();
/// grove::spawn(move || grove::wait_readable(&a, None)).join().unwrap().unwrap();
/// ```
pub fn wait_readable(fd: impl AsFd, timeout: Option<Duration>) -> io::Result<()> {
    wait(fd, Direction::Read, timeout)
}

/// Waits until `fd` is writable (or closed, or in error), at most
/// `timeout`; see [`wait_readable`].
///
/// # Example
///
/// ```
/// use std::os::unix::net::UnixStream;
/// let (a, _b) = UnixStream::pair().unwrap();
/// grove::wait_writable(&a, Some(std::time::Duration::from_secs(1))).unwrap();
/// ```
pub fn wait_writable(fd: impl AsFd, timeout: Option<Duration>) -> io::Result<()> {
    wait(fd, Direction::Write, timeout)
}

fn wait(fd: impl AsFd, dir: Direction, timeout: Option<Duration>) -> io::Result<()> {
    let fd = fd.as_fd();
    // Registered only for this wait, and deregistered (when `source` drops)
    // while `fd` is still borrowed, so still open.
    let source = Source::new(fd.as_raw_fd());
    source.wait(dir, timeout.and_then(|t| Instant::now().checked_add(t)))
}

/// What is left of a wait that ends at `deadline`: `Some(None)` without a
/// deadline, `Some(Some(left))` before it, `None` once it has passed.
pub(crate) fn time_left(deadline: Option<Instant>) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Some(Some(left)),
            _ => None,
        },
    }
}
