//! A small Redis-protocol (RESP) server: PING, ECHO, GET, SET, DEL, INCR,
//! with its data shared by every hub. It answers `redis-cli` and
//! `redis-benchmark -t ping,set,get,incr` (from Debian's redis-tools).
//!
//!     cargo run --release --example kv_server -- 127.0.0.1:6380
//!     redis-cli -p 6380 set greeting hello
//!     redis-benchmark -p 6380 -t set,get -n 100000 -q

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use grove::{StreamServer, TcpStream};

/// The data, in shards so that hubs rarely wait for each other.
pub struct Store {
    shards: Vec<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            shards: (0..64).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl Store {
    fn shard(&self, key: &[u8]) -> &Mutex<HashMap<Vec<u8>, Vec<u8>>> {
        let h = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h % self.shards.len() as u64) as usize]
    }

    /// Runs one command and writes its reply in RESP.
    pub fn execute(&self, args: &[Vec<u8>], out: &mut impl Write) -> io::Result<()> {
        let Some(name) = args.first() else {
            return out.write_all(b"-ERR empty command\r\n");
        };
        let name = name.to_ascii_uppercase();
        match (name.as_slice(), args.len()) {
            (b"PING", 1) => out.write_all(b"+PONG\r\n"),
            (b"PING", 2) | (b"ECHO", 2) => bulk(out, Some(&args[1])),
            (b"GET", 2) => {
                let map = self.shard(&args[1]).lock().unwrap();
                bulk(out, map.get(&args[1]).map(Vec::as_slice))
            }
            (b"SET", 3) => {
                let mut map = self.shard(&args[1]).lock().unwrap();
                map.insert(args[1].clone(), args[2].clone());
                out.write_all(b"+OK\r\n")
            }
            (b"DEL", n) if n >= 2 => {
                let removed = args[1..]
                    .iter()
                    .filter(|k| self.shard(k).lock().unwrap().remove(*k).is_some())
                    .count();
                write!(out, ":{removed}\r\n")
            }
            (b"INCR", 2) => {
                let mut map = self.shard(&args[1]).lock().unwrap();
                let v = map.entry(args[1].clone()).or_insert_with(|| b"0".to_vec());
                match std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(n) => match n.checked_add(1) {
                        Some(n) => {
                            *v = n.to_string().into_bytes();
                            write!(out, ":{n}\r\n")
                        }
                        None => out.write_all(b"-ERR increment or decrement would overflow\r\n"),
                    },
                    None => out.write_all(b"-ERR value is not an integer or out of range\r\n"),
                }
            }
            // redis-benchmark asks for its settings first: none here.
            (b"CONFIG", _) => out.write_all(b"*0\r\n"),
            _ => write!(
                out,
                "-ERR unknown command or wrong number of arguments for '{}'\r\n",
                String::from_utf8_lossy(&name)
            ),
        }
    }
}

fn bulk(out: &mut impl Write, v: Option<&[u8]>) -> io::Result<()> {
    match v {
        Some(v) => {
            write!(out, "${}\r\n", v.len())?;
            out.write_all(v)?;
            out.write_all(b"\r\n")
        }
        None => out.write_all(b"$-1\r\n"),
    }
}

/// Reads one command: a RESP array of bulk strings, or an inline command
/// line. `None` at the end of the stream.
pub fn read_command(r: &mut impl BufRead) -> io::Result<Option<Vec<Vec<u8>>>> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    let line = trim(&line);
    if line.first() != Some(&b'*') {
        let words = line.split(|b| *b == b' ').filter(|w| !w.is_empty());
        return Ok(Some(words.map(<[u8]>::to_vec).collect()));
    }
    let n = number(&line[1..])?;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let mut head = Vec::new();
        r.read_until(b'\n', &mut head)?;
        let head = trim(&head);
        if head.first() != Some(&b'$') {
            return Err(bad("expected a bulk string"));
        }
        let len = number(&head[1..])?;
        let mut arg = vec![0u8; len + 2];
        r.read_exact(&mut arg)?;
        arg.truncate(len);
        args.push(arg);
    }
    Ok(Some(args))
}

fn trim(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line)
}

fn number(digits: &[u8]) -> io::Result<usize> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n <= 1 << 20)
        .ok_or_else(|| bad("bad length"))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Serves one client: commands in, replies out, flushed whenever no more
/// input is already buffered (so pipelined commands share a write).
pub fn handle(store: &Store, conn: TcpStream) {
    let mut reader = BufReader::new(&conn);
    let mut writer = BufWriter::new(&conn);
    loop {
        let args = match read_command(&mut reader) {
            Ok(Some(args)) => args,
            Ok(None) => return,
            Err(_) => {
                let _ = writer.write_all(b"-ERR protocol error\r\n");
                let _ = writer.flush();
                return;
            }
        };
        if store.execute(&args, &mut writer).is_err() {
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
