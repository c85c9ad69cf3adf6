//! Reading a green thread's outcome without consuming its handle (gevent's
//! `value`, `exception`, `get()`), and links by kind (`link_value`,
//! `link_exception`, `unlink`).

use crate::error::Error;

use super::Greenlet;

/// Names a callback added by [`Greenlet::link`] (or `link_value`,
/// `link_exception`), for [`Greenlet::unlink`].
///
/// ```
/// let g = grove::spawn(grove::park);
/// let id = g.link(|_| println!("done")).unwrap();
/// assert!(g.unlink(id));
/// g.kill();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub(crate) u64);

impl<T: Send + Sync + 'static> Greenlet<T> {
    /// The value it returned, once it has finished successfully (gevent's
    /// `value`); `None` while it runs or if it failed. The handle keeps the
    /// value: [`join`](Greenlet::join) still takes it.
    ///
    /// ```
    /// let g = grove::spawn(|| String::from("ok"));
    /// g.wait();
    /// assert_eq!(g.value().map(String::as_str), Some("ok"));
    /// assert_eq!(g.join().unwrap(), "ok");
    /// ```
    pub fn value(&self) -> Option<&T> {
        self.packet().get().and_then(|r| r.as_ref().ok())
    }

    /// Why it failed, as text, once it has finished without a value
    /// (gevent's `exception`); `None` while it runs or if it succeeded.
    ///
    /// ```
    /// let g = grove::spawn(|| -> u8 { panic!("no disk") });
    /// g.wait();
    /// assert_eq!(g.exception().as_deref(), Some("the green thread panicked: no disk"));
    /// ```
    pub fn exception(&self) -> Option<String> {
        self.packet()
            .inspect(|r| r.as_ref().err().map(Error::to_string))
            .flatten()
    }

    /// Waits for it to finish, then gives its value, keeping it in the
    /// handle (gevent's `get()`); `None` if it failed (see
    /// [`exception`](Greenlet::exception), or [`join`](Greenlet::join) for
    /// the error itself).
    ///
    /// Panics if called by the green thread itself, which could never
    /// finish.
    ///
    /// ```
    /// let g = grove::spawn(|| 5);
    /// assert_eq!(g.get(), Some(&5));
    /// assert_eq!(g.get(), Some(&5));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.wait();
        self.value()
    }
}

impl<T: Send + 'static> Greenlet<T> {
    /// Calls `f` with the value once the green thread finishes
    /// successfully (gevent's `link_value`); not at all if it fails.
    /// Returns the link's id while it is queued (see [`link`](Greenlet::link)).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let g = grove::spawn(|| 3);
    /// g.link_value(move |v| tx.send(*v).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 3);
    /// ```
    pub fn link_value<F>(&self, f: F) -> Option<LinkId>
    where
        F: FnOnce(&T) + Send + 'static,
    {
        self.link(move |r| {
            if let Ok(v) = r {
                f(v)
            }
        })
    }

    /// Calls `f` with the error once the green thread finishes without a
    /// value (gevent's `link_exception`); not at all if it succeeds.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let g = grove::spawn(grove::park);
    /// g.link_exception(move |e| tx.send(e.to_string()).unwrap());
    /// g.kill();
    /// assert_eq!(rx.recv().unwrap(), "the green thread was killed");
    /// ```
    pub fn link_exception<F>(&self, f: F) -> Option<LinkId>
    where
        F: FnOnce(&Error) + Send + 'static,
    {
        self.link(move |r| {
            if let Err(e) = r {
                f(e)
            }
        })
    }

    /// Removes a callback added by [`link`](Greenlet::link) (or
    /// `link_value`, `link_exception`) that has not run yet (gevent's
    /// `unlink`); returns whether it was removed. A callback that has
    /// started to run cannot be removed.
    ///
    /// ```
    /// let g = grove::spawn(grove::park);
    /// let id = g.link(|_| panic!("never runs")).unwrap();
    /// assert!(g.unlink(id));
    /// assert!(!g.unlink(id));
    /// g.kill();
    /// ```
    pub fn unlink(&self, id: LinkId) -> bool {
        self.packet().unlink(id.0)
    }
}
