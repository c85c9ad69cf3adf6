//! Cleanup may block like any other code: destructors that wait during a
//! panic or a kill park their green thread, and its hub goes on running
//! others, firing timers, and shutting down.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Builder, Greenlet, Runtime};

const BOUND: Duration = Duration::from_secs(10);

fn rt(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

/// Kills its child and waits for it when dropped (gevent code's
/// `try: ... finally: child.kill()`).
struct KillOnDrop(Option<Greenlet<()>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            child.kill();
        }
    }
}

fn forever() {
    loop {
        grove::sleep(Duration::from_secs(3600));
    }
}

/// The parent holds a kill-on-drop guard over a child and then panics or
/// is killed: its unwinding kills the child and waits for it.
fn kill_on_drop_case(workers: usize, pinned: bool, killed: bool) {
    let rt = rt(workers);
    let child_done = Arc::new(AtomicBool::new(false));
    let cd = child_done.clone();
    let guarded = Arc::new(AtomicBool::new(false));
    let gd = guarded.clone();
    let mut b = Builder::new();
    if pinned {
        b = b.hub(workers - 1);
    }
    let parent = b
        .spawn_on(rt.handle(), move || {
            let mut child_builder = Builder::new();
            if pinned {
                child_builder = child_builder.pinned();
            }
            let child = child_builder
                .spawn(move || {
                    struct Flag(Arc<AtomicBool>);
                    impl Drop for Flag {
                        fn drop(&mut self) {
                            self.0.store(true, Ordering::SeqCst);
                        }
                    }
                    let _f = Flag(cd);
                    forever()
                })
                .unwrap();
            let _guard = KillOnDrop(Some(child));
            gd.store(true, Ordering::SeqCst);
            grove::yield_now();
            if killed {
                forever()
            }
            panic!("the parent fails");
        })
        .unwrap();
    if killed {
        grove_tests::until("the guard is set", || guarded.load(Ordering::SeqCst));
        assert!(parent.kill_timeout(BOUND), "kill on {workers} hubs");
    }
    assert!(
        parent.wait_timeout(BOUND),
        "deadlocked: {workers} hubs, pinned {pinned}, killed {killed}"
    );
    assert!(child_done.load(Ordering::SeqCst));
    match parent.join() {
        Err(grove::Error::Killed) => assert!(killed),
        Err(grove::Error::Panicked(_)) => assert!(!killed),
        other => panic!("{other:?}"),
    }
    assert!(rt.shutdown_timeout(BOUND));
}

#[test]
fn a_kill_on_drop_guard_ends_on_1_2_and_4_hubs_pinned_or_not() {
    for workers in [1, 2, 4] {
        for pinned in [false, true] {
            for killed in [false, true] {
                kill_on_drop_case(workers, pinned, killed);
            }
        }
    }
}

/// Joins a helper green thread when dropped.
struct JoinOnDrop(Option<Greenlet<()>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.join().unwrap();
        }
    }
}

#[test]
fn a_destructor_waiting_for_a_helpers_sleep_ends() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let g = rt.spawn(|| {
            let helper = grove::spawn(|| grove::sleep(Duration::from_millis(20)));
            let _wait = JoinOnDrop(Some(helper));
            panic!("fails while the helper sleeps");
        });
        assert!(g.wait_timeout(BOUND), "on {workers} hubs");
        assert!(g.join().is_err());
    }
}

/// Sleeps when dropped.
struct SlowDrop(Duration, Arc<AtomicUsize>);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        grove::sleep(self.0);
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_while_destructors_wait_ends_pinned_or_not() {
    for workers in [1, 4] {
        let rt = rt(workers);
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut gs = Vec::new();
        for i in 0..8 {
            let d = dropped.clone();
            let b = if i % 2 == 0 {
                Builder::new().hub(i % workers)
            } else {
                Builder::new()
            };
            gs.push(
                b.spawn_on(rt.handle(), move || {
                    // A helper on the same hub, which shutdown kills too: the
                    // destructor waits for it, then sleeps.
                    let helper = Builder::new().pinned().spawn(forever).unwrap();
                    let _slow = SlowDrop(Duration::from_millis(30), d);
                    let _join = WaitOnDrop(Some(helper));
                    forever()
                })
                .unwrap(),
            );
        }
        grove_tests::until("all started", || rt.handle().stacks_in_use() == 16);
        assert!(
            rt.shutdown_timeout(BOUND),
            "shutdown hung on {workers} hubs"
        );
        assert_eq!(dropped.load(Ordering::SeqCst), 8);
        for g in gs {
            assert!(matches!(g.join(), Err(grove::Error::Killed)));
        }
    }
}

/// Waits for a green thread (whatever its outcome) when dropped.
struct WaitOnDrop(Option<Greenlet<()>>);

impl Drop for WaitOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.wait();
        }
    }
}

/// Sixteen tickers keep their 10 ms period while another green thread's
/// cleanup sleeps for a second: its hub goes on running them.
#[test]
fn tickers_keep_their_period_while_another_green_threads_cleanup_sleeps() {
    let rt = rt(2);
    let stop = Arc::new(AtomicBool::new(false));
    let tickers: Vec<_> = (0..16)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn(move || {
                let mut worst = Duration::ZERO;
                let mut last = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    grove::sleep(Duration::from_millis(10));
                    worst = worst.max(last.elapsed());
                    last = Instant::now();
                }
                worst
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let failing = rt.spawn(move || {
        let _slow = SlowDrop(Duration::from_secs(1), d);
        panic!("fails, then cleans up slowly");
    });
    assert!(failing.wait_timeout(BOUND));
    stop.store(true, Ordering::SeqCst);
    for t in tickers {
        let worst = t.join().unwrap();
        // The cleanup sleeps 1 s; a ticker stalled by it would see >= 1 s.
        assert!(
            worst < Duration::from_millis(500),
            "a ticker stalled {worst:?}"
        );
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// What the other green threads of a hub see while one of its green threads
/// is parked mid-unwind: std's per-OS-thread `panicking()` is true there
/// (and false on the other hub), and false again once the cleanup ends. A
/// kill sent to one of them meanwhile is delivered once the cleanup ends.
#[test]
fn while_a_cleanup_is_parked_its_hub_reads_panicking_and_kills_wait_for_its_end() {
    let rt = rt(2);
    let release = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    struct WaitFor(Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicBool>);
    impl Drop for WaitFor {
        fn drop(&mut self) {
            self.2.store(true, Ordering::SeqCst);
            while !self.0.load(Ordering::SeqCst) {
                grove::sleep(Duration::from_millis(1));
            }
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    let in_cleanup = Arc::new(AtomicBool::new(false));
    let cleaning = {
        let (r, d, c) = (release.clone(), dropped.clone(), in_cleanup.clone());
        Builder::new()
            .hub(0)
            .spawn_on(rt.handle(), move || {
                let _w = WaitFor(r, d, c);
                panic!("unwinds into a waiting destructor");
            })
            .unwrap()
    };
    grove_tests::until("the cleanup waits", || in_cleanup.load(Ordering::SeqCst));
    let look = |hub| {
        Builder::new()
            .hub(hub)
            .spawn_on(rt.handle(), std::thread::panicking)
            .unwrap()
            .join()
            .unwrap()
    };
    assert!(
        look(0),
        "a green thread of the cleaning hub sees panicking()"
    );
    assert!(!look(1), "the other hub does not");
    // A green thread of hub 0 that parks now, and is killed while parked.
    let parked = Arc::new(AtomicBool::new(false));
    let p = parked.clone();
    let victim = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            p.store(true, Ordering::SeqCst);
            forever()
        })
        .unwrap();
    grove_tests::until("the victim runs", || parked.load(Ordering::SeqCst));
    // One that parks once: the hub's early end of its shielded park must
    // deliver the kill, not return from `park` as if unparked.
    let parked_once = Arc::new(AtomicBool::new(false));
    let p1 = parked_once.clone();
    let once = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            p1.store(true, Ordering::SeqCst);
            grove::park();
        })
        .unwrap();
    grove_tests::until("the second victim runs", || {
        parked_once.load(Ordering::SeqCst)
    });
    std::thread::sleep(Duration::from_millis(5));
    once.to_ref().kill_nowait();
    victim.to_ref().kill_nowait();
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        !victim.is_ready(),
        "no kill inside another's cleanup window"
    );
    release.store(true, Ordering::SeqCst);
    assert!(cleaning.wait_timeout(BOUND));
    assert!(
        victim.wait_timeout(BOUND),
        "the kill arrives after the cleanup"
    );
    assert!(matches!(victim.join(), Err(grove::Error::Killed)));
    assert!(once.wait_timeout(BOUND));
    assert!(
        matches!(once.join(), Err(grove::Error::Killed)),
        "a kill sent during another's cleanup was lost"
    );
    assert!(
        !look(0),
        "panicking() is false again once the cleanup is done"
    );
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// A kill that arrives while a green thread waits in its own cleanup does
/// not interrupt the destructor (that would abort the process); it is
/// recorded, and the cleanup runs to its end.
#[test]
fn a_kill_during_a_waiting_destructor_lets_it_finish() {
    let rt = rt(2);
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let g = rt.spawn(move || {
        let _slow = SlowDrop(Duration::from_millis(50), d);
        panic!("fails");
    });
    // Once it is inside its destructor's sleep (it shows as parked).
    grove_tests::until("in the destructor", || {
        rt.metrics().iter().map(|h| h.parked).sum::<u64>() > 0
    });
    assert!(g.kill_timeout(BOUND));
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(matches!(g.join(), Err(grove::Error::Panicked(_))));
}
