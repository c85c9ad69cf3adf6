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
    let (server, _room) = chat::server("127.0.0.1:0").unwrap();
    server.start().unwrap();
    let addr = server.local_addr().unwrap();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..3 {
        let c = client(addr);
        writers.push(c.try_clone().unwrap());
        readers.push(BufReader::new(c));
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
