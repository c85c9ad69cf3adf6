//! Errors a green thread's outcome or a runtime build can carry.

use std::any::Any;
use std::fmt;

pub use crate::stack::SpawnError;

/// Why joining a green thread gave no value.
///
/// # Example
///
/// ```
/// let g = grove::spawn(|| -> u32 { panic!("boom") });
/// match g.join() {
///     Err(grove::Error::Panicked(p)) => {
///         assert_eq!(p.downcast_ref::<&str>(), Some(&"boom"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[non_exhaustive]
pub enum Error {
    /// The green thread was killed (by `Greenlet::kill` or runtime shutdown)
    /// and unwound before it returned.
    Killed,
    /// The green thread panicked; this is the panic payload, as
    /// `std::thread::JoinHandle::join` gives it.
    Panicked(Box<dyn Any + Send + 'static>),
    /// A green thread tried to join itself, which could never finish.
    JoinSelf,
    /// The green thread could not start (for example, no stack could be mapped).
    Spawn(SpawnError),
    /// Waiting from outside the runtime, the caller learned that every
    /// green thread of the runtime is parked and nothing can wake any of
    /// them: the report says who waits for what.
    Deadlock(std::sync::Arc<crate::DeadlockReport>),
}

impl Error {
    /// The panic message, if this is a panic whose payload is a string.
    ///
    /// ```
    /// let g = grove::spawn(|| panic!("bad {}", 1));
    /// assert_eq!(g.join().unwrap_err().panic_message(), Some("bad 1"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            Error::Panicked(p) => payload_str(&**p),
            _ => None,
        }
    }
}

/// A panic payload's message, if it is a string.
fn payload_str(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

/// A panic payload as text, for reports.
pub(crate) fn panic_text(p: &(dyn Any + Send)) -> &str {
    payload_str(p).unwrap_or("(a payload that is not a string)")
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Killed => f.write_str("Killed"),
            Error::Panicked(_) => match self.panic_message() {
                Some(m) => f.debug_tuple("Panicked").field(&m).finish(),
                None => f.write_str("Panicked(..)"),
            },
            Error::JoinSelf => f.write_str("JoinSelf"),
            Error::Spawn(e) => f.debug_tuple("Spawn").field(e).finish(),
            Error::Deadlock(r) => f.debug_tuple("Deadlock").field(r).finish(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Killed => f.write_str("the green thread was killed"),
            Error::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "the green thread panicked: {m}"),
                None => f.write_str("the green thread panicked"),
            },
            Error::JoinSelf => f.write_str("a green thread cannot join itself"),
            Error::Spawn(e) => write!(f, "the green thread could not start: {e}"),
            Error::Deadlock(r) => write!(f, "deadlock: {r}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a runtime could not be built.
///
/// ```
/// let err = grove::Runtime::builder().workers(0).build().unwrap_err();
/// assert!(matches!(err, grove::BuildError::ZeroWorkers));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(0)`: a runtime needs at least one hub.
    ZeroWorkers,
    /// More hubs than grove supports (`max`).
    TooManyWorkers {
        /// What was asked for.
        requested: usize,
        /// The most grove supports.
        max: usize,
    },
    /// The default stack size is out of range.
    StackSize(SpawnError),
    /// A hub's OS thread could not be started.
    Thread(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => f.write_str("a runtime needs at least one worker"),
            BuildError::TooManyWorkers { requested, max } => {
                write!(
                    f,
                    "{requested} workers requested; at most {max} are supported"
                )
            }
            BuildError::StackSize(e) => e.fmt(f),
            BuildError::Thread(e) => write!(f, "could not start a hub thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::StackSize(e) => Some(e),
            BuildError::Thread(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BuildError> for std::io::Error {
    fn from(e: BuildError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// The panic payload a killed green thread unwinds with (gevent's
/// `GreenletExit`).
///
/// Code that catches panics with `std::panic::catch_unwind` inside a green
/// thread should re-raise this payload with `std::panic::resume_unwind`, or
/// the kill is swallowed and the green thread goes on running.
///
/// ```
/// use std::panic;
/// use std::time::Duration;
///
/// let g = grove::spawn(|| {
///     let r = panic::catch_unwind(|| grove::sleep(Duration::from_secs(60)));
///     if let Err(p) = r {
///         assert!(p.is::<grove::GreenletExit>());
///         panic::resume_unwind(p);
///     }
/// });
/// grove::sleep(Duration::from_millis(10));
/// g.kill();
/// assert!(matches!(g.join(), Err(grove::Error::Killed)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreenletExit;
