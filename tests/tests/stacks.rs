//! Stacks: overflow reports, the mapping limit, and going past it.
//!
//! Tests that must crash or exhaust a process-wide limit run in a child
//! process (this test binary, re-run with one test and an env var set).

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grove::{Builder, Error, Runtime, SpawnError};
use grove_tests::run_child;

#[inline(never)]
fn recurse(depth: u32, limit: u32) -> u64 {
    let buf = std::hint::black_box([depth as u8; 1024]);
    if depth >= limit {
        return buf[0] as u64;
    }
    recurse(depth + 1, limit) + std::hint::black_box(buf[7]) as u64
}

#[test]
fn overflow_on_a_guarded_stack_names_the_green_thread_and_aborts() {
    if std::env::var_os("GROVE_OVERFLOW_CHILD").is_some() {
        let rt = Runtime::builder().workers(2).build().unwrap();
        let g = Builder::new()
            .name("deep-diver")
            .stack_size(64 * 1024)
            .spawn_on(rt.handle(), || recurse(0, u32::MAX))
            .unwrap();
        let _ = g.join();
        unreachable!("the overflow did not abort");
    }
    let out = run_child(
        "overflow_on_a_guarded_stack_names_the_green_thread_and_aborts",
        "GROVE_OVERFLOW_CHILD",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("green thread 'deep-diver'"), "{stderr}");
    assert!(
        stderr.contains("overflowed its stack of 65536 bytes"),
        "{stderr}"
    );
}

/// An overflow of an unguarded 64 KiB stack by `f`, in a green thread named
/// `name`, must abort naming it: run as test `test` in a child process
/// (marked by the variable `var`).
fn unguarded_overflow_aborts(test: &str, var: &str, name: &'static str, f: fn() -> u64) {
    if std::env::var_os(var).is_some() {
        let rt = Runtime::builder()
            .workers(1)
            .guard_pages(false)
            .stack_size(64 * 1024)
            .build()
            .unwrap();
        // Keep the slab's lowest stack busy so the next one has a mapped
        // neighbour below it to overflow into.
        let first = rt.spawn(grove::park);
        std::thread::sleep(Duration::from_millis(20));
        let g = Builder::new().name(name).spawn_on(rt.handle(), f).unwrap();
        let _ = g.join();
        first.kill();
        unreachable!("the overflow went unnoticed");
    }
    let out = run_child(test, var);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    assert!(
        stderr.contains(&format!("green thread '{name}'")),
        "{stderr}"
    );
    assert!(stderr.contains("canary"), "{stderr}");
}

#[test]
fn overflow_on_an_unguarded_stack_is_caught_by_the_canary() {
    unguarded_overflow_aborts(
        "overflow_on_an_unguarded_stack_is_caught_by_the_canary",
        "GROVE_CANARY_CHILD",
        "canary-crusher",
        || recurse(0, 70),
    );
}

/// Uses up all but `spare` of the process's memory mappings: a PROT_NONE
/// region whose every other page is made readable is one mapping per page.
fn hog_mappings(spare: usize) -> (usize, usize) {
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let used = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count();
    let want = max.saturating_sub(used + spare);
    let page = 4096;
    let len = (want + 1) * page;
    // SAFETY: a fresh anonymous PROT_NONE mapping, never dereferenced.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    for i in (1..want).step_by(2) {
        // SAFETY: a page inside our own mapping.
        unsafe {
            libc::mprotect(
                base.cast::<u8>().add(i * page).cast(),
                page,
                libc::PROT_READ,
            )
        };
    }
    (base as usize, len)
}

#[test]
#[cfg_attr(
    any(grove_sanitize = "address", grove_sanitize = "thread"),
    ignore = "a sanitizer's own mappings do not fit in the mapping budget this test uses up (docs/verification.md)"
)]
fn reaching_the_mapping_limit_is_a_clear_error_not_a_crash() {
    if std::env::var_os("GROVE_MAPLIMIT_CHILD").is_some() {
        let rt = Runtime::builder().workers(2).build().unwrap();
        rt.block_on(|| ()); // hub threads and their allocator arenas exist now
        let mut gs = Vec::with_capacity(2_000);
        // Every mapping is taken: a stack that needs a new one is refused
        // (those the kernel merges into a neighbouring stack's still start).
        let (base, len) = hog_mappings(0);
        for _ in 0..2_000 {
            let g = Builder::new()
                .stack_size(64 * 1024)
                .spawn_on(rt.handle(), grove::park)
                .unwrap();
            gs.push(g);
        }
        // Wait until each has either parked (it got a stack) or finished
        // (it was refused one). Parks are read before the finished ones, so
        // that a green thread that parks in between is never missed.
        let t = Instant::now();
        let mut failed = Vec::new();
        while t.elapsed() < Duration::from_secs(20) {
            let parked: u64 = rt.metrics().iter().map(|m| m.parked).sum();
            failed = gs
                .iter()
                .enumerate()
                .filter(|(_, g)| g.is_ready())
                .map(|(i, _)| i)
                .collect();
            if parked as usize + failed.len() >= gs.len() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if failed.is_empty() {
            // The kernel merged every new stack into a neighbouring mapping
            // (a run of them can extend one region without limit): nothing
            // was refused, so this run shows nothing. The parent tries again
            // in a fresh process, with a fresh address-space layout.
            println!("MAPLIMIT-NONE");
            rt.shutdown();
            return;
        }
        assert!(failed.len() < gs.len(), "every spawn failed");
        // SAFETY: our own mapping, unused.
        unsafe { libc::munmap(base as *mut libc::c_void, len) };
        let mut message = String::new();
        for (i, g) in gs.into_iter().enumerate() {
            if failed.contains(&i) {
                match g.join() {
                    Err(Error::Spawn(e @ SpawnError::MapLimit { .. })) => message = e.to_string(),
                    other => panic!("unexpected outcome {other:?}"),
                }
            }
        }
        println!("MAPLIMIT-REPORT: {message}");
        rt.shutdown();
        return;
    }
    let mut tries = 0;
    let (out, stdout) = loop {
        tries += 1;
        let out = run_child(
            "reaching_the_mapping_limit_is_a_clear_error_not_a_crash",
            "GROVE_MAPLIMIT_CHILD",
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !stdout.contains("MAPLIMIT-NONE") || tries == 8 {
            break (out, stdout);
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
    assert!(
        !stdout.contains("MAPLIMIT-NONE"),
        "no spawn hit the limit in {tries} runs"
    );
    assert!(
        stdout.contains("MAPLIMIT-REPORT: no memory mapping for a green-thread stack"),
        "{stdout}"
    );
    assert!(stdout.contains("vm.max_map_count = "), "{stdout}");
}

#[test]
#[cfg_attr(
    grove_sanitize = "thread",
    ignore = "ThreadSanitizer maps a shadow stack for every green thread: this many are past the mapping limit (docs/verification.md)"
)]
fn unguarded_stacks_hold_more_green_threads_than_the_guarded_limit() {
    const N: usize = 50_000;
    let rt = Runtime::builder()
        .workers(2)
        .guard_pages(false)
        .build()
        .unwrap();
    let parked = Arc::new(AtomicUsize::new(0));
    let gs: Vec<_> = (0..N)
        .map(|_| {
            let p = parked.clone();
            rt.spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                grove::park();
            })
        })
        .collect();
    let t = Instant::now();
    while parked.load(Ordering::SeqCst) < N {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "only {} started",
            parked.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(rt.handle().live(), N);
    for g in &gs {
        g.thread().unpark();
    }
    for g in gs {
        g.join().unwrap();
    }
}

/// Recurses, writing 256 nonzero bytes per frame, until the frames reach
/// `depth` bytes below `top`; returns how far they reached.
#[inline(never)]
fn descend(top: usize, depth: usize) -> usize {
    let buf = std::hint::black_box([7u8; 256]);
    let here = buf.as_ptr() as usize;
    let reached = top - here;
    if reached >= depth {
        return reached;
    }
    descend(top, depth).max(buf[3] as usize)
}

/// Uses `N` bytes of stack in one frame, writing `fill` to all of it.
#[inline(never)]
fn big_frame<const N: usize>(fill: u8) -> u8 {
    let buf = std::hint::black_box([fill; N]);
    buf[N / 2]
}

#[test]
#[cfg_attr(
    grove_sanitize = "address",
    ignore = "AddressSanitizer moves locals to fake frames and pads frames: depth by address means nothing (docs/verification.md)"
)]
fn an_unguarded_stack_can_be_used_to_its_last_pages_without_a_report() {
    if std::env::var_os("GROVE_CANARY_FULL_CHILD").is_some() {
        let rt = Runtime::builder()
            .workers(1)
            .guard_pages(false)
            .stack_size(128 * 1024)
            .build()
            .unwrap();
        // Down to 4 KiB above the bottom of a 128 KiB stack.
        let used = rt.block_on(|| {
            let top = std::hint::black_box(0u8);
            descend(&top as *const u8 as usize, 124 * 1024)
        });
        assert!(used >= 124 * 1024);
        println!("no report");
        return;
    }
    let out = run_child(
        "an_unguarded_stack_can_be_used_to_its_last_pages_without_a_report",
        "GROVE_CANARY_FULL_CHILD",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no report"));
}

#[test]
fn a_zero_filled_frame_past_an_unguarded_stack_is_caught() {
    unguarded_overflow_aborts(
        "a_zero_filled_frame_past_an_unguarded_stack_is_caught",
        "GROVE_CANARY_ZERO_CHILD",
        "zero-writer",
        || u64::from(big_frame::<{ 72 * 1024 }>(0)),
    );
}

/// A thousand frames of 512 bytes each (1.2 MB in a debug build).
#[inline(never)]
fn recurse512(depth: u32) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    if depth == 0 {
        return buf[0] as u64;
    }
    recurse512(depth - 1) + std::hint::black_box(buf[3]) as u64
}

#[test]
fn a_thousand_half_kilobyte_frames_run_on_a_default_stack() {
    let want: u64 = (1..=1000u32).map(|d| u64::from(d as u8)).sum();
    assert_eq!(grove::spawn(|| recurse512(1000)).join().unwrap(), want);
    let rt = Runtime::builder().workers(1).build().unwrap();
    assert_eq!(rt.block_on(|| recurse512(1000)), want);
}
