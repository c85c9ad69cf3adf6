//! Unix signals waited for by green threads (gevent's `signal_handler`):
//! the waiting green thread parks, its hub runs on, and a server stops
//! gracefully on `SIGTERM`. Signals are process-wide, so these tests take
//! turns.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use grove::signals::{SIGTERM, SIGUSR1, SIGUSR2};

static TURN: Mutex<()> = Mutex::new(());

fn raise(sig: i32) {
    // SAFETY: raise(3) has no preconditions.
    unsafe {
        libc::raise(sig);
    }
}

#[test]
fn a_green_thread_waits_for_a_signal_without_blocking_its_hub() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    let signals = grove::Signals::new(&[SIGUSR1, SIGUSR2]).unwrap();
    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Same hub as the waiter: it only ticks if the waiter parks.
    let ticker = grove_tests::ticker(rt.handle(), ticks.clone(), stop.clone());
    let waiter = rt.handle().spawn(move || {
        let first = signals.wait().unwrap();
        let none = signals.wait_timeout(Duration::from_millis(5)).unwrap();
        (first, none)
    });
    let start = Instant::now();
    while ticks.load(Ordering::SeqCst) < 5 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(ticks.load(Ordering::SeqCst) >= 5, "the hub was blocked");
    raise(SIGUSR2);
    assert_eq!(waiter.join().unwrap(), (SIGUSR2, None));
    stop.store(true, Ordering::SeqCst);
    ticker.join().unwrap();
    rt.shutdown();
}

#[test]
fn signal_handler_runs_its_handler_for_each_signal_until_cancelled() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let (tx, rx) = mpsc::channel();
    let h = grove::signal_handler(SIGUSR1, move |sig| tx.send(sig).unwrap()).unwrap();
    grove::sleep(Duration::from_millis(10));
    raise(SIGUSR1);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), SIGUSR1);
    grove::sleep(Duration::from_millis(10));
    raise(SIGUSR1);
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), SIGUSR1);
    h.cancel();
    raise(SIGUSR1); // ignored now, and the process lives on
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}

#[test]
fn a_timeout_or_a_kill_interrupts_a_signal_wait() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let signals = grove::Signals::new(&[SIGUSR2]).unwrap();
    let r = grove::spawn(move || {
        grove::with_timeout(Duration::from_millis(10), || signals.wait()).is_err()
    });
    assert!(r.join().unwrap());
    assert!(grove::Signals::new(&[libc::SIGKILL]).is_err());
}

#[test]
fn a_server_stops_gracefully_on_sigterm() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let server = grove::StreamServer::bind("127.0.0.1:0", |conn, _| {
        let mut buf = [0u8; 5];
        let mut c = &conn;
        if c.read_exact(&mut buf).is_ok() {
            let _ = c.write_all(&buf);
        }
    })
    .unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let stop = grove::Signals::new(&[SIGTERM]).unwrap();
    let waiter = grove::spawn(move || stop.wait().unwrap());

    // A request in flight when the signal comes is still answered.
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"he").unwrap();
    grove::sleep(Duration::from_millis(10));
    raise(SIGTERM);
    assert_eq!(waiter.join().unwrap(), SIGTERM);
    let stopper = std::thread::spawn(move || server.stop(Duration::from_secs(10)));
    c.write_all(b"llo").unwrap();
    let mut reply = [0u8; 5];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"hello");
    drop(c);
    assert!(
        stopper.join().unwrap(),
        "the server did not stop gracefully"
    );
    assert!(std::net::TcpStream::connect(addr).is_err());
}
