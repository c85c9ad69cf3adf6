//! Ten thousand concurrent loopback connections, each echoing its own bytes.
//!
//! Both ends in one process would need 20,000 descriptors and more, and the
//! hard limit on these machines is 20,000, so the clients run in a child
//! process (the same test binary): each process holds 10,000 sockets.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Event, Runtime, Semaphore, StreamServer, TcpListener, TcpStream};
use grove_tests::run_child_with;

const CONNS: usize = 10_000;
const LEN: usize = 256;

fn rt2() -> Runtime {
    Runtime::builder()
        .workers(2)
        .driver(grove::reactors())
        .build()
        .expect("runtime")
}

/// Raises the soft descriptor limit to the hard one.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass, valid for the call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the struct we pass, valid for the call.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    lim.rlim_cur
}

fn pattern(conn: usize) -> Vec<u8> {
    (0..LEN).map(|i| (i * 13 + conn * 7) as u8).collect()
}

/// The client side, in the child: 10,000 connections, all open at once,
/// then every one sends its pattern and checks what comes back.
fn clients(addr: &str) {
    let rt = rt2();
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let all_open = Arc::new(Event::new());
    let connected = Arc::new(AtomicUsize::new(0));
    // At most 512 connection attempts at once, so the server's accept queue
    // never overflows (which would cost a 1 s SYN retry).
    let attempts = Arc::new(Semaphore::new(512));
    let gs: Vec<_> = (0..CONNS)
        .map(|c| {
            let (all_open, attempts, connected) =
                (all_open.clone(), attempts.clone(), connected.clone());
            rt.spawn(move || {
                let s = {
                    let _attempt = attempts.acquire_guard();
                    TcpStream::connect(addr).unwrap()
                };
                connected.fetch_add(1, Ordering::SeqCst);
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                all_open.wait();
                let data = pattern(c);
                (&s).write_all(&data).unwrap();
                let mut got = vec![0u8; LEN];
                (&s).read_exact(&mut got).unwrap();
                got == data
            })
        })
        .collect();
    let start = Instant::now();
    while connected.load(Ordering::SeqCst) < CONNS {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "connecting took too long"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    all_open.set();
    let echoed = gs
        .into_iter()
        .map(|g| g.join().unwrap())
        .filter(|&ok| ok)
        .count();
    println!("ALL-ECHOED {echoed}");
}

#[test]
fn ten_thousand_concurrent_connections_echo_every_byte() {
    if let Some(addr) = std::env::var_os("GROVE_MANY_CLIENTS") {
        assert!(raise_fd_limit() >= CONNS as u64 + 100, "fd limit too low");
        clients(addr.to_str().unwrap());
        return;
    }
    assert!(raise_fd_limit() >= CONNS as u64 + 100, "fd limit too low");
    let rt = rt2();
    let socket = grove_tests::loopback_listener(4096);
    let listener = TcpListener::from_std(socket.into()).unwrap();
    let server = StreamServer::new(listener, |conn, _| {
        let mut buf = [0u8; LEN];
        loop {
            match (&conn).read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => (&conn).write_all(&buf[..n]).unwrap(),
            }
        }
    });
    let addr = server.local_addr().unwrap().to_string();
    let server = Arc::new(server);
    let s = server.clone();
    rt.block_on(move || s.start().unwrap());
    let out = run_child_with(
        "ten_thousand_concurrent_connections_echo_every_byte",
        "GROVE_MANY_CLIENTS",
        &addr,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ALL-ECHOED 10000"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.stop(Duration::from_secs(10)), "every handler ended");
}
