//! Green-thread-local storage follows its green thread across hubs.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use grove::{GreenLocal, Runtime};

static COUNTER: GreenLocal<Cell<u64>> = GreenLocal::new(|| Cell::new(0));
static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Tracked;
impl Drop for Tracked {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}
static TRACKED: GreenLocal<Tracked> = GreenLocal::new(|| Tracked);

#[test]
fn each_green_thread_has_its_own_value_across_migrations() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let gs: Vec<_> = (0..200u64)
        .map(|i| {
            rt.spawn(move || {
                for _ in 0..10 {
                    COUNTER.with(|c| c.set(c.get() + i));
                    grove::yield_now();
                }
                COUNTER.with(Cell::get)
            })
        })
        .collect();
    for (i, g) in gs.into_iter().enumerate() {
        assert_eq!(g.join().unwrap(), 10 * i as u64);
    }
}

#[test]
fn values_are_dropped_when_their_green_thread_ends() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let before = DROPS.load(Ordering::SeqCst);
    let gs: Vec<_> = (0..10).map(|_| rt.spawn(|| TRACKED.with(|_| ()))).collect();
    gs.into_iter().for_each(|g| g.join().unwrap());
    // The drop runs on the green thread just before it finishes.
    let t = std::time::Instant::now();
    while DROPS.load(Ordering::SeqCst) < before + 10 && t.elapsed().as_secs() < 10 {
        std::thread::yield_now();
    }
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 10);
}

#[test]
fn os_threads_get_their_own_value() {
    COUNTER.with(|c| c.set(42));
    let other = std::thread::spawn(|| COUNTER.with(Cell::get))
        .join()
        .unwrap();
    assert_eq!(other, 0);
    assert_eq!(COUNTER.with(Cell::get), 42);
}
