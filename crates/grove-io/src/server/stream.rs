//! [`StreamServer`]: gevent's `StreamServer`, a green thread per connection.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use grove_core::Handle;

use super::{is_transient, Backoff, Running, ServerError, UnservedWatch};
use crate::net::{TcpListener, TcpStream};

/// A TCP server (gevent's `StreamServer`): accepts connections in a green
/// thread of its own and runs `handler` in a new green thread for each one.
/// With [`max_connections`](StreamServer::max_connections), at most that
/// many handlers run at once and accepting waits while they do. Accept
/// errors such as running out of descriptors, and handlers that cannot
/// start, are reported ([`on_error`](StreamServer::on_error)) and waited
/// out, never fatal.
///
/// It runs on the runtime given to [`runtime`](StreamServer::runtime), or
/// else on the runtime of whoever calls [`start`](StreamServer::start) (the
/// default runtime from a plain OS thread).
///
/// # Example
///
/// ```
/// use std::io::{Read, Write};
/// let server = grove::StreamServer::bind("127.0.0.1:0", |conn: grove::TcpStream, _peer| {
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
    /// let l = grove::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = grove::StreamServer::new(l, |_conn, _peer| {});
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

    /// Runs the server (its loop and its handlers) on `handle`'s runtime
    /// instead of the runtime of whoever calls [`start`](StreamServer::start).
    /// Set it before starting.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(1).build().unwrap();
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {})
    ///     .unwrap()
    ///     .runtime(rt.handle());
    /// s.start().unwrap(); // from main: still on `rt`, not the default runtime
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn runtime(mut self, handle: &Handle) -> StreamServer {
        self.running.handle = Some(handle.clone());
        self
    }

    /// Sends the server's errors to `f` instead of standard error: accept
    /// errors it waits out, and connections closed unserved because their
    /// handler could not start ([`ServerError`]). `f` runs in the server's
    /// loop, or (for a handler that could not start) on the hub that tried
    /// to start it, outside any green thread: it must not block. To act on
    /// an error at length, hand it on (to a `Queue` with `try_put`, say).
    ///
    /// ```
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {})
    ///     .unwrap()
    ///     .on_error(|e| eprintln!("my server: {e}"));
    /// # drop(s);
    /// ```
    pub fn on_error<F>(mut self, f: F) -> StreamServer
    where
        F: Fn(&ServerError) + Send + Sync + 'static,
    {
        self.running.report = Some(Arc::new(f));
        self
    }

    /// Binds a listener to `addr` and makes a server on it.
    ///
    /// ```
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_conn, _peer| {}).unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub fn bind<F>(addr: impl ToSocketAddrs, handler: F) -> io::Result<StreamServer>
    where
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        Ok(StreamServer::new(TcpListener::bind(addr)?, handler))
    }

    /// Runs at most `n` handlers at once (a [`Pool`](grove_sync::Pool) of `n`); accepting
    /// waits while `n` run. Set it before starting.
    ///
    /// ```
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {})
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
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts accepting in a green thread of its own and returns. An error
    /// if it is already running.
    ///
    /// ```
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.start().is_err());
    /// s.stop(std::time::Duration::from_secs(1));
    /// ```
    pub fn start(&self) -> io::Result<()> {
        let listener = self.listener.clone();
        let handler = self.handler.clone();
        let handlers = self.running.handlers.clone();
        let stopping = self.running.stopping.clone();
        let report = self.running.reporter(|| match self.listener.local_addr() {
            Ok(a) => format!("StreamServer on {a}"),
            Err(_) => "StreamServer".to_string(),
        });
        let loop_report = report.clone();
        self.running.start(report, move || {
            let report = loop_report;
            let mut unserved = UnservedWatch::new();
            let mut accept_pause = Backoff::new();
            while !stopping.load(Ordering::SeqCst) {
                if unserved.pause_if_failing() {
                    continue;
                }
                match listener.accept() {
                    Ok((conn, peer)) => {
                        accept_pause.reset();
                        let (handler, shared) = (handler.clone(), unserved.shared.clone());
                        let g = handlers.group().spawn(move || {
                            UnservedWatch::started(&shared);
                            handler(conn, peer)
                        });
                        unserved.watch(&g, "connection", &report);
                    }
                    Err(e) if is_transient(&e) => {}
                    Err(error) => {
                        let pause = accept_pause.next();
                        report(&ServerError::Accept { error, pause });
                        grove_core::sleep(pause);
                    }
                }
            }
        })
    }

    /// Starts (if not started) and waits until the server is stopped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let s = Arc::new(grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap());
    /// let s2 = s.clone();
    /// let serving = grove::spawn(move || s2.serve_forever());
    /// while !serving.is_ready() {
    ///     s.stop(std::time::Duration::from_secs(1)); // ends serve_forever
    ///     grove::sleep(std::time::Duration::from_millis(1));
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
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn stop(&self, timeout: Duration) -> bool {
        self.running.stop(timeout)
    }

    /// How many handlers are running.
    ///
    /// ```
    /// let s = grove::StreamServer::bind("127.0.0.1:0", |_c, _p| {}).unwrap();
    /// assert_eq!(s.connections(), 0);
    /// ```
    pub fn connections(&self) -> usize {
        self.running.len()
    }
}
