//! [`StackSource`]: where a runtime's stacks come from.
//!
//! A source picks its [`Mode`] when the runtime is built:
//!
//! * [`Mode::Regions`] (guarded, on Linux 6.13 and later): default-size
//!   stacks are carved from slabs of [`SLAB_STACKS`], one mapping per slab,
//!   each stack with a guard region below it. Other sizes get a mapping of
//!   their own, its first page a guard region: one mapping each.
//! * [`Mode::Mappings`] (guarded, older kernels): each stack is its own
//!   mapping with a `PROT_NONE` page below it, two mappings per stack, while
//!   stacks hold less than half of `vm.max_map_count`. Past that, stacks come
//!   from canary slabs as in [`Mode::Canary`], so the process keeps going.
//! * [`Mode::Canary`] (`guard_pages(false)`): slabs without guards; below each
//!   stack lies a canary page the hub checks at every switch back (`mod.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::map::{self, lock};
use super::{page_size, Guard, Home, SpawnError, Stack};

/// Stacks per slab.
pub const SLAB_STACKS: usize = 128;

/// How a source protects the stacks it hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Guard regions inside slabs (one mapping per slab).
    Regions,
    /// One mapping and a `PROT_NONE` page per stack, then canary slabs.
    Mappings,
    /// Canary slabs only.
    Canary,
}

impl Mode {
    /// The mode for a runtime that asked for guard pages (or not) on this kernel.
    pub fn pick(guarded: bool) -> Mode {
        match (guarded, guarded && map::guard_regions()) {
            (true, true) => Mode::Regions,
            (true, false) => Mode::Mappings,
            (false, _) => Mode::Canary,
        }
    }
}

/// Where a runtime's stacks come from; shared by its hubs.
#[derive(Debug)]
pub struct StackSource {
    mode: Mode,
    default_size: usize,
    slabs: Mutex<Slabs>,
    /// `RuntimeBuilder::max_stacks`: stacks in use at once, if limited.
    limit: Option<usize>,
    /// Stacks in use, counted only when there is a limit (so the hot path
    /// pays no shared atomic otherwise).
    in_use: AtomicUsize,
}

#[derive(Debug, Default)]
struct Slabs {
    free: Vec<usize>,
    mapped: Vec<(usize, usize)>,
}

impl StackSource {
    /// A source of `default_size` stacks, guarded or not, at most `limit`
    /// of them in use at once.
    pub fn new(guarded: bool, default_size: usize, limit: Option<usize>) -> Self {
        let mut source = Self::with_mode(Mode::pick(guarded), default_size);
        source.limit = limit;
        source
    }

    /// A source in the given mode (tests use it to try every mode).
    pub fn with_mode(mode: Mode, default_size: usize) -> Self {
        StackSource {
            mode,
            default_size,
            slabs: Mutex::new(Slabs::default()),
            limit: None,
            in_use: AtomicUsize::new(0),
        }
    }

    /// Counts a stack going into use, unless the limit is reached.
    pub(super) fn admit(&self) -> Result<(), SpawnError> {
        if let Some(limit) = self.limit {
            if self.in_use.fetch_add(1, Ordering::Relaxed) >= limit {
                self.in_use.fetch_sub(1, Ordering::Relaxed);
                return Err(SpawnError::StackLimit { limit });
            }
        }
        Ok(())
    }

    /// Counts a stack going out of use.
    pub(super) fn dismiss(&self) {
        if self.limit.is_some() {
            self.in_use.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The runtime's default stack size.
    pub fn default_size(&self) -> usize {
        self.default_size
    }

    /// The guard that slab stacks of this source get.
    fn slab_guard(&self) -> Guard {
        if self.mode == Mode::Regions {
            Guard::Region
        } else {
            Guard::Canary
        }
    }

    pub(super) fn allocate(&self, size: usize) -> Result<Stack, SpawnError> {
        let own_page = self.mode == Mode::Mappings && map::held() + 2 <= map::max_map_count() / 2;
        if own_page {
            return own(size, Guard::Page);
        }
        if size == self.default_size {
            let bottom = self.slab_stack()?;
            return Ok(Stack {
                bottom,
                size,
                guard: self.slab_guard(),
                home: Home::Slab,
                uses: 0,
            });
        }
        own(size, self.slab_guard())
    }

    fn slab_stack(&self) -> Result<*mut u8, SpawnError> {
        let mut slabs = lock(&self.slabs);
        if let Some(p) = slabs.free.pop() {
            return Ok(p as *mut u8);
        }
        // Each stack is its guard (or canary) page and then its usable range.
        let page = page_size();
        let stride = self.default_size + page;
        let len = stride * SLAB_STACKS;
        let base = map::map(len, 1)?;
        if self.slab_guard() == Guard::Region {
            for i in 0..SLAB_STACKS {
                if let Err(e) = map::install_guard(base.wrapping_add(i * stride), page) {
                    map::unmap(base, len, 1);
                    return Err(SpawnError::Mmap(e));
                }
            }
        }
        let base = base as usize;
        slabs.mapped.push((base, len));
        slabs
            .free
            .extend((1..SLAB_STACKS).map(|i| base + i * stride + page));
        Ok((base + page) as *mut u8)
    }

    pub(super) fn free(&self, stack: Stack) {
        let page = page_size();
        match stack.home {
            Home::Own => map::unmap(
                stack.bottom.wrapping_sub(page),
                stack.size + page,
                stack.guard.mappings(),
            ),
            Home::Slab => {
                // Give the pages back but keep the address range (no new mapping).
                map::release(stack.bottom, stack.size);
                lock(&self.slabs).free.push(stack.bottom as usize);
            }
        }
    }
}

/// A stack in a mapping of its own, `guard` below it.
fn own(size: usize, guard: Guard) -> Result<Stack, SpawnError> {
    let page = page_size();
    let cost = guard.mappings();
    let base = map::map(size + page, cost)?;
    let guarded = match guard {
        // SAFETY: the first page of our fresh mapping becomes the guard.
        Guard::Page => match unsafe { libc::mprotect(base.cast(), page, libc::PROT_NONE) } {
            0 => Ok(()),
            _ => Err(map::map_error(std::io::Error::last_os_error())),
        },
        Guard::Region => map::install_guard(base, page).map_err(SpawnError::Mmap),
        Guard::Canary => Ok(()),
    };
    if let Err(e) = guarded {
        map::unmap(base, size + page, cost);
        return Err(e);
    }
    Ok(Stack {
        bottom: base.wrapping_add(page),
        size,
        guard,
        home: Home::Own,
        uses: 0,
    })
}

impl Drop for StackSource {
    fn drop(&mut self) {
        let slabs = lock(&self.slabs);
        for &(base, len) in &slabs.mapped {
            map::unmap(base as *mut u8, len, 1);
        }
    }
}
