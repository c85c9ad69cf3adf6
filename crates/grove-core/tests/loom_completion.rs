//! Loom models of the completion handshake (`src/completion.rs`): a joiner
//! racing with a finishing green thread, and a kill racing with completion.
#![cfg(loom)]

use grove_core::completion::{Completion, Unpark};
use grove_core::park::{Notify, ParkState};
use grove_core::{Driver, ThreadParker};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// A waiter in the model: a parker with a token, as `Thread` has.
#[derive(Clone)]
struct Waiter(Arc<ThreadParker>);

impl Unpark for Waiter {
    fn unpark(&self) {
        self.0.unpark();
    }
}

/// What `Greenlet::join` does (`Target::wait_until`): if not finished yet,
/// queue, park until finished and leave the list; then take. The first
/// check takes no lock, so the outcome reaches it only through `finished`'s
/// ordering.
fn join(c: &Completion<u64, Waiter>) -> u64 {
    if !c.is_finished() {
        let me = Waiter(Arc::new(ThreadParker::new()));
        if let Some(ticket) = c.add_waiter(me.clone()) {
            while !c.is_finished() {
                me.0.park(None);
            }
            c.remove_waiter(ticket);
        }
    }
    // SAFETY: this joiner is the only party that reads the outcome.
    unsafe { c.take() }.expect("finished without an outcome")
}

/// Model 6: join racing with completion. The joiner always wakes (else loom
/// reports a deadlock), gets the value exactly once, and never reads it
/// before it was written (else loom reports the data race).
#[test]
fn join_races_completion_hands_the_result_over_once() {
    loom::model(|| {
        let c: Arc<Completion<u64, Waiter>> = Arc::new(Completion::new());
        let c2 = c.clone();
        let finisher = thread::spawn(move || c2.complete(42));
        assert_eq!(join(&c), 42);
        finisher.join().unwrap();
        // SAFETY: still the only reader; the value was moved out once.
        assert!(unsafe { c.take() }.is_none(), "handed over twice");
    });
}

/// Model 3b: a kill racing with the green thread's completion. The green
/// thread is past its last blocking point (its park state stays RUNNING):
/// as `switch::run_main` does, it takes a pending kill just before its body
/// runs, and completes with "killed" (0) if it found one, else with its
/// value (1). The killer records the kill (which wakes nobody: the word
/// says RUNNING) and waits for completion, as `Greenlet::kill` does. It must
/// wake, and what it sees must agree with the park word: killed means the
/// kill was taken; the value means the kill came too late and is still
/// recorded (harmless: nothing runs after completion). Never both, never
/// neither. (A kill racing with a park is model 3a in `loom_park.rs`.)
#[test]
fn kill_races_completion_killer_wakes() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let c: Arc<Completion<u64, Waiter>> = Arc::new(Completion::new());
        let (s2, c2) = (state.clone(), c.clone());
        let green = thread::spawn(move || {
            let killed = s2.take_kill();
            c2.complete(if killed { 0 } else { 1 });
        });
        assert_eq!(
            state.kill(),
            Notify::Nothing,
            "a kill of a running green thread scheduled it"
        );
        let v = join(&c);
        green.join().unwrap();
        match v {
            0 => assert!(!state.kill_pending(), "killed, and the kill still pending"),
            1 => assert!(
                state.kill_pending(),
                "the kill was neither delivered nor left pending"
            ),
            other => panic!("an outcome nobody wrote: {other}"),
        }
    });
}

/// Model 6b: links and completion. One link is queued before the green
/// thread finishes; another is added from a third thread while it finishes
/// (before, while the first link runs outside the lock, or after). Each
/// runs exactly once and sees the outcome: queued ones by the finisher,
/// until none is left, and a late one at once by the thread that adds it.
#[test]
fn links_added_while_completing_each_run_once() {
    loom::model(|| {
        let c: Arc<Completion<u64, Waiter>> = Arc::new(Completion::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let link = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            Box::new(move |v: &u64| {
                assert_eq!(*v, 42, "a link saw another outcome");
                runs.fetch_add(1, Ordering::SeqCst);
            })
        };
        c.link(link(&runs));
        let (c2, c3) = (c.clone(), c.clone());
        let finisher = thread::spawn(move || c2.complete(42));
        let late = link(&runs);
        let linker = thread::spawn(move || {
            c3.link(late);
        });
        finisher.join().unwrap();
        linker.join().unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "a link did not run exactly once"
        );
    });
}
