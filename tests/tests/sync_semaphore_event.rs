//! grove-sync's Semaphore, BoundedSemaphore and Event: gevent's documented
//! behaviour, FIFO waiters, and no permit lost to timeouts or kills.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grove::{BoundedSemaphore, Builder, Event, Runtime, Semaphore};
use grove_tests::{debug_count, until};

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn event_wait_with_a_timeout_returns_false_while_unset() {
    let rt = rt2();
    let e = Arc::new(Event::new());
    let e2 = e.clone();
    let t = Instant::now();
    assert!(!rt.block_on(move || e2.wait_timeout(Duration::from_millis(10))));
    assert!(t.elapsed() >= Duration::from_millis(10));
    assert!(
        !e.wait_timeout(Duration::from_millis(1)),
        "from an OS thread too"
    );
}

#[test]
fn event_set_wakes_every_waiter_even_if_cleared_at_once() {
    let rt = rt2();
    let e = Arc::new(Event::new());
    let woke = Arc::new(AtomicUsize::new(0));
    let gs: Vec<_> = (0..50)
        .map(|_| {
            let (e, w) = (e.clone(), woke.clone());
            rt.spawn(move || {
                e.wait();
                w.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let os_waiter = {
        let (e, w) = (e.clone(), woke.clone());
        std::thread::spawn(move || {
            assert!(e.wait_timeout(Duration::from_secs(10)));
            w.fetch_add(1, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    e.set();
    e.clear();
    for g in gs {
        g.join().unwrap();
    }
    os_waiter.join().unwrap();
    assert_eq!(woke.load(Ordering::SeqCst), 51);
    assert!(!e.is_set());
}

#[test]
fn semaphore_waiters_are_served_in_fifo_order() {
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut gs = Vec::new();
    for i in 0..20 {
        let (s, o) = (sem.clone(), order.clone());
        gs.push(rt.spawn(move || {
            s.acquire();
            o.lock().unwrap().push(i);
            s.release();
        }));
        // Queue them in a known order.
        while sem_waiting(&sem) < i + 1 {
            std::thread::yield_now();
        }
    }
    sem.release();
    for g in gs {
        g.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}

fn sem_waiting(sem: &Semaphore) -> usize {
    // Debug shows the number waiting; good enough for a test to sequence on.
    let d = format!("{sem:?}");
    let n = d.split("waiting: ").nth(1).unwrap().trim_end_matches(" }");
    n.parse().unwrap()
}

#[test]
fn a_semaphore_of_two_never_admits_three() {
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(2));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let gs: Vec<_> = (0..200)
        .map(|_| {
            let (s, i, m) = (sem.clone(), inside.clone(), most.clone());
            rt.spawn(move || {
                let _p = s.acquire_guard();
                let n = i.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(n, Ordering::SeqCst);
                grove::yield_now();
                i.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    gs.into_iter().for_each(|g| g.join().unwrap());
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert_eq!(sem.available_permits(), 2);
}

/// The lost-permit race: many acquirers with short timeouts on both hubs and
/// on OS threads, against releasers. Afterwards every permit is accounted for.
#[test]
fn no_permit_is_lost_to_timeouts_from_green_and_os_threads() {
    let rt = rt2();
    const PERMITS: usize = 3;
    let sem = Arc::new(Semaphore::new(PERMITS));
    let mut gs = Vec::new();
    for i in 0..200 {
        let s = sem.clone();
        gs.push(
            Builder::new()
                .hub(i % 2)
                .spawn_on(rt.handle(), move || {
                    for k in 0..50 {
                        if s.acquire_timeout(Duration::from_micros(20 + (k % 7) * 30)) {
                            grove::yield_now();
                            s.release();
                        }
                    }
                })
                .unwrap(),
        );
    }
    let os: Vec<_> = (0..4)
        .map(|_| {
            let s = sem.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if s.acquire_timeout(Duration::from_micros(50)) {
                        s.release();
                    }
                }
            })
        })
        .collect();
    gs.into_iter().for_each(|g| g.join().unwrap());
    os.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(
        sem.available_permits(),
        PERMITS,
        "a permit was lost or invented"
    );
}

#[test]
fn a_killed_waiter_leaves_the_line_and_its_permit_passes_on() {
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(0));
    let s1 = sem.clone();
    let first = rt.spawn(move || s1.acquire());
    std::thread::sleep(Duration::from_millis(10));
    let s2 = sem.clone();
    let second = rt.spawn(move || {
        s2.acquire();
        "second got it"
    });
    std::thread::sleep(Duration::from_millis(10));
    first.kill();
    assert!(first.join().is_err());
    sem.release();
    assert_eq!(second.join().unwrap(), "second got it");
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn bounded_semaphore_refuses_a_release_above_its_initial_count() {
    let s = BoundedSemaphore::new(2);
    let e = s.release().unwrap_err();
    assert_eq!(e.max, 2);
    assert!(s.try_acquire());
    s.release().unwrap();
    assert!(s.release().is_err());
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn semaphore_wait_wakes_every_watcher_and_takes_no_permit() {
    // gevent's `Semaphore.wait`: blocks until a permit is free, leaving it.
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(0));
    let mut green = Vec::new();
    for _ in 0..5 {
        let s = sem.clone();
        green.push(rt.spawn(move || s.wait()));
    }
    let s = sem.clone();
    let os = std::thread::spawn(move || s.wait());
    until("six watchers", || debug_count(&*sem, "watching") == 6);
    assert!(green.iter().all(|g| !g.is_ready()));
    sem.release();
    green.into_iter().for_each(|g| g.join().unwrap());
    os.join().unwrap();
    assert_eq!(sem.available_permits(), 1, "a watcher took the permit");
    assert_eq!(debug_count(&*sem, "watching"), 0);
}

#[test]
fn semaphore_wait_never_takes_a_permit_from_an_acquirer_in_line() {
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let acquirer = rt.spawn(move || {
        s.acquire();
        "acquired"
    });
    until("the acquirer waits", || debug_count(&*sem, "waiting") == 1);
    let s = sem.clone();
    let watcher = rt.spawn(move || s.wait());
    until("the watcher waits", || debug_count(&*sem, "watching") == 1);
    sem.release();
    assert_eq!(acquirer.join().unwrap(), "acquired");
    // The permit went to the acquirer: nothing is free, the watcher waits on.
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(debug_count(&*sem, "watching"), 1);
    assert!(!watcher.is_ready());
    // A later acquirer stands in line ahead of nothing: the watcher does not
    // block it either.
    let s = sem.clone();
    let second = rt.spawn(move || s.acquire());
    until("the second acquirer waits", || {
        debug_count(&*sem, "waiting") == 1
    });
    sem.release();
    second.join().unwrap();
    assert!(!watcher.is_ready());
    sem.release();
    watcher.join().unwrap();
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_wait_timeout_and_a_killed_watcher_leave_the_line() {
    let rt = rt2();
    let sem = Arc::new(Semaphore::new(1));
    assert!(sem.wait_timeout(Duration::from_millis(1)), "free at once");
    assert!(sem.try_acquire());
    assert!(!sem.wait_timeout(Duration::from_millis(5)));
    assert_eq!(
        debug_count(&*sem, "watching"),
        0,
        "a timed-out watcher left"
    );
    let s = sem.clone();
    let killed = rt.spawn(move || s.wait());
    let s = sem.clone();
    let survivor = rt.spawn(move || s.wait_timeout(Duration::from_secs(30)));
    until("two watchers", || debug_count(&*sem, "watching") == 2);
    killed.kill();
    assert!(killed.join().is_err());
    assert_eq!(debug_count(&*sem, "watching"), 1);
    sem.release();
    assert!(survivor.join().unwrap());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn bounded_semaphore_wait_sees_a_release() {
    let rt = rt2();
    let sem = Arc::new(BoundedSemaphore::new(1));
    sem.acquire();
    assert!(!sem.wait_timeout(Duration::from_millis(2)));
    let s = sem.clone();
    let watcher = rt.spawn(move || s.wait());
    until("the watcher waits", || debug_count(&*sem, "watching") == 1);
    sem.release().unwrap();
    watcher.join().unwrap();
    assert_eq!(sem.available_permits(), 1);
}
