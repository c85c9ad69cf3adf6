//! `http_hello`: an HTTP/1.1 hello-world server on loopback, 64 keep-alive
//! connections each sending one request and waiting for its response, for
//! 3 seconds.
//!
//! Measures a web server's floor: `echo`'s costs plus parsing each request
//! (`httparse`, the same parser and the same handler code for every peer)
//! and writing a fixed response. Servers and client are set up as for `echo`
//! (see `net_server.rs` and `load_client.rs`); the client checks every
//! response byte for byte.
//!
//! The number is requests answered per second over all connections (higher
//! is better).

use super::net_server::Served;
use super::protocol::Protocol;
use super::Unit;

/// See the module documentation.
pub static HTTP_HELLO: Served = Served {
    name: "http_hello",
    about: "an HTTP/1.1 keep-alive hello-world server on loopback: 64 connections, 3 s",
    protocol: Protocol::Http,
    unit: Unit::RequestsPerSec,
    connections: (64, 8),
};
