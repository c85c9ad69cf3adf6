//! The idle protocol: which hubs search for work, which sleep, and who wakes
//! whom, without lost wakeups and without waking every hub for one task.
//! The shared counts live here ([`Idle`]); the steps that use them, a
//! producer's notify and a hub's last look and sleep, are `handoff.rs`'s
//! (`Handoff::notify`, `Handoff::sleep`, `Handoff::work_pending`).
//!
//! # State
//!
//! One atomic word packs two counts, `searching` (low 16 bits: hubs looking
//! for work to steal) and `awake` (high bits: hubs not asleep); a mutex guards
//! the list of sleeping hubs.
//!
//! # Transitions
//!
//! * **start searching** (an idle hub): allowed only while fewer than half
//!   the hubs search (at least one may), so stealing never becomes a stampede;
//!   `searching += 1`.
//! * **stop searching** (a hub that found work): `searching -= 1`. The last
//!   searcher to find work wakes one more hub (work tends to come in bursts).
//! * **go to sleep** (a hub that found nothing): under the lock, `awake -= 1`
//!   (and `searching -= 1` if it was searching), and it joins the sleepers.
//!   Then, after a fence, it looks at every queue once more and notifies if it
//!   finds work (it may wake itself).
//! * **notify** (anyone who made work stealable): a `SeqCst` fence, then if no
//!   hub searches and some hub sleeps, lock, re-check, pop one sleeper, count
//!   it as awake *and searching*, and unpark it. A searcher already present
//!   will find the work, so one new task wakes at most one hub.
//! * **woken** (a hub returning from its driver): if it is no longer on the
//!   sleepers list, a notify took it off and counted it searching; otherwise
//!   (a timer, a targeted wake, or a spurious return) it takes itself off and
//!   counts itself awake, not searching.
//!
//! # Why no wakeup is lost
//!
//! A producer does *push work; fence(SeqCst); read counts*. A hub going to
//! sleep does *update counts (lock + RMW); fence(SeqCst); read queues*. Under
//! `SeqCst` one of the two sees the other's write: either the sleeper's
//! re-check sees the work, or the producer sees the sleeper. In the second
//! case the producer wakes a sleeper, unless a hub is searching; then that
//! searcher, when it stops searching (having found work), notifies if it was
//! the last searcher, and by then the sleeper is listed.
//!
//! The re-check must be made by *every* hub that goes to sleep, not only the
//! last searcher: a producer may hold back because a searcher exists, and that
//! searcher may then find other work and stop searching before a non-searching
//! hub has listed itself as a sleeper, so its notify finds nobody to wake.
//! (The loom model `one_task_wakes_at_most_one_hub` finds this interleaving
//! in the weakened build below.)
//!
//! Work aimed at one hub (a started green thread bound to it) cannot wait for
//! a searcher, so it uses the hub's inbox handshake instead (`inbox.rs`).
//!
//! A build with `--cfg grove_loom_weaken="idle_skip_recheck"` re-checks only
//! in the last searcher, to show that the loom model catches the lost wakeup.

use crate::sync::{fence, lock, AtomicUsize, Mutex, Ordering};

const SEARCH_MASK: usize = 0xFFFF;
const AWAKE_ONE: usize = 1 << 16;

/// The shared idle state of one runtime's hubs.
#[derive(Debug)]
pub struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    hubs: usize,
}

impl Idle {
    /// All `hubs` start awake and not searching.
    pub fn new(hubs: usize) -> Self {
        assert!(hubs > 0 && hubs < SEARCH_MASK, "hub count out of range");
        Idle {
            state: AtomicUsize::new(hubs * AWAKE_ONE),
            sleepers: Mutex::new(Vec::with_capacity(hubs)),
            hubs,
        }
    }

    fn searching(state: usize) -> usize {
        state & SEARCH_MASK
    }

    fn awake(state: usize) -> usize {
        state >> 16
    }

    /// An idle hub asks to search. Returns false if enough hubs search already.
    pub fn start_searching(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        if 2 * Self::searching(state) >= self.hubs.max(2) {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching hub found work. Returns true if it was the last searcher
    /// (the caller should then [`notify`](Idle::notify)).
    pub fn stop_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(Self::searching(prev) > 0);
        Self::searching(prev) == 1
    }

    /// Hub `index` goes to sleep. Returns true if the caller must re-check
    /// every queue (and notify if it finds work): always, except in the
    /// weakened build, which keeps only the last searcher's re-check.
    pub fn go_to_sleep(&self, index: usize, searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = AWAKE_ONE + usize::from(searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(index);
        drop(sleepers);
        fence(Ordering::SeqCst);
        if cfg!(grove_loom_weaken = "idle_skip_recheck") {
            return searching && Self::searching(prev) == 1;
        }
        true
    }

    /// Someone made work stealable: pick a sleeping hub to wake, if no hub is
    /// searching already. The caller unparks the returned hub.
    pub fn notify(&self) -> Option<usize> {
        fence(Ordering::SeqCst);
        if !self.should_wake(self.state.load(Ordering::SeqCst)) {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        if !self.should_wake(self.state.load(Ordering::SeqCst)) {
            return None;
        }
        let index = sleepers.pop()?;
        self.state.fetch_add(AWAKE_ONE + 1, Ordering::SeqCst);
        Some(index)
    }

    fn should_wake(&self, state: usize) -> bool {
        Self::searching(state) == 0 && Self::awake(state) < self.hubs
    }

    /// Hub `index` returned from its driver. Returns true if it was woken by
    /// [`notify`](Idle::notify) (and so is now searching).
    pub fn woken(&self, index: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        match sleepers.iter().position(|&i| i == index) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.state.fetch_add(AWAKE_ONE, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_the_hubs_search_and_the_last_searcher_is_told() {
        let idle = Idle::new(4);
        assert!(idle.start_searching());
        assert!(idle.start_searching());
        assert!(!idle.start_searching(), "two of four search already");
        assert!(!idle.stop_searching(), "another still searches");
        assert!(idle.stop_searching(), "the last searcher");
        // One hub: one searcher may still look.
        let one = Idle::new(1);
        assert!(one.start_searching());
        assert!(!one.start_searching());
    }

    #[test]
    fn notify_wakes_one_sleeper_only_when_nobody_searches() {
        let idle = Idle::new(3);
        assert_eq!(idle.notify(), None, "everyone is awake");
        assert!(idle.go_to_sleep(2, false), "a sleeper always re-checks");
        assert!(idle.start_searching());
        assert_eq!(idle.notify(), None, "a searcher will find the work");
        assert!(idle.go_to_sleep(1, true));
        assert_eq!(idle.notify(), Some(1), "the last to sleep goes first");
        assert_eq!(idle.notify(), None, "the woken hub searches now");
        assert!(idle.woken(1), "woken by notify: it searches");
        assert!(idle.stop_searching());
        assert_eq!(idle.notify(), Some(2));
        assert!(idle.woken(2));
        assert!(idle.stop_searching());
        assert_eq!(idle.notify(), None, "nobody sleeps");
    }

    #[test]
    fn a_hub_that_wakes_by_itself_takes_itself_off_the_sleepers() {
        let idle = Idle::new(2);
        assert!(idle.go_to_sleep(0, false));
        assert!(!idle.woken(0), "a timer, not a notify: not searching");
        assert_eq!(idle.notify(), None, "both are awake again");
        assert!(idle.go_to_sleep(1, false));
        assert_eq!(idle.notify(), Some(1));
    }

    #[test]
    fn an_idle_hub_sleeps_in_its_driver() {
        use std::sync::atomic::AtomicUsize as Count;
        use std::sync::Arc;
        use std::time::{Duration, Instant};

        use crate::driver::{Driver, ThreadParker};

        /// The default driver, counting the parks that may wait (a busy
        /// hub also parks with a zero timeout, to poll).
        struct Counting(ThreadParker, Arc<Count>);
        impl Driver for Counting {
            fn park(&self, timeout: Option<Duration>) {
                if timeout != Some(Duration::ZERO) {
                    self.1.fetch_add(1, Ordering::SeqCst);
                }
                self.0.park(timeout);
            }
            fn unpark(&self) {
                self.0.unpark();
            }
        }
        let parks: Vec<Arc<Count>> = (0..2).map(|_| Arc::new(Count::new(0))).collect();
        let counts = parks.clone();
        let rt = crate::Runtime::builder()
            .workers(2)
            .driver(move |i| Box::new(Counting(ThreadParker::new(), counts[i].clone())))
            .build()
            .unwrap();
        assert_eq!(rt.block_on(|| 7), 7);
        let t = Instant::now();
        while parks.iter().any(|p| p.load(Ordering::SeqCst) == 0)
            && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            parks.iter().all(|p| p.load(Ordering::SeqCst) > 0),
            "a hub with nothing to do never slept"
        );
        rt.shutdown();
    }

    #[test]
    #[should_panic(expected = "hub count out of range")]
    fn no_hubs_is_refused() {
        let _ = Idle::new(0);
    }
}

/// The hub's side of the protocol: its sleep (`handoff.rs` holds the steps
/// other threads can see).
mod hub_side {
    use std::sync::atomic::Ordering;

    use crate::hub::Hub;

    impl Hub {
        /// Nothing to do: sleep in the driver until woken or the next timer.
        pub(crate) fn sleep(&self) {
            let shared = &self.shared;
            // Nothing runs here now (`watch.rs`): the last switch-in's id goes.
            shared.hubs[self.index]
                .counters
                .running
                .store(0, Ordering::Relaxed);
            // Give back the pages deep calls left in pooled stacks (pool.rs).
            self.pool.borrow_mut().trim_idle();
            let was_searching = self.searching.replace(false);
            let own = self.timers.borrow().next_deadline();
            let driver = &shared.handoff.ports[self.index].driver;
            let park = |timeout| {
                self.contain("driver park", || driver.park(timeout));
            };
            let searching = shared.handoff.sleep(self.index, was_searching, own, park);
            self.searching.set(searching);
        }
    }
}
