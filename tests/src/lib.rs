//! Helpers shared by grove's cross-crate integration tests (in `tests/tests/`).
#![warn(missing_docs)]

pub mod fuzz;
mod fuzz_sync;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many times slower than a plain build these tests may run: time
/// bounds that tell a blocked hub from a busy machine are multiplied by it.
/// Under AddressSanitizer or ThreadSanitizer (`scripts/sanitize.sh`) code
/// runs several times slower, ThreadSanitizer's up to 15 times.
pub const SLOWDOWN: u32 = if cfg!(any(grove_sanitize = "address", grove_sanitize = "thread")) {
    10
} else {
    1
};

/// Re-runs the current test binary with only test `name`, with the
/// environment variable `var` set, and returns what it did. The test checks
/// `var` to know it is the child. Used for tests that must crash a process.
///
/// ```no_run
/// let out = grove_tests::run_child("my_test", "MY_TEST_CHILD");
/// assert!(!out.status.success());
/// ```
pub fn run_child(name: &str, var: &str) -> Output {
    run_child_with(name, var, "1")
}

/// Like [`run_child`], with `var` set to `value` (something the child
/// needs, such as an address to connect to).
///
/// ```no_run
/// let out = grove_tests::run_child_with("my_test", "MY_TEST_ADDR", "127.0.0.1:8000");
/// assert!(out.status.success());
/// ```
pub fn run_child_with(name: &str, var: &str, value: &str) -> Output {
    let exe = std::env::current_exe().expect("current test binary");
    Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(var, value)
        .output()
        .expect("run the child test process")
}

/// Keeps hub `hub` of `rt` computing, never blocking, until `stop` is set
/// or ten seconds pass. The green thread returns whether `stop` ended it
/// (false: something waited for the busy hub instead of running elsewhere).
///
/// ```no_run
/// use std::sync::{atomic::AtomicBool, Arc};
/// let rt = grove::Runtime::builder().workers(2).build().unwrap();
/// let stop = Arc::new(AtomicBool::new(true));
/// assert!(grove_tests::hog(&rt, 0, stop).join().unwrap());
/// ```
pub fn hog(rt: &grove::Runtime, hub: usize, stop: Arc<AtomicBool>) -> grove::Greenlet<bool> {
    grove::Builder::new()
        .hub(hub)
        .spawn_on(rt.handle(), move || {
            let t = Instant::now();
            while !stop.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
            stop.load(Ordering::SeqCst)
        })
        .expect("a hub that exists")
}

/// Waits, polling every millisecond for at most ten seconds, until `cond`
/// holds; panics naming `what` if it never does. For sequencing tests on
/// observable state (who is waiting), never for timing.
///
/// ```
/// grove_tests::until("arithmetic works", || 1 + 1 == 2);
/// ```
pub fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("timed out waiting for: {what}");
}

/// How many are waiting, read from a primitive's `Debug` output (its
/// `field: N` entry), for tests that need to sequence on it.
///
/// ```
/// let q = grove::Queue::<u8>::new();
/// assert_eq!(grove_tests::debug_count(&q, "getters"), 0);
/// ```
pub fn debug_count<T: std::fmt::Debug>(x: &T, field: &str) -> usize {
    let d = format!("{x:?}");
    let n = d
        .split(&format!("{field}: "))
        .nth(1)
        .unwrap_or_else(|| panic!("no `{field}` in {d}"));
    n.split([',', ' ', '}'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("`{field}` is not a count in {d}"))
}

/// A TCP socket bound to a free loopback port and listening with `backlog`
/// (0: the shortest accept queue, which fills after a connection or two).
///
/// ```no_run
/// let s = grove_tests::loopback_listener(0);
/// assert!(s.local_addr().unwrap().as_socket().unwrap().ip().is_loopback());
/// ```
pub fn loopback_listener(backlog: i32) -> socket2::Socket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("a TCP socket");
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("an address");
    socket.bind(&addr.into()).expect("bind to loopback");
    socket.listen(backlog).expect("listen");
    socket
}

/// A green thread that counts 2 ms sleeps on `handle`'s runtime until
/// `stop`: spawned beside a green thread under test on a one-hub runtime,
/// it only counts while that one parks instead of blocking the hub.
pub fn ticker(
    handle: &grove::Handle,
    ticks: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> grove::Greenlet<()> {
    handle.spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            grove::sleep(std::time::Duration::from_millis(2));
            ticks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    })
}
