//! A started green thread keeps its OS thread: thread-locals, values derived
//! from them and `!Send` guards stay sound across blocking points, with
//! `grove::spawn`'s defaults. And what may still move: green threads that
//! have not started, and those that opt into migration.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Builder, Runtime};

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

/// Keeps both hubs busy with short-lived green threads that yield, so that
/// an idle hub would have every reason to steal or move work.
fn churn(rt: &Runtime, stop: Arc<AtomicBool>) -> Vec<grove::Greenlet<()>> {
    (0..4)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let gs: Vec<_> = (0..8).map(|_| grove::spawn(grove::yield_now)).collect();
                    gs.into_iter().for_each(|g| g.join().unwrap());
                    grove::yield_now();
                }
            })
        })
        .collect()
}

thread_local! {
    static COUNTER: Cell<u64> = const { Cell::new(0) };
    static SLOT: Cell<u8> = const { Cell::new(0) };
}

/// Two green threads each increment `COUNTER` through one reference held
/// across thousands of blocking points. Each sees one OS thread throughout,
/// and no increment is lost: no reference is ever used from two OS threads.
#[test]
fn a_thread_local_reference_held_across_parks_stays_on_one_os_thread() {
    const N: u64 = 200_000;
    let rt = rt(2);
    let counters: Vec<_> = (0..2)
        .map(|_| {
            rt.spawn(|| {
                let me = std::thread::current().id();
                COUNTER.with(|c| {
                    for i in 0..N {
                        c.set(c.get() + 1);
                        if i % 100 == 0 {
                            grove::yield_now();
                        }
                        if i % 5_000 == 0 {
                            grove::sleep(Duration::from_micros(50));
                        }
                        assert_eq!(std::thread::current().id(), me, "moved at {i}");
                    }
                });
                grove::hub_index().unwrap()
            })
        })
        .collect();
    let hubs: Vec<usize> = counters.into_iter().map(|g| g.join().unwrap()).collect();
    // Every increment landed in the slot of the hub its green thread ran on.
    let total: u64 = (0..2)
        .map(|h| {
            Builder::new()
                .hub(h)
                .spawn_on(rt.handle(), || COUNTER.with(Cell::get))
                .unwrap()
                .join()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 2 * N, "green threads ran on hubs {hubs:?}");
}

#[inline(never)]
fn slot_address_now() -> usize {
    SLOT.with(|s| s as *const Cell<u8> as usize)
}

/// One function reads a thread-local's address, yields until a moving green
/// thread would have moved, and reads it again: both name the slot of the
/// OS thread it runs on at the end (read afresh by another function).
#[test]
fn addresses_read_before_and_after_yield_in_one_function_name_the_running_threads_slot() {
    let rt = rt(2);
    let stop = Arc::new(AtomicBool::new(false));
    let load = churn(&rt, stop.clone());
    let probes: Vec<_> = (0..32)
        .map(|_| {
            rt.spawn(|| {
                let before = SLOT.with(|s| s as *const Cell<u8> as usize);
                let thread_before = std::thread::current().id();
                for _ in 0..2_000 {
                    grove::yield_now();
                }
                let after = SLOT.with(|s| s as *const Cell<u8> as usize);
                (
                    before == after,
                    after == slot_address_now(),
                    thread_before == std::thread::current().id(),
                )
            })
        })
        .collect();
    for p in probes {
        assert_eq!(p.join().unwrap(), (true, true, true));
    }
    stop.store(true, Ordering::Relaxed);
    load.into_iter().for_each(|g| g.join().unwrap());
}

/// `stdout().lock()` held across a park: a green thread on another hub (an
/// OS thread of its own) stays out until it is released. (A green thread
/// of the *same* hub would get in: std's lock is re-entrant per OS thread;
/// see the crate docs.)
#[test]
fn stdout_lock_held_across_a_park_keeps_green_threads_of_other_hubs_out() {
    let rt = rt(2);
    let inside = Arc::new(AtomicBool::new(false));
    let holder = {
        let inside = inside.clone();
        Builder::new()
            .hub(0)
            .spawn_on(rt.handle(), move || {
                let lock = std::io::stdout().lock();
                inside.store(true, Ordering::SeqCst);
                for _ in 0..5 {
                    grove::sleep(Duration::from_millis(10));
                    grove::yield_now();
                }
                inside.store(false, Ordering::SeqCst);
                drop(lock);
                grove::hub_index()
            })
            .unwrap()
    };
    grove_tests::until("the holder has the lock", || inside.load(Ordering::SeqCst));
    let other = {
        let inside = inside.clone();
        Builder::new()
            .hub(1)
            .spawn_on(rt.handle(), move || {
                let _lock = std::io::stdout().lock();
                inside.load(Ordering::SeqCst)
            })
            .unwrap()
    };
    assert!(!other.join().unwrap(), "got in while the holder was inside");
    assert_eq!(holder.join().unwrap(), Some(0));
}

/// Green threads spawned with the defaults start wherever a hub is free,
/// then never change hub, whatever wakes them (a green thread on the other
/// hub, an OS thread, a timer).
#[test]
fn started_green_threads_never_change_hub_whoever_wakes_them() {
    let rt = rt(2);
    let gs: Vec<_> = (0..16)
        .map(|i| {
            rt.spawn(move || {
                let first = grove::hub_index();
                let mut same = true;
                for k in 0..50 {
                    match (i + k) % 3 {
                        0 => grove::sleep(Duration::from_micros(100)),
                        1 => {
                            let me = grove::current();
                            let waker = grove::spawn(move || me.unpark());
                            grove::park();
                            waker.join().unwrap();
                        }
                        _ => {
                            let me = grove::current();
                            let t = std::thread::spawn(move || me.unpark());
                            grove::park();
                            t.join().unwrap();
                        }
                    }
                    same &= grove::hub_index() == first;
                }
                same
            })
        })
        .collect();
    for g in gs {
        assert!(g.join().unwrap());
    }
}

/// A green thread that has not started is never held where only one hub
/// looks: spawned or woken by a green thread that then computes without
/// blocking, it is run by the idle hub.
#[test]
fn unstarted_green_threads_run_on_the_idle_hub_while_their_spawner_computes() {
    let rt = rt(2);
    let g = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), || {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let child = grove::spawn(move || {
                r.store(true, Ordering::SeqCst);
                grove::hub_index()
            });
            let later = grove::spawn_later(Duration::from_millis(5), grove::hub_index);
            // Compute, never blocking, until both have run (or 10 s).
            let t = Instant::now();
            while !(child.is_ready() && later.is_ready()) && t.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
            (child.join().unwrap(), later.join().unwrap())
        })
        .unwrap();
    assert_eq!(g.join().unwrap(), (Some(1), Some(1)));
}

/// A green thread woken by a waker that keeps computing is run by its own
/// hub at once when that hub is idle.
#[test]
fn a_green_thread_woken_by_a_busy_waker_runs_on_its_own_idle_hub() {
    let rt = rt(2);
    let sleeper = Builder::new()
        .hub(1)
        .spawn_on(rt.handle(), grove::park)
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let t = sleeper.thread();
    // The waker wakes it, then computes without blocking.
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let waker = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            t.unpark();
            let start = Instant::now();
            while !d.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
            d.load(Ordering::SeqCst)
        })
        .unwrap();
    sleeper.join().unwrap();
    done.store(true, Ordering::SeqCst);
    assert!(waker.join().unwrap(), "the woken one waited for its waker");
}

/// With the `unsafe` opt-in, started green threads are stolen again: long
/// computations that all started on one hub end up on both.
#[test]
fn migrating_green_threads_started_on_one_hub_spread_over_both() {
    let rt = rt(2);
    let hold = Arc::new(AtomicBool::new(true));
    let started = Arc::new(AtomicUsize::new(0));
    let g = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), {
            let (hold, started) = (hold.clone(), started.clone());
            move || {
                let gs: Vec<_> = (0..8)
                    .map(|_| {
                        let (hold, started) = (hold.clone(), started.clone());
                        // SAFETY: the closure holds no thread-local state,
                        // reference or guard across its blocking points.
                        unsafe { Builder::new().allow_migration() }
                            .spawn(move || {
                                started.fetch_add(1, Ordering::SeqCst);
                                let mut hubs = vec![grove::hub_index().unwrap()];
                                while hold.load(Ordering::SeqCst) {
                                    grove::sleep(Duration::from_millis(1));
                                }
                                for _ in 0..200 {
                                    let t = Instant::now();
                                    while t.elapsed() < Duration::from_micros(100) {
                                        std::hint::spin_loop();
                                    }
                                    grove::yield_now();
                                    hubs.push(grove::hub_index().unwrap());
                                }
                                hubs
                            })
                            .unwrap()
                    })
                    .collect();
                gs
            }
        })
        .unwrap();
    let gs = g.join().unwrap();
    grove_tests::until("all started", || started.load(Ordering::SeqCst) == 8);
    hold.store(false, Ordering::SeqCst);
    let hubs: Vec<usize> = gs.into_iter().flat_map(|g| g.join().unwrap()).collect();
    assert!(
        hubs.contains(&0) && hubs.contains(&1),
        "never moved: {hubs:?}"
    );
}

/// A runtime that allows migration still keeps `pinned` green threads in
/// place.
#[test]
fn pinned_green_threads_stay_put_on_a_migrating_runtime() {
    // SAFETY: every green thread spawned here holds no thread-local state,
    // reference or guard across a blocking point.
    let rt = unsafe { Runtime::builder().allow_migration() }
        .workers(2)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let load = churn(&rt, stop.clone());
    let g = Builder::new()
        .pinned()
        .spawn_on(rt.handle(), || {
            let first = grove::hub_index();
            (0..2_000).all(|_| {
                grove::yield_now();
                grove::hub_index() == first
            })
        })
        .unwrap();
    assert!(g.join().unwrap());
    stop.store(true, Ordering::Relaxed);
    load.into_iter().for_each(|g| g.join().unwrap());
}

/// A migrating green thread's sleep is on the runtime's shared timers: it
/// ends on time on the idle hub while the hub it slept on computes.
#[test]
fn a_migrating_sleeper_wakes_on_the_idle_hub_while_its_hub_computes() {
    let rt = rt(2);
    let (tx, rx) = std::sync::mpsc::channel();
    // SAFETY: the closure holds no thread-local state, reference or guard
    // across its sleep (only a channel sender).
    let sleeper = unsafe { Builder::new().allow_migration() }
        .spawn_on(rt.handle(), move || {
            tx.send(grove::hub_index().unwrap()).unwrap();
            grove::sleep(Duration::from_millis(100));
            grove::hub_index().unwrap()
        })
        .unwrap();
    let slept_on = rx.recv().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let hog = grove_tests::hog(&rt, slept_on, done.clone());
    let woke_on = sleeper.join().unwrap();
    done.store(true, Ordering::SeqCst);
    assert!(hog.join().unwrap(), "the sleep waited for the busy hub");
    assert_ne!(woke_on, slept_on);
}
