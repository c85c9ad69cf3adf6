//! Running a batch of equal CPU-bound tasks on each peer, shared by
//! `fanout_cpu` and `imbalanced`.
//!
//! Two ways to hand the batch over:
//! - **outside**: submitted from a plain OS thread outside the runtime
//!   (grove's and tokio's shared injector, may's spawn from a plain thread),
//!   where every worker pulls from the same queue. That thread then sleeps
//!   until a countdown reaches zero (the last task wakes it once), and joins
//!   the finished tasks; joining each unfinished task in turn would instead
//!   measure one OS-thread wakeup per task;
//! - **k spawners**: k green threads (tasks, coroutines) inside the runtime
//!   each spawn and join an equal share. For grove, spawner `i` is pinned to
//!   hub `i % workers`, so with k = workers the work starts evenly spread and
//!   with k = 1 it all starts on hub 0's local queue, where the other hubs
//!   only get it by stealing. tokio and may cannot pin a task to a worker; their
//!   spawners go wherever their scheduler puts them.
//!
//! Each returns the wall time from the first spawn to the last join, and for
//! grove a note with the hubs' counters (green threads stolen, started per hub).

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{task_err, BenchError};
use crate::peers;
use crate::spin::spin;

/// Wall time and what the runtime's counters showed.
pub struct BatchRun {
    /// First spawn to last join.
    pub took: Duration,
    /// The counters, for grove; empty for the others.
    pub note: String,
}

impl BatchRun {
    fn plain(took: Duration) -> BatchRun {
        BatchRun {
            took,
            note: String::new(),
        }
    }
}

/// How a batch is handed to the runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From a plain OS thread outside the runtime.
    Outside,
    /// From this many green threads (tasks, coroutines) inside the runtime.
    Spawners(usize),
}

/// Wakes one OS thread once when `n` tasks have each called [`Countdown::done`].
/// Works from any runtime: `std::thread::Thread::unpark` never blocks.
struct Countdown {
    left: AtomicUsize,
    waiter: std::thread::Thread,
}

impl Countdown {
    /// A countdown from `n` that the calling OS thread will wait on.
    fn new(n: usize) -> Arc<Countdown> {
        Arc::new(Countdown {
            left: AtomicUsize::new(n),
            waiter: std::thread::current(),
        })
    }

    fn done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.waiter.unpark();
        }
    }

    fn wait(&self) {
        while self.left.load(Ordering::Acquire) > 0 {
            std::thread::park();
        }
    }
}

/// One task of the batch, counting itself down when done.
fn task(iters: u64, latch: &Countdown) -> u64 {
    let x = spin(iters);
    latch.done();
    x
}

/// What grove's hub counters showed: green threads stolen, started per hub.
pub fn grove_note(rt: &grove::Runtime) -> String {
    let m = rt.metrics();
    let stolen: u64 = m.iter().map(|h| h.stolen).sum();
    let started: Vec<String> = m.iter().map(|h| h.started.to_string()).collect();
    format!("stolen {stolen}, started per hub {}", started.join("/"))
}

/// grove with `workers` hubs, default settings.
pub fn grove(workers: usize, n: usize, iters: u64, start: Start) -> Result<BatchRun, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let took = match start {
        Start::Outside => {
            let latch = Countdown::new(n);
            let t = Instant::now();
            let gs: Vec<_> = (0..n)
                .map(|_| {
                    let latch = latch.clone();
                    rt.spawn(move || task(iters, &latch))
                })
                .collect();
            latch.wait();
            let mut acc = 0u64;
            for g in gs {
                acc ^= g.join().map_err(|e| task_err("grove", e))?;
            }
            black_box(acc);
            t.elapsed()
        }
        Start::Spawners(k) => {
            let t = Instant::now();
            let spawners = (0..k)
                .map(|i| {
                    grove::Builder::new()
                        .hub(i % workers)
                        .spawn_on(rt.handle(), move || {
                            let gs: Vec<_> = (0..share(n, k, i))
                                .map(|_| grove::spawn(move || spin(iters)))
                                .collect();
                            let mut acc = 0u64;
                            for g in gs {
                                acc ^= g.join().map_err(|e| task_err("grove", e))?;
                            }
                            Ok::<_, BenchError>(acc)
                        })
                        .map_err(|e| task_err("grove", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut acc = 0u64;
            for s in spawners {
                acc ^= s.join().map_err(|e| task_err("grove", e))??;
            }
            black_box(acc);
            t.elapsed()
        }
    };
    let note = grove_note(&rt);
    rt.shutdown();
    Ok(BatchRun { took, note })
}

/// tokio's multi-thread runtime with `workers` workers.
pub fn tokio(workers: usize, n: usize, iters: u64, start: Start) -> Result<BatchRun, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let took = match start {
        Start::Outside => {
            let t = Instant::now();
            let hs: Vec<_> = (0..n)
                .map(|_| rt.spawn(async move { spin(iters) }))
                .collect();
            rt.block_on(async move {
                let mut acc = 0u64;
                for h in hs {
                    acc ^= h.await.map_err(|e| task_err("tokio", e))?;
                }
                black_box(acc);
                Ok::<_, BenchError>(t.elapsed())
            })?
        }
        Start::Spawners(k) => {
            let t = Instant::now();
            let spawners: Vec<_> = (0..k)
                .map(|i| {
                    rt.spawn(async move {
                        let hs: Vec<_> = (0..share(n, k, i))
                            .map(|_| tokio::spawn(async move { spin(iters) }))
                            .collect();
                        let mut acc = 0u64;
                        for h in hs {
                            acc ^= h.await.map_err(|e| task_err("tokio", e))?;
                        }
                        Ok::<_, BenchError>(acc)
                    })
                })
                .collect();
            rt.block_on(async move {
                let mut acc = 0u64;
                for s in spawners {
                    acc ^= s.await.map_err(|e| task_err("tokio", e))??;
                }
                black_box(acc);
                Ok::<_, BenchError>(t.elapsed())
            })?
        }
    };
    rt.shutdown_background();
    Ok(BatchRun::plain(took))
}

/// may with `workers` workers (call only in a child process).
pub fn may(workers: usize, n: usize, iters: u64, start: Start) -> Result<BatchRun, BenchError> {
    peers::may_configure(workers);
    may_warm_up()?;
    let batch = move |count: usize| -> Result<u64, BenchError> {
        let hs: Vec<_> = (0..count).map(|_| may::go!(move || spin(iters))).collect();
        let mut acc = 0u64;
        for h in hs {
            acc ^= h
                .join()
                .map_err(|_| task_err("may", "a coroutine panicked"))?;
        }
        Ok(acc)
    };
    let t = Instant::now();
    let acc = match start {
        Start::Outside => {
            let latch = Countdown::new(n);
            let hs: Vec<_> = (0..n)
                .map(|_| {
                    let latch = latch.clone();
                    may::go!(move || task(iters, &latch))
                })
                .collect();
            latch.wait();
            let mut acc = 0u64;
            for h in hs {
                acc ^= h
                    .join()
                    .map_err(|_| task_err("may", "a coroutine panicked"))?;
            }
            acc
        }
        Start::Spawners(k) => {
            let spawners: Vec<_> = (0..k)
                .map(|i| may::go!(move || batch(share(n, k, i))))
                .collect();
            let mut acc = 0u64;
            for s in spawners {
                acc ^= s
                    .join()
                    .map_err(|_| task_err("may", "a spawning coroutine panicked"))??;
            }
            acc
        }
    };
    black_box(acc);
    Ok(BatchRun::plain(t.elapsed()))
}

/// The `i`th of `k` nearly equal shares of `n`.
pub fn share(n: usize, k: usize, i: usize) -> usize {
    n / k + usize::from(i < n % k)
}

/// Starts may's scheduler threads before anything is timed.
pub fn may_warm_up() -> Result<(), BenchError> {
    may::go!(|| ())
        .join()
        .map_err(|_| task_err("may", "warm-up coroutine panicked"))
}

/// `workers` OS threads, each running an equal share of the batch: the ideal
/// static split, with no queues at all.
pub fn std_split(workers: usize, n: usize, iters: u64) -> Result<BatchRun, BenchError> {
    let t = Instant::now();
    let hs: Vec<_> = (0..workers)
        .map(|w| {
            let share = share(n, workers, w);
            std::thread::spawn(move || (0..share).fold(0u64, |acc, _| acc ^ spin(iters)))
        })
        .collect();
    let mut acc = 0u64;
    for h in hs {
        acc ^= h.join().map_err(|_| task_err("std", "a thread panicked"))?;
    }
    black_box(acc);
    Ok(BatchRun::plain(t.elapsed()))
}
