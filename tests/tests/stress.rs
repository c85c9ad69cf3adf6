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
