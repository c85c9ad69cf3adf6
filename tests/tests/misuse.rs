//! Misuse gets a clear error or panic message, never undefined behaviour.

use std::time::Duration;

use grove::{BuildError, Builder, Error, Runtime, SpawnError};

#[test]
fn zero_and_too_many_workers_are_refused() {
    let e = Runtime::builder().workers(0).build().unwrap_err();
    assert!(matches!(e, BuildError::ZeroWorkers));
    assert_eq!(e.to_string(), "a runtime needs at least one worker");
    let e = Runtime::builder().workers(1 << 20).build().unwrap_err();
    assert!(matches!(e, BuildError::TooManyWorkers { .. }));
}

#[test]
fn absurd_stack_sizes_are_refused() {
    for bad in [0, 1, 4096, usize::MAX, (1 << 30) + 1] {
        let e = Runtime::builder().stack_size(bad).build().unwrap_err();
        assert!(
            matches!(e, BuildError::StackSize(SpawnError::StackSize { .. })),
            "{bad}"
        );
        let e = Builder::new().stack_size(bad).spawn(|| ()).unwrap_err();
        assert!(matches!(e, SpawnError::StackSize { requested } if requested == bad));
        assert!(e.to_string().contains("out of range"));
    }
}

#[test]
fn a_green_thread_joining_itself_gets_an_error() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<grove::Greenlet<Result<(), Error>>>();
    let g = rt.spawn(move || {
        std::thread::sleep(Duration::from_millis(1));
        let own = rx.recv().unwrap();
        own.join().map(|_| ())
    });
    // The handle travels into the green thread, which tries to join itself;
    // its own result is then lost, so we watch it through a link.
    let (rtx, rrx) = std::sync::mpsc::channel();
    g.link(move |r| {
        let _ = rtx.send(matches!(r, Ok(Err(Error::JoinSelf))));
    });
    tx.send(g).unwrap();
    assert!(rrx.recv_timeout(Duration::from_secs(10)).unwrap());
    assert_eq!(
        Error::JoinSelf.to_string(),
        "a green thread cannot join itself"
    );
}

#[test]
fn waiting_for_yourself_panics_with_a_clear_message() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<std::sync::Arc<grove::Greenlet<()>>>();
    let g = std::sync::Arc::new(rt.spawn(move || rx.recv().unwrap().wait()));
    tx.send(g.clone()).unwrap();
    g.wait();
    let g = std::sync::Arc::try_unwrap(g).unwrap();
    let err = g.join().unwrap_err();
    assert!(
        err.panic_message()
            .unwrap()
            .contains("cannot wait for itself"),
        "{err}"
    );
}

#[test]
fn spawning_on_a_runtime_that_has_shut_down_is_an_error() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let h = rt.handle().clone();
    rt.shutdown();
    let e = Builder::new().spawn_on(&h, || ()).unwrap_err();
    assert!(matches!(e, SpawnError::ShutDown));
    assert_eq!(e.to_string(), "the runtime has shut down");
    let caught = std::panic::catch_unwind(|| h.spawn(|| ()));
    let msg = caught.unwrap_err();
    assert!(msg.downcast_ref::<String>().unwrap().contains("shut down"));
}

#[test]
fn pinning_to_a_hub_that_does_not_exist_is_an_error() {
    let rt = Runtime::builder().workers(2).build().unwrap();
    let e = Builder::new()
        .hub(2)
        .spawn_on(rt.handle(), || ())
        .unwrap_err();
    assert!(matches!(e, SpawnError::NoSuchHub { index: 2, hubs: 2 }));
    assert!(e.to_string().contains("no hub 2"));
}

#[test]
fn shutting_down_from_an_own_green_thread_panics_clearly() {
    let rt = Runtime::builder().workers(1).build().unwrap();
    let h = rt.handle().clone();
    let (tx, rx) = std::sync::mpsc::channel::<Runtime>();
    let g = h.spawn(move || rx.recv().unwrap().shutdown());
    tx.send(rt).unwrap();
    let err = g.join().unwrap_err();
    assert!(
        err.panic_message().unwrap().contains("own green threads"),
        "{err}"
    );
}

#[test]
fn a_panicking_link_added_after_the_end_is_contained() {
    let g = grove::spawn(|| 1);
    g.wait();
    g.link(|_| panic!("a link callback fails"));
    assert_eq!(g.join().unwrap(), 1);
}

/// A driver whose `park` panics once: the panic happens on the hub's own
/// stack; it is reported and the hub goes on serving green threads.
#[test]
fn a_panic_in_a_driver_does_not_end_its_hub() {
    use grove::{Driver, ThreadParker};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Flaky(ThreadParker, Arc<AtomicUsize>);
    impl Driver for Flaky {
        fn park(&self, t: Option<Duration>) {
            if self.1.fetch_add(1, Ordering::SeqCst) < 3 {
                panic!("the driver fails");
            }
            self.0.park(t)
        }
        fn unpark(&self) {
            self.0.unpark()
        }
    }
    let parks = Arc::new(AtomicUsize::new(0));
    let p = parks.clone();
    let rt = Runtime::builder()
        .workers(1)
        .driver(move |_| Box::new(Flaky(ThreadParker::new(), p.clone())))
        .build()
        .unwrap();
    // Sleep until the driver has panicked three times and been used once
    // more, each time through a green thread that must still complete.
    let mut rounds = 0;
    while parks.load(Ordering::SeqCst) <= 3 {
        rounds += 1;
        assert!(rounds < 1_000, "the hub stopped parking its driver");
        let v = rt.block_on(move || {
            grove::sleep(Duration::from_millis(2));
            rounds
        });
        assert_eq!(v, rounds);
    }
    assert_eq!(rt.block_on(|| 7), 7, "the hub lives on");
}
