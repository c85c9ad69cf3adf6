//! `Timeout` and `with_timeout` (gevent's `Timeout`): identity when nested,
//! every blocking call interrupted, destructors run, primitives usable after;
//! and `throw` / `kill_with` (gevent's `kill(exception=...)`).

use std::io::{Read, Write};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{with_timeout, Expired, Timeout};

const SHORT: Duration = Duration::from_millis(20);
const LONG: Duration = Duration::from_secs(30);

/// Runs `f` in a green thread of a fresh two-hub runtime.
fn green<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let rt = grove::Runtime::builder().workers(2).build().unwrap();
    let v = rt.block_on(f);
    rt.shutdown();
    v
}

/// Counts its drops: a destructor that must run on the way out.
struct Guard(Arc<AtomicUsize>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `op` must be interrupted by a short timeout, run its destructors, and
/// leave no effect that a following call would see.
fn interrupted(what: &str, op: impl FnOnce()) {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let t = Instant::now();
    let r = with_timeout(SHORT, move || {
        let _g = Guard(d);
        op();
    });
    assert!(r.is_err(), "{what}: not interrupted");
    assert_eq!(r.unwrap_err().after(), SHORT);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "{what}: destructor did not run"
    );
    assert!(t.elapsed() < LONG, "{what}: ran to its own end");
}

#[test]
fn nested_timeouts_each_end_with_their_own_identity() {
    green(|| {
        // The inner one passes first: only it ends.
        let outer = with_timeout(Duration::from_secs(10), || {
            let inner = with_timeout(SHORT, || grove::sleep(LONG));
            assert!(inner.is_err());
            "outer went on"
        });
        assert_eq!(outer.unwrap(), "outer went on");

        // The outer one passes first: the inner scope lets it through.
        let inner_saw = Arc::new(AtomicUsize::new(0));
        let seen = inner_saw.clone();
        let outer = with_timeout(SHORT, move || {
            let inner = with_timeout(Duration::from_secs(10), || grove::sleep(LONG));
            seen.fetch_add(1, Ordering::SeqCst); // never reached
            inner
        });
        let e = outer.unwrap_err();
        assert_eq!(e.after(), SHORT);
        assert_eq!(inner_saw.load(Ordering::SeqCst), 0);

        // Both have passed by the same blocking point: the outermost is
        // raised, never swallowed by the inner scope.
        let outer = Timeout::start(Duration::from_millis(5));
        let r = catch_unwind(AssertUnwindSafe(|| {
            with_timeout(Duration::from_millis(5), || {
                let until = Instant::now() + Duration::from_millis(15);
                while Instant::now() < until {
                    std::hint::spin_loop(); // no blocking point
                }
                grove::yield_now();
            })
        }));
        let p = r.unwrap_err();
        assert!(
            outer.is(&*p),
            "the outer timeout's expiry was not the one raised"
        );
    });
}

#[test]
fn code_inside_can_tell_whose_expiry_it_is() {
    green(|| {
        let mine = Timeout::start(SHORT);
        let other = Timeout::start(LONG);
        let p = catch_unwind(grove::park).unwrap_err();
        assert!(mine.is(&*p));
        assert!(!other.is(&*p));
        let e = p.downcast_ref::<Expired>().unwrap();
        assert!(e.is(&mine) && !e.is(&other));
        assert!(mine.is_expired() && !mine.is_pending());
        assert!(other.is_pending());
        // It fired once: blocking again is not interrupted by it.
        grove::sleep(Duration::from_millis(2));
    });
}

#[test]
fn a_cancelled_or_dropped_timeout_never_fires() {
    green(|| {
        let mut t = Timeout::start(Duration::from_millis(1));
        t.cancel();
        grove::sleep(Duration::from_millis(10));
        drop(Timeout::start(Duration::from_millis(1)));
        grove::sleep(Duration::from_millis(10));
        assert_eq!(with_timeout(LONG, || 5).unwrap(), 5);
    });
}

#[test]
fn an_uncaught_expiry_ends_the_green_thread_with_it() {
    let g = grove::spawn(|| {
        let _t = Timeout::start(SHORT);
        grove::sleep(LONG);
    });
    match g.join() {
        Err(grove::Error::Panicked(p)) => assert!(p.is::<Expired>()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_timeout_interrupts_every_blocking_primitive() {
    green(|| {
        interrupted("park", grove::park);
        interrupted("sleep", || grove::sleep(LONG));

        let q = grove::Queue::<u32>::new();
        interrupted("Queue::get", || {
            let _ = q.get();
        });
        // The interrupted getter left the line: an item goes to the next.
        q.put(1).unwrap();
        assert_eq!(q.try_get().unwrap(), 1);

        let full = grove::Queue::bounded(1);
        full.put(1).unwrap();
        interrupted("Queue::put", || {
            let _ = full.put(2);
        });
        assert_eq!(full.len(), 1);

        let jq = grove::JoinableQueue::<u32>::new();
        jq.put(1).unwrap();
        interrupted("JoinableQueue::join", || jq.join());

        let ch = grove::Channel::<u32>::new();
        interrupted("Channel::put", || {
            let _ = ch.put(1);
        });

        let sem = grove::Semaphore::new(0);
        interrupted("Semaphore::acquire", || sem.acquire());
        sem.release();
        assert!(
            sem.try_acquire(),
            "the interrupted acquirer took the permit"
        );

        let lock = Arc::new(grove::Lock::new());
        let l2 = lock.clone();
        let holder = grove::spawn(move || {
            let _held = l2.acquire_guard().unwrap();
            grove::sleep(Duration::from_millis(200));
        });
        grove::sleep(Duration::from_millis(5));
        interrupted("Lock::acquire", || {
            let _ = lock.acquire();
        });
        holder.join().unwrap();

        let rlock = Arc::new(grove::RLock::new());
        let r2 = rlock.clone();
        let rholder = grove::spawn(move || {
            let _held = r2.acquire_guard();
            grove::sleep(Duration::from_millis(200));
        });
        grove::sleep(Duration::from_millis(5));
        interrupted("RLock::acquire", || rlock.acquire());
        rholder.join().unwrap();

        let empty = grove::Queue::<u32>::new();
        interrupted("Queue::peek", || {
            let _ = empty.peek();
        });
        interrupted("Semaphore::wait", || grove::Semaphore::new(0).wait());
        let group = grove::Group::new();
        group.spawn(|| grove::sleep(Duration::from_secs(60)));
        interrupted("Group::join", || group.join());
        group.kill();

        let ev = grove::Event::new();
        interrupted("Event::wait", || ev.wait());
        interrupted("block_on", || {
            grove::block_on(std::future::pending::<()>());
        });
        let signals = grove::Signals::new(&[grove::signals::SIGUSR2]).unwrap();
        interrupted("Signals::wait", || {
            let _ = signals.wait();
        });
        drop(signals);
        let mut child =
            grove::process::spawn(std::process::Command::new("sleep").arg("60")).unwrap();
        interrupted("Child::wait", || {
            let _ = child.wait();
        });
        child.kill().unwrap();
        child.wait().unwrap();

        let ar = grove::AsyncResult::<u32, ()>::new();
        interrupted("AsyncResult::get", || {
            let _ = ar.get();
        });

        let sleeper = grove::spawn(|| grove::sleep(Duration::from_secs(60)));
        interrupted("Greenlet::wait", || sleeper.wait());
        sleeper.kill();

        let pool = grove::Pool::new(1);
        let busy = pool.spawn(|| grove::sleep(Duration::from_secs(60)));
        interrupted("Pool::spawn when full", || {
            pool.spawn(|| ());
        });
        busy.kill();

        interrupted("blocking()", || {
            grove::blocking(|| std::thread::sleep(Duration::from_millis(300)));
        });
    });
}

#[test]
fn a_timeout_interrupts_socket_calls() {
    green(|| {
        let listener = grove::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        interrupted("TcpListener::accept", || {
            let _ = listener.accept();
        });

        let mut client = grove::TcpStream::connect(addr).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut buf = [0u8; 16];
        interrupted("TcpStream::read", || {
            let _ = client.read(&mut buf);
        });
        // Still usable afterwards.
        server.write_all(b"hi").unwrap();
        let n = client.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hi");

        // A writer whose peer never reads fills the buffers, then blocks.
        interrupted("TcpStream::write", || {
            let chunk = vec![0u8; 1 << 16];
            loop {
                if client.write(&chunk).is_err() {
                    break;
                }
            }
        });

        let udp = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
        interrupted("UdpSocket::recv_from", || {
            let _ = udp.recv_from(&mut buf);
        });
    });
}

#[test]
fn a_timeout_works_on_a_plain_os_thread() {
    let q = grove::Queue::<u32>::new();
    let r = with_timeout(SHORT, || q.get());
    assert!(r.is_err());
    let e = with_timeout(SHORT, || grove::sleep(LONG)).unwrap_err();
    assert_eq!(e.to_string(), "timed out after 20ms");
}

#[test]
fn a_timeout_does_not_interrupt_cleanup_that_blocks() {
    green(|| {
        struct BlocksInDrop(Arc<AtomicUsize>);
        impl Drop for BlocksInDrop {
            fn drop(&mut self) {
                // Unwinding already: the expiry of `_inner` waits.
                grove::sleep(Duration::from_millis(30));
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let r = with_timeout(SHORT, move || {
            // Declared first, dropped last: still active, and passed, while
            // `_b`'s destructor sleeps.
            let _inner = Timeout::start(Duration::from_millis(25));
            let _b = BlocksInDrop(d);
            grove::sleep(LONG);
        });
        assert!(r.is_err());
        assert_eq!(
            done.load(Ordering::SeqCst),
            1,
            "the destructor was cut short"
        );
    });
}

#[derive(Debug, PartialEq)]
struct Stop(u32);

#[test]
fn throw_unwinds_with_the_value_and_runs_destructors() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let g = grove::spawn(move || {
        let _g = Guard(d);
        match catch_unwind(grove::park) {
            Err(p) => match p.downcast::<Stop>() {
                Ok(s) => s.0,
                Err(p) => resume_unwind(p),
            },
            Ok(()) => 0,
        }
    });
    grove::sleep(Duration::from_millis(5));
    g.throw(Stop(9));
    assert_eq!(g.join().unwrap(), 9);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // Uncaught, it is the green thread's error.
    let g = grove::spawn(|| loop {
        grove::park()
    });
    g.kill_with(Stop(3));
    match g.join() {
        Err(grove::Error::Panicked(p)) => assert_eq!(*p.downcast::<Stop>().unwrap(), Stop(3)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn throw_before_start_means_it_never_runs() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let gs = rt.block_on(move || {
        // The hub is busy with us: the new green thread has not started.
        let g = grove::spawn(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        g.throw(Stop(1));
        g
    });
    match gs.join() {
        Err(grove::Error::Panicked(p)) => assert!(p.is::<Stop>()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    rt.shutdown();
}

#[test]
fn a_kill_wins_over_a_pending_value_and_a_value_never_over_a_kill() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let (a, b) = rt.block_on(|| {
        let a = grove::spawn(|| ());
        a.throw(Stop(1));
        a.kill_nowait();
        let b = grove::spawn(|| ());
        b.kill_nowait();
        b.throw(Stop(2));
        (a, b)
    });
    assert!(matches!(a.join(), Err(grove::Error::Killed)));
    assert!(matches!(b.join(), Err(grove::Error::Killed)));
    rt.shutdown();
}
