//! The examples against clients that misbehave: clients that never read,
//! send garbage, send lines or headers past every limit, or trickle. Each
//! attack must leave the other clients served and the server's memory
//! bounded. Loopback only, bounded in count and time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use grove_tests::run_child;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/echo.rs"]
mod echo;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/kv_server.rs"]
mod kv_server;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/chat.rs"]
mod chat;

#[allow(dead_code)]
#[path = "../../crates/grove/examples/http_hello.rs"]
mod http_hello;

fn client(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Sends `send`, reads exactly `expect.len()` bytes and compares.
fn exchange(c: &mut TcpStream, send: &[u8], expect: &[u8]) {
    c.write_all(send).unwrap();
    let mut got = vec![0u8; expect.len()];
    c.read_exact(&mut got).unwrap();
    assert!(
        got == expect,
        "got {:?}",
        String::from_utf8_lossy(&got[..got.len().min(200)])
    );
}

/// Sends `bytes` on a new connection from another thread (the server may
/// stop reading part way) and returns everything the server sent back
/// before it closed the connection.
fn attack(addr: SocketAddr, bytes: Vec<u8>) -> Vec<u8> {
    let mut c = client(addr);
    let mut w = c.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&bytes);
    });
    let reply = read_to_close(&mut c);
    writer.join().unwrap();
    reply
}

/// Asserts that `reply` begins with `prefix`.
fn assert_starts(reply: &[u8], prefix: &str) {
    assert!(
        reply.starts_with(prefix.as_bytes()),
        "expected {prefix:?}, got {:?}",
        String::from_utf8_lossy(&reply[..reply.len().min(200)])
    );
}

/// Reads until the server closes; returns what came.
fn read_to_close(c: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    all
}

/// Eight well-behaved clients at once (so both hubs take part), each doing
/// `rounds` of `f`.
fn others_are_served(addr: SocketAddr, rounds: usize, f: fn(&mut TcpStream, usize)) {
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = client(addr);
                for r in 0..rounds {
                    f(&mut c, i * 1000 + r);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn kv_a_client_that_pipelines_large_gets_and_never_reads_stalls_only_itself() {
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    // A value of the largest size allowed.
    let big = vec![b'v'; kv_server::MAX_BULK];
    let mut set = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", big.len()).into_bytes();
    set.extend_from_slice(&big);
    set.extend_from_slice(b"\r\n");
    exchange(&mut client(addr), &set, b"+OK\r\n");
    // The attacker: 200 GETs of it (200 MiB of replies), never reading.
    let mut attacker = client(addr);
    attacker.write_all(&b"GET big\r\n".repeat(200)).unwrap();
    // Everyone else, on the same key (the same shard) and others.
    others_are_served(addr, 3, |c, n| {
        let mut head = [0u8; 11];
        c.write_all(b"GET big\r\n").unwrap();
        c.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"$1048576\r\n\x76");
        let mut rest = vec![0u8; kv_server::MAX_BULK - 1 + 2];
        c.read_exact(&mut rest).unwrap();
        let set = format!("SET k{n} {n}\r\n");
        exchange(c, set.as_bytes(), b"+OK\r\n");
        exchange(c, b"PING\r\n", b"+PONG\r\n");
    });
    drop(attacker);
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn kv_a_line_without_a_newline_past_the_cap_is_refused() {
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let reply = attack(addr, vec![b'a'; 4 * kv_server::MAX_LINE]);
    assert_starts(&reply, "-ERR Protocol error: line too long\r\n");
    others_are_served(addr, 2, |c, _| exchange(c, b"PING\r\n", b"+PONG\r\n"));
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn kv_an_inline_command_over_the_cap_is_refused_and_stores_nothing() {
    let (server, store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let mut inline = b"SET k ".to_vec();
    inline.extend(std::iter::repeat_n(b'x', kv_server::MAX_LINE + 1));
    inline.extend_from_slice(b"\r\n");
    let reply = attack(addr, inline);
    assert_starts(&reply, "-ERR Protocol error: line too long");
    assert_eq!(
        store.execute(&[b"GET".to_vec(), b"k".to_vec()]),
        kv_server::Reply::Bulk(None)
    );
    // Under the cap, an inline SET works.
    exchange(&mut client(addr), b"SET k small\r\n", b"+OK\r\n");
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn kv_headers_and_counts_past_the_limits_are_refused() {
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    for bytes in [
        format!("*1\r\n${}\r\n", kv_server::MAX_BULK + 1),
        format!("*{}\r\n", kv_server::MAX_ARGS + 1),
        "*1\r\n$-5\r\n".to_string(),
        "*1\r\nGET\r\n".to_string(),
        "*1\r\n$3\r\nGETxx".to_string(),
    ] {
        let reply = attack(addr, bytes.clone().into_bytes());
        assert_starts(&reply, "-ERR Protocol error");
    }
    // Five bulk strings of 1 MiB are more than one command may carry.
    let mut cmd = b"*5\r\n".to_vec();
    for _ in 0..5 {
        cmd.extend_from_slice(format!("${}\r\n", kv_server::MAX_BULK).as_bytes());
        cmd.extend(std::iter::repeat_n(b'z', kv_server::MAX_BULK));
        cmd.extend_from_slice(b"\r\n");
    }
    let reply = attack(addr, cmd);
    assert_starts(&reply, "-ERR Protocol error: command too large");
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn kv_bulk_headers_announcing_a_mebibyte_keep_memory_bounded() {
    const CONNS: usize = 2_000;
    if std::env::var_os("GROVE_KV_HEADERS_CHILD").is_none() {
        let out = run_child(
            "kv_bulk_headers_announcing_a_mebibyte_keep_memory_bounded",
            "GROVE_KV_HEADERS_CHILD",
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("KV-HEADERS-BOUNDED"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let (server, _store) = kv_server::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    exchange(&mut client(addr), b"PING\r\n", b"+PONG\r\n");
    let before = resident_bytes();
    // Each announces a 1 MiB argument and sends only its first 1000 bytes.
    let mut attack = format!("*1\r\n${}\r\n", kv_server::MAX_BULK).into_bytes();
    attack.extend_from_slice(&[b'q'; 1000]);
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        let mut c = client(addr);
        c.write_all(&attack).unwrap();
        conns.push(c);
    }
    let t = Instant::now();
    while server.connections() < CONNS && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.connections(), CONNS);
    std::thread::sleep(Duration::from_millis(200)); // every header read
    exchange(&mut client(addr), b"PING\r\n", b"+PONG\r\n");
    let open = resident_bytes().saturating_sub(before);
    drop(conns);
    let t = Instant::now();
    while server.connections() > 0 && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let closed = resident_bytes().saturating_sub(before);
    // What they announced is 2 GB; what arrived is 2 MB. Each connection
    // costs its buffers and stack pages, some tens of kilobytes.
    let bound = CONNS * 48 * 1024;
    println!(
        "{CONNS} connections: {} KiB each while open, {} KiB each after they closed",
        open / CONNS / 1024,
        closed / CONNS / 1024
    );
    // Under a sanitizer, freed memory waits in its allocator's quarantine and
    // every byte has shadow bytes: resident memory says nothing of grove's.
    if !cfg!(any(grove_sanitize = "address", grove_sanitize = "thread")) {
        assert!(open < bound, "{open} bytes held with the connections open");
        assert!(closed < bound, "{closed} bytes held after they closed");
    }
    assert!(server.stop(Duration::from_secs(10)));
    println!("KV-HEADERS-BOUNDED");
}

#[test]
fn echo_a_client_that_never_reads_stalls_only_itself() {
    let server = echo::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    // Writes far more than the socket buffers hold, never reading.
    let mut attacker = client(addr);
    attacker
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let flood = std::thread::spawn(move || {
        let chunk = vec![b'f'; 1 << 20];
        for _ in 0..64 {
            if attacker.write_all(&chunk).is_err() {
                break;
            }
        }
        attacker
    });
    others_are_served(addr, 20, |c, n| {
        let msg = format!("hello {n}\n");
        exchange(c, msg.as_bytes(), msg.as_bytes());
    });
    drop(flood.join().unwrap());
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn echo_garbage_and_trickling_clients_do_not_stall_others() {
    let server = echo::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    // Garbage is only bytes to an echo server: it comes back.
    let garbage: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    exchange(&mut client(addr), &garbage, &garbage);
    // A client that sends a byte every few milliseconds...
    let trickle = std::thread::spawn(move || {
        let mut c = client(addr);
        for b in b"slowly" {
            c.write_all(&[*b]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut back = [0u8; 6];
        c.read_exact(&mut back).unwrap();
        back
    });
    // ...while the others are served at full speed.
    others_are_served(addr, 20, |c, n| {
        let msg = format!("quick {n}\n");
        exchange(c, msg.as_bytes(), msg.as_bytes());
    });
    assert_eq!(&trickle.join().unwrap(), b"slowly");
    assert!(server.stop(Duration::from_secs(10)));
}

/// Reads lines from a chat client until one contains `needle`.
fn chat_wait_for(c: &mut std::io::BufReader<TcpStream>, needle: &str) {
    use std::io::BufRead;
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            c.read_line(&mut line).unwrap() > 0,
            "closed before {needle:?}"
        );
        if line.contains(needle) {
            return;
        }
    }
}

fn until(what: &str, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn chat_a_client_that_never_reads_is_dropped_and_others_keep_talking() {
    let (server, room) = chat::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let _silent = client(addr); // joins, never reads
    let mut talker = client(addr);
    let mut listener = std::io::BufReader::new(client(addr));
    until("three in the room", || room.len() == 3);
    // Lines, each long enough to fill the silent client's socket buffers
    // soon, until its outbox overflows and it is dropped; every line still
    // reaches the listener meanwhile.
    let long = "x".repeat(chat::MAX_LINE - 100);
    let mut sent = 0;
    while room.len() == 3 {
        assert!(sent < 50_000, "the silent client was never dropped");
        writeln!(talker, "{sent} {long}").unwrap();
        chat_wait_for(&mut listener, &format!(": {sent} x"));
        sent += 1;
    }
    writeln!(talker, "still here").unwrap();
    chat_wait_for(&mut listener, "still here");
    drop((talker, listener));
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn chat_a_line_past_the_cap_disconnects_its_sender_only() {
    let (server, room) = chat::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let mut talker = client(addr);
    let mut listener = std::io::BufReader::new(client(addr));
    until("two in the room", || room.len() == 2);
    // The server closes the attacker's connection at the cap.
    attack(addr, vec![b'g'; 16 * chat::MAX_LINE]);
    chat_wait_for(&mut listener, "left");
    until("the attacker is gone", || room.len() == 2);
    writeln!(talker, "hello").unwrap();
    chat_wait_for(&mut listener, "hello");
    drop((talker, listener));
    assert!(server.stop(Duration::from_secs(10)));
}

#[test]
fn http_garbage_and_oversized_requests_are_closed_and_others_served() {
    let server = http_hello::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    // Not HTTP: closed at once.
    assert!(attack(addr, b"\x00\x01garbage\r\n\r\n".to_vec()).is_empty());
    // A header block that never ends: closed when the buffer is full.
    let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
    endless.extend(b"X-A: b\r\n".repeat(100_000));
    assert!(attack(addr, endless).is_empty());
    others_are_served(addr, 10, |c, _| {
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut head = [0u8; 15];
        c.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200 OK");
        let mut rest = [0u8; 77 - 15];
        c.read_exact(&mut rest).unwrap();
    });
    assert!(server.stop(Duration::from_secs(10)));
}
