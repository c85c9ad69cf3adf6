//! Loom model of the wake of a started green thread that is bound to its
//! home hub, on grove's own code: the park word (`park.rs`), the hub's inbox
//! and its sleep handshake (`inbox.rs`) and the default driver
//! (`ThreadParker`).
//!
//! The green thread is parked. Another hub and a plain OS thread both
//! unpark it, each doing what `wake::wake` does for a green thread bound to
//! a hub that is not theirs (`Shared::push_home`): win the park word's
//! `PARKED -> RUNNING`, push to the home hub's inbox, unpark the hub's driver
//! if the push says the hub may sleep. Meanwhile the home hub, with nothing
//! else to run, drains its inbox and goes to sleep as `Hub::sleep` does.
//!
//! Checked: the green thread reaches its hub exactly once, and the hub
//! never sleeps through it (loom reports a deadlock if it does). Where the
//! woken green thread goes (the table in `wake.rs`) is a pure decision on
//! `Task::home`, covered by the unit and integration tests; this model covers
//! the hand-off between threads.
#![cfg(loom)]

use std::collections::VecDeque;

use grove_core::inbox::Inbox;
use grove_core::park::{Begin, Commit, How, Mode, Notify, ParkState};
use grove_core::{Driver, ThreadParker};
use loom::sync::Arc;
use loom::thread;

struct Home {
    state: ParkState,
    inbox: Inbox<u32>,
    driver: ThreadParker,
}

impl Home {
    /// A waker that is not the home hub: `wake::wake` for a bound task.
    fn wake_from_elsewhere(&self) {
        if self.state.unpark() == Notify::Schedule && self.inbox.push(7) {
            self.driver.unpark();
        }
    }
}

#[test]
fn bound_wake_from_another_hub_and_an_os_thread_reaches_home_once() {
    loom::model(|| {
        let home = Arc::new(Home {
            state: ParkState::new(),
            inbox: Inbox::new(),
            driver: ThreadParker::new(),
        });
        // The green thread parked on its home hub (begin, switch, commit).
        assert!(matches!(
            home.state.begin(Mode::Park, How::Switch),
            Begin::Parking(_)
        ));
        assert_eq!(home.state.commit(), Commit::Parked);

        let other_hub = {
            let home = home.clone();
            thread::spawn(move || home.wake_from_elsewhere())
        };
        let os_thread = {
            let home = home.clone();
            thread::spawn(move || home.wake_from_elsewhere())
        };

        // The home hub: look at the inbox; with nothing there, sleep.
        let mut got = VecDeque::new();
        loop {
            home.inbox.drain_into(&mut got);
            if !got.is_empty() {
                break;
            }
            if home.inbox.begin_sleep() {
                home.driver.park(None);
            }
            home.inbox.end_sleep();
        }
        other_hub.join().unwrap();
        os_thread.join().unwrap();
        home.inbox.drain_into(&mut got);
        assert_eq!(
            got.len(),
            1,
            "a woken green thread reaches its home hub exactly once"
        );
    });
}
