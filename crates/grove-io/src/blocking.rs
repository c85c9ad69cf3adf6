//! [`blocking`]: run a call that really blocks (a file system call, DNS, a
//! C library) on a pool of OS threads while the green thread waits parked
//! (gevent's threadpool).
//!
//! # The pool
//!
//! Jobs wait in one FIFO queue under a mutex; idle pool threads wait on a
//! condvar. Submitting a job starts a new thread when fewer threads are idle
//! than jobs are queued (an idle thread woken for one job has not taken it
//! yet) and fewer than [`MAX_THREADS`] exist; a thread idle for [`IDLE_TIMEOUT`]
//! exits (if no thread can be started and none runs, the submitter runs the
//! queued jobs itself). The green thread and its job share a slot: the job stores its
//! outcome (its value, or its panic) and unparks the green thread, whose
//! park keeps the token, so a job that finishes before the park is not
//! missed.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Duration;

/// The most OS threads the pool runs at once.
///
/// ```
/// assert_eq!(grove::MAX_THREADS, 64);
/// ```
pub const MAX_THREADS: usize = 64;

/// How long an idle pool thread waits for a job before it exits.
///
/// ```
/// assert_eq!(grove::IDLE_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    jobs_ready: Condvar,
}

struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Jobs run outside the lock: a poisoned lock still guards sound state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            jobs: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        jobs_ready: Condvar::new(),
    })
}

impl Pool {
    fn submit(&'static self, job: Job) {
        // Until the job has run, its green thread waits for an OS thread
        // grove's deadlock detection cannot see: declare it.
        let outside = grove_core::OutsideWork::begin();
        let job: Job = Box::new(move || {
            let _outside = outside;
            job();
        });
        let mut s = lock(&self.state);
        s.jobs.push_back(job);
        // An idle thread counts as idle until it wakes and takes a job, so
        // compare the idle threads with every job still queued, not just
        // with this one: two jobs arriving together must not both count on
        // the same idle thread.
        if s.idle >= s.jobs.len() {
            drop(s);
            self.jobs_ready.notify_one();
            return;
        }
        if s.threads < MAX_THREADS {
            s.threads += 1;
            drop(s);
            let started = thread::Builder::new()
                .name("grove-blocking".into())
                .spawn(move || self.work());
            if started.is_err() {
                let mut s = lock(&self.state);
                s.threads -= 1;
                if s.threads == 0 {
                    // No pool thread at all: rather than leave the jobs
                    // waiting forever, run them here (blocking this thread).
                    let jobs: Vec<Job> = s.jobs.drain(..).collect();
                    drop(s);
                    jobs.into_iter().for_each(|job| job());
                }
                // Otherwise the job waits for a running thread.
            }
        }
    }

    fn work(&'static self) {
        let mut s = lock(&self.state);
        loop {
            if let Some(job) = s.jobs.pop_front() {
                drop(s);
                job();
                s = lock(&self.state);
                continue;
            }
            s.idle += 1;
            let (guard, waited) = self
                .jobs_ready
                .wait_timeout(s, IDLE_TIMEOUT)
                .unwrap_or_else(|p| p.into_inner());
            s = guard;
            s.idle -= 1;
            if waited.timed_out() && s.jobs.is_empty() {
                s.threads -= 1;
                return;
            }
        }
    }
}

/// Runs `f` on the pool of OS threads and returns its value; the calling
/// green thread stays parked meanwhile, so its hub runs others. A panic in
/// `f` resumes in the caller, as if `f` had been called directly. Called
/// from a plain OS thread, it just calls `f`.
///
/// A green thread killed while it waits unwinds at once; `f` still runs to
/// its end on the pool, and its value is dropped.
///
/// # Example
///
/// ```
/// let len = grove::spawn(|| {
///     grove::blocking(|| std::fs::read("Cargo.toml").map(|b| b.len()))
/// })
/// .join()
/// .unwrap()
/// .unwrap();
/// assert!(len > 0);
/// ```
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let me = grove_core::wait::waker();
    if !me.is_green() {
        return f();
    }
    let slot: Arc<Mutex<Option<thread::Result<T>>>> = Arc::new(Mutex::new(None));
    let done = slot.clone();
    pool().submit(Box::new(move || {
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        *lock(&done) = Some(outcome);
        me.unpark();
    }));
    loop {
        if let Some(outcome) = lock(&slot).take() {
            return match outcome {
                Ok(v) => v,
                Err(payload) => panic::resume_unwind(payload),
            };
        }
        grove_core::park_with("a blocking-pool job");
    }
}
