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
