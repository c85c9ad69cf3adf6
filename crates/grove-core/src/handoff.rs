//! Where work crosses between threads: the injector, every hub's stealable
//! queue and inbox, its driver, the idle counts and the `stopping` flag,
//! and every step of the scheduler that touches them from more than one
//! thread.
//!
//! The hub (`hub.rs`, `search.rs`, `queues.rs`), routing (`wake.rs`) and
//! shutdown (`runtime.rs`) call these methods and nothing else of one
//! another's shared state. [`Handoff`] is generic over what it carries
//! (`Arc<Task>` in the runtime) and takes its atomics and queues from the
//! facades (`sync.rs`, `deque.rs`), so the loom models in
//! `tests/loom_handoff.rs` run this very code with small integers for
//! tasks and the default driver ([`ThreadParker`](crate::ThreadParker)).
//! What stays outside is hub-private: which of its own queues a hub looks
//! at first, `runnext`, its timers, its spin timing, all on one OS thread.
//!
//! # The hand-offs
//!
//! | step | by | method | then |
//! |---|---|---|---|
//! | unbound work from outside the runtime | any thread | [`push_remote`](Handoff::push_remote)`(None, …)`: the injector | [`notify`](Handoff::notify) |
//! | unbound work from a hub | that hub | [`push_local`](Handoff::push_local): its stealable queue | `notify` |
//! | bound work for hub `h` from anywhere but `h` | any thread | [`push_home`](Handoff::push_home): `h`'s inbox | unpark `h` if its inbox says it may sleep (`inbox.rs`) |
//! | a hub takes from the inbox and the injector | the hub | [`take_remote`](Handoff::take_remote) | — |
//! | a hub steals half of another's queue | a searching hub | [`steal`](Handoff::steal) | — |
//! | a searching hub found work | the hub | [`found_work`](Handoff::found_work) | the last searcher notifies |
//! | a timer any hub may fire (a park of an unbound green thread) | any thread | [`add_timer`](Handoff::add_timer) | `notify` if it is the earliest |
//! | a hub with nothing to do | the hub | [`sleep`](Handoff::sleep): list itself, look again, park unless its inbox has work or the runtime stops | woken by `notify`, its inbox, a timer, or [`stop`](Handoff::stop) |
//! | shutdown | the runtime's owner | `stop`: `stopping = true` (`SeqCst`), unpark every hub | every hub's loop ends |
//!
//! Why none of these loses a wakeup is written next to each protocol:
//! `idle.rs` (notify against sleep), `inbox.rs` (a bound wake against
//! sleep). `stop` needs no handshake of its own: a hub that read
//! `stopping` as false before it parks has a driver token waiting from
//! `stop`'s unpark, which outlives a park that has not begun.
//!
//! A build with `--cfg grove_loom_weaken="pending_skips_stealers"` makes the
//! sleeping hub's last look ignore the other hubs' stealable queues, one
//! with `grove_loom_weaken="stop_no_unpark"` makes `stop` only set the
//! flag, one with `grove_loom_weaken="timer_no_notify"` arms a shared
//! timer without telling anyone, and one with
//! `grove_loom_weaken="remote_no_notify"` queues outside work on the
//! injector without telling anyone; the loom models find all four.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::deque::{Injector, Steal, Stealer, Worker};
use crate::driver::Driver;
use crate::idle::Idle;
use crate::inbox::Inbox;
use crate::park::Gen;
use crate::sync::{AtomicBool, Ordering};
use crate::timer::{SharedTimers, Target};

/// What every thread can reach of one hub.
pub struct Port<T> {
    /// The other end of the hub's stealable queue.
    pub stealer: Stealer<T>,
    /// Bound work woken elsewhere (`inbox.rs`).
    pub inbox: Inbox<T>,
    /// What the hub sleeps in.
    pub driver: Box<dyn Driver>,
}

impl<T> Port<T> {
    /// How many wait in the hub's stealable queue and inbox (a moment's
    /// count, for snapshots and reports).
    pub fn waiting(&self) -> usize {
        self.stealer.len() + self.inbox.len()
    }
}

/// The shared queues and idle state of one runtime's hubs.
pub struct Handoff<T> {
    /// Unbound work from outside the runtime.
    pub injector: Injector<T>,
    /// One per hub, by index.
    pub ports: Box<[Port<T>]>,
    /// Who searches, who sleeps (`idle.rs`).
    pub idle: Idle,
    /// Timers any hub may fire (`timer.rs`): parks of green threads not
    /// bound to a hub.
    pub timers: SharedTimers<T>,
    stopping: AtomicBool,
}

impl<T> Handoff<T> {
    /// One port per driver; returns the hubs' own ends of their stealable
    /// queues, by index.
    pub fn new(drivers: Vec<Box<dyn Driver>>) -> (Self, Vec<Worker<T>>) {
        let workers: Vec<Worker<T>> = drivers.iter().map(|_| Worker::new_fifo()).collect();
        let ports = drivers
            .into_iter()
            .zip(&workers)
            .map(|(driver, w)| Port {
                stealer: w.stealer(),
                inbox: Inbox::new(),
                driver,
            })
            .collect::<Box<[_]>>();
        let handoff = Handoff {
            injector: Injector::new(),
            idle: Idle::new(ports.len()),
            ports,
            timers: SharedTimers::new(),
            stopping: AtomicBool::new(false),
        };
        (handoff, workers)
    }

    /// Whether [`stop`](Handoff::stop) was called.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Work became stealable: wake one sleeping hub if none is searching.
    /// Returns whether it woke one (here and below: for the models).
    pub fn notify(&self) -> bool {
        match self.idle.notify() {
            Some(i) => {
                self.ports[i].driver.unpark();
                true
            }
            None => false,
        }
    }

    /// Queues `task` from a thread that is not hub `home`'s (or, with no
    /// home, from outside the runtime).
    pub fn push_remote(&self, home: Option<usize>, task: T) -> bool {
        match home {
            Some(h) => self.push_home(h, task),
            None => {
                self.injector.push(task);
                !cfg!(grove_loom_weaken = "remote_no_notify") && self.notify()
            }
        }
    }

    /// Wakes `task`, bound to hub `h`, from anywhere but `h`.
    pub fn push_home(&self, h: usize, task: T) -> bool {
        let port = &self.ports[h];
        let may_sleep = port.inbox.push(task);
        if may_sleep {
            port.driver.unpark();
        }
        may_sleep
    }

    /// Arms a timer any hub may fire. If it is now the earliest, wakes a
    /// sleeping hub (unless one searches), so that no hub sleeps past it:
    /// the timer's `SeqCst` store and `notify`'s fence pair with
    /// [`sleep`](Handoff::sleep)'s `go_to_sleep` fence and its read of the
    /// earliest deadline.
    pub fn add_timer(&self, deadline: Instant, task: T, gen: Gen)
    where
        T: Target,
    {
        let earliest = self.timers.insert(deadline, task, gen);
        if earliest && !cfg!(grove_loom_weaken = "timer_no_notify") {
            self.notify();
        }
    }

    /// A hub queues unbound `task` on its own stealable queue `local`.
    pub fn push_local(&self, local: &Worker<T>, task: T) -> bool {
        local.push(task);
        self.notify()
    }

    /// Hub `me` takes from its inbox (everything, into `bound`) and the
    /// injector (a batch, into `local`), `injector_first` or not.
    pub fn take_remote(
        &self,
        me: usize,
        local: &Worker<T>,
        bound: &mut VecDeque<T>,
        injector_first: bool,
    ) -> Option<T> {
        let mut inbox = || {
            self.ports[me].inbox.drain_into(bound);
            bound.pop_front()
        };
        let injector = || steal_one(|| self.injector.steal_batch_and_pop(local));
        if injector_first {
            injector().or_else(inbox)
        } else {
            inbox().or_else(injector)
        }
    }

    /// Hub `me` steals half of one other hub's queue into `local`, trying
    /// each once from `start`. Returns the task to run and how many more
    /// moved.
    pub fn steal(&self, me: usize, start: usize, local: &Worker<T>) -> Option<(T, usize)> {
        let n = self.ports.len();
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == me {
                continue;
            }
            let before = local.len();
            if let Some(t) = steal_one(|| self.ports[victim].stealer.steal_batch_and_pop(local)) {
                return Some((t, local.len() - before));
            }
        }
        None
    }

    /// A hub that was `searching` found work: it stops searching, and the
    /// last searcher wakes another hub (work comes in bursts, and producers
    /// held back while it searched).
    pub fn found_work(&self, searching: bool) {
        if searching && self.idle.stop_searching() {
            self.notify();
        }
    }

    /// Whether another hub could take work now: the injector or any
    /// stealable queue is non-empty. Covers every queue that a hub takes
    /// unbound work from; a queue it missed would be a lost wakeup.
    pub fn work_pending(&self) -> bool {
        let skip_stealers = cfg!(grove_loom_weaken = "pending_skips_stealers");
        !self.injector.is_empty()
            || (!skip_stealers && self.ports.iter().any(|p| !p.stealer.is_empty()))
    }

    /// Hub `me` found nothing: it lists itself as a sleeper, looks at every
    /// stealable queue once more (and notifies if it finds work, perhaps
    /// itself), then calls `park` with the time until the earliest of its
    /// own next timer (`own`) and the shared ones (read after listing
    /// itself, so a shared timer armed since is seen here or its armer's
    /// notify wakes a sleeper), unless its inbox has work, the runtime
    /// stops, or that deadline has passed. Returns whether the hub is
    /// searching now (woken by a notify).
    pub fn sleep(
        &self,
        me: usize,
        was_searching: bool,
        own: Option<Instant>,
        park: impl FnOnce(Option<Duration>),
    ) -> bool {
        if self.idle.go_to_sleep(me, was_searching) && self.work_pending() {
            self.notify();
        }
        let deadline = earliest(own, self.timers.due_hint());
        let port = &self.ports[me];
        if port.inbox.begin_sleep() && !self.stopping.load(Ordering::SeqCst) {
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if timeout != Some(Duration::ZERO) {
                park(timeout);
            }
        }
        port.inbox.end_sleep();
        self.idle.woken(me)
    }

    /// Shutdown: every hub's loop ends at its next look at
    /// [`stopping`](Handoff::stopping), a sleeping one woken for it.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if cfg!(grove_loom_weaken = "stop_no_unpark") {
            return;
        }
        for port in self.ports.iter() {
            port.driver.unpark();
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Retries a steal until it succeeds or finds nothing.
pub(crate) fn steal_one<T>(mut f: impl FnMut() -> Steal<T>) -> Option<T> {
    loop {
        match f() {
            Steal::Success(t) => return Some(t),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;

    /// A driver that counts its unparks. The tests pass `sleep` their own
    /// park, so this one is never parked in.
    #[derive(Default)]
    struct Counting {
        unparks: Arc<AtomicUsize>,
    }

    impl Driver for Counting {
        fn park(&self, _: Option<Duration>) {
            unreachable!("the tests park through `sleep`'s closure")
        }
        fn unpark(&self) {
            self.unparks.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Hubs {
        h: Handoff<u32>,
        workers: Vec<Worker<u32>>,
        unparks: Vec<Arc<AtomicUsize>>,
    }

    fn hubs(n: usize) -> Hubs {
        let counting: Vec<Counting> = (0..n).map(|_| Counting::default()).collect();
        let unparks = counting.iter().map(|c| c.unparks.clone()).collect();
        let drivers = counting
            .into_iter()
            .map(|c| Box::new(c) as Box<dyn Driver>)
            .collect();
        let (h, workers) = Handoff::new(drivers);
        Hubs {
            h,
            workers,
            unparks,
        }
    }

    fn count(c: &AtomicUsize) -> usize {
        c.load(Ordering::SeqCst)
    }

    impl Target for u32 {
        fn waiting_in(&self, _: Gen) -> bool {
            true
        }
    }

    #[test]
    fn outside_work_goes_to_the_injector_and_wakes_one_sleeper() {
        let t = hubs(2);
        assert!(!t.h.work_pending());
        assert!(!t.h.push_remote(None, 1), "nobody sleeps: nobody to wake");
        assert!(t.h.work_pending(), "the injector holds it");
        // Hub 1 goes to sleep: its last look sees the work and wakes itself
        // (its driver's token ends the park at once), as a searcher.
        let searching = t.h.sleep(1, false, None, |_| {
            assert_eq!(count(&t.unparks[1]), 1, "its last look woke it");
        });
        assert!(searching, "woken by a notify: it searches");
        t.h.found_work(true);
        let mut bound = VecDeque::new();
        assert_eq!(t.h.take_remote(1, &t.workers[1], &mut bound, true), Some(1));
        assert!(!t.h.work_pending());
        // Asleep for real now: new outside work wakes it, once.
        let searching = t.h.sleep(1, false, None, |_| {
            assert!(t.h.push_remote(None, 2), "a sleeper to wake");
            assert!(!t.h.push_remote(None, 3), "the woken hub searches");
        });
        assert!(searching);
        assert_eq!(count(&t.unparks[1]), 2);
    }

    #[test]
    fn bound_work_goes_to_its_home_inbox_and_takes_the_inbox_first_if_asked() {
        let t = hubs(2);
        assert!(!t.h.push_remote(Some(1), 5), "hub 1 is awake");
        t.h.push_remote(None, 6);
        assert!(t.h.work_pending(), "the outside work, not the bound one");
        let mut bound = VecDeque::new();
        assert_eq!(
            t.h.take_remote(0, &t.workers[0], &mut bound, false),
            Some(6)
        );
        assert_eq!(
            t.h.take_remote(1, &t.workers[1], &mut bound, false),
            Some(5)
        );
        assert_eq!(t.h.take_remote(1, &t.workers[1], &mut bound, true), None);
        assert_eq!(t.h.ports[1].waiting(), 0);
    }

    #[test]
    fn a_bound_wake_unparks_a_hub_that_may_sleep() {
        let t = hubs(1);
        let woke = t.h.sleep(0, false, None, |_| {
            // While it is parked, another thread wakes a task bound here.
            assert!(t.h.push_home(0, 9), "asleep: the pusher unparks");
        });
        assert!(!woke, "a targeted wake, not a notify: not searching");
        assert_eq!(count(&t.unparks[0]), 1);
        let mut bound = VecDeque::new();
        assert_eq!(
            t.h.take_remote(0, &t.workers[0], &mut bound, false),
            Some(9)
        );
    }

    #[test]
    fn a_hub_steals_half_of_another_and_never_from_itself() {
        let t = hubs(3);
        for i in 0..4 {
            t.workers[2].push(i);
        }
        assert!(
            t.h.steal(2, 0, &t.workers[2]).is_none(),
            "only itself has work"
        );
        let (first, moved) = t.h.steal(0, 1, &t.workers[0]).unwrap();
        assert_eq!((first, moved), (0, 1), "half of four: one to run, one more");
        assert_eq!(t.workers[0].pop(), Some(1));
        assert_eq!(t.h.ports[2].waiting(), 2);
        assert!(!t.h.push_local(&t.workers[0], 7), "nobody sleeps");
        assert!(t.h.work_pending(), "stealable now");
    }

    #[test]
    fn a_steal_counts_what_moved_beside_what_the_thief_held() {
        let t = hubs(2);
        t.workers[0].push(100);
        for i in 0..6 {
            t.workers[1].push(i);
        }
        t.h.push_home(1, 50);
        assert_eq!(
            t.h.ports[1].waiting(),
            7,
            "six stealable and one in the inbox"
        );
        let (first, moved) = t.h.steal(0, 0, &t.workers[0]).unwrap();
        assert_eq!((first, moved), (0, 2), "half of six: one to run, two more");
        assert_eq!(t.workers[0].len(), 3, "its own one and the two moved");
    }

    #[test]
    fn only_a_timer_that_becomes_the_earliest_wakes_a_sleeper() {
        let t = hubs(1);
        let now = Instant::now();
        let searching = t.h.sleep(0, false, None, |_| {
            t.h.add_timer(now + Duration::from_secs(5), 1, 0);
            assert_eq!(count(&t.unparks[0]), 1, "the first timer is the earliest");
        });
        assert!(searching, "woken by that notify");
        t.h.sleep(0, searching, None, |_| {
            t.h.add_timer(now + Duration::from_secs(9), 2, 0);
            assert_eq!(count(&t.unparks[0]), 1, "a later one changes nothing");
            assert!(t.h.push_local(&t.workers[0], 3), "stealable work wakes it");
        });
    }

    #[test]
    fn the_last_searcher_to_find_work_notifies() {
        let t = hubs(4);
        t.h.sleep(3, false, None, |_| {
            assert!(t.h.idle.start_searching());
            assert!(t.h.idle.start_searching());
            t.h.found_work(true);
            assert_eq!(count(&t.unparks[3]), 0, "another still searches");
            t.h.found_work(false);
            assert_eq!(count(&t.unparks[3]), 0, "was not searching");
            t.h.found_work(true);
            assert_eq!(count(&t.unparks[3]), 1, "the last searcher wakes a sleeper");
        });
    }

    #[test]
    fn a_due_timer_or_a_stop_keeps_a_hub_from_parking() {
        let t = hubs(2);
        t.h.sleep(0, false, Some(Instant::now()), |_| panic!("own timer due"));
        t.h.sleep(0, false, None, |_| {
            t.h.add_timer(Instant::now(), 3, 0);
            assert_eq!(count(&t.unparks[0]), 1, "a sleeper is told of the timer");
        });
        t.h.sleep(1, false, None, |_| panic!("shared timer due"));
        let mut fired = Vec::new();
        t.h.timers.fire_due(Instant::now(), &mut fired);
        assert_eq!(fired, [(3, 0)]);
        let later = Instant::now() + Duration::from_secs(60);
        let mut asked = None;
        t.h.sleep(1, false, Some(later), |d| asked = d);
        assert!(asked.is_some_and(|d| d > Duration::from_secs(50)));
        assert!(!t.h.stopping());
        t.h.stop();
        assert!(t.h.stopping());
        assert!(
            t.unparks.iter().all(|u| count(u) >= 1),
            "stop unparks every hub"
        );
        t.h.sleep(1, false, None, |_| panic!("stopping"));
    }
}
