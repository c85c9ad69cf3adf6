//! Spawns 100,000 green threads that each sleep briefly and report which hub
//! ran them, then prints how the work spread over the hubs.
//!
//! Run it with `cargo run --release --example hello`.

use std::time::{Duration, Instant};

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
                    } else {
                        grove::yield_now();
                    }
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
    assert_eq!(per_hub.iter().sum::<usize>(), N);
    rt.shutdown();
}
