//! The `tokio` feature: futures that need tokio's reactor or timers run
//! from green threads through [`block_on`](grove_core::block_on).
//!
//! A background tokio runtime (one worker thread, named `grove-tokio`, I/O
//! and time drivers enabled) is built on first use. Every poll made by
//! `block_on` runs inside that runtime's context (`Handle::enter`), and the
//! context is left before the green thread parks, so no tokio `EnterGuard`
//! is ever held across a switch. Inside that context `tokio::net`,
//! `tokio::time` and `tokio::spawn` work as in any tokio program; the
//! drivers run on the background worker, and their wakeups unpark the
//! green threads that wait. A poll made on a thread that is inside a tokio
//! runtime already (a tokio worker calling `block_on`) uses that runtime.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

fn background() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("grove-tokio")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("grove: cannot start the background tokio runtime: {e}"))
    })
}

/// The handle of the background tokio runtime that grove's
/// [`block_on`](grove_core::block_on) polls futures in (built on first
/// use): spawn tokio tasks on it from anywhere, also outside `block_on`.
///
/// ```
/// let task = grove::tokio_handle().spawn(async { 40 + 2 });
/// let v = grove::spawn(move || grove::block_on(task)).join().unwrap();
/// assert_eq!(v.unwrap(), 42);
/// ```
pub fn tokio_handle() -> Handle {
    background().handle().clone()
}

/// `block_on`'s poll hook: one poll inside a tokio context.
pub(crate) fn enter_poll(poll: &mut dyn FnMut()) {
    if Handle::try_current().is_ok() {
        return poll();
    }
    let _context = background().handle().enter();
    poll();
}

/// Installs [`enter_poll`] (at load, with the reactors).
pub(crate) fn install() {
    grove_core::set_poll_hook(enter_poll);
}
