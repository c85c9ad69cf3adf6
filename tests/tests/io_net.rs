//! grove-io's sockets: TCP echo across hubs with every byte checked, UDP and
//! Unix streams, timeouts, kills inside a read, OS threads, I/O behind a busy hub.
//! Loopback only, bounded in count and time.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use grove::{Builder, Runtime, TcpListener, TcpStream};

fn rt2() -> Runtime {
    Runtime::builder()
        .workers(2)
        .driver(grove::reactors())
        .build()
        .expect("runtime")
}

/// A server that echoes every connection in its own green thread.
fn echo_server(rt: &Runtime, conns: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(move || {
        for _ in 0..conns {
            let (conn, _) = listener.accept().unwrap();
            grove::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match (&conn).read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => (&conn).write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
    });
    addr
}

/// Bytes that differ per connection and position, so a mix-up shows.
fn pattern(conn: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + conn * 7) as u8).collect()
}

#[test]
fn echo_across_hubs_loses_and_reorders_no_byte() {
    // Below the listen backlog (128), so no SYN is dropped and retried.
    const CONNS: usize = 100;
    const LEN: usize = 64 * 1024;
    let rt = rt2();
    let addr = echo_server(&rt, CONNS);
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            Builder::new()
                .hub(c % 2)
                .spawn_on(rt.handle(), move || {
                    let s = Arc::new(TcpStream::connect(addr).unwrap());
                    let data = pattern(c, LEN);
                    let writer = {
                        let (s, data) = (s.clone(), data.clone());
                        grove::spawn(move || {
                            for chunk in data.chunks(1000) {
                                (&*s).write_all(chunk).unwrap();
                            }
                        })
                    };
                    let mut got = vec![0u8; LEN];
                    (&*s).read_exact(&mut got).unwrap();
                    writer.join().unwrap();
                    got == data
                })
                .unwrap()
        })
        .collect();
    for (c, g) in clients.into_iter().enumerate() {
        assert!(g.join().unwrap(), "connection {c} got different bytes back");
    }
}

#[test]
fn read_and_accept_timeouts_fire_and_the_socket_stays_usable() {
    let rt = rt2();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let kind = rt.block_on(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let e = s.read(&mut [0u8; 8]).unwrap_err().kind();
        s.set_read_timeout(None).unwrap();
        (e, s)
    });
    assert_eq!(kind.0, ErrorKind::TimedOut);
    let (mut server_side, _) = listener.accept().unwrap();
    server_side.write_all(b"late").unwrap();
    let mut s = kind.1;
    let got = rt.block_on(move || {
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        buf
    });
    assert_eq!(&got, b"late");
    assert!(TcpStream::connect(addr)
        .unwrap()
        .set_read_timeout(Some(Duration::ZERO))
        .is_err());
}

#[test]
fn a_green_thread_killed_inside_read_unwinds_and_its_socket_closes() {
    let rt = rt2();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = rt.spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = [0u8; 8];
        let _ = s.read(&mut buf); // parks here until killed
        unreachable!("the read returned instead of being killed");
    });
    let (mut peer, _) = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    reader.kill();
    assert!(matches!(reader.join(), Err(grove::Error::Killed)));
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(
        peer.read(&mut buf).unwrap(),
        0,
        "the killed side closed its socket"
    );
}

#[test]
fn the_same_types_block_a_plain_os_thread() {
    let rt = rt2();
    let addr = echo_server(&rt, 3);
    let threads: Vec<_> = (0..3)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let data = pattern(c, 10_000);
                s.write_all(&data).unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                let mut got = Vec::new();
                s.read_to_end(&mut got).unwrap();
                got == data
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
}

#[test]
fn a_runtime_without_reactors_uses_the_fallback_reactor() {
    let rt = Runtime::builder()
        .workers(2)
        .driver(|_| Box::new(grove::ThreadParker::new()))
        .build()
        .unwrap();
    assert!(!rt.block_on(grove::in_reactor_hub));
    let addr = echo_server(&rt, 1);
    let ok = rt.block_on(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"fallback").unwrap();
        let mut buf = [0u8; 8];
        s.read_exact(&mut buf).unwrap();
        &buf == b"fallback"
    });
    assert!(ok);
}

#[test]
fn runtimes_built_after_grove_io_is_used_get_reactors() {
    let _ = TcpListener::bind("127.0.0.1:0").unwrap(); // grove-io is used
    let rt = Runtime::builder().workers(2).build().unwrap();
    assert!(rt.block_on(grove::in_reactor_hub));
    assert!(!grove::install(), "already installed by the bind");
}

#[test]
fn wait_readable_and_writable_on_a_foreign_descriptor() {
    let rt = rt2();
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = Arc::new(a);
    let a2 = a.clone();
    let e = rt.block_on(move || grove::wait_readable(&*a2, Some(Duration::from_millis(10))));
    assert_eq!(e.unwrap_err().kind(), ErrorKind::TimedOut);
    let a2 = a.clone();
    let waiter = rt.spawn(move || grove::wait_readable(&*a2, None));
    std::thread::sleep(Duration::from_millis(10));
    b.write_all(b"!").unwrap();
    waiter.join().unwrap().unwrap();
    let a2 = a.clone();
    rt.block_on(move || grove::wait_writable(&*a2, None))
        .unwrap();
}

/// Readiness on a socket registered with a hub that is busy computing is
/// noticed by the idle hub, which takes the events; a reader that allows
/// migration is then run there at once.
#[test]
fn readiness_on_a_busy_hub_is_noticed_by_the_idle_one() {
    use std::sync::atomic::AtomicBool;
    let rt = rt2();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Starts on hub 0 (where it first waits, registering its socket there),
    // then may move.
    let (tx, rx) = std::sync::mpsc::channel();
    // SAFETY: the reader holds no thread-local state, reference or guard
    // across its blocking points (only its socket and a channel sender).
    let reader = unsafe { Builder::new().allow_migration() }
        .spawn_on(rt.handle(), move || {
            let mut s = TcpStream::connect(addr).unwrap();
            tx.send(grove::hub_index()).unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            (buf, grove::hub_index())
        })
        .unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let started_on = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    // Its socket's hub now computes without yielding until the reader is done.
    let done = Arc::new(AtomicBool::new(false));
    let hog = grove_tests::hog(&rt, started_on.unwrap_or(0), done.clone());
    std::thread::sleep(Duration::from_millis(5));
    peer.write_all(b"data").unwrap();
    let (buf, ran_on) = reader.join().unwrap();
    assert_eq!(&buf, b"data");
    assert_ne!(ran_on, started_on, "it moved to the idle hub");
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(hog.join().unwrap(), "the reader ran while its hub was busy");
}

/// On a runtime of many hubs, every event on the reactor of a hub that is
/// busy computing is noticed, not only the first: whoever takes a report
/// re-arms the hub's watch (`watch.rs`). The reader allows migration, so
/// each read runs on an idle hub while its socket stays registered with the
/// busy one.
#[test]
fn every_event_on_a_busy_hub_is_noticed_with_many_hubs() {
    use std::sync::atomic::AtomicBool;
    let rt = Runtime::builder()
        .workers(8)
        .driver(grove::reactors())
        .build()
        .expect("runtime");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // SAFETY: the reader holds no thread-local state, reference or guard
    // across its blocking points (only its socket and a channel sender).
    let reader = unsafe { Builder::new().allow_migration() }
        .spawn_on(rt.handle(), move || {
            // A loopback connect that does not wait: the socket is
            // registered by its first read, on the hub it runs on now.
            let mut s = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap()).unwrap();
            tx.send(grove::hub_index().unwrap()).unwrap();
            let mut hubs = Vec::new();
            for _ in 0..3 {
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"data");
                hubs.push(grove::hub_index());
            }
            hubs
        })
        .unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let home = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let done = Arc::new(AtomicBool::new(false));
    let hog = grove_tests::hog(&rt, home, done.clone());
    std::thread::sleep(Duration::from_millis(5));
    for _ in 0..3 {
        peer.write_all(b"data").unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let hubs = reader.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(
        hog.join().unwrap(),
        "every read ran while its socket's hub was busy"
    );
    assert!(
        hubs.iter().all(|h| *h != Some(home)),
        "read on idle hubs, not {home}: {hubs:?}"
    );
}

/// A started green thread keeps its hub: woken by readiness while that hub
/// computes, it waits for the hub (by design, as in gevent), even though
/// the other hub is idle and takes the event.
#[test]
fn a_bound_reader_waits_for_its_busy_hub_and_never_moves() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = rt2();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let reader = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            (buf, grove::hub_index(), d.load(Ordering::SeqCst))
        })
        .unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let hog_done = Arc::new(AtomicBool::new(false));
    let hog = {
        let hog_done = hog_done.clone();
        Builder::new()
            .hub(0)
            .spawn_on(rt.handle(), move || {
                let t = std::time::Instant::now();
                while t.elapsed() < Duration::from_millis(200) {
                    std::hint::spin_loop();
                }
                hog_done.store(true, Ordering::SeqCst);
            })
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(5));
    peer.write_all(b"data").unwrap();
    let (buf, ran_on, _) = reader.join().unwrap();
    assert_eq!(&buf, b"data");
    assert_eq!(
        ran_on,
        Some(0),
        "a started green thread never leaves its hub"
    );
    assert!(
        hog_done.load(Ordering::SeqCst),
        "it resumed only once its hub was free"
    );
    hog.join().unwrap();
    done.store(true, Ordering::SeqCst);
}

#[test]
fn udp_datagrams_between_green_threads_on_both_hubs() {
    let rt = rt2();
    let server = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let echo = Builder::new()
        .hub(0)
        .spawn_on(rt.handle(), move || {
            let mut buf = [0u8; 64];
            for _ in 0..100 {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                server.send_to(&buf[..n], from).unwrap();
            }
        })
        .unwrap();
    let client = Builder::new()
        .hub(1)
        .spawn_on(rt.handle(), move || {
            let s = grove::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = [0u8; 64];
            (0..100u32).all(|i| {
                s.send(&i.to_le_bytes()).unwrap();
                let n = s.recv(&mut buf).unwrap();
                buf[..n] == i.to_le_bytes()
            })
        })
        .unwrap();
    assert!(client.join().unwrap());
    echo.join().unwrap();
}

#[test]
fn unix_streams_echo_between_green_threads() {
    let rt = rt2();
    let dir = std::env::temp_dir().join(format!("grove-io-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let listener = grove::UnixListener::bind(&path).unwrap();
    let server = rt.spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        loop {
            match (&conn).read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => (&conn).write_all(&buf[..n]).unwrap(),
            }
        }
    });
    let p = path.clone();
    let ok = rt.block_on(move || {
        let s = grove::UnixStream::connect(&p).unwrap();
        let data = pattern(3, 50_000);
        let w = s.try_clone().unwrap();
        let d = data.clone();
        let writer = grove::spawn(move || (&w).write_all(&d).unwrap());
        let mut got = vec![0u8; data.len()];
        (&s).read_exact(&mut got).unwrap();
        writer.join().unwrap();
        got == data
    });
    assert!(ok);
    server.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn blocking_calls_run_on_the_pool_while_the_hub_runs_others() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // One hub: if `blocking` blocked the hub, the ticker could not run.
    let rt = Runtime::builder().workers(1).build().unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let waiter = rt.spawn(move || {
        grove::blocking(move || {
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            7
        })
    });
    let r = release.clone();
    let ticker = rt.spawn(move || {
        grove::yield_now();
        r.store(true, Ordering::SeqCst); // runs while the other waits
    });
    ticker.join().unwrap();
    assert_eq!(waiter.join().unwrap(), 7);
    // A panic in the job resumes in the caller.
    let g = rt.spawn(|| grove::blocking(|| -> u8 { panic!("in the pool") }));
    assert!(matches!(g.join(), Err(grove::Error::Panicked(_))));
    // From an OS thread it is a plain call.
    assert_eq!(grove::blocking(|| 5), 5);
}

#[test]
fn lookup_host_and_fs_helpers_from_a_green_thread() {
    let rt = rt2();
    let dir = std::env::temp_dir().join(format!("grove-io-fs-{}", std::process::id()));
    let ok = rt.block_on(move || {
        let addrs: Vec<_> = grove::lookup_host("localhost:7").unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.port() == 7));
        grove::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("file");
        grove::fs::write(&f, b"green").unwrap();
        let back = grove::fs::read(&f).unwrap();
        let len = grove::fs::metadata(&f).unwrap().len();
        grove::fs::remove_file(&f).unwrap();
        back == b"green" && len == 5 && grove::fs::read(&f).is_err()
    });
    assert!(ok);
}

#[test]
fn connect_timeout_fires_when_the_accept_queue_is_full() {
    let rt = rt2();
    // A listener that never accepts, with the shortest queue: once it is
    // full, further SYNs are dropped and a connect waits.
    let socket = grove_tests::loopback_listener(0);
    let addr: std::net::SocketAddr = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let timed_out = rt.block_on(move || {
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(s) => fillers.push(s),
                Err(e) => return Some(e.kind()),
            }
        }
        None
    });
    assert_eq!(timed_out, Some(ErrorKind::TimedOut));
    assert!(TcpStream::connect_timeout(&addr, Duration::ZERO).is_err());
    drop(socket);
}

#[test]
fn readiness_that_comes_while_nobody_waits_is_kept() {
    // The server sleeps after every other reply, so the client's next byte
    // arrives while no green thread waits on the socket: the reactor keeps
    // that edge for the next wait. The read after it finds the byte already
    // there, which leaves the kept edge stale: the wait after that retries
    // once and then parks until the byte after.
    const ROUNDS: u8 = 20;
    let rt = rt2();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = rt.spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut byte = [0u8; 1];
        for i in 0..ROUNDS {
            (&conn).read_exact(&mut byte).unwrap();
            assert_eq!(byte[0], i);
            (&conn).write_all(&byte).unwrap();
            if i % 2 == 1 {
                grove::sleep(Duration::from_millis(2));
            }
        }
    });
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..ROUNDS {
        c.write_all(&[i]).unwrap();
        let mut back = [0u8; 1];
        c.read_exact(&mut back).unwrap();
        assert_eq!(back[0], i);
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    server.join().unwrap();
}

/// A socket first waited on in one runtime, which then shuts down, still
/// wakes its reader in another runtime: it moves to a reactor that is
/// polled.
#[test]
fn a_socket_outlives_the_runtime_that_first_waited_on_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = Runtime::builder()
        .workers(1)
        .driver(grove::reactors())
        .build()
        .unwrap();
    let stream = first.block_on(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let mut buf = [0u8; 1];
        let e = s.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        s
    });
    let (mut peer, _) = listener.accept().unwrap();
    first.shutdown();
    let second = Runtime::builder()
        .workers(1)
        .driver(grove::reactors())
        .build()
        .unwrap();
    let reader = second.spawn(move || {
        let mut s = stream;
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).map(|_| buf)
    });
    std::thread::sleep(Duration::from_millis(20));
    peer.write_all(b"late").unwrap();
    assert_eq!(&reader.join().unwrap().unwrap(), b"late");
}

/// Two blocking jobs that can only finish together (each waits for the
/// other), submitted at once while the pool has one idle thread: the pool
/// grows instead of queueing the second behind the first. In a child
/// process, so that the pool starts empty.
#[test]
fn the_blocking_pool_grows_when_two_jobs_arrive_together() {
    use std::sync::{Condvar, Mutex};
    if std::env::var_os("GROVE_POOL_CHILD").is_none() {
        let out = grove_tests::run_child(
            "the_blocking_pool_grows_when_two_jobs_arrive_together",
            "GROVE_POOL_CHILD",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        return;
    }
    let rt = rt2();
    // One pool thread, idle.
    rt.block_on(|| grove::blocking(|| ()));
    let meet = Arc::new((Mutex::new(0u32), Condvar::new()));
    let rendezvous = move || {
        let (m, c) = &*meet;
        let mut n = m.lock().unwrap();
        *n += 1;
        c.notify_all();
        let (n, _) = c
            .wait_timeout_while(n, Duration::from_secs(10), |n| *n < 2)
            .unwrap();
        *n >= 2
    };
    let (a, b) = (rendezvous.clone(), rendezvous);
    let both = rt.block_on(move || {
        let ga = grove::spawn(move || grove::blocking(a));
        let gb = grove::spawn(move || grove::blocking(b));
        (ga.join().unwrap(), gb.join().unwrap())
    });
    assert_eq!(both, (true, true), "the two jobs never ran together");
}
