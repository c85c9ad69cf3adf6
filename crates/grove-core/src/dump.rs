//! Dump on demand: a signal prints a [`Snapshot`] of every runtime on
//! standard error.
//!
//! The signal handler itself only wakes a thread (the `signal-hook` crate's
//! self-pipe: the handler writes one byte, which is async-signal-safe); that
//! thread builds and prints the snapshots, with no restriction on what it
//! may call.

use std::io;
use std::sync::{Arc, Mutex, Weak};

use crate::runtime::Shared;
use crate::snapshot::Snapshot;

static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

fn runtimes() -> std::sync::MutexGuard<'static, Vec<Weak<Shared>>> {
    RUNTIMES.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new runtime joins the list that dumps walk.
pub(crate) fn register(shared: &Arc<Shared>) {
    let mut all = runtimes();
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(shared));
}

/// A snapshot of every runtime still running in the process, oldest first.
///
/// ```
/// let rt = grove::Runtime::builder().workers(1).build().unwrap();
/// assert!(grove::snapshot_all().iter().any(|s| s.hubs.len() == 1));
/// ```
pub fn snapshot_all() -> Vec<Snapshot> {
    let live: Vec<Arc<Shared>> = runtimes().iter().filter_map(Weak::upgrade).collect();
    live.iter()
        .filter(|s| !s.handoff.stopping())
        .map(|s| Snapshot::take(s))
        .collect()
}

/// Signal numbers to pass to [`dump_on_signal`] and to grove's `Signals`,
/// so that no other crate is needed for them.
pub mod signals {
    /// `SIGINT` (Ctrl-C in a terminal).
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGINT, 2);
    /// ```
    pub const SIGINT: i32 = libc::SIGINT;
    /// `SIGTERM`, what service managers send to stop a process.
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGTERM, 15);
    /// ```
    pub const SIGTERM: i32 = libc::SIGTERM;
    /// `SIGHUP`, often used to ask a server to reload.
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGHUP, 1);
    /// ```
    pub const SIGHUP: i32 = libc::SIGHUP;
    /// `SIGQUIT` (Ctrl-\ in a terminal), what Go and the JVM dump on.
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGQUIT, 3);
    /// ```
    pub const SIGQUIT: i32 = libc::SIGQUIT;
    /// `SIGUSR1`, free for a program's own use.
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGUSR1, 10);
    /// ```
    pub const SIGUSR1: i32 = libc::SIGUSR1;
    /// `SIGUSR2`, free for a program's own use.
    ///
    /// ```
    /// assert_eq!(grove::signals::SIGUSR2, 12);
    /// ```
    pub const SIGUSR2: i32 = libc::SIGUSR2;
}

/// From now on, `signal` (for example [`signals::SIGUSR1`], or
/// [`signals::SIGQUIT`] as in Go and the JVM) prints a snapshot of every runtime on standard error
/// (see [`Snapshot`]'s `Display`), and the process goes on. Opt-in; call
/// it once, early in `main`. An error if the signal cannot be caught
/// (`SIGKILL`, `SIGSTOP`, or one that would break the process, such as
/// `SIGSEGV`) or the dump thread cannot start.
///
/// ```
/// grove::dump_on_signal(grove::signals::SIGUSR1).unwrap();
/// assert!(grove::dump_on_signal(9).is_err()); // SIGKILL cannot be caught
/// ```
pub fn dump_on_signal(signal: i32) -> io::Result<()> {
    if signal_hook::consts::FORBIDDEN.contains(&signal) || !(1..=64).contains(&signal) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("grove: signal {signal} cannot carry a dump"),
        ));
    }
    let mut signals = signal_hook::iterator::Signals::new([signal])?;
    std::thread::Builder::new()
        .name("grove-dump".into())
        .spawn(move || {
            for _ in signals.forever() {
                let snaps = snapshot_all();
                let mut out = format!("grove: dump of {} runtimes\n", snaps.len());
                for s in snaps {
                    out.push_str(&s.to_string());
                    out.push('\n');
                }
                eprint!("{out}");
            }
        })?;
    Ok(())
}
