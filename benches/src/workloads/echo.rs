//! `echo`: a TCP echo server on loopback, 100 connections each sending 64
//! bytes and waiting for them to come back, for 3 seconds.
//!
//! Measures what a gevent server spends per request when the request is
//! nothing: a read that would block (the green thread parks, the reactor
//! wakes it), a write, and the hops between hubs and the reactor. Each peer
//! runs its own server, one green thread (task, coroutine, OS thread) per
//! connection (see `net_server.rs`); every peer is driven by the same client
//! on OS threads in the same process (see `load_client.rs`), so client and
//! server share the machine's cores alike for every peer.
//!
//! The number is round trips answered per second over all connections
//! (higher is better).

use super::net_server::Served;
use super::protocol::Protocol;
use super::Unit;

/// See the module documentation.
pub static ECHO: Served = Served {
    name: "echo",
    about: "a TCP echo server on loopback: 100 connections, 64-byte requests, 3 s",
    protocol: Protocol::Echo,
    unit: Unit::RoundTripsPerSec,
    connections: (100, 8),
};
