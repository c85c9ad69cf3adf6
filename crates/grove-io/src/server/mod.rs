//! [`StreamServer`] and [`DatagramServer`] (gevent.server): an accept (or
//! receive) loop in a green thread of its own, and a green thread per
//! connection (or datagram).
//!
//! # Which runtime
//!
//! A server runs on the runtime given to
//! [`runtime`](StreamServer::runtime), or else on the runtime of whoever
//! calls `start` (`Handle::current()`: the caller's runtime in a green
//! thread, the default runtime from a plain OS thread). Its handlers run
//! on the same runtime as its loop.
//!
//! # Stopping
//!
//! `stop` sets the server's `stopping` flag and kills the loop's green
//! thread, which is parked in `accept` (or `recv_from`) and unwinds; no new
//! handler starts after that. Then it waits for the running handlers (a
//! [`Group`], or a [`Pool`] when connections are capped) up to the timeout,
//! and kills those still running.
//!
//! # Errors are reported, never silent
//!
//! A connection that failed before it was accepted (`ECONNABORTED`,
//! `ECONNRESET`, `EPROTO`) is skipped at once. Any other accept error, above
//! all running out of descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`,
//! `ENOMEM`), lasts until something changes: the loop reports it
//! ([`ServerError::Accept`]), sleeps, from 5 ms doubling up to 1 s, and
//! tries again. A handler that cannot start (no stack for it) closes its
//! connection unserved; each handler's completion is linked, so that is
//! reported at once ([`ServerError::Unserved`]), and the loop pauses before
//! it accepts again the same way, leaving further clients in the kernel's
//! backlog until green threads end and free their stacks. Reports go to the
//! server's error handler, by default
//! standard error. The loop never spins and never dies of these errors.

mod datagram;
mod error;
mod stream;

pub use datagram::DatagramServer;
pub use error::ServerError;
pub use stream::StreamServer;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use grove_core::{Error, Greenlet, GreenletRef, Handle};
use grove_sync::{Group, Pool};

/// The first and the longest pause after an error that needs something to
/// change first.
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Whether an accept error concerns only the connection being accepted
/// (retry at once) rather than the listener or the process (wait first).
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNABORTED | libc::ECONNRESET | libc::EPROTO)
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a server's errors go.
pub(crate) type Reporter = Arc<dyn Fn(&ServerError) + Send + Sync>;

/// The default reporter: one line on standard error naming the server.
fn print_to_stderr(name: String) -> Reporter {
    Arc::new(move |e: &ServerError| eprintln!("grove: {name}: {e}"))
}

/// A pause that doubles each time it is taken, up to [`BACKOFF_MAX`].
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(BACKOFF_FIRST)
    }

    fn reset(&mut self) {
        self.0 = BACKOFF_FIRST;
    }

    /// The pause to report and take now.
    fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        now
    }
}

/// Handlers that could not start, counted by their completion links and
/// read by the loop.
#[derive(Default)]
struct Unserved {
    failed: AtomicUsize,
    /// Set by each handler that starts: the pause after failures resets.
    started: AtomicBool,
}

/// The loop's view of [`Unserved`]: how many failures it has paused for.
struct UnservedWatch {
    shared: Arc<Unserved>,
    seen: usize,
    backoff: Backoff,
}

impl UnservedWatch {
    fn new() -> UnservedWatch {
        UnservedWatch {
            shared: Arc::default(),
            seen: 0,
            backoff: Backoff::new(),
        }
    }

    /// Links a handler's completion: a failure to start is reported at
    /// once and counted, so that the loop pauses.
    fn watch<T: Send + 'static>(&self, g: &Greenlet<T>, what: &'static str, report: &Reporter) {
        let (shared, report) = (self.shared.clone(), report.clone());
        g.link(move |r| {
            if let Err(Error::Spawn(e)) = r {
                shared.failed.fetch_add(1, Ordering::SeqCst);
                report(&ServerError::Unserved {
                    what,
                    reason: e.to_string(),
                });
            }
        });
    }

    /// Marks a handler as started (called first thing in the handler).
    fn started(shared: &Unserved) {
        if !shared.started.load(Ordering::Relaxed) {
            shared.started.store(true, Ordering::Relaxed);
        }
    }

    /// If handlers failed to start since the last look, pauses (longer each
    /// time until one starts again); returns whether it did.
    fn pause_if_failing(&mut self) -> bool {
        if self.shared.started.swap(false, Ordering::Relaxed) {
            self.backoff.reset();
        }
        let failed = self.shared.failed.load(Ordering::SeqCst);
        if failed == self.seen {
            return false;
        }
        self.seen = failed;
        grove_core::sleep(self.backoff.next());
        true
    }
}

/// Where handlers run: a group, or a pool that caps them.
#[derive(Clone)]
enum Handlers {
    Group(Group),
    Pool(Pool),
}

impl Handlers {
    fn group(&self) -> &Group {
        match self {
            Handlers::Group(g) => g,
            Handlers::Pool(p) => p,
        }
    }
}

/// What both servers share: where they run, the loop's green thread, the
/// flag, the handlers, the error handler.
struct Running {
    handle: Option<Handle>,
    report: Option<Reporter>,
    handlers: Handlers,
    stopping: Arc<AtomicBool>,
    loop_thread: Mutex<Option<GreenletRef>>,
}

impl Running {
    fn new(max: Option<usize>) -> Running {
        Running {
            handle: None,
            report: None,
            handlers: match max {
                Some(n) => Handlers::Pool(Pool::new(n)),
                None => Handlers::Group(Group::new()),
            },
            stopping: Arc::new(AtomicBool::new(false)),
            loop_thread: Mutex::new(None),
        }
    }

    /// The error handler, or the default one naming the server `name`.
    fn reporter(&self, name: impl FnOnce() -> String) -> Reporter {
        self.report
            .clone()
            .unwrap_or_else(|| print_to_stderr(name()))
    }

    fn start(&self, report: Reporter, body: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let mut slot = lock(&self.loop_thread);
        if slot.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the server is already started",
            ));
        }
        self.stopping.store(false, Ordering::SeqCst);
        let handle = self.handle.clone().unwrap_or_else(Handle::current);
        let g = handle.spawn(body);
        g.link(move |r| {
            if let Err(Error::Spawn(e)) = r {
                report(&ServerError::LoopStart {
                    reason: e.to_string(),
                });
            }
        });
        *slot = Some(g.to_ref());
        Ok(())
    }

    fn serve_forever(&self) {
        let looping = lock(&self.loop_thread).clone();
        if let Some(l) = looping {
            l.wait();
        }
    }

    fn stop(&self, timeout: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        let looping = lock(&self.loop_thread).take();
        if let Some(l) = looping {
            l.kill();
        }
        let group = self.handlers.group();
        let graceful = group.join_timeout(timeout);
        if !graceful {
            group.kill();
        }
        graceful
    }

    fn len(&self) -> usize {
        self.handlers.group().len()
    }
}
