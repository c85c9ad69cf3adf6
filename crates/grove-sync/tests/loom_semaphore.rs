//! Loom model of the semaphore's hand-off (`src/semaphore.rs`, `src/wait.rs`):
//! a release racing with an acquire that times out loses no permit.
#![cfg(loom)]

mod loom_common;

use grove_sync::wait::WaitList;
use grove_sync::SemState;
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_common::{killed_while_waiting, me, Waker};

fn waiters(s: &mut SemState<Waker>) -> &mut WaitList<(), (), Waker> {
    &mut s.waiters
}

/// Model 7a: the acquirer is waiting; a releaser gives a permit while the
/// acquirer is killed as it parks and leaves the line on the way out.
/// Whatever the order, the permit ends up free again (the acquirer got it
/// and releases it, passed it on, or never got it), and nobody is left in
/// line.
#[test]
fn release_races_a_killed_acquire_no_permit_lost() {
    loom::model(|| {
        let state = Arc::new(Mutex::new(SemState::<Waker>::new(0)));
        let (waker, _parker) = me();
        let ticket = state.lock().unwrap().waiters.push(waker, ());

        let st = state.clone();
        let releaser = thread::spawn(move || {
            let waker = st.lock().unwrap().give();
            waker.into_iter().for_each(Waker::wake);
        });

        if let Some(()) = killed_while_waiting(&state, ticket, waiters, SemState::pass_on) {
            // It was handed the permit before it parked: it holds it, and
            // releases it as its guard drops.
            let waker = state.lock().unwrap().give();
            assert!(waker.is_none(), "nobody else waits");
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
