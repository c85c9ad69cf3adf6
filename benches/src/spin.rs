//! A fixed amount of pure CPU work, calibrated to a duration.
//!
//! `fanout_cpu` and `imbalanced` give every peer tasks of the same number of
//! iterations of an xorshift chain: each step depends on the last, so the
//! compiler can neither vectorise nor skip it, and it touches no memory.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `iters` xorshift steps and returns the state (so it is not optimised away).
pub fn spin(iters: u64) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..black_box(iters) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// How many iterations of [`spin`] take about `target` on this thread: the
/// fastest of several timed runs, so a preempted run does not inflate it.
pub fn calibrate(target: Duration) -> u64 {
    const PROBE: u64 = 200_000;
    let mut best = Duration::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        spin(PROBE);
        best = best.min(t.elapsed());
    }
    let per_iter_ns = best.as_nanos().max(1) as f64 / PROBE as f64;
    ((target.as_nanos() as f64 / per_iter_ns) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrate_returns_some_work() {
        assert!(calibrate(Duration::from_micros(20)) >= 1);
    }

    #[test]
    fn spin_depends_on_its_count() {
        assert_ne!(spin(1), spin(2));
    }
}
