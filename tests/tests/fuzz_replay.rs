//! Replays the committed fuzz corpus on the stable toolchain, so every input
//! the fuzzers found interesting is re-checked on every CI run.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn scheduler_ops_corpus() {
    let inputs = corpus("scheduler_ops");
    assert!(!inputs.is_empty(), "the scheduler_ops corpus is empty");
    for (path, bytes) in &inputs {
        eprintln!("replaying {}", path.display());
        grove_tests::fuzz::scheduler_ops(bytes);
    }
    eprintln!("{} scheduler_ops inputs replayed", inputs.len());
}

#[test]
fn sync_ops_corpus() {
    let inputs = corpus("sync_ops");
    assert!(!inputs.is_empty(), "the sync_ops corpus is empty");
    for (path, bytes) in &inputs {
        eprintln!("replaying {}", path.display());
        grove_tests::fuzz::sync_ops(bytes);
    }
    eprintln!("{} sync_ops inputs replayed", inputs.len());
}
