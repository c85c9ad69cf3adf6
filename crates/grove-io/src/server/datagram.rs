//! [`DatagramServer`]: gevent's `DatagramServer`, a green thread per datagram.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use grove_core::Handle;

use super::{Backoff, Running, ServerError, UnservedWatch};
use crate::net::UdpSocket;

/// A UDP server (gevent's `DatagramServer`): receives datagrams in a green
/// thread of its own and runs `handler` in a new green thread for each,
/// with the socket to reply on. Like [`StreamServer`](crate::StreamServer),
/// it runs on the runtime given to [`runtime`](DatagramServer::runtime) or
/// else on that of whoever calls `start`, and reports its errors
/// ([`on_error`](DatagramServer::on_error)).
///
/// # Example
///
/// ```
/// let server = grove::DatagramServer::bind("127.0.0.1:0", |data: Vec<u8>, from, sock: &grove::UdpSocket| {
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
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _from, _sock| {}).unwrap();
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

    /// Runs the server on `handle`'s runtime instead of the runtime of
    /// whoever calls [`start`](DatagramServer::start). Set it before starting.
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(1).build().unwrap();
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {})
    ///     .unwrap()
    ///     .runtime(rt.handle());
    /// s.start().unwrap();
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn runtime(mut self, handle: &Handle) -> DatagramServer {
        self.running.handle = Some(handle.clone());
        self
    }

    /// Sends the server's errors to `f` instead of standard error
    /// ([`ServerError`]). As for [`StreamServer::on_error`](crate::StreamServer::on_error),
    /// `f` must not block.
    ///
    /// ```
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {})
    ///     .unwrap()
    ///     .on_error(|e| eprintln!("my server: {e}"));
    /// # drop(s);
    /// ```
    pub fn on_error<F>(mut self, f: F) -> DatagramServer
    where
        F: Fn(&ServerError) + Send + Sync + 'static,
    {
        self.running.report = Some(Arc::new(f));
        self
    }

    /// The address it receives on.
    ///
    /// ```
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts receiving in a green thread of its own and returns.
    ///
    /// ```
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// s.start().unwrap();
    /// s.stop(std::time::Duration::from_secs(1));
    /// ```
    pub fn start(&self) -> io::Result<()> {
        let socket = self.socket.clone();
        let handler = self.handler.clone();
        let handlers = self.running.handlers.clone();
        let stopping = self.running.stopping.clone();
        let report = self.running.reporter(|| match self.socket.local_addr() {
            Ok(a) => format!("DatagramServer on {a}"),
            Err(_) => "DatagramServer".to_string(),
        });
        let loop_report = report.clone();
        self.running.start(report, move || {
            let report = loop_report;
            let mut unserved = UnservedWatch::new();
            let mut recv_pause = Backoff::new();
            let mut buf = vec![0u8; 65_536];
            while !stopping.load(Ordering::SeqCst) {
                if unserved.pause_if_failing() {
                    continue;
                }
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        recv_pause.reset();
                        let (data, socket, handler) =
                            (buf[..n].to_vec(), socket.clone(), handler.clone());
                        let shared = unserved.shared.clone();
                        let g = handlers.group().spawn(move || {
                            UnservedWatch::started(&shared);
                            handler(data, from, &socket)
                        });
                        unserved.watch(&g, "datagram", &report);
                    }
                    Err(error) => {
                        let pause = recv_pause.next();
                        report(&ServerError::Accept { error, pause });
                        grove_core::sleep(pause);
                    }
                }
            }
        })
    }

    /// Stops receiving, waits up to `timeout` for running handlers, kills
    /// the rest; true if all finished in time.
    ///
    /// ```
    /// let s = grove::DatagramServer::bind("127.0.0.1:0", |_d, _f, _s| {}).unwrap();
    /// s.start().unwrap();
    /// assert!(s.stop(std::time::Duration::from_secs(1)));
    /// ```
    pub fn stop(&self, timeout: Duration) -> bool {
        self.running.stop(timeout)
    }
}
