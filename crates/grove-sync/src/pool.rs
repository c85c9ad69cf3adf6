//! [`Group`] and [`Pool`] (gevent.pool): green threads tracked together,
//! and a cap on how many of them run at once.
//!
//! A group keeps a [`GreenletRef`] per member, keyed by id; each member
//! leaves the group when it finishes (a `link` on it). A pool adds a
//! [`Semaphore`]: `spawn` takes a permit first (waiting while the pool is
//! full), and the permit travels inside the new green thread's closure, so
//! it is released when the closure ends however it ends: return, panic,
//! kill, or a kill before it ever ran.
//!
//! A green thread that a group's `spawn` started also records, in a
//! green-thread-local, which group that was: `apply` asks it to know a
//! member at once, before the spawner has had the chance to `add` it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use grove_core::{Error, GreenLocal, Greenlet, GreenletExit, GreenletRef, ThreadId};

use crate::queue::Queue;
use crate::semaphore::Semaphore;

type Members = Mutex<HashMap<ThreadId, GreenletRef>>;

/// The group whose `spawn` started the calling green thread, if any.
static SPAWNED_BY: GreenLocal<RefCell<Option<Weak<Members>>>> =
    GreenLocal::new(|| RefCell::new(None));

/// Waits for each of `running` to finish, until `deadline`; true if all did.
fn wait_all(running: Vec<GreenletRef>, deadline: Option<Instant>) -> bool {
    running.into_iter().all(|r| match deadline {
        None => {
            r.wait();
            true
        }
        Some(d) => r.wait_timeout(d.saturating_duration_since(Instant::now())),
    })
}

fn members(m: &Members) -> std::sync::MutexGuard<'_, HashMap<ThreadId, GreenletRef>> {
    // No user code runs under this lock, so a poisoned one is still sound.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A set of green threads to join or kill together (gevent's `Group`).
/// Cloning it gives another handle to the same group.
///
/// # Example
///
/// ```
/// let group = grove::Group::new();
/// for i in 0..5 {
///     group.spawn(move || grove::sleep(std::time::Duration::from_millis(i)));
/// }
/// group.join();
/// assert!(group.is_empty());
/// ```
#[derive(Clone)]
pub struct Group {
    members: Arc<Members>,
    /// A pool's permits (`None` for a plain group).
    limit: Option<Arc<Semaphore>>,
    /// How many calls a map keeps in flight: the pool's size, or unbounded.
    window: usize,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            members: Arc::default(),
            limit: None,
            window: usize::MAX,
        }
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").field("len", &self.len()).finish()
    }
}

/// Releases a pool permit when the closure that carries it is dropped.
struct Permit(Arc<Semaphore>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl Group {
    /// An empty group.
    ///
    /// ```
    /// assert!(grove::Group::new().is_empty());
    /// ```
    pub fn new() -> Group {
        Group::default()
    }

    /// Spawns `f` as a green thread in this group (for a [`Pool`], after
    /// waiting for a free slot).
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let g = group.spawn(|| 2 + 2);
    /// assert_eq!(g.join().unwrap(), 4);
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Greenlet<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.limit.as_ref().map(|sem| {
            sem.acquire();
            Permit(sem.clone())
        });
        let group = Arc::downgrade(&self.members);
        let g = grove_core::spawn(move || {
            let _permit = permit;
            SPAWNED_BY.with(|s| *s.borrow_mut() = Some(group));
            f()
        });
        self.add(&g);
        g
    }

    /// Adds a green thread spawned elsewhere; it leaves when it finishes.
    /// (On a [`Pool`] it does not take a slot.)
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let g = grove::spawn(grove::park);
    /// group.add(&g);
    /// assert!(group.contains(g.id()));
    /// group.kill();
    /// ```
    pub fn add<T: Send + 'static>(&self, g: &Greenlet<T>) {
        let id = g.id();
        members(&self.members).insert(id, g.to_ref());
        let weak: Weak<Members> = Arc::downgrade(&self.members);
        // Runs at once if it has already finished.
        g.link(move |_| {
            if let Some(m) = weak.upgrade() {
                members(&m).remove(&id);
            }
        });
    }

    /// Removes a member without waiting for or killing it.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let g = group.spawn(grove::park);
    /// group.discard(g.id());
    /// assert!(group.is_empty());
    /// g.kill();
    /// ```
    pub fn discard(&self, id: ThreadId) {
        members(&self.members).remove(&id);
    }

    /// Whether the green thread `id` is a running member.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let g = group.spawn(|| ());
    /// g.wait();
    /// group.join();
    /// assert!(!group.contains(g.id()));
    /// ```
    pub fn contains(&self, id: ThreadId) -> bool {
        members(&self.members).contains_key(&id)
    }

    /// How many members are still running.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// group.spawn(grove::park);
    /// assert_eq!(group.len(), 1);
    /// group.kill();
    /// ```
    pub fn len(&self) -> usize {
        members(&self.members).len()
    }

    /// Whether no member is running.
    ///
    /// ```
    /// assert!(grove::Group::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The members still running, minus the caller and any that finished.
    fn others(&self) -> Vec<GreenletRef> {
        let me = grove_core::wait::current_id();
        let mut m = members(&self.members);
        m.retain(|_, r| !r.is_ready());
        m.values().filter(|r| r.id() != me).cloned().collect()
    }

    /// Waits until every member (including ones spawned meanwhile) has
    /// finished. A member calling it does not wait for itself.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// group.spawn(|| grove::sleep(std::time::Duration::from_millis(2)));
    /// group.join();
    /// assert!(group.is_empty());
    /// ```
    pub fn join(&self) {
        self.join_until(None);
    }

    /// Like [`join`](Group::join), waiting at most `timeout`; true if every
    /// member finished.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let g = group.spawn(grove::park);
    /// assert!(!group.join_timeout(std::time::Duration::from_millis(2)));
    /// g.kill();
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.join_until(Instant::now().checked_add(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> bool {
        loop {
            let running = self.others();
            if running.is_empty() {
                return true;
            }
            if !wait_all(running, deadline) {
                return false;
            }
        }
    }

    /// Kills every member (but not the caller) and waits until they have
    /// finished.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// for _ in 0..3 {
    ///     group.spawn(grove::park);
    /// }
    /// group.kill();
    /// assert!(group.is_empty());
    /// ```
    pub fn kill(&self) {
        self.kill_until(None);
    }

    /// Like [`kill`](Group::kill), waiting at most `timeout` for the members
    /// to finish (gevent's `kill(timeout=)`); true if they all did. Those
    /// still unwinding go on doing so.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// group.spawn(grove::park);
    /// assert!(group.kill_timeout(std::time::Duration::from_secs(5)));
    /// assert!(group.is_empty());
    /// ```
    pub fn kill_timeout(&self, timeout: Duration) -> bool {
        self.kill_until(Instant::now().checked_add(timeout))
    }

    /// Asks every member (but not the caller) to die, without waiting
    /// (gevent's `kill(block=False)`): each unwinds at its next blocking
    /// point, and leaves the group when it has finished.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// group.spawn(grove::park);
    /// group.kill_nowait();
    /// group.join();
    /// assert!(group.is_empty());
    /// ```
    pub fn kill_nowait(&self) {
        for r in self.others() {
            r.kill_nowait();
        }
    }

    fn kill_until(&self, deadline: Option<Instant>) -> bool {
        loop {
            let running = self.others();
            if running.is_empty() {
                return true;
            }
            for r in &running {
                r.kill_nowait();
            }
            if !wait_all(running, deadline) {
                return false;
            }
        }
    }

    /// Kills the member `id` and waits until it has finished (gevent's
    /// `killone`); false if `id` is not a running member (nothing is done).
    /// A member that names itself is killed as
    /// [`Greenlet::kill`](grove_core::Greenlet::kill) on oneself is: it
    /// unwinds at once.
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let a = group.spawn(grove::park);
    /// let b = group.spawn(|| "still here");
    /// let id = a.id();
    /// assert!(group.killone(id));
    /// assert!(a.join().is_err());
    /// assert!(!group.killone(id)); // gone already
    /// assert_eq!(b.join().unwrap(), "still here");
    /// ```
    pub fn killone(&self, id: ThreadId) -> bool {
        let member = members(&self.members).get(&id).cloned();
        match member {
            Some(r) => {
                r.kill();
                true
            }
            None => false,
        }
    }

    /// Whether the caller is a member: spawned by this group (even before
    /// `spawn` has recorded it), or added to it.
    fn called_by_member(&self) -> bool {
        let spawned_here = SPAWNED_BY.with(|s| {
            s.borrow()
                .as_ref()
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&self.members)))
        });
        spawned_here || self.contains(grove_core::wait::current_id())
    }

    /// Runs `f` in a green thread of this group (for a [`Pool`], waiting
    /// for a free slot) and waits for its result (gevent's `apply`). Called
    /// by a member of this group, it runs `f` right there in the caller
    /// instead, as gevent does: a member that waited for a slot of its own
    /// full pool would wait forever. A panic in `f` is `Err(Panicked)`
    /// either way; a kill of the caller is not caught.
    ///
    /// ```
    /// let pool = grove::Pool::new(1);
    /// let p = pool.clone();
    /// // The outer call takes the only slot; the inner runs inline in it.
    /// let r = pool.apply(move || p.apply(|| 5 + 1).unwrap());
    /// assert_eq!(r.unwrap(), 6);
    /// ```
    pub fn apply<F, R>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if !self.called_by_member() {
            return self.spawn(f).join();
        }
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(r) => Ok(r),
            Err(p) if p.is::<GreenletExit>() => panic::resume_unwind(p),
            Err(p) => Err(Error::Panicked(p)),
        }
    }

    /// Spawns `f` in this group and returns its handle (gevent's
    /// `apply_async`; join the handle for the result). It is
    /// [`spawn`](Group::spawn) under gevent's name, so on a full [`Pool`]
    /// it waits for a free slot first (gevent instead returns at once with
    /// a green thread outside the pool that waits for the slot).
    ///
    /// ```
    /// let pool = grove::Pool::new(2);
    /// let g = pool.apply_async(|| "done");
    /// assert_eq!(g.join().unwrap(), "done");
    /// ```
    pub fn apply_async<F, R>(&self, f: F) -> Greenlet<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn(f)
    }

    /// Runs the whole of [`map`](Group::map) in a green thread of its own
    /// (not a member, so it takes no slot) and returns that green thread's
    /// handle at once (gevent's `map_async`).
    ///
    /// ```
    /// let pool = grove::Pool::new(2);
    /// let g = pool.map_async(|x: u32| x * 10, vec![1, 2, 3]);
    /// assert_eq!(g.join().unwrap().unwrap(), [10, 20, 30]);
    /// ```
    pub fn map_async<I, R, F>(&self, f: F, items: I) -> Greenlet<Result<Vec<R>, Error>>
    where
        I: IntoIterator + Send + 'static,
        I::Item: Send + 'static,
        R: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
    {
        let group = self.clone();
        grove_core::spawn(move || group.map(f, items))
    }

    /// Runs `f` over every item, in green threads of this group (at most the
    /// pool's size at once, for a [`Pool`]), and returns the results in
    /// input order; or the first error (in input order) after every call
    /// has finished.
    ///
    /// ```
    /// let pool = grove::Pool::new(2);
    /// let squares = pool.map(|x: u64| x * x, 1..=4).unwrap();
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// ```
    pub fn map<I, R, F>(&self, f: F, items: I) -> Result<Vec<R>, Error>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
    {
        let mut out = Vec::new();
        let mut first_err = None;
        for r in self.imap(f, items) {
            match r {
                Ok(v) => out.push(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(out), Err)
    }

    /// Like [`map`](Group::map), lazily: an iterator of results in input
    /// order. It keeps at most the pool's size of calls in flight (for a
    /// plain group, as many as there are items).
    ///
    /// ```
    /// let pool = grove::Pool::new(3);
    /// let mut it = pool.imap(|x: i32| x + 1, 0..);
    /// assert_eq!(it.next().unwrap().unwrap(), 1);
    /// assert_eq!(it.next().unwrap().unwrap(), 2);
    /// ```
    pub fn imap<'a, I, R, F>(&self, f: F, items: I) -> Imap<'a, R>
    where
        I: IntoIterator,
        I::IntoIter: 'a,
        I::Item: Send + 'static,
        R: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let group = self.clone();
        let mut items = items.into_iter();
        Imap {
            next: Box::new(move || {
                let item = items.next()?;
                let f = f.clone();
                Some(group.spawn(move || f(item)))
            }),
            in_flight: VecDeque::new(),
            window: self.window,
            maxsize: usize::MAX,
        }
    }

    /// Like [`imap`](Group::imap), but yields each result as soon as its
    /// call finishes, in completion order.
    ///
    /// ```
    /// use std::time::Duration;
    /// let group = grove::Group::new();
    /// let done: Vec<u64> = group
    ///     .imap_unordered(|ms: u64| { grove::sleep(Duration::from_millis(ms)); ms }, [100, 0])
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(done, [0, 100]);
    /// ```
    pub fn imap_unordered<'a, I, R, F>(&self, f: F, items: I) -> ImapUnordered<'a, R>
    where
        I: IntoIterator,
        I::IntoIter: 'a,
        I::Item: Send + 'static,
        R: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let group = self.clone();
        let finished = Arc::new(Queue::new());
        let done = finished.clone();
        let mut items = items.into_iter();
        let mut seq = 0u64;
        ImapUnordered {
            next: Box::new(move || {
                let item = items.next()?;
                let (f, finished) = (f.clone(), done.clone());
                seq += 1;
                let notice = Finished {
                    queue: finished,
                    seq,
                };
                Some((
                    seq,
                    group.spawn(move || {
                        let _notice = notice;
                        f(item)
                    }),
                ))
            }),
            in_flight: HashMap::new(),
            finished,
            window: self.window,
            maxsize: usize::MAX,
        }
    }
}

/// Tells an unordered map which call finished, when the call's closure is
/// dropped (it returned, panicked, or was killed).
struct Finished {
    queue: Arc<Queue<u64>>,
    seq: u64,
}

impl Drop for Finished {
    fn drop(&mut self) {
        // An unbounded queue that is never closed accepts every put.
        let _ = self.queue.put(self.seq);
    }
}

/// The iterator of [`Group::imap`]: results in input order.
///
/// ```
/// let group = grove::Group::new();
/// let it: grove::Imap<'_, u8> = group.imap(|x: u8| x, [1, 2]);
/// assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Imap<'a, R> {
    next: Box<dyn FnMut() -> Option<Greenlet<R>> + 'a>,
    in_flight: VecDeque<Greenlet<R>>,
    window: usize,
    maxsize: usize,
}

/// The doc of both iterators' `maxsize`.
macro_rules! maxsize_doc {
    () => {
        "At most `n` results (a minimum of 1) are kept ahead of the consumer
(gevent's `maxsize`): a call is started only while fewer than `n` calls
are running or finished and not yet taken, so finished results never pile
up beyond `n`, and the rest wait for room. It lowers the limit a pool's
size already sets, never raises it.

It is a knob on the iterator rather than an `imap_with_maxsize` twin of
each mapping method: one method serves both [`Group::imap`] and
[`Group::imap_unordered`], it reads as std's iterator adapters do
(`group.imap(f, items).maxsize(2)`), and it loses nothing by coming after
the call, because the iterator starts no call before its first `next`."
    };
}

impl<R> fmt::Debug for Imap<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R> Imap<'_, R> {
    #[doc = maxsize_doc!()]
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let group = grove::Group::new(); // no limit of its own
    /// let mut it = group
    ///     .imap(move |x: u32| { s.fetch_add(1, SeqCst); x }, 0..100)
    ///     .maxsize(2);
    /// assert_eq!(it.next().unwrap().unwrap(), 0);
    /// assert!(started.load(SeqCst) <= 2); // not all 100 at once
    /// ```
    pub fn maxsize(mut self, n: usize) -> Self {
        self.maxsize = n.max(1);
        self
    }
}

impl<R: Send + 'static> Iterator for Imap<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window.min(self.maxsize) {
            match (self.next)() {
                Some(g) => self.in_flight.push_back(g),
                None => break,
            }
        }
        self.in_flight.pop_front().map(Greenlet::join)
    }
}

/// The iterator of [`Group::imap_unordered`]: results as calls finish.
///
/// ```
/// let group = grove::Group::new();
/// let it: grove::ImapUnordered<'_, u8> = group.imap_unordered(|x: u8| x, [5]);
/// assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [5]);
/// ```
pub struct ImapUnordered<'a, R> {
    next: Box<dyn FnMut() -> Option<(u64, Greenlet<R>)> + 'a>,
    in_flight: HashMap<u64, Greenlet<R>>,
    finished: Arc<Queue<u64>>,
    window: usize,
    maxsize: usize,
}

impl<R> fmt::Debug for ImapUnordered<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R> ImapUnordered<'_, R> {
    #[doc = maxsize_doc!()]
    ///
    /// ```
    /// let group = grove::Group::new();
    /// let done: Vec<u32> = group
    ///     .imap_unordered(|x: u32| x * 2, 0..10)
    ///     .maxsize(1) // one call at a time: in order after all
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(done, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    /// ```
    pub fn maxsize(mut self, n: usize) -> Self {
        self.maxsize = n.max(1);
        self
    }
}

impl<R: Send + 'static> Iterator for ImapUnordered<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window.min(self.maxsize) {
            match (self.next)() {
                Some((seq, g)) => {
                    self.in_flight.insert(seq, g);
                }
                None => break,
            }
        }
        if self.in_flight.is_empty() {
            return None;
        }
        loop {
            let seq = self.finished.get().ok()?;
            if let Some(g) = self.in_flight.remove(&seq) {
                return Some(g.join());
            }
        }
    }
}

/// A [`Group`] that runs at most `size` of its green threads at once
/// (gevent's `Pool`): `spawn` waits while the pool is full. It dereferences
/// to [`Group`] for joining, killing and mapping.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
/// use std::sync::Arc;
/// let pool = grove::Pool::new(2);
/// let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// for _ in 0..10 {
///     let (now, most) = (now.clone(), most.clone());
///     pool.spawn(move || {
///         most.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
///         grove::sleep(std::time::Duration::from_millis(1));
///         now.fetch_sub(1, SeqCst);
///     });
/// }
/// pool.join();
/// assert!(most.load(SeqCst) <= 2);
/// ```
#[derive(Clone, Debug)]
pub struct Pool {
    group: Group,
}

impl Pool {
    /// A pool running at most `size` green threads at once (a size of 0 is
    /// taken as 1).
    ///
    /// ```
    /// assert_eq!(grove::Pool::new(4).size(), 4);
    /// ```
    pub fn new(size: usize) -> Pool {
        let size = size.max(1);
        Pool {
            group: Group {
                members: Arc::default(),
                limit: Some(Arc::new(Semaphore::new(size))),
                window: size,
            },
        }
    }

    /// The most green threads it runs at once.
    ///
    /// ```
    /// assert_eq!(grove::Pool::new(2).size(), 2);
    /// ```
    pub fn size(&self) -> usize {
        self.group.window
    }

    fn sem(&self) -> &Semaphore {
        self.group.limit.as_deref().expect("a pool has a limit")
    }

    /// How many more it could start now without waiting.
    ///
    /// ```
    /// let pool = grove::Pool::new(2);
    /// pool.spawn(grove::park);
    /// assert_eq!(pool.free_count(), 1);
    /// pool.kill();
    /// ```
    pub fn free_count(&self) -> usize {
        self.sem().available_permits()
    }

    /// Whether `spawn` would wait now.
    ///
    /// ```
    /// let pool = grove::Pool::new(1);
    /// pool.spawn(grove::park);
    /// assert!(pool.is_full());
    /// pool.kill();
    /// ```
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }

    /// Waits at most `timeout` for a free slot; true if one is free (it is
    /// not reserved: a `spawn` may still have to wait).
    ///
    /// ```
    /// let pool = grove::Pool::new(1);
    /// assert!(pool.wait_available(std::time::Duration::from_millis(1)));
    /// ```
    pub fn wait_available(&self, timeout: Duration) -> bool {
        self.sem().wait_timeout(timeout)
    }
}

impl Deref for Pool {
    type Target = Group;

    fn deref(&self) -> &Group {
        &self.group
    }
}
