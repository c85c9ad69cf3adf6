//! Spawning and joining: results, panics, names, links, joinall, spawn_later.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use grove::{Builder, Error, Runtime};

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

#[test]
fn hundred_thousand_green_threads_spawned_and_joined() {
    let rt = rt2();
    let sum = rt.block_on(|| {
        let gs: Vec<_> = (0..100_000u64)
            .map(|i| grove::spawn(move || i * 3))
            .collect();
        let mut sum = 0u64;
        for (i, g) in gs.into_iter().enumerate() {
            let v = g.join().expect("result");
            assert_eq!(v, i as u64 * 3, "green thread {i} returned the wrong value");
            sum += v;
        }
        sum
    });
    assert_eq!(sum, 3 * (100_000 * 99_999 / 2));
    // ...and from a plain OS thread too.
    let gs: Vec<_> = (0..10_000u32).map(|i| rt.spawn(move || i)).collect();
    for (i, g) in gs.into_iter().enumerate() {
        assert_eq!(g.join().unwrap(), i as u32);
    }
}

#[test]
fn a_panic_is_captured_and_the_hub_survives() {
    let rt = rt2();
    let g = rt.spawn(|| -> u8 { panic!("deliberate panic") });
    let err = g.join().unwrap_err();
    assert!(matches!(err, Error::Panicked(_)));
    assert_eq!(err.panic_message(), Some("deliberate panic"));
    assert!(err.to_string().contains("deliberate panic"));
    // Every hub still runs green threads afterwards.
    for hub in 0..2 {
        let g = Builder::new().hub(hub).spawn_on(rt.handle(), move || hub);
        assert_eq!(g.unwrap().join().unwrap(), hub);
    }
    // A panic with a non-string payload is carried as is.
    let g = rt.spawn(|| std::panic::panic_any(7u32));
    match g.join() {
        Err(Error::Panicked(p)) => assert_eq!(p.downcast_ref::<u32>(), Some(&7)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn block_on_resumes_a_panic_in_the_caller() {
    let rt = rt2();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| panic!("inner"));
    }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inner"));
}

#[test]
fn handle_state_wait_and_successful() {
    let rt = rt2();
    let (tx, rx) = mpsc::channel::<()>();
    let g = rt.spawn(move || {
        while rx.try_recv().is_err() {
            grove::sleep(Duration::from_millis(1));
        }
        5
    });
    assert!(!g.is_ready());
    assert!(!g.wait_timeout(Duration::from_millis(20)));
    tx.send(()).unwrap();
    g.wait();
    assert!(g.is_ready() && g.is_successful());
    assert_eq!(g.join().unwrap(), 5);

    let bad = rt.spawn(|| panic!("x"));
    bad.wait();
    assert!(bad.is_ready() && !bad.is_successful());
}

#[test]
fn names_ids_and_current() {
    let rt = rt2();
    let g = Builder::new()
        .name("named-one")
        .spawn_on(rt.handle(), || {
            let me = grove::current();
            (me.id(), me.name().map(String::from), me.is_green())
        })
        .unwrap();
    let id = g.id();
    assert_eq!(g.name(), Some("named-one"));
    let (inner_id, name, green) = g.join().unwrap();
    assert_eq!(inner_id, id);
    assert_eq!(name.as_deref(), Some("named-one"));
    assert!(green);
    assert!(!grove::current().is_green());
}

#[test]
fn links_run_in_order_and_after_finish() {
    let rt = rt2();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let g = rt.spawn(move || {
        while go_rx.try_recv().is_err() {
            grove::sleep(Duration::from_millis(1));
        }
        10
    });
    for k in 0..3 {
        let seen = seen.clone();
        g.link(move |r| seen.lock().unwrap().push((k, *r.as_ref().unwrap())));
    }
    go_tx.send(()).unwrap();
    g.wait();
    assert_eq!(*seen.lock().unwrap(), vec![(0, 10), (1, 10), (2, 10)]);
    // Linked after it finished: runs at once, on the caller.
    let s2 = seen.clone();
    g.link(move |r| s2.lock().unwrap().push((3, *r.as_ref().unwrap())));
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(g.join().unwrap(), 10);

    // Links see errors too.
    let failed = Arc::new(AtomicUsize::new(0));
    let f2 = failed.clone();
    let g = rt.spawn(|| panic!("linked panic"));
    g.link(move |r| {
        if r.is_err() {
            f2.fetch_add(1, Ordering::SeqCst);
        }
    });
    g.wait();
    assert_eq!(failed.load(Ordering::SeqCst), 1);
}

#[test]
fn joinall_with_and_without_timeout() {
    let rt = rt2();
    let quick: Vec<_> = (0..50).map(|i| rt.spawn(move || i)).collect();
    assert!(grove::joinall(&quick, None));
    assert!(quick.iter().all(|g| g.is_ready()));
    let slow = vec![
        rt.spawn(|| grove::sleep(Duration::from_millis(1))),
        rt.spawn(|| grove::sleep(Duration::from_secs(30))),
    ];
    let t = Instant::now();
    assert!(!grove::joinall(&slow, Some(Duration::from_millis(30))));
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(slow[0].is_ready() && !slow[1].is_ready());
    slow[1].kill();
}

#[test]
fn spawn_later_starts_after_its_delay_and_holds_no_stack_until_then() {
    let rt = rt2();
    let t = Instant::now();
    let g = Builder::new()
        .delay(Duration::from_millis(20))
        .spawn_on(rt.handle(), Instant::now)
        .unwrap();
    let started = g.join().unwrap();
    assert!(started.duration_since(t) >= Duration::from_millis(20));
    // From inside a green thread, with the free function.
    let inner = rt.block_on(|| {
        let t = Instant::now();
        grove::spawn_later(Duration::from_millis(10), move || t.elapsed())
            .join()
            .unwrap()
    });
    assert!(inner >= Duration::from_millis(10));
    // Killed before it starts: it never runs.
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let g = Builder::new()
        .delay(Duration::from_secs(60))
        .spawn_on(rt.handle(), move || r2.fetch_add(1, Ordering::SeqCst))
        .unwrap();
    std::thread::sleep(Duration::from_millis(10));
    g.kill();
    assert!(matches!(g.join(), Err(Error::Killed)));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn spawn_from_green_threads_uses_their_runtime_and_default_runtime_works() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let workers = rt.block_on(|| grove::spawn(|| grove::Handle::current().workers()).join());
    assert_eq!(workers.unwrap(), 1);
    // No runtime set up at all: gevent style.
    assert_eq!(grove::spawn(|| 1 + 1).join().unwrap(), 2);
}
