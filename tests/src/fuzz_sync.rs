//! The `sync_ops` fuzz target's logic: random programs over one grove-sync
//! queue (FIFO, LIFO, priority, or channel; bounded or not) and one
//! semaphore, checked step by step against a sequential model.
//!
//! A driver (an OS thread) runs the program one operation at a time. Each
//! operation runs in a fresh green thread on a hub the input picks, or in
//! the driver. Blocking operations (a `get` on an empty queue, a `put` on a
//! full one, an `acquire` with no permit) leave their green thread waiting;
//! the driver waits until it is in line, and the model records it, in
//! order. Because waiters are served in FIFO order, the model predicts
//! exactly which waiter each later operation serves: the driver then joins
//! that waiter and checks what it got. Kills remove waiters that nothing was
//! handed to. After every step the queue's length, its unfinished count and
//! the semaphore's free permits must match the model.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use grove::{
    Builder, Channel, Fifo, GenericQueue, GetError, Greenlet, Handoff, Lifo, Priority, PutError,
    Semaphore, Store,
};

use crate::fuzz::{now_ms, runtime, Bytes, CASE_STARTED_MS};
use crate::{debug_count, until};

/// The model of the queue's store, in the queue's order.
enum ModelStore {
    Fifo(VecDeque<u8>),
    Lifo(Vec<u8>),
    Priority(BinaryHeap<Reverse<u8>>),
}

impl ModelStore {
    fn push(&mut self, v: u8) {
        match self {
            ModelStore::Fifo(s) => s.push_back(v),
            ModelStore::Lifo(s) => s.push(v),
            ModelStore::Priority(s) => s.push(Reverse(v)),
        }
    }
    fn pop(&mut self) -> Option<u8> {
        match self {
            ModelStore::Fifo(s) => s.pop_front(),
            ModelStore::Lifo(s) => s.pop(),
            ModelStore::Priority(s) => s.pop().map(|Reverse(v)| v),
        }
    }
    fn len(&self) -> usize {
        match self {
            ModelStore::Fifo(s) => s.len(),
            ModelStore::Lifo(s) => s.len(),
            ModelStore::Priority(s) => s.len(),
        }
    }
}

/// A green thread doing one blocking `get`.
type Getter = Greenlet<Result<u8, GetError>>;

/// A green thread doing one blocking `put`.
type Putter = Greenlet<Result<(), PutError<u8>>>;

/// The model of the whole program's state.
struct Model {
    store: ModelStore,
    cap: Option<usize>,
    closed: bool,
    unfinished: usize,
    getters: VecDeque<Getter>,
    putters: VecDeque<(u8, Putter)>,
    permits: usize,
    acquirers: VecDeque<Greenlet<bool>>,
    /// Waiters the last operation served, to join and check once the real
    /// operation has run.
    served: Vec<Served>,
}

/// A waiter an operation served, and what it must have got.
enum Served {
    Getter(Getter, Result<u8, GetError>),
    Putter(Putter, Result<(), PutError<u8>>),
    Acquirer(Greenlet<bool>),
}

impl Model {
    fn full(&self) -> bool {
        self.cap.is_some_and(|c| self.store.len() >= c)
    }

    /// What a put of `v` does now: `Some(result)`, or `None` if it waits.
    /// Serves a waiting getter (joined and checked) as the queue must.
    fn put(&mut self, v: u8) -> Option<Result<(), PutError<u8>>> {
        if self.closed {
            return Some(Err(PutError::Closed(v)));
        }
        if let Some(g) = self.getters.pop_front() {
            self.unfinished += 1;
            self.served.push(Served::Getter(g, Ok(v)));
            return Some(Ok(()));
        }
        if self.full() {
            return None;
        }
        self.store.push(v);
        self.unfinished += 1;
        Some(Ok(()))
    }

    /// What a get does now: `Some(result)`, or `None` if it waits. Admits
    /// the first waiting putter as the queue must (joined and checked).
    fn get(&mut self) -> Option<Result<u8, GetError>> {
        if let Some(v) = self.store.pop() {
            if !self.full() {
                if let Some((pv, p)) = self.putters.pop_front() {
                    self.store.push(pv);
                    self.unfinished += 1;
                    self.served.push(Served::Putter(p, Ok(())));
                }
            }
            return Some(Ok(v));
        }
        if let Some((pv, p)) = self.putters.pop_front() {
            self.unfinished += 1;
            self.served.push(Served::Putter(p, Ok(())));
            return Some(Ok(pv));
        }
        if self.closed {
            return Some(Err(GetError::Closed));
        }
        None
    }

    fn close(&mut self) {
        self.closed = true;
        for g in self.getters.drain(..) {
            self.served.push(Served::Getter(g, Err(GetError::Closed)));
        }
        for (v, p) in self.putters.drain(..) {
            self.served
                .push(Served::Putter(p, Err(PutError::Closed(v))));
        }
    }

    fn release(&mut self) {
        match self.acquirers.pop_front() {
            Some(a) => self.served.push(Served::Acquirer(a)),
            None => self.permits += 1,
        }
    }

    /// Joins the waiters the last operation served and checks what each
    /// got.
    fn settle(&mut self) {
        for s in self.served.drain(..) {
            match s {
                Served::Getter(g, want) => {
                    assert_eq!(g.join().expect("getter"), want, "served getter")
                }
                Served::Putter(p, want) => {
                    assert_eq!(p.join().expect("putter"), want, "served putter")
                }
                Served::Acquirer(a) => assert!(a.join().expect("acquirer"), "served acquirer"),
            }
        }
    }
}

/// Runs `f` in a green thread on `hub` (or in the driver, for hub 2) and
/// returns its result.
fn on<T: Send + 'static>(hub: u8, f: impl FnOnce() -> T + Send + 'static) -> T {
    match hub % 3 {
        2 => f(),
        h => Builder::new()
            .hub(usize::from(h))
            .spawn_on(runtime().handle(), f)
            .expect("spawn")
            .join()
            .expect("operation"),
    }
}

/// Spawns `f` on `hub` to wait, and waits until it is in line (the
/// primitive's `Debug` count of `field` reaches `n`).
fn waiter<T: Send + 'static, D: std::fmt::Debug>(
    hub: u8,
    seen: &D,
    field: &str,
    n: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Greenlet<T> {
    let g = Builder::new()
        .hub(usize::from(hub % 2))
        .spawn_on(runtime().handle(), f)
        .expect("spawn");
    until("the waiter is in line", || debug_count(seen, field) == n);
    g
}

/// Runs one `sync_ops` case; panics if any check fails.
pub fn sync_ops(data: &[u8]) {
    let mut b = Bytes(data);
    let head = b.or0();
    let cap = match head % 5 {
        0 => None,
        c => Some(usize::from(c - 1)),
    };
    match (head / 5) % 3 {
        0 if cap == Some(0) => {
            run::<Handoff<u8>>(Channel::new(), ModelStore::Fifo(VecDeque::new()), cap, b)
        }
        0 => run(
            GenericQueue::with_store(Fifo::default(), cap),
            ModelStore::Fifo(VecDeque::new()),
            cap,
            b,
        ),
        1 => run(
            GenericQueue::with_store(Lifo::default(), cap),
            ModelStore::Lifo(Vec::new()),
            cap,
            b,
        ),
        _ => run(
            GenericQueue::with_store(Priority::default(), cap),
            ModelStore::Priority(BinaryHeap::new()),
            cap,
            b,
        ),
    }
}

fn run<S: Store<u8> + Send + Sync + 'static>(
    queue: GenericQueue<u8, S>,
    store: ModelStore,
    cap: Option<usize>,
    mut b: Bytes<'_>,
) {
    let _ = runtime();
    CASE_STARTED_MS.store(now_ms(), Ordering::SeqCst);
    let q = Arc::new(queue);
    let permits = usize::from(b.or0() % 3);
    let sem = Arc::new(Semaphore::new(permits));
    let mut m = Model {
        store,
        cap,
        closed: false,
        unfinished: 0,
        getters: VecDeque::new(),
        putters: VecDeque::new(),
        permits,
        acquirers: VecDeque::new(),
        served: Vec::new(),
    };
    let mut steps = 0;
    while let (Some(op), Some(arg)) = (b.next(), b.next()) {
        steps += 1;
        if steps > 64 {
            break;
        }
        let (hub, v) = (arg % 3, arg / 3);
        let (q2, s2) = (q.clone(), sem.clone());
        match op % 12 {
            0 => {
                let want = m.put(v).unwrap_or(Err(PutError::Full(v)));
                assert_eq!(on(hub, move || q2.try_put(v)), want, "try_put");
            }
            1 => {
                let want = m.get().unwrap_or(Err(GetError::Empty));
                assert_eq!(on(hub, move || q2.try_get()), want, "try_get");
            }
            2 => match m.get() {
                Some(want) => assert_eq!(on(hub, move || q2.get()), want, "get"),
                None => {
                    let n = m.getters.len() + 1;
                    let g = waiter(hub, &*q, "getters", n, move || q2.get());
                    m.getters.push_back(g);
                }
            },
            3 => match m.put(v) {
                Some(want) => assert_eq!(on(hub, move || q2.put(v)), want, "put"),
                None => {
                    let n = m.putters.len() + 1;
                    let p = waiter(hub, &*q, "putters", n, move || q2.put(v));
                    m.putters.push_back((v, p));
                }
            },
            4 => {
                let t = Duration::from_micros(u64::from(v) * 4);
                let want = m.get().unwrap_or(Err(GetError::Timeout));
                assert_eq!(on(hub, move || q2.get_timeout(t)), want, "get_timeout");
            }
            5 => {
                let t = Duration::from_micros(u64::from(v) * 4);
                let want = m.put(v).unwrap_or(Err(PutError::Timeout(v)));
                assert_eq!(on(hub, move || q2.put_timeout(v, t)), want, "put_timeout");
            }
            6 => {
                let k = usize::from(v);
                if !m.getters.is_empty() && (v % 2 == 0 || m.putters.is_empty()) {
                    let g = m.getters.remove(k % m.getters.len()).expect("in range");
                    g.kill();
                    assert!(g.join().is_err(), "killed while waiting");
                } else if !m.putters.is_empty() {
                    let (_, p) = m.putters.remove(k % m.putters.len()).expect("in range");
                    p.kill();
                    assert!(p.join().is_err(), "killed while waiting");
                }
            }
            7 => {
                if v % 8 == 0 {
                    on(hub, move || q2.close());
                    m.close();
                }
            }
            8 => {
                let want = m.unfinished > 0;
                m.unfinished = m.unfinished.saturating_sub(1);
                assert_eq!(on(hub, move || q2.task_done().is_ok()), want, "task_done");
            }
            9 => {
                let want = m.acquirers.is_empty() && m.permits > 0;
                if want {
                    m.permits -= 1;
                }
                assert_eq!(on(hub, move || s2.try_acquire()), want, "try_acquire");
            }
            10 => {
                if m.acquirers.is_empty() && m.permits > 0 {
                    m.permits -= 1;
                    assert!(on(hub, move || s2.acquire_timeout(Duration::ZERO)));
                } else if v % 2 == 0 {
                    let n = m.acquirers.len() + 1;
                    let a = waiter(hub, &*sem, "waiting", n, move || {
                        s2.acquire();
                        true
                    });
                    m.acquirers.push_back(a);
                } else {
                    let t = Duration::from_micros(u64::from(v) * 4);
                    assert!(!on(hub, move || s2.acquire_timeout(t)), "times out");
                }
            }
            _ => {
                if v % 3 == 0 && !m.acquirers.is_empty() {
                    let k = usize::from(v) % m.acquirers.len();
                    let a = m.acquirers.remove(k).expect("in range");
                    a.kill();
                    assert!(a.join().is_err(), "killed while waiting");
                } else {
                    on(hub, move || s2.release());
                    m.release();
                }
            }
        }
        m.settle();
        assert_eq!(q.len(), m.store.len(), "queue length");
        assert_eq!(q.unfinished_tasks(), m.unfinished, "unfinished tasks");
        assert_eq!(sem.available_permits(), m.permits, "free permits");
    }
    // Let everything still waiting go, and check what it gets.
    on(2, {
        let q = q.clone();
        move || q.close()
    });
    m.close();
    while !m.acquirers.is_empty() {
        sem.release();
        m.release();
    }
    m.settle();
    CASE_STARTED_MS.store(0, Ordering::SeqCst);
}
