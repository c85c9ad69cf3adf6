//! Talking to the kernel about stack memory: mappings, guard pages and guard
//! regions, and the process's budget of mappings.
//!
//! # The mapping budget
//!
//! The kernel caps a process at `vm.max_map_count` mappings (65530 by
//! default), and everything in the process shares them: the allocator's
//! arenas, thread stacks, loaded libraries. If stacks took them all, the next
//! `malloc` would fail and abort the process. So grove counts the mappings
//! its stacks hold (process-wide, across runtimes) and keeps them within
//! [`budget`], three quarters of the limit; past it a stack is refused with
//! [`SpawnError::MapLimit`] before the kernel is asked.
//!
//! # Guard regions
//!
//! Since Linux 6.13, `madvise(MADV_GUARD_INSTALL)` turns pages into guard
//! pages *without splitting the mapping*: a fault on them raises SIGSEGV as a
//! `PROT_NONE` page would, but a slab of stacks, each with its guard page,
//! stays one mapping. [`guard_regions`] probes for it once per process.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::{page_size, SpawnError};

/// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13).
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// The limit assumed when `/proc/sys/vm/max_map_count` cannot be read.
const DEFAULT_MAX_MAP_COUNT: usize = 65530;

/// Mappings held by green-thread stacks, process-wide.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// Stack bookkeeping is not modelled by loom, so it uses std's lock directly.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The kernel's `vm.max_map_count`, read once.
pub(super) fn max_map_count() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_MAP_COUNT)
    })
}

/// How many mappings stacks may hold: three quarters of the limit.
pub(super) fn budget() -> usize {
    max_map_count() / 4 * 3
}

/// Mappings stacks hold now.
pub(super) fn held() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// Whether the kernel supports guard regions, probed once.
pub(super) fn guard_regions() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        let page = page_size();
        let Ok(p) = map_raw(2 * page) else {
            return false;
        };
        let ok = install_guard(p, page).is_ok();
        // SAFETY: our own two-page probe mapping, never used.
        unsafe { libc::munmap(p.cast(), 2 * page) };
        ok
    })
}

/// Makes `[p, p + len)` a guard region.
pub(super) fn install_guard(p: *mut u8, len: usize) -> io::Result<()> {
    // SAFETY: callers pass page-aligned pages of a mapping they own that no
    // frame uses; a guard region only makes later accesses fault.
    if unsafe { libc::madvise(p.cast(), len, MADV_GUARD_INSTALL) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Maps `len` bytes that count as `cost` mappings against the budget.
pub(super) fn map(len: usize, cost: usize) -> Result<*mut u8, SpawnError> {
    let mut now = HELD.load(Ordering::Relaxed);
    loop {
        if now + cost > budget() {
            return Err(SpawnError::MapLimit {
                max_map_count: max_map_count(),
            });
        }
        match HELD.compare_exchange_weak(now, now + cost, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break,
            Err(seen) => now = seen,
        }
    }
    map_raw(len).inspect_err(|_| {
        HELD.fetch_sub(cost, Ordering::Relaxed);
    })
}

/// Unmaps a whole mapping made by [`map`] with the same `cost`.
pub(super) fn unmap(p: *mut u8, len: usize, cost: usize) {
    // SAFETY: callers pass a whole mapping created by `map` that nothing uses.
    unsafe { libc::munmap(p.cast(), len) };
    HELD.fetch_sub(cost, Ordering::Relaxed);
}

/// Returns the pages of `[p, p + len)` to the kernel, keeping the range
/// mapped (and any guard region in it).
pub(super) fn release(p: *mut u8, len: usize) {
    // SAFETY: callers pass pages of a mapping they own on which no frame lives.
    unsafe { libc::madvise(p.cast(), len, libc::MADV_DONTNEED) };
}

fn map_raw(len: usize) -> Result<*mut u8, SpawnError> {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(map_error(io::Error::last_os_error()));
    }
    // Huge pages would commit 2 MiB per touched stack; ask for small pages.
    // SAFETY: p..p+len was just mapped by us.
    unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) };
    Ok(p.cast())
}

/// Tells a map-count exhaustion (ENOMEM with the process at its mapping
/// limit, reached by others' mappings) from a real out-of-memory. Counting
/// mappings reads all of `/proc/self/maps`, so a diagnosis is reused for a
/// second: a burst of failed spawns at the limit costs one read, not one each.
pub(super) fn map_error(e: io::Error) -> SpawnError {
    static LAST: Mutex<Option<(Instant, Option<usize>)>> = Mutex::new(None);
    if e.raw_os_error() != Some(libc::ENOMEM) {
        return SpawnError::Mmap(e);
    }
    let mut last = lock(&LAST);
    let at_limit = match *last {
        Some((when, limit)) if when.elapsed() < Duration::from_secs(1) => limit,
        _ => {
            let limit = count_at_limit();
            *last = Some((Instant::now(), limit));
            limit
        }
    };
    match at_limit {
        Some(max_map_count) => SpawnError::MapLimit { max_map_count },
        None => SpawnError::Mmap(e),
    }
}

/// `Some(max_map_count)` if the process is at (or within a few of) it.
fn count_at_limit() -> Option<usize> {
    let max = max_map_count();
    let used = std::fs::read_to_string("/proc/self/maps")
        .ok()?
        .lines()
        .count();
    (used + 16 >= max).then_some(max)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_a_quarter_of_the_limit() {
        assert!(budget() < max_map_count());
        assert!(budget() >= max_map_count() / 2);
    }

    #[test]
    fn held_mappings_are_counted_and_returned() {
        let page = page_size();
        let p = map(page, 1).unwrap();
        assert!(held() >= 1);
        unmap(p, page, 1);
    }
}
