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
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use grove_core::{GreenLocal, Greenlet, GreenletRef, ThreadId};

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
}

mod apply;
mod imap;
mod sized;

pub use imap::{Imap, ImapUnordered};
pub use sized::Pool;
