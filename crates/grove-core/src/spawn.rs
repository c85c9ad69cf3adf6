//! Spawning green threads: [`Builder`], [`spawn`], [`spawn_later`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::completion::Completion;
use crate::error::{Error, GreenletExit};
use crate::greenlet::{Greenlet, Packet};
use crate::runtime::Handle;
use crate::stack::{self, SpawnError};
use crate::task::{Task, PIN_ON_START};

#[derive(Clone, Copy, Debug)]
enum Pin {
    No,
    OnStart,
    Hub(usize),
}

/// Configures a green thread before spawning it, like `std::thread::Builder`.
///
/// # Example
///
/// ```
/// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
/// let g = grove_core::Builder::new()
///     .name("pinned-to-1")
///     .stack_size(64 * 1024)
///     .hub(1)
///     .spawn_on(rt.handle(), || grove_core::hub_index())
///     .unwrap();
/// assert_eq!(g.join().unwrap(), Some(1));
/// ```
#[derive(Debug)]
#[must_use]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
    pin: Pin,
    delay: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with the runtime's defaults.
    ///
    /// ```
    /// let g = grove_core::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(g.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            stack_size: None,
            pin: Pin::No,
            delay: None,
        }
    }

    /// Names the green thread (shown by [`Thread::name`] and in overflow reports).
    ///
    /// ```
    /// let g = grove_core::Builder::new().name("x").spawn(|| ()).unwrap();
    /// assert_eq!(g.name(), Some("x"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// The green thread's stack size in bytes (16 KiB to 1 GiB, rounded up to
    /// pages). Default: the runtime's.
    ///
    /// ```
    /// let g = grove_core::Builder::new().stack_size(1 << 20).spawn(|| ()).unwrap();
    /// g.join().unwrap();
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Pins the green thread to the hub it starts on: it never migrates, so
    /// OS-thread-local state stays put under it.
    ///
    /// ```
    /// let g = grove_core::Builder::new()
    ///     .pinned()
    ///     .spawn(|| {
    ///         let a = grove_core::hub_index();
    ///         grove_core::yield_now();
    ///         a == grove_core::hub_index()
    ///     })
    ///     .unwrap();
    /// assert!(g.join().unwrap());
    /// ```
    pub fn pinned(mut self) -> Builder {
        self.pin = Pin::OnStart;
        self
    }

    /// Pins the green thread to hub `index` (see [`Builder::pinned`]).
    ///
    /// ```
    /// let rt = grove_core::Runtime::builder().workers(2).build().unwrap();
    /// let g = grove_core::Builder::new().hub(0).spawn_on(rt.handle(), grove_core::hub_index);
    /// assert_eq!(g.unwrap().join().unwrap(), Some(0));
    /// ```
    pub fn hub(mut self, index: usize) -> Builder {
        self.pin = Pin::Hub(index);
        self
    }

    /// Starts the green thread only after `delay` (gevent's `spawn_later`).
    /// Until then it holds no stack.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let g = grove_core::Builder::new().delay(Duration::from_millis(5)).spawn(|| ()).unwrap();
    /// g.join().unwrap();
    /// assert!(t.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn delay(mut self, delay: Duration) -> Builder {
        self.delay = Some(delay);
        self
    }

    /// Spawns on the caller's runtime (or the default runtime).
    ///
    /// ```
    /// let err = grove_core::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
    /// assert!(matches!(err, grove_core::SpawnError::StackSize { .. }));
    /// ```
    pub fn spawn<F, T>(self, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_on(&Handle::current(), f)
    }

    /// Spawns on the runtime of `handle`.
    ///
    /// ```
    /// let rt = grove_core::Runtime::new().unwrap();
    /// let g = grove_core::Builder::new().spawn_on(rt.handle(), || 2).unwrap();
    /// assert_eq!(g.join().unwrap(), 2);
    /// ```
    pub fn spawn_on<F, T>(self, handle: &Handle, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &handle.shared;
        let stack_size = match self.stack_size {
            Some(s) => stack::validate_size(s)?,
            None => shared.stacks.default_size(),
        };
        let pin = match self.pin {
            Pin::No => None,
            Pin::OnStart => Some(PIN_ON_START),
            Pin::Hub(i) if i < shared.hubs.len() => Some(i),
            Pin::Hub(index) => {
                return Err(SpawnError::NoSuchHub {
                    index,
                    hubs: shared.hubs.len(),
                })
            }
        };
        let packet: Arc<Packet<T>> = Arc::new(Completion::new());
        let p = packet.clone();
        let main = Box::new(move |cancel: Option<Error>| {
            let outcome = match cancel {
                Some(e) => {
                    drop(f);
                    Err(e)
                }
                None => match catch_unwind(AssertUnwindSafe(f)) {
                    Ok(v) => Ok(v),
                    Err(payload) if payload.is::<GreenletExit>() => Err(Error::Killed),
                    Err(payload) => Err(Error::Panicked(payload)),
                },
            };
            p.complete(outcome);
        });
        let start_at = self.delay.and_then(|d| Instant::now().checked_add(d));
        let task = Arc::new(Task::new(
            shared.clone(),
            self.name,
            stack_size,
            pin,
            start_at,
            main,
        ));
        shared.registry.insert(&task)?;
        shared.push_new(task.clone());
        Ok(Greenlet::new(task, packet))
    }
}

/// Spawns a green thread running `f` on the caller's runtime (the default
/// runtime outside one) and returns its handle (gevent's `spawn`).
///
/// Panics if the green thread cannot be spawned (the runtime has shut down);
/// [`Builder::spawn`] reports that as an error instead.
///
/// ```
/// let g = grove_core::spawn(|| "hello from a green thread");
/// assert_eq!(g.join().unwrap(), "hello from a green thread");
/// ```
pub fn spawn<F, T>(f: F) -> Greenlet<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().spawn(f) {
        Ok(g) => g,
        Err(e) => panic!("grove: spawn failed: {e}"),
    }
}

/// Spawns a green thread that starts after `delay` (gevent's `spawn_later`).
///
/// ```
/// use std::time::Duration;
/// let g = grove_core::spawn_later(Duration::from_millis(1), || 5);
/// assert_eq!(g.join().unwrap(), 5);
/// ```
pub fn spawn_later<F, T>(delay: Duration, f: F) -> Greenlet<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Builder::new().delay(delay).spawn(f) {
        Ok(g) => g,
        Err(e) => panic!("grove: spawn_later failed: {e}"),
    }
}
