//! `pingpong_net`: two green threads on one hub pass one byte back and
//! forth over a loopback TCP connection.
//!
//! Measures the latency of a round trip through the reactor when a hub has
//! nothing else to do: each side writes a byte and blocks reading the
//! reply, so after every write the hub is idle until the kernel reports the
//! other socket readable. A hub that spins before it sleeps must look at its
//! reactor while it spins, or the reply waits out the spin. One round trip
//! is two one-byte writes and two reads. Both sockets set `TCP_NODELAY`.
//!
//! - grove: both green threads pinned to hub 0 (`Builder::hub(0)`) of a
//!   runtime with the run's worker count and default settings (reactors,
//!   default spin); grove's `TcpListener` / `TcpStream`.
//! - tokio: a current-thread runtime with its I/O driver, two tasks, tokio's
//!   `TcpListener` / `TcpStream`.
//! - std: two OS threads with blocking std sockets.
//! - go: two goroutines with `GOMAXPROCS=1` and the `net` package (whose
//!   connections set `TCP_NODELAY` by default).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};

/// See the module documentation.
pub struct PingpongNet;

impl Workload for PingpongNet {
    fn name(&self) -> &'static str {
        "pingpong_net"
    }

    fn about(&self) -> &'static str {
        "two green threads on one hub pass a byte back and forth over loopback TCP"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let trips = cfg.pick(20_000, 2_000);
        vec![Row {
            key: String::new(),
            unit: Unit::NsPerRoundTrip,
            workers: 1,
            isolate: false,
            peers: vec![
                PeerPlan::new(
                    Peer::Grove,
                    trips,
                    format!(
                        "both pinned to hub 0 of a {}-hub runtime; default spin",
                        cfg.workers
                    ),
                ),
                PeerPlan::new(Peer::Tokio, trips, "current-thread runtime"),
                PeerPlan::new(Peer::Std, trips, "two OS threads, blocking sockets"),
                PeerPlan::new(Peer::Go, trips, "two goroutines, GOMAXPROCS=1; net package"),
            ],
        }]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let n = plan.count;
        let took = match plan.peer {
            Peer::Grove => grove(cfg.workers, n)?,
            Peer::Tokio => tokio(n)?,
            Peer::Std => std_threads(n)?,
            Peer::May => return Err(task_err("may", "pingpong_net has no may version")),
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample::plain(took.as_nanos() as f64 / n as f64))
    }
}

/// One side: `n` times, write a byte (if `first`), read one, write it back.
fn bounce<S: Read + Write>(mut s: S, n: usize, first: bool) -> std::io::Result<()> {
    let mut b = [0u8; 1];
    for _ in 0..n {
        if first {
            s.write_all(&b)?;
            s.read_exact(&mut b)?;
        } else {
            s.read_exact(&mut b)?;
            s.write_all(&b)?;
        }
    }
    Ok(())
}

fn grove(workers: usize, n: usize) -> Result<Duration, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let h = rt.handle().clone();
    let out = rt.block_on(move || -> Result<Duration, BenchError> {
        let err = |e: std::io::Error| task_err("grove", e);
        let listener = grove::TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let server = grove::Builder::new()
            .hub(0)
            .spawn_on(&h, move || -> std::io::Result<()> {
                let (s, _) = listener.accept()?;
                s.set_nodelay(true)?;
                bounce(&s, n + 1, false)
            })
            .map_err(|e| task_err("grove", e))?;
        let client = grove::Builder::new()
            .hub(0)
            .spawn_on(&h, move || -> std::io::Result<Duration> {
                let s = grove::TcpStream::connect(addr)?;
                s.set_nodelay(true)?;
                bounce(&s, 1, true)?; // warm: both sides parked once
                let t = Instant::now();
                bounce(&s, n, true)?;
                Ok(t.elapsed())
            })
            .map_err(|e| task_err("grove", e))?;
        let took = client
            .join()
            .map_err(|e| task_err("grove", e))?
            .map_err(err)?;
        server
            .join()
            .map_err(|e| task_err("grove", e))?
            .map_err(err)?;
        Ok(took)
    });
    rt.shutdown();
    out
}

fn tokio(n: usize) -> Result<Duration, BenchError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| task_err("tokio", e))?;
    rt.block_on(async move {
        let err = |e: std::io::Error| task_err("tokio", e);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await?;
            s.set_nodelay(true)?;
            let mut b = [0u8; 1];
            for _ in 0..=n {
                s.read_exact(&mut b).await?;
                s.write_all(&b).await?;
            }
            Ok::<(), std::io::Error>(())
        });
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(err)?;
        s.set_nodelay(true).map_err(err)?;
        let mut b = [0u8; 1];
        s.write_all(&b).await.map_err(err)?;
        s.read_exact(&mut b).await.map_err(err)?;
        let t = Instant::now();
        for _ in 0..n {
            s.write_all(&b).await.map_err(err)?;
            s.read_exact(&mut b).await.map_err(err)?;
        }
        let took = t.elapsed();
        server
            .await
            .map_err(|e| task_err("tokio", e))?
            .map_err(err)?;
        Ok(took)
    })
}

fn std_threads(n: usize) -> Result<Duration, BenchError> {
    let err = |e: std::io::Error| task_err("std", e);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(err)?;
    let addr = listener.local_addr().map_err(err)?;
    let server = std::thread::spawn(move || -> std::io::Result<()> {
        let (s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        bounce(&s, n + 1, false)
    });
    let s = std::net::TcpStream::connect(addr).map_err(err)?;
    s.set_nodelay(true).map_err(err)?;
    bounce(&s, 1, true).map_err(err)?;
    let t = Instant::now();
    bounce(&s, n, true).map_err(err)?;
    let took = t.elapsed();
    server
        .join()
        .map_err(|_| task_err("std", "the server thread panicked"))?
        .map_err(err)?;
    Ok(took)
}
