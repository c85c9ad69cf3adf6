//! Green-thread lifecycle events through `tracing` (the `tracing` feature).
//!
//! Every event has the target `grove` and the green thread's `id` (and
//! `name`, where it has one) as fields:
//!
//! | event | level | when | other fields |
//! |---|---|---|---|
//! | `spawn` | TRACE | a green thread is spawned | `parent` |
//! | `start` | TRACE | a hub runs it for the first time | `hub` |
//! | `park` | TRACE | it blocks | `reason` |
//! | `wake` | TRACE | a wake makes it runnable | |
//! | `kill` | DEBUG | a kill is requested | |
//! | `panic` | WARN | it panicked | `payload` (the panic message) |
//! | `end` | TRACE | it finished | `outcome` |
//! | `stuck hub` | WARN | the watchdog's report (`watch.rs`) | `hub`, `running_for_ms`, `waiting`, `syscall` |
//!
//! Without the feature every function here is empty and inlined away.

use crate::reason::WaitReason;
use crate::task::Task;

#[cfg(feature = "tracing")]
fn name(task: &Task) -> &str {
    task.name.as_deref().unwrap_or("")
}

/// A green thread was spawned.
#[inline]
pub(crate) fn spawn(task: &Task) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "grove", id = task.id, name = name(task), parent = task.parent, "spawn");
    #[cfg(not(feature = "tracing"))]
    let _ = task;
}

/// A hub runs a green thread for the first time.
#[inline]
pub(crate) fn start(task: &Task, hub: usize) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "grove", id = task.id, name = name(task), hub, "start");
    #[cfg(not(feature = "tracing"))]
    let _ = (task, hub);
}

/// A green thread blocks.
#[inline]
pub(crate) fn park(task: &Task, reason: &WaitReason) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "grove", id = task.id, name = name(task), reason = %reason, "park");
    #[cfg(not(feature = "tracing"))]
    let _ = (task, reason);
}

/// A wake made a green thread runnable.
#[inline]
pub(crate) fn wake(task: &Task) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "grove", id = task.id, name = name(task), "wake");
    #[cfg(not(feature = "tracing"))]
    let _ = task;
}

/// A kill was requested.
#[inline]
pub(crate) fn kill(task: &Task) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "grove", id = task.id, name = name(task), "kill");
    #[cfg(not(feature = "tracing"))]
    let _ = task;
}

/// A green thread panicked.
#[inline]
pub(crate) fn panic(task: &Task, message: &str) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "grove", id = task.id, name = name(task), payload = message, "panic");
    #[cfg(not(feature = "tracing"))]
    let _ = (task, message);
}

/// A green thread finished: `outcome` is `returned`, `panicked`, `killed`
/// or `not started`.
#[inline]
pub(crate) fn end(task: &Task, outcome: &str) {
    #[cfg(feature = "tracing")]
    tracing::trace!(target: "grove", id = task.id, name = name(task), outcome, "end");
    #[cfg(not(feature = "tracing"))]
    let _ = (task, outcome);
}

/// The watchdog's report of a stuck hub.
#[inline]
pub(crate) fn stuck(report: &crate::watch::StuckHub) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "grove",
        id = report.thread.as_u64(),
        name = report.name.as_deref().unwrap_or(""),
        hub = report.hub,
        running_for_ms = report.running_for.as_millis() as u64,
        waiting = report.waiting,
        syscall = report.syscall.as_deref().unwrap_or(""),
        "stuck hub"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = report;
}
