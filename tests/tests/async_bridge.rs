//! The bridge to async Rust: futures run from green threads with
//! `grove::block_on` (tokio's drivers included, with the `tokio` feature),
//! and green threads awaited from async executors.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A green thread pinned to `hub` that ticks every 10 ms until `stop`, and
/// returns the longest gap it saw between two ticks.
fn ticker(h: &grove::Handle, hub: usize, stop: Arc<AtomicBool>) -> grove::Greenlet<Duration> {
    grove::Builder::new()
        .hub(hub)
        .spawn_on(h, move || {
            let mut worst = Duration::ZERO;
            let mut last = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                grove::sleep(Duration::from_millis(10));
                let now = Instant::now();
                worst = worst.max(now - last);
                last = now;
            }
            worst
        })
        .unwrap()
}

#[test]
fn a_thousand_green_threads_await_tokio_sleeps_and_sockets_and_hubs_stay_free() {
    const N: usize = 1000;
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let h = rt.handle().clone();

    // A tokio echo server on the background runtime.
    let listener = grove::tokio_handle()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    grove::tokio_handle().spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    let stop = Arc::new(AtomicBool::new(false));
    let tickers: Vec<_> = (0..2).map(|i| ticker(&h, i, stop.clone())).collect();
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..N)
        .map(|i| {
            let done = done.clone();
            h.spawn(move || {
                grove::block_on(async move {
                    tokio::time::sleep(Duration::from_millis(20 + (i % 30) as u64)).await;
                    if i % 4 == 0 {
                        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                        s.write_all(b"ping").await.unwrap();
                        let mut buf = [0u8; 4];
                        s.read_exact(&mut buf).await.unwrap();
                        assert_eq!(&buf, b"ping");
                    }
                    // tokio::spawn works inside block_on.
                    tokio::spawn(async move { i }).await.unwrap()
                });
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    assert_eq!(done.load(Ordering::SeqCst), N);
    for t in tickers {
        let worst = t.join().unwrap();
        // A hub blocked by a future would stall its ticker for the whole
        // run; generous for a shared machine, far below that.
        assert!(
            worst < Duration::from_millis(500) * grove_tests::SLOWDOWN,
            "a hub stalled for {worst:?}"
        );
    }
    rt.shutdown();
}

#[test]
fn awaiting_a_future_fed_by_a_green_thread_of_the_same_hub_does_not_deadlock() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let v = rt.block_on(|| {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let feeder = grove::Builder::new()
            .hub(0)
            .spawn(move || {
                grove::sleep(Duration::from_millis(5));
                tx.send(7).unwrap();
            })
            .unwrap();
        let v = grove::block_on(rx).unwrap();
        feeder.join().unwrap();
        v
    });
    assert_eq!(v, 7);
    rt.shutdown();
}

/// Records its drop.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_kill_while_awaiting_drops_the_future() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let g = grove::spawn(move || {
        let flag = DropFlag(d);
        grove::block_on(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
    });
    grove::sleep(Duration::from_millis(10));
    assert!(!dropped.load(Ordering::SeqCst));
    g.kill();
    assert!(matches!(g.join(), Err(grove::Error::Killed)));
    assert!(dropped.load(Ordering::SeqCst), "the future was not dropped");

    // A Timeout goes the same way.
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let r = grove::spawn(move || {
        grove::with_timeout(Duration::from_millis(10), move || {
            let flag = DropFlag(d);
            grove::block_on(async move {
                let _flag = flag;
                tokio::time::sleep(Duration::from_secs(60)).await;
            })
        })
    })
    .join()
    .unwrap();
    assert!(r.is_err());
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_tokio_task_awaits_a_greenlet_without_blocking_its_worker() {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ticks = Arc::new(Mutex::new(0u32));
    let t = ticks.clone();
    let v = tokio_rt.block_on(async move {
        // On a current-thread runtime, a blocked worker would stop this ticker.
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                *t.lock().unwrap() += 1;
            }
        });
        let g = grove::spawn(|| {
            grove::sleep(Duration::from_millis(100) * grove_tests::SLOWDOWN);
            42
        });
        let v = g.await.unwrap();
        ticker.abort();
        v
    });
    assert_eq!(v, 42);
    assert!(
        *ticks.lock().unwrap() >= 5,
        "the worker was blocked while awaiting"
    );
}

#[test]
fn dropping_the_join_future_detaches_the_green_thread() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let g = grove::spawn(move || {
        grove::sleep(Duration::from_millis(20));
        f.store(true, Ordering::SeqCst);
    });
    let r = g.to_ref();
    drop(std::future::IntoFuture::into_future(g));
    r.wait();
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn block_on_from_an_os_thread_blocks_only_that_thread() {
    let v = grove::block_on(async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        5
    });
    assert_eq!(v, 5);
}

#[test]
fn events_and_results_are_awaitable_from_tokio_without_blocking_it() {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ev = Arc::new(grove::Event::new());
    let res = Arc::new(grove::AsyncResult::<u32, String>::new());
    let (e2, r2) = (ev.clone(), res.clone());
    grove::spawn(move || {
        grove::sleep(Duration::from_millis(30));
        e2.set();
        grove::sleep(Duration::from_millis(10));
        r2.set(11).unwrap();
    });
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let got = tokio_rt.block_on(async move {
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(2)).await;
                t.fetch_add(1, Ordering::SeqCst);
            }
        });
        ev.wait_async().await;
        let v = res.get_async().await;
        ticker.abort();
        v
    });
    assert_eq!(got, Ok(11));
    assert!(ticks.load(Ordering::SeqCst) >= 5, "the worker was blocked");
}

#[test]
fn iwait_mixes_green_threads_events_and_results() {
    let ev = Arc::new(grove::Event::new());
    let res = Arc::new(grove::AsyncResult::<(), ()>::new());
    let g = grove::spawn(|| grove::sleep(Duration::from_millis(40)));
    let (e2, r2) = (ev.clone(), res.clone());
    grove::spawn(move || {
        grove::sleep(Duration::from_millis(5));
        r2.set(()).unwrap();
        grove::sleep(Duration::from_millis(10));
        e2.set();
    });
    let objects: [&dyn grove::Waitable; 3] = [&g, &*ev, &*res];
    let order: Vec<usize> = grove::iwait(&objects, Some(Duration::from_secs(10))).collect();
    assert_eq!(order, [2, 1, 0]);
}
