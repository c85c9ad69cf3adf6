//! A chat server: every line a client sends goes to every other client.
//! Each connection has a reader green thread and a writer green thread
//! with an outbox `Queue` between them: the classic gevent design. See
//! docs/porting-a-gevent-server.md.
//!
//!     cargo run --example chat -- 127.0.0.1:7001
//!
//! then connect with `nc 127.0.0.1 7001` from two terminals.
//!
//! Written to be copied, so it keeps its guard against hostile clients:
//! lines are at most [`MAX_LINE`] bytes; each outbox holds at most
//! [`OUTBOX`] lines, and a client that lets it fill (it does not read) is
//! disconnected rather than holding the others back or growing without
//! bound; a silent client goes after [`IDLE`], one that cannot take a line
//! within [`WRITE_TIMEOUT`] too. The room's lock is std's and is held only
//! to update or copy the list, never across a blocking call.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{PutError, Queue, StreamServer, TcpStream};

/// The longest line a client may send, in bytes.
pub const MAX_LINE: usize = 4096;
/// Lines an outbox holds for a slow reader before it is disconnected.
pub const OUTBOX: usize = 256;
/// How long a client may stay silent.
pub const IDLE: Duration = Duration::from_secs(300);
/// How long a line may wait for the client to take it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected client: its outbox and its socket.
struct Member {
    outbox: Arc<Queue<String>>,
    conn: Arc<TcpStream>,
}

/// The connected clients, by client number.
#[derive(Default)]
pub struct Room {
    clients: Mutex<HashMap<u64, Member>>,
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

    fn join(&self, outbox: Arc<Queue<String>>, conn: Arc<TcpStream>) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let member = Member { outbox, conn };
        self.clients.lock().unwrap().insert(*next, member);
        *next
    }

    fn leave(&self, id: u64) {
        if let Some(member) = self.clients.lock().unwrap().remove(&id) {
            member.outbox.close();
        }
    }

    /// Puts `line` in every outbox but the sender's, without waiting: the
    /// lock is held only to copy the list. A client whose outbox is full is
    /// disconnected: its socket is shut down, which ends both its green
    /// threads' waits.
    fn broadcast(&self, from: u64, line: &str) {
        let members: Vec<_> = self
            .clients
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| **id != from)
            .map(|(_, m)| (m.outbox.clone(), m.conn.clone()))
            .collect();
        for (outbox, conn) in members {
            if let Err(PutError::Full(_)) = outbox.try_put(line.to_owned()) {
                outbox.close();
                let _ = conn.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes into `line` (cleared
/// first). `Ok(false)` at the end of the stream; an error for a longer line.
pub fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    r.by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)?;
    if line.len() > MAX_LINE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(!line.is_empty())
}

/// Serves one client: a writer green thread drains its outbox to the
/// socket; this green thread reads its lines and broadcasts them.
pub fn handle(room: &Arc<Room>, conn: TcpStream, peer: SocketAddr) {
    if conn.set_read_timeout(Some(IDLE)).is_err()
        || conn.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let conn = Arc::new(conn);
    let outbox = Arc::new(Queue::bounded(OUTBOX));
    let id = room.join(outbox.clone(), conn.clone());
    let writer = {
        let conn = conn.clone();
        grove::spawn(move || {
            for line in outbox.iter() {
                if (&*conn).write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
            // Closed (by `leave`, or because it filled up) or broken: make
            // sure the reader ends too.
            let _ = conn.shutdown(Shutdown::Both);
        })
    };
    room.broadcast(id, &format!("* {peer} joined\n"));
    let mut reader = BufReader::new(&*conn);
    let mut line = Vec::new();
    while let Ok(true) = read_line(&mut reader, &mut line) {
        let text = String::from_utf8_lossy(&line);
        room.broadcast(id, &format!("{peer}: {}\n", text.trim_end()));
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
