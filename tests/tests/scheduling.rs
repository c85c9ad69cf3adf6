//! Work stealing, pinning and the per-hub counters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Builder, Runtime};

/// About `micros` of pure CPU work, not optimised away.
fn burn(micros: u64) -> u64 {
    let t = Instant::now();
    let mut x = 1u64;
    while t.elapsed() < Duration::from_micros(micros) {
        for _ in 0..100 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

#[test]
fn green_threads_spawned_on_one_hub_are_stolen_by_the_other() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let ran_on = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), || {
            let gs: Vec<_> = (0..2_000)
                .map(|_| {
                    grove::spawn(|| {
                        burn(20);
                        grove::hub_index().unwrap()
                    })
                })
                .collect();
            gs.into_iter()
                .map(|g| g.join().unwrap())
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .unwrap();
    let on_hub1 = ran_on.iter().filter(|&&h| h == 1).count();
    let m = rt.metrics();
    assert!(on_hub1 > 0, "no green thread ran on hub 1");
    assert!(m[1].stolen > 0, "hub 1 stole nothing: {m:?}");
    assert!(m[1].started > 0, "hub 1 started nothing: {m:?}");
    assert_eq!(m.iter().map(|h| h.started).sum::<u64>(), 2_001);
}

#[test]
fn pinned_green_threads_never_leave_their_hub() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    for hub in 0..2 {
        let g = Builder::new()
            .hub(hub)
            .spawn_on(rt.handle(), move || {
                let mut seen = Vec::new();
                for i in 0..200 {
                    seen.push(grove::hub_index().unwrap());
                    match i % 3 {
                        0 => grove::yield_now(),
                        1 => grove::sleep(Duration::from_micros(100)),
                        _ => {
                            let me = grove::current();
                            // Woken from another hub's green thread and an OS thread.
                            let waker = Builder::new()
                                .hub(1 - hub)
                                .spawn(move || me.unpark())
                                .unwrap();
                            grove::park();
                            waker.join().unwrap();
                        }
                    }
                }
                seen
            })
            .unwrap();
        let seen = g.join().unwrap();
        assert!(
            seen.iter().all(|&h| h == hub),
            "pinned to {hub}, saw {seen:?}"
        );
    }
    // pinned() pins to the hub it starts on.
    let g = Builder::new()
        .pinned()
        .spawn_on(rt.handle(), || {
            let first = grove::hub_index();
            (0..100).all(|_| {
                grove::yield_now();
                grove::hub_index() == first
            })
        })
        .unwrap();
    assert!(g.join().unwrap());
}

#[test]
fn a_busy_hub_does_not_stop_the_other_from_running_work() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    // Hub 0 is taken by a green thread that never blocks.
    let hog = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            while !s2.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let gs: Vec<_> = (0..1000).map(|i| rt.spawn(move || i)).collect();
    for (i, g) in gs.into_iter().enumerate() {
        assert_eq!(g.join().unwrap(), i);
    }
    stop.store(true, Ordering::Relaxed);
    hog.join().unwrap();
}

#[test]
fn counters_add_up() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(|| {
        let gs: Vec<_> = (0..100)
            .map(|_| grove::spawn(|| grove::sleep(Duration::from_millis(1))))
            .collect();
        gs.into_iter().for_each(|g| g.join().unwrap());
    });
    let m = rt.metrics();
    let started: u64 = m.iter().map(|h| h.started).sum();
    let parked: u64 = m.iter().map(|h| h.parked).sum();
    let run: u64 = m.iter().map(|h| h.run).sum();
    assert_eq!(started, 101);
    assert!(parked >= 100, "each sleeper parks at least once: {m:?}");
    assert!(run >= started + parked - 1, "{m:?}");
    assert_eq!(m[0].index, 0);
    assert_eq!(m[1].index, 1);
}

/// Steady traffic into a hub's inbox (bound green threads woken from OS
/// threads in tight loops) does not starve its injector: a green thread
/// spawned from outside still runs.
#[test]
fn inbox_traffic_does_not_starve_the_injector() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut wakers = Vec::new();
    let mut parkers = Vec::new();
    for _ in 0..4 {
        let s = stop.clone();
        let g = rt.spawn(move || {
            while !s.load(Ordering::Relaxed) {
                grove::park();
            }
        });
        let t = g.thread();
        let s = stop.clone();
        wakers.push(std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                t.unpark();
                std::hint::spin_loop();
            }
            t.unpark();
        }));
        parkers.push(g);
    }
    std::thread::sleep(Duration::from_millis(20));
    let outsider = rt.spawn(|| 42);
    let served = outsider.wait_timeout(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    wakers.into_iter().for_each(|w| w.join().unwrap());
    parkers.into_iter().for_each(|g| g.join().unwrap());
    assert!(served, "the injector was starved");
    assert_eq!(outsider.join().unwrap(), 42);
}
