//! The park state machine: one atomic word per parkable thread of control.
//!
//! Every green thread (and every plain OS thread that blocks through grove)
//! owns one [`ParkState`]. It decides, for each park, who resumes the parked
//! party and when, so that a parked green thread is resumed exactly once, never
//! before it has fully left its stack, and no wakeup is lost. It knows nothing
//! about stacks or queues: callers act on what its methods return.
//!
//! # Bit layout
//!
//! ```text
//!  63 ......... 8   7          6          5        4          3           2          1 0
//! [ generation  | SHIELDED | IN_PLACE | KILLED | SLEEPING | TIMED_OUT | NOTIFIED | PHASE ]
//! ```
//!
//! * `PHASE` is `RUNNING` (0), `PARKING` (1) or `PARKED` (2).
//!   - `RUNNING`: the owner is running, or queued to run. Nobody may resume it.
//!   - `PARKING`: the owner has decided to park and is switching off its stack.
//!     Its saved context does not exist yet, so nobody may resume it; a wake
//!     that arrives now is recorded in a bit and acted on by [`commit`].
//!   - `PARKED`: the owner is fully off its stack (or, in place, blocked on an
//!     OS-level parker). Whoever moves the word from `PARKED` to `RUNNING` owns
//!     the duty of resuming it, and that transition is a CAS, so there is
//!     exactly one such party.
//! * `NOTIFIED` is std's unpark token: set by [`unpark`] when it cannot wake
//!   the owner directly; consumed by the next park.
//! * `TIMED_OUT` records that the timer of the current generation fired.
//! * `SLEEPING` marks a park that ignores unpark tokens (`grove::sleep`): only
//!   its timer or a kill ends it; an unpark meanwhile leaves its token set.
//! * `KILLED` is a pending kill request, delivered at the next blocking point.
//! * `IN_PLACE` marks a park that blocks its OS thread instead of switching to
//!   the hub (plain OS threads). The party that ends such a park wakes the OS
//!   thread instead of scheduling. An in-place park is also shielded.
//! * `SHIELDED` marks a park that a kill neither ends nor is delivered to: a
//!   green thread that blocks while it is unwinding already (a destructor
//!   that waits during a panic or a kill), where raising `GreenletExit` would
//!   be a panic in a destructor during cleanup, which aborts the process. The
//!   kill stays pending for the next unshielded blocking point.
//! * `generation` counts parks. A timer carries the generation of the park
//!   that armed it, so a stale timer can never end a later park.
//!
//! # Transitions
//!
//! | method | by | from | to | returns |
//! |---|---|---|---|---|
//! | [`begin`] (not shielded) | owner | RUNNING + KILLED | RUNNING | `Ready(Killed)` |
//! | [`begin`] | owner | RUNNING + NOTIFIED (not sleep) | RUNNING | `Ready(Unparked)` |
//! | [`begin`] | owner | RUNNING | PARKING, gen+1 | `Parking(gen)` |
//! | [`begin`] (shielded) | owner | RUNNING | PARKING + SHIELDED, gen+1 | `Parking(gen)` |
//! | [`begin`] (in place) | owner | RUNNING | PARKED + IN_PLACE + SHIELDED, gen+1 | `Parking(gen)` |
//! | [`commit`] | hub, after the switch | PARKING + a pending wake | RUNNING | `Resume` |
//! | [`commit`] | hub, after the switch | PARKING | PARKED | `Parked` |
//! | [`unpark`] | anyone | PARKED, not SLEEPING | RUNNING | `Schedule` / `WakeInPlace` |
//! | [`unpark`] | anyone | otherwise | + NOTIFIED | `Nothing` |
//! | [`timeout`] | timer | PARKED, same gen | RUNNING + TIMED_OUT | `Schedule` / `WakeInPlace` |
//! | [`timeout`] | timer | PARKING, same gen | + TIMED_OUT | `Nothing` |
//! | [`timeout`] | timer | other gen, or RUNNING | unchanged | `Nothing` |
//! | [`kill`] | anyone | PARKED, not SHIELDED | RUNNING + KILLED | `Schedule` |
//! | [`kill`] | anyone | otherwise | + KILLED | `Nothing` |
//! | [`unshield`] | the owner's hub | PARKED + SHIELDED, not IN_PLACE | RUNNING | `Schedule` |
//! | [`unshield`] | the owner's hub | otherwise | unchanged | `Nothing` |
//! | [`resumed`] | owner, once running | RUNNING | clears TIMED_OUT (and KILLED unless shielded) | the reason |
//!
//! Every move back to `RUNNING` clears `SLEEPING`, `IN_PLACE` and `SHIELDED`:
//! they describe one park only.
//!
//! A "pending wake" for [`commit`] is `KILLED` (unless `SHIELDED`),
//! `TIMED_OUT`, or `NOTIFIED` without `SLEEPING`. When several arrived during the switch, one ends the
//! park and the others are not lost: a kill wins and leaves a token for later;
//! otherwise a token wins over the timer (it is consumed, `TIMED_OUT` is
//! cleared, and the park reports an unpark). Once `PARKED`, the same holds by
//! construction: whichever wake wins the CAS ends the park, and a later unpark
//! leaves a token while a later timer does nothing.
//!
//! # Orderings
//!
//! Every read-modify-write is `AcqRel` (loads before a CAS are `Acquire`):
//! * [`commit`]'s `PARKING -> PARKED` releases the context the hub saved for
//!   the owner; the `PARKED -> RUNNING` CAS in [`unpark`], [`timeout`] or
//!   [`kill`] acquires it, so the party that resumes the owner sees it.
//! * [`unpark`] releases whatever the unparker wrote before calling it; the
//!   owner's [`begin`] (consuming a token) or [`resumed`] acquires it. This
//!   is std's guarantee for `Thread::unpark` / `park`.
//! * [`begin`] releases what the owner wrote before parking (the hub it
//!   bound itself to, a timer it armed); the winning CAS acquires it.
//!
//! Only the owner moves the phase out of `RUNNING`, and only [`commit`] moves
//! it out of `PARKING`; all others only set bits or win the single
//! `PARKED -> RUNNING` CAS. These two facts are what the loom models check.
//!
//! # Weakened builds
//!
//! To show that each loom model can fail, a build with
//! `--cfg grove_loom_weaken="…"` breaks one rule on purpose:
//! `commit_relaxed` makes [`commit`]'s CAS `Relaxed` (the saved context is no
//! longer published); `unpark_blind`, `kill_blind` and `timeout_blind` replace
//! that method's CAS with a load and a store (two parties can both win);
//! `take_kill_keeps` makes [`take_kill`](ParkState::take_kill) report a kill
//! without clearing it (a kill delivered twice); `timeout_ignores_gen`
//! lets a timer end whatever park is current, not only the one that armed it;
//! `in_place_scheduled` tells the winner of an in-place park's wake to
//! schedule it like a green thread instead of waking its OS thread.
//! `scripts/loom-weakened.sh` runs each model against its weakened build and
//! expects loom to report the bug. Normal builds compile the strong path only.
//!
//! [`begin`]: ParkState::begin
//! [`commit`]: ParkState::commit
//! [`unpark`]: ParkState::unpark
//! [`timeout`]: ParkState::timeout
//! [`kill`]: ParkState::kill
//! [`resumed`]: ParkState::resumed
//! [`unshield`]: ParkState::unshield

use crate::sync::{AtomicUsize, Ordering};

const PHASE: usize = 0b11;
const RUNNING: usize = 0;
const PARKING: usize = 1;
const PARKED: usize = 2;
const NOTIFIED: usize = 1 << 2;
const TIMED_OUT: usize = 1 << 3;
const SLEEPING: usize = 1 << 4;
const KILLED: usize = 1 << 5;
const IN_PLACE: usize = 1 << 6;
const SHIELDED: usize = 1 << 7;
/// The bits that describe the current park only, cleared on its way out.
const PER_PARK: usize = PHASE | SLEEPING | IN_PLACE | SHIELDED;
const GEN_SHIFT: u32 = 8;
const GEN_ONE: usize = 1 << GEN_SHIFT;

const COMMIT_SUCCESS: Ordering = if cfg!(grove_loom_weaken = "commit_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::AcqRel
};
const COMMIT_FAILURE: Ordering = if cfg!(grove_loom_weaken = "commit_relaxed") {
    Ordering::Relaxed
} else {
    Ordering::Acquire
};
const UNPARK_BLIND: bool = cfg!(grove_loom_weaken = "unpark_blind");
const KILL_BLIND: bool = cfg!(grove_loom_weaken = "kill_blind");
const TIMEOUT_BLIND: bool = cfg!(grove_loom_weaken = "timeout_blind");
const TAKE_KILL_KEEPS: bool = cfg!(grove_loom_weaken = "take_kill_keeps");
const TIMEOUT_IGNORES_GEN: bool = cfg!(grove_loom_weaken = "timeout_ignores_gen");
const IN_PLACE_SCHEDULED: bool = cfg!(grove_loom_weaken = "in_place_scheduled");

/// The generation of one park, carried by the timer that park armed.
pub type Gen = usize;

/// What kind of park [`ParkState::begin`] starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `park` / `park_timeout`: an unpark token ends it.
    Park,
    /// `sleep`: only the timer (or a kill) ends it; tokens stay set.
    Sleep,
}

/// Why a park ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// An unpark (or a spurious wake, which callers must tolerate).
    Unparked,
    /// The timer armed for this park fired.
    TimedOut,
    /// A kill request is pending: the caller must unwind.
    Killed,
}

/// How a park waits: what [`ParkState::begin`] is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// Switch off the stack to the hub; a kill ends the park.
    Switch,
    /// Switch off the stack; a kill neither ends the park nor is delivered
    /// (the owner is unwinding already).
    Shielded,
    /// Block the OS thread on its parker (plain OS threads); shielded too.
    InPlace,
}

/// The result of [`ParkState::begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// No park happens: return at once with this reason.
    Ready(Wake),
    /// The park started with this generation: arm a timer with it (if any),
    /// then switch off the stack (or wait in place).
    Parking(Gen),
}

/// The result of [`ParkState::commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commit {
    /// The owner is parked; a later wake will schedule it.
    Parked,
    /// A wake arrived during the switch: the committing hub resumes it.
    Resume,
}

/// What the caller of a wake method must now do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// Nothing: the wake was recorded, or had no effect.
    Nothing,
    /// The caller won `PARKED -> RUNNING`: put the green thread on a run queue.
    Schedule,
    /// The caller won `PARKED -> RUNNING` for an in-place park: wake its OS thread.
    WakeInPlace,
}

/// One park state word. See the module documentation for the protocol.
#[derive(Debug)]
pub struct ParkState {
    word: AtomicUsize,
}

impl Default for ParkState {
    fn default() -> Self {
        Self::new()
    }
}

impl ParkState {
    /// A state in `RUNNING`, with no token, generation 0.
    pub fn new() -> Self {
        ParkState {
            word: AtomicUsize::new(RUNNING),
        }
    }

    /// Owner: start a park. See the transition table.
    pub fn begin(&self, mode: Mode, how: How) -> Begin {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            debug_assert_eq!(cur & PHASE, RUNNING, "begin while not running");
            let (new, ready) = if cur & KILLED != 0 && how == How::Switch {
                (cur & !KILLED, Some(Wake::Killed))
            } else if mode == Mode::Park && cur & NOTIFIED != 0 {
                (cur & !NOTIFIED, Some(Wake::Unparked))
            } else {
                let gen_bits = (cur & !(GEN_ONE - 1)).wrapping_add(GEN_ONE);
                let phase = match how {
                    How::Switch => PARKING,
                    How::Shielded => PARKING | SHIELDED,
                    How::InPlace => PARKED | IN_PLACE | SHIELDED,
                };
                let sleep = if mode == Mode::Sleep { SLEEPING } else { 0 };
                (gen_bits | phase | sleep | (cur & (NOTIFIED | KILLED)), None)
            };
            match self
                .word
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return match ready {
                        Some(w) => Begin::Ready(w),
                        None => Begin::Parking(new >> GEN_SHIFT),
                    }
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Hub, after the owner has switched off its stack: finish the park.
    pub fn commit(&self) -> Commit {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            debug_assert_eq!(cur & PHASE, PARKING, "commit while not parking");
            let token = cur & NOTIFIED != 0 && cur & SLEEPING == 0;
            let killed = cur & KILLED != 0 && cur & SHIELDED == 0;
            let (new, result) = if killed {
                // The kill ends it; a token stays for later.
                ((cur & !PER_PARK) | RUNNING, Commit::Resume)
            } else if token {
                // The unpark ends it, even if the timer fired too: its token
                // is consumed and the park reports no timeout.
                (
                    (cur & !(PER_PARK | NOTIFIED | TIMED_OUT)) | RUNNING,
                    Commit::Resume,
                )
            } else if cur & TIMED_OUT != 0 {
                ((cur & !PER_PARK) | RUNNING, Commit::Resume)
            } else {
                ((cur & !PHASE) | PARKED, Commit::Parked)
            };
            match self
                .word
                .compare_exchange(cur, new, COMMIT_SUCCESS, COMMIT_FAILURE)
            {
                Ok(_) => return result,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Anyone: std's `unpark`. Wakes a parked owner or leaves a token.
    pub fn unpark(&self) -> Notify {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let wakes = cur & PHASE == PARKED && cur & SLEEPING == 0;
            let new = if wakes {
                (cur & !PER_PARK) | RUNNING
            } else {
                cur | NOTIFIED
            };
            match self.transition(cur, new, UNPARK_BLIND) {
                Ok(_) if wakes => return wake_kind(cur),
                Ok(_) => return Notify::Nothing,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Timer: the deadline of the park of generation `gen` has passed.
    pub fn timeout(&self, gen: Gen) -> Notify {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur >> GEN_SHIFT != gen & (usize::MAX >> GEN_SHIFT) && !TIMEOUT_IGNORES_GEN {
                return Notify::Nothing;
            }
            let (new, result) = match cur & PHASE {
                PARKED => ((cur & !PER_PARK) | RUNNING | TIMED_OUT, wake_kind(cur)),
                PARKING => (cur | TIMED_OUT, Notify::Nothing),
                _ => return Notify::Nothing,
            };
            match self.transition(cur, new, TIMEOUT_BLIND) {
                Ok(_) => return result,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Anyone: request a kill, delivered at the owner's next blocking point.
    ///
    /// A shielded park (its owner is unwinding already, or is an OS thread,
    /// which cannot be killed) is left alone: the kill only records its bit.
    pub fn kill(&self) -> Notify {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let wakes = cur & PHASE == PARKED && cur & SHIELDED == 0;
            let new = if wakes {
                (cur & !PER_PARK) | RUNNING | KILLED
            } else {
                cur | KILLED
            };
            match self.transition(cur, new, KILL_BLIND) {
                Ok(_) if wakes => return Notify::Schedule,
                Ok(_) => return Notify::Nothing,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The owner's hub: end a shielded park early, as a spurious wake (the
    /// owner reports `Unparked` and a pending kill stays pending), so that
    /// the owner looks again at whether it must still be shielded. Used when
    /// the hub finds that none of its green threads is unwinding any more.
    pub fn unshield(&self) -> Notify {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur & PHASE != PARKED || cur & SHIELDED == 0 || cur & IN_PLACE != 0 {
                return Notify::Nothing;
            }
            match self.transition(cur, (cur & !PER_PARK) | RUNNING, false) {
                Ok(_) => return Notify::Schedule,
                Err(actual) => cur = actual,
            }
        }
    }

    /// `cur -> new` as one CAS; `blind` (weakened builds only) checks and
    /// stores in two steps, so that a loom model can show the race it allows.
    fn transition(&self, cur: usize, new: usize, blind: bool) -> Result<usize, usize> {
        if blind {
            let actual = self.word.load(Ordering::Acquire);
            if actual != cur {
                return Err(actual);
            }
            self.word.store(new, Ordering::Release);
            return Ok(cur);
        }
        self.word
            .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
    }

    /// Owner, once resumed (phase is `RUNNING` again): why did the park end?
    ///
    /// Clears `TIMED_OUT`, and `KILLED` unless the park was `shielded` (a
    /// shielded park never delivers a kill: it stays pending).
    pub fn resumed(&self, shielded: bool) -> Wake {
        let clear = if shielded {
            TIMED_OUT
        } else {
            TIMED_OUT | KILLED
        };
        let prev = self.word.fetch_and(!clear, Ordering::AcqRel);
        debug_assert_eq!(prev & PHASE, RUNNING, "resumed while parked");
        if !shielded && prev & KILLED != 0 {
            Wake::Killed
        } else if prev & TIMED_OUT != 0 {
            Wake::TimedOut
        } else {
            Wake::Unparked
        }
    }

    /// Whether the owner's phase is `RUNNING` (its park, if any, has ended).
    pub fn is_running(&self) -> bool {
        self.word.load(Ordering::Acquire) & PHASE == RUNNING
    }

    /// Owner: take a pending kill request, if any (used at `yield_now` and
    /// before a green thread's first run).
    pub fn take_kill(&self) -> bool {
        if TAKE_KILL_KEEPS {
            return self.word.load(Ordering::Acquire) & KILLED != 0;
        }
        self.word.fetch_and(!KILLED, Ordering::AcqRel) & KILLED != 0
    }

    /// Whether a kill request is pending (not yet delivered). A snapshot:
    /// the owner may take it at any moment.
    pub fn kill_pending(&self) -> bool {
        self.word.load(Ordering::Acquire) & KILLED != 0
    }

    /// Whether the timer armed for generation `gen` could still end a park:
    /// the owner is parking or parked in that generation. Used to drop stale
    /// timers.
    pub fn is_waiting_in(&self, gen: Gen) -> bool {
        let cur = self.word.load(Ordering::Acquire);
        cur >> GEN_SHIFT == gen & (usize::MAX >> GEN_SHIFT) && cur & PHASE != RUNNING
    }
}

fn wake_kind(prev: usize) -> Notify {
    if prev & IN_PLACE != 0 && !IN_PLACE_SCHEDULED {
        Notify::WakeInPlace
    } else {
        Notify::Schedule
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn parking(s: &ParkState, mode: Mode) -> Gen {
        match s.begin(mode, How::Switch) {
            Begin::Parking(g) => g,
            other => panic!("expected a park, got {other:?}"),
        }
    }

    #[test]
    fn token_before_park_is_not_lost() {
        let s = ParkState::new();
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(
            s.begin(Mode::Park, How::Switch),
            Begin::Ready(Wake::Unparked)
        );
        // The token was consumed: the next park really parks.
        parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::Unparked);
    }

    #[test]
    fn unpark_during_switch_is_resumed_by_commit() {
        let s = ParkState::new();
        parking(&s, Mode::Park);
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Resume);
        assert_eq!(s.resumed(false), Wake::Unparked);
        // The token was consumed by that park.
        parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
    }

    #[test]
    fn stale_timer_cannot_end_a_later_park() {
        let s = ParkState::new();
        let g1 = parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::Unparked);
        let g2 = parking(&s, Mode::Park);
        assert_ne!(g1, g2);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.timeout(g1), Notify::Nothing);
        assert_eq!(s.timeout(g2), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::TimedOut);
    }

    #[test]
    fn sleep_keeps_the_token_and_ignores_unpark() {
        let s = ParkState::new();
        let g = parking(&s, Mode::Sleep);
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(s.timeout(g), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::TimedOut);
        assert_eq!(
            s.begin(Mode::Park, How::Switch),
            Begin::Ready(Wake::Unparked)
        );
    }

    #[test]
    fn kill_wakes_a_sleeper_and_is_delivered_once() {
        let s = ParkState::new();
        parking(&s, Mode::Sleep);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.kill(), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::Killed);
        assert!(!s.kill_pending());
    }

    #[test]
    fn kill_during_switch_resumes_and_pending_kill_refuses_park() {
        let s = ParkState::new();
        parking(&s, Mode::Park);
        assert_eq!(s.kill(), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Resume);
        assert_eq!(s.resumed(false), Wake::Killed);
        s.kill();
        assert_eq!(
            s.begin(Mode::Sleep, How::Switch),
            Begin::Ready(Wake::Killed)
        );
    }

    #[test]
    fn in_place_parks_report_wake_in_place_and_ignore_kill() {
        let s = ParkState::new();
        let g = match s.begin(Mode::Park, How::InPlace) {
            Begin::Parking(g) => g,
            other => panic!("{other:?}"),
        };
        assert_eq!(s.kill(), Notify::Nothing);
        assert!(!s.is_running());
        assert_eq!(s.timeout(g), Notify::WakeInPlace);
        assert!(s.is_running());
        assert_eq!(s.resumed(true), Wake::TimedOut);
        assert!(s.kill_pending());
    }

    #[test]
    fn unpark_and_timer_both_during_switch_report_one_outcome() {
        // Found by the loom model `timeout_races_unpark_one_outcome`.
        let s = ParkState::new();
        let g = parking(&s, Mode::Park);
        assert_eq!(s.timeout(g), Notify::Nothing);
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Resume);
        assert_eq!(s.resumed(false), Wake::Unparked);
        // The token was consumed by that park, not left behind.
        parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
    }

    #[test]
    fn shielded_parks_keep_a_kill_pending_for_the_next_park() {
        let s = ParkState::new();
        s.kill();
        // A green thread unwinding already may park although a kill waits.
        assert!(matches!(
            s.begin(Mode::Park, How::Shielded),
            Begin::Parking(_)
        ));
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.kill(), Notify::Nothing);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(true), Wake::Unparked);
        // A kill during a shielded switch does not end it either.
        parking_shielded(&s);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(true), Wake::Unparked);
        // The hub ends a shielded park early: a spurious wake, kill kept.
        parking_shielded(&s);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unshield(), Notify::Schedule);
        assert_eq!(s.unshield(), Notify::Nothing, "once");
        assert_eq!(s.resumed(true), Wake::Unparked);
        // The first unshielded park gets it.
        assert_eq!(s.begin(Mode::Park, How::Switch), Begin::Ready(Wake::Killed));
        assert!(!s.kill_pending());
    }

    fn parking_shielded(s: &ParkState) {
        assert!(matches!(
            s.begin(Mode::Park, How::Shielded),
            Begin::Parking(_)
        ));
        assert_eq!(s.kill(), Notify::Nothing);
    }

    #[test]
    fn timer_during_switch_is_reported() {
        let s = ParkState::new();
        let g = parking(&s, Mode::Park);
        assert!(s.is_waiting_in(g));
        assert_eq!(s.timeout(g), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Resume);
        assert_eq!(s.resumed(false), Wake::TimedOut);
        assert!(!s.is_waiting_in(g));
    }

    #[test]
    fn a_pending_kill_is_taken_once() {
        let s = ParkState::new();
        assert!(!s.take_kill(), "nothing pending");
        assert_eq!(s.kill(), Notify::Nothing, "running: the kill waits");
        assert!(s.kill_pending());
        assert!(s.take_kill());
        assert!(!s.kill_pending());
        assert!(!s.take_kill(), "taken already");
        // A token left meanwhile is not a kill, and stays.
        s.kill();
        s.unpark();
        assert!(s.take_kill());
        assert_eq!(
            s.begin(Mode::Park, How::Switch),
            Begin::Ready(Wake::Unparked)
        );
    }

    #[test]
    fn unshield_ends_only_a_committed_shielded_park() {
        let s = ParkState::new();
        assert_eq!(s.unshield(), Notify::Nothing, "not parked");
        parking_shielded(&s); // leaves a kill pending
        assert_eq!(s.unshield(), Notify::Nothing, "still parking");
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unshield(), Notify::Schedule);
        assert_eq!(s.resumed(true), Wake::Unparked);
        assert!(s.kill_pending(), "the kill stays pending");
        assert!(s.take_kill());

        // A plain park is not unshielded.
        parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unshield(), Notify::Nothing);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::Unparked);

        // Nor is a park in place, shielded as it is.
        assert!(matches!(
            s.begin(Mode::Park, How::InPlace),
            Begin::Parking(_)
        ));
        assert_eq!(s.unshield(), Notify::Nothing);
    }

    #[test]
    fn a_token_or_a_kill_from_before_a_park_outlives_a_park_that_ignores_it() {
        // A token left while running survives a sleep (which ignores it).
        let s = ParkState::new();
        assert_eq!(s.unpark(), Notify::Nothing);
        let g = parking(&s, Mode::Sleep);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.timeout(g), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::TimedOut);
        assert_eq!(
            s.begin(Mode::Park, How::Switch),
            Begin::Ready(Wake::Unparked)
        );
        // A kill pending before a shielded park stays pending through it.
        s.kill();
        assert!(matches!(
            s.begin(Mode::Park, How::Shielded),
            Begin::Parking(_)
        ));
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.unpark(), Notify::Schedule);
        assert_eq!(s.resumed(true), Wake::Unparked);
        assert!(s.take_kill(), "still pending after the shielded park");
    }

    #[test]
    fn every_way_out_of_a_park_keeps_the_generation_growing() {
        let s = ParkState::new();
        // Ended by a token during the switch.
        let g1 = parking(&s, Mode::Park);
        assert_eq!(s.unpark(), Notify::Nothing);
        assert_eq!(s.commit(), Commit::Resume);
        assert_eq!(s.resumed(false), Wake::Unparked);
        // Ended by a kill while parked.
        let g2 = parking(&s, Mode::Park);
        assert_eq!(s.commit(), Commit::Parked);
        assert_eq!(s.kill(), Notify::Schedule);
        assert_eq!(s.resumed(false), Wake::Killed);
        let g3 = parking(&s, Mode::Park);
        assert!(g1 < g2 && g2 < g3, "generations {g1}, {g2}, {g3}");
        assert_eq!(s.commit(), Commit::Parked);
        // Timers of the earlier parks find nothing to end.
        assert_eq!(s.timeout(g1), Notify::Nothing);
        assert_eq!(s.timeout(g2), Notify::Nothing);
        assert_eq!(s.timeout(g3), Notify::Schedule);
    }
}
