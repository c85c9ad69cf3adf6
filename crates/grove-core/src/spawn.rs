//! Spawning green threads: [`Builder`], [`spawn`], [`spawn_later`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::greenlet::{Body, Greenlet, Main};
use crate::runtime::{Handle, Shared};
use crate::stack::{self, SpawnError};
use crate::task::{Placement, Task};

/// Where the builder was told the green thread may run.
#[derive(Clone, Copy, Debug)]
enum Pin {
    /// The runtime's default: bind on start, or migrate on a runtime that
    /// allows migration.
    Default,
    OnStart,
    Hub(usize),
    Migrate,
}

/// Configures a green thread before spawning it, like `std::thread::Builder`.
///
/// # Example
///
/// ```
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let g = grove::Builder::new()
///     .name("pinned-to-1")
///     .stack_size(64 * 1024)
///     .hub(1)
///     .spawn_on(rt.handle(), || grove::hub_index())
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
    /// let g = grove::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(g.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            stack_size: None,
            pin: Pin::Default,
            delay: None,
        }
    }

    /// Names the green thread (shown by [`Thread::name`](crate::Thread::name) and in overflow reports).
    ///
    /// ```
    /// let g = grove::Builder::new().name("x").spawn(|| ()).unwrap();
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
    /// let g = grove::Builder::new().stack_size(1 << 20).spawn(|| ()).unwrap();
    /// g.join().unwrap();
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Pins the green thread to the hub it starts on. That is every green
    /// thread's default; `pinned` keeps it so on a runtime that allows
    /// migration ([`RuntimeBuilder::allow_migration`](crate::RuntimeBuilder::allow_migration)),
    /// and undoes [`allow_migration`](Builder::allow_migration).
    ///
    /// ```
    /// let g = grove::Builder::new()
    ///     .pinned()
    ///     .spawn(|| {
    ///         let a = grove::hub_index();
    ///         grove::yield_now();
    ///         a == grove::hub_index()
    ///     })
    ///     .unwrap();
    /// assert!(g.join().unwrap());
    /// ```
    pub fn pinned(mut self) -> Builder {
        self.pin = Pin::OnStart;
        self
    }

    /// Pins the green thread to hub `index` from spawn on: no other hub
    /// starts it, and it never leaves (see [`Builder::pinned`]).
    ///
    /// ```
    /// let rt = grove::Runtime::builder().workers(2).build().unwrap();
    /// let g = grove::Builder::new().hub(0).spawn_on(rt.handle(), grove::hub_index);
    /// assert_eq!(g.unwrap().join().unwrap(), Some(0));
    /// ```
    pub fn hub(mut self, index: usize) -> Builder {
        self.pin = Pin::Hub(index);
        self
    }

    /// Lets the green thread move to another hub (another OS thread) at any
    /// blocking point, as work stealing sees fit, instead of keeping the OS
    /// thread it started on. This buys balance for long-lived green threads
    /// that started on one hub and then compute; it costs the guarantee that
    /// makes OS-thread-bound state safe.
    ///
    /// # Safety
    ///
    /// The caller promises that no OS-thread-bound state is live in any of
    /// the green thread's frames across a blocking point (`park`, `sleep`,
    /// `yield_now`, a `join`, any wait of grove-sync or grove-io), in its own
    /// code or in any library it calls:
    /// - no `thread_local!` value, reference into one, or address taken from
    ///   one (the compiler may compute a thread-local's address once per
    ///   function and reuse it after the green thread has moved, so the code
    ///   would go on using the previous OS thread's slot, racing with the
    ///   green threads that run there);
    /// - no value derived from one, such as `std::io::stdout().lock()`,
    ///   `rand::thread_rng()`, a `tracing` span guard, or a tokio
    ///   `EnterGuard`;
    /// - no `!Send` guard, such as a `std::sync::MutexGuard` (unlocking a
    ///   mutex from another OS thread than the one that locked it is
    ///   undefined behaviour for the OS's locks).
    ///
    /// Breaking the promise is undefined behaviour: data races on another
    /// thread's thread-locals, locks unlocked by the wrong thread. grove keeps
    /// one case safe on its own: a migrating green thread that blocks while
    /// unwinding binds itself to its hub for the rest of its life, since std's
    /// panic count is per OS thread.
    ///
    /// ```
    /// use std::time::Duration;
    /// // SAFETY: the closure computes and sleeps; it holds no thread-local
    /// // state, reference or guard across the sleep.
    /// let g = unsafe { grove::Builder::new().allow_migration() }
    ///     .spawn(|| {
    ///         grove::sleep(Duration::from_millis(1));
    ///         (0..1000u64).sum::<u64>()
    ///     })
    ///     .unwrap();
    /// assert_eq!(g.join().unwrap(), 499_500);
    /// ```
    pub unsafe fn allow_migration(mut self) -> Builder {
        self.pin = Pin::Migrate;
        self
    }

    /// Starts the green thread only after `delay` (gevent's `spawn_later`).
    /// Until then it holds no stack.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = Instant::now();
    /// let g = grove::Builder::new().delay(Duration::from_millis(5)).spawn(|| ()).unwrap();
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
    /// let err = grove::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
    /// assert!(matches!(err, grove::SpawnError::StackSize { .. }));
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
    /// let rt = grove::Runtime::new().unwrap();
    /// let g = grove::Builder::new().spawn_on(rt.handle(), || 2).unwrap();
    /// assert_eq!(g.join().unwrap(), 2);
    /// ```
    pub fn spawn_on<F, T>(self, handle: &Handle, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.build(handle, f, false)
    }

    /// Creates the green thread on the caller's runtime (or the default
    /// runtime) without starting it (gevent's `Greenlet(run)`): it waits,
    /// holding no stack, until [`Greenlet::start`] or
    /// [`Greenlet::start_later`]. A kill (or the runtime's shutdown) ends
    /// it without running it. [`Builder::delay`] does not apply.
    ///
    /// ```
    /// let g = grove::Builder::new().name("later").create(|| 1).unwrap();
    /// g.start();
    /// assert_eq!(g.join().unwrap(), 1);
    /// ```
    pub fn create<F, T>(self, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.build(&Handle::current(), f, true)
    }

    /// [`Builder::create`] on the runtime of `handle`.
    ///
    /// ```
    /// let rt = grove::Runtime::new().unwrap();
    /// let g = grove::Builder::new().create_on(rt.handle(), || 2).unwrap();
    /// g.start();
    /// assert_eq!(g.join().unwrap(), 2);
    /// ```
    pub fn create_on<F, T>(self, handle: &Handle, f: F) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.build(handle, f, true)
    }

    fn build<F, T>(self, handle: &Handle, f: F, held: bool) -> Result<Greenlet<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &handle.shared;
        let stack_size = match self.stack_size {
            Some(s) => stack::validate_size(s)?,
            None => shared.stacks.default_size(),
        };
        let placement = match self.pin {
            Pin::Default if shared.migrate => Placement::Migrate,
            Pin::Default | Pin::OnStart => Placement::BindOnStart,
            Pin::Migrate => Placement::Migrate,
            Pin::Hub(i) if i < shared.hubs.len() => Placement::Hub(i),
            Pin::Hub(index) => {
                return Err(SpawnError::NoSuchHub {
                    index,
                    hubs: shared.hubs.len(),
                })
            }
        };
        let body = Arc::new(Body::new(f));
        let main: Arc<dyn Main> = body.clone();
        let start_at = self.delay.and_then(|d| Instant::now().checked_add(d));
        let task = Arc::new(Task::new(
            shared.clone(),
            self.name,
            stack_size,
            placement,
            crate::thread::current_id(),
            main,
        ));
        shared.registry.insert(&task)?;
        crate::trace::spawn(&task);
        crate::thread::join_outside(shared);
        if held {
            let gen = crate::greenlet::hold(&task);
            let g = Greenlet::new(task, body);
            g.set_held(gen);
            return Ok(g);
        }
        match start_at {
            Some(at) if at > Instant::now() => delay_start(shared, task.clone(), at),
            _ => crate::wake::push_new(shared, task.clone()),
        }
        Ok(Greenlet::new(task, body))
    }
}

/// A `spawn_later` green thread: parked, not started, on the runtime's shared
/// timers, so that whichever hub is free starts it when it is due, and a kill
/// before then ends it at once. The spawner owns the new task's park word
/// until the park is committed (nobody else has it yet but the registry,
/// whose shutdown may kill it at any point, which the word handles).
fn delay_start(shared: &Arc<Shared>, task: Arc<Task>, at: Instant) {
    if let Some(gen) = crate::greenlet::hold(&task) {
        shared.add_shared_timer(at, task, gen);
    }
}

/// Spawns a green thread running `f` on the caller's runtime (the default
/// runtime outside one) and returns its handle (gevent's `spawn`).
///
/// Panics if the green thread cannot be spawned (the runtime has shut down);
/// [`Builder::spawn`] reports that as an error instead.
///
/// ```
/// let g = grove::spawn(|| "hello from a green thread");
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
/// let g = grove::spawn_later(Duration::from_millis(1), || 5);
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
