//! Loom models of the registry (`src/registry.rs`): shutdown against spawn,
//! and the last exit waking shutdown's wait. They run grove's own
//! `Registry`, with a stand-in member (an id and a slot) for a green
//! thread's record.
#![cfg(loom)]

use std::sync::atomic::AtomicUsize;

use grove_core::registry::{Member, Registry};
use loom::sync::Arc;
use loom::thread;

struct Entry {
    id: u64,
    slot: AtomicUsize,
}

impl Entry {
    /// The registry keeps `std::sync::Arc`s of its members, as of `Task`s.
    fn new(id: u64) -> std::sync::Arc<Entry> {
        std::sync::Arc::new(Entry {
            id,
            slot: AtomicUsize::new(usize::MAX),
        })
    }
}

impl Member for Entry {
    fn id(&self) -> u64 {
        self.id
    }
    fn slot(&self) -> &AtomicUsize {
        &self.slot
    }
}

/// Model 10a: a spawn (insert) racing with shutdown (close). Either the
/// insert is refused, or shutdown's sweep returns the new member (and will
/// kill it): never a green thread that shutdown neither refused nor saw.
#[test]
fn spawn_races_shutdown_refused_or_seen() {
    loom::model(|| {
        let reg: Arc<Registry<Entry>> = Arc::new(Registry::with_shards(2));
        let (r, e) = (reg.clone(), Entry::new(1));
        let spawner = thread::spawn(move || r.insert(&e).is_ok());
        let swept = reg.close();
        let inserted = spawner.join().unwrap();
        let seen = swept.iter().any(|m| m.id == 1);
        assert_eq!(
            inserted, seen,
            "an insert was neither refused nor seen by shutdown"
        );
    });
}

/// Model 10b: two green threads on different shards finish while shutdown
/// closes the registry and waits for it to drain. Shutdown's wait always
/// ends (a missed wake would be a deadlock, which loom reports), whichever
/// exit comes last.
#[test]
fn last_exits_on_two_shards_wake_shutdown() {
    loom::model(|| {
        let reg: Arc<Registry<Entry>> = Arc::new(Registry::with_shards(2));
        let (a, b) = (Entry::new(0), Entry::new(1));
        reg.insert(&a).unwrap();
        reg.insert(&b).unwrap();
        let exits: Vec<_> = [a, b]
            .into_iter()
            .map(|e| {
                let r = reg.clone();
                thread::spawn(move || r.remove(&e))
            })
            .collect();
        let _ = reg.close();
        assert!(reg.wait_drained(None), "shutdown's wait gave up");
        assert_eq!(reg.live(), 0, "drained with members left");
        for x in exits {
            x.join().unwrap();
        }
    });
}
