//! Bulk concurrent download over HTTP/1.1 with a `Pool` of N: fetches M
//! documents from a local server (started here, on loopback), at most N at
//! once, and checks every body.
//!
//!     cargo run --release --example download -- 200 16

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use grove::{Pool, StreamServer, TcpStream};

/// The body the local server sends for document `n`: `n * 100` bytes.
pub fn body(n: usize) -> Vec<u8> {
    (0..n * 100).map(|i| b'a' + (i % 26) as u8).collect()
}

/// The local server: `GET /<n>` answers `body(n)`, one request per
/// connection.
pub fn file_server() -> io::Result<StreamServer> {
    StreamServer::bind("127.0.0.1:0", |conn: TcpStream, _peer| {
        let mut buf = [0u8; 1024];
        let mut filled = 0;
        while filled < buf.len() {
            match (&conn).read(&mut buf[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            if let Ok(httparse::Status::Complete(_)) = req.parse(&buf[..filled]) {
                let n: usize = req
                    .path
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .parse()
                    .unwrap_or(0);
                let b = body(n);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                );
                let _ = (&conn).write_all(head.as_bytes());
                let _ = (&conn).write_all(&b);
                return;
            }
        }
    })
}

/// Fetches `http://addr/path` and returns the body (HTTP/1.1, the length
/// from `Content-Length`).
pub fn fetch(addr: SocketAddr, path: &str) -> io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(&all) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "bad response")),
    };
    if resp.code != Some(200) {
        return Err(io::Error::other(format!("status {:?}", resp.code)));
    }
    let len = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
    let body = all.split_off(head);
    if body.len() != len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short body"));
    }
    Ok(body)
}

/// Downloads documents `1..=count` from `addr`, at most `n` at once; returns
/// the total bytes, after checking every body.
pub fn download(addr: SocketAddr, count: usize, n: usize) -> io::Result<usize> {
    let pool = Pool::new(n);
    let sizes = pool
        .map(
            move |i: usize| {
                let b = fetch(addr, &format!("/{i}"))?;
                if b != body(i) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong body"));
                }
                Ok(b.len())
            },
            1..=count,
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
    sizes.into_iter().sum()
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let server = file_server()?;
    server.start()?;
    let t = Instant::now();
    let bytes = download(server.local_addr()?, count, n)?;
    println!(
        "{count} documents, {bytes} bytes, {n} at a time, in {:?}",
        t.elapsed()
    );
    server.stop(std::time::Duration::from_secs(5));
    Ok(())
}
