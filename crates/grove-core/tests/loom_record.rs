//! Loom model of the one-writer record (`record.rs`) that holds what a green
//! thread waits for: a reader running alongside a writer's updates reads
//! either nothing or the words of exactly one write, never a mix. A reason
//! with a label is rebuilt from two words (a pointer and a length), so a
//! mixed read would be undefined behaviour there; this is the property
//! that rules it out.
#![cfg(loom)]

use grove_core::record::{Record, WORDS};
use loom::sync::Arc;
use loom::thread;

/// The words of write number `n`: every word says `n`.
fn write_n(n: u64) -> [u64; WORDS] {
    [n; WORDS]
}

#[test]
fn a_reader_sees_one_whole_write_or_nothing() {
    loom::model(|| {
        let rec = Arc::new(Record::new());
        let w = rec.clone();
        let writer = thread::spawn(move || {
            w.write(write_n(1));
            w.write(write_n(2));
        });
        if let Some(words) = rec.read(3) {
            let first = words[0];
            assert!(
                words.iter().all(|&x| x == first),
                "a read mixed two writes: {words:?}"
            );
            assert!(first <= 2);
        }
        writer.join().unwrap();
        assert_eq!(rec.read(1), Some(write_n(2)), "the last write, once quiet");
    });
}
