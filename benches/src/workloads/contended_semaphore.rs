//! The `sync_contended/semaphore` row on each peer.
//!
//! [`CONTENDERS`] green threads (tasks, coroutines; [`STD_CONTENDERS`] OS
//! threads for std) share a semaphore of [`PERMITS`] and do `n` cycles in all,
//! a nearly equal share each: acquire, yield while holding the permit, release.
//! Every peer submits them from the calling OS thread, outside the runtime.
//! The semaphore starts with no permit, so each contender, once started,
//! waits in its line; when all have started the calling thread releases the
//! [`PERMITS`] permits, and the time runs from there until the last contender
//! has finished its cycles. Starting and ending 1,000 green threads (mapping
//! and unmapping their stacks) is not counted: that is `spawn_join`'s
//! business, and it would swamp a short run. Every holder counts itself in
//! the shared [`Tally`], and a run fails if more than [`PERMITS`] ever hold a
//! permit at once.
//!
//! - grove: `rt.spawn` (the shared injector: every hub takes from it), the
//!   green threads not pinned; `grove::Semaphore` and `grove::yield_now`.
//! - tokio: `rt.spawn` on the multi-thread runtime, `tokio::sync::Semaphore`
//!   (also FIFO) and `task::yield_now`.
//! - may: `go!` from the child process's main thread, `may::sync::Semphore`
//!   and `coroutine::yield_now`.
//! - std: OS threads sharing a counting semaphore built from a `Mutex` and a
//!   `Condvar` (std has none), yielding with `thread::yield_now`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::cpu_batch::{self, BatchRun};
use super::sync_contended::{all_started, CONTENDERS, PERMITS, STD_CONTENDERS};
use crate::error::{task_err, BenchError};
use crate::peers;

/// What the contenders of one run count together.
struct Tally {
    /// Contenders that have started.
    started: AtomicUsize,
    /// Contenders holding a permit right now.
    holding: AtomicUsize,
    /// Contenders that have not finished their cycles yet.
    left: AtomicUsize,
    /// When the last one finished.
    end: OnceLock<Instant>,
}

impl Tally {
    /// A tally for `n` contenders.
    fn new(n: usize) -> Arc<Tally> {
        Arc::new(Tally {
            started: AtomicUsize::new(0),
            holding: AtomicUsize::new(0),
            left: AtomicUsize::new(n),
            end: OnceLock::new(),
        })
    }

    /// A contender has started.
    fn start(&self) {
        self.started.fetch_add(1, Ordering::Release);
    }

    /// Counts one more holder; false if that makes more than [`PERMITS`].
    fn enter(&self) -> bool {
        self.holding.fetch_add(1, Ordering::AcqRel) < PERMITS
    }

    /// Counts one holder less.
    fn leave(&self) {
        self.holding.fetch_sub(1, Ordering::AcqRel);
    }

    /// A contender has finished its cycles; the last one notes the time.
    fn finish(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.end.set(Instant::now());
        }
    }

    /// From `t` to when the last contender finished (to now if none did:
    /// the run then fails anyway).
    fn took_since(&self, t: Instant) -> Duration {
        match self.end.get() {
            Some(end) => end.duration_since(t),
            None => t.elapsed(),
        }
    }
}

/// The error of a holder that found too many others holding a permit.
fn too_many(peer: &'static str) -> BenchError {
    task_err(peer, format!("more than {PERMITS} held a permit at once"))
}

/// Fails unless `done` cycles are the `n` asked for.
fn check(peer: &'static str, done: usize, n: usize) -> Result<(), BenchError> {
    if done == n {
        Ok(())
    } else {
        Err(task_err(peer, format!("{done} cycles done of {n}")))
    }
}

/// grove with `workers` hubs.
pub fn grove(workers: usize, n: usize) -> Result<BatchRun, BenchError> {
    let rt = peers::grove_runtime(workers)?;
    let sem = Arc::new(grove::Semaphore::new(0));
    let tally = Tally::new(CONTENDERS);
    let gs: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let share = cpu_batch::share(n, CONTENDERS, i);
            let (sem, tally) = (sem.clone(), tally.clone());
            rt.spawn(move || {
                tally.start();
                for _ in 0..share {
                    sem.acquire();
                    let ok = tally.enter();
                    grove::yield_now();
                    tally.leave();
                    sem.release();
                    if !ok {
                        return Err(too_many("grove"));
                    }
                }
                tally.finish();
                Ok(share)
            })
        })
        .collect();
    // On failure the permits are still released, so that every contender ends.
    let ready = all_started("grove", &tally.started, CONTENDERS);
    let t = Instant::now();
    for _ in 0..PERMITS {
        sem.release();
    }
    let mut done = 0;
    let mut failed = ready.err();
    for g in gs {
        match g.join().map_err(|e| task_err("grove", e)).and_then(|r| r) {
            Ok(k) => done += k,
            Err(e) => failed = Some(e),
        }
    }
    let took = tally.took_since(t);
    let note = cpu_batch::grove_note(&rt);
    rt.shutdown();
    if let Some(e) = failed {
        return Err(e);
    }
    check("grove", done, n)?;
    Ok(BatchRun { took, note })
}

/// tokio's multi-thread runtime with `workers` workers.
pub fn tokio(workers: usize, n: usize) -> Result<BatchRun, BenchError> {
    let rt = peers::tokio_runtime(workers)?;
    let sem = Arc::new(tokio::sync::Semaphore::new(0));
    let tally = Tally::new(CONTENDERS);
    let hs: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let share = cpu_batch::share(n, CONTENDERS, i);
            let (sem, tally) = (sem.clone(), tally.clone());
            rt.spawn(async move {
                tally.start();
                for _ in 0..share {
                    let permit = sem.acquire().await.map_err(|e| task_err("tokio", e))?;
                    let ok = tally.enter();
                    tokio::task::yield_now().await;
                    tally.leave();
                    drop(permit);
                    if !ok {
                        return Err(too_many("tokio"));
                    }
                }
                tally.finish();
                Ok(share)
            })
        })
        .collect();
    // On failure the permits are still released, so that every contender ends.
    let ready = all_started("tokio", &tally.started, CONTENDERS);
    let t = Instant::now();
    sem.add_permits(PERMITS);
    let done = rt.block_on(async move {
        let mut done = 0;
        for h in hs {
            done += h.await.map_err(|e| task_err("tokio", e))??;
        }
        Ok::<_, BenchError>(done)
    });
    let took = tally.took_since(t);
    rt.shutdown_background();
    ready?;
    check("tokio", done?, n)?;
    Ok(BatchRun {
        took,
        note: String::new(),
    })
}

/// may with `workers` workers (call only in a child process).
pub fn may(workers: usize, n: usize) -> Result<BatchRun, BenchError> {
    peers::may_configure(workers);
    cpu_batch::may_warm_up()?;
    let sem = Arc::new(may::sync::Semphore::new(0));
    let tally = Tally::new(CONTENDERS);
    let hs: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let share = cpu_batch::share(n, CONTENDERS, i);
            let (sem, tally) = (sem.clone(), tally.clone());
            may::go!(move || {
                tally.start();
                for _ in 0..share {
                    sem.wait();
                    let ok = tally.enter();
                    may::coroutine::yield_now();
                    tally.leave();
                    sem.post();
                    if !ok {
                        return Err(too_many("may"));
                    }
                }
                tally.finish();
                Ok(share)
            })
        })
        .collect();
    // On failure the permits are still released, so that every contender ends.
    let ready = all_started("may", &tally.started, CONTENDERS);
    let t = Instant::now();
    for _ in 0..PERMITS {
        sem.post();
    }
    let mut done = 0;
    for h in hs {
        done += h
            .join()
            .map_err(|_| task_err("may", "a coroutine panicked"))??;
    }
    let took = tally.took_since(t);
    ready?;
    check("may", done, n)?;
    Ok(BatchRun {
        took,
        note: String::new(),
    })
}

/// A counting semaphore for OS threads: free permits under a mutex, and a
/// condition variable to wait for one.
pub struct OsSemaphore {
    permits: Mutex<usize>,
    freed: Condvar,
}

impl OsSemaphore {
    /// A semaphore with `permits` free permits.
    pub fn new(permits: usize) -> OsSemaphore {
        OsSemaphore {
            permits: Mutex::new(permits),
            freed: Condvar::new(),
        }
    }

    /// Takes a permit, waiting until one is free.
    pub fn acquire(&self) -> Result<(), BenchError> {
        let poisoned = |_| task_err("std", "a thread panicked holding the semaphore");
        let mut free = self.permits.lock().map_err(poisoned)?;
        while *free == 0 {
            free = self.freed.wait(free).map_err(poisoned)?;
        }
        *free -= 1;
        Ok(())
    }

    /// Returns a permit, waking one waiter.
    pub fn release(&self) -> Result<(), BenchError> {
        let poisoned = |_| task_err("std", "a thread panicked holding the semaphore");
        *self.permits.lock().map_err(poisoned)? += 1;
        self.freed.notify_one();
        Ok(())
    }
}

/// [`STD_CONTENDERS`] OS threads.
pub fn std_threads(n: usize) -> Result<BatchRun, BenchError> {
    let sem = Arc::new(OsSemaphore::new(0));
    let tally = Tally::new(STD_CONTENDERS);
    let hs: Vec<_> = (0..STD_CONTENDERS)
        .map(|i| {
            let share = cpu_batch::share(n, STD_CONTENDERS, i);
            let (sem, tally) = (sem.clone(), tally.clone());
            std::thread::spawn(move || {
                tally.start();
                for _ in 0..share {
                    sem.acquire()?;
                    let ok = tally.enter();
                    std::thread::yield_now();
                    tally.leave();
                    sem.release()?;
                    if !ok {
                        return Err(too_many("std"));
                    }
                }
                tally.finish();
                Ok(share)
            })
        })
        .collect();
    // On failure the permits are still released, so that every contender ends.
    let ready = all_started("std", &tally.started, STD_CONTENDERS);
    let t = Instant::now();
    for _ in 0..PERMITS {
        sem.release()?;
    }
    let mut done = 0;
    for h in hs {
        done += h
            .join()
            .map_err(|_| task_err("std", "a thread panicked"))??;
    }
    let took = tally.took_since(t);
    ready?;
    check("std", done, n)?;
    Ok(BatchRun {
        took,
        note: String::new(),
    })
}
