//! Loom models of how work reaches a hub, on grove's own code: the
//! hand-off steps (`src/handoff.rs`), the idle protocol (`src/idle.rs`), the
//! inboxes (`src/inbox.rs`) and the default driver (`ThreadParker`).
//!
//! Each hub runs [`run_hub`]: the loop of `Hub::run_loop` with `Hub::search`
//! and `Hub::sleep`, every step that another thread can see being a call
//! into [`Handoff`]. What the loop leaves out is private to one OS thread
//! (`runnext`, the fairness tick, timers, how long a hub spins), so it
//! cannot race. Tasks are small integers; the queues are the loom build of
//! `src/deque.rs` (crossbeam's queues, as one locked step each).
//!
//! A hub that exits the loop stands for a hub busy running a long green
//! thread: it never looks at the queues again, so any work left must reach
//! another hub. A lost wakeup leaves a hub parked forever, and loom reports
//! the deadlock.
#![cfg(loom)]

use std::collections::VecDeque;
use std::time::Instant;

use grove_core::deque::Worker;
use grove_core::handoff::Handoff;
use grove_core::park::{Begin, Commit, Gen, How, Mode, Notify, ParkState};
use grove_core::timer::Target;
use grove_core::{Driver, ThreadParker};
use loom::sync::Arc;
use loom::thread;

/// `n` hubs with the default driver, and their own ends of their queues.
fn hubs<T>(n: usize) -> (Arc<Handoff<T>>, Vec<Worker<T>>) {
    let drivers = (0..n)
        .map(|_| Box::new(ThreadParker::new()) as Box<dyn Driver>)
        .collect();
    let (handoff, workers) = Handoff::new(drivers);
    (Arc::new(handoff), workers)
}

/// Hub `me` runs until it has run `want` tasks or the runtime stops;
/// returns what it ran.
fn run_hub(h: &Handoff<u32>, me: usize, local: &Worker<u32>, want: usize) -> Vec<u32> {
    let mut bound = VecDeque::new();
    let mut searching = false;
    let mut ran = Vec::new();
    while !h.stopping() && ran.len() < want {
        // `Hub::next_task`: its own queues, then the inbox and injector.
        let mut next = bound
            .pop_front()
            .or_else(|| local.pop())
            .or_else(|| h.take_remote(me, local, &mut bound, false));
        // `Hub::search`: steal if allowed to search, else watch the inbox.
        if next.is_none() {
            if !searching {
                searching = h.idle.start_searching();
            }
            next = if searching {
                h.take_remote(me, local, &mut bound, true)
                    .or_else(|| h.steal(me, 0, local).map(|(t, _)| t))
            } else {
                h.take_remote(me, local, &mut bound, false)
            };
        }
        match next {
            Some(t) => {
                h.found_work(searching);
                searching = false;
                ran.push(t);
            }
            None => {
                let driver = &h.ports[me].driver;
                searching = h.sleep(me, searching, None, |t| driver.park(t));
            }
        }
    }
    ran
}

/// Starts hub `me` on its own thread.
fn start(
    h: &Arc<Handoff<u32>>,
    me: usize,
    local: Worker<u32>,
    want: usize,
) -> thread::JoinHandle<Vec<u32>> {
    let h = h.clone();
    thread::spawn(move || run_hub(&h, me, &local, want))
}

/// Model 4a: a hub going to sleep races with a push from outside the
/// runtime (the injector); the other hub is busy. The idle hub runs it.
#[test]
fn sleeping_hub_races_a_push_and_is_not_lost() {
    loom::model(|| {
        let (h, mut workers) = hubs(2);
        drop(workers.pop());
        let hub0 = start(&h, 0, workers.pop().unwrap(), 1);
        h.push_remote(None, 7);
        assert_eq!(hub0.join().unwrap(), [7]);
    });
}

/// Model 4b: two idle hubs, two tasks pushed from outside one at a time
/// (each push wakes at most one hub: `Idle::notify` pops one sleeper): each
/// hub runs one of them, so no hub is left asleep with a task queued, even
/// when a push held back because a hub was searching.
#[test]
fn one_task_wakes_at_most_one_hub() {
    loom::model(|| {
        let (h, workers) = hubs(2);
        let running: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(i, w)| start(&h, i, w, 1))
            .collect();
        h.push_remote(None, 1);
        h.push_remote(None, 2);
        let mut got: Vec<u32> = running
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each task runs once");
    });
}

/// Model 4c: a hub queues work on its own stealable queue and then stays
/// busy; the other hub, going to sleep meanwhile, steals it. Its last look
/// before sleeping must cover the other hubs' queues, not only the
/// injector (`Handoff::work_pending`).
#[test]
fn work_queued_on_a_busy_hub_is_stolen_by_a_sleeping_one() {
    loom::model(|| {
        let (h, mut workers) = hubs(2);
        let busy = workers.pop().unwrap();
        let idle = start(&h, 0, workers.pop().unwrap(), 1);
        h.push_local(&busy, 5);
        assert_eq!(idle.join().unwrap(), [5], "the queued task was stolen");
    });
}

/// Model 4d: shutdown while two hubs look for work or sleep: both loops end.
#[test]
fn stop_ends_every_hub_loop_asleep_or_not() {
    loom::model(|| {
        let (h, workers) = hubs(2);
        let running: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(i, w)| start(&h, i, w, usize::MAX))
            .collect();
        h.stop();
        for r in running {
            assert!(r.join().unwrap().is_empty(), "no task was ever queued");
        }
    });
}

/// A green thread in a park that a shared timer ends.
struct Sleeper;

impl Target for Sleeper {
    fn waiting_in(&self, _: Gen) -> bool {
        true
    }
}

/// Model 4e: a green thread that is not bound to a hub arms a shared timer
/// (`park_timeout`, `spawn_later`) while the only idle hub goes to sleep;
/// the other hub is busy. The idle hub fires it: its sleep reads the
/// earliest deadline after listing itself, or the armer's notify wakes it
/// (loom's parks ignore timeouts, so a hub that slept past the deadline
/// would never wake: a deadlock).
#[test]
fn a_shared_timer_armed_while_a_hub_sleeps_is_fired() {
    loom::model(|| {
        let (h, workers) = hubs::<Sleeper>(2);
        drop(workers);
        let hub0 = {
            let h = h.clone();
            thread::spawn(move || {
                let mut searching = false;
                let mut fired = Vec::new();
                loop {
                    // `Hub::fire_timers`, then nothing else to do: sleep.
                    if h.timers.due_hint().is_some_and(|d| d <= Instant::now()) {
                        h.timers.fire_due(Instant::now(), &mut fired);
                        if !fired.is_empty() {
                            return fired.len();
                        }
                    }
                    let driver = &h.ports[0].driver;
                    searching = h.sleep(0, searching, None, |t| driver.park(t));
                }
            })
        };
        h.add_timer(Instant::now(), Sleeper, 0);
        assert_eq!(hub0.join().unwrap(), 1, "the timer fired once");
    });
}

/// Model 8: the wake of a started green thread bound to its home hub. It
/// is parked; another hub and a plain OS thread both unpark it, each doing
/// what `wake.rs` does for a green thread bound elsewhere (win the park
/// word's `PARKED -> RUNNING`, then `Handoff::push_home`: its inbox, and an
/// unpark of its driver if the inbox says the hub may sleep). Meanwhile the
/// home hub, with nothing else to do, runs its loop and sleeps. The green
/// thread reaches its hub exactly once, and the hub never sleeps through it.
#[test]
fn bound_wake_from_another_hub_and_an_os_thread_reaches_home_once() {
    loom::model(|| {
        let (h, mut workers) = hubs(1);
        let local = workers.pop().unwrap();
        let state = Arc::new(ParkState::new());
        // The green thread parked on its home hub (begin, switch, commit).
        assert!(matches!(
            state.begin(Mode::Park, How::Switch),
            Begin::Parking(_)
        ));
        assert_eq!(state.commit(), Commit::Parked);
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let (h, state) = (h.clone(), state.clone());
                thread::spawn(move || {
                    if state.unpark() == Notify::Schedule {
                        h.push_home(0, 7);
                    }
                })
            })
            .collect();
        let ran = run_hub(&h, 0, &local, 1);
        for w in wakers {
            w.join().unwrap();
        }
        let mut rest = VecDeque::new();
        let again = h.take_remote(0, &local, &mut rest, true);
        assert!(
            ran == [7] && again.is_none() && rest.is_empty(),
            "a woken green thread reaches its home hub exactly once"
        );
    });
}
