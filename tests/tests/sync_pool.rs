//! grove-sync's Group and Pool: gevent.pool's documented behaviour.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{Error, Event, Group, Pool, Runtime};
use grove_tests::until;

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn a_pool_of_two_never_runs_three_at_once_and_spawn_waits_while_full() {
    let rt = rt2();
    let pool = Pool::new(2);
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let p = pool.clone();
    let (n, m) = (now.clone(), most.clone());
    rt.block_on(move || {
        for i in 0..100 {
            let (n, m) = (n.clone(), m.clone());
            p.spawn(move || {
                let inside = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(inside, Ordering::SeqCst);
                if i % 3 == 0 {
                    grove::sleep(Duration::from_micros(50));
                } else {
                    grove::yield_now();
                }
                n.fetch_sub(1, Ordering::SeqCst);
                assert!(i != 50, "a panic frees its slot too");
            });
        }
        p.join();
    });
    // Never three; how often two overlap is up to the scheduler.
    let most = most.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} ran at once");
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 2);
}

#[test]
fn killing_a_pool_frees_every_slot_even_for_members_that_never_ran() {
    let rt = rt2();
    let pool = Pool::new(3);
    let p = pool.clone();
    rt.block_on(move || {
        for _ in 0..3 {
            p.spawn(grove::park);
        }
        assert!(p.is_full());
        assert!(!p.wait_available(Duration::from_millis(2)));
        p.kill();
    });
    assert!(pool.is_empty());
    assert_eq!(pool.free_count(), 3);
    assert!(pool.wait_available(Duration::from_millis(1)));
}

#[test]
fn map_keeps_input_order_and_reports_the_first_error_after_all_finish() {
    let rt = rt2();
    let pool = Pool::new(4);
    let p = pool.clone();
    let out = rt.block_on(move || p.map(|x: u32| x * 10, 0..50)).unwrap();
    assert_eq!(out, (0..50).map(|x| x * 10).collect::<Vec<_>>());

    let finished = Arc::new(AtomicUsize::new(0));
    let (p, f) = (pool.clone(), finished.clone());
    let r = rt.block_on(move || {
        p.map(
            move |x: u32| {
                f.fetch_add(1, Ordering::SeqCst);
                assert!(x != 7, "item 7 fails");
                x
            },
            0..20,
        )
    });
    assert!(r.is_err());
    assert_eq!(finished.load(Ordering::SeqCst), 20, "every call still ran");
    assert_eq!(pool.free_count(), 4);
}

#[test]
fn imap_bounds_calls_in_flight_to_the_pool_size() {
    let rt = rt2();
    let pool = Pool::new(3);
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (p, n, m) = (pool.clone(), now.clone(), most.clone());
    let sum: u64 = rt.block_on(move || {
        p.imap(
            move |x: u64| {
                m.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                grove::sleep(Duration::from_micros(100));
                n.fetch_sub(1, Ordering::SeqCst);
                x
            },
            0..40,
        )
        .map(Result::unwrap)
        .sum()
    });
    assert_eq!(sum, (0..40).sum::<u64>());
    assert!(most.load(Ordering::SeqCst) <= 3);
}

#[test]
fn imap_unordered_yields_in_completion_order() {
    let rt = rt2();
    let group = Group::new();
    let g = group.clone();
    let order: Vec<u64> = rt.block_on(move || {
        g.imap_unordered(
            |ms: u64| {
                grove::sleep(Duration::from_millis(ms));
                ms
            },
            [150, 0, 60],
        )
        .map(Result::unwrap)
        .collect()
    });
    assert_eq!(order, [0, 60, 150]);
    // A panicking call is reported, not waited for forever.
    let g = group.clone();
    let results: Vec<_> = rt.block_on(move || {
        g.imap_unordered(|x: u8| assert!(x != 1), [0u8, 1, 2])
            .collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(results.len(), 3);
}

#[test]
fn group_join_waits_for_members_added_meanwhile_and_kill_stops_them_all() {
    let rt = rt2();
    let group = Group::new();
    let done = Arc::new(AtomicUsize::new(0));
    let (g, d) = (group.clone(), done.clone());
    rt.block_on(move || {
        let (g2, d2) = (g.clone(), d.clone());
        g.spawn(move || {
            grove::sleep(Duration::from_millis(2));
            let d3 = d2.clone();
            g2.spawn(move || {
                grove::sleep(Duration::from_millis(2));
                d3.fetch_add(1, Ordering::SeqCst);
            });
            d2.fetch_add(1, Ordering::SeqCst);
        });
        g.join();
    });
    assert_eq!(done.load(Ordering::SeqCst), 2);
    let g = group.clone();
    rt.block_on(move || {
        for _ in 0..10 {
            g.spawn(|| grove::sleep(Duration::from_secs(60)));
        }
        assert!(!g.join_timeout(Duration::from_millis(1)));
        g.kill();
        assert!(g.is_empty());
    });
}

// apply, apply_async, map_async, imap's maxsize, killone and the kill
// variants (gevent's test__pool.py).

#[test]
fn apply_returns_the_result_and_reports_a_panic() {
    // TestCoroutinePool.test_apply, test_apply_raises; TestPool.test_apply
    for pool in [Pool::new(1), Pool::new(2), Pool::new(10)] {
        assert_eq!(pool.apply(|| "return value").unwrap(), "return value");
        assert_eq!(pool.apply(|| 5 * 5).unwrap(), 25);
        let e = pool.apply(|| -> u8 { panic!("expected") }).unwrap_err();
        assert_eq!(e.panic_message(), Some("expected"));
        pool.join();
        assert_eq!(pool.free_count(), pool.size());
    }
    let group = Group::new();
    assert_eq!(group.apply(|| 7).unwrap(), 7);
}

#[test]
fn apply_from_outside_runs_in_a_member_and_from_a_member_runs_inline() {
    let rt = rt2();
    let pool = Pool::new(1);
    // From outside: in a green thread of the pool.
    let p = pool.clone();
    // `spawn` records a member as it returns, which may be after the member
    // started on the other hub: look until it is there.
    let (in_pool, me) = pool
        .apply(move || {
            let me = grove::current().id();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !p.contains(me) && std::time::Instant::now() < deadline {
                grove::sleep(Duration::from_millis(1));
            }
            (p.contains(me), me)
        })
        .unwrap();
    assert!(in_pool);
    assert_ne!(me, grove::current().id());
    // From a member of a full pool, at once after its spawn: inline, in the
    // member itself (waiting for a slot would never end).
    let p = pool.clone();
    let member = rt.block_on(move || {
        let p2 = p.clone();
        p.spawn(move || {
            let me = grove::current().id();
            let ran_in = p2.apply(|| grove::current().id()).unwrap();
            let e = p2.apply(|| -> u8 { panic!("inline") }).unwrap_err();
            (me == ran_in, e.panic_message().map(str::to_owned))
        })
        .join()
    });
    assert_eq!(member.unwrap(), (true, Some("inline".to_owned())));
    // Another group's member is an outsider here.
    let other = Group::new();
    let p = pool.clone();
    let outsider = other
        .spawn(move || {
            let me = grove::current().id();
            p.apply(move || grove::current().id() != me).unwrap()
        })
        .join()
        .unwrap();
    assert!(outsider);
}

#[test]
fn apply_is_reentrant_on_a_pool_of_one() {
    // TestCoroutinePool.test_reentrant
    let pool = Pool::new(1);
    let p = pool.clone();
    let r = pool.apply(move || p.apply(|| 5 + 1).unwrap()).unwrap();
    assert_eq!(r, 6);
    let evt = Arc::new(Event::new());
    let e = evt.clone();
    let _ = pool.apply_async(move || e.set());
    evt.wait();
}

#[test]
fn apply_async_runs_alongside_the_caller() {
    // TestCoroutinePool.test_apply_async, test_multiple_coros
    let pool = Pool::new(2);
    let evt = Arc::new(Event::new());
    let results = Arc::new(Mutex::new(Vec::new()));
    let (e, r) = (evt.clone(), results.clone());
    let consumer = pool.spawn(move || {
        r.lock().unwrap().push("cons1");
        e.wait();
        r.lock().unwrap().push("cons2");
    });
    until("the consumer waits", || results.lock().unwrap().len() == 1);
    let (e, r) = (evt.clone(), results.clone());
    let producer = pool.apply_async(move || {
        grove::sleep(Duration::from_millis(1));
        r.lock().unwrap().push("prod");
        e.set();
        49
    });
    consumer.join().unwrap();
    assert_eq!(producer.join().unwrap(), 49);
    assert_eq!(*results.lock().unwrap(), ["cons1", "prod", "cons2"]);
}

#[test]
fn map_async_returns_at_once_and_its_handle_gives_the_map() {
    let pool = Pool::new(2);
    let gate = Arc::new(Event::new());
    let g = gate.clone();
    let m = pool.map_async(
        move |x: u64| {
            g.wait();
            x * x
        },
        0..10,
    );
    assert!(
        !m.is_ready(),
        "the map waits for the gate, the caller does not"
    );
    gate.set();
    assert_eq!(
        m.join().unwrap().unwrap(),
        (0..10).map(|x| x * x).collect::<Vec<_>>()
    );
    let failing = pool.map_async(|x: u8| if x == 3 { panic!("three") } else { x }, 0..6);
    let e: Error = failing.join().unwrap().unwrap_err();
    assert_eq!(e.panic_message(), Some("three"));
}

#[test]
fn imap_maxsize_keeps_at_most_that_many_results_ahead_of_the_reader() {
    // TestPool.test_imap_unordered_bounded_queue (issue 638), for each pool
    // size and an unlimited group, with maxsize 1.
    let groups: Vec<(String, Group)> = [1, 2, 3, 10]
        .into_iter()
        .map(|n| (format!("pool of {n}"), (*Pool::new(n)).clone()))
        .chain([("group".to_owned(), Group::new())])
        .collect();
    for (name, group) in groups {
        for ordered in [false, true] {
            let running = Arc::new(AtomicUsize::new(0));
            let r = running.clone();
            let f = move |i: usize| {
                r.fetch_add(1, Ordering::SeqCst);
                i
            };
            let results: Box<dyn Iterator<Item = Result<usize, Error>>> = if ordered {
                Box::new(group.imap(f, 0..30).maxsize(1))
            } else {
                Box::new(group.imap_unordered(f, 0..30).maxsize(1))
            };
            let mut got = Vec::new();
            for (i, x) in results.enumerate() {
                let started = running.load(Ordering::SeqCst);
                assert!(started <= i + 2, "{name}: {started} started by item {i}");
                got.push(x.unwrap());
                grove::sleep(Duration::from_millis(1));
            }
            got.sort_unstable();
            assert_eq!(got, (0..30).collect::<Vec<_>>(), "{name}");
        }
    }
}

#[test]
fn killone_kills_that_member_only_and_frees_its_slot() {
    let pool = Pool::new(2);
    let a = pool.spawn(grove::park);
    // `b` holds its slot until told, however slow the machine is.
    let go = Arc::new(Event::new());
    let g2 = go.clone();
    let b = pool.spawn(move || {
        g2.wait();
        "b finished"
    });
    assert!(pool.is_full());
    let id = a.id();
    assert!(pool.killone(id));
    assert!(matches!(a.join(), Err(Error::Killed)));
    assert!(!pool.contains(id));
    assert_eq!(pool.free_count(), 1, "the killed member's slot is free");
    assert!(!pool.killone(id), "not a member any more");
    let outsider = grove::spawn(grove::park);
    assert!(!pool.killone(outsider.id()), "never a member");
    assert!(!outsider.is_ready());
    outsider.kill();
    go.set();
    assert_eq!(b.join().unwrap(), "b finished");
}

/// Sleeps in its destructor: a killed member holding one takes that long
/// to finish (a kill waits for cleanup).
struct SlowCleanup(Duration);

impl Drop for SlowCleanup {
    fn drop(&mut self) {
        grove::sleep(self.0);
    }
}

#[test]
fn kill_timeout_gives_up_on_slow_cleanup_and_kill_nowait_does_not_wait() {
    let group = Group::new();
    for _ in 0..3 {
        group.spawn(grove::park);
    }
    let started = Arc::new(Event::new());
    let s = started.clone();
    let slow = group.spawn(move || {
        let _cleanup = SlowCleanup(Duration::from_millis(300));
        s.set();
        grove::park();
    });
    started.wait();
    assert!(
        !group.kill_timeout(Duration::from_millis(5)),
        "cleanup still runs"
    );
    assert!(group.kill_timeout(Duration::from_secs(20)));
    assert!(slow.is_ready() && group.is_empty());

    let members: Vec<_> = (0..3).map(|_| group.spawn(grove::park)).collect();
    until("every member runs", || group.len() == 3);
    group.kill_nowait();
    group.join();
    for m in members {
        assert!(matches!(m.join(), Err(Error::Killed)));
    }
}
