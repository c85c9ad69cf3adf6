//! An HTTP/1.1 hello-world server with keep-alive (and pipelining), parsed
//! with `httparse`: one green thread per connection.
//!
//!     cargo run --release --example http_hello -- 127.0.0.1:8080
//!
//! then `curl http://127.0.0.1:8080/` (or a load generator such as `wrk`).
//!
//! Each connection holds one 8 KiB buffer: a request that does not fit, or
//! is not HTTP, closes the connection. A client that stops reading stalls
//! only its own green thread and is disconnected after [`WRITE_TIMEOUT`]; a
//! silent one after [`IDLE`].

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use grove::{StreamServer, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nHello world!";

/// How long a client may stay silent between requests.
pub const IDLE: Duration = Duration::from_secs(60);
/// How long a response may wait for the client to take it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Parses as many complete requests as `buf` holds; returns how many bytes
/// they took and whether the client asked to close, or `None` if the bytes
/// are not HTTP.
pub fn parse_requests(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let (mut used, mut count, mut close) = (0, 0, false);
    while used < buf.len() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[used..]) {
            Ok(httparse::Status::Complete(n)) => {
                used += n;
                count += 1;
                close |= req.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("connection")
                        && h.value.eq_ignore_ascii_case(b"close")
                });
            }
            Ok(httparse::Status::Partial) => break,
            Err(_) => return None,
        }
    }
    Some((used, count, close))
}

/// Serves requests on one connection until the client closes it.
pub fn handle(conn: TcpStream, _peer: SocketAddr) {
    if conn.set_read_timeout(Some(IDLE)).is_err()
        || conn.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        match (&conn).read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        let Some((used, count, close)) = parse_requests(&buf[..filled]) else {
            return;
        };
        let replies: Vec<u8> = RESPONSE.repeat(count);
        if (&conn).write_all(&replies).is_err() || close {
            return;
        }
        buf.copy_within(used..filled, 0);
        filled -= used;
        if filled == buf.len() {
            return; // a request larger than the buffer: not for this server
        }
    }
}

/// The server, bound and not yet started.
pub fn server(addr: &str) -> io::Result<StreamServer> {
    StreamServer::bind(addr, handle)
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = server(&addr)?;
    println!("http_hello listening on http://{}/", server.local_addr()?);
    server.serve_forever();
    Ok(())
}
