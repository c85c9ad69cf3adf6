//! The hub's idle wait, behind a small trait, and its default implementation.
//!
//! A hub with nothing to run waits in its [`Driver`] until another thread
//! calls [`Driver::unpark`] or the next timer's deadline comes. grove-core ships
//! [`ThreadParker`]; grove-io plugs its per-hub reactor in through
//! [`crate::RuntimeBuilder::driver`], so that I/O readiness, timers and
//! cross-hub wakeups all end the same wait.
//!
//! [`ThreadParker`] is also the OS-level half of every in-place park: a plain
//! OS thread blocking through grove waits on its thread's parker. (Green
//! threads always switch to their hub instead.)
//!
//! # Protocol
//!
//! The parker holds one token (`notified`) under a mutex, like
//! `std::thread::park`: `unpark` sets it and signals the condvar; `park`
//! returns as soon as it finds it set, consuming it, or when the timeout
//! passes. An unpark before the park is therefore never lost. Spurious
//! returns are allowed, and every caller re-checks its own condition.

use std::sync::OnceLock;
use std::time::Duration;

use crate::sync::{lock, Condvar, Mutex};

/// What a hub waits in when it has nothing to run.
///
/// Implementations must be cheap to `unpark` from any thread and must not lose
/// an `unpark` that comes before the `park` (keep a token, as
/// `std::thread::park` does). `park` may return spuriously.
///
/// # Example
///
/// A driver that counts its wakeups, wrapping the default one:
///
/// ```
/// use grove::{Driver, Runtime, ThreadParker};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
///
/// #[derive(Default)]
/// struct Counting { inner: ThreadParker, unparks: AtomicUsize }
///
/// impl Driver for Counting {
///     fn park(&self, timeout: Option<Duration>) { self.inner.park(timeout) }
///     fn unpark(&self) {
///         self.unparks.fetch_add(1, Ordering::Relaxed);
///         self.inner.unpark()
///     }
/// }
///
/// let rt = Runtime::builder()
///     .workers(2)
///     .driver(|_hub| Box::new(Counting::default()))
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 6 * 7), 42);
/// ```
pub trait Driver: Send + Sync + 'static {
    /// Waits until [`unpark`](Driver::unpark) is called or `timeout` passes
    /// (`None`: no deadline; `Some(Duration::ZERO)`: poll and return). The hub
    /// calls it with a zero timeout now and then while busy, so a driver that
    /// also watches I/O gets polled.
    fn park(&self, timeout: Option<Duration>);

    /// Takes what is ready now, without waiting and without pacing: the
    /// hub calls it every few microseconds while it spins before sleeping,
    /// so that a driver that watches I/O hands over what became ready
    /// meanwhile. Default: nothing.
    ///
    /// ```
    /// use grove::Driver;
    /// grove::ThreadParker::new().poll(); // nothing to take
    /// ```
    fn poll(&self) {}

    /// Ends the current or the next [`park`](Driver::park). Called from any thread.
    fn unpark(&self);

    /// Called once on the hub's own OS thread when the hub starts, before it
    /// runs anything, so that a driver can make itself known to the code
    /// that runs on that thread (grove-io's reactor does). Does nothing by
    /// default.
    ///
    /// ```
    /// use grove::{Driver, Runtime, ThreadParker};
    /// use std::time::Duration;
    ///
    /// thread_local!(static HUB: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) });
    ///
    /// struct Named(usize, ThreadParker);
    /// impl Driver for Named {
    ///     fn park(&self, t: Option<Duration>) { self.1.park(t) }
    ///     fn unpark(&self) { self.1.unpark() }
    ///     fn attach(&self) { HUB.with(|h| h.set(Some(self.0))) }
    /// }
    ///
    /// let rt = Runtime::builder()
    ///     .workers(1)
    ///     .driver(|hub| Box::new(Named(hub, ThreadParker::new())))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(|| HUB.with(|h| h.get())), Some(0));
    /// ```
    fn attach(&self) {}

    /// Called once on the hub's own OS thread when the hub stops, after its
    /// last green thread: a driver that is also a reactor can tell what is
    /// registered with it that nobody will poll it again. Does nothing by
    /// default.
    ///
    /// ```
    /// use grove::{Driver, Runtime, ThreadParker};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// struct Flag(Arc<AtomicBool>, ThreadParker);
    /// impl Driver for Flag {
    ///     fn park(&self, t: Option<Duration>) { self.1.park(t) }
    ///     fn unpark(&self) { self.1.unpark() }
    ///     fn detach(&self) { self.0.store(true, Ordering::SeqCst) }
    /// }
    ///
    /// let stopped = Arc::new(AtomicBool::new(false));
    /// let s = stopped.clone();
    /// let rt = Runtime::builder()
    ///     .workers(1)
    ///     .driver(move |_| Box::new(Flag(s.clone(), ThreadParker::new())))
    ///     .build()
    ///     .unwrap();
    /// rt.shutdown();
    /// assert!(stopped.load(Ordering::SeqCst));
    /// ```
    fn detach(&self) {}

    /// How many descriptors are registered with this driver's reactor, if
    /// it has one (for snapshots). Default: `None`.
    ///
    /// ```
    /// use grove::Driver;
    /// assert_eq!(grove::ThreadParker::new().registered(), None);
    /// ```
    fn registered(&self) -> Option<usize> {
        None
    }
}

/// The default [`Driver`]: a token, a mutex and a condvar.
///
/// # Example
///
/// ```
/// use grove::{Driver, ThreadParker};
/// use std::time::Duration;
///
/// let p = ThreadParker::new();
/// p.unpark();
/// p.park(None); // returns at once: the token was set first
/// p.park(Some(Duration::from_millis(1))); // times out
/// ```
#[derive(Debug, Default)]
pub struct ThreadParker {
    notified: Mutex<bool>,
    cond: Condvar,
}

impl ThreadParker {
    /// A parker with no token.
    ///
    /// ```
    /// use grove::Driver;
    /// let p = grove::ThreadParker::new();
    /// p.park(Some(std::time::Duration::ZERO)); // no token: returns after the (zero) timeout
    /// ```
    pub fn new() -> Self {
        ThreadParker {
            notified: Mutex::new(false),
            cond: Condvar::new(),
        }
    }
}

impl Driver for ThreadParker {
    fn park(&self, timeout: Option<Duration>) {
        let mut notified = lock(&self.notified);
        if !*notified {
            match timeout {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    notified = match self.cond.wait_timeout(notified, d) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
                None => {
                    notified = match self.cond.wait(notified) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                }
            }
        }
        *notified = false;
    }

    fn unpark(&self) {
        let mut notified = lock(&self.notified);
        if !*notified {
            *notified = true;
            self.cond.notify_one();
        }
    }
}

/// What makes the drivers of a runtime: called with each hub's index.
pub type DriverFactory = Box<dyn Fn(usize) -> Box<dyn Driver> + Send + Sync>;

static DEFAULT_DRIVERS: OnceLock<fn() -> DriverFactory> = OnceLock::new();

/// Sets what a runtime built without [`RuntimeBuilder::driver`] idles in:
/// `provider` makes a fresh factory for each such runtime, including the
/// default runtime if it has not started yet. grove-io sets it to its
/// reactors the first time one of its types is used. The first call wins;
/// returns whether this one did.
///
/// [`RuntimeBuilder::driver`]: crate::RuntimeBuilder::driver
///
/// ```
/// use grove::{Driver, DriverFactory, ThreadParker};
/// fn parkers() -> DriverFactory {
///     Box::new(|_hub| Box::new(ThreadParker::new()) as Box<dyn Driver>)
/// }
/// grove::set_default_drivers(parkers);
/// assert!(!grove::set_default_drivers(parkers), "the first call wins");
/// ```
pub fn set_default_drivers(provider: fn() -> DriverFactory) -> bool {
    DEFAULT_DRIVERS.set(provider).is_ok()
}

/// A factory from the provider set by [`set_default_drivers`], if any.
pub(crate) fn default_drivers() -> Option<DriverFactory> {
    DEFAULT_DRIVERS.get().map(|provider| provider())
}
