//! One server per peer for `echo` and `http_hello`, each started on a fresh
//! loopback port, driven by the common [`super::load_client`],
//! and stopped.
//!
//! Every server has one green thread (task, coroutine, OS thread) per
//! connection running [`Protocol`]'s loop, as a gevent server does:
//! - grove: a runtime with the row's hubs, each with its reactor
//!   (`grove::reactors()`), and a `grove::StreamServer`.
//! - tokio: the multi-thread runtime with the same workers and its I/O
//!   driver; an accept loop task and `tokio::spawn` per connection.
//! - may: in a child process with the same workers; an accept loop
//!   coroutine over `may::net::TcpListener` and `may::go!` per connection.
//! - std: an accept loop thread and an OS thread per connection (as many OS
//!   threads as connections, whatever the row's worker count).
//! - go: the Go program (`go_peer.rs`) with `GOMAXPROCS` the row's workers,
//!   an accept loop and a goroutine per connection; `http_hello` parses
//!   each request with `net/http`'s `ReadRequest`.
//!
//! Every server sets `TCP_NODELAY` on its connections, as the client does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::load_client::{self, Driven, Load};
use super::protocol::Protocol;
use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};

/// A workload of a server per peer driven by the common client: `echo` and
/// `http_hello` are two of these.
pub struct Served {
    /// The workload's name.
    pub name: &'static str,
    /// What it measures.
    pub about: &'static str,
    /// What the servers speak.
    pub protocol: Protocol,
    /// The unit of its row.
    pub unit: Unit,
    /// Connections in a full run and in a quick one.
    pub connections: (usize, usize),
}

impl Workload for Served {
    fn name(&self) -> &'static str {
        self.name
    }

    fn about(&self) -> &'static str {
        self.about
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let conns = cfg.pick(self.connections.0, self.connections.1);
        let w = cfg.workers;
        vec![Row {
            key: String::new(),
            unit: self.unit,
            workers: w,
            isolate: false,
            peers: vec![
                PeerPlan::new(Peer::Grove, conns, format!("StreamServer, {w} hubs")),
                PeerPlan::new(
                    Peer::Tokio,
                    conns,
                    format!("task per connection, {w} workers"),
                ),
                PeerPlan::new(Peer::May, conns, format!("child process, {w} workers")),
                PeerPlan::new(Peer::Std, conns, "OS thread per connection"),
                PeerPlan::new(
                    Peer::Go,
                    conns,
                    format!("goroutine per connection, GOMAXPROCS={w}"),
                ),
            ],
        }]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let load = Load {
            connections: plan.count,
            duration: duration(cfg),
            request: self.protocol.request(),
            response: self.protocol.response(),
        };
        if plan.peer == Peer::Go {
            let server = go_peer::Server::start(self.name, row, plan, cfg)?;
            let driven = load_client::drive("go", server.addr, &load)?;
            return Ok(Sample::plain(driven.per_second()));
        }
        measure(plan.peer, row.workers, self.protocol, &load)
    }
}

/// How long a stopping server waits for its connections to end.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// Runs `proto`'s server on `peer` with `workers` workers and drives it
/// with `load`. The sample is round trips answered per second.
pub fn measure(
    peer: Peer,
    workers: usize,
    proto: Protocol,
    load: &Load,
) -> Result<Sample, BenchError> {
    let driven = match peer {
        Peer::Grove => grove(workers, proto, load)?,
        Peer::Tokio => tokio(workers, proto, load)?,
        Peer::May => may(workers, proto, load)?,
        Peer::Std => std_threads(proto, load)?,
        Peer::Go => return Err(task_err("go", "the Go server runs in the Go program")),
    };
    Ok(Sample::plain(driven.per_second()))
}

fn grove(workers: usize, proto: Protocol, load: &Load) -> Result<Driven, BenchError> {
    let rt = peers::grove_build(peers::grove_builder(workers).driver(grove::reactors()))?;
    let server = rt.block_on(move || {
        let s = grove::StreamServer::bind("127.0.0.1:0", move |conn, _peer| {
            let _ = conn.set_nodelay(true);
            proto.serve_blocking(conn);
        })?;
        s.start()?;
        Ok::<_, std::io::Error>(s)
    });
    let server = server.map_err(|e| task_err("grove", format!("server: {e}")))?;
    let driven = server
        .local_addr()
        .map_err(|e| task_err("grove", format!("server: {e}")))
        .and_then(|addr| load_client::drive("grove", addr, load));
    let stopped = rt.block_on(move || server.stop(STOP_WAIT));
    rt.shutdown();
    let driven = driven?;
    if !stopped {
        return Err(task_err(
            "grove",
            "connections still open after the client left",
        ));
    }
    Ok(driven)
}

fn tokio(workers: usize, proto: Protocol, load: &Load) -> Result<Driven, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_io()
        .build()
        .map_err(|e| BenchError::Build {
            peer: "tokio",
            message: e.to_string(),
        })?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| task_err("tokio", format!("server: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| task_err("tokio", format!("server: {e}")))?;
    // An accept error ends the loop; the clients then time out and say so.
    let accepting = rt.spawn(async move {
        while let Ok((conn, _peer)) = listener.accept().await {
            let _ = conn.set_nodelay(true);
            tokio::spawn(proto.serve_tokio(conn));
        }
    });
    let driven = load_client::drive("tokio", addr, load);
    accepting.abort();
    rt.shutdown_timeout(STOP_WAIT);
    driven
}

fn may(workers: usize, proto: Protocol, load: &Load) -> Result<Driven, BenchError> {
    peers::may_configure(workers);
    let listener = may::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| task_err("may", format!("server: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| task_err("may", format!("server: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let accepting = {
        let stop = stop.clone();
        may::go!(move || {
            let mut conns = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let (conn, _peer) = listener.accept()?;
                conn.set_nodelay(true)?;
                conns.push(may::go!(move || proto.serve_blocking(conn)));
            }
            for c in conns {
                let _ = c.join();
            }
            Ok::<(), std::io::Error>(())
        })
    };
    let driven = load_client::drive("may", addr, load);
    stop_accepting(&stop, addr);
    let accepted = accepting
        .join()
        .map_err(|_| task_err("may", "the accept coroutine panicked"))?;
    let driven = driven?;
    accepted.map_err(|e| task_err("may", format!("accept: {e}")))?;
    Ok(driven)
}

fn std_threads(proto: Protocol, load: &Load) -> Result<Driven, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| task_err("std", format!("server: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| task_err("std", format!("server: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let accepting = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut conns = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let (conn, _peer) = listener.accept()?;
                conn.set_nodelay(true)?;
                conns.push(std::thread::spawn(move || proto.serve_blocking(conn)));
            }
            for c in conns {
                let _ = c.join();
            }
            Ok::<(), std::io::Error>(())
        })
    };
    let driven = load_client::drive("std", addr, load);
    stop_accepting(&stop, addr);
    let accepted = accepting
        .join()
        .map_err(|_| task_err("std", "the accept thread panicked"))?;
    let driven = driven?;
    accepted.map_err(|e| task_err("std", format!("accept: {e}")))?;
    Ok(driven)
}

/// Ends an accept loop blocked in `accept`: sets its flag, then connects
/// once so that `accept` returns and the loop sees the flag. The extra
/// connection is closed at once, which ends its handler.
fn stop_accepting(stop: &AtomicBool, addr: SocketAddr) {
    stop.store(true, Ordering::SeqCst);
    let _ = std::net::TcpStream::connect_timeout(&addr, load_client::IO_TIMEOUT);
}

/// How long the timed part of a run lasts.
pub fn duration(cfg: &Config) -> Duration {
    if cfg.quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(3)
    }
}
