//! [`GreenletRef`]: a cloneable, type-erased reference to a green thread.

use std::fmt;
use std::time::{Duration, Instant};

use crate::thread::{Thread, ThreadId};

use super::target::Target;

/// A cloneable, type-erased reference to a green thread, for waiting for it
/// and killing it without its result (which only the [`Greenlet`] can take).
/// Groups and pools hold these.
///
/// # Example
///
/// ```
/// let g = grove::spawn(|| grove::park());
/// let r = g.to_ref();
/// let r2 = r.clone();
/// std::thread::spawn(move || r2.kill()).join().unwrap();
/// assert!(r.is_ready());
/// assert!(g.join().is_err());
/// ```
#[derive(Clone)]
pub struct GreenletRef {
    pub(crate) target: Target,
}

impl std::panic::UnwindSafe for GreenletRef {}
impl std::panic::RefUnwindSafe for GreenletRef {}

impl fmt::Debug for GreenletRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenletRef")
            .field("id", &self.id())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl GreenletRef {
    /// The green thread's id.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// assert_eq!(g.to_ref().id(), g.id());
    /// ```
    pub fn id(&self) -> ThreadId {
        ThreadId::from_raw(self.target.task.id)
    }

    /// Whether it has finished.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.wait();
    /// assert!(g.to_ref().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.target.done.is_finished()
    }

    /// Waits for it to finish. Panics if called by that green thread itself.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// g.to_ref().wait();
    /// ```
    pub fn wait(&self) {
        self.target.assert_not_current("wait");
        self.target.wait_until(None);
    }

    /// Waits at most `timeout`; true if it finished.
    ///
    /// ```
    /// let g = grove::spawn(|| ());
    /// assert!(g.to_ref().wait_timeout(std::time::Duration::from_secs(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.target.assert_not_current("wait_timeout");
        self.target.wait_until(Instant::now().checked_add(timeout))
    }

    /// Kills it and waits for it, as [`Greenlet::kill`] does.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().kill();
    /// assert!(g.join().is_err());
    /// ```
    pub fn kill(&self) {
        self.target.kill_until(None, None);
    }

    /// Kills it, waiting at most `timeout`; true if it finished.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// assert!(g.to_ref().kill_timeout(std::time::Duration::from_secs(5)));
    /// ```
    pub fn kill_timeout(&self, timeout: Duration) -> bool {
        self.target
            .kill_until(None, Instant::now().checked_add(timeout))
    }

    /// Asks it to die without waiting: it unwinds at its next blocking point.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().kill_nowait();
    /// g.wait();
    /// ```
    pub fn kill_nowait(&self) {
        if !self.target.is_current() {
            self.target.request_kill(None);
        }
    }

    /// A handle to the green thread, e.g. to unpark it.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().thread().unpark();
    /// g.join().unwrap();
    /// ```
    pub fn thread(&self) -> Thread {
        Thread::from_task(self.target.task.clone())
    }
}
