//! Micro-benchmarks of grove-sync's semaphore and queue, with criterion, beside
//! their counterparts: `cargo bench -p grove-bench --bench sync`.
//!
//! - `semaphore/*_uncontended`: one acquire and release by a lone green
//!   thread (tokio: a lone task);
//! - `semaphore/*_contended_8x2`: 8 green threads, 4 pinned to each of 2 hubs
//!   (tokio: 8 tasks on 2 workers), sharing a semaphore of 1 permit; one
//!   iteration is one acquire and release by any of them;
//! - `queue_1to1/*`: one producer and one consumer moving items through a
//!   queue of capacity 64; grove's are pinned to hubs 0 and 1; one iteration
//!   is one item;
//! - `queue_4to4/*`: the same with 4 producers and 4 consumers, grove's
//!   pinned round-robin to the 2 hubs.
//!
//! The queues are compared with `crossbeam_channel::bounded` and
//! `std::sync::mpsc::sync_channel` between OS threads, and with
//! `tokio::sync::mpsc::channel` on tokio's multi-thread runtime with 2
//! workers. std's and tokio's receivers are single-consumer, so in
//! `queue_4to4` their consumers share one behind a mutex. Each iteration
//! batch times itself from inside (`iter_custom`), including starting its
//! green threads (tasks, OS threads): a cost per batch, not per item, which
//! the linear fit over batch sizes (`SamplingMode::Linear`) leaves out of the
//! per-item slope. Every item is counted.

mod common;

use common::pinned;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};

/// Capacity of every queue.
const CAPACITY: usize = 64;
/// Producers, and consumers, of the `queue_4to4` group.
const SIDES: u64 = 4;
/// Green threads (tasks) sharing the contended semaphore.
const CONTENDERS: u64 = 8;

fn grove_runtime() -> grove::Runtime {
    grove::Runtime::builder()
        .workers(2)
        .build()
        .expect("a two-hub runtime")
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a two-worker tokio runtime")
}

/// The `i`th of `k` nearly equal shares of `n`.
fn share(n: u64, k: u64, i: u64) -> u64 {
    n / k + u64::from(i < n % k)
}

fn semaphore(c: &mut Criterion) {
    let rt = grove_runtime();
    let trt = tokio_runtime();
    let h = rt.handle().clone();
    let mut g = c.benchmark_group("semaphore");
    g.sampling_mode(SamplingMode::Linear);
    g.bench_function("grove_uncontended", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let sem = grove::Semaphore::new(1);
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(&sem).acquire();
                    sem.release();
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("tokio_uncontended", |b| {
        b.iter_custom(|iters| {
            let task = trt.spawn(async move {
                let sem = tokio::sync::Semaphore::new(1);
                let t = Instant::now();
                for _ in 0..iters {
                    drop(black_box(&sem).acquire().await.expect("open"));
                }
                t.elapsed()
            });
            trt.block_on(task).expect("timing task")
        })
    });
    g.bench_function("grove_contended_8x2", |b| {
        b.iter_custom(|iters| {
            let h = h.clone();
            rt.block_on(move || {
                let sem = Arc::new(grove::Semaphore::new(1));
                let t = Instant::now();
                let gs: Vec<_> = (0..CONTENDERS)
                    .map(|i| {
                        let sem = sem.clone();
                        pinned(&h, i as usize % 2, move || {
                            for _ in 0..share(iters, CONTENDERS, i) {
                                sem.acquire();
                                sem.release();
                            }
                        })
                    })
                    .collect();
                gs.into_iter().for_each(|g| g.join().expect("contender"));
                t.elapsed()
            })
        })
    });
    g.bench_function("tokio_contended_8x2", |b| {
        b.iter_custom(|iters| {
            let sem = Arc::new(tokio::sync::Semaphore::new(1));
            let task = trt.spawn(async move {
                let t = Instant::now();
                let hs: Vec<_> = (0..CONTENDERS)
                    .map(|i| {
                        let sem = sem.clone();
                        tokio::spawn(async move {
                            for _ in 0..share(iters, CONTENDERS, i) {
                                drop(sem.acquire().await.expect("open"));
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.expect("contender");
                }
                t.elapsed()
            });
            trt.block_on(task).expect("timing task")
        })
    });
    g.finish();
    rt.shutdown();
    trt.shutdown_background();
}

/// grove: `sides` producers and consumers, pinned round-robin to the two
/// hubs, moving `n` items; returns the time and checks the count.
fn grove_queue(h: &grove::Handle, sides: u64, n: u64) -> Duration {
    let q = Arc::new(grove::Queue::<u64>::bounded(CAPACITY));
    let t = Instant::now();
    let consumers: Vec<_> = (0..sides)
        .map(|i| {
            let q = q.clone();
            pinned(h, (i % 2) as usize, move || q.iter().count() as u64)
        })
        .collect();
    let producers: Vec<_> = (0..sides)
        .map(|i| {
            let q = q.clone();
            // Producer i starts on the hub its consumer is not on, so that
            // with one of each the items cross hubs.
            pinned(h, ((i + 1) % 2) as usize, move || {
                for v in 0..share(n, sides, i) {
                    q.put(v).expect("open queue");
                }
            })
        })
        .collect();
    producers
        .into_iter()
        .for_each(|p| p.join().expect("producer"));
    q.close();
    let got: u64 = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer"))
        .sum();
    let took = t.elapsed();
    assert_eq!(got, n);
    took
}

/// OS threads and a crossbeam channel.
fn crossbeam_queue(sides: u64, n: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let t = Instant::now();
    let consumers: Vec<_> = (0..sides)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().count() as u64)
        })
        .collect();
    let producers: Vec<_> = (0..sides)
        .map(|i| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for v in 0..share(n, sides, i) {
                    tx.send(v).expect("open channel");
                }
            })
        })
        .collect();
    drop((tx, rx));
    producers
        .into_iter()
        .for_each(|p| p.join().expect("producer"));
    let got: u64 = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer"))
        .sum();
    let took = t.elapsed();
    assert_eq!(got, n);
    took
}

/// OS threads and `std::sync::mpsc::sync_channel`, its receiver shared
/// behind a mutex.
fn std_queue(sides: u64, n: u64) -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let t = Instant::now();
    let consumers: Vec<_> = (0..sides)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || {
                let mut got = 0u64;
                while rx.lock().expect("unpoisoned").recv().is_ok() {
                    got += 1;
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..sides)
        .map(|i| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for v in 0..share(n, sides, i) {
                    tx.send(v).expect("open channel");
                }
            })
        })
        .collect();
    drop(tx);
    producers
        .into_iter()
        .for_each(|p| p.join().expect("producer"));
    let got: u64 = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer"))
        .sum();
    let took = t.elapsed();
    assert_eq!(got, n);
    took
}

/// tokio tasks and `tokio::sync::mpsc::channel`, its receiver shared behind
/// tokio's mutex.
fn tokio_queue(rt: &tokio::runtime::Runtime, sides: u64, n: u64) -> Duration {
    let task = rt.spawn(async move {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let t = Instant::now();
        let consumers: Vec<_> = (0..sides)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut got = 0u64;
                    while rx.lock().await.recv().await.is_some() {
                        got += 1;
                    }
                    got
                })
            })
            .collect();
        let producers: Vec<_> = (0..sides)
            .map(|i| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for v in 0..share(n, sides, i) {
                        tx.send(v).await.expect("open channel");
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await.expect("producer");
        }
        let mut got = 0;
        for c in consumers {
            got += c.await.expect("consumer");
        }
        let took = t.elapsed();
        assert_eq!(got, n);
        took
    });
    rt.block_on(task).expect("timing task")
}

fn queue(c: &mut Criterion, group: &str, sides: u64) {
    let rt = grove_runtime();
    let trt = tokio_runtime();
    let h = rt.handle().clone();
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Linear);
    g.bench_function("grove", |b| {
        b.iter_custom(|iters| {
            let h2 = h.clone();
            rt.block_on(move || grove_queue(&h2, sides, iters))
        })
    });
    g.bench_function("crossbeam", |b| {
        b.iter_custom(|iters| crossbeam_queue(sides, iters))
    });
    g.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| std_queue(sides, iters))
    });
    g.bench_function("tokio_mpsc", |b| {
        b.iter_custom(|iters| tokio_queue(&trt, sides, iters))
    });
    g.finish();
    rt.shutdown();
    trt.shutdown_background();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn main() {
    let mut c = config().configure_from_args();
    semaphore(&mut c);
    queue(&mut c, "queue_1to1", 1);
    queue(&mut c, "queue_4to4", SIDES);
    c.final_summary();
}
