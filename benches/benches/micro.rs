//! Micro-benchmarks of grove's hot paths, with criterion:
//! `cargo bench -p grove-bench --bench micro`.
//!
//! - `spawn_join`: one green thread spawned and joined from a green thread;
//! - `yield_round_trip`: a green thread pinned to hub 0 yields to a partner
//!   on the same hub and back (two switches per iteration);
//! - `park_unpark_cross_hub`: two green threads pinned to hubs 0 and 1 hand a
//!   turn back and forth with `park` / `Thread::unpark` (one iteration is a
//!   round trip: two cross-hub wakeups);
//! - `sleep_1us`: `grove::sleep` of 1 µs: a timer inserted in the hub's heap,
//!   the hub idling until it is due, the timer firing and the green thread
//!   resuming.
//! - `block_on_poll`: one poll of a future run by `grove::block_on` in a
//!   green thread, which wakes itself and returns `Pending`: the poll (inside
//!   the background tokio runtime's context, the `tokio` feature being on),
//!   the wake (an unpark that leaves a token) and the park that consumes it;
//! - `await_greenlet`: a tokio current-thread runtime spawns a green thread
//!   and awaits its `Greenlet` (compare with `spawn_join`).
//!
//! Each runs on one runtime with two hubs and times itself inside the runtime
//! (`iter_custom`), so OS-thread wakeups of the benchmark's own caller are not
//! counted.

mod common;

use common::pinned;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use criterion::Criterion;

fn runtime() -> grove::Runtime {
    grove::Runtime::builder()
        .workers(2)
        .build()
        .expect("a two-hub runtime")
}

fn spawn_join(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("spawn_join", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(grove::spawn(move || i).join().expect("joined"));
                }
                t.elapsed()
            })
        })
    });
    rt.shutdown();
}

fn yield_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let h = rt.handle().clone();
    c.bench_function("yield_round_trip", |b| {
        b.iter_custom(|iters| {
            let stop = Arc::new(AtomicBool::new(false));
            let partner = {
                let stop = stop.clone();
                pinned(&h, 0, move || {
                    while !stop.load(Ordering::Relaxed) {
                        grove::yield_now();
                    }
                })
            };
            let took = pinned(&h, 0, move || {
                let t = Instant::now();
                for _ in 0..iters {
                    grove::yield_now();
                }
                t.elapsed()
            })
            .join()
            .expect("measuring green thread");
            stop.store(true, Ordering::Relaxed);
            partner.join().expect("partner");
            took
        })
    });
    rt.shutdown();
}

/// The state two players share: whose turn it is, and how to wake each.
struct Court {
    turn: AtomicU64,
    players: OnceLock<[grove::Thread; 2]>,
}

/// Player `me` (0 or 1) waits for its turns `me`, `me + 2`, … up to
/// `2 * rounds`, passing the turn on and waking the other player each time.
/// Player 0 returns the time from its first turn to the last hand-back.
fn play(court: Arc<Court>, me: u64, rounds: u64) -> Duration {
    let players = loop {
        if let Some(p) = court.players.get() {
            break p;
        }
        grove::yield_now();
    };
    let other = &players[(1 - me) as usize];
    let t = Instant::now();
    for r in 0..rounds {
        let mine = 2 * r + me;
        while court.turn.load(Ordering::Acquire) != mine {
            grove::park();
        }
        court.turn.store(mine + 1, Ordering::Release);
        other.unpark();
    }
    if me == 0 {
        while court.turn.load(Ordering::Acquire) != 2 * rounds {
            grove::park();
        }
    }
    t.elapsed()
}

fn park_unpark_cross_hub(c: &mut Criterion) {
    let rt = runtime();
    let h = rt.handle().clone();
    c.bench_function("park_unpark_cross_hub", |b| {
        b.iter_custom(|iters| {
            let court = Arc::new(Court {
                turn: AtomicU64::new(0),
                players: OnceLock::new(),
            });
            let a = {
                let court = court.clone();
                pinned(&h, 0, move || play(court, 0, iters))
            };
            let b = {
                let court = court.clone();
                pinned(&h, 1, move || play(court, 1, iters))
            };
            if court.players.set([a.thread(), b.thread()]).is_err() {
                unreachable!("the players are set once");
            }
            b.join().expect("player 1");
            a.join().expect("player 0")
        })
    });
    rt.shutdown();
}

fn sleep_1us(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("sleep_1us", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    grove::sleep(Duration::from_micros(1));
                }
                t.elapsed()
            })
        })
    });
    rt.shutdown();
}

fn block_on_poll(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("block_on_poll", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                let mut left = iters;
                let t = Instant::now();
                grove::block_on(std::future::poll_fn(|cx| {
                    if left == 0 {
                        return std::task::Poll::Ready(());
                    }
                    left -= 1;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }));
                t.elapsed()
            })
        })
    });
    rt.shutdown();
}

fn await_greenlet(c: &mut Criterion) {
    let rt = runtime();
    let h = rt.handle().clone();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    c.bench_function("await_greenlet", |b| {
        b.iter_custom(|iters| {
            tokio_rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters {
                    black_box(h.spawn(move || i).await.expect("joined"));
                }
                t.elapsed()
            })
        })
    });
    rt.shutdown();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn main() {
    let mut c = config().configure_from_args();
    spawn_join(&mut c);
    yield_round_trip(&mut c);
    park_unpark_cross_hub(&mut c);
    sleep_1us(&mut c);
    block_on_poll(&mut c);
    await_greenlet(&mut c);
    c.final_summary();
}
