//! [`TcpListener`]: std's listener, whose `accept` parks the green thread.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};

use super::{Io, TcpStream};

/// A TCP socket server, listening for connections (std's `TcpListener`);
/// `accept` parks the green thread until a connection arrives.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let listener = grove::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = grove::spawn(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     conn.write_all(&buf).unwrap();
/// });
/// let mut client = grove::TcpStream::connect(addr).unwrap();
/// client.write_all(b"hello").unwrap();
/// let mut echo = [0; 5];
/// client.read_exact(&mut echo).unwrap();
/// assert_eq!(&echo, b"hello");
/// server.join().unwrap();
/// ```
pub struct TcpListener {
    io: Io<std::net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.io.inner.local_addr().ok())
            .field("fd", &self.io.inner.as_raw_fd())
            .finish()
    }
}

impl TcpListener {
    /// Binds to the first of `addr`'s addresses that works and listens.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::from_std(std::net::TcpListener::bind(addr)?)
    }

    /// Takes over a std listener (switching it to non-blocking mode).
    ///
    /// ```
    /// let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l = grove::TcpListener::from_std(std_l).unwrap();
    /// # drop(l);
    /// ```
    pub fn from_std(inner: std::net::TcpListener) -> io::Result<TcpListener> {
        inner.set_nonblocking(true)?;
        Ok(TcpListener { io: Io::new(inner) })
    }

    /// Gives the std listener back, in blocking mode.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_l = l.into_std().unwrap();
    /// # drop(std_l);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let inner = self.io.into_inner();
        inner.set_nonblocking(false)?;
        Ok(inner)
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (_conn, peer) = l.accept().unwrap();
    /// assert!(peer.ip().is_loopback());
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.io.accepting(|l| l.accept())?;
        Ok((TcpStream::from_std(s)?, addr))
    }

    /// An endless iterator of [`accept`](TcpListener::accept)ed streams.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let first = l.incoming().next().unwrap();
    /// assert!(first.is_ok());
    /// ```
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// The address it listens on.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// Another handle to the same socket.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// assert_eq!(l.local_addr().unwrap(), l2.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        TcpListener::from_std(self.io.inner.try_clone()?)
    }

    /// In non-blocking mode `accept` reports `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// l.set_nonblocking(true).unwrap();
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.io.set_nonblocking(nonblocking);
        Ok(())
    }

    /// The pending error on the socket, if any (`SO_ERROR`).
    ///
    /// ```
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.inner.as_fd()
    }
}

/// Gives up the descriptor (deregistered; still in non-blocking mode).
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
/// let fd = l.into_raw_fd();
/// // SAFETY: `fd` is an open socket of the right kind, owned by no one else.
/// let back = unsafe { grove::TcpListener::from_raw_fd(fd) };
/// # drop(back);
/// ```
impl IntoRawFd for TcpListener {
    fn into_raw_fd(self) -> RawFd {
        self.io.into_inner().into_raw_fd()
    }
}

/// Takes ownership of a descriptor and switches it to non-blocking mode.
///
/// # Safety
///
/// As for std's `FromRawFd`: `fd` must be an open socket of this kind that
/// nothing else owns. (If it cannot be switched to non-blocking mode, calls
/// on it block the calling thread.)
impl FromRawFd for TcpListener {
    unsafe fn from_raw_fd(fd: RawFd) -> TcpListener {
        // SAFETY: the caller hands over an open socket it owns.
        let inner = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        let _ = inner.set_nonblocking(true);
        TcpListener { io: Io::new(inner) }
    }
}
