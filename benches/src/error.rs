//! The suite's error type.

use std::fmt;

/// Everything that can stop a measurement or the whole run.
#[derive(Debug)]
pub enum BenchError {
    /// A command-line argument was wrong.
    Usage(String),
    /// A runtime could not be built.
    Build {
        /// grove, tokio, may or std.
        peer: &'static str,
        /// What its builder said.
        message: String,
    },
    /// A task, green thread or coroutine failed or was lost.
    Task {
        /// grove, tokio, may or std.
        peer: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A measurement did not finish within its bound.
    Timeout(String),
    /// A child process failed or printed something unreadable.
    Child(String),
    /// A results file could not be written, read or understood.
    Results(String),
    /// Reading `/proc` or writing a file failed.
    Io(std::io::Error),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Usage(m) => write!(f, "usage: {m}"),
            BenchError::Build { peer, message } => {
                write!(f, "{peer}: cannot build runtime: {message}")
            }
            BenchError::Task { peer, message } => write!(f, "{peer}: task failed: {message}"),
            BenchError::Timeout(m) => write!(f, "timed out: {m}"),
            BenchError::Child(m) => write!(f, "child process: {m}"),
            BenchError::Results(m) => write!(f, "results file: {m}"),
            BenchError::Io(e) => write!(f, "i/o: {e}"),
        }
    }
}

impl std::error::Error for BenchError {}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> Self {
        BenchError::Io(e)
    }
}

/// Shorthand for a task failure of `peer`.
pub fn task_err(peer: &'static str, message: impl fmt::Display) -> BenchError {
    BenchError::Task {
        peer,
        message: message.to_string(),
    }
}
