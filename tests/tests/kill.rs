//! Killing green threads: destructors run, `Killed` is reported, no-ops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use grove::{Builder, Error, Runtime};

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn rt2() -> Runtime {
    Runtime::builder().workers(2).build().expect("runtime")
}

fn wait_parked(g: &grove::Greenlet<()>) {
    // Give it time to reach its blocking point.
    std::thread::sleep(Duration::from_millis(20));
    assert!(!g.is_ready());
}

#[test]
fn killed_while_parked_runs_destructors_and_reports_killed() {
    let rt = rt2();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let g = rt.spawn(move || {
        let _a = Counted(d.clone());
        let _b = Counted(d);
        loop {
            grove::park();
        }
    });
    wait_parked(&g);
    g.kill();
    assert!(g.is_ready());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(matches!(g.join(), Err(Error::Killed)));
}

#[test]
fn killed_while_sleeping_runs_destructors_and_reports_killed() {
    let rt = rt2();
    let drops = Arc::new(AtomicUsize::new(0));
    let gs: Vec<_> = (0..100)
        .map(|_| {
            let d = drops.clone();
            rt.spawn(move || {
                let _c = Counted(d);
                grove::sleep(Duration::from_secs(3600));
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    for g in &gs {
        assert!(g.kill_timeout(Duration::from_secs(10)));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 100);
    for g in gs {
        assert!(matches!(g.join(), Err(Error::Killed)));
    }
}

#[test]
fn killing_a_finished_green_thread_is_a_no_op() {
    let rt = rt2();
    let g = rt.spawn(|| 9);
    g.wait();
    g.kill();
    assert!(g.kill_timeout(Duration::from_millis(1)));
    assert_eq!(g.join().unwrap(), 9);
}

#[test]
fn a_green_thread_killed_before_it_starts_never_runs() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let (r, d) = (ran.clone(), drops.clone());
    let out = rt.block_on(move || {
        // The only hub is busy with us, so the new green thread is queued.
        let c = Counted(d);
        let g = grove::spawn(move || {
            let _c = c;
            r.fetch_add(1, Ordering::SeqCst);
        });
        g.kill();
        g.join()
    });
    assert!(matches!(out, Err(Error::Killed)));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(drops.load(Ordering::SeqCst), 1, "its closure was dropped");
}

#[test]
fn a_green_thread_can_kill_itself_and_kill_reaches_yielders_and_joiners() {
    let rt = rt2();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let (tx, rx) = std::sync::mpsc::channel::<Arc<grove::Greenlet<()>>>();
    let me = Arc::new(rt.spawn(move || {
        let _c = Counted(d);
        let own = rx.recv().unwrap();
        own.kill(); // unwinds at once
        unreachable!("kill of self returned");
    }));
    tx.send(me.clone()).unwrap();
    me.wait();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let me = Arc::try_unwrap(me).expect("last handle");
    assert!(matches!(me.join(), Err(Error::Killed)));

    // Kill a yield loop.
    let spinner = rt.spawn(|| loop {
        grove::yield_now();
    });
    assert!(spinner.kill_timeout(Duration::from_secs(10)));
    assert!(matches!(spinner.join(), Err(Error::Killed)));

    // Kill a green thread blocked joining another.
    let forever = Arc::new(rt.spawn(grove::park));
    let f2 = forever.clone();
    let joiner = rt.spawn(move || f2.wait());
    std::thread::sleep(Duration::from_millis(20));
    joiner.kill();
    assert!(matches!(joiner.join(), Err(Error::Killed)));
    forever.kill();
}

#[test]
fn kill_delivered_while_destructor_blocks_during_unwind() {
    // A destructor that sleeps while its green thread unwinds from a kill
    // blocks in place and still finishes; the hub keeps working.
    let rt = rt2();
    struct SlowDrop(Arc<AtomicUsize>);
    impl Drop for SlowDrop {
        fn drop(&mut self) {
            grove::sleep(Duration::from_millis(5));
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let g = rt.spawn(move || {
        let _s = SlowDrop(d);
        grove::park();
    });
    std::thread::sleep(Duration::from_millis(10));
    g.kill();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(rt.block_on(|| 1), 1);
}

#[test]
fn shutdown_kills_live_green_threads_and_runs_their_destructors() {
    let rt = rt2();
    let drops = Arc::new(AtomicUsize::new(0));
    let mut gs = Vec::new();
    for i in 0..50 {
        let d = drops.clone();
        gs.push(rt.spawn(move || {
            let _c = Counted(d);
            if i % 2 == 0 {
                grove::park();
            } else {
                grove::sleep(Duration::from_secs(3600));
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(20));
    let handle = rt.handle().clone();
    rt.shutdown();
    assert_eq!(drops.load(Ordering::SeqCst), 50);
    for g in gs {
        assert!(matches!(g.join(), Err(Error::Killed)));
    }
    assert_eq!(handle.live(), 0);
    let err = Builder::new().spawn_on(&handle, || ()).unwrap_err();
    assert!(matches!(err, grove::SpawnError::ShutDown));
}

/// Kills a green thread before it starts while its only hub is busy, when
/// one of its captured values panics in `Drop`: the panic is contained (the
/// joiner sees `Killed`) and the hub lives on.
#[test]
fn killing_before_start_when_a_captured_drop_panics_is_contained() {
    use std::sync::atomic::AtomicBool;
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a captured value panics in Drop");
        }
    }
    let rt = Runtime::builder().workers(1).build().unwrap();
    let hold = Arc::new(AtomicBool::new(true));
    let h = hold.clone();
    let hog = rt.spawn(move || {
        while h.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    std::thread::sleep(Duration::from_millis(10));
    let captured = PanicOnDrop;
    let victim = rt.spawn(move || {
        let _keep = &captured;
    });
    victim.to_ref().kill_nowait();
    hold.store(false, Ordering::SeqCst);
    hog.join().unwrap();
    assert!(matches!(victim.join(), Err(Error::Killed)));
    assert_eq!(rt.block_on(|| 5), 5, "the hub lives on");
}
