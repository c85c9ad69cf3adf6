//! Why a green thread waits: [`WaitReason`], recorded at every blocking
//! point with plain stores (`record.rs`) and read by snapshots, deadlock
//! reports and traces.
//!
//! A blocking point names the primitive and the object it waits on (an
//! [`ObjectId`]: the address of the primitive's shared state, used only as
//! a name). Owners are not recorded by the waiter, since ownership of a lock
//! with waiters changes while they wait: a lock keeps the table of
//! [holders](set_holder) up to date while anyone waits for it, and a
//! snapshot looks the owner up there.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::record::{Record, WORDS};
use crate::thread::ThreadId;

/// The identity of a grove object a green thread waits on: the address of
/// its shared state, so clones of one `Queue` have one id. Only a name: it
/// is never read through.
///
/// ```
/// let a = 1u8;
/// let id = grove::ObjectId::of(&a);
/// assert_eq!(id, grove::ObjectId::of(&a));
/// assert!(id.to_string().starts_with("0x"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ObjectId(u64);

impl ObjectId {
    /// The id of the object `r` points to.
    ///
    /// ```
    /// let v = vec![1, 2];
    /// assert_ne!(grove::ObjectId::of(&v), grove::ObjectId::of(&v[0]));
    /// ```
    pub fn of<T: ?Sized>(r: &T) -> ObjectId {
        ObjectId(r as *const T as *const u8 as usize as u64)
    }

    /// The id as a number.
    ///
    /// ```
    /// let x = 0u32;
    /// assert_ne!(grove::ObjectId::of(&x).as_u64(), 0);
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// What a parked green thread waits for: the primitive and the object.
///
/// Every blocking point of grove records one. `owner` fields are filled in
/// by a [`Snapshot`](crate::Snapshot) (the lock's holder at that moment);
/// blocking points leave them `None`.
///
/// ```
/// use std::time::Duration;
/// let g = grove::spawn(|| grove::sleep(Duration::from_secs(60)));
/// let rt = grove::Handle::current();
/// let reason = loop {
///     let snap = rt.snapshot();
///     match snap.thread(g.id()).and_then(|t| t.waits_for) {
///         Some(r) => break r,
///         None => std::thread::sleep(Duration::from_millis(1)),
///     }
/// };
/// assert_eq!(reason, grove::WaitReason::Sleep);
/// g.kill();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum WaitReason {
    /// [`park`](crate::park) or [`park_timeout`](crate::park_timeout), or
    /// [`park_with`](crate::park_with) with its label.
    Park {
        /// The label given to `park_with`.
        label: Option<&'static str>,
    },
    /// [`sleep`](crate::sleep).
    Sleep,
    /// Joining or waiting for another green thread to finish.
    Join {
        /// The green thread waited for.
        target: ThreadId,
    },
    /// Acquiring a `Lock`.
    Lock {
        /// The lock.
        lock: ObjectId,
        /// Who holds it (filled in by a snapshot).
        owner: Option<ThreadId>,
    },
    /// Acquiring an `RLock`.
    RLock {
        /// The lock.
        lock: ObjectId,
        /// Who holds it (filled in by a snapshot).
        owner: Option<ThreadId>,
    },
    /// Acquiring a `Semaphore` (or `BoundedSemaphore`, or a `Pool` slot).
    Semaphore {
        /// The semaphore.
        semaphore: ObjectId,
    },
    /// `Queue::get` (any queue but a `Channel`).
    QueueGet {
        /// The queue.
        queue: ObjectId,
    },
    /// `Queue::put` on a full queue.
    QueuePut {
        /// The queue.
        queue: ObjectId,
    },
    /// `JoinableQueue::join`: waiting for every item to be marked done.
    QueueJoin {
        /// The queue.
        queue: ObjectId,
    },
    /// `Channel::get`.
    ChannelGet {
        /// The channel.
        channel: ObjectId,
    },
    /// `Channel::put`: waiting for a getter to take the item.
    ChannelPut {
        /// The channel.
        channel: ObjectId,
    },
    /// `Event::wait`.
    Event {
        /// The event.
        event: ObjectId,
    },
    /// `AsyncResult::get` or `wait`.
    AsyncResult {
        /// The result.
        result: ObjectId,
    },
    /// Waiting for a descriptor to become readable (a read or receive).
    Read {
        /// The descriptor.
        fd: i32,
    },
    /// Waiting for a descriptor to become writable (a write or send).
    Write {
        /// The descriptor.
        fd: i32,
    },
    /// Waiting for a connection on a listening socket.
    Accept {
        /// The listening descriptor.
        fd: i32,
    },
    /// Waiting for an outgoing connection to be established.
    Connect {
        /// The socket.
        fd: i32,
    },
}

impl WaitReason {
    /// The green thread this wait depends on, where grove knows it: the
    /// holder of a lock, or the green thread joined. Deadlock cycles are
    /// made of these edges.
    ///
    /// ```
    /// let me = grove::current().id();
    /// let r = grove::WaitReason::Join { target: me };
    /// assert_eq!(r.depends_on(), Some(me));
    /// assert_eq!(grove::WaitReason::Sleep.depends_on(), None);
    /// ```
    pub fn depends_on(&self) -> Option<ThreadId> {
        match *self {
            WaitReason::Join { target } => Some(target),
            WaitReason::Lock { owner, .. } | WaitReason::RLock { owner, .. } => owner,
            _ => None,
        }
    }

    /// Whether something outside grove's green threads and their objects
    /// (a descriptor becoming ready) can end this wait.
    ///
    /// ```
    /// assert!(grove::WaitReason::Read { fd: 3 }.is_io());
    /// assert!(!grove::WaitReason::Sleep.is_io());
    /// ```
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            WaitReason::Read { .. }
                | WaitReason::Write { .. }
                | WaitReason::Accept { .. }
                | WaitReason::Connect { .. }
        )
    }

    /// The words of a record: kind, object, label pointer and length.
    fn encode(self) -> [u64; 4] {
        let obj = |kind: u64, o: ObjectId| [kind, o.0, 0, 0];
        let fd = |kind: u64, fd: i32| [kind, fd as u32 as u64, 0, 0];
        match self {
            WaitReason::Park { label: None } => [1, 0, 0, 0],
            WaitReason::Park { label: Some(l) } => {
                [1, 1, l.as_ptr() as usize as u64, l.len() as u64]
            }
            WaitReason::Sleep => [2, 0, 0, 0],
            WaitReason::Join { target } => [3, target.as_u64(), 0, 0],
            WaitReason::Lock { lock, .. } => obj(4, lock),
            WaitReason::RLock { lock, .. } => obj(5, lock),
            WaitReason::Semaphore { semaphore } => obj(6, semaphore),
            WaitReason::QueueGet { queue } => obj(7, queue),
            WaitReason::QueuePut { queue } => obj(8, queue),
            WaitReason::QueueJoin { queue } => obj(9, queue),
            WaitReason::ChannelGet { channel } => obj(10, channel),
            WaitReason::ChannelPut { channel } => obj(11, channel),
            WaitReason::Event { event } => obj(12, event),
            WaitReason::AsyncResult { result } => obj(13, result),
            WaitReason::Read { fd: f } => fd(14, f),
            WaitReason::Write { fd: f } => fd(15, f),
            WaitReason::Accept { fd: f } => fd(16, f),
            WaitReason::Connect { fd: f } => fd(17, f),
        }
    }

    fn decode(w: [u64; 4]) -> Option<WaitReason> {
        let o = ObjectId(w[1]);
        let fd = w[1] as u32 as i32;
        Some(match w[0] {
            1 if w[1] == 1 => {
                let (ptr, len) = (w[2] as usize as *const u8, w[3] as usize);
                // SAFETY: a whole read of the record (`record.rs`) holds the
                // words of one write, and `encode` wrote these two from one
                // `&'static str`: the bytes live forever and are UTF-8.
                let label =
                    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) };
                WaitReason::Park { label: Some(label) }
            }
            1 => WaitReason::Park { label: None },
            2 => WaitReason::Sleep,
            3 => WaitReason::Join {
                target: ThreadId::from_raw(w[1]),
            },
            4 => WaitReason::Lock {
                lock: o,
                owner: None,
            },
            5 => WaitReason::RLock {
                lock: o,
                owner: None,
            },
            6 => WaitReason::Semaphore { semaphore: o },
            7 => WaitReason::QueueGet { queue: o },
            8 => WaitReason::QueuePut { queue: o },
            9 => WaitReason::QueueJoin { queue: o },
            10 => WaitReason::ChannelGet { channel: o },
            11 => WaitReason::ChannelPut { channel: o },
            12 => WaitReason::Event { event: o },
            13 => WaitReason::AsyncResult { result: o },
            14 => WaitReason::Read { fd },
            15 => WaitReason::Write { fd },
            16 => WaitReason::Accept { fd },
            17 => WaitReason::Connect { fd },
            _ => return None,
        })
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = |f: &mut fmt::Formatter<'_>, o: &Option<ThreadId>| match o {
            Some(o) => write!(f, " held by {o}"),
            None => Ok(()),
        };
        match self {
            WaitReason::Park { label: None } => f.write_str("park"),
            WaitReason::Park { label: Some(l) } => write!(f, "park ({l})"),
            WaitReason::Sleep => f.write_str("sleep"),
            WaitReason::Join { target } => write!(f, "join of green thread {target}"),
            WaitReason::Lock { lock, owner: o } => {
                write!(f, "Lock {lock}")?;
                owner(f, o)
            }
            WaitReason::RLock { lock, owner: o } => {
                write!(f, "RLock {lock}")?;
                owner(f, o)
            }
            WaitReason::Semaphore { semaphore } => write!(f, "Semaphore {semaphore}"),
            WaitReason::QueueGet { queue } => write!(f, "Queue::get on {queue}"),
            WaitReason::QueuePut { queue } => write!(f, "Queue::put on {queue}"),
            WaitReason::QueueJoin { queue } => write!(f, "Queue::join on {queue}"),
            WaitReason::ChannelGet { channel } => write!(f, "Channel::get on {channel}"),
            WaitReason::ChannelPut { channel } => write!(f, "Channel::put on {channel}"),
            WaitReason::Event { event } => write!(f, "Event::wait on {event}"),
            WaitReason::AsyncResult { result } => write!(f, "AsyncResult::get on {result}"),
            WaitReason::Read { fd } => write!(f, "read on fd {fd}"),
            WaitReason::Write { fd } => write!(f, "write on fd {fd}"),
            WaitReason::Accept { fd } => write!(f, "accept on fd {fd}"),
            WaitReason::Connect { fd } => write!(f, "connect on fd {fd}"),
        }
    }
}

/// What a green thread last blocked on, and since when. Written by the
/// green thread at each park, the same moment it writes its park word, so it
/// shares the record's cache lines with the fields wakers read. It is not
/// aligned to a line of its own: that made every green thread's record an
/// aligned allocation (`posix_memalign`), about a tenth of the instructions
/// of a spawn and join.
#[derive(Debug, Default)]
pub(crate) struct WaitRecord(Record);

/// One whole read of a [`WaitRecord`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Waiting {
    pub(crate) reason: WaitReason,
    /// Milliseconds since [`epoch`] when it blocked (to the coarse clock).
    pub(crate) since_ms: u64,
    /// Its deadline, in milliseconds since [`epoch`], if it has one.
    pub(crate) deadline_ms: Option<u64>,
}

impl WaitRecord {
    /// The owner, at a blocking point: plain stores, no clock read.
    pub(crate) fn set(&self, reason: WaitReason, deadline: Option<Instant>) {
        let [kind, obj, ptr, len] = reason.encode();
        let deadline = deadline.map_or(0, |d| millis(d) + 1);
        let words: [u64; WORDS] = [kind, obj, ptr, len, deadline, coarse_now_ms()];
        self.0.write(words);
    }

    /// The last record, if it can be read whole (it always can, unless its
    /// green thread is writing a new one at every try).
    pub(crate) fn get(&self) -> Option<Waiting> {
        let w = self.0.read(64)?;
        Some(Waiting {
            reason: WaitReason::decode([w[0], w[1], w[2], w[3]])?,
            deadline_ms: w[4].checked_sub(1),
            since_ms: w[5],
        })
    }
}

static EPOCH: OnceLock<Instant> = OnceLock::new();
static COARSE_MS: AtomicU64 = AtomicU64::new(0);

/// The origin of grove's millisecond clock.
pub(crate) fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// `t` in milliseconds since [`epoch`].
pub(crate) fn millis(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_millis() as u64
}

/// The coarse clock: milliseconds since [`epoch`] as of the last tick of a
/// runtime's watcher (`watch.rs`), so that blocking points need not read
/// the time. Behind by at most one watcher period.
pub(crate) fn coarse_now_ms() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

/// Moves the coarse clock to now; returns now in milliseconds.
pub(crate) fn tick_clock() -> u64 {
    let now = millis(Instant::now());
    COARSE_MS.fetch_max(now, Ordering::Relaxed);
    now
}

/// A duration between two readings of grove's millisecond clock.
pub(crate) fn span(from_ms: u64, to_ms: u64) -> Duration {
    Duration::from_millis(to_ms.saturating_sub(from_ms))
}

const HOLDER_SHARDS: usize = 16;

#[allow(clippy::type_complexity)]
static HOLDERS: OnceLock<[Mutex<HashMap<u64, u64>>; HOLDER_SHARDS]> = OnceLock::new();

fn holders(obj: ObjectId) -> std::sync::MutexGuard<'static, HashMap<u64, u64>> {
    let shards = HOLDERS.get_or_init(|| std::array::from_fn(|_| Mutex::new(HashMap::new())));
    let shard = &shards[((obj.0 >> 4) as usize) % HOLDER_SHARDS];
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

/// A lock with waiters says who holds it (`Some`), or that nobody waits
/// for it any more (`None`). Called on paths that already park or wake
/// someone; an uncontended lock never calls it.
pub fn set_holder(obj: ObjectId, holder: Option<ThreadId>) {
    let mut map = holders(obj);
    match holder {
        Some(h) => {
            map.insert(obj.0, h.as_u64());
        }
        None => {
            map.remove(&obj.0);
        }
    }
}

/// The holder of a lock someone waits for, as last set.
pub(crate) fn holder(obj: ObjectId) -> Option<ThreadId> {
    holders(obj).get(&obj.0).map(|&id| ThreadId::from_raw(id))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_as_written() {
        let o = ObjectId(0x1234);
        let t = ThreadId::from_raw(9);
        let all = [
            WaitReason::Park { label: None },
            WaitReason::Park {
                label: Some("my label"),
            },
            WaitReason::Sleep,
            WaitReason::Join { target: t },
            WaitReason::Lock {
                lock: o,
                owner: None,
            },
            WaitReason::RLock {
                lock: o,
                owner: None,
            },
            WaitReason::Semaphore { semaphore: o },
            WaitReason::QueueGet { queue: o },
            WaitReason::QueuePut { queue: o },
            WaitReason::QueueJoin { queue: o },
            WaitReason::ChannelGet { channel: o },
            WaitReason::ChannelPut { channel: o },
            WaitReason::Event { event: o },
            WaitReason::AsyncResult { result: o },
            WaitReason::Read { fd: 3 },
            WaitReason::Write { fd: 4 },
            WaitReason::Accept { fd: 5 },
            WaitReason::Connect { fd: -1 },
        ];
        let rec = WaitRecord::default();
        assert!(rec.get().is_none(), "nothing recorded yet");
        for r in all {
            rec.set(r, None);
            let got = rec.get().expect("a whole read");
            assert_eq!(got.reason, r);
            assert_eq!(got.deadline_ms, None);
        }
        let d = Instant::now() + Duration::from_secs(5);
        rec.set(WaitReason::Sleep, Some(d));
        assert_eq!(rec.get().unwrap().deadline_ms, Some(millis(d)));
    }

    #[test]
    fn holders_are_set_and_cleared() {
        let x = 5u64;
        let o = ObjectId::of(&x);
        assert_eq!(holder(o), None);
        set_holder(o, Some(ThreadId::from_raw(77)));
        assert_eq!(holder(o), Some(ThreadId::from_raw(77)));
        set_holder(o, None);
        assert_eq!(holder(o), None);
    }
}
