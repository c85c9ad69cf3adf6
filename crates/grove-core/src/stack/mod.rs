//! Green-thread stacks: how they are mapped, guarded, pooled and reused.
//!
//! # Guards
//!
//! Every stack has one page below its usable range that no green thread
//! which fits its stack ever touches. How it is kept untouched depends on
//! the runtime's mode (`source.rs`):
//!
//! * a **guard region** (the default on Linux 6.13 and later): the page is
//!   made a guard with `madvise(MADV_GUARD_INSTALL)`, so running off the end
//!   faults at once, and the overflow handler (`overflow.rs`) names the green
//!   thread and aborts. Guard regions do not split mappings, so stacks are
//!   carved 128 to a slab, one mapping per slab: a million green threads
//!   need about 8,000 of the kernel's 65,530 mappings.
//! * a **guard page** (the default on older kernels): each stack is its own
//!   mapping with a `PROT_NONE` page, two mappings per stack, for as long as
//!   stacks hold less than half of `vm.max_map_count`; further stacks come
//!   from canary slabs.
//! * a **canary page** (`guard_pages(false)`, or past that half on older
//!   kernels): the page is ordinary memory, and the hub asks the kernel
//!   (`mincore`) whether it is resident every time the green thread switches
//!   back; a touched canary page aborts with the same report. Checking
//!   residency rather than contents catches a frame that writes zeros too,
//!   and never reading the page keeps it from costing memory. Between the
//!   overflow and the check the green thread may have written into the
//!   neighbouring stack, which is why guards are the default.
//!
//! Stacks never take the mappings the rest of the process needs: they stay
//! within three quarters of `vm.max_map_count` (`map.rs`), and past that a
//! green thread fails to start with [`SpawnError::MapLimit`].
//!
//! Pages are only committed when touched (`MAP_NORESERVE`), so an idle green
//! thread costs the few pages its frames use, not its stack size.
//!
//! # Pooling
//!
//! A stack is taken when a green thread first runs (never at spawn, so queued
//! green threads cost no mapping) and returned when it finishes. Each hub keeps
//! up to 256 default-size stacks (`pool.rs`), trimming the pages deep
//! calls left behind; past that, stacks go back to the runtime's source (slab
//! stacks to its free list with their pages released, others unmapped). A
//! stack is never freed or reused while it holds live frames: only a
//! finished green thread returns its stack.

mod error;
mod map;
mod pool;
mod source;

pub use error::SpawnError;
pub use pool::StackPool;
pub use source::StackSource;

/// The smallest stack a green thread may ask for.
///
/// ```
/// let g = grove::Builder::new().stack_size(grove::MIN_STACK).spawn(|| 1).unwrap();
/// assert_eq!(g.join().unwrap(), 1);
/// ```
pub const MIN_STACK: usize = 16 * 1024;
/// The largest stack a green thread may ask for.
///
/// ```
/// let err = grove::Builder::new().stack_size(grove::MAX_STACK + 1).spawn(|| ());
/// assert!(err.is_err());
/// ```
pub const MAX_STACK: usize = 1 << 30;
/// The default stack size, 2 MiB, as for `std::thread::spawn`: what runs on
/// an OS thread runs on a green thread, debug builds' larger frames included
/// (a thousand frames of half a kilobyte take 1.2 MB in a debug build). It
/// costs address space, not memory: see `docs/architecture.md`.
///
/// ```
/// assert_eq!(grove::DEFAULT_STACK, 2 * 1024 * 1024);
/// ```
pub const DEFAULT_STACK: usize = 2 * 1024 * 1024;

/// Checks a requested stack size and rounds it up to whole pages.
pub fn validate_size(requested: usize) -> Result<usize, SpawnError> {
    if !(MIN_STACK..=MAX_STACK).contains(&requested) {
        return Err(SpawnError::StackSize { requested });
    }
    let page = page_size();
    Ok(requested.div_ceil(page) * page)
}

/// The kernel's page size, asked once (it is on every stack hand-out path).
pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let known = PAGE.load(std::sync::atomic::Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let p = if p > 0 { p as usize } else { 4096 };
    PAGE.store(p, std::sync::atomic::Ordering::Relaxed);
    p
}

/// What keeps the page below a stack untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// A `PROT_NONE` page: its own mapping, so two per stack.
    Page,
    /// A guard region inside the stack's mapping.
    Region,
    /// Nothing: a canary page checked at every switch back.
    Canary,
}

impl Guard {
    /// Mappings a stack of its own with this guard costs.
    fn mappings(self) -> usize {
        if self == Guard::Page {
            2
        } else {
            1
        }
    }
}

/// Where a stack's memory goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    /// Its own mapping; unmapped when freed.
    Own,
    /// Carved from a slab; goes back to the slab free list.
    Slab,
}

/// One green-thread stack: `[bottom, bottom + size)` is usable; the page
/// below `bottom` is its guard or canary page.
///
/// It has no `Drop`: only [`StackSource`] releases a stack, and only that of
/// a finished green thread. A stack dropped any other way (its green thread
/// abandoned mid-run after a shutdown timed out) still holds frames and is
/// leaked on purpose.
#[derive(Debug)]
pub struct Stack {
    bottom: *mut u8,
    size: usize,
    guard: Guard,
    home: Home,
    /// Returns to a pool since its last trim (`pool.rs`).
    uses: u32,
}

// SAFETY: a Stack is plain memory owned by whoever holds it; moving that
// ownership to another thread is sound.
unsafe impl Send for Stack {}

impl Stack {
    /// The lowest usable address.
    #[cfg_attr(
        not(any(
            all(test, not(loom)),
            grove_sanitize = "address",
            grove_sanitize = "valgrind"
        )),
        allow(dead_code)
    )]
    pub fn bottom(&self) -> *mut u8 {
        self.bottom
    }

    /// Usable bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The guard page's range, if this stack has one (page or region).
    pub fn guard(&self) -> Option<(usize, usize)> {
        (self.guard != Guard::Canary).then(|| {
            let page = page_size();
            (self.bottom as usize - page, self.bottom as usize)
        })
    }

    /// Whether the canary is intact (always true for guarded stacks): the
    /// canary page below the usable range has never been touched, read or
    /// written, so the kernel has no page for it.
    pub fn canary_ok(&self) -> bool {
        if self.guard != Guard::Canary {
            return true;
        }
        let page = page_size();
        let mut resident = 0u8;
        // SAFETY: the canary page is page-aligned, mapped, and ours; mincore
        // writes one byte per page into `resident`, and we ask for one page.
        let r = unsafe { libc::mincore(self.bottom.sub(page).cast(), page, &mut resident) };
        r != 0 || resident & 1 == 0
    }

    /// The stack in the form the `context` crate switches onto.
    pub fn as_context_stack(&self) -> context::stack::Stack {
        let top = self.bottom.wrapping_add(self.size);
        // SAFETY: [bottom, top) is a mapped, writable region owned by this
        // Stack, and the caller keeps the Stack alive while the context runs.
        unsafe { context::stack::Stack::new(top.cast(), self.bottom.cast()) }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
