//! [`StreamServer`] and [`DatagramServer`] (gevent.server): an accept (or
//! receive) loop in a green thread of its own, and a green thread per
//! connection (or datagram).
//!
//! # Stopping
//!
//! `stop` sets the server's `stopping` flag and kills the loop's green
//! thread, which is parked in `accept` (or `recv_from`) and unwinds; no new
//! handler starts after that. Then it waits for the running handlers (a
//! [`Group`], or a [`Pool`] when connections are capped) up to the timeout,
//! and kills those still running.
//!
//! # Accept errors
//!
//! A connection that failed before it was accepted (`ECONNABORTED`,
//! `ECONNRESET`, `EPROTO`) is skipped at once. Any other error, above all
//! running out of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`,
//! `ENOMEM`), lasts until something changes: the loop sleeps, from 5 ms
//! doubling up to 1 s, and tries again. The loop never spins and never dies
//! of an accept error.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove_core::GreenletRef;
use grove_sync::{Group, Pool};

use crate::net::{TcpListener, TcpStream, UdpSocket};

/// The first and the longest pause after an accept error that needs
/// something closed first.
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Whether an accept error concerns only the connection being accepted
/// (retry at once) rather than the listener or the process (wait first).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::ECONNRESET | libc::EPROTO)
    )
}

/// Where handlers run: a group, or a pool that caps them.
#[derive(Clone)]
enum Handlers {
    Group(Group),
    Pool(Pool),
}

impl Handlers {
    fn group(&self) -> &Group {
        match self {
            Handlers::Group(g) => g,
            Handlers::Pool(p) => p,
        }
    }
}

/// What both servers share: the loop's green thread, the flag, the handlers.
struct Running {
    handlers: Handlers,
    stopping: Arc<AtomicBool>,
    loop_thread: Mutex<Option<GreenletRef>>,
}

impl Running {
    fn new(max: Option<usize>) -> Running {
        Running {
            handlers: match max {
                Some(n) => Handlers::Pool(Pool::new(n)),
                None => Handlers::Group(Group::new()),
            },
            stopping: Arc::new(AtomicBool::new(false)),
            loop_thread: Mutex::new(None),
        }
    }

    fn start(&self, body: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let mut slot = self.loop_thread.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the server is already started",
            ));
        }
        self.stopping.store(false, Ordering::SeqCst);
        *slot = Some(grove_core::spawn(body).to_ref());
        Ok(())
    }

    fn serve_forever(&self) {
        let looping = self
            .loop_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(l) = looping {
            l.wait();
        }
    }

    fn stop(&self, timeout: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        let looping = self
            .loop_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(l) = looping {
            l.kill();
        }
        let group = self.handlers.group();
        let graceful = group.join_timeout(timeout);
        if !graceful {
            group.kill();
        }
        graceful
    }

    fn len(&self) -> usize {
        self.handlers.group().len()
    }
}

/// A TCP server (gevent's `StreamServer`): accepts connections in a green
/// thread of its own and runs `handler` in a new green thread for each one.
/// With [`max_connections`](StreamServer::max_connections), at most that
/// many handlers run at once and accepting waits while they do. Accept
/// errors such as running out of descriptors are waited out, not fatal.
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let server = grove_io::StreamServer::bind("127.0.0.1:0", |conn: grove_io::TcpStream, _peer| {
///     let mut buf = [0; 64];
///     while let Ok(n @ 1..) = (&conn).read(&mut buf) {
///         (&conn).write_all(&buf[..n]).unwrap();
///     }
/// })
/// .unwrap();
/// server.start().unwrap();
/// let mut c = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
/// c.write_all(b"echo").unwrap();
/// let mut back = [0; 4];
/// c.read_exact(&mut back).unwrap();
/// assert_eq!(&back, b"echo");
/// drop(c);
/// assert!(server.stop(std::time::Duration::from_secs(5)));
/// ```
pub struct StreamServer {
    listener: Arc<TcpListener>,
    handler: Arc<dyn Fn(TcpStream, SocketAddr) + Send + Sync>,
    running: Running,
}

impl std::fmt::Debug for StreamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamServer")
            .field("addr", &self.listener.local_addr().ok())
            .field("connections", &self.running.len())
            .finish()
    }
}

impl StreamServer {
    /// A server on `listener`, calling `handler` for each connection.
    ///
    /// ```
    /// let l = grove_io::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove_io::StreamServer::new(l, |_conn, _peer| {});
    /// # drop(s);
    /// ```
    pub fn new<F>(listener: TcpListener, handler: F) -> StreamServer
    where
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        StreamServer {
            listener: Arc::new(listener),
            handler: Arc::new(handler),
            running: Running::new(None),
        }
    }

    /// Binds a listener to `addr` and makes a server on it.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_conn, _peer| {}).unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind<F>(addr: impl ToSocketAddrs, handler: F) -> io::Result<StreamServer>
    where
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        Ok(StreamServer::new(TcpListener::bind(addr)?, handler))
    }

    /// Runs at most `n` handlers at once (a [`Pool`] of `n`); accepting
    /// waits while `n` run. Set it before starting.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {})
    ///     .unwrap()
    ///     .max_connections(100);
    /// # drop(s);
    /// ```
    pub fn max_connections(mut self, n: usize) -> StreamServer {
        self.running = Running::new(Some(n));
        self
    }

    /// The address it listens on.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts accepting in a green thread of its own and returns. An error
    /// if it is already running.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.start().is_err());
    /// s.stop(std::time::Duration::from_secs(1));
    /// ```
    pub fn start(&self) -> io::Result<()> {
        let listener = self.listener.clone();
        let handler = self.handler.clone();
        let handlers = self.running.handlers.clone();
        let stopping = self.running.stopping.clone();
        self.running.start(move || {
            let mut pause = BACKOFF_FIRST;
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, peer)) => {
                        pause = BACKOFF_FIRST;
                        let handler = handler.clone();
                        handlers.group().spawn(move || handler(conn, peer));
                    }
                    Err(e) if is_transient(&e) => {}
                    Err(_) => {
                        grove_core::sleep(pause);
                        pause = (pause * 2).min(BACKOFF_MAX);
                    }
                }
            }
        })
    }

    /// Starts (if not started) and waits until the server is stopped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap());
    /// let s2 = s.clone();
    /// let serving = grove_core::spawn(move || s2.serve_forever());
    /// while !serving.is_ready() {
    ///     s.stop(std::time::Duration::from_secs(1)); // ends serve_forever
    ///     grove_core::sleep(std::time::Duration::from_millis(1));
    /// }
    /// serving.join().unwrap();
    /// ```
    pub fn serve_forever(&self) {
        let _ = self.start();
        self.running.serve_forever();
    }

    /// Stops accepting, waits up to `timeout` for the running handlers to
    /// finish, kills those still running, and returns whether all finished
    /// in time. The listener stays open: the server can be started again.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn stop(&self, timeout: Duration) -> bool {
        self.running.stop(timeout)
    }

    /// How many handlers are running.
    ///
    /// ```
    /// let s = grove_io::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// assert_eq!(s.connections(), 0);
    /// ```
    pub fn connections(&self) -> usize {
        self.running.len()
    }
}

/// A UDP server (gevent's `DatagramServer`): receives datagrams in a green
/// thread of its own and runs `handler` in a new green thread for each,
/// with the socket to reply on.
///
/// # Example
///
/// ```
/// let server = grove_io::DatagramServer::bind("127.0.0.1:0", |data: Vec<u8>, from, sock: &grove_io::UdpSocket| {
///     sock.send_to(&data, from).unwrap();
/// })
/// .unwrap();
/// server.start().unwrap();
/// let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// c.send_to(b"ping", server.local_addr().unwrap()).unwrap();
/// let mut buf = [0; 4];
/// c.recv_from(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
/// assert!(server.stop(std::time::Duration::from_secs(5)));
/// ```
pub struct DatagramServer {
    socket: Arc<UdpSocket>,
    handler: Arc<DatagramHandler>,
    running: Running,
}

type DatagramHandler = dyn Fn(Vec<u8>, SocketAddr, &UdpSocket) + Send + Sync;

impl std::fmt::Debug for DatagramServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatagramServer")
            .field("addr", &self.socket.local_addr().ok())
            .finish()
    }
}

impl DatagramServer {
    /// Binds a socket to `addr` and makes a server on it.
    ///
    /// ```
    /// let s = grove_io::DatagramServer::bind("127.0.0.1:0", |_d, _from, _sock| {}).unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind<F>(addr: impl ToSocketAddrs, handler: F) -> io::Result<DatagramServer>
    where
        F: Fn(Vec<u8>, SocketAddr, &UdpSocket) + Send + Sync + 'static,
    {
        Ok(DatagramServer {
            socket: Arc::new(UdpSocket::bind(addr)?),
            handler: Arc::new(handler),
            running: Running::new(None),
        })
    }

    /// The address it receives on.
    ///
    /// ```
    /// let s = grove_io::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts receiving in a green thread of its own and returns.
    ///
    /// ```
    /// let s = grove_io::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// s.start().unwrap();
    /// s.stop(std::time::Duration::from_secs(1));
    /// ```
    pub fn start(&self) -> io::Result<()> {
        let socket = self.socket.clone();
        let handler = self.handler.clone();
        let handlers = self.running.handlers.clone();
        let stopping = self.running.stopping.clone();
        self.running.start(move || {
            let mut buf = vec![0u8; 65_536];
            while !stopping.load(Ordering::SeqCst) {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let (data, socket, handler) =
                            (buf[..n].to_vec(), socket.clone(), handler.clone());
                        handlers.group().spawn(move || handler(data, from, &socket));
                    }
                    Err(_) => grove_core::sleep(BACKOFF_FIRST),
                }
            }
        })
    }

    /// Stops receiving, waits up to `timeout` for running handlers, kills
    /// the rest; true if all finished in time.
    ///
    /// ```
    /// let s = grove_io::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn stop(&self, timeout: Duration) -> bool {
        self.running.stop(timeout)
    }
}
