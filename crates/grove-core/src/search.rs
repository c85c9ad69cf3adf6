//! An idle hub looking for work before it sleeps: stealing and spinning.
//!
//! A hub with nothing in its own queues *searches*: it takes from the
//! injector and its inbox, then steals half of another hub's stealable queue
//! (`steal_batch_and_pop`), starting at a random victim, for up to the
//! runtime's spin time. Only unbound green threads are ever in a stealable
//! queue (not started yet, or migrating), so stealing never moves a started
//! bound green thread. At most half the hubs search at once (`idle.rs`); a
//! hub not allowed to search still watches its own inbox for the spin time,
//! so bound work aimed at it (a ping-pong between two hubs) does not pay an
//! OS wakeup per hand-off.
//!
//! Between two looks a spinning hub pauses with [`SPIN_BATCH`] spin hints
//! for its first [`YIELD_AFTER`], then with `sched_yield`, an active spin and
//! then a passive one, as Go's runtime locks do.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::Hub;
use crate::metrics::Counters;
use crate::task::Task;

/// How long a spinning hub pauses with spin hints before it pauses with
/// `sched_yield` instead. On a core with nothing else to run the yield
/// returns at once, so the hub still sees work within a microsecond or so;
/// on a core shared with other threads (a client on the same machine, another
/// program) it lets them run instead of burning the rest of the spin.
pub(crate) const YIELD_AFTER: Duration = Duration::from_micros(5);

/// `spin_loop` hints between two looks at the queues while a hub spins
/// before sleeping: few, so that work handed to a spinning hub is seen
/// within a fraction of a microsecond (a `pause` can take tens of cycles).
pub(crate) const SPIN_BATCH: u32 = 2;

/// How often a spinning hub lets its driver hand over ready I/O
/// ([`Driver::poll`](crate::Driver::poll)): at the start of the spin, then
/// every this long.
const LOOK_EVERY: Duration = Duration::from_micros(5);

/// What a spinning hub's periodic look found.
enum Look {
    /// Work woken on this hub.
    Found(Arc<Task>),
    /// A timer is due: stop spinning so the hub loop fires it.
    TimerDue,
    Nothing,
}

/// One pause of a spin that has lasted `spun`.
fn spin_pause(spun: Duration) {
    if spun < YIELD_AFTER {
        for _ in 0..SPIN_BATCH {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

impl Hub {
    /// Looks for work on other hubs for up to the spin time.
    pub(crate) fn search(&self) -> Option<Arc<Task>> {
        let shared = &self.shared;
        if !self.searching.get() {
            if !shared.handoff.idle.start_searching() {
                return self.watch_inbox();
            }
            self.searching.set(true);
        }
        let start = Instant::now();
        let mut next_look = Duration::ZERO;
        loop {
            if let Some(t) = self.steal_round() {
                return Some(t);
            }
            let spun = start.elapsed();
            match self.look_around(spun, &mut next_look) {
                Look::Found(t) => return Some(t),
                Look::TimerDue => return None, // the hub loop fires it
                Look::Nothing => {}
            }
            if shared.handoff.stopping() || spun >= shared.spin {
                return None;
            }
            spin_pause(spun);
        }
    }

    /// Whether a timer this hub fires (its own, or the runtime's shared
    /// ones) is due: the spin ends so that the hub loop fires it, instead
    /// of a short sleep waiting out the whole spin.
    fn timer_due(&self) -> bool {
        let own = self.timers.borrow().next_deadline();
        let shared = self.shared.handoff.timers.due_hint();
        let now = Instant::now();
        own.is_some_and(|d| d <= now) || shared.is_some_and(|d| d <= now)
    }

    /// While it spins: once `spun` reaches `next_look`, lets the driver hand
    /// over what became ready (I/O on this hub's reactor) and takes what
    /// that woke here, or stops the spin for a due timer. Every
    /// [`LOOK_EVERY`] of the spin, the first at once.
    fn look_around(&self, spun: Duration, next_look: &mut Duration) -> Look {
        if spun < *next_look {
            return Look::Nothing;
        }
        *next_look = spun + LOOK_EVERY;
        self.shared.handoff.ports[self.index].driver.poll();
        match self.next_task(self.tick.get()) {
            Some(t) => Look::Found(t),
            None if self.timer_due() => Look::TimerDue,
            None => Look::Nothing,
        }
    }

    /// Not allowed to search (enough hubs do): still spin for the spin time on
    /// this hub's own inbox, where work aimed at it arrives. Without this, two
    /// hubs that go idle at the same moment leave one of them asleep, and a
    /// ping-pong between green threads bound to two hubs pays an OS wakeup on
    /// every hand-off.
    fn watch_inbox(&self) -> Option<Arc<Task>> {
        let shared = &self.shared;
        let inbox = &shared.handoff.ports[self.index].inbox;
        let start = Instant::now();
        let mut next_look = Duration::ZERO;
        loop {
            if !inbox.is_empty() {
                let mut bound = self.queues.bound.borrow_mut();
                inbox.drain_into(&mut bound);
                if let Some(t) = bound.pop_front() {
                    return Some(t);
                }
            }
            let spun = start.elapsed();
            match self.look_around(spun, &mut next_look) {
                Look::Found(t) => return Some(t),
                Look::TimerDue => return None, // the hub loop fires it
                Look::Nothing => {}
            }
            if shared.handoff.stopping() || spun >= shared.spin {
                return None;
            }
            spin_pause(spun);
        }
    }

    /// A searching hub found work (by searching or otherwise): it stops
    /// searching, and the last searcher wakes another hub, since work tends
    /// to come in bursts and producers held back while it searched.
    pub(crate) fn stop_searching(&self) {
        self.shared
            .handoff
            .found_work(self.searching.replace(false));
    }

    fn steal_round(&self) -> Option<Arc<Task>> {
        let tick = self.tick.get();
        if let Some(t) = self.pop_remote(tick % 2 == 0) {
            return Some(t);
        }
        let start = (self.next_random() % self.shared.hubs.len() as u64) as usize;
        let (t, moved) = self
            .shared
            .handoff
            .steal(self.index, start, &self.queues.local)?;
        Counters::bump(&self.counters().stolen, moved as u64 + 1);
        Some(t)
    }

    fn next_random(&self) -> u64 {
        // xorshift64*
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}
