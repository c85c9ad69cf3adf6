//! Loom models of the set-once/wake-all hand-offs: `Event` set against wait
//! (`src/event.rs`) and `AsyncResult` set against get (`src/async_result.rs`).
#![cfg(loom)]

mod loom_common;

use grove_sync::{EventState, ResultState};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_common::{me, wait_handed, wake_all, Waker};

/// Model 7d: a waiter is in line (it found the flag down) and is parking
/// while a setter sets the event and clears it again at once. The waiter
/// wakes, whatever the interleaving: the notification is handed to it, so a
/// quick clear cannot hide the set (gevent: waiters woken by `set` return
/// true even if it is cleared before they run).
#[test]
fn event_set_then_clear_races_a_parking_waiter_it_wakes() {
    loom::model(|| {
        let ev = Arc::new(Mutex::new(EventState::<Waker>::new()));
        let (waker, parker) = me();
        let ticket = {
            let mut s = ev.lock().unwrap();
            assert!(!s.set);
            s.waiters.push(waker, ())
        };
        let e = ev.clone();
        let setter = thread::spawn(move || {
            let wakers = e.lock().unwrap().raise();
            e.lock().unwrap().set = false; // clear() right after set()
            wake_all(wakers);
        });
        wait_handed(&ev, ticket, |s| &mut s.waiters, &parker);
        setter.join().unwrap();
        assert!(ev.lock().unwrap().waiters.is_empty());
    });
}

/// Model 7e: two getters wait for an `AsyncResult` while it is set. Both
/// wake, whatever the interleaving, and both read the value.
#[test]
fn async_result_set_races_two_gets_both_see_the_value() {
    loom::model(|| {
        let r = Arc::new(Mutex::new(ResultState::<u32, (), Waker>::new()));
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || {
                    let (waker, parker) = me();
                    let ticket = {
                        let mut s = r.lock().unwrap();
                        if let Some(v) = &s.value {
                            return *v;
                        }
                        s.waiters.push(waker, ())
                    };
                    wait_handed(&r, ticket, |s| &mut s.waiters, &parker);
                    let v = r.lock().unwrap().value;
                    v.expect("woken only once set")
                })
            })
            .collect();
        let wakers = r.lock().unwrap().store(Ok(5));
        wake_all(wakers);
        for g in getters {
            assert_eq!(g.join().unwrap(), Ok(5));
        }
    });
}
