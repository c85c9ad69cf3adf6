//! `pingpong_cross`: two green threads on different hubs handing a number
//! back and forth through two queues of capacity 1.
//!
//! Measures one round trip: *ping* puts a number on the outbound queue and
//! blocks on the return queue; *pong*, blocked on the outbound queue on the
//! other hub, takes it and puts it back. Each leg is a cross-hub wakeup of a
//! blocked green thread. This is the cost of a request handed to a worker
//! green thread and its answer waited for, the core of every gevent
//! producer/consumer and pool. Ping checks every answer against what it sent.
//! One untimed round trip first makes sure both sides are running.
//!
//! - grove: ping pinned to hub 0 and pong to hub 1 (`Builder::hub`) of a
//!   runtime with the run's hubs (at least 2, as for every peer of this
//!   row); two `grove::Queue::bounded(1)`. (A
//!   `Channel`, capacity 0, is the other choice; the bounded queue of 1 is
//!   used because every peer below has a capacity-1 channel.)
//! - tokio: the multi-thread runtime with the same workers, two tasks and two
//!   `tokio::sync::mpsc::channel(1)`. tokio cannot pin a task to a worker:
//!   where each side runs is up to its scheduler, and its note says how often
//!   (every 1,024 round trips) the two sides were found on one OS thread.
//! - may: a child process whose scheduler has the same workers, two
//!   coroutines and two `may::sync::mpsc` channels (unbounded, which changes
//!   nothing here: at most one message is ever in flight). may cannot pin.
//! - std: two OS threads and two `std::sync::mpsc::sync_channel(1)`.
//! - go: two goroutines with `GOMAXPROCS` the row's workers and two channels
//!   of capacity 1; Go cannot pin either.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{PeerPlan, Row, Sample, Unit, Workload};
use crate::config::Config;
use crate::error::{task_err, BenchError};
use crate::go_peer;
use crate::peers::{self, Peer};

/// See the module documentation.
pub struct PingpongCross;

impl Workload for PingpongCross {
    fn name(&self) -> &'static str {
        "pingpong_cross"
    }

    fn about(&self) -> &'static str {
        "two green threads on different hubs handing a number back and forth through queues"
    }

    fn rows(&self, cfg: &Config) -> Vec<Row> {
        let trips = cfg.pick(100_000, 10_000);
        let std_trips = cfg.pick(20_000, 2_000);
        let workers = cfg.workers.max(2);
        vec![Row {
            key: String::new(),
            unit: Unit::NsPerRoundTrip,
            workers,
            isolate: false,
            peers: vec![
                PeerPlan::new(
                    Peer::Grove,
                    trips,
                    format!("pinned to hubs 0 and 1 of {workers}; Queue::bounded(1)"),
                ),
                PeerPlan::new(Peer::Tokio, trips, "two tasks; mpsc::channel(1)"),
                PeerPlan::new(Peer::May, trips, "child process; may::sync::mpsc"),
                PeerPlan::new(
                    Peer::Std,
                    std_trips,
                    format!("two OS threads; sync_channel(1); only {std_trips}"),
                ),
                PeerPlan::new(
                    Peer::Go,
                    trips,
                    format!("two goroutines, GOMAXPROCS={workers}; channels of capacity 1"),
                ),
            ],
        }]
    }

    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError> {
        let n = plan.count;
        let (took, note) = match plan.peer {
            Peer::Grove => (grove(row.workers, n)?, String::new()),
            Peer::Tokio => tokio(row.workers, n)?,
            Peer::May => (may(row.workers, n)?, String::new()),
            Peer::Std => (std_threads(n)?, String::new()),
            Peer::Go => return go_peer::measure(self.name(), row, plan, cfg),
        };
        Ok(Sample {
            value: took.as_nanos() as f64 / n as f64,
            note,
        })
    }
}

/// The number sent on the untimed first round trip.
const FIRST: u64 = u64::MAX;

/// How often (in round trips) tokio's ping checks whether pong ran on the
/// same OS thread as itself.
const CHECK_EVERY: u64 = 1024;

thread_local! {
    /// A byte whose address tells OS threads apart.
    static HERE: u8 = const { 0 };
}

/// An identifier of the calling OS thread (the address of its [`HERE`]).
fn os_thread() -> usize {
    HERE.with(|h| h as *const u8 as usize)
}

/// Fails unless the answer `got` is the number `sent`.
fn check(peer: &'static str, sent: u64, got: Option<u64>) -> Result<(), BenchError> {
    match got {
        Some(v) if v == sent => Ok(()),
        Some(v) => Err(task_err(peer, format!("sent {sent}, got {v} back"))),
        None => Err(task_err(peer, format!("no answer to {sent}"))),
    }
}

fn grove(workers: usize, n: usize) -> Result<Duration, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let there = Arc::new(grove::Queue::<u64>::bounded(1));
    let back = Arc::new(grove::Queue::<u64>::bounded(1));
    let pong = {
        let (there, back) = (there.clone(), back.clone());
        grove::Builder::new()
            .hub(1)
            .spawn_on(rt.handle(), move || {
                // Ends when ping closes `there`.
                for v in there.iter() {
                    back.put(v).map_err(|e| task_err("grove", e))?;
                }
                Ok::<_, BenchError>(())
            })
            .map_err(|e| task_err("grove", e))?
    };
    let ping = grove::Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            let trip = |v: u64| {
                there.put(v).map_err(|e| task_err("grove", e))?;
                check("grove", v, back.get().ok())
            };
            let timed = trip(FIRST).and_then(|()| {
                let t = Instant::now();
                for i in 0..n as u64 {
                    trip(i)?;
                }
                Ok(t.elapsed())
            });
            // Also on failure, so that pong ends.
            there.close();
            timed
        })
        .map_err(|e| task_err("grove", e))?;
    let took = ping.join().map_err(|e| task_err("grove", e))?;
    let ended = pong.join().map_err(|e| task_err("grove", e))?;
    rt.shutdown();
    let took = took?;
    ended?;
    Ok(took)
}

fn tokio(workers: usize, n: usize) -> Result<(Duration, String), BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let (there_tx, mut there_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let (back_tx, mut back_rx) = tokio::sync::mpsc::channel::<u64>(1);
    // Where pong last ran, written every CHECK_EVERY messages; the channel
    // orders the write before ping reads it.
    let pong_at = Arc::new(AtomicUsize::new(0));
    let pong = {
        let pong_at = pong_at.clone();
        rt.spawn(async move {
            // Ends when ping drops `there_tx`.
            while let Some(v) = there_rx.recv().await {
                if v % CHECK_EVERY == 0 {
                    pong_at.store(os_thread(), Ordering::Relaxed);
                }
                back_tx.send(v).await.map_err(|e| task_err("tokio", e))?;
            }
            Ok::<_, BenchError>(())
        })
    };
    let ping = rt.spawn(async move {
        there_tx
            .send(FIRST)
            .await
            .map_err(|e| task_err("tokio", e))?;
        check("tokio", FIRST, back_rx.recv().await)?;
        let (mut same, mut checks) = (0u64, 0u64);
        let t = Instant::now();
        for i in 0..n as u64 {
            there_tx.send(i).await.map_err(|e| task_err("tokio", e))?;
            check("tokio", i, back_rx.recv().await)?;
            if i % CHECK_EVERY == 0 {
                checks += 1;
                same += u64::from(pong_at.load(Ordering::Relaxed) == os_thread());
            }
        }
        let took = t.elapsed();
        Ok::<_, BenchError>((
            took,
            format!("both sides on one thread at {same} of {checks} checks"),
        ))
    });
    let took = rt.block_on(ping).map_err(|e| task_err("tokio", e));
    let ended = rt.block_on(pong).map_err(|e| task_err("tokio", e));
    rt.shutdown_background();
    let took = took??;
    ended??;
    Ok(took)
}

fn may(workers: usize, n: usize) -> Result<Duration, BenchError> {
    peers::may_configure(workers);
    super::cpu_batch::may_warm_up()?;
    let (there_tx, there_rx) = may::sync::mpsc::channel::<u64>();
    let (back_tx, back_rx) = may::sync::mpsc::channel::<u64>();
    let pong = may::go!(move || {
        // Ends when ping drops `there_tx`.
        for v in there_rx.iter() {
            back_tx.send(v).map_err(|e| task_err("may", e))?;
        }
        Ok::<_, BenchError>(())
    });
    let ping = may::go!(move || {
        let trip = |v: u64| {
            there_tx.send(v).map_err(|e| task_err("may", e))?;
            check("may", v, back_rx.recv().ok())
        };
        trip(FIRST)?;
        let t = Instant::now();
        for i in 0..n as u64 {
            trip(i)?;
        }
        Ok::<_, BenchError>(t.elapsed())
    });
    let took = ping
        .join()
        .map_err(|_| task_err("may", "the ping coroutine panicked"))?;
    let ended = pong
        .join()
        .map_err(|_| task_err("may", "the pong coroutine panicked"))?;
    let took = took?;
    ended?;
    Ok(took)
}

fn std_threads(n: usize) -> Result<Duration, BenchError> {
    let (there_tx, there_rx) = std::sync::mpsc::sync_channel::<u64>(1);
    let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<u64>(1);
    let pong = std::thread::spawn(move || {
        // Ends when ping drops `there_tx`.
        for v in there_rx {
            back_tx.send(v).map_err(|e| task_err("std", e))?;
        }
        Ok::<_, BenchError>(())
    });
    let took = std_ping(n, there_tx, back_rx);
    let ended = pong
        .join()
        .map_err(|_| task_err("std", "the pong thread panicked"))?;
    let took = took?;
    ended?;
    Ok(took)
}

/// The ping side on the calling thread; dropping `there` on return ends pong.
fn std_ping(
    n: usize,
    there: std::sync::mpsc::SyncSender<u64>,
    back: std::sync::mpsc::Receiver<u64>,
) -> Result<Duration, BenchError> {
    let trip = |v: u64| {
        there.send(v).map_err(|e| task_err("std", e))?;
        check("std", v, back.recv().ok())
    };
    trip(FIRST)?;
    let t = Instant::now();
    for i in 0..n as u64 {
        trip(i)?;
    }
    Ok(t.elapsed())
}
