//! Loom model of the semaphore's hand-off (`src/semaphore.rs`, `src/wait.rs`):
//! a release racing with an acquire that times out loses no permit.
#![cfg(loom)]

use grove_core::{Driver, ThreadParker};
use grove_sync::wait::{Cancelled, WaitList};
use grove_sync::SemState;
use loom::sync::{Arc, Mutex};
use loom::thread;

struct Waker(Arc<ThreadParker>);

/// Model 7a: the acquirer is waiting; a releaser gives a permit while the
/// acquirer's timeout fires and it leaves the line. Whatever the order, the
/// permit ends up free again (the acquirer passed it on, or never got it),
/// and nobody is left in line.
#[test]
fn release_races_a_timing_out_acquire_no_permit_lost() {
    loom::model(|| {
        let state = Arc::new(Mutex::new(SemState::<Waker>::new(0)));
        let parker = Arc::new(ThreadParker::new());
        let ticket = state
            .lock()
            .unwrap()
            .waiters
            .push(Waker(parker.clone()), ());

        let st = state.clone();
        let releaser = thread::spawn(move || {
            let waker = st.lock().unwrap().give();
            if let Some(w) = waker {
                w.0.unpark();
            }
        });

        // The acquirer's deadline passes: it gives up, under the lock, and
        // passes on a permit handed to it at that moment (as `wait_for` does).
        {
            let mut s = state.lock().unwrap();
            match s.waiters.cancel(ticket) {
                Some(Cancelled::Withdrawn(())) => {}
                Some(Cancelled::Handed(())) => {
                    assert!(s.give().is_none(), "nobody else waits");
                }
                None => {}
            }
        }
        releaser.join().unwrap();
        let s = state.lock().unwrap();
        assert_eq!(s.permits, 1, "the released permit was lost");
        assert!(s.waiters.is_empty());
    });
}

/// The wait list alone: FIFO hand-off under contention from two releasers.
#[test]
fn two_releases_serve_two_waiters_in_order() {
    loom::model(|| {
        let list: Arc<Mutex<WaitList<u8, u8, u8>>> = Arc::new(Mutex::new(WaitList::new()));
        let a = list.lock().unwrap().push(1, 0);
        let b = list.lock().unwrap().push(2, 0);
        let hs: Vec<_> = (0..2)
            .map(|v| {
                let l = list.clone();
                thread::spawn(move || l.lock().unwrap().hand_first(10 + v).map(|(w, _)| w))
            })
            .collect();
        let mut woken: Vec<u8> = hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        woken.sort_unstable();
        assert_eq!(woken, [1, 2], "first in line is served first, each once");
        let mut l = list.lock().unwrap();
        assert!(l.take_handed(a).is_some() && l.take_handed(b).is_some());
    });
}
