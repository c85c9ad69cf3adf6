//! Helpers shared by grove's cross-crate integration tests (in `tests/tests/`).
#![warn(missing_docs)]

pub mod fuzz;

use std::process::{Command, Output};

/// Re-runs the current test binary with only test `name`, with the
/// environment variable `var` set, and returns what it did. The test checks
/// `var` to know it is the child. Used for tests that must crash a process.
///
/// ```no_run
/// let out = grove_tests::run_child("my_test", "MY_TEST_CHILD");
/// assert!(!out.status.success());
/// ```
pub fn run_child(name: &str, var: &str) -> Output {
    let exe = std::env::current_exe().expect("current test binary");
    Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(var, "1")
        .output()
        .expect("run the child test process")
}
