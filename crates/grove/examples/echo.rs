//! An echo server: one green thread per connection, written as plain
//! blocking code (gevent's `echoserver.py`).
//!
//!     cargo run --example echo -- 127.0.0.1:7000
//!
//! then `nc 127.0.0.1 7000` and type.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use grove::{StreamServer, TcpStream};

/// Echoes everything it reads until the peer closes.
pub fn handle(conn: TcpStream, _peer: SocketAddr) {
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
