//! Green threads created now and started later (gevent's `Greenlet(run)`,
//! then `start()` or `start_later(seconds)`).
//!
//! A created green thread waits, before its first run, in a park of its own
//! (the spawner begins and commits it, as for `spawn_later`), and the handle
//! keeps that park's generation. `start` ends the park with the timer
//! transition (`ParkState::timeout(gen)`), `start_later` arms a shared timer
//! with the same generation: either way the park word lets exactly one
//! party end it, so a start that races with a kill, a shutdown or a second
//! start does nothing. The generation is taken from the handle with a swap,
//! so only the first `start` or `start_later` acts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::park::{Begin, Commit, How, Mode, Notify};
use crate::task::Task;

use super::Greenlet;

/// Parks a new, not yet queued task until it is started; returns the
/// generation to end that park with, or `None` if it was queued at once
/// (killed already: its start finishes it as killed).
pub(crate) fn hold(task: &Arc<Task>) -> Option<usize> {
    match task.state.begin(Mode::Sleep, How::Switch) {
        Begin::Parking(gen) => match task.state.commit() {
            Commit::Parked => Some(gen),
            Commit::Resume => {
                crate::wake::push_new(&task.shared, task.clone());
                None
            }
        },
        Begin::Ready(_) => {
            // Killed already: put the kill back for its start to see.
            let _ = task.state.kill();
            crate::wake::push_new(&task.shared, task.clone());
            None
        }
    }
}

impl<T> Greenlet<T> {
    pub(crate) fn set_held(&self, gen: Option<usize>) {
        if let Some(gen) = gen {
            self.held.store(gen.wrapping_add(1), Ordering::Release);
        }
    }

    fn take_held(&self) -> Option<usize> {
        match self.held.swap(0, Ordering::AcqRel) {
            0 => None,
            g => Some(g.wrapping_sub(1)),
        }
    }

    /// Starts a green thread made by [`Builder::create`](crate::Builder::create)
    /// (gevent's `start()`): it is queued to run, on any hub (or the one it
    /// was pinned to). Returns false if it was started already, was spawned
    /// started, or was killed before (it finished as killed without
    /// running).
    ///
    /// ```
    /// let g = grove::Builder::new().create(|| 5).unwrap();
    /// assert!(!g.is_started());
    /// assert!(g.start());
    /// assert!(!g.start());
    /// assert_eq!(g.join().unwrap(), 5);
    /// ```
    pub fn start(&self) -> bool {
        let Some(gen) = self.take_held() else {
            return false;
        };
        let task = self.target.task.clone();
        let n = task.state.timeout(gen);
        let started = n != Notify::Nothing;
        crate::wake::wake(task, n);
        started
    }

    /// Starts a green thread made by [`Builder::create`](crate::Builder::create)
    /// after `delay` (gevent's `start_later`); until then it holds no
    /// stack. Returns false as [`start`](Greenlet::start) does.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let g = grove::Builder::new().create(|| ()).unwrap();
    /// let t = Instant::now();
    /// assert!(g.start_later(Duration::from_millis(5)));
    /// g.join().unwrap();
    /// assert!(t.elapsed() >= Duration::from_millis(5));
    /// ```
    pub fn start_later(&self, delay: Duration) -> bool {
        let Some(gen) = self.take_held() else {
            return false;
        };
        let task = self.target.task.clone();
        if !task.state.is_waiting_in(gen) {
            return false; // killed meanwhile
        }
        // A delay too long for an `Instant`: it stays created (a kill
        // still ends it).
        if let Some(at) = Instant::now().checked_add(delay) {
            task.shared.clone().add_shared_timer(at, task, gen);
        }
        true
    }

    /// Whether it has been started (or was spawned started): false only
    /// for a green thread made by [`Builder::create`](crate::Builder::create)
    /// that nobody has started yet.
    ///
    /// ```
    /// let g = grove::Builder::new().create(|| ()).unwrap();
    /// assert!(!g.is_started());
    /// g.start();
    /// assert!(g.is_started());
    /// ```
    pub fn is_started(&self) -> bool {
        self.held.load(Ordering::Acquire) == 0
    }
}
