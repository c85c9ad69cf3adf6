//! The runtimes a workload can run on, and how each is built for a run.
//!
//! Every measurement builds a fresh runtime with the row's number of workers
//! and tears it down afterwards, so no run inherits another's pooled stacks,
//! queues or threads. may is configured once per process, so it always runs
//! in a child process (see `child.rs`).

use std::fmt;

use crate::error::BenchError;

/// One runtime under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// grove: green threads on hubs that steal.
    Grove,
    /// tokio's multi-thread runtime (stackless tasks), or its current-thread
    /// runtime where a workload wants one worker.
    Tokio,
    /// may, the stackful-coroutine runtime from crates.io.
    May,
    /// Plain `std::thread` OS threads.
    Std,
    /// Go's goroutines: the workloads as a Go program (`go_peer.rs`), where
    /// `go` is installed. Another language, marked so in the results.
    Go,
}

impl Peer {
    /// Every peer, grove first.
    pub const ALL: [Peer; 5] = [Peer::Grove, Peer::Tokio, Peer::May, Peer::Std, Peer::Go];

    /// The peer's name as printed and as passed to a child process.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Grove => "grove",
            Peer::Tokio => "tokio",
            Peer::May => "may",
            Peer::Std => "std",
            Peer::Go => "go",
        }
    }

    /// The language the peer is written in, where it is not Rust.
    pub fn language(self) -> Option<&'static str> {
        (self == Peer::Go).then_some("Go")
    }

    /// Parses a name produced by [`Peer::name`].
    pub fn parse(s: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Whether this peer can only run in a child process: may's scheduler
    /// reads its worker count once, at its first spawn, for the whole process.
    pub fn needs_child(self) -> bool {
        self == Peer::May
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A grove runtime with `workers` hubs and otherwise default settings
/// (2 MiB stacks with guard regions, default spin).
pub fn grove_runtime(workers: usize) -> Result<grove::Runtime, BenchError> {
    grove_builder(workers)
        .build()
        .map_err(|e| BenchError::Build {
            peer: "grove",
            message: e.to_string(),
        })
}

/// A grove builder with `workers` hubs, for workloads that change more.
pub fn grove_builder(workers: usize) -> grove::RuntimeBuilder {
    grove::Runtime::builder().workers(workers)
}

/// Builds a grove runtime from a builder, naming the failure.
pub fn grove_build(b: grove::RuntimeBuilder) -> Result<grove::Runtime, BenchError> {
    b.build().map_err(|e| BenchError::Build {
        peer: "grove",
        message: e.to_string(),
    })
}

/// tokio's multi-thread runtime with `workers` worker threads.
pub fn tokio_runtime(workers: usize) -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .map_err(|e| BenchError::Build {
            peer: "tokio",
            message: e.to_string(),
        })
}

/// tokio's current-thread runtime: every task on the calling thread.
pub fn tokio_current_thread() -> Result<tokio::runtime::Runtime, BenchError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| BenchError::Build {
            peer: "tokio",
            message: e.to_string(),
        })
}

/// Sets may's worker count. Only the first call in a process before may's
/// first spawn takes effect, which is why may runs in a child process.
pub fn may_configure(workers: usize) {
    may::config().set_workers(workers);
}
