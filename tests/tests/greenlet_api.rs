//! gevent's Greenlet API beyond spawn/join, ported from its test-suite
//! (`test__greenlet.py`, `test__joinall.py`, `test__killall*.py`,
//! `test__iwait.py`, `test___monitor`-free parts): outcome read without
//! consuming the handle, links by kind and `unlink`, created-then-started
//! green threads, `killall`, `wait` / `iwait`, `joinall` with `raise_error`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use grove::Waitable;

#[test]
fn value_and_exception_are_readable_without_consuming_the_handle() {
    // test__greenlet: TestBasic value/exception after join.
    let ok = grove::spawn(|| vec![1, 2, 3]);
    assert_eq!(ok.get(), Some(&vec![1, 2, 3]));
    assert_eq!(ok.value(), Some(&vec![1, 2, 3]));
    assert_eq!(ok.exception(), None);
    assert_eq!(ok.join().unwrap(), vec![1, 2, 3]);

    let bad = grove::spawn(|| -> u8 { panic!("expected error") });
    assert_eq!(bad.get(), None);
    assert_eq!(
        bad.exception().as_deref(),
        Some("the green thread panicked: expected error")
    );
    assert!(bad.join().is_err());

    let running = grove::spawn(|| loop {
        grove::park()
    });
    assert_eq!(running.value(), None);
    assert_eq!(running.exception(), None);
    running.kill();
    assert_eq!(
        running.exception().as_deref(),
        Some("the green thread was killed")
    );
}

#[test]
fn link_value_and_link_exception_fire_only_for_their_outcome() {
    // test__greenlet: TestLink link_value / link_exception.
    let (tx, rx) = mpsc::channel::<&'static str>();
    let ok = grove::Builder::new().create(|| 1).unwrap();
    let t1 = tx.clone();
    let t2 = tx.clone();
    ok.link_value(move |_| t1.send("value").unwrap());
    ok.link_exception(move |_| t2.send("exception on ok").unwrap());
    ok.start();
    ok.wait();

    let bad = grove::Builder::new()
        .create(|| -> u8 { panic!("x") })
        .unwrap();
    let t3 = tx.clone();
    let t4 = tx.clone();
    bad.link_value(move |_| t3.send("value on bad").unwrap());
    bad.link_exception(move |_| t4.send("exception").unwrap());
    bad.start();
    bad.wait();
    drop(tx);
    let got: Vec<_> = rx.iter().collect();
    assert_eq!(got, ["value", "exception"]);
}

#[test]
fn unlink_removes_a_callback_that_has_not_run() {
    // test__greenlet: test_unlink.
    let hits = Arc::new(AtomicUsize::new(0));
    let g = grove::Builder::new().create(|| ()).unwrap();
    let h1 = hits.clone();
    let h2 = hits.clone();
    let a = g.link(move |_| {
        h1.fetch_add(1, Ordering::SeqCst);
    });
    let b = g.link(move |_| {
        h2.fetch_add(10, Ordering::SeqCst);
    });
    assert!(g.unlink(a.unwrap()));
    assert!(!g.unlink(a.unwrap()), "removed twice");
    g.start();
    g.wait();
    assert_eq!(hits.load(Ordering::SeqCst), 10);
    assert!(
        !g.unlink(b.unwrap()),
        "a callback that ran cannot be removed"
    );
    // Linked after the end: runs now, nothing to unlink.
    assert!(g.link(|_| ()).is_none());
}

/// A created (not started) green thread that counts its runs.
fn counting_created() -> (Arc<AtomicUsize>, grove::Greenlet<()>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let g = grove::Builder::new()
        .create(move || {
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    (ran, g)
}

#[test]
fn created_green_threads_run_only_once_started() {
    // test__greenlet: Greenlet(run) then start() / start_later().
    let (ran, g) = counting_created();
    grove::sleep(Duration::from_millis(10));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(!g.is_ready() && !g.is_started());
    assert!(!g.wait_timeout(Duration::from_millis(5)));
    assert!(g.start());
    assert!(
        !g.start() && !g.start_later(Duration::ZERO),
        "started twice"
    );
    g.wait();
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    let t = Instant::now();
    let later = grove::Builder::new().create(Instant::now).unwrap();
    assert!(later.start_later(Duration::from_millis(20)));
    let started_at = later.join().unwrap();
    assert!(started_at - t >= Duration::from_millis(20));

    // A spawned green thread is started already.
    let s = grove::spawn(|| ());
    assert!(s.is_started() && !s.start());
    s.wait();
}

#[test]
fn a_created_green_thread_killed_before_its_start_never_runs() {
    // test__greenlet: kill before start.
    let (ran, g) = counting_created();
    g.kill();
    assert!(g.is_ready());
    assert!(!g.start(), "a killed green thread started");
    grove::sleep(Duration::from_millis(5));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(matches!(g.join(), Err(grove::Error::Killed)));

    // And a runtime's shutdown ends created green threads too.
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let never = grove::Builder::new().create_on(rt.handle(), || ()).unwrap();
    assert!(rt.shutdown_timeout(Duration::from_secs(5)));
    assert!(matches!(never.join(), Err(grove::Error::Killed)));
}

#[test]
fn killall_kills_every_one_and_can_skip_waiting() {
    // test__killall: killall(greenlets), killall(block=False).
    let gs: Vec<_> = (0..20)
        .map(|_| grove::spawn(|| grove::sleep(Duration::from_secs(60))))
        .collect();
    assert!(grove::killall(&gs, None));
    assert!(gs.iter().all(|g| g.is_ready()));

    let slow_to_die: Vec<_> = (0..3)
        .map(|_| {
            grove::spawn(|| {
                struct SlowDrop;
                impl Drop for SlowDrop {
                    fn drop(&mut self) {
                        grove::sleep(Duration::from_millis(50));
                    }
                }
                let _d = SlowDrop;
                grove::park();
            })
        })
        .collect();
    grove::sleep(Duration::from_millis(5));
    assert!(!grove::killall(&slow_to_die, Some(Duration::ZERO)));
    assert!(grove::killall(&slow_to_die, Some(Duration::from_secs(10))));
}

#[test]
fn iwait_yields_in_the_order_objects_become_ready() {
    // test__iwait: results come as they finish, each once.
    let gs: Vec<_> = [40u64, 10, 25, 0]
        .iter()
        .map(|&ms| grove::spawn(move || grove::sleep(Duration::from_millis(ms))))
        .collect();
    let objects: Vec<&dyn Waitable> = gs.iter().map(|g| g as _).collect();
    let order: Vec<usize> = grove::iwait(&objects, None).collect();
    assert_eq!(order, [3, 1, 2, 0]);
    // All ready now: they come in index order.
    let again: Vec<usize> = grove::iwait(&objects, None).collect();
    assert_eq!(again, [0, 1, 2, 3]);
}

#[test]
fn wait_honours_count_and_timeout() {
    // test__wait (gevent.wait(objects, timeout, count)).
    let fast = grove::spawn(|| ());
    let slow = grove::spawn(|| grove::sleep(Duration::from_secs(60)));
    let objects: [&dyn Waitable; 2] = [&fast, &slow];
    assert_eq!(grove::wait(&objects, Some(1), None), [0]);
    let t = Instant::now();
    assert_eq!(
        grove::wait(&objects, None, Some(Duration::from_millis(20))),
        [0]
    );
    assert!(t.elapsed() >= Duration::from_millis(20));
    assert!(grove::wait(&[], None, None).is_empty());
    slow.kill();
    assert_eq!(grove::wait(&objects, None, None).len(), 2);
}

#[test]
fn an_abandoned_iwait_leaves_no_registration_behind() {
    let g = grove::spawn(|| grove::sleep(Duration::from_millis(20)));
    {
        let objects: [&dyn Waitable; 1] = [&g];
        let mut it = grove::iwait(&objects, Some(Duration::from_millis(1)));
        assert_eq!(it.next(), None); // timed out
    }
    // The green thread finishes later and wakes nobody stale; a new wait works.
    let objects: [&dyn Waitable; 1] = [&g];
    assert_eq!(grove::wait(&objects, None, None), [0]);
}

#[test]
fn try_joinall_stops_at_the_first_failure() {
    // test__joinall: raise_error=True.
    let gs = vec![
        grove::spawn(|| grove::sleep(Duration::from_secs(60))),
        grove::spawn(|| {
            grove::sleep(Duration::from_millis(5));
            panic!("fails")
        }),
    ];
    let t = Instant::now();
    assert_eq!(grove::try_joinall(&gs, None), Err(1));
    assert!(t.elapsed() < Duration::from_secs(30));
    assert!(grove::killall(&gs, None));

    let ok: Vec<_> = (0..4).map(|i| grove::spawn(move || i)).collect();
    assert_eq!(grove::try_joinall(&ok, None), Ok(true));
    // `park` may return spuriously (as std's): loop to stay parked.
    let stuck = vec![grove::spawn(|| loop {
        grove::park()
    })];
    assert_eq!(
        grove::try_joinall(&stuck, Some(Duration::from_millis(5))),
        Ok(false)
    );
    stuck[0].kill();
}

#[test]
fn a_greenlet_ref_is_waitable_too() {
    let g = grove::spawn(|| grove::sleep(Duration::from_millis(5)));
    let r = g.to_ref();
    let objects: [&dyn Waitable; 1] = [&r];
    assert_eq!(grove::wait(&objects, None, None), [0]);
}
