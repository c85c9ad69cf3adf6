//! [`UdpSocket`]: std's UDP socket, whose sends and receives park the green
//! thread.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};
use std::time::Duration;

use super::Io;

/// A UDP socket (std's `UdpSocket`): `recv`, `recv_from` and the sends park
/// the green thread until the socket is ready, honouring the read and write
/// timeouts.
///
/// # Example
///
/// ```
/// let a = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let to = a.local_addr().unwrap();
/// let got = grove::spawn(move || {
///     let mut buf = [0; 16];
///     let (n, _from) = a.recv_from(&mut buf).unwrap();
///     buf[..n].to_vec()
/// });
/// b.send_to(b"datagram", to).unwrap();
/// assert_eq!(got.join().unwrap(), b"datagram");
/// ```
pub struct UdpSocket {
    io: Io<std::net::UdpSocket>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.io.inner.local_addr().ok())
            .field("fd", &self.io.inner.as_raw_fd())
            .finish()
    }
}

impl UdpSocket {
    /// Binds to the first of `addr`'s addresses that works.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::bind(addr)?)
    }

    /// Takes over a std socket (switching it to non-blocking mode).
    ///
    /// ```
    /// let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = grove::UdpSocket::from_std(s).unwrap();
    /// # drop(s);
    /// ```
    pub fn from_std(inner: std::net::UdpSocket) -> io::Result<UdpSocket> {
        inner.set_nonblocking(true)?;
        Ok(UdpSocket { io: Io::new(inner) })
    }

    /// Gives the std socket back, in blocking mode.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = s.into_std().unwrap();
    /// # drop(s);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let inner = self.io.into_inner();
        inner.set_nonblocking(false)?;
        Ok(inner)
    }

    /// Receives one datagram and its sender's address.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.send_to(b"self", s.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = s.recv_from(&mut buf).unwrap();
    /// assert_eq!((&buf[..n], from), (&b"self"[..], s.local_addr().unwrap()));
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.reading(|s| s.recv_from(buf))
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram queued.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.send_to(b"x", s.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 1];
    /// assert_eq!(s.peek_from(&mut buf).unwrap().0, 1);
    /// assert_eq!(s.recv_from(&mut buf).unwrap().0, 1);
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.reading(|s| s.peek_from(buf))
    }

    /// Sends one datagram to `addr`.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.send_to(b"abc", s.local_addr().unwrap()).unwrap(), 3);
    /// ```
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))?;
        self.io.writing(|s| s.send_to(buf, addr))
    }

    /// Sets the default peer: `send` and `recv` then use it, and datagrams
    /// from others are dropped.
    ///
    /// ```
    /// let a = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"me").unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(a.recv(&mut buf).unwrap(), 2);
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.io.inner.connect(addr)
    }

    /// Sends one datagram to the connected peer.
    ///
    /// ```
    /// let a = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.send(b"hi").unwrap(), 2);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.writing(|s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// ```
    /// let a = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"hi").unwrap();
    /// assert_eq!(a.recv(&mut [0; 8]).unwrap(), 2);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.reading(|s| s.recv(buf))
    }

    /// The local address.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.peer_addr().is_err()); // not connected
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// Another handle to the same socket (its own timeouts start unset).
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let t = s.try_clone().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), t.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Io::new(self.io.inner.try_clone()?),
        })
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_broadcast(true).unwrap();
    /// assert!(s.broadcast().unwrap());
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.inner.set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(!s.broadcast().unwrap());
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.inner.broadcast()
    }

    /// How long a receive may wait (`None`: forever); past it, it fails
    /// with an error of kind `TimedOut`. A zero duration is an error.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    /// let e = s.recv_from(&mut [0; 8]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_read_timeout(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.read_timeout())
    }

    /// How long a send may wait for room (`None`: forever).
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_write_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_write_timeout(timeout)
    }

    /// The write timeout.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.write_timeout())
    }

    /// In non-blocking mode receives and sends report `WouldBlock` instead
    /// of waiting.
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_nonblocking(true).unwrap();
    /// let e = s.recv_from(&mut [0; 1]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.io.set_nonblocking(nonblocking);
        Ok(())
    }

    /// The pending error on the socket, if any (`SO_ERROR`).
    ///
    /// ```
    /// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.inner.as_fd()
    }
}

/// Gives up the descriptor (deregistered; still in non-blocking mode).
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let fd = s.into_raw_fd();
/// // SAFETY: `fd` is an open socket of the right kind, owned by no one else.
/// let back = unsafe { grove::UdpSocket::from_raw_fd(fd) };
/// # drop(back);
/// ```
impl IntoRawFd for UdpSocket {
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
impl FromRawFd for UdpSocket {
    unsafe fn from_raw_fd(fd: RawFd) -> UdpSocket {
        // SAFETY: the caller hands over an open socket it owns.
        let inner = unsafe { std::net::UdpSocket::from_raw_fd(fd) };
        let _ = inner.set_nonblocking(true);
        UdpSocket { io: Io::new(inner) }
    }
}
