//! Seeing inside a running runtime: snapshots and wait reasons, deadlock
//! reports, wait-for cycles, the stuck-hub watchdog, panic messages and the
//! dump on a signal.

use std::io::{Read, Write};
use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grove::{
    AsyncResult, Channel, Event, GreenState, Lock, ObjectId, Queue, RLock, Semaphore, StuckHub,
    ThreadId, WaitReason,
};

/// Polls `rt`'s snapshot until green thread `id` is parked; its reason.
fn parked_reason(h: &grove::Handle, id: ThreadId) -> WaitReason {
    let t = Instant::now();
    loop {
        let snap = h.snapshot();
        if let Some(g) = snap.thread(id) {
            if g.state == GreenState::Parked {
                if let Some(r) = g.waits_for {
                    return r;
                }
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "green thread {id} never parked: {snap}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn runtime() -> grove::Runtime {
    grove::Runtime::builder()
        .workers(2)
        .deadlock_detection(false)
        .build()
        .expect("a runtime")
}

#[test]
fn a_parked_green_thread_says_what_it_waits_for_for_every_primitive() {
    let rt = runtime();
    let h = rt.handle().clone();
    let check = |g: &grove::Greenlet<()>, want: WaitReason| {
        assert_eq!(parked_reason(&h, g.id()), want);
    };

    let g = rt.spawn(grove::park);
    check(&g, WaitReason::Park { label: None });
    g.kill();
    let g = rt.spawn(|| grove::park_with("my condition"));
    check(
        &g,
        WaitReason::Park {
            label: Some("my condition"),
        },
    );
    g.kill();
    let g = rt.spawn(|| grove::sleep(Duration::from_secs(60)));
    check(&g, WaitReason::Sleep);
    let wakes_in = h.snapshot().thread(g.id()).unwrap().wakes_in.unwrap();
    assert!(wakes_in > Duration::from_secs(50), "{wakes_in:?}");
    let sleeper = g.to_ref();
    let joiner = rt.spawn(move || sleeper.wait());
    check(&joiner, WaitReason::Join { target: g.id() });
    g.kill();
    joiner.join().unwrap();

    // A lock held by an OS thread (this one): the waiter names its holder.
    let lock = Arc::new(Lock::new());
    lock.acquire().unwrap();
    let l = lock.clone();
    let g = rt.spawn(move || l.acquire().unwrap());
    let id = ObjectId::of(&*lock);
    let got = parked_reason(&h, g.id());
    assert!(
        matches!(got, WaitReason::Lock { owner: Some(o), .. } if o == grove::current().id()),
        "{got:?}"
    );
    let WaitReason::Lock { lock: obj, .. } = got else {
        unreachable!()
    };
    // The id names the lock's shared state, inside the Lock.
    let diff = obj.as_u64().abs_diff(id.as_u64());
    assert!(diff < 64, "{obj} vs {id}");
    lock.release().unwrap();
    g.join().unwrap();

    let rlock = Arc::new(RLock::new());
    rlock.acquire();
    let l = rlock.clone();
    let g = rt.spawn(move || l.acquire());
    let got = parked_reason(&h, g.id());
    assert!(
        matches!(got, WaitReason::RLock { owner: Some(o), .. } if o == grove::current().id()),
        "{got:?}"
    );
    rlock.release().unwrap();
    g.join().unwrap();

    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let g = rt.spawn(move || s.acquire());
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::Semaphore { .. }
    ));
    sem.release();
    g.join().unwrap();

    let q = Arc::new(Queue::<u8>::bounded(1));
    let q2 = q.clone();
    let g = rt.spawn(move || {
        q2.get().unwrap();
    });
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::QueueGet { .. }
    ));
    q.put(1).unwrap();
    g.join().unwrap();
    q.put(1).unwrap();
    let q2 = q.clone();
    let g = rt.spawn(move || q2.put(2).unwrap());
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::QueuePut { .. }
    ));
    q.get().unwrap();
    g.join().unwrap();
    let q2 = q.clone();
    let g = rt.spawn(move || q2.join());
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::QueueJoin { .. }
    ));
    while q.try_get().is_ok() {}
    while q.task_done().is_ok() {}
    g.join().unwrap();

    let ch = Arc::new(Channel::<u8>::new());
    let c = ch.clone();
    let g = rt.spawn(move || c.put(1).unwrap());
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::ChannelPut { .. }
    ));
    assert_eq!(ch.get().unwrap(), 1);
    g.join().unwrap();
    let c = ch.clone();
    let g = rt.spawn(move || {
        c.get().unwrap();
    });
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::ChannelGet { .. }
    ));
    ch.put(1).unwrap();
    g.join().unwrap();

    let ev = Arc::new(Event::new());
    let e = ev.clone();
    let g = rt.spawn(move || e.wait());
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::Event { .. }
    ));
    ev.set();
    g.join().unwrap();

    let res = Arc::new(AsyncResult::<u8, ()>::new());
    let r = res.clone();
    let g = rt.spawn(move || {
        r.get().unwrap();
    });
    assert!(matches!(
        parked_reason(&h, g.id()),
        WaitReason::AsyncResult { .. }
    ));
    res.set(1).unwrap();
    g.join().unwrap();
    rt.shutdown();
}

#[test]
fn a_parked_green_thread_says_which_socket_operation_it_waits_for() {
    let rt = runtime();
    let h = rt.handle().clone();

    let listener = rt
        .block_on(|| grove::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let lfd = std::os::fd::AsRawFd::as_raw_fd(&listener);
    let listener = Arc::new(listener);
    let l = listener.clone();
    let acceptor = rt.spawn(move || l.accept().map(|(s, _)| s));
    assert_eq!(
        parked_reason(&h, acceptor.id()),
        WaitReason::Accept { fd: lfd }
    );

    // A peer that never writes: the green reader waits to read.
    let mut peer = StdStream::connect(addr).unwrap();
    let stream = acceptor.join().unwrap().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
    let stream = Arc::new(stream);
    let s = stream.clone();
    let reader = rt.spawn(move || {
        let mut buf = [0u8; 4];
        (&*s).read(&mut buf).map(drop)
    });
    assert_eq!(parked_reason(&h, reader.id()), WaitReason::Read { fd });
    peer.write_all(b"x").unwrap();
    reader.join().unwrap().unwrap();

    // A peer that never reads: the green writer fills the buffers and waits.
    let s = stream.clone();
    let writer = rt.spawn(move || {
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if (&*s).write(&chunk).is_err() {
                return;
            }
        }
    });
    assert_eq!(parked_reason(&h, writer.id()), WaitReason::Write { fd });
    drop(peer);
    writer.join().unwrap();
    rt.shutdown();
}

#[test]
fn a_two_queue_deadlock_ends_block_on_with_a_report_naming_both() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = grove::Runtime::builder()
        .workers(2)
        .on_deadlock(move |rep| r.lock().unwrap().push(rep.to_string()))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(|| {
            let a = Arc::new(Queue::<u8>::new());
            let b = Arc::new(Queue::<u8>::new());
            let (a2, b2) = (a.clone(), b.clone());
            let first = grove::Builder::new()
                .name("first")
                .spawn(move || {
                    let x = a2.get().unwrap();
                    b2.put(x).unwrap();
                })
                .unwrap();
            let second = grove::Builder::new()
                .name("second")
                .spawn(move || {
                    let x = b.get().unwrap();
                    a.put(x).unwrap();
                })
                .unwrap();
            first.join().unwrap();
            second.join().unwrap();
        })
    }))
    .expect_err("block_on must end with the deadlock");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(msg.contains("deadlock"), "{msg}");
    assert!(msg.contains("'first': Queue::get on 0x"), "{msg}");
    assert!(msg.contains("'second': Queue::get on 0x"), "{msg}");
    assert!(msg.contains("join of green thread"), "{msg}");
    assert_eq!(reports.lock().unwrap().len(), 1, "reported once");
    // `join` from outside gets it as an error value.
    let q = Arc::new(Queue::<u8>::new());
    let g = rt.spawn(move || q.get().unwrap());
    match g.join() {
        Err(grove::Error::Deadlock(rep)) => {
            assert_eq!(rep.waiting.len(), 1 + 3, "{rep}");
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    rt.shutdown();
}

#[test]
fn no_deadlock_is_reported_while_the_caller_or_outside_work_can_still_act() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let rt = grove::Runtime::builder()
        .workers(1)
        .on_deadlock(move |rep| r.lock().unwrap().push(rep.to_string()))
        .build()
        .unwrap();
    // The spawning OS thread is busy (not parked in grove) for a while.
    let q = Arc::new(Queue::<u8>::new());
    let q2 = q.clone();
    let g = rt.spawn(move || q2.get().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    q.put(7).unwrap();
    assert_eq!(g.join().unwrap(), 7);
    // A blocking-pool job longer than the detector's looks.
    let v = rt.block_on(|| {
        grove::blocking(|| {
            std::thread::sleep(Duration::from_millis(300));
            5
        })
    });
    assert_eq!(v, 5);
    // A `Thread` handle held by an OS thread that never spawned anything.
    let g = rt.spawn(|| {
        grove::park();
        9
    });
    let t = g.thread();
    let waker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        t.unpark();
    });
    assert_eq!(g.join().unwrap(), 9);
    waker.join().unwrap();
    // Declared outside work.
    let q = Arc::new(Queue::<u8>::new());
    let q2 = q.clone();
    let work = grove::OutsideWork::begin();
    let producer = std::thread::spawn(move || {
        let _work = work;
        std::thread::sleep(Duration::from_millis(300));
        q2.put(3).unwrap();
    });
    assert_eq!(rt.block_on(move || q.get().unwrap()), 3);
    producer.join().unwrap();
    assert!(
        reports.lock().unwrap().is_empty(),
        "{:?}",
        reports.lock().unwrap()
    );
    rt.shutdown();
}

#[test]
fn a_lock_and_join_cycle_among_three_is_found_while_others_keep_working() {
    let rt = runtime();
    let lock = Arc::new(Lock::new());
    let c_ref: Arc<Mutex<Option<grove::GreenletRef>>> = Arc::default();
    let held = Arc::new(Event::new());
    // a: holds the lock, then waits to join c.
    let (l, cr, hd) = (lock.clone(), c_ref.clone(), held.clone());
    let a = grove::Builder::new()
        .name("a")
        .spawn_on(rt.handle(), move || {
            l.acquire().unwrap();
            hd.set();
            let c = loop {
                if let Some(c) = cr.lock().unwrap().clone() {
                    break c;
                }
                grove::sleep(Duration::from_millis(1));
            };
            c.wait();
        })
        .unwrap();
    held.wait();
    // b: waits for the lock a holds.
    let l = lock.clone();
    let b = grove::Builder::new()
        .name("b")
        .spawn_on(rt.handle(), move || l.acquire().unwrap())
        .unwrap();
    // c: waits to join b.
    let b_ref = b.to_ref();
    let c = grove::Builder::new()
        .name("c")
        .spawn_on(rt.handle(), move || b_ref.wait())
        .unwrap();
    *c_ref.lock().unwrap() = Some(c.to_ref());
    // Meanwhile others keep working.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let worker = rt.spawn(move || {
        let mut n = 0u64;
        while !s.load(Ordering::SeqCst) {
            grove::sleep(Duration::from_millis(1));
            n += 1;
        }
        n
    });
    let t = Instant::now();
    let cycle = loop {
        let snap = rt.snapshot();
        if let Some(c) = snap.cycles().into_iter().next() {
            break c;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no cycle: {snap}");
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut ids = cycle.ids();
    ids.sort();
    let mut want = vec![a.id(), b.id(), c.id()];
    want.sort();
    assert_eq!(ids, want);
    let text = cycle.to_string();
    // From the smallest id, each waiting for the next.
    assert!(text.starts_with(&format!("green thread {} 'a' waits to join green thread {} 'c', which waits to join green thread {} 'b', which waits for the Lock 0x", a.id(), c.id(), b.id())), "{text}");
    assert!(
        text.ends_with(&format!("held by green thread {} 'a'", a.id())),
        "{text}"
    );
    stop.store(true, Ordering::SeqCst);
    assert!(worker.join().unwrap() > 0, "the rest of the program ran");
    a.kill();
    b.kill();
    c.kill();
    rt.shutdown();
}

fn watched(workers: usize) -> (grove::Runtime, Arc<Mutex<Vec<StuckHub>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let rt = grove::Runtime::builder()
        .workers(workers)
        .stuck_hub_after(Some(Duration::from_millis(100)))
        .on_stuck_hub(move |r| s.lock().unwrap().push(r.clone()))
        .build()
        .unwrap();
    (rt, seen)
}

#[test]
fn a_busy_loop_gets_exactly_one_watchdog_report_naming_it() {
    let (rt, seen) = watched(1);
    let waiting = rt.spawn(|| ());
    let g = grove::Builder::new()
        .name("spinner")
        .hub(0)
        .spawn_on(rt.handle(), || {
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(300) {
                std::hint::spin_loop();
            }
        })
        .unwrap();
    let id = g.id();
    g.join().unwrap();
    waiting.join().unwrap();
    let reports = seen.lock().unwrap().clone();
    let mine: Vec<_> = reports.iter().filter(|r| r.thread == id).collect();
    assert_eq!(mine.len(), 1, "{reports:?}");
    let r = mine[0];
    assert_eq!(r.name.as_deref(), Some("spinner"));
    assert_eq!(r.hub, 0);
    assert!(r.running_for >= Duration::from_millis(100), "{r}");
    assert!(r.to_string().contains("'spinner'"), "{r}");
    rt.shutdown();
}

#[test]
fn a_blocking_sleep_gets_exactly_one_report_with_its_system_call() {
    let (rt, seen) = watched(1);
    let g = grove::Builder::new()
        .name("sleeper")
        .spawn_on(rt.handle(), || {
            std::thread::sleep(Duration::from_millis(300));
        })
        .unwrap();
    let behind = rt.spawn(|| ());
    let id = g.id();
    g.join().unwrap();
    behind.join().unwrap();
    let reports = seen.lock().unwrap().clone();
    let mine: Vec<_> = reports.iter().filter(|r| r.thread == id).collect();
    assert_eq!(mine.len(), 1, "{reports:?}");
    assert_eq!(mine[0].name.as_deref(), Some("sleeper"));
    if cfg!(target_os = "linux") {
        assert_eq!(
            mine[0].syscall.as_deref(),
            Some("clock_nanosleep"),
            "{}",
            mine[0]
        );
    }
    rt.shutdown();
}

#[test]
fn a_switched_off_watchdog_says_nothing() {
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    let rt = grove::Runtime::builder()
        .workers(1)
        .stuck_hub_after(None)
        .on_stuck_hub(move |_| *s.lock().unwrap() += 1)
        .build()
        .unwrap();
    rt.block_on(|| std::thread::sleep(Duration::from_millis(200)));
    assert_eq!(*seen.lock().unwrap(), 0);
    rt.shutdown();
}

#[test]
fn a_snapshot_shows_hubs_and_serializes_to_json() {
    let rt = runtime();
    let g = grove::Builder::new()
        .name("json")
        .spawn_on(rt.handle(), || grove::sleep(Duration::from_secs(60)))
        .unwrap();
    parked_reason(rt.handle(), g.id());
    let snap = rt.snapshot();
    assert_eq!(snap.hubs.len(), 2);
    assert!(snap.hubs.iter().all(|h| h.os_thread.is_some()));
    let t = snap.thread(g.id()).unwrap();
    assert_eq!(t.parent, grove::current().id());
    assert!(!t.pinned);
    let text = snap.to_string();
    assert!(text.contains("'json' [parked on hub"), "{text}");
    assert!(text.contains(": sleep (wakes in"), "{text}");
    let json = serde_json::to_value(&snap).unwrap();
    let threads = json["threads"].as_array().unwrap();
    let me = threads
        .iter()
        .find(|t| t["name"] == "json")
        .expect("the green thread in the JSON");
    assert_eq!(me["state"], "Parked");
    assert_eq!(me["waits_for"], "Sleep");
    assert_eq!(me["id"], g.id().as_u64());
    g.kill();
    rt.shutdown();
}

#[test]
fn a_panic_names_the_green_thread() {
    if std::env::var_os("GROVE_PANIC_CHILD").is_some() {
        let rt = grove::Runtime::builder().workers(1).build().unwrap();
        let g = grove::Builder::new()
            .name("worker-7")
            .spawn_on(rt.handle(), || panic!("boom"))
            .unwrap();
        println!("CHILD id={}", g.id());
        assert!(g.join().is_err());
        return;
    }
    let out = grove_tests::run_child("a_panic_names_the_green_thread", "GROVE_PANIC_CHILD");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let id = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD id=").map(|(_, id)| id.trim()))
        .expect("the child's id line");
    let want = format!("grove: green thread {id} 'worker-7' (hub 0) panicked:");
    assert!(stderr.contains(&want), "{stderr}");
    assert!(stderr.contains("boom"), "{stderr}");
}

#[test]
fn a_signal_dumps_every_green_thread() {
    if std::env::var_os("GROVE_DUMP_CHILD").is_some() {
        grove::dump_on_signal(libc::SIGUSR1).unwrap();
        let rt = grove::Runtime::builder().workers(1).build().unwrap();
        let g = grove::Builder::new()
            .name("dumped")
            .spawn_on(rt.handle(), || grove::sleep(Duration::from_secs(60)))
            .unwrap();
        parked_reason(rt.handle(), g.id());
        // SAFETY: raising a signal this process handles.
        unsafe { libc::raise(libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(300));
        g.kill();
        return;
    }
    let out = grove_tests::run_child("a_signal_dumps_every_green_thread", "GROVE_DUMP_CHILD");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("grove: dump of"), "{stderr}");
    assert!(stderr.contains("'dumped' [parked on hub 0"), "{stderr}");
    assert!(grove::dump_on_signal(libc::SIGKILL).is_err());
}

#[test]
fn listener_and_stream_fds_are_counted_as_descriptors() {
    let rt = runtime();
    let listener = Arc::new(
        rt.block_on(|| grove::TcpListener::bind("127.0.0.1:0"))
            .unwrap(),
    );
    let l = listener.clone();
    let g = rt.spawn(move || l.accept().map(drop));
    parked_reason(rt.handle(), g.id());
    let snap = rt.snapshot();
    let total: usize = snap.hubs.iter().filter_map(|h| h.descriptors).sum();
    assert!(total >= 1, "{snap}");
    let _ = StdStream::connect(listener.local_addr().unwrap());
    g.join().unwrap().unwrap();
    let _unused: Option<StdListener> = None;
    rt.shutdown();
}

#[test]
fn a_green_connect_to_a_full_listener_waits_as_a_connect() {
    let rt = runtime();
    // A listener whose accept queue is full drops new SYNs, so a connect
    // to it waits (the kernel retries the SYN a second later).
    let listener = grove_tests::loopback_listener(0);
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let t = Instant::now();
    let waiter = loop {
        let g = rt.spawn(move || grove::TcpStream::connect_timeout(&addr, Duration::from_secs(30)));
        // Connected at once: it fills the queue; keep it and try again.
        let mut parked = None;
        while t.elapsed() < Duration::from_secs(10) {
            if g.is_ready() {
                break;
            }
            if let Some(r) = rt.snapshot().thread(g.id()).and_then(|t| t.waits_for) {
                parked = Some(r);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        match parked {
            Some(r) => break (g, r),
            None => {
                fillers.push(g.join().unwrap().unwrap());
                assert!(fillers.len() < 16, "the accept queue never filled");
            }
        }
    };
    let (g, reason) = waiter;
    assert!(
        matches!(reason, WaitReason::Connect { fd } if fd >= 0),
        "{reason:?}"
    );
    g.kill();
    drop(fillers);
    rt.shutdown();
}
