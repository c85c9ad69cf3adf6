//! [`Lock`] and [`RLock`]: mutual exclusion owned by a green thread (or OS
//! thread), with FIFO waiters.
//!
//! # State
//!
//! `owner` (the holder's [`ThreadId`]), `depth` (how many times it holds it;
//! only an `RLock` goes above 1) and a wait list whose payload is each
//! waiter's id, under one mutex. Invariant: if anyone waits, `owner` is set,
//! because the last release hands ownership straight to the first waiter
//! (`owner` becomes that waiter's id before it even runs). A waiter that
//! times out or is killed at that moment releases again, so ownership passes
//! to the next waiter or the lock becomes free: it is never left held by
//! nobody.
//!
//! Ownership is by thread identity, so a release from anyone else is an
//! error, and the guards are `!Send`: a guard cannot move to another green
//! thread.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use grove_core::wait::set_holder;
use grove_core::{ObjectId, Thread, ThreadId, WaitReason};

use crate::block::{deadline, now_or_wait, Now, Outcome, Waited};
use crate::sync::{lock, Mutex};
use crate::wait::WaitList;

/// What a caller can get wrong with a [`Lock`] or [`RLock`].
///
/// ```
/// let lock = grove::Lock::new();
/// assert_eq!(lock.release(), Err(grove::LockError::NotLocked));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockError {
    /// Released while nobody holds it.
    NotLocked,
    /// Released by a thread that does not hold it.
    NotOwner,
    /// A [`Lock`] acquired (without a timeout) by the thread that already
    /// holds it: that would wait forever. Use an [`RLock`] to re-enter.
    WouldDeadlock,
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockError::NotLocked => "released a lock that is not held",
            LockError::NotOwner => "released a lock held by another thread",
            LockError::WouldDeadlock => "acquired a lock the caller already holds",
        })
    }
}

impl std::error::Error for LockError {}

struct State {
    owner: Option<ThreadId>,
    depth: usize,
    waiters: WaitList<ThreadId, (), Thread>,
    /// Set while anyone waits: the lock's id, under which it keeps grove's
    /// table of holders up to date for snapshots (`set_holder`).
    contended: Option<ObjectId>,
}

fn waiters(s: &mut State) -> &mut WaitList<ThreadId, (), Thread> {
    &mut s.waiters
}

fn pass_on(s: &mut State, (): ()) -> Result<Option<Thread>, ()> {
    Ok(s.hand_over())
}

impl State {
    fn take(
        &mut self,
        me: ThreadId,
        reentrant: bool,
        id: ObjectId,
    ) -> Now<Result<(), LockError>, ThreadId> {
        match self.owner {
            None => {
                self.owner = Some(me);
                self.depth = 1;
                Now::Done(Ok(()))
            }
            Some(o) if o == me && reentrant => {
                self.depth += 1;
                Now::Done(Ok(()))
            }
            Some(o) if o == me => Now::Done(Err(LockError::WouldDeadlock)),
            Some(o) => {
                // Contended: say who holds it while anyone waits (the waiter
                // parks next, so this is on a path that blocks anyway).
                if self.contended.is_none() {
                    set_holder(id, Some(o));
                    self.contended = Some(id);
                }
                Now::Wait(me)
            }
        }
    }

    /// The holder lets go entirely: to the first waiter, or free.
    fn hand_over(&mut self) -> Option<Thread> {
        match self.waiters.hand_first(()) {
            Ok((waker, next)) => {
                self.owner = Some(next);
                self.depth = 1;
                self.update_holder();
                Some(waker)
            }
            Err(()) => {
                self.owner = None;
                self.depth = 0;
                self.update_holder();
                None
            }
        }
    }

    /// After a hand-over: the new holder while anyone still waits, else
    /// the table forgets the lock.
    fn update_holder(&mut self) {
        if let Some(id) = self.contended {
            if self.waiters.is_empty() {
                set_holder(id, None);
                self.contended = None;
            } else {
                set_holder(id, self.owner);
            }
        }
    }

    fn release(&mut self, me: ThreadId) -> Result<Option<Thread>, LockError> {
        match self.owner {
            None => Err(LockError::NotLocked),
            Some(o) if o != me => Err(LockError::NotOwner),
            Some(_) => {
                self.depth -= 1;
                Ok(if self.depth == 0 {
                    self.hand_over()
                } else {
                    None
                })
            }
        }
    }
}

/// The shared core of [`Lock`] and [`RLock`].
struct Owned {
    state: Mutex<State>,
    reentrant: bool,
}

impl Owned {
    fn new(reentrant: bool) -> Owned {
        Owned {
            state: Mutex::new(State {
                owner: None,
                depth: 0,
                waiters: WaitList::new(),
                contended: None,
            }),
            reentrant,
        }
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Result<bool, LockError> {
        let me = grove_core::wait::current_id();
        let id = ObjectId::of(&self.state);
        let now = |s: &mut State| s.take(me, self.reentrant, id);
        let why = if self.reentrant {
            WaitReason::RLock {
                lock: id,
                owner: None,
            }
        } else {
            WaitReason::Lock {
                lock: id,
                owner: None,
            }
        };
        match now_or_wait(&self.state, why, deadline, now, waiters, pass_on) {
            Outcome::Now(r) => r.map(|()| true),
            Outcome::Waited(Waited::Handed(())) => Ok(true),
            Outcome::Waited(_) => Ok(false),
        }
    }

    fn try_acquire(&self) -> bool {
        let me = grove_core::wait::current_id();
        matches!(
            lock(&self.state).take(me, self.reentrant, ObjectId::of(&self.state)),
            Now::Done(Ok(()))
        )
    }

    fn release(&self) -> Result<(), LockError> {
        let me = grove_core::wait::current_id();
        let waker = lock(&self.state).release(me)?;
        if let Some(w) = waker {
            w.unpark();
        }
        Ok(())
    }

    fn fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct(name)
            .field("owner", &s.owner)
            .field("depth", &s.depth)
            .field("waiting", &s.waiters.len())
            .finish()
    }
}

/// A lock held by one green thread (or OS thread) at a time (gevent's
/// `Lock`). Waiters are served in FIFO order. Only the holder may release it;
/// acquiring it again while holding it is an error, not a deadlock.
///
/// As in gevent, it guards no data of its own: it orders green threads
/// around a critical section.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// let lock = Arc::new(grove::Lock::new());
/// let l = lock.clone();
/// let g = grove::spawn(move || {
///     let _held = l.acquire_guard().unwrap();
///     grove::yield_now(); // nobody else gets in meanwhile
/// });
/// g.join().unwrap();
/// assert!(!lock.is_locked());
/// ```
pub struct Lock {
    core: Owned,
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt("Lock", f)
    }
}

impl Lock {
    /// An unlocked lock.
    ///
    /// ```
    /// assert!(!grove::Lock::new().is_locked());
    /// ```
    pub fn new() -> Lock {
        Lock {
            core: Owned::new(false),
        }
    }

    /// Takes the lock, waiting in line while someone else holds it. An error
    /// if the caller already holds it.
    ///
    /// ```
    /// let lock = grove::Lock::new();
    /// lock.acquire().unwrap();
    /// assert_eq!(lock.acquire(), Err(grove::LockError::WouldDeadlock));
    /// lock.release().unwrap();
    /// ```
    pub fn acquire(&self) -> Result<(), LockError> {
        self.core.acquire_until(None).map(drop)
    }

    /// Takes the lock if it is free now.
    ///
    /// ```
    /// let lock = grove::Lock::new();
    /// assert!(lock.try_acquire());
    /// assert!(!lock.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        self.core.try_acquire()
    }

    /// Takes the lock, waiting at most `timeout`; true if it got it. False at
    /// once if the caller already holds it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = grove::Lock::new();
    /// assert!(lock.acquire_timeout(Duration::from_millis(1)));
    /// assert!(!lock.acquire_timeout(Duration::from_millis(1)));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.core.acquire_until(deadline(timeout)) == Ok(true)
    }

    /// Lets go of the lock, handing it to the first waiter. An error if the
    /// caller does not hold it.
    ///
    /// ```
    /// let lock = grove::Lock::new();
    /// lock.acquire().unwrap();
    /// lock.release().unwrap();
    /// assert_eq!(lock.release(), Err(grove::LockError::NotLocked));
    /// ```
    pub fn release(&self) -> Result<(), LockError> {
        self.core.release()
    }

    /// Whether anyone holds the lock.
    ///
    /// ```
    /// let lock = grove::Lock::new();
    /// let _g = lock.acquire_guard().unwrap();
    /// assert!(lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        lock(&self.core.state).owner.is_some()
    }

    /// Takes the lock (as [`acquire`](Lock::acquire) does) and returns a
    /// guard that releases it when dropped.
    ///
    /// ```
    /// let lock = grove::Lock::new();
    /// {
    ///     let _g = lock.acquire_guard().unwrap();
    ///     assert!(lock.is_locked());
    /// }
    /// assert!(!lock.is_locked());
    /// ```
    pub fn acquire_guard(&self) -> Result<LockGuard<'_>, LockError> {
        self.acquire()?;
        Ok(LockGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }
}

/// Releases its [`Lock`] when dropped.
///
/// ```
/// let lock = grove::Lock::new();
/// let guard = lock.acquire_guard().unwrap();
/// assert!(lock.is_locked());
/// drop(guard);
/// assert!(!lock.is_locked());
/// ```
///
/// It cannot leave the thread that took the lock:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let lock = grove::Lock::new();
/// send(lock.acquire_guard().unwrap()); // LockGuard is !Send
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    _not_send: PhantomData<*const ()>,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        // Fails only if the holder released it by hand meanwhile.
        let _ = self.lock.release();
    }
}

/// A reentrant lock (gevent's `RLock`): the green thread (or OS thread) that
/// holds it may acquire it again, and must release it as many times. Waiters
/// are served in FIFO order; only the holder may release it.
///
/// # Example
///
/// ```
/// let lock = grove::RLock::new();
/// let outer = lock.acquire_guard();
/// let inner = lock.acquire_guard(); // same thread: enters again
/// drop(inner);
/// assert!(lock.is_locked());
/// drop(outer);
/// assert!(!lock.is_locked());
/// ```
pub struct RLock {
    core: Owned,
}

impl Default for RLock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt("RLock", f)
    }
}

impl RLock {
    /// An unlocked reentrant lock.
    ///
    /// ```
    /// assert!(!grove::RLock::new().is_locked());
    /// ```
    pub fn new() -> RLock {
        RLock {
            core: Owned::new(true),
        }
    }

    /// Takes the lock (again, if the caller holds it), waiting in line while
    /// another thread holds it.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// lock.acquire();
    /// lock.acquire();
    /// lock.release().unwrap();
    /// lock.release().unwrap();
    /// assert!(!lock.is_locked());
    /// ```
    pub fn acquire(&self) {
        // An RLock has no WouldDeadlock: the holder re-enters.
        let _ = self.core.acquire_until(None);
    }

    /// Takes the lock if it is free or the caller holds it.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// assert!(lock.try_acquire() && lock.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        self.core.try_acquire()
    }

    /// Takes the lock, waiting at most `timeout`; true if it got it.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// assert!(lock.acquire_timeout(std::time::Duration::from_millis(1)));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.core.acquire_until(deadline(timeout)) == Ok(true)
    }

    /// Releases one level; the last one hands the lock to the first waiter.
    /// An error if the caller does not hold it.
    ///
    /// ```
    /// let lock = std::sync::Arc::new(grove::RLock::new());
    /// lock.acquire();
    /// let l = lock.clone();
    /// let other = grove::spawn(move || l.release()).join().unwrap();
    /// assert_eq!(other, Err(grove::LockError::NotOwner));
    /// lock.release().unwrap();
    /// ```
    pub fn release(&self) -> Result<(), LockError> {
        self.core.release()
    }

    /// Whether anyone holds the lock.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// lock.acquire();
    /// assert!(lock.is_locked());
    /// lock.release().unwrap();
    /// ```
    pub fn is_locked(&self) -> bool {
        lock(&self.core.state).owner.is_some()
    }

    /// Whether the caller holds the lock.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// let _g = lock.acquire_guard();
    /// assert!(lock.is_owned());
    /// ```
    pub fn is_owned(&self) -> bool {
        lock(&self.core.state).owner == Some(grove_core::wait::current_id())
    }

    /// Takes the lock (as [`acquire`](RLock::acquire) does) and returns a
    /// guard that releases one level when dropped.
    ///
    /// ```
    /// let lock = grove::RLock::new();
    /// {
    ///     let _g = lock.acquire_guard();
    ///     assert!(lock.is_owned());
    /// }
    /// assert!(!lock.is_locked());
    /// ```
    pub fn acquire_guard(&self) -> RLockGuard<'_> {
        self.acquire();
        RLockGuard {
            lock: self,
            _not_send: PhantomData,
        }
    }
}

/// Releases one level of its [`RLock`] when dropped.
///
/// ```
/// let lock = grove::RLock::new();
/// let outer = lock.acquire_guard();
/// drop(lock.acquire_guard());
/// assert!(lock.is_owned());
/// drop(outer);
/// assert!(!lock.is_locked());
/// ```
///
/// It cannot leave the thread that took the lock:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// let lock = grove::RLock::new();
/// send(lock.acquire_guard()); // RLockGuard is !Send
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    _not_send: PhantomData<*const ()>,
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // Fails only if the holder released it by hand meanwhile.
        let _ = self.lock.release();
    }
}
