//! The load client every server of `echo` and `http_hello` is driven by: the
//! same code, on plain OS threads, whatever the server runs on.
//!
//! [`CLIENT_THREADS`] OS threads share the connections. Each thread runs its
//! connections in lockstep, a closed loop: write one request on each, then
//! read exactly one response from each in turn and compare it with the
//! expected bytes, repeat. Every connection thus always has one request in
//! flight, and the client spends its time in system calls, not in waking a
//! thread per connection, so that the server's costs dominate the figure.
//! Before the clock starts, every connection is open and has made one
//! untimed round trip, so the server has accepted them all and is serving
//! each. Then the threads run for the given time; when it is up each
//! finishes the round in progress and closes its connections. The result is
//! the number of round trips answered and the time from the start until the
//! last thread ended.
//!
//! Every socket has a read and write timeout ([`IO_TIMEOUT`]), so a server that
//! stops answering fails the measurement instead of hanging it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::error::{task_err, BenchError};

/// OS threads the client's connections are shared among.
pub const CLIENT_THREADS: usize = 2;

/// The longest a client waits on one read or write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What the client sends and expects back.
#[derive(Clone, Debug)]
pub struct Load {
    /// Connections, shared among [`CLIENT_THREADS`] OS threads.
    pub connections: usize,
    /// How long the timed part runs.
    pub duration: Duration,
    /// One request.
    pub request: Vec<u8>,
    /// The exact bytes of its response.
    pub response: Vec<u8>,
}

/// What one run of the client measured.
#[derive(Clone, Copy, Debug)]
pub struct Driven {
    /// Round trips answered in the timed part.
    pub trips: u64,
    /// From the start of the timed part until every connection was done.
    pub took: Duration,
}

impl Driven {
    /// Round trips per second.
    pub fn per_second(&self) -> f64 {
        self.trips as f64 / self.took.as_secs_f64()
    }
}

/// Drives the server at `addr` with `load`; `peer` names it in errors.
pub fn drive(peer: &'static str, addr: SocketAddr, load: &Load) -> Result<Driven, BenchError> {
    let load = Arc::new(load.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let threads = CLIENT_THREADS.min(load.connections).max(1);
    // Every client thread plus this one: the clock starts once all are ready.
    let ready = Arc::new(Barrier::new(threads + 1));
    let clients: Vec<_> = (0..threads)
        .map(|t| {
            // Connections t, t + threads, ...: as even a share as can be.
            let mine = (t..load.connections).step_by(threads).count();
            let (load, stop, ready) = (load.clone(), stop.clone(), ready.clone());
            std::thread::spawn(move || client(peer, addr, mine, &load, &stop, &ready))
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    std::thread::sleep(load.duration);
    stop.store(true, Ordering::Relaxed);
    let mut trips = 0;
    let mut failure = None;
    for c in clients {
        match c.join() {
            Ok(Ok(n)) => trips += n,
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(_) => failure = failure.or(Some(task_err(peer, "a client thread panicked"))),
        }
    }
    let took = start.elapsed();
    match failure {
        Some(e) => Err(e),
        None if trips == 0 => Err(task_err(peer, "no round trip was answered")),
        None => Ok(Driven { trips, took }),
    }
}

/// One client thread's loop over its `conns` connections. Always reaches
/// the barrier once, also when it fails, so that [`drive`] never waits for a
/// client that gave up.
fn client(
    peer: &'static str,
    addr: SocketAddr,
    conns: usize,
    load: &Load,
    stop: &AtomicBool,
    ready: &Barrier,
) -> Result<u64, BenchError> {
    let mut buf = vec![0u8; load.response.len()];
    let opened = (0..conns)
        .map(|_| open(addr))
        .collect::<std::io::Result<Vec<_>>>()
        .and_then(|mut all| {
            round(&mut all, load, &mut buf)?;
            Ok(all)
        });
    ready.wait();
    let mut all = opened.map_err(|e| task_err(peer, format!("client: {e}")))?;
    let mut trips = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round(&mut all, load, &mut buf).map_err(|e| task_err(peer, format!("client: {e}")))?;
        trips += all.len() as u64;
    }
    Ok(trips)
}

/// One request on every connection, then every response, checked.
fn round(conns: &mut [TcpStream], load: &Load, buf: &mut [u8]) -> std::io::Result<()> {
    for c in conns.iter_mut() {
        c.write_all(&load.request)?;
    }
    for c in conns.iter_mut() {
        c.read_exact(buf)?;
        if buf != load.response.as_slice() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the response is not the expected bytes",
            ));
        }
    }
    Ok(())
}

fn open(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let c = TcpStream::connect(addr)?;
    c.set_nodelay(true)?;
    c.set_read_timeout(Some(IO_TIMEOUT))?;
    c.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(c)
}
