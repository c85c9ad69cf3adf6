//! A chat server: every line a client sends goes to every other client.
//! Each connection has a reader green thread and a writer green thread
//! with an outbox `Queue` between them: the classic gevent design. See
//! docs/porting-a-gevent-server.md.
//!
//!     cargo run --example chat -- 127.0.0.1:7001
//!
//! then connect with `nc 127.0.0.1 7001` from two terminals.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use grove::{Queue, StreamServer, TcpStream};

/// The connected clients' outboxes, by client number.
#[derive(Default)]
pub struct Room {
    clients: Mutex<HashMap<u64, Arc<Queue<String>>>>,
    next: Mutex<u64>,
}

impl Room {
    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap().len()
    }

    /// Whether nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn join(&self, outbox: Arc<Queue<String>>) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        self.clients.lock().unwrap().insert(*next, outbox);
        *next
    }

    fn leave(&self, id: u64) {
        if let Some(outbox) = self.clients.lock().unwrap().remove(&id) {
            outbox.close();
        }
    }

    /// Puts `line` in every outbox but the sender's. The lock is held only
    /// to copy the list: puts on unbounded queues never wait.
    fn broadcast(&self, from: u64, line: &str) {
        let outboxes: Vec<_> = self
            .clients
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| **id != from)
            .map(|(_, q)| q.clone())
            .collect();
        for q in outboxes {
            let _ = q.put(line.to_owned());
        }
    }
}

/// Serves one client: a writer green thread drains its outbox to the
/// socket; this green thread reads its lines and broadcasts them.
pub fn handle(room: &Arc<Room>, conn: TcpStream, peer: SocketAddr) {
    let conn = Arc::new(conn);
    let outbox = Arc::new(Queue::new());
    let id = room.join(outbox.clone());
    let writer = {
        let conn = conn.clone();
        grove::spawn(move || {
            for line in outbox.iter() {
                if (&*conn).write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
        })
    };
    room.broadcast(id, &format!("* {peer} joined\n"));
    for line in BufReader::new(&*conn).lines() {
        match line {
            Ok(line) => room.broadcast(id, &format!("{peer}: {line}\n")),
            Err(_) => break,
        }
    }
    room.leave(id);
    room.broadcast(id, &format!("* {peer} left\n"));
    let _ = writer.join();
}

/// The server, bound and not yet started, with its room.
pub fn server(addr: &str) -> io::Result<(StreamServer, Arc<Room>)> {
    let room = Arc::new(Room::default());
    let r = room.clone();
    let server = StreamServer::bind(addr, move |conn, peer| handle(&r, conn, peer))?;
    Ok((server, room))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7001".into());
    let (server, _room) = server(&addr)?;
    println!("chat server listening on {}", server.local_addr()?);
    server.serve_forever();
    Ok(())
}
