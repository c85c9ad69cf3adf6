//! A small Redis-protocol (RESP) server: PING, ECHO, GET, SET, DEL, INCR,
//! with its data shared by every hub. It answers `redis-cli` and
//! `redis-benchmark -t ping,set,get,incr` (from Debian's redis-tools).
//!
//!     cargo run --release --example kv_server -- 127.0.0.1:6380
//!     redis-cli -p 6380 set greeting hello
//!     redis-benchmark -p 6380 -t set,get -n 100000 -q
//!
//! Written to be copied, so it keeps its guard against hostile clients:
//! - no lock is held while a reply is written: a command runs to a
//!   [`Reply`] under its shard's lock, and the reply is written after;
//!   a client that never reads stalls only its own green thread;
//! - every read is bounded ([`MAX_LINE`], [`MAX_BULK`], [`MAX_ARGS`],
//!   [`MAX_COMMAND`]), and a bulk string's buffer grows as its bytes
//!   arrive, never ahead of them;
//! - a client idle for [`IDLE`] or unable to take a reply within
//!   [`WRITE_TIMEOUT`] is disconnected.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grove::{StreamServer, TcpStream};

/// The longest line: an inline command, or a `*N` / `$N` header.
pub const MAX_LINE: usize = 64 * 1024;
/// The longest bulk string (a key or a value).
pub const MAX_BULK: usize = 1 << 20;
/// The most arguments in one command.
pub const MAX_ARGS: usize = 1024;
/// The most bytes of bulk strings in one command.
pub const MAX_COMMAND: usize = 4 << 20;
/// How long a client may stay silent.
pub const IDLE: Duration = Duration::from_secs(300);
/// How long a reply may wait for the client to take it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

type Value = Arc<[u8]>;

/// The data, in shards so that hubs rarely wait for each other. The locks
/// are std's: they are only ever held for a map operation, never across
/// I/O or anything else that blocks.
pub struct Store {
    shards: Vec<Mutex<HashMap<Vec<u8>, Value>>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            shards: (0..64).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

/// What a command answers, built while its shard is locked and written
/// after the lock is released.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// `+...`
    Status(&'static str),
    /// `-...`
    Error(String),
    /// `:n`
    Integer(i64),
    /// `$len` and the bytes, or `$-1` for none.
    Bulk(Option<Value>),
    /// `*0`
    EmptyArray,
}

impl Reply {
    /// Writes the reply in RESP.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Reply::Status(s) => write!(out, "+{s}\r\n"),
            Reply::Error(e) => write!(out, "-{e}\r\n"),
            Reply::Integer(n) => write!(out, ":{n}\r\n"),
            Reply::Bulk(Some(v)) => {
                write!(out, "${}\r\n", v.len())?;
                out.write_all(v)?;
                out.write_all(b"\r\n")
            }
            Reply::Bulk(None) => out.write_all(b"$-1\r\n"),
            Reply::EmptyArray => out.write_all(b"*0\r\n"),
        }
    }
}

impl Store {
    fn shard(&self, key: &[u8]) -> &Mutex<HashMap<Vec<u8>, Value>> {
        let h = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h % self.shards.len() as u64) as usize]
    }

    fn locked(&self, key: &[u8]) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Value>> {
        self.shard(key).lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one command. Locks are taken and released in here; nothing in
    /// here blocks.
    pub fn execute(&self, args: &[Vec<u8>]) -> Reply {
        let Some(name) = args.first() else {
            return Reply::Error("ERR empty command".into());
        };
        let name = name.to_ascii_uppercase();
        match (name.as_slice(), args.len()) {
            (b"PING", 1) => Reply::Status("PONG"),
            (b"PING", 2) | (b"ECHO", 2) => Reply::Bulk(Some(args[1].as_slice().into())),
            (b"GET", 2) => Reply::Bulk(self.locked(&args[1]).get(&args[1]).cloned()),
            (b"SET", 3) => {
                let value: Value = args[2].as_slice().into();
                self.locked(&args[1]).insert(args[1].clone(), value);
                Reply::Status("OK")
            }
            (b"DEL", n) if n >= 2 => {
                let removed = args[1..]
                    .iter()
                    .filter(|k| self.locked(k).remove(*k).is_some())
                    .count();
                Reply::Integer(removed as i64)
            }
            (b"INCR", 2) => self.incr(&args[1]),
            // redis-benchmark asks for its settings first: none here.
            (b"CONFIG", _) => Reply::EmptyArray,
            _ => Reply::Error(format!(
                "ERR unknown command or wrong number of arguments for '{}'",
                String::from_utf8_lossy(&name)
            )),
        }
    }

    fn incr(&self, key: &[u8]) -> Reply {
        let mut map = self.locked(key);
        let old = map.get(key).map_or(Some(0), |v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
        });
        match old.map(|n| n.checked_add(1)) {
            Some(Some(n)) => {
                map.insert(key.to_vec(), n.to_string().as_bytes().into());
                Reply::Integer(n)
            }
            Some(None) => Reply::Error("ERR increment or decrement would overflow".into()),
            None => Reply::Error("ERR value is not an integer or out of range".into()),
        }
    }
}

/// Reads one line of at most `max` bytes, without its line ending. `None`
/// at the end of the stream; an error for a longer line or a stream that
/// ends inside one.
pub fn read_line(r: &mut impl BufRead, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return match line.is_empty() {
                true => Ok(None),
                false => Err(bad("the stream ended inside a line")),
            };
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max + 2 {
            return Err(bad("line too long"));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            let end = line.len() - 1 - usize::from(line.ends_with(b"\r\n"));
            line.truncate(end);
            return Ok(Some(line));
        }
    }
}

/// Reads one command: a RESP array of bulk strings, or an inline command
/// line. `None` at the end of the stream.
pub fn read_command(r: &mut impl BufRead) -> io::Result<Option<Vec<Vec<u8>>>> {
    let Some(line) = read_line(r, MAX_LINE)? else {
        return Ok(None);
    };
    if line.first() != Some(&b'*') {
        let words = line.split(|b| *b == b' ').filter(|w| !w.is_empty());
        return Ok(Some(words.map(<[u8]>::to_vec).collect()));
    }
    let n = number(&line[1..], MAX_ARGS)?;
    // Room grows as arguments arrive, not as the header claims.
    let mut args = Vec::with_capacity(n.min(8));
    let mut total = 0;
    for _ in 0..n {
        let head = read_line(r, MAX_LINE)?.ok_or_else(|| bad("the stream ended"))?;
        if head.first() != Some(&b'$') {
            return Err(bad("expected a bulk string"));
        }
        let len = number(&head[1..], MAX_BULK)?;
        total += len;
        if total > MAX_COMMAND {
            return Err(bad("command too large"));
        }
        args.push(read_bulk(r, len)?);
    }
    Ok(Some(args))
}

/// Reads `len` bytes and the `\r\n` after them, into a buffer that grows
/// as they arrive.
fn read_bulk(r: &mut impl BufRead, len: usize) -> io::Result<Vec<u8>> {
    let mut arg = Vec::new();
    r.by_ref().take(len as u64 + 2).read_to_end(&mut arg)?;
    if arg.len() < len + 2 {
        return Err(bad("the stream ended inside a bulk string"));
    }
    if !arg.ends_with(b"\r\n") {
        return Err(bad("a bulk string must end with CRLF"));
    }
    arg.truncate(len);
    Ok(arg)
}

fn number(digits: &[u8], max: usize) -> io::Result<usize> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n <= max)
        .ok_or_else(|| bad("bad length"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Serves one client: commands in, replies out, flushed whenever no more
/// input is already buffered (so pipelined commands share a write).
pub fn handle(store: &Store, conn: TcpStream) {
    if conn.set_read_timeout(Some(IDLE)).is_err()
        || conn.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let mut reader = BufReader::new(&conn);
    let mut writer = BufWriter::new(&conn);
    loop {
        let args = match read_command(&mut reader) {
            Ok(Some(args)) => args,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let _ = write!(writer, "-ERR Protocol error: {e}\r\n");
                    let _ = writer.flush();
                }
                return;
            }
        };
        let reply = store.execute(&args);
        drop(args);
        if reply.write_to(&mut writer).is_err() {
            return;
        }
        if reader.buffer().is_empty() && writer.flush().is_err() {
            return;
        }
    }
}

/// The server, bound and not yet started, with its store.
pub fn server(addr: &str) -> io::Result<(StreamServer, Arc<Store>)> {
    let store = Arc::new(Store::default());
    let s = store.clone();
    let server = StreamServer::bind(addr, move |conn, _peer: SocketAddr| handle(&s, conn))?;
    Ok((server, store))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6380".into());
    let (server, _store) = server(&addr)?;
    println!("kv_server (RESP) listening on {}", server.local_addr()?);
    server.serve_forever();
    Ok(())
}
