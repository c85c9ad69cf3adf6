//! [`Group`] and [`Pool`] (gevent.pool): green threads tracked together,
//! and a cap on how many of them run at once.
//!
//! A group keeps a [`GreenletRef`] per member, keyed by id; each member
//! leaves the group when it finishes (a `link` on it). A pool adds a
//! [`Semaphore`]: `spawn` takes a permit first (waiting while the pool is
//! full), and the permit travels inside the new green thread's closure, so
//! it is released when the closure ends however it ends: return, panic,
//! kill, or a kill before it ever ran.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use grove_core::{Error, Greenlet, GreenletRef, ThreadId};

use crate::queue::Queue;
use crate::semaphore::Semaphore;

type Members = Mutex<HashMap<ThreadId, GreenletRef>>;

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
        let g = grove_core::spawn(move || {
            let _permit = permit;
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
            for r in running {
                match deadline {
                    None => r.wait(),
                    Some(d) => {
                        if !r.wait_timeout(d.saturating_duration_since(Instant::now())) {
                            return false;
                        }
                    }
                }
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
        loop {
            let running = self.others();
            if running.is_empty() {
                return;
            }
            for r in &running {
                r.kill_nowait();
            }
            for r in running {
                r.wait();
            }
        }
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
}

impl<R> fmt::Debug for Imap<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R: Send + 'static> Iterator for Imap<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window {
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
}

impl<R> fmt::Debug for ImapUnordered<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl<R: Send + 'static> Iterator for ImapUnordered<'_, R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.window {
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
        if self.sem().acquire_timeout(timeout) {
            self.sem().release();
            true
        } else {
            false
        }
    }
}

impl Deref for Pool {
    type Target = Group;

    fn deref(&self) -> &Group {
        &self.group
    }
}
