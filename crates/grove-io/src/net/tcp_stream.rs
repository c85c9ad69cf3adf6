//! [`TcpStream`]: std's stream, whose reads, writes and connects park the
//! green thread.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::Io;

/// A TCP connection (std's `TcpStream`): reads and writes park the green
/// thread until the socket is ready, honouring the read and write timeouts.
/// `Read` and `Write` are implemented for `TcpStream` and for `&TcpStream`,
/// so one green thread can read while another writes.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = l.local_addr().unwrap();
/// let client = grove::spawn(move || {
///     let mut s = grove::TcpStream::connect(addr).unwrap();
///     s.write_all(b"ping").unwrap();
/// });
/// let (mut conn, _) = l.accept().unwrap();
/// let mut buf = String::new();
/// conn.read_to_string(&mut buf).unwrap();
/// assert_eq!(buf, "ping");
/// client.join().unwrap();
/// ```
pub struct TcpStream {
    io: Io<std::net::TcpStream>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.io.inner.local_addr().ok())
            .field("peer", &self.io.inner.peer_addr().ok())
            .field("fd", &self.io.inner.as_raw_fd())
            .finish()
    }
}

impl TcpStream {
    /// Connects to the first of `addr`'s addresses that accepts, waiting
    /// (green) for each connection attempt.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_until(&a, None) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any addresses",
            )
        }))
    }

    /// Connects to `addr`, waiting at most `timeout` (an error of kind
    /// `TimedOut` after that).
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5));
    /// assert!(s.is_ok());
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_until(addr, Instant::now().checked_add(timeout))
    }

    fn connect_until(addr: &SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let socket = Socket::new(
            Domain::for_address(*addr),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_nonblocking(true)?;
        let in_progress = match socket.connect(&(*addr).into()) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
            // (EAGAIN here means no free local port, not "in progress".)
            Err(e) => return Err(e),
        };
        let stream = TcpStream::from_nonblocking(socket.into());
        if in_progress {
            stream.io.wait_connected(deadline)?;
            if let Some(e) = stream.io.inner.take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    fn from_nonblocking(inner: std::net::TcpStream) -> TcpStream {
        TcpStream { io: Io::new(inner) }
    }

    /// Takes over a std stream (switching it to non-blocking mode; its
    /// timeouts start unset).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = grove::TcpStream::from_std(std_s).unwrap();
    /// # drop(s);
    /// ```
    pub fn from_std(inner: std::net::TcpStream) -> io::Result<TcpStream> {
        inner.set_nonblocking(true)?;
        Ok(TcpStream::from_nonblocking(inner))
    }

    /// Gives the std stream back, in blocking mode.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let std_s = s.into_std().unwrap();
    /// # drop(std_s);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let inner = self.io.into_inner();
        inner.set_nonblocking(false)?;
        Ok(inner)
    }

    /// The remote address.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// Shuts down the read, write, or both halves.
    ///
    /// ```
    /// use std::io::Read;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.shutdown(std::net::Shutdown::Read).unwrap();
    /// assert_eq!(s.read(&mut [0; 8]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner.shutdown(how)
    }

    /// Another handle to the same connection (its own timeouts start
    /// unset).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s2 = s.try_clone().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), s2.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream::from_nonblocking(self.io.inner.try_clone()?))
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(!s.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.inner.nodelay()
    }

    /// How long a read may wait (`None`: forever); past it, the read fails
    /// with an error of kind `TimedOut`. A zero duration is an error, as in
    /// std.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// let e = s.read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_read_timeout(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.read_timeout())
    }

    /// How long a write may wait for room (`None`: forever); see
    /// [`set_read_timeout`](TcpStream::set_read_timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_write_timeout(timeout)
    }

    /// The write timeout.
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.write_timeout())
    }

    /// In non-blocking mode reads and writes report `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// use std::io::Read;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// assert_eq!(s.read(&mut [0; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.io.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Reads without removing what it reads from the socket's queue.
    ///
    /// ```
    /// use std::io::Write;
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// l.accept().unwrap().0.write_all(b"hi").unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(s.peek(&mut buf).unwrap(), 2);
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.reading(|s| s.peek(buf))
    }

    /// The pending error on the socket, if any (`SO_ERROR`).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.reading(|mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.reading(|mut s| s.read_vectored(bufs))
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io.writing(|mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.writing(|mut s| s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.inner.as_fd()
    }
}

/// Gives up the descriptor (deregistered; still in non-blocking mode).
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let s = grove::TcpStream::connect(l.local_addr().unwrap()).unwrap();
/// let fd = s.into_raw_fd();
/// // SAFETY: `fd` is an open socket of the right kind, owned by no one else.
/// let back = unsafe { grove::TcpStream::from_raw_fd(fd) };
/// # drop(back);
/// ```
impl IntoRawFd for TcpStream {
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
impl FromRawFd for TcpStream {
    unsafe fn from_raw_fd(fd: RawFd) -> TcpStream {
        // SAFETY: the caller hands over an open socket it owns.
        let inner = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        let _ = inner.set_nonblocking(true);
        TcpStream { io: Io::new(inner) }
    }
}
