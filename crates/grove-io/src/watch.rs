//! How readiness on a busy hub's reactor is noticed: one watch thread per
//! runtime, woken by reactors with events, never by the number of hubs.
//!
//! # Why
//!
//! A hub takes its own events when it sleeps in its poller, and, while
//! busy, at its quick looks (`Core::quick_look`). A hub that computes
//! without reaching a blocking point does neither. The green threads waiting
//! on its descriptors are bound to it and wait for it anyway, but one that
//! allows migration could run elsewhere, and a woken green thread should at
//! least be queued (and counted in reports) while its hub is busy. So
//! someone else must notice events on a busy hub's reactor.
//!
//! # The watch set and the watch thread
//!
//! A runtime's reactors share one *watch set* ([`Group`]): an epoll set in
//! which every hub's poller is registered one-shot. It becomes readable when
//! some reactor has events. One OS thread per runtime, the *watch thread*,
//! sleeps in it. A hub sleeps in its own poller only, so no sleeping hub is
//! woken by another hub's events: an event wakes the hub that owns the
//! descriptor (if it sleeps) and, at most, the watch thread.
//!
//! When a reactor reports, the watch thread takes its events only if its
//! hub is awake (`Core::parked` is false) and has not looked at its reactor
//! for [`STALE`]: a hub that sleeps wakes for its events itself, and one
//! that looks often (spinning, or switching green threads) takes them at its
//! next look. Taking them for such a hub would only forward its green
//! threads to it with one more wakeup. The watch thread wakes their
//! waiters: a started green thread goes to its home hub's inbox, a migrating
//! one to whichever hub is free.
//!
//! # Re-arming, damped
//!
//! A one-shot registration reports once and then stays silent until it is
//! re-armed. The watch thread re-arms a registration [`REARM_AFTER`] after
//! its report, whatever it did with it. So the watch thread wakes at most
//! about twice per `REARM_AFTER` per reactor with events (the report, the
//! re-arm), however busy that reactor is, and events behind a hub that
//! computes are noticed within about `STALE + REARM_AFTER`. Nothing is
//! lost meanwhile: events stay in the hub's poller until someone polls it,
//! and re-arming makes the kernel report a poller that is still readable.
//! Only the watch thread arms and re-arms (under the watch list's mutex),
//! so a hub's sleep costs no system call for it.
//!
//! The watch thread never consumes a hub's wakeup: the hub sleeps in the
//! same poller its `unpark` notifies, and a notification taken by the
//! watch thread just before the hub's sleep would be a lost wakeup, so it
//! looks with `Poller::look_leaving_notify`. A pending notification keeps
//! the poller readable, so a busy hub with one pending makes the watch
//! thread look at most once per `REARM_AFTER`, until the hub takes it.
//!
//! `parked` and `Core::last_look` are hints, read relaxed: a stale read
//! costs one event taken by the watch thread instead of its hub, or taken a
//! look later, never a lost one.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::epoll::{Event, Events, PollMode, Poller};
use crate::reactor::{lock, Core};

/// A hub that has not looked at its reactor for this long, while awake, is
/// busy: the watch thread takes its events.
pub(crate) const STALE: Duration = Duration::from_millis(1);
/// A registration is re-armed this long after it reported.
pub(crate) const REARM_AFTER: Duration = Duration::from_millis(1);

/// The reactors of one runtime, and the watch set its watch thread sleeps
/// in (see the module docs).
pub(crate) struct Group {
    /// `None` if its poller could not be created (out of descriptors): then
    /// a busy hub's events wait for its own look.
    set: Option<Poller>,
    watches: Mutex<Vec<Watch>>,
    /// Hubs registered now; the watch thread stops when it falls to zero.
    members: AtomicUsize,
    /// The watch thread has been started (or could not be).
    started: AtomicBool,
    stop: AtomicBool,
}

/// A hub's reactor as registered in the watch set.
struct Watch {
    hub: usize,
    core: Arc<Core>,
    /// Its one-shot registration is armed (it has not reported since it
    /// was last armed).
    armed: bool,
}

impl Group {
    pub(crate) fn new() -> Group {
        Group {
            set: Poller::new().ok(),
            watches: Mutex::new(Vec::new()),
            members: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }
    }

    /// Registers hub `hub`'s reactor in the watch set (on the hub's thread,
    /// when it starts), and starts the watch thread with the first hub.
    pub(crate) fn join(self: &Arc<Self>, hub: usize, core: &Arc<Core>) {
        let Some(set) = &self.set else { return };
        let mut watches = lock(&self.watches);
        if watches.iter().any(|w| w.hub == hub) {
            return;
        }
        // SAFETY: the watch keeps `core` (and so its poller's descriptor)
        // alive until `leave` deletes the registration.
        let added = unsafe {
            set.add_with_mode(
                core.poller.as_raw_fd(),
                Event::readable(hub),
                PollMode::Oneshot,
            )
        };
        if added.is_err() {
            return;
        }
        watches.push(Watch {
            hub,
            core: core.clone(),
            armed: true,
        });
        drop(watches);
        self.members.fetch_add(1, Ordering::SeqCst);
        if !self.started.swap(true, Ordering::SeqCst) {
            let group = self.clone();
            let spawned = std::thread::Builder::new()
                .name("grove-io-watch".into())
                .spawn(move || group.run());
            if let Err(e) = spawned {
                eprintln!(
                    "grove: could not start the reactor watch thread ({e}); \
                     readiness on a busy hub waits until that hub looks"
                );
            }
        }
    }

    /// Deletes hub `hub`'s registration (the hub stops, or its reactor is
    /// dropped); the last one to leave stops the watch thread.
    pub(crate) fn leave(&self, hub: usize) {
        let Some(set) = &self.set else { return };
        let mut watches = lock(&self.watches);
        let Some(at) = watches.iter().position(|w| w.hub == hub) else {
            return;
        };
        let w = watches.remove(at);
        // SAFETY: `w.core` is alive (held here), so its descriptor is open.
        let fd = unsafe { BorrowedFd::borrow_raw(w.core.poller.as_raw_fd()) };
        let _ = set.delete(fd);
        drop(watches);
        if self.members.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.stop.store(true, Ordering::SeqCst);
            let _ = set.notify();
        }
    }

    /// The watch thread: sleeps in the watch set until a reactor reports or
    /// a re-arm is due; takes the events of busy hubs; re-arms.
    fn run(self: Arc<Self>) {
        let Some(set) = &self.set else { return };
        let mut events = Events::new();
        // Registrations that reported, with when to re-arm them (in order).
        let mut due: VecDeque<(Instant, usize)> = VecDeque::new();
        while !self.stop.load(Ordering::SeqCst) {
            let timeout = due
                .front()
                .map(|(at, _)| at.saturating_duration_since(Instant::now()));
            if set.wait(&mut events, timeout).is_err() {
                // Out of memory in the kernel, say: do not spin on it.
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            let now = Instant::now();
            let busy: Vec<Arc<Core>> = {
                let mut watches = lock(&self.watches);
                events
                    .iter()
                    .filter_map(|ev| {
                        let w = watches.iter_mut().find(|w| w.hub == ev.key)?;
                        w.armed = false; // a one-shot report disarms it
                        due.push_back((now + REARM_AFTER, w.hub));
                        let c = &w.core;
                        let busy = !c.parked.load(Ordering::Relaxed) && !c.looked_within(STALE);
                        busy.then(|| c.clone())
                    })
                    .collect()
            };
            for core in busy {
                core.poll_for_owner();
            }
            let now = Instant::now();
            let mut watches = lock(&self.watches);
            while let Some(&(at, hub)) = due.front() {
                if at > now {
                    break;
                }
                due.pop_front();
                if let Some(w) = watches.iter_mut().find(|w| w.hub == hub && !w.armed) {
                    w.armed = arm(set, w);
                    if !w.armed {
                        due.push_back((now + REARM_AFTER, hub)); // try again
                    }
                }
            }
        }
    }
}

/// Re-arms `w`'s one-shot registration; returns whether it is armed.
fn arm(set: &Poller, w: &Watch) -> bool {
    // SAFETY: `w.core` is alive (the watch holds it), so its descriptor is
    // open.
    let fd = unsafe { BorrowedFd::borrow_raw(w.core.poller.as_raw_fd()) };
    set.modify_with_mode(fd, Event::readable(w.hub), PollMode::Oneshot)
        .is_ok()
}
