//! grove-sync's Lock, RLock and AsyncResult: gevent's documented behaviour,
//! ownership errors, FIFO waiters, and hand-off past killed waiters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{AsyncResult, Builder, Lock, LockError, RLock, Runtime};
use grove_tests::{debug_count, until};

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn a_lock_admits_one_at_a_time_from_both_hubs_and_os_threads() {
    let rt = rt2();
    let lock = Arc::new(Lock::new());
    let inside = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    let body = {
        let (lock, inside, entries) = (lock.clone(), inside.clone(), entries.clone());
        move || {
            for _ in 0..20 {
                let _g = lock.acquire_guard().unwrap();
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two inside");
                grove::yield_now();
                inside.fetch_sub(1, Ordering::SeqCst);
                entries.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let gs: Vec<_> = (0..40)
        .map(|i| {
            let b = body.clone();
            Builder::new().hub(i % 2).spawn_on(rt.handle(), b).unwrap()
        })
        .collect();
    let os: Vec<_> = (0..3).map(|_| std::thread::spawn(body.clone())).collect();
    gs.into_iter().for_each(|g| g.join().unwrap());
    os.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(entries.load(Ordering::SeqCst), 43 * 20);
    assert!(!lock.is_locked());
}

#[test]
fn ownership_errors_are_reported_not_panicked() {
    let rt = rt2();
    let lock = Arc::new(Lock::new());
    assert_eq!(lock.release(), Err(LockError::NotLocked));
    lock.acquire().unwrap();
    assert_eq!(lock.acquire(), Err(LockError::WouldDeadlock));
    assert!(!lock.acquire_timeout(Duration::from_millis(1)));
    let l = lock.clone();
    assert_eq!(
        rt.block_on(move || l.release()),
        Err(LockError::NotOwner),
        "a green thread may not release an OS thread's lock"
    );
    lock.release().unwrap();
    assert_eq!(
        LockError::NotOwner.to_string(),
        "released a lock held by another thread"
    );
}

#[test]
fn an_rlock_reenters_and_others_wait_for_the_last_release() {
    let rt = rt2();
    let lock = Arc::new(RLock::new());
    lock.acquire();
    lock.acquire();
    let l = lock.clone();
    let other = rt.spawn(move || {
        l.acquire();
        let owned = l.is_owned();
        l.release().unwrap();
        owned
    });
    until("the other waits", || debug_count(&*lock, "waiting") == 1);
    lock.release().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(!other.is_ready(), "one release of two must not let it in");
    lock.release().unwrap();
    assert!(other.join().unwrap());
    assert_eq!(lock.release(), Err(LockError::NotLocked));
}

#[test]
fn lock_waiters_are_served_in_fifo_order_and_a_killed_one_passes_the_lock_on() {
    let rt = rt2();
    let lock = Arc::new(Lock::new());
    let order = Arc::new(Mutex::new(Vec::new()));
    lock.acquire().unwrap();
    let mut gs = Vec::new();
    for i in 0..10 {
        let (l, o) = (lock.clone(), order.clone());
        gs.push(rt.spawn(move || {
            let _g = l.acquire_guard().unwrap();
            o.lock().unwrap().push(i);
        }));
        until("queued in order", || {
            debug_count(&*lock, "waiting") == i + 1
        });
    }
    // Kill the third in line while it waits: it must leave the line.
    gs.remove(2).kill();
    lock.release().unwrap();
    gs.into_iter().for_each(|g| g.join().unwrap());
    assert_eq!(*order.lock().unwrap(), [0, 1, 3, 4, 5, 6, 7, 8, 9]);
    assert!(!lock.is_locked());
}

#[test]
fn a_lock_waiter_timing_out_as_it_is_handed_the_lock_never_strands_it() {
    let rt = rt2();
    let lock = Arc::new(Lock::new());
    let gs: Vec<_> = (0..100)
        .map(|i| {
            let l = lock.clone();
            Builder::new()
                .hub(i % 2)
                .spawn_on(rt.handle(), move || {
                    let mut got = 0;
                    for k in 0..30 {
                        if l.acquire_timeout(Duration::from_micros(10 + (k % 5) * 40)) {
                            got += 1;
                            grove::yield_now();
                            l.release().unwrap();
                        }
                    }
                    got
                })
                .unwrap()
        })
        .collect();
    let total: usize = gs.into_iter().map(|g| g.join().unwrap()).sum();
    assert!(total > 0);
    assert!(!lock.is_locked(), "a handed lock was stranded");
    assert!(lock.try_acquire());
}

#[test]
fn an_error_set_on_an_async_result_reaches_every_waiter() {
    let rt = rt2();
    let r = Arc::new(AsyncResult::<u32, String>::new());
    let gs: Vec<_> = (0..20)
        .map(|i| {
            let r = r.clone();
            Builder::new()
                .hub(i % 2)
                .spawn_on(rt.handle(), move || r.get())
                .unwrap()
        })
        .collect();
    let os = {
        let r = r.clone();
        std::thread::spawn(move || r.get_timeout(Duration::from_secs(10)))
    };
    until("all wait", || debug_count(&*r, "waiting") == 21);
    r.set_error("refused".into()).unwrap();
    for g in gs {
        assert_eq!(g.join().unwrap(), Err("refused".to_string()));
    }
    assert_eq!(os.join().unwrap(), Some(Err("refused".to_string())));
    assert!(r.ready() && !r.successful());
    assert_eq!(r.set(1).unwrap_err().0, 1, "a second set is refused");
    assert!(r.set_error("again".into()).is_err());
}

#[test]
fn async_result_get_times_out_while_unset_then_sees_the_value() {
    let rt = rt2();
    let r = Arc::new(AsyncResult::<&str, ()>::new());
    let r2 = r.clone();
    assert_eq!(
        rt.block_on(move || r2.get_timeout(Duration::from_millis(5))),
        None
    );
    assert!(!r.wait_timeout(Duration::from_millis(1)));
    r.set("value").unwrap();
    assert!(r.successful());
    let r3 = r.clone();
    assert_eq!(rt.block_on(move || r3.get()), Ok("value"));
}
