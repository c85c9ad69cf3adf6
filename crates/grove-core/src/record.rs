//! A record of a few words with one writer and any number of readers, read
//! whole or not at all (a sequence lock). Each green thread keeps what it
//! waits for in one (`reason.rs`); a snapshot reads it from another thread
//! while the green thread may be writing its next one.
//!
//! # Protocol
//!
//! `seq` counts writes, twice each: odd while a write is under way, even
//! when the words are whole.
//!
//! | step | by | does |
//! |---|---|---|
//! | open | the writer | `seq` := `s + 1` (relaxed), then a release fence |
//! | write | the writer | every word (relaxed stores) |
//! | close | the writer | `seq` := `s + 2` (release) |
//! | read | any reader | `s1` := `seq` (acquire); if odd, try again; the words (relaxed); an acquire fence; `s2` := `seq` (relaxed); whole iff `s1 == s2` |
//!
//! # Why a whole read is one write's words
//!
//! Say the reader saw `s1 == s2 == 2k` (even). Its acquire load of `s1`
//! read the close of write `k`, so every word of write `k` happened before
//! its word loads: they read write `k`'s values or later ones. If one word
//! load read a value of a later write `k+1`, that store comes after write
//! `k+1`'s open and its release fence; the reader's acquire fence after the
//! word loads then synchronises with that release fence, so the open
//! (`seq` := `2k+1`) happened before the load of `s2`, which reads `2k+1`
//! or later: not `s2 == s1`. So a whole read holds exactly write `k`'s
//! words. There is one writer at a time (the record's owner), so writes do
//! not interleave with each other.
//!
//! Everything is atomic, so even a torn read is no data race; callers still
//! rely on whole reads (`reason.rs` rebuilds a `&'static str` from two
//! words), which is what the loom model `loom_record.rs` checks.

use crate::sync::{fence, AtomicU64, Ordering};

/// A weakened build (loom only) trusts its first look at `seq`: the model
/// `loom_record.rs` must then find a read that mixes two writes.
const RECHECK: bool = !cfg!(grove_loom_weaken = "record_skip_recheck");

/// How many words a [`Record`] holds.
pub const WORDS: usize = 6;

/// `WORDS` words, written by one owner, read whole by anyone.
#[derive(Debug)]
pub struct Record {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl Default for Record {
    fn default() -> Self {
        Self::new()
    }
}

impl Record {
    /// All words zero.
    pub fn new() -> Self {
        Record {
            seq: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Replaces the words. Only the record's owner may call this, and never
    /// from two threads at once.
    pub fn write(&self, words: [u64; WORDS]) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, w) in self.words.iter().zip(words) {
            slot.store(w, Ordering::Relaxed);
        }
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// The words of one write, or `None` if a write was under way at each
    /// of `tries` attempts.
    pub fn read(&self, tries: usize) -> Option<[u64; WORDS]> {
        for _ in 0..tries {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin();
                continue;
            }
            let words = std::array::from_fn(|i| self.words[i].load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if !RECHECK || self.seq.load(Ordering::Relaxed) == s1 {
                return Some(words);
            }
            spin();
        }
        None
    }
}

#[cfg(loom)]
fn spin() {
    loom::thread::yield_now();
}

#[cfg(not(loom))]
fn spin() {
    std::hint::spin_loop();
}
