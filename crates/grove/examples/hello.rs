//! Spawns 100,000 green threads from one green thread and shows how the hubs
//! shared them: each does a few microseconds of work, and one in ten also
//! sleeps for a millisecond, so idle hubs have something worth stealing.
//!
//! Run it with `cargo run --release --example hello`.

use std::time::{Duration, Instant};

/// A few microseconds of pure CPU work.
fn work(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..2_000 {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    x
}

fn main() {
    const N: usize = 100_000;
    let rt = grove::Runtime::new().expect("start the runtime");
    let hubs = rt.handle().workers();
    let start = Instant::now();
    let per_hub = rt.block_on(move || {
        let greenlets: Vec<_> = (0..N)
            .map(|i| {
                grove::spawn(move || {
                    if i % 10 == 0 {
                        grove::sleep(Duration::from_millis(1));
                    }
                    work(i as u64);
                    grove::hub_index().expect("runs on a hub")
                })
            })
            .collect();
        let mut per_hub = vec![0usize; grove::Handle::current().workers()];
        for g in greenlets {
            per_hub[g.join().expect("green thread result")] += 1;
        }
        per_hub
    });
    let elapsed = start.elapsed();
    println!("{N} green threads on {hubs} hubs in {elapsed:.2?}");
    for (hub, (count, m)) in per_hub.iter().zip(rt.metrics()).enumerate() {
        println!(
            "  hub {hub}: finished {count:>6} | started {:>6}, stolen {:>6}, parked {:>6}, switches {:>7}",
            m.started, m.stolen, m.parked, m.run
        );
    }
    println!(
        "\n  finished  green threads whose closure returned on this hub (counted by the caller)\n  \
         started   green threads this hub started (a started green thread stays on its hub)\n  \
         stolen    of those, how many this hub took from another hub's queue before they started\n  \
         parked    times a green thread on this hub blocked and switched off (here: the 1 ms sleeps)\n  \
         switches  times this hub switched into a green thread (starts and resumes)"
    );
    assert_eq!(per_hub.iter().sum::<usize>(), N);
    rt.shutdown();
}
