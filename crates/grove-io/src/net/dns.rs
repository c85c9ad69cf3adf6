//! [`lookup_host`]: name resolution on the blocking pool.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::blocking::blocking;

/// Resolves `host` (`"name:port"`, as std's `ToSocketAddrs` takes it) on the
/// blocking pool, so a green thread waiting for DNS does not stall its hub.
///
/// # Example
///
/// ```
/// let addrs: Vec<_> = grove::lookup_host("localhost:80").unwrap().collect();
/// assert!(addrs.iter().all(|a| a.port() == 80 && a.ip().is_loopback()));
/// ```
pub fn lookup_host(host: &str) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    let host = host.to_owned();
    blocking(move || {
        host.to_socket_addrs()
            .map(|a| a.collect::<Vec<_>>().into_iter())
    })
}
