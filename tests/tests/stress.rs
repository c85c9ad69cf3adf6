//! Stress tests: too slow or too big for every CI run, so `#[ignore]`d.
//! Each one's command is in docs/verification.md; run them in release:
//!
//!     cargo test --release -p grove-tests --test stress -- --ignored --nocapture

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::Runtime;

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// One million idle green threads in one process, with the kernel's default
/// `vm.max_map_count`, in unguarded (slab) mode.
#[test]
#[ignore = "stress: 1,000,000 live green threads; run in release (docs/verification.md)"]
fn one_million_idle_green_threads() {
    const N: usize = 1_000_000;
    let rt = Runtime::builder()
        .workers(2)
        .guard_pages(false)
        .build()
        .unwrap();
    let before = rss_bytes();
    let parked = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let gs: Vec<_> = (0..N)
        .map(|_| {
            let p = parked.clone();
            rt.spawn(move || {
                p.fetch_add(1, Ordering::Relaxed);
                grove::park();
            })
        })
        .collect();
    while parked.load(Ordering::Relaxed) < N {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "only {} parked",
            parked.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let spawn_time = t.elapsed();
    let rss = rss_bytes() - before;
    println!(
        "{N} idle green threads: spawned and parked in {spawn_time:.2?}; {} MiB resident above baseline, {} bytes each",
        rss >> 20,
        rss / N
    );
    assert_eq!(rt.handle().live(), N);
    let t = Instant::now();
    rt.block_on(move || {
        for g in &gs {
            g.thread().unpark();
        }
        for g in gs {
            g.join().unwrap();
        }
    });
    println!(
        "woken and joined from a green thread in {:.2?}",
        t.elapsed()
    );
}

/// One million green threads spawned and joined, every result checked.
#[test]
#[ignore = "stress: 1,000,000 spawns; run in release (docs/verification.md)"]
fn one_million_spawned_and_joined() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let t = Instant::now();
    let sum = rt.block_on(|| {
        let mut sum = 0u64;
        // In waves, so the handles of all million need not exist at once.
        for wave in 0..10u64 {
            let gs: Vec<_> = (0..100_000u64)
                .map(|i| grove::spawn(move || wave * 100_000 + i))
                .collect();
            for (i, g) in gs.into_iter().enumerate() {
                let v = g.join().unwrap();
                assert_eq!(v, wave * 100_000 + i as u64);
                sum += v;
            }
        }
        sum
    });
    assert_eq!(sum, 999_999 * 1_000_000 / 2);
    println!("1,000,000 spawned and joined in {:.2?}", t.elapsed());
}

/// 100,000 kills in random order against parked, sleeping and running green
/// threads: every destructor runs once, every join says `Killed` or (for a
/// runner that finished first) its value, and every stack goes back.
#[test]
#[ignore = "stress: 100,000 kills; run in release (docs/verification.md)"]
fn hundred_thousand_kills_in_random_order() {
    const N: usize = 100_000;
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    // 100,000 live green threads: past the guarded-stack mapping limit.
    let rt = Runtime::builder()
        .workers(2)
        .guard_pages(false)
        .build()
        .unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let gs: Vec<_> = (0..N)
        .map(|i| {
            let c = Counted(drops.clone());
            let s = started.clone();
            rt.spawn(move || {
                let _c = c;
                s.fetch_add(1, Ordering::Relaxed);
                match i % 3 {
                    0 => loop {
                        grove::park();
                    },
                    1 => grove::sleep(Duration::from_secs(3600)),
                    _ => {
                        // Running: busy, yielding now and then.
                        let mut x = 0u64;
                        for k in 0..10_000_000u64 {
                            x = std::hint::black_box(x + k);
                            if k % 1000 == 0 {
                                grove::yield_now();
                            }
                        }
                    }
                }
                i
            })
        })
        .collect();
    // Let most of them start, then kill in a shuffled order.
    let t = Instant::now();
    while started.load(Ordering::Relaxed) < N * 9 / 10 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut order: Vec<usize> = (0..N).collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..N).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let t = Instant::now();
    for &i in &order {
        gs[i].to_ref().kill_nowait();
    }
    for &i in &order {
        assert!(
            gs[i].wait_timeout(Duration::from_secs(60)),
            "kill {i} timed out"
        );
    }
    println!("{N} kills in random order in {:.2?}", t.elapsed());
    for (i, g) in gs.into_iter().enumerate() {
        match g.join() {
            Err(grove::Error::Killed) => {}
            Ok(v) => assert!(i % 3 == 2 && v == i, "{i} returned {v}"),
            Err(e) => panic!("{i}: {e}"),
        }
    }
    assert_eq!(drops.load(Ordering::Relaxed), N, "destructors");
    let t = Instant::now();
    while (rt.handle().stacks_in_use() != 0 || rt.handle().live() != 0)
        && t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(rt.handle().live(), 0, "green threads left alive");
    assert_eq!(rt.handle().stacks_in_use(), 0, "stacks not returned");
}

/// Two green threads pinned to different hubs pass a counter back and forth
/// for 10 seconds through park/unpark; every message is checked.
#[test]
#[ignore = "stress: 10 s cross-hub ping-pong (docs/verification.md)"]
fn cross_hub_ping_pong_for_ten_seconds() {
    use std::sync::atomic::AtomicU64;
    let rt = Runtime::builder().workers(2).build().unwrap();
    let slot = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel::<grove::Thread>();
    let s = slot.clone();
    let ponger = grove::Builder::new()
        .hub(1)
        .spawn_on(rt.handle(), move || {
            let pinger = rx.recv().unwrap();
            let mut expect = 1u64;
            loop {
                let v = loop {
                    let v = s.load(Ordering::Acquire);
                    if v != expect - 1 {
                        break v;
                    }
                    grove::park();
                };
                if v == u64::MAX {
                    return expect - 1;
                }
                assert_eq!(v, expect, "ponger got a wrong message");
                s.store(v + 1, Ordering::Release);
                pinger.unpark();
                expect += 2;
            }
        })
        .unwrap();
    let pong = ponger.thread();
    let s = slot.clone();
    let pinger = grove::Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            tx.send(grove::current()).unwrap();
            let end = Instant::now() + Duration::from_secs(10);
            let mut v = 0u64;
            let mut rounds = 0u64;
            while Instant::now() < end {
                s.store(v + 1, Ordering::Release);
                pong.unpark();
                loop {
                    let got = s.load(Ordering::Acquire);
                    if got == v + 2 {
                        break;
                    }
                    assert!(got == v + 1, "pinger got a wrong message {got}");
                    grove::park();
                }
                v += 2;
                rounds += 1;
            }
            s.store(u64::MAX, Ordering::Release);
            pong.unpark();
            rounds
        })
        .unwrap();
    let rounds = pinger.join().unwrap();
    let last = ponger.join().unwrap();
    assert_eq!(last, 2 * rounds, "ponger's last reply");
    println!("{rounds} cross-hub round trips in 10 s, every message checked");
}
