//! grove-io's servers: graceful and forced stops leave no green thread
//! behind, a connection cap holds, running out of descriptors on accept or
//! of stacks for handlers is reported and survived, and a server runs on
//! the runtime it is given. Loopback only, bounded in count and time.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{DatagramServer, Runtime, StreamServer, TcpStream};
use grove_tests::{run_child, until};

fn rt2() -> Runtime {
    Runtime::builder()
        .workers(2)
        .driver(grove::reactors())
        .build()
        .expect("runtime")
}

fn echo(conn: TcpStream, _peer: std::net::SocketAddr) {
    let mut buf = [0u8; 1024];
    loop {
        match (&conn).read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if (&conn).write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

#[test]
fn a_stopped_server_leaves_no_green_thread_behind() {
    let rt = rt2();
    let (before, after, graceful) = rt.block_on(|| {
        let before = grove::Handle::current().live();
        let server = StreamServer::bind("127.0.0.1:0", echo).unwrap();
        server.start().unwrap();
        let addr = server.local_addr().unwrap();
        // Clients that stay connected: their handlers block in `read`.
        let clients: Vec<_> = (0..5)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        until("5 handlers run", || server.connections() == 5);
        let graceful = server.stop(Duration::from_millis(50));
        let after = grove::Handle::current().live();
        drop(clients);
        (before, after, graceful)
    });
    assert!(!graceful, "the handlers were still reading: killed");
    assert_eq!(after, before, "no accept loop and no handler left");
}

#[test]
fn a_graceful_stop_waits_for_the_handlers_to_finish() {
    let rt = rt2();
    let addr_and_reply = rt.block_on(|| {
        let server = Arc::new(
            StreamServer::bind("127.0.0.1:0", |conn, _| {
                grove::sleep(Duration::from_millis(30));
                (&conn).write_all(b"done").unwrap();
            })
            .unwrap(),
        );
        server.start().unwrap();
        let mut c = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        until("the handler runs", || server.connections() == 1);
        assert!(server.stop(Duration::from_secs(10)), "finished in time");
        let mut reply = String::new();
        c.read_to_string(&mut reply).unwrap();
        reply
    });
    assert_eq!(addr_and_reply, "done");
}

#[test]
fn max_connections_caps_the_handlers_running_at_once() {
    let rt = rt2();
    let most = rt.block_on(|| {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (n, m) = (now.clone(), most.clone());
        let server = StreamServer::bind("127.0.0.1:0", move |conn, peer| {
            m.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            grove::sleep(Duration::from_millis(5));
            n.fetch_sub(1, Ordering::SeqCst);
            echo(conn, peer);
        })
        .unwrap()
        .max_connections(2);
        server.start().unwrap();
        let addr = server.local_addr().unwrap();
        let clients: Vec<_> = (0..10)
            .map(|i| {
                grove::spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.write_all(&[i]).unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).unwrap();
                    b[0] == i
                })
            })
            .collect();
        for c in clients {
            assert!(c.join().unwrap());
        }
        assert!(server.stop(Duration::from_secs(10)));
        most.load(Ordering::SeqCst)
    });
    assert!((1..=2).contains(&most), "{most} handlers ran at once");
}

#[test]
fn a_datagram_server_replies_and_stops() {
    let rt = rt2();
    let ok = rt.block_on(|| {
        let server = DatagramServer::bind("127.0.0.1:0", |data, from, sock| {
            sock.send_to(&data, from).unwrap();
        })
        .unwrap();
        server.start().unwrap();
        let c = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let to = server.local_addr().unwrap();
        let ok = (0..20u8).all(|i| {
            c.send_to(&[i], to).unwrap();
            let mut b = [0u8; 1];
            c.recv_from(&mut b).unwrap();
            b[0] == i
        });
        ok && server.stop(Duration::from_secs(5))
    });
    assert!(ok);
}

/// Runs out of descriptors on purpose (in a child process with a low limit):
/// the accept loop backs off and, once descriptors are free again, serves.
#[test]
fn running_out_of_descriptors_on_accept_is_survived() {
    if std::env::var_os("GROVE_EMFILE_CHILD").is_some() {
        let rt = rt2();
        let (reports, report) = collect_reports();
        let server = Arc::new(
            StreamServer::bind("127.0.0.1:0", echo)
                .unwrap()
                .on_error(report),
        );
        let addr = server.local_addr().unwrap();
        let s = server.clone();
        rt.block_on(move || s.start().unwrap());
        // A low limit, a little above what is open now.
        let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
        let lim = libc::rlimit {
            rlim_cur: open + 16,
            rlim_max: open + 16,
        };
        // SAFETY: setrlimit reads the struct we pass for the call's length.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
        // Connect until no descriptor is left: the server cannot accept.
        let mut clients = Vec::new();
        while let Ok(c) = std::net::TcpStream::connect(addr) {
            clients.push(c);
            if clients.len() > 64 {
                break;
            }
        }
        assert!(clients.len() < 64, "the limit did not bite");
        std::thread::sleep(Duration::from_millis(200)); // accept fails meanwhile
        drop(clients);
        // Descriptors are free again: a new client is served.
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"alive").unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"alive");
        let reports = reports.lock().unwrap();
        assert!(
            reports
                .iter()
                .any(|r| r.starts_with("accept failed: Too many open files")),
            "{reports:?}"
        );
        println!("EMFILE-SURVIVED");
        return;
    }
    let out = run_child(
        "running_out_of_descriptors_on_accept_is_survived",
        "GROVE_EMFILE_CHILD",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("EMFILE-SURVIVED"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

type Reports = Arc<Mutex<Vec<String>>>;

/// A server error handler that keeps what it is given.
fn collect_reports() -> (
    Reports,
    impl Fn(&grove::ServerError) + Send + Sync + 'static,
) {
    let reports = Reports::default();
    let r = reports.clone();
    (reports, move |e: &grove::ServerError| {
        r.lock().unwrap().push(e.to_string())
    })
}

/// A client that has had one byte echoed, so its handler is running.
fn served_client(addr: std::net::SocketAddr) -> std::net::TcpStream {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    c.read_exact(&mut b).unwrap();
    c
}

#[test]
fn handlers_without_stacks_are_reported_and_the_server_recovers() {
    // Six stacks in all: the accept loop and five handlers.
    let rt = Runtime::builder().workers(2).max_stacks(6).build().unwrap();
    let (reports, report) = collect_reports();
    let server = StreamServer::bind("127.0.0.1:0", echo)
        .unwrap()
        .runtime(rt.handle())
        .on_error(report);
    server.start().unwrap(); // from this OS thread, onto `rt`
    let addr = server.local_addr().unwrap();
    let held: Vec<_> = (0..5).map(|_| served_client(addr)).collect();
    // The sixth handler gets no stack: its connection closes, reported.
    let mut unserved = std::net::TcpStream::connect(addr).unwrap();
    unserved
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut b = [0u8; 1];
    assert!(matches!(unserved.read(&mut b), Ok(0) | Err(_)));
    until("the unserved connection is reported", || {
        !reports.lock().unwrap().is_empty()
    });
    let first = reports.lock().unwrap()[0].clone();
    assert!(
        first.starts_with("a connection was closed unserved"),
        "{first}"
    );
    assert!(first.contains("max_stacks"), "{first}");
    // Green threads end, stacks come back, and clients are served again.
    drop(held);
    until("the handlers end", || server.connections() == 0);
    let mut again = served_client(addr);
    again.write_all(b"alive").unwrap();
    let mut back = [0u8; 5];
    again.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"alive");
    drop(again);
    assert!(server.stop(Duration::from_secs(5)));
}

#[test]
fn a_server_runs_on_the_runtime_it_is_given() {
    let rt = rt2();
    let on = Arc::new(Mutex::new(None));
    let o = on.clone();
    let server = StreamServer::bind("127.0.0.1:0", move |conn, peer| {
        *o.lock().unwrap() = Some(grove::Handle::current());
        echo(conn, peer)
    })
    .unwrap()
    .runtime(rt.handle());
    // Started from a plain OS thread, where the current runtime is the
    // default one.
    server.start().unwrap();
    drop(served_client(server.local_addr().unwrap()));
    until("the handler ran", || on.lock().unwrap().is_some());
    assert!(on.lock().unwrap().as_ref() == Some(rt.handle()));
    assert!(server.stop(Duration::from_secs(5)));
    // Without `runtime`, the caller's runtime.
    let server = Arc::new(StreamServer::bind("127.0.0.1:0", echo).unwrap());
    let s = server.clone();
    rt.block_on(move || s.start().unwrap());
    until("the loop waits in accept on rt", || {
        rt.snapshot().threads.iter().any(|t| {
            t.waits_for
                .as_ref()
                .is_some_and(|r| r.to_string().contains("accept"))
        })
    });
    assert!(server.stop(Duration::from_secs(5)));
}
