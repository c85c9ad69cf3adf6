//! Runs the examples in `crates/grove/examples/` (their code, included
//! here), on loopback, bounded in count and time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/echo.rs"]
mod echo;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/pingpong.rs"]
mod pingpong;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/chat.rs"]
mod chat;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/http_hello.rs"]
mod http_hello;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/kv_server.rs"]
mod kv_server;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/download.rs"]
mod download;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/async_backend.rs"]
mod async_backend;

fn client(addr: std::net::SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

#[test]
fn echo_example_echoes_for_many_clients() {
    let server = echo::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let threads: Vec<_> = (0..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = client(addr);
                let msg = vec![i; 10_000];
                c.write_all(&msg).unwrap();
                let mut back = vec![0u8; msg.len()];
                c.read_exact(&mut back).unwrap();
                back == msg
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn pingpong_example_counts_every_hit() {
    let (ping, pong) = pingpong::play(10_000);
    assert_eq!((ping, pong), (5_000, 5_000));
}

#[test]
fn chat_example_broadcasts_each_line_to_the_others() {
    let (server, room) = chat::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for i in 0..3 {
        let c = client(addr);
        writers.push(c.try_clone().unwrap());
        readers.push(BufReader::new(c));
        // A line goes to those in the room when it is sent: let each client
        // be in before the next one joins.
        grove_tests::until("the client is in the room", || room.len() == i + 1);
    }
    // Each client's own address, as the server names it.
    let names: Vec<String> = writers
        .iter()
        .map(|w| w.local_addr().unwrap().to_string())
        .collect();
    // Wait until all three have joined: the first sees the other two join.
    let mut line = String::new();
    for _ in 0..2 {
        line.clear();
        readers[0].read_line(&mut line).unwrap();
        assert!(line.contains("joined"), "{line}");
    }
    writers[1].write_all(b"hello from one\n").unwrap();
    // Client 0 gets it; so does client 2 (after its own join notices).
    let expect = format!("{}: hello from one\n", names[1]);
    line.clear();
    readers[0].read_line(&mut line).unwrap();
    assert_eq!(line, expect);
    loop {
        line.clear();
        readers[2].read_line(&mut line).unwrap();
        if !line.contains("joined") {
            break;
        }
    }
    assert_eq!(line, expect);
    drop(writers);
    drop(readers);
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn http_hello_example_serves_keep_alive_and_pipelined_requests() {
    let server = http_hello::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let mut c = client(server.local_addr().unwrap());
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let one = http_hello_response_len();
    // Keep-alive: two requests one after the other on one connection.
    for _ in 0..2 {
        c.write_all(req).unwrap();
        let mut resp = vec![0u8; one];
        c.read_exact(&mut resp).unwrap();
        assert!(resp.starts_with(b"HTTP/1.1 200 OK") && resp.ends_with(b"Hello world!"));
    }
    // Pipelined: three at once, then `Connection: close`.
    let mut batch = req.repeat(3);
    batch.extend_from_slice(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    c.write_all(&batch).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len(), 4 * one);
    assert!(server.stop(Duration::from_secs(10)));
}

fn http_hello_response_len() -> usize {
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!".len()
}

#[test]
fn kv_server_example_speaks_resp_across_hubs() {
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let exchange = |c: &mut TcpStream, send: &[u8], expect: &[u8]| {
        c.write_all(send).unwrap();
        let mut got = vec![0u8; expect.len()];
        c.read_exact(&mut got).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expect)
        );
    };
    let mut c = client(addr);
    exchange(&mut c, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    exchange(
        &mut c,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n",
        b"+OK\r\n",
    );
    exchange(
        &mut c,
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"$5\r\nhello\r\n",
    );
    exchange(&mut c, b"GET missing\r\n", b"$-1\r\n"); // an inline command
    exchange(&mut c, b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n", b":1\r\n");
    exchange(&mut c, b"INCR k\r\nINCR k\r\n", b":1\r\n:2\r\n"); // pipelined
                                                                // INCR from many connections at once (both hubs): no update is lost.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = client(addr);
                for _ in 0..100 {
                    c.write_all(b"INCR hits\r\n").unwrap();
                    let mut line = String::new();
                    let mut r = BufReader::new(&mut c);
                    r.read_line(&mut line).unwrap();
                    assert!(line.starts_with(':'), "{line}");
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    exchange(&mut c, b"GET hits\r\n", b"$3\r\n800\r\n");
    drop(c);
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn download_example_fetches_every_document_with_a_pool() {
    let server = download::file_server().unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let bytes = grove::spawn(move || download::download(addr, 60, 8))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(bytes, (1..=60).map(|n| n * 100).sum::<usize>());
    assert!(server.stop(Duration::from_secs(10)));
}

/// `kv_server` against the real Redis tools. Needs `redis-cli` and
/// `redis-benchmark` (Debian's redis-tools), so it is ignored by default;
/// docs/verification.md has the command.
#[test]
#[ignore = "needs redis-tools; see docs/verification.md"]
fn kv_server_example_works_with_redis_cli_and_redis_benchmark() {
    use std::process::Command;
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .expect("redis-cli (apt-get install redis-tools)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["ping"]), "PONG");
    assert_eq!(cli(&["set", "greeting", "hello"]), "OK");
    assert_eq!(cli(&["get", "greeting"]), "hello");
    assert_eq!(cli(&["incr", "n"]), "1");
    assert_eq!(cli(&["del", "greeting"]), "1");
    let out = Command::new("redis-benchmark")
        .args(["-p", &port, "-t", "ping,set,get,incr", "-n", "20000", "-q"])
        .output()
        .expect("redis-benchmark");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    for t in ["SET", "GET", "INCR"] {
        assert!(
            report.contains(&format!("{t}: ")),
            "{t} missing in {report}"
        );
    }
    assert!(server.stop(Duration::from_secs(10)));
}

#[allow(dead_code)]
#[path = "../../crates/grove/examples/deadlock.rs"]
mod deadlock;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/stuck_hub.rs"]
mod stuck_hub;

#[test]
fn deadlock_example_finds_the_cycle_and_the_whole_runtime_deadlock() {
    let rt = grove::Runtime::builder()
        .workers(2)
        .on_deadlock(|_| {})
        .build()
        .unwrap();
    let cycles = deadlock::partial(&rt);
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].threads.len(), 3);
    let text = cycles[0].to_string();
    assert!(text.contains("'writer' waits to join"), "{text}");
    assert!(text.contains("held by green thread"), "{text}");
    let report = deadlock::whole(&rt);
    assert!(report.contains("'ping': Queue::get on 0x"), "{report}");
    assert!(report.contains("'pong': Queue::get on 0x"), "{report}");
    rt.shutdown();
}

#[test]
fn stuck_hub_example_reports_each_mistake_once() {
    let (reports, snapshot) = stuck_hub::run();
    assert!(snapshot.contains("hub 0 (OS thread"), "{snapshot}");
    let names: Vec<_> = reports.iter().filter_map(|r| r.name.clone()).collect();
    assert_eq!(names, ["cruncher", "napper"], "{reports:?}");
    assert_eq!(reports[0].waiting, 3);
    if cfg!(target_os = "linux") {
        assert_eq!(reports[1].syscall.as_deref(), Some("clock_nanosleep"));
    }
}

#[test]
fn async_backend_example_serves_under_load_through_both_halves_of_the_bridge() {
    let backend = async_backend::start_backend().unwrap();
    let server = async_backend::server("127.0.0.1:0", backend).unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    // Hostile first: garbage, and a client that never reads its answers.
    let mut garbage = client(addr);
    garbage.write_all(b"\x00\x01 not http\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = garbage.read_to_end(&mut rest);
    assert!(rest.is_empty(), "garbage got an answer");
    let mut never_reads = client(addr);
    for _ in 0..200 {
        let _ = never_reads.write_all(b"GET /square/3 HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    // 16 keep-alive clients, 100 requests each, every answer checked.
    let clients: Vec<_> = (0..16u64)
        .map(|c| {
            std::thread::spawn(move || {
                let mut s = client(addr);
                let mut r = BufReader::new(s.try_clone().unwrap());
                for i in 0..100u64 {
                    let n = c * 1000 + i;
                    write!(s, "GET /square/{n} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        r.read_line(&mut line).unwrap();
                        if let Some(v) = line.strip_prefix("Content-Length: ") {
                            len = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0u8; len];
                    r.read_exact(&mut body).unwrap();
                    assert_eq!(String::from_utf8(body).unwrap(), format!("{}\n", n * n));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let mut bad = client(addr);
    bad.write_all(b"GET /square/x HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    bad.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    drop(never_reads);
    assert!(server.stop(Duration::from_secs(10)));
}
