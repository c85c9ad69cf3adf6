//! Green-thread-local storage (gevent's `local`).
//!
//! `std::thread_local!` is per *OS thread*, which every green thread of a hub
//! shares: a started green thread keeps its OS thread, but the other green
//! threads of its hub see and change the same `thread_local!` values whenever
//! it is parked. [`GreenLocal`] is per *green thread*: each green thread sees
//! its own value, created on first use and dropped when the green thread
//! finishes, and it follows a green thread that migrates.
//! On a plain OS thread it behaves like a `thread_local!`.
//!
//! Values live in a small per-green-thread list keyed by the static's
//! address; each is boxed, so a reference handed out stays valid while other
//! keys are added. Values are only removed when their green thread ends.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use crate::hub::current_task;

type Values = Vec<(usize, Box<dyn Any + Send>)>;

thread_local! {
    static OS_LOCALS: RefCell<Values> = const { RefCell::new(Vec::new()) };
}

/// A value with one copy per green thread, like `thread_local!` per OS thread.
///
/// Declare it as a `static` and reach it with [`with`](GreenLocal::with).
///
/// # Example
///
/// ```
/// use std::cell::Cell;
/// use grove::GreenLocal;
///
/// static REQUESTS: GreenLocal<Cell<u32>> = GreenLocal::new(|| Cell::new(0));
///
/// let a = grove::spawn(|| {
///     REQUESTS.with(|n| n.set(n.get() + 1));
///     grove::yield_now(); // others run meanwhile; this value is ours alone
///     REQUESTS.with(Cell::get)
/// });
/// let b = grove::spawn(|| REQUESTS.with(Cell::get));
/// assert_eq!(a.join().unwrap(), 1);
/// assert_eq!(b.join().unwrap(), 0);
/// ```
pub struct GreenLocal<T: Send + 'static> {
    init: fn() -> T,
    _marker: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> fmt::Debug for GreenLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GreenLocal { .. }")
    }
}

impl<T: Send + 'static> GreenLocal<T> {
    /// A key whose value is made by `init` on each green thread's first use.
    ///
    /// ```
    /// static NAME: grove::GreenLocal<String> = grove::GreenLocal::new(String::new);
    /// assert_eq!(NAME.with(|s| s.len()), 0);
    /// ```
    pub const fn new(init: fn() -> T) -> Self {
        GreenLocal {
            init,
            _marker: PhantomData,
        }
    }

    /// Calls `f` with the calling green thread's value (the calling OS
    /// thread's, outside a green thread).
    ///
    /// ```
    /// use std::cell::RefCell;
    /// static LOG: grove::GreenLocal<RefCell<Vec<u8>>> =
    ///     grove::GreenLocal::new(|| RefCell::new(Vec::new()));
    /// LOG.with(|l| l.borrow_mut().push(1));
    /// assert_eq!(LOG.with(|l| l.borrow().len()), 1);
    /// ```
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let key = self as *const Self as usize;
        let ptr = match with_values(|values| find::<T>(values, key)) {
            Some(p) => p,
            None => {
                // `init` runs with no borrow held: it may use other keys.
                let value: Box<dyn Any + Send> = Box::new((self.init)());
                with_values(|values| match find::<T>(values, key) {
                    Some(p) => p,
                    None => {
                        values.push((key, value));
                        find::<T>(values, key).unwrap_or(std::ptr::null())
                    }
                })
            }
        };
        // SAFETY: the value is boxed, so its address is stable while the list
        // grows, and it is only dropped when its (green or OS) thread ends,
        // which cannot happen while `f` runs on it.
        f(unsafe { &*ptr })
    }
}

fn with_values<R>(g: impl FnOnce(&mut Values) -> R) -> R {
    match current_task() {
        // SAFETY: only the running green thread touches its own locals, and
        // this borrow ends before anything that could switch.
        Some(task) => g(unsafe { task.locals() }),
        None => OS_LOCALS.with(|l| g(&mut l.borrow_mut())),
    }
}

fn find<T: 'static>(values: &Values, key: usize) -> Option<*const T> {
    values
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.downcast_ref::<T>())
        .map(|t| t as *const T)
}
