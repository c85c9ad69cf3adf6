//! Loom models of the idle protocol (`src/idle.rs`) with the default driver
//! (`ThreadParker`): no lost wakeup, and one new task wakes at most one hub.
//!
//! The run queue is modelled as a mutex-guarded `VecDeque`; the protocol under
//! test is who searches, who sleeps and who wakes whom.
#![cfg(loom)]

use std::collections::VecDeque;

use grove_core::idle::Idle;
use grove_core::{Driver, ThreadParker};
use loom::sync::{Arc, Mutex};
use loom::thread;

struct Hubs {
    idle: Idle,
    parkers: Vec<ThreadParker>,
    queue: Mutex<VecDeque<u32>>,
}

impl Hubs {
    fn new(n: usize) -> Arc<Hubs> {
        Arc::new(Hubs {
            idle: Idle::new(n),
            parkers: (0..n).map(|_| ThreadParker::new()).collect(),
            queue: Mutex::new(VecDeque::new()),
        })
    }

    /// A producer: push a task, then notify as `Shared::notify` does.
    /// Returns how many hubs it woke.
    fn push(&self, task: u32) -> usize {
        self.queue.lock().unwrap().push_back(task);
        match self.idle.notify() {
            Some(i) => {
                self.parkers[i].unpark();
                1
            }
            None => 0,
        }
    }

    fn pop(&self) -> Option<u32> {
        self.queue.lock().unwrap().pop_front()
    }

    /// Hub `i` found nothing while searching: it goes to sleep as
    /// `Hub::sleep` does, and loops until it gets a task.
    fn sleep_until_task(&self, i: usize) -> u32 {
        let mut searching = self.idle.start_searching();
        loop {
            if let Some(t) = self.pop() {
                if searching && self.idle.stop_searching() {
                    self.notify_if_work();
                }
                return t;
            }
            if self.idle.go_to_sleep(i, searching) && !self.queue.lock().unwrap().is_empty() {
                self.notify_if_work();
            }
            self.parkers[i].park(None);
            searching = self.idle.woken(i);
            if !searching && self.idle.start_searching() {
                searching = true;
            }
        }
    }

    fn notify_if_work(&self) {
        if let Some(i) = self.idle.notify() {
            self.parkers[i].unpark();
        }
    }
}

/// Model 4a: a hub going to sleep races with a push from another thread. The
/// hub must get the task: if the wakeup were lost, the hub would park forever
/// and loom would report the deadlock.
#[test]
fn sleeping_hub_races_a_push_and_is_not_lost() {
    loom::model(|| {
        let hubs = Hubs::new(2);
        // Hub 0 searches and is about to give up; hub 1 is busy elsewhere.
        let h = hubs.clone();
        let hub0 = thread::spawn(move || h.sleep_until_task(0));
        let woke = hubs.push(7);
        assert!(woke <= 1);
        assert_eq!(hub0.join().unwrap(), 7);
    });
}

/// Model 4b: two idle hubs and two tasks pushed one at a time: each push
/// wakes at most one hub, and between them the hubs run both tasks (no hub is
/// left asleep with a task queued, or loom reports the deadlock).
#[test]
fn one_task_wakes_at_most_one_hub() {
    loom::model(|| {
        let hubs = Hubs::new(2);
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let h = hubs.clone();
                thread::spawn(move || h.sleep_until_task(i))
            })
            .collect();
        assert!(hubs.push(1) <= 1, "one task woke two hubs");
        assert!(hubs.push(2) <= 1, "one task woke two hubs");
        let mut got: Vec<u32> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}
