//! The `sync_contended/queue` row on each peer.
//!
//! [`SIDES`] producers put the numbers 1 to `n`, an equal run each, on a
//! queue of [`CAPACITY`]; [`SIDES`] consumers take until the queue is closed
//! (or every sender is gone) and return how many items they took and their
//! sum. The run fails unless the totals are `n` and `n (n + 1) / 2`: every
//! item arrived exactly once. All are spawned from the calling OS thread; the
//! producers then wait at a gate (a semaphore of no permits, of the peer's
//! own kind), and once all eight have started the calling thread opens it
//! ([`SIDES`] permits) and the time runs from there to the last join.
//!
//! - grove: producer and consumer `i` pinned to hub `i % workers`
//!   (`Builder::hub`), so both sides are spread over every hub; a
//!   `grove::Queue::bounded`, closed once the producers are joined.
//! - tokio: tasks on the multi-thread runtime (tokio cannot pin them), a
//!   `tokio::sync::mpsc::channel`. Its receiver is single-consumer, so the
//!   consumers share it behind a `tokio::sync::Mutex`, taking turns to wait
//!   on it: not the same as four getters waiting in one queue's line.
//! - std: OS threads and a `crossbeam_channel::bounded` (multi-consumer;
//!   std's own `sync_channel` is single-consumer).
//! - may: not measured. may's channels are unbounded, so there is no
//!   back-pressure on the producers and the experiment would differ.

use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::{AtomicUsize, Ordering};

use super::contended_semaphore::OsSemaphore;
use super::cpu_batch::BatchRun;
use super::sync_contended::{all_started, CAPACITY, SIDES};
use crate::error::{task_err, BenchError};
use crate::peers;

/// The numbers producer `i` puts: its run of 1 to `n`.
fn items(n: usize, i: usize) -> std::ops::Range<u64> {
    let share = (n / SIDES) as u64;
    let start = i as u64 * share + 1;
    let end = if i + 1 == SIDES {
        n as u64 + 1
    } else {
        start + share
    };
    start..end
}

/// Fails unless the consumers' totals show every one of the `n` items once.
fn check(peer: &'static str, (count, sum): (usize, u64), n: usize) -> Result<(), BenchError> {
    let expected = n as u64 * (n as u64 + 1) / 2;
    if count == n && sum == expected {
        Ok(())
    } else {
        Err(task_err(
            peer,
            format!("took {count} items summing to {sum}; expected {n} summing to {expected}"),
        ))
    }
}

/// Adds one consumer's (count, sum) to the totals.
fn add(total: (usize, u64), one: (usize, u64)) -> (usize, u64) {
    (total.0 + one.0, total.1 + one.1)
}

/// A run with no note.
fn plain(took: std::time::Duration) -> BatchRun {
    BatchRun {
        took,
        note: String::new(),
    }
}

/// grove with `workers` hubs.
pub fn grove(workers: usize, n: usize) -> Result<BatchRun, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let q = Arc::new(grove::Queue::<u64>::bounded(CAPACITY));
    let gate = Arc::new(grove::Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let on = |i: usize| grove::Builder::new().hub(i % workers);
    let consumers = (0..SIDES)
        .map(|i| {
            let (q, started) = (q.clone(), started.clone());
            on(i).spawn_on(rt.handle(), move || {
                started.fetch_add(1, Ordering::Release);
                // Ends when the queue is closed and drained.
                q.iter().fold((0usize, 0u64), |(c, s), v| (c + 1, s + v))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| task_err("grove", e))?;
    let producers = (0..SIDES)
        .map(|i| {
            let (q, gate, started) = (q.clone(), gate.clone(), started.clone());
            on(i).spawn_on(rt.handle(), move || {
                started.fetch_add(1, Ordering::Release);
                gate.acquire();
                for v in items(n, i) {
                    q.put(v).map_err(|e| task_err("grove", e))?;
                }
                Ok::<_, BenchError>(())
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| task_err("grove", e))?;
    // On failure the gate still opens, so that every side ends.
    let ready = all_started("grove", &started, 2 * SIDES);
    let t = Instant::now();
    for _ in 0..SIDES {
        gate.release();
    }
    let mut failed = ready.err();
    for p in producers {
        if let Err(e) = p.join().map_err(|e| task_err("grove", e)).and_then(|r| r) {
            failed = Some(e);
        }
    }
    q.close();
    let mut total = (0, 0);
    for c in consumers {
        total = add(total, c.join().map_err(|e| task_err("grove", e))?);
    }
    let took = t.elapsed();
    rt.shutdown();
    if let Some(e) = failed {
        return Err(e);
    }
    check("grove", total, n)?;
    Ok(plain(took))
}

/// tokio's multi-thread runtime with `workers` workers.
pub fn tokio(workers: usize, n: usize) -> Result<BatchRun, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..SIDES)
        .map(|_| {
            let (rx, started) = (rx.clone(), started.clone());
            rt.spawn(async move {
                started.fetch_add(1, Ordering::Release);
                let mut got = (0usize, 0u64);
                // Ends when every sender is dropped and the channel drained.
                while let Some(v) = rx.lock().await.recv().await {
                    got = add(got, (1, v));
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..SIDES)
        .map(|i| {
            let (tx, gate, started) = (tx.clone(), gate.clone(), started.clone());
            rt.spawn(async move {
                started.fetch_add(1, Ordering::Release);
                let _pass = gate.acquire().await.map_err(|e| task_err("tokio", e))?;
                for v in items(n, i) {
                    tx.send(v).await.map_err(|e| task_err("tokio", e))?;
                }
                Ok::<_, BenchError>(())
            })
        })
        .collect();
    drop(tx);
    // On failure the gate still opens, so that every side ends.
    let ready = all_started("tokio", &started, 2 * SIDES);
    let t = Instant::now();
    gate.add_permits(SIDES);
    let total = rt.block_on(async move {
        for p in producers {
            p.await.map_err(|e| task_err("tokio", e))??;
        }
        let mut total = (0, 0);
        for c in consumers {
            total = add(total, c.await.map_err(|e| task_err("tokio", e))?);
        }
        Ok::<_, BenchError>(total)
    });
    let took = t.elapsed();
    rt.shutdown_background();
    ready?;
    check("tokio", total?, n)?;
    Ok(plain(took))
}

/// OS threads and a crossbeam channel.
pub fn std_threads(n: usize) -> Result<BatchRun, BenchError> {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let gate = Arc::new(OsSemaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..SIDES)
        .map(|_| {
            let (rx, started) = (rx.clone(), started.clone());
            std::thread::spawn(move || {
                started.fetch_add(1, Ordering::Release);
                // Ends when every sender is dropped and the channel drained.
                rx.iter().fold((0usize, 0u64), |(c, s), v| (c + 1, s + v))
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..SIDES)
        .map(|i| {
            let (tx, gate, started) = (tx.clone(), gate.clone(), started.clone());
            std::thread::spawn(move || {
                started.fetch_add(1, Ordering::Release);
                gate.acquire()?;
                for v in items(n, i) {
                    tx.send(v).map_err(|e| task_err("std", e))?;
                }
                Ok::<_, BenchError>(())
            })
        })
        .collect();
    drop(tx);
    // On failure the gate still opens, so that every side ends.
    let ready = all_started("std", &started, 2 * SIDES);
    let t = Instant::now();
    for _ in 0..SIDES {
        gate.release()?;
    }
    let mut failed = ready.err();
    for p in producers {
        let r = p.join().map_err(|_| task_err("std", "a producer panicked"));
        if let Err(e) = r.and_then(|r| r) {
            failed = Some(e);
        }
    }
    let mut total = (0, 0);
    for c in consumers {
        let one = c
            .join()
            .map_err(|_| task_err("std", "a consumer panicked"))?;
        total = add(total, one);
    }
    let took = t.elapsed();
    if let Some(e) = failed {
        return Err(e);
    }
    check("std", total, n)?;
    Ok(plain(took))
}
