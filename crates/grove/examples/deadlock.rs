//! Two kinds of deadlock, and what grove says about them.
//!
//! First a *partial* one: three green threads in a cycle (one holds a
//! `Lock` and waits to join another, which waits to join a third, which
//! waits for the lock) while a fourth keeps working. `Snapshot::cycles`
//! finds it as it happens. Then a *whole-runtime* one: two green threads
//! each waiting for the other's `Queue`; `block_on` ends with the report
//! instead of hanging.
//!
//! Run it with `cargo run -p grove --example deadlock`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{Event, GreenletRef, Lock, Queue};

/// The three-way cycle, found while another green thread keeps working.
pub fn partial(rt: &grove::Runtime) -> Vec<grove::Cycle> {
    let lock = Arc::new(Lock::new());
    let held = Arc::new(Event::new());
    let c_ref: Arc<Mutex<Option<GreenletRef>>> = Arc::default();
    let (l, h, cr) = (lock.clone(), held.clone(), c_ref.clone());
    let writer = grove::Builder::new()
        .name("writer")
        .spawn_on(rt.handle(), move || {
            l.acquire().expect("the lock is free");
            h.set();
            let c = loop {
                if let Some(c) = cr.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                    break c;
                }
                grove::sleep(Duration::from_millis(1));
            };
            c.wait();
        })
        .expect("spawn");
    held.wait();
    let l = lock.clone();
    let reader = grove::Builder::new()
        .name("reader")
        .spawn_on(rt.handle(), move || l.acquire().expect("no misuse"))
        .expect("spawn");
    let r = reader.to_ref();
    let auditor = grove::Builder::new()
        .name("auditor")
        .spawn_on(rt.handle(), move || r.wait())
        .expect("spawn");
    *c_ref.lock().unwrap_or_else(|p| p.into_inner()) = Some(auditor.to_ref());
    let ticker = grove::Builder::new()
        .name("ticker")
        .spawn_on(rt.handle(), || {
            for _ in 0..200 {
                grove::sleep(Duration::from_millis(1));
            }
        })
        .expect("spawn");
    let cycles = loop {
        let cycles = rt.snapshot().cycles();
        if !cycles.is_empty() {
            break cycles;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    for g in [&writer, &reader, &auditor] {
        g.kill();
    }
    ticker.join().expect("the ticker ran on");
    cycles
}

/// Two green threads waiting for each other's queue: the runtime stops
/// them with a report, and `block_on` panics with it.
pub fn whole(rt: &grove::Runtime) -> String {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| {
            let (a, b) = (Arc::new(Queue::<u32>::new()), Arc::new(Queue::<u32>::new()));
            let (a2, b2) = (a.clone(), b.clone());
            let ping = grove::Builder::new()
                .name("ping")
                .spawn(move || {
                    let n = a2.get().expect("open");
                    b2.put(n + 1).expect("open");
                })
                .expect("spawn");
            let pong = grove::Builder::new()
                .name("pong")
                .spawn(move || {
                    let n = b.get().expect("open");
                    a.put(n + 1).expect("open");
                })
                .expect("spawn");
            let _ = ping.join();
            let _ = pong.join();
        })
    }));
    match outcome {
        Ok(()) => "no deadlock".to_string(),
        Err(p) => p
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "a panic without a message".to_string()),
    }
}

fn main() {
    let rt = grove::Runtime::builder()
        .workers(2)
        .on_deadlock(|_| {}) // printed below, from block_on's panic
        .build()
        .expect("a runtime");
    for c in partial(&rt) {
        println!("found while the rest runs: {c}\n");
    }
    std::panic::set_hook(Box::new(|_| {})); // the report is printed below
    println!("{}", whole(&rt));
}
