//! grove-sync's Group and Pool: gevent.pool's documented behaviour.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use grove::{Group, Pool, Runtime};

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
