//! Loom models of the park state machine (`src/park.rs`).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p grove-core --test loom_park`;
//! see docs/verification.md for bounds and the weakened builds that must fail.
#![cfg(loom)]

use grove_core::park::{Begin, Commit, Gen, How, Mode, Notify, ParkState, Wake};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// A green thread's saved context: written by its hub after the switch,
/// read by whoever resumes it. Loom reports any read not ordered after the
/// write, i.e. a resume before the green thread has left its stack.
struct Saved(UnsafeCell<usize>);

impl Saved {
    fn new() -> Self {
        Saved(UnsafeCell::new(0))
    }
    fn save(&self, v: usize) {
        // SAFETY: only the committing hub writes, before publishing the park.
        self.0.with_mut(|p| unsafe { *p = v });
    }
    fn resume(&self, expect: usize) {
        // SAFETY: loom checks that this read is ordered after `save`.
        let v = self.0.with(|p| unsafe { *p });
        assert_eq!(v, expect, "resumed before the context was saved");
    }
}

/// The green thread and its hub: begin, switch (save), commit. Returns
/// true if it resumed itself (returned at once, or commit said Resume).
fn park_and_commit(state: &ParkState, saved: &Saved, mode: Mode) -> bool {
    match state.begin(mode, How::Switch) {
        Begin::Ready(_) => true,
        Begin::Parking(_) => {
            saved.save(1);
            match state.commit() {
                Commit::Resume => {
                    saved.resume(1);
                    true
                }
                Commit::Parked => false,
            }
        }
    }
}

/// A thread that tries one wake (`unpark`, `kill`, or a timer) and, if it
/// won the duty to resume the green thread, resumes it and counts it.
fn racer(
    state: &Arc<ParkState>,
    saved: &Arc<Saved>,
    resumes: &Arc<AtomicUsize>,
    wake: impl FnOnce(&ParkState) -> Notify + 'static,
) -> thread::JoinHandle<()> {
    let (s, v, r) = (state.clone(), saved.clone(), resumes.clone());
    thread::spawn(move || {
        if wake(&s) == Notify::Schedule {
            v.resume(1);
            r.fetch_add(1, Ordering::SeqCst);
        }
    })
}

/// Model 1: an unpark racing with every step of a park, including the window
/// in which the green thread is still switching off its stack. Exactly one
/// resume, never before the context is saved.
#[test]
fn unpark_races_park_resumes_exactly_once() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));

        let unparker = racer(&state, &saved, &resumes, ParkState::unpark);
        if park_and_commit(&state, &saved, Mode::Park) {
            resumes.fetch_add(1, Ordering::SeqCst);
        }
        unparker.join().unwrap();
        assert_eq!(
            resumes.load(Ordering::SeqCst),
            1,
            "not resumed exactly once"
        );
    });
}

/// Model 2: two unparks from two hubs racing with one park: scheduled once.
#[test]
fn two_unparks_schedule_once() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));
        let unparkers: Vec<_> = (0..2)
            .map(|_| racer(&state, &saved, &resumes, ParkState::unpark))
            .collect();
        if park_and_commit(&state, &saved, Mode::Park) {
            resumes.fetch_add(1, Ordering::SeqCst);
        }
        for u in unparkers {
            u.join().unwrap();
        }
        assert_eq!(
            resumes.load(Ordering::SeqCst),
            1,
            "not scheduled exactly once"
        );
    });
}

/// Model 3a: a kill racing with an unpark: scheduled once, and the kill is
/// either reported by the resumed park or still pending, never lost.
#[test]
fn kill_races_unpark_schedules_once_and_keeps_the_kill() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));
        let killer = racer(&state, &saved, &resumes, ParkState::kill);
        let unparker = racer(&state, &saved, &resumes, ParkState::unpark);
        // Parked with Sleep, so only the kill could end it... or a Park that
        // either may end. Use Park: both racers can win.
        let mut reported = false;
        match state.begin(Mode::Park, How::Switch) {
            Begin::Ready(w) => {
                resumes.fetch_add(1, Ordering::SeqCst);
                reported = w == Wake::Killed;
            }
            Begin::Parking(_) => {
                saved.save(1);
                if state.commit() == Commit::Resume {
                    saved.resume(1);
                    resumes.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        killer.join().unwrap();
        unparker.join().unwrap();
        assert_eq!(
            resumes.load(Ordering::SeqCst),
            1,
            "not scheduled exactly once"
        );
        // Whoever resumed it: the green thread now runs and looks at why.
        if !reported && state.is_running() {
            reported = state.resumed(false) == Wake::Killed;
        }
        assert!(
            reported || state.kill_pending(),
            "the kill was neither delivered nor left pending"
        );
    });
}

/// Begins a park on a fresh (or running) state; returns its generation.
fn begin_parking(state: &ParkState) -> Gen {
    match state.begin(Mode::Park, How::Switch) {
        Begin::Parking(g) => g,
        Begin::Ready(w) => panic!("a park with nothing pending returned {w:?}"),
    }
}

/// Two racers: the timer of the park of generation `gen`, and an unpark.
fn timer_and_unpark(
    state: &Arc<ParkState>,
    saved: &Arc<Saved>,
    resumes: &Arc<AtomicUsize>,
    gen: Gen,
) -> [thread::JoinHandle<()>; 2] {
    [
        racer(state, saved, resumes, move |s| s.timeout(gen)),
        racer(state, saved, resumes, ParkState::unpark),
    ]
}

/// Joins the racers and checks that the green thread resumed exactly once.
fn joined_resumed_once(racers: [thread::JoinHandle<()>; 2], resumes: &AtomicUsize) {
    for r in racers {
        r.join().unwrap();
    }
    assert_eq!(
        resumes.load(Ordering::SeqCst),
        1,
        "not resumed exactly once"
    );
}

/// Model 5: `park_timeout`'s deadline racing with an unpark: one resume and
/// exactly one outcome. If it timed out, the unpark's token is kept for the
/// next park; if the unpark ended it, no token is left behind.
#[test]
fn timeout_races_unpark_one_outcome() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));
        let gen = begin_parking(&state);
        let racers = timer_and_unpark(&state, &saved, &resumes, gen);
        saved.save(1);
        if state.commit() == Commit::Resume {
            saved.resume(1);
            resumes.fetch_add(1, Ordering::SeqCst);
        }
        joined_resumed_once(racers, &resumes);
        let outcome = state.resumed(false);
        let token_left = state.begin(Mode::Park, How::Switch) == Begin::Ready(Wake::Unparked);
        match outcome {
            Wake::TimedOut => assert!(token_left, "timed out and lost the unpark's token"),
            Wake::Unparked => assert!(!token_left, "both the unpark and a token"),
            Wake::Killed => panic!("nobody killed it"),
        }
    });
}

/// Model 5b: a timer armed by an earlier park (which an unpark ended
/// first) fires late, racing with the next park and its unpark: it must not
/// end that park. One resume, and the park reports the unpark.
#[test]
fn a_stale_timer_never_ends_a_later_park() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));
        // The first park, with a timer, ended by an unpark.
        let stale = begin_parking(&state);
        assert_eq!(state.commit(), Commit::Parked);
        assert_eq!(state.unpark(), Notify::Schedule);
        assert_eq!(state.resumed(false), Wake::Unparked);
        // Its timer fires while the next park begins; an unpark ends that one.
        let racers = timer_and_unpark(&state, &saved, &resumes, stale);
        if park_and_commit(&state, &saved, Mode::Park) {
            resumes.fetch_add(1, Ordering::SeqCst);
        }
        joined_resumed_once(racers, &resumes);
        assert_eq!(
            state.resumed(false),
            Wake::Unparked,
            "a stale timer ended a later park"
        );
    });
}

/// Model 5c: `park_timeout`'s deadline racing with a kill: one resume, and
/// the kill is what the park reports, whichever of the two ended it (a kill
/// is never lost to a timeout).
#[test]
fn timeout_races_kill_one_resume_and_the_kill_wins() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let saved = Arc::new(Saved::new());
        let resumes = Arc::new(AtomicUsize::new(0));
        let gen = begin_parking(&state);
        let racers = [
            racer(&state, &saved, &resumes, move |s| s.timeout(gen)),
            racer(&state, &saved, &resumes, ParkState::kill),
        ];
        saved.save(1);
        if state.commit() == Commit::Resume {
            saved.resume(1);
            resumes.fetch_add(1, Ordering::SeqCst);
        }
        joined_resumed_once(racers, &resumes);
        assert_eq!(
            state.resumed(false),
            Wake::Killed,
            "a kill racing a timeout was lost"
        );
    });
}

/// Model 1b: in place (an OS thread, or an unwinding green thread): the
/// winner of `PARKED -> RUNNING` must be told to wake the OS thread, once.
#[test]
fn in_place_park_is_woken_once() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let wakes = Arc::new(AtomicUsize::new(0));
        let (s, w) = (state.clone(), wakes.clone());
        let unparker = thread::spawn(move || {
            if s.unpark() == Notify::WakeInPlace {
                w.fetch_add(1, Ordering::SeqCst);
            }
        });
        let parked = matches!(state.begin(Mode::Park, How::InPlace), Begin::Parking(_));
        unparker.join().unwrap();
        if parked {
            assert!(state.is_running(), "unparked but still parked");
            assert_eq!(wakes.load(Ordering::SeqCst), 1, "not woken exactly once");
        } else {
            assert_eq!(wakes.load(Ordering::SeqCst), 0, "woken without a park");
        }
    });
}
