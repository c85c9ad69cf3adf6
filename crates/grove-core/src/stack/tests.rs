use std::ptr;

use super::pool::TRIM_EVERY;
use super::source::{Mode, SLAB_STACKS};
use super::*;

const SIZE: usize = 128 * 1024;

fn resident(p: *mut u8) -> bool {
    let mut v = 0u8;
    // SAFETY: one page of a mapping the test owns.
    let r = unsafe { libc::mincore(p.cast(), page_size(), &mut v) };
    r == 0 && v & 1 == 1
}

fn modes() -> Vec<Mode> {
    let mut modes = vec![Mode::Mappings, Mode::Canary];
    if Mode::pick(true) == Mode::Regions {
        modes.push(Mode::Regions);
    }
    modes
}

#[test]
fn sizes_are_checked_and_rounded() {
    assert!(matches!(
        validate_size(0),
        Err(SpawnError::StackSize { .. })
    ));
    assert!(matches!(
        validate_size(usize::MAX),
        Err(SpawnError::StackSize { .. })
    ));
    assert_eq!(validate_size(MIN_STACK + 1).unwrap() % page_size(), 0);
}

#[test]
fn every_mode_hands_out_usable_stacks_with_its_guard() {
    for mode in modes() {
        let src = StackSource::with_mode(mode, SIZE);
        let mut pool = StackPool::default();
        for size in [SIZE, 2 * SIZE] {
            let s = pool.take(&src, size).unwrap();
            assert_eq!(s.size(), size);
            assert_eq!(s.guard().is_some(), mode != Mode::Canary, "{mode:?}");
            // The whole usable range is usable.
            // SAFETY: the stack is ours and unused.
            unsafe {
                ptr::write_volatile(s.bottom(), 1);
                ptr::write_volatile(s.bottom().add(size - 1), 1);
            }
            assert!(s.canary_ok());
            pool.give(&src, s);
        }
        pool.drain(&src);
    }
}

#[test]
fn pool_reuses_and_canary_detects_clobbering() {
    let src = StackSource::with_mode(Mode::Canary, SIZE);
    let mut pool = StackPool::default();
    let s = pool.take(&src, SIZE).unwrap();
    let addr = s.bottom();
    pool.give(&src, s);
    let s = pool.take(&src, SIZE).unwrap();
    assert_eq!(s.bottom(), addr, "pooled stack is reused");
    // Zeros written below it are caught, like any other value.
    // SAFETY: the canary page is mapped and ours.
    unsafe { ptr::write_volatile(s.bottom().sub(page_size()).add(512) as *mut u64, 0) };
    assert!(!s.canary_ok());
    // Release the page again so the pooled stack is clean.
    map::release(s.bottom().wrapping_sub(page_size()), page_size());
    assert!(s.canary_ok());
    pool.give(&src, s);
    pool.drain(&src);
}

#[test]
fn slab_stacks_hold_one_mapping_per_slab() {
    for mode in [Mode::Canary, Mode::Regions] {
        if !modes().contains(&mode) {
            continue;
        }
        let src = StackSource::with_mode(mode, SIZE);
        let mut pool = StackPool::default();
        let stacks: Vec<_> = (0..SLAB_STACKS)
            .map(|_| pool.take(&src, SIZE).unwrap())
            .collect();
        let base = stacks[0].bottom() as usize - page_size();
        let end = base + SLAB_STACKS * (SIZE + page_size());
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let inside = maps
            .lines()
            .filter(|l| {
                let (range, _) = l.split_once(' ').unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let lo = usize::from_str_radix(lo, 16).unwrap();
                let hi = usize::from_str_radix(hi, 16).unwrap();
                lo < end && hi > base
            })
            .count();
        assert_eq!(inside, 1, "{mode:?}: one mapping holds the slab");
        for s in stacks {
            src.free(s);
        }
    }
}

#[test]
fn trimming_gives_back_what_deep_calls_touched() {
    let src = StackSource::with_mode(Mode::Canary, SIZE);
    let mut pool = StackPool::default();
    let s = pool.take(&src, SIZE).unwrap();
    let (bottom, top) = (s.bottom(), s.bottom().wrapping_add(SIZE));
    // SAFETY: pages of the unused stack.
    unsafe {
        ptr::write_volatile(bottom, 1);
        ptr::write_volatile(top.sub(8), 1);
    }
    pool.give(&src, s);
    assert!(resident(bottom), "one use does not trim");
    pool.trim_idle();
    assert!(!resident(bottom), "the idle trim released the deep page");
    assert!(
        resident(top.wrapping_sub(page_size())),
        "the top page stays"
    );
    // A stack reused without idling is trimmed every TRIM_EVERY returns.
    for _ in 0..TRIM_EVERY {
        let s = pool.take(&src, SIZE).unwrap();
        assert_eq!(s.bottom(), bottom);
        // SAFETY: as above.
        unsafe { ptr::write_volatile(bottom, 1) };
        pool.give(&src, s);
    }
    assert!(!resident(bottom));
    pool.drain(&src);
}
