//! [`UnixListener`] and [`UnixStream`]: std's Unix-domain stream sockets,
//! whose accepts, connects, reads and writes park the green thread.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use super::Io;

/// A Unix-domain socket server (std's `UnixListener`); `accept` parks the
/// green thread until a connection arrives.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let dir = std::env::temp_dir().join(format!("grove-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("listener.sock");
/// let _ = std::fs::remove_file(&path);
/// let listener = grove::UnixListener::bind(&path).unwrap();
/// let p = path.clone();
/// let client = grove::spawn(move || {
///     let mut s = grove::UnixStream::connect(&p).unwrap();
///     s.write_all(b"over unix").unwrap();
/// });
/// let (mut conn, _) = listener.accept().unwrap();
/// let mut got = String::new();
/// conn.read_to_string(&mut got).unwrap();
/// assert_eq!(got, "over unix");
/// client.join().unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: Io<std::os::unix::net::UnixListener>,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.io.inner.as_raw_fd())
            .finish()
    }
}

impl UnixListener {
    /// Binds to `path` and listens.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// assert!(l.local_addr().unwrap().as_pathname().is_some());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Takes over a std listener (switching it to non-blocking mode).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-from-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let l = grove::UnixListener::from_std(l).unwrap();
    /// # drop(l);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(inner: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        inner.set_nonblocking(true)?;
        Ok(UnixListener { io: Io::new(inner) })
    }

    /// Gives the std listener back, in blocking mode.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-into-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap().into_std().unwrap();
    /// # drop(l);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let inner = self.io.into_inner();
        inner.set_nonblocking(false)?;
        Ok(inner)
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-acc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    /// assert!(l.accept().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, addr) = self.io.accepting(|l| l.accept())?;
        Ok((UnixStream::from_std(s)?, addr))
    }

    /// An endless iterator of [`accept`](UnixListener::accept)ed streams.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-inc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// let _c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    /// assert!(l.incoming().next().unwrap().is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<UnixStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// The address it listens on.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-addr-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// Another handle to the same socket.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-clone-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// # drop((l, l2));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Io::new(self.io.inner.try_clone()?),
        })
    }

    /// The pending error on the socket, if any (`SO_ERROR`).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-err-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// assert!(l.take_error().unwrap().is_none());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }

    /// In non-blocking mode `accept` reports `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-nb-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = grove::UnixListener::bind(&path).unwrap();
    /// l.set_nonblocking(true).unwrap();
    /// assert_eq!(l.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.io.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.inner.as_fd()
    }
}

/// A Unix-domain stream connection (std's `UnixStream`): reads and writes
/// park the green thread until the socket is ready, honouring the read and
/// write timeouts. `Read` and `Write` are implemented for `UnixStream` and
/// for `&UnixStream`.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let (a, mut b) = grove::UnixStream::pair().unwrap();
/// let reader = grove::spawn(move || {
///     let mut buf = [0; 4];
///     (&a).read_exact(&mut buf).unwrap();
///     buf
/// });
/// b.write_all(b"pair").unwrap();
/// assert_eq!(&reader.join().unwrap(), b"pair");
/// ```
pub struct UnixStream {
    io: Io<std::os::unix::net::UnixStream>,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.io.inner.as_raw_fd())
            .finish()
    }
}

impl UnixStream {
    /// Connects to the listener at `path`, waiting (green) while its
    /// backlog is full.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("grove-con-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// assert!(grove::UnixStream::connect(&path).is_ok());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SockAddr::unix(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let mut pause = Duration::from_micros(100);
        loop {
            match socket.connect(&addr) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                    let stream = UnixStream::from_nonblocking(socket.into());
                    stream.io.wait_connected(None)?;
                    return match stream.io.inner.take_error()? {
                        Some(e) => Err(e),
                        None => Ok(stream),
                    };
                }
                // The listener's backlog is full: the attempt did not
                // start, so try again after a pause.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    grove_core::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(UnixStream::from_nonblocking(socket.into()))
    }

    /// A connected pair of streams.
    ///
    /// ```
    /// let (a, b) = grove::UnixStream::pair().unwrap();
    /// # drop((a, b));
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    fn from_nonblocking(inner: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream { io: Io::new(inner) }
    }

    /// Takes over a std stream (switching it to non-blocking mode).
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = grove::UnixStream::from_std(a).unwrap();
    /// # drop(a);
    /// ```
    pub fn from_std(inner: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        inner.set_nonblocking(true)?;
        Ok(UnixStream::from_nonblocking(inner))
    }

    /// Gives the std stream back, in blocking mode.
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// let a = a.into_std().unwrap();
    /// # drop(a);
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let inner = self.io.into_inner();
        inner.set_nonblocking(false)?;
        Ok(inner)
    }

    /// The local address.
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner.peer_addr()
    }

    /// Shuts down the read, write, or both halves.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Read).unwrap();
    /// assert_eq!((&a).read(&mut [0; 4]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner.shutdown(how)
    }

    /// Another handle to the same connection (its own timeouts start
    /// unset).
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// # drop(a2);
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream::from_nonblocking(self.io.inner.try_clone()?))
    }

    /// How long a read may wait (`None`: forever); past it, the read fails
    /// with an error of kind `TimedOut`. A zero duration is an error.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// a.set_read_timeout(Some(std::time::Duration::from_millis(5))).unwrap();
    /// let e = (&a).read(&mut [0; 4]).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_read_timeout(timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.read_timeout())
    }

    /// How long a write may wait for room (`None`: forever).
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// a.set_write_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.io.set_write_timeout(timeout)
    }

    /// The write timeout.
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.io.write_timeout())
    }

    /// In non-blocking mode reads and writes report `WouldBlock` instead of
    /// waiting.
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// assert_eq!((&a).read(&mut [0; 1]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.io.set_nonblocking(nonblocking);
        Ok(())
    }

    /// The pending error on the socket, if any (`SO_ERROR`).
    ///
    /// ```
    /// let (a, _b) = grove::UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner.take_error()
    }
}

impl Read for &UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.reading(|mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.reading(|mut s| s.read_vectored(bufs))
    }
}

impl Write for &UnixStream {
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

impl Read for UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.inner.as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.inner.as_fd()
    }
}

/// Gives up the descriptor (deregistered; still in non-blocking mode).
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// let (s, _peer) = grove::UnixStream::pair().unwrap();
/// let fd = s.into_raw_fd();
/// // SAFETY: `fd` is an open socket of the right kind, owned by no one else.
/// let back = unsafe { grove::UnixStream::from_raw_fd(fd) };
/// # drop(back);
/// ```
impl IntoRawFd for UnixStream {
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
impl FromRawFd for UnixStream {
    unsafe fn from_raw_fd(fd: RawFd) -> UnixStream {
        // SAFETY: the caller hands over an open socket it owns.
        let inner = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
        let _ = inner.set_nonblocking(true);
        UnixStream { io: Io::new(inner) }
    }
}

/// Gives up the descriptor (deregistered; still in non-blocking mode).
///
/// ```
/// use std::os::fd::{FromRawFd, IntoRawFd};
/// let path = std::env::temp_dir().join(format!("grove-rawfd-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let fd = grove::UnixListener::bind(&path).unwrap().into_raw_fd();
/// // SAFETY: `fd` is an open listening socket owned by no one else.
/// let back = unsafe { grove::UnixListener::from_raw_fd(fd) };
/// # drop(back);
/// std::fs::remove_file(&path).unwrap();
/// ```
impl IntoRawFd for UnixListener {
    fn into_raw_fd(self) -> RawFd {
        self.io.into_inner().into_raw_fd()
    }
}

/// Takes ownership of a descriptor and switches it to non-blocking mode.
///
/// # Safety
///
/// As for std's `FromRawFd`: `fd` must be an open listening Unix socket
/// that nothing else owns.
impl FromRawFd for UnixListener {
    unsafe fn from_raw_fd(fd: RawFd) -> UnixListener {
        // SAFETY: the caller hands over an open socket it owns.
        let inner = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        let _ = inner.set_nonblocking(true);
        UnixListener { io: Io::new(inner) }
    }
}
