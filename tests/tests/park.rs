//! Park/unpark across green threads, hubs and plain OS threads; timers; yield.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use grove::{Builder, Runtime};

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn os_thread_unparks_a_parked_green_thread() {
    let rt = rt2();
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    let g = rt.spawn(move || {
        while !f2.load(Ordering::Acquire) {
            grove::park();
        }
        "woken"
    });
    let t = g.thread();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        flag.store(true, Ordering::Release);
        t.unpark();
    })
    .join()
    .unwrap();
    assert_eq!(g.join().unwrap(), "woken");
}

#[test]
fn green_thread_unparks_a_parked_os_thread() {
    let rt = rt2();
    let me = grove::current();
    assert!(!me.is_green());
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    rt.spawn(move || {
        grove::sleep(Duration::from_millis(5));
        d2.store(true, Ordering::Release);
        me.unpark();
    });
    let t = Instant::now();
    while !done.load(Ordering::Acquire) {
        grove::park();
        assert!(t.elapsed() < Duration::from_secs(10), "never woken");
    }
}

#[test]
fn an_unpark_before_the_park_is_not_lost() {
    let rt = rt2();
    // OS thread.
    grove::current().unpark();
    assert!(!grove::park_timeout(Duration::from_secs(10)).timed_out());
    // Green thread, unparked by an OS thread before it parks.
    let (tx, rx) = mpsc::channel();
    let g = rt.spawn(move || {
        rx.recv().unwrap(); // blocks the hub briefly; fine for a test
        grove::park_timeout(Duration::from_secs(10)).timed_out()
    });
    g.thread().unpark();
    tx.send(()).unwrap();
    assert!(!g.join().unwrap(), "the early token was lost");
}

#[test]
fn park_timeout_reports_timing_out() {
    let rt = rt2();
    let g = rt.spawn(|| {
        let t = Instant::now();
        let r = grove::park_timeout(Duration::from_millis(10));
        (r.timed_out(), t.elapsed())
    });
    let (timed_out, elapsed) = g.join().unwrap();
    assert!(timed_out);
    assert!(elapsed >= Duration::from_millis(10));
    let t = Instant::now();
    assert!(grove::park_timeout(Duration::from_millis(5)).timed_out());
    assert!(t.elapsed() >= Duration::from_millis(5));
}

#[test]
fn ping_pong_across_hubs_with_park_and_unpark() {
    let rt = rt2();
    const ROUNDS: usize = 2_000;
    let turn = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<grove::Thread>();
    let t1 = turn.clone();
    let ponger = Builder::new()
        .hub(1)
        .spawn_on(rt.handle(), move || {
            let pinger = rx.recv().unwrap();
            for i in 0..ROUNDS {
                while t1.load(Ordering::Acquire) != 2 * i + 1 {
                    grove::park();
                }
                t1.store(2 * i + 2, Ordering::Release);
                pinger.unpark();
            }
        })
        .unwrap();
    let pong = ponger.thread();
    let t0 = turn.clone();
    let pinger = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            tx.send(grove::current()).unwrap();
            for i in 0..ROUNDS {
                t0.store(2 * i + 1, Ordering::Release);
                pong.unpark();
                while t0.load(Ordering::Acquire) != 2 * i + 2 {
                    grove::park();
                }
            }
            grove::hub_index()
        })
        .unwrap();
    assert_eq!(pinger.join().unwrap(), Some(0));
    ponger.join().unwrap();
    assert_eq!(turn.load(Ordering::SeqCst), 2 * ROUNDS);
}

#[test]
fn a_ten_millisecond_sleep_never_wakes_early() {
    let rt = rt2();
    let gs: Vec<_> = (0..200)
        .map(|_| {
            rt.spawn(|| {
                let t = Instant::now();
                grove::sleep(Duration::from_millis(10));
                t.elapsed()
            })
        })
        .collect();
    for g in gs {
        let slept = g.join().unwrap();
        assert!(slept >= Duration::from_millis(10), "woke after {slept:?}");
    }
}

#[test]
fn unpark_does_not_end_a_sleep_but_keeps_its_token() {
    let rt = rt2();
    let g = rt.spawn(|| {
        let me = grove::current();
        // Unparks in the middle of the sleep. (Joined only at the end: a
        // join parks, and that park could take the token.)
        let waker = grove::spawn(move || {
            grove::sleep(Duration::from_millis(5));
            me.unpark();
        });
        let t = Instant::now();
        grove::sleep(Duration::from_millis(20));
        let slept = t.elapsed();
        let token_kept = !grove::park_timeout(Duration::from_secs(5)).timed_out();
        waker.join().unwrap();
        (slept, token_kept)
    });
    let (slept, token_kept) = g.join().unwrap();
    assert!(slept >= Duration::from_millis(20));
    assert!(token_kept);
}

#[test]
fn two_green_threads_that_yield_alternate() {
    let rt = rt2();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Both are on hub 1 before either logs: 'a' yields until 'b' is spawned
    // (however slow the build, a sanitizer's included).
    let both = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spawn = |tag: char| {
        let log = log.clone();
        let both = both.clone();
        Builder::new()
            .hub(1)
            .spawn_on(rt.handle(), move || {
                while !both.load(std::sync::atomic::Ordering::SeqCst) {
                    grove::yield_now();
                }
                for _ in 0..5 {
                    log.lock().unwrap().push(tag);
                    grove::yield_now();
                }
            })
            .unwrap()
    };
    let a = spawn('a');
    let b = spawn('b');
    both.store(true, std::sync::atomic::Ordering::SeqCst);
    a.join().unwrap();
    b.join().unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 10);
    for w in log.windows(2) {
        assert_ne!(w[0], w[1], "yields did not alternate: {log:?}");
    }
}

#[test]
fn sleep_zero_yields_and_os_thread_sleep_works() {
    let rt = rt2();
    assert_eq!(
        rt.block_on(|| {
            grove::sleep(Duration::ZERO);
            3
        }),
        3
    );
    let t = Instant::now();
    grove::sleep(Duration::from_millis(5));
    assert!(t.elapsed() >= Duration::from_millis(5));
}
