//! Killing with a value of the caller's choosing (gevent's
//! `kill(exception=...)` and `throw`), for both handles.

use std::any::Any;
use std::time::{Duration, Instant};

use super::{Greenlet, GreenletRef};

impl<T> Greenlet<T> {
    /// Asks the green thread to die without waiting for it: it unwinds from
    /// its next blocking point with [`GreenletExit`](crate::GreenletExit)
    /// (gevent's `kill(block=False)`). Called by the green thread itself,
    /// it unwinds at once.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.kill_nowait();
    /// assert!(matches!(g.join(), Err(grove::Error::Killed)));
    /// ```
    pub fn kill_nowait(&self) {
        self.target.kill_nowait(None);
    }

    /// Makes the green thread unwind from its next blocking point with
    /// `value` as the unwinding payload, without waiting for it (gevent's
    /// `throw`, and `kill(exception, block=False)`). Destructors run as for
    /// a kill; code inside can catch the value with
    /// `std::panic::catch_unwind` and `downcast` it. If it is not caught,
    /// [`join`](Greenlet::join) gives `Err(Error::Panicked(payload))` with
    /// `value` as the payload, as if the green thread had panicked with
    /// it; if the green thread had not started, it never runs and ends
    /// the same way.
    ///
    /// A kill pending already wins: a value thrown while a kill or another
    /// value is pending is dropped. A later [`kill`](Greenlet::kill)
    /// replaces a pending value. Called by the green thread itself, it
    /// unwinds at once; on a finished green thread it does nothing.
    ///
    /// ```
    /// #[derive(Debug, PartialEq)]
    /// struct Reload;
    ///
    /// let g = grove::spawn(|| {
    ///     match std::panic::catch_unwind(grove::park) {
    ///         Err(p) if p.is::<Reload>() => "reloading",
    ///         Err(p) => std::panic::resume_unwind(p),
    ///         Ok(()) => "woken",
    ///     }
    /// });
    /// grove::sleep(std::time::Duration::from_millis(5));
    /// g.throw(Reload);
    /// assert_eq!(g.join().unwrap(), "reloading");
    /// ```
    pub fn throw<E: Any + Send>(&self, value: E) {
        self.target.kill_nowait(Some(Box::new(value)));
    }

    /// [`throw`](Greenlet::throw), then waits for the green thread to
    /// finish (gevent's `kill(exception)`).
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.kill_with("shutting down");
    /// let err = g.join().unwrap_err();
    /// assert_eq!(err.panic_message(), Some("shutting down"));
    /// ```
    pub fn kill_with<E: Any + Send>(&self, value: E) {
        self.target.kill_until(Some(Box::new(value)), None);
    }

    /// [`kill_with`](Greenlet::kill_with), waiting at most `timeout`; true
    /// if it finished.
    ///
    /// ```
    /// use std::time::Duration;
    /// let g = grove::spawn(grove::park);
    /// assert!(g.kill_with_timeout("stop", Duration::from_secs(5)));
    /// ```
    pub fn kill_with_timeout<E: Any + Send>(&self, value: E, timeout: Duration) -> bool {
        self.target
            .kill_until(Some(Box::new(value)), Instant::now().checked_add(timeout))
    }
}

impl GreenletRef {
    /// [`Greenlet::throw`], through a reference.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().throw("stop");
    /// assert_eq!(g.join().unwrap_err().panic_message(), Some("stop"));
    /// ```
    pub fn throw<E: Any + Send>(&self, value: E) {
        self.target.kill_nowait(Some(Box::new(value)));
    }

    /// [`Greenlet::kill_with`], through a reference.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// g.to_ref().kill_with(7_u32);
    /// assert!(g.is_ready());
    /// ```
    pub fn kill_with<E: Any + Send>(&self, value: E) {
        self.target.kill_until(Some(Box::new(value)), None);
    }
}
