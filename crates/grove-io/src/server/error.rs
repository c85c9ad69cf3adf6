//! [`ServerError`]: what a server's loop reports instead of failing silently.

use std::fmt;
use std::io;
use std::time::Duration;

/// Something that went wrong in a server's loop. The server carries on (it
/// never dies of these) and passes each to its error handler
/// ([`StreamServer::on_error`](crate::StreamServer::on_error)), which by
/// default prints it to standard error.
///
/// ```
/// let e = grove::ServerError::Unserved {
///     what: "connection",
///     reason: "no stack".into(),
/// };
/// assert_eq!(
///     e.to_string(),
///     "a connection was closed unserved: its green thread could not start (no stack); \
///      accepting pauses (5 ms, doubling up to 1 s while this goes on)"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// `accept` (or `recv_from`) failed in a way that lasts until something
    /// changes, such as running out of descriptors (`EMFILE`) or memory: the
    /// loop waits `pause` and tries again, while further clients wait in the
    /// kernel's listen backlog.
    Accept {
        /// What the kernel said.
        error: io::Error,
        /// How long the loop waits before trying again.
        pause: Duration,
    },
    /// A handler could not start, so its connection was closed (or its
    /// datagram dropped) unserved. Most often there was no stack for it
    /// (`SpawnError::MapLimit` or `SpawnError::StackLimit`). Reported at
    /// once, from the hub that tried to start it; the loop then pauses
    /// before it accepts again, 5 ms doubling up to 1 s while handlers keep
    /// failing, so further clients wait in the kernel's backlog until green
    /// threads end and free their stacks.
    Unserved {
        /// `"connection"` or `"datagram"`.
        what: &'static str,
        /// Why it could not start.
        reason: String,
    },
    /// The server's own loop could not start, so it serves nothing.
    LoopStart {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Accept { error, pause } => {
                write!(f, "accept failed: {error}; trying again in {pause:?}")
            }
            ServerError::Unserved { what, reason } => {
                let verb = if *what == "datagram" {
                    "dropped"
                } else {
                    "closed"
                };
                write!(
                    f,
                    "a {what} was {verb} unserved: its green thread could not start ({reason}); \
                     accepting pauses (5 ms, doubling up to 1 s while this goes on)"
                )
            }
            ServerError::LoopStart { reason } => {
                write!(f, "the server's loop could not start: {reason}")
            }
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Accept { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well_in_the_singular_and_plural() {
        let one = ServerError::Unserved {
            what: "datagram",
            reason: "r".into(),
        };
        assert!(one
            .to_string()
            .starts_with("a datagram was dropped unserved: its green thread could not start (r)"));
        let accept = ServerError::Accept {
            error: io::Error::from_raw_os_error(libc::EMFILE),
            pause: Duration::from_millis(5),
        };
        assert!(accept
            .to_string()
            .starts_with("accept failed: Too many open files"));
        assert!(std::error::Error::source(&accept).is_some());
    }
}
