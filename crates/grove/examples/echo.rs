//! An echo server: one green thread per connection, written as plain
//! blocking code (gevent's `echoserver.py`).
//!
//!     cargo run --example echo -- 127.0.0.1:7000
//!
//! then `nc 127.0.0.1 7000` and type.
//!
//! Its memory per client is one 4 KiB buffer, whatever the client sends; a
//! client that stops reading stalls only its own green thread, and is
//! disconnected after [`WRITE_TIMEOUT`]; a silent one after [`IDLE`].

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use grove::{StreamServer, TcpStream};

/// How long a client may stay silent.
pub const IDLE: Duration = Duration::from_secs(300);
/// How long an echo may wait for the client to take it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Echoes everything it reads until the peer closes.
pub fn handle(conn: TcpStream, _peer: SocketAddr) {
    if conn.set_read_timeout(Some(IDLE)).is_err()
        || conn.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let mut buf = [0u8; 4096];
    loop {
        match (&conn).read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if (&conn).write_all(&buf[..n]).is_err() {
                    return;
                }
            }
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
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let server = server(&addr)?;
    println!("echo server listening on {}", server.local_addr()?);
    server.serve_forever();
    Ok(())
}
