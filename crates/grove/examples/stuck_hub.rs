//! The stuck-hub watchdog: a green thread that computes for 300 ms and one
//! that calls `std::thread::sleep` (a blocking call grove cannot see) each
//! hold their hub, and every green thread queued behind them waits. The
//! watchdog reports each once, naming the green thread and, for the
//! second, the system call its OS thread is in.
//!
//! Run it with `cargo run -p grove --example stuck_hub`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs both mistakes on a one-hub runtime; the watchdog's reports, and a
/// snapshot taken while the second one holds the hub.
pub fn run() -> (Vec<grove::StuckHub>, String) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = grove::Runtime::builder()
        .workers(1)
        .on_stuck_hub(move |report| {
            eprintln!("grove: {report}");
            r.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(report.clone());
        })
        .build()
        .expect("a runtime");
    let cruncher = grove::Builder::new()
        .name("cruncher")
        .spawn_on(rt.handle(), || {
            // Three green threads queued on this hub, behind this one.
            let waiting: Vec<_> = (0..3).map(|i| grove::spawn(move || i)).collect();
            let t = Instant::now();
            let mut x = 0u64;
            while t.elapsed() < Duration::from_millis(300) {
                x = x.wrapping_mul(31).wrapping_add(1);
            }
            for w in waiting {
                w.join().expect("ran, late");
            }
            x
        })
        .expect("spawn");
    let napper = grove::Builder::new()
        .name("napper")
        .spawn_on(rt.handle(), || {
            let waiting = grove::spawn(|| ());
            std::thread::sleep(Duration::from_millis(300));
            waiting.join().expect("ran, late");
        })
        .expect("spawn");
    cruncher.join().expect("ran");
    // The napper holds the hub now: a snapshot shows it running.
    std::thread::sleep(Duration::from_millis(150));
    let snapshot = rt.snapshot().to_string();
    napper.join().expect("ran");
    rt.shutdown();
    let out = reports.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (out, snapshot)
}

fn main() {
    let (reports, snapshot) = run();
    println!(
        "{} reports; the runtime while 'napper' held its hub:\n\n{snapshot}",
        reports.len()
    );
}
