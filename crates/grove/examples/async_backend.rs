//! Both halves of the bridge to async Rust, under one roof:
//!
//! - the **front** is an HTTP/1.1 server on grove's `StreamServer`, one green
//!   thread per connection, in plain blocking style; for each request it
//!   asks the backend through an *async* client (`tokio::net::TcpStream`),
//!   run with `grove::block_on`, so only that green thread waits;
//! - the **backend** is an async line service on tokio (grove's background
//!   tokio runtime); for each query it hands the work to a green thread and
//!   awaits its `Greenlet`, so tokio's worker never blocks.
//!
//!     cargo run --release --features tokio --example async_backend -- 127.0.0.1:8080
//!
//! then `curl http://127.0.0.1:8080/square/12` (prints `144`).
//!
//! Bounds, as in `http_hello`: one 8 KiB buffer per connection, requests
//! that do not fit or are not HTTP close it; idle and write timeouts; the
//! backend reads lines of at most 64 bytes; every backend query is bounded
//! by a `grove::with_timeout`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use grove::{StreamServer, TcpStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// How long a client may stay silent between requests.
pub const IDLE: Duration = Duration::from_secs(60);
/// How long a response may wait for the client to take it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one backend query may take, connecting included.
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest line the backend reads.
const MAX_LINE: u64 = 64;

/// The backend's work for one query, done in a green thread.
fn square(n: u64) -> u64 {
    n.wrapping_mul(n)
}

/// Starts the backend on grove's background tokio runtime; returns its
/// address. Each line `N\n` is answered with `N*N\n`, computed in a green
/// thread that the tokio task awaits.
pub fn start_backend() -> io::Result<SocketAddr> {
    let tokio = grove::tokio_handle();
    let listener = tokio.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    tokio.spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(serve_backend(conn));
        }
    });
    Ok(addr)
}

async fn serve_backend(conn: tokio::net::TcpStream) {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        // At most MAX_LINE bytes, whatever the client sends.
        match (&mut lines).take(MAX_LINE).read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(n) = line.trim().parse::<u64>() else {
            return;
        };
        // Green thread -> async: awaiting the Greenlet never blocks tokio.
        let answer = match grove::spawn(move || square(n)).await {
            Ok(v) => format!("{v}\n"),
            Err(_) => return,
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// One front connection's link to the backend, made on first use.
struct Backend {
    addr: SocketAddr,
    conn: Option<BufReader<tokio::net::TcpStream>>,
}

impl Backend {
    /// Asks for `n*n`: async -> green thread, through `grove::block_on`.
    fn square(&mut self, n: u64) -> io::Result<u64> {
        let addr = self.addr;
        let slot = &mut self.conn;
        let asked = grove::with_timeout(BACKEND_TIMEOUT, || {
            grove::block_on(async {
                if slot.is_none() {
                    *slot = Some(BufReader::new(tokio::net::TcpStream::connect(addr).await?));
                }
                let conn = slot.as_mut().expect("connected above");
                conn.get_mut()
                    .write_all(format!("{n}\n").as_bytes())
                    .await?;
                let mut line = String::new();
                (&mut *conn).take(MAX_LINE).read_line(&mut line).await?;
                line.trim()
                    .parse::<u64>()
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad backend reply"))
            })
        });
        let answer = asked.unwrap_or_else(|e| Err(io::Error::new(io::ErrorKind::TimedOut, e)));
        if answer.is_err() {
            self.conn = None; // start afresh next time
        }
        answer
    }
}

/// The response to one request for `path`.
fn respond(path: &str, backend: &mut Backend) -> Vec<u8> {
    let (status, body) = match path.strip_prefix("/square/").map(str::parse::<u64>) {
        Some(Ok(n)) => match backend.square(n) {
            Ok(v) => ("200 OK", format!("{v}\n")),
            Err(e) => ("502 Bad Gateway", format!("backend: {e}\n")),
        },
        Some(Err(_)) => ("400 Bad Request", "not a number\n".to_string()),
        None => ("404 Not Found", "try /square/12\n".to_string()),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The first complete request in `buf`: its length, its path, and whether
/// the client asked to close; `Ok(None)` if incomplete, `Err` if not HTTP.
fn parse(buf: &[u8]) -> Result<Option<(usize, String, bool)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let close = req.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
            });
            Ok(Some((n, req.path.unwrap_or("/").to_string(), close)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(()),
    }
}

/// Serves requests on one connection until the client closes it.
pub fn handle(conn: TcpStream, backend: SocketAddr) {
    if conn.set_read_timeout(Some(IDLE)).is_err()
        || conn.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let _ = conn.set_nodelay(true);
    let mut backend = Backend {
        addr: backend,
        conn: None,
    };
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        match parse(&buf[..filled]) {
            Err(()) => return,
            Ok(Some((used, path, close))) => {
                let reply = respond(&path, &mut backend);
                if (&conn).write_all(&reply).is_err() || close {
                    return;
                }
                buf.copy_within(used..filled, 0);
                filled -= used;
                continue;
            }
            Ok(None) if filled == buf.len() => return, // too large for us
            Ok(None) => {}
        }
        match (&conn).read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
    }
}

/// The front server, bound and not yet started, asking `backend`.
pub fn server(addr: &str, backend: SocketAddr) -> io::Result<StreamServer> {
    StreamServer::bind(addr, move |conn, _peer| handle(conn, backend))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let backend = start_backend()?;
    let server = server(&addr, backend)?;
    println!(
        "async_backend listening on http://{}/square/12 (backend on {backend})",
        server.local_addr()?
    );
    server.serve_forever();
    Ok(())
}
