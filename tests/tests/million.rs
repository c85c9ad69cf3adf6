//! A million green threads alive at once on default settings, and what
//! happens when stacks run out of kernel mappings: each test runs in a child
//! process of its own, so its memory and mappings are its alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Builder, Error, Greenlet, SpawnError};
use grove_tests::run_child;

/// `(resident bytes, page-table bytes)` of this process.
fn memory() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> usize {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    };
    (field("VmRSS:"), field("VmPTE:"))
}

fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Waits until `count` reaches `n` or a green thread in `gs` finished early.
fn wait_started(count: &AtomicUsize, n: usize, gs: &[Greenlet<()>], limit: Duration) {
    let t = Instant::now();
    while count.load(Ordering::SeqCst) < n {
        if t.elapsed() > limit {
            let failed = gs.iter().filter(|g| g.is_ready()).count();
            panic!(
                "{} of {n} started, {failed} finished early",
                count.load(Ordering::SeqCst)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg_attr(
    any(grove_sanitize = "address", grove_sanitize = "thread"),
    ignore = "a million green threads is past what a sanitizer's per-thread state fits in this machine's memory (docs/verification.md)"
)]
fn a_million_green_threads_park_at_once_on_default_settings() {
    const N: usize = 1_000_000;
    if std::env::var_os("GROVE_MILLION_CHILD").is_some() {
        // The default runtime, started by the first spawn.
        grove::spawn(|| ()).join().unwrap();
        let (rss0, pte0) = memory();
        let started = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let gs: Vec<Greenlet<()>> = (0..N)
            .map(|_| {
                let started = started.clone();
                grove::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    grove::park();
                })
            })
            .collect();
        wait_started(&started, N, &gs, Duration::from_secs(240));
        let spawned = t.elapsed();
        let (rss1, pte1) = memory();
        assert_eq!(grove::Handle::current().live(), N);
        for g in &gs {
            g.thread().unpark();
        }
        for g in gs {
            g.join().unwrap();
        }
        println!(
            "MILLION: {N} parked at once (vm.max_map_count = {}) in {:.1} s; per idle green \
             thread: {} resident bytes, {} bytes of page tables",
            max_map_count(),
            spawned.as_secs_f64(),
            (rss1 - rss0) / N,
            (pte1 - pte0) / N,
        );
        return;
    }
    let out = run_child(
        "a_million_green_threads_park_at_once_on_default_settings",
        "GROVE_MILLION_CHILD",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    let at = stdout.find("MILLION:").expect("the child's report");
    eprintln!("{}", stdout[at..].lines().next().unwrap());
}

#[test]
#[cfg_attr(
    any(grove_sanitize = "address", grove_sanitize = "thread"),
    ignore = "a sanitizer's own mappings do not fit in the mapping budget this test uses up (docs/verification.md)"
)]
fn stacks_leave_the_rest_of_the_mappings_to_the_process() {
    if std::env::var_os("GROVE_BUDGET_CHILD").is_some() {
        // Stacks of a non-default size take one mapping each: spawn them
        // parked until one cannot get a stack.
        let started = Arc::new(AtomicUsize::new(0));
        let mut gs: Vec<Greenlet<()>> = Vec::new();
        let failed = loop {
            assert!(gs.len() < max_map_count(), "no limit reached");
            for _ in 0..1_000 {
                let started = started.clone();
                let g = Builder::new()
                    .stack_size(64 * 1024)
                    .spawn(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        grove::park();
                    })
                    .unwrap();
                gs.push(g);
            }
            let t = Instant::now();
            let failed = loop {
                let failed = gs.iter().filter(|g| g.is_ready()).count();
                if started.load(Ordering::SeqCst) + failed == gs.len() {
                    break failed;
                }
                assert!(t.elapsed() < Duration::from_secs(60), "spawns stalled");
                std::thread::sleep(Duration::from_millis(5));
            };
            if failed > 0 {
                break failed;
            }
        };
        let parked = started.load(Ordering::SeqCst);
        // The process still has mappings for everything else: a thread, and
        // allocations large enough to be mapped on their own.
        let big: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 1 << 20]).collect();
        let t = std::thread::spawn(move || big.iter().map(|v| v[7] as usize).sum::<usize>());
        assert_eq!(t.join().unwrap(), (0..64).sum::<usize>());
        let mut message = String::new();
        let mut parked_handles = Vec::new();
        for g in gs {
            if g.is_ready() {
                match g.join() {
                    Err(Error::Spawn(e @ SpawnError::MapLimit { .. })) => message = e.to_string(),
                    other => panic!("unexpected outcome {other:?}"),
                }
            } else {
                parked_handles.push(g);
            }
        }
        // Green threads that end give their mappings back: new ones start.
        for g in &parked_handles {
            g.thread().unpark();
        }
        for g in parked_handles {
            g.join().unwrap();
        }
        let again = Builder::new().stack_size(64 * 1024).spawn(|| 7).unwrap();
        assert_eq!(again.join().unwrap(), 7);
        println!("BUDGET: {parked} parked, {failed} refused: {message}");
        return;
    }
    let out = run_child(
        "stacks_leave_the_rest_of_the_mappings_to_the_process",
        "GROVE_BUDGET_CHILD",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    let at = stdout.find("BUDGET:").expect("the child's report");
    let line = stdout[at..].lines().next().unwrap();
    assert!(line.contains("vm.max_map_count = "), "{line}");
    let parked: usize = line["BUDGET: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Three quarters of the limit go to stacks, less what other stacks and
    // the first refusals hold.
    assert!(parked > max_map_count() / 2, "{line}");
}
