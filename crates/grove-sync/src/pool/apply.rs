//! `Group::apply` and the mapping calls: `apply_async`, `map`, `map_async`,
//! `imap`, `imap_unordered`.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use grove_core::{Error, Greenlet, GreenletExit};

use super::imap::Finished;
use super::*;

impl Group {
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
