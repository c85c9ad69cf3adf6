//! Green-thread stacks: how they are mapped, guarded, pooled and reused.
//!
//! # Two modes
//!
//! * **Guarded** (the default): each stack is its own `mmap` with one
//!   `PROT_NONE` page below it. Running off the end faults on that page, and
//!   the overflow handler (`overflow.rs`) names the green thread and aborts.
//!   The price is two kernel mappings per stack, and the kernel caps a process
//!   at `vm.max_map_count` mappings (65530 by default): about 32,000 live green
//!   threads. Reaching it is reported as [`SpawnError::MapLimit`], which names
//!   the limit and both fixes.
//! * **Unguarded** (`RuntimeBuilder::guard_pages(false)`): stacks are carved
//!   from slabs of [`SLAB_STACKS`] stacks, one mapping per slab, so a million
//!   stacks need about 16,000 mappings. Without guard pages an overflow is
//!   caught after the fact: below each stack's usable range lies one more
//!   page, its *canary page*, which nothing touches unless the stack
//!   overflows; the hub asks the kernel (`mincore`) whether that page is
//!   resident every time the green thread switches back, and a touched
//!   canary page aborts with the same report. Checking residency rather
//!   than contents catches a frame that writes zeros too, and never reading
//!   the page keeps it from costing memory.
//!
//! Either way pages are only committed when touched (`MAP_NORESERVE`), so an
//! idle green thread costs the few pages its frames use, not its stack size.
//!
//! # Pooling
//!
//! A stack is taken when a green thread first runs (never at spawn, so queued
//! green threads cost no mapping) and returned when it finishes. Each hub keeps
//! up to [`POOL_MAX`] default-size stacks in a plain `Vec` it alone touches;
//! past that, guarded stacks are unmapped and slab stacks go back to the
//! runtime's shared free list. A stack is never freed or reused while it holds
//! live frames: only a finished green thread returns its stack.

use std::fmt;
use std::io;
use std::ptr;

use std::sync::{Mutex, MutexGuard};

/// Stack bookkeeping is not modelled by loom, so it uses std's lock directly.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stacks per slab in unguarded mode.
pub const SLAB_STACKS: usize = 64;
/// Default-size stacks a hub keeps for reuse.
pub const POOL_MAX: usize = 256;
/// The smallest stack a green thread may ask for.
///
/// ```
/// let g = grove_core::Builder::new().stack_size(grove_core::MIN_STACK).spawn(|| 1).unwrap();
/// assert_eq!(g.join().unwrap(), 1);
/// ```
pub const MIN_STACK: usize = 16 * 1024;
/// The largest stack a green thread may ask for.
///
/// ```
/// let err = grove_core::Builder::new().stack_size(grove_core::MAX_STACK + 1).spawn(|| ());
/// assert!(err.is_err());
/// ```
pub const MAX_STACK: usize = 1 << 30;
/// The default stack size; see `docs/architecture.md` for why.
///
/// ```
/// assert_eq!(grove_core::DEFAULT_STACK, 128 * 1024);
/// ```
pub const DEFAULT_STACK: usize = 128 * 1024;

/// Why a green thread could not be spawned or started.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnError {
    /// The runtime has shut down (or is shutting down) and takes no new work.
    ShutDown,
    /// The requested stack size is outside the allowed range.
    StackSize {
        /// What was asked for, in bytes.
        requested: usize,
    },
    /// A pinned spawn named a hub the runtime does not have.
    NoSuchHub {
        /// The hub index asked for.
        index: usize,
        /// How many hubs the runtime has.
        hubs: usize,
    },
    /// The kernel's limit on memory mappings per process is reached.
    MapLimit {
        /// The current `vm.max_map_count`.
        max_map_count: usize,
    },
    /// The kernel refused to map a stack for another reason (often: out of memory).
    Mmap(io::Error),
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::ShutDown => f.write_str("the runtime has shut down"),
            SpawnError::StackSize { requested } => write!(
                f,
                "stack size {requested} bytes is out of range ({MIN_STACK} to {MAX_STACK} bytes)"
            ),
            SpawnError::NoSuchHub { index, hubs } => {
                write!(
                    f,
                    "no hub {index}: the runtime has {hubs} hubs (0 to {})",
                    hubs - 1
                )
            }
            SpawnError::MapLimit { max_map_count } => write!(
                f,
                "the kernel's limit on memory mappings (vm.max_map_count = {max_map_count}) is \
                 reached: each guarded stack costs two mappings, so about {} green threads can be \
                 alive at once. Raise the limit (sysctl -w vm.max_map_count=2000000) or build the \
                 runtime with RuntimeBuilder::guard_pages(false), which carves stacks from slabs",
                max_map_count / 2
            ),
            SpawnError::Mmap(e) => write!(f, "could not map a green-thread stack: {e}"),
        }
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnError::Mmap(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> io::Error {
        let kind = match e {
            SpawnError::StackSize { .. } | SpawnError::NoSuchHub { .. } => {
                io::ErrorKind::InvalidInput
            }
            SpawnError::MapLimit { .. } | SpawnError::Mmap(_) => io::ErrorKind::OutOfMemory,
            SpawnError::ShutDown => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

/// Checks a requested stack size and rounds it up to whole pages.
pub fn validate_size(requested: usize) -> Result<usize, SpawnError> {
    if !(MIN_STACK..=MAX_STACK).contains(&requested) {
        return Err(SpawnError::StackSize { requested });
    }
    let page = page_size();
    Ok(requested.div_ceil(page) * page)
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// One green-thread stack: `[bottom, bottom + size)` is usable; the page
/// below `bottom` is `PROT_NONE` in guarded mode, and the canary page
/// otherwise.
///
/// It has no `Drop`: only [`StackSource`] releases a stack, and only that of
/// a finished green thread. A stack dropped any other way (its green thread
/// abandoned mid-run after a shutdown timed out) still holds frames and is
/// leaked on purpose.
#[derive(Debug)]
pub struct Stack {
    bottom: *mut u8,
    size: usize,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Its own mapping with a guard page; unmapped when freed.
    Guarded,
    /// Carved from a slab; goes back to the slab free list.
    Slab,
    /// Its own mapping, no guard page (unguarded mode, non-default size).
    Single,
}

// SAFETY: a Stack is plain memory owned by whoever holds it; moving that
// ownership to another thread is sound.
unsafe impl Send for Stack {}

impl Stack {
    /// The lowest usable address.
    #[cfg(all(test, not(loom)))]
    pub fn bottom(&self) -> *mut u8 {
        self.bottom
    }

    /// Usable bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The guard page's range, if this stack has one.
    pub fn guard(&self) -> Option<(usize, usize)> {
        (self.kind == Kind::Guarded).then(|| {
            let page = page_size();
            (self.bottom as usize - page, self.bottom as usize)
        })
    }

    /// Whether the canary is intact (always true for guarded stacks): the
    /// canary page below the usable range has never been touched, read or
    /// written, so the kernel has no page for it.
    pub fn canary_ok(&self) -> bool {
        if self.kind == Kind::Guarded {
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

fn map(len: usize) -> Result<*mut u8, SpawnError> {
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

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: callers pass a whole mapping created by `map` that nothing uses.
    unsafe { libc::munmap(p.cast(), len) };
}

/// Tells a map-count exhaustion (ENOMEM with the process at its mapping
/// limit) from a real out-of-memory. Counting mappings reads all of
/// `/proc/self/maps`, so a diagnosis is reused for a second: a burst of
/// failed spawns at the limit costs one read, not one each.
fn map_error(e: io::Error) -> SpawnError {
    static LAST: Mutex<Option<(std::time::Instant, Option<usize>)>> = Mutex::new(None);
    if e.raw_os_error() != Some(libc::ENOMEM) {
        return SpawnError::Mmap(e);
    }
    let mut last = lock(&LAST);
    let at_limit = match *last {
        Some((when, limit)) if when.elapsed() < std::time::Duration::from_secs(1) => limit,
        _ => {
            let limit = count_at_limit();
            *last = Some((std::time::Instant::now(), limit));
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
    let max = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse::<usize>()
        .ok()?;
    let used = std::fs::read_to_string("/proc/self/maps")
        .ok()?
        .lines()
        .count();
    (used + 16 >= max).then_some(max)
}

/// Where a runtime's stacks come from; shared by its hubs.
#[derive(Debug)]
pub struct StackSource {
    guarded: bool,
    default_size: usize,
    slabs: Mutex<Slabs>,
}

#[derive(Debug, Default)]
struct Slabs {
    free: Vec<usize>,
    mapped: Vec<(usize, usize)>,
}

impl StackSource {
    /// A source of `default_size` stacks, guarded or carved from slabs.
    pub fn new(guarded: bool, default_size: usize) -> Self {
        StackSource {
            guarded,
            default_size,
            slabs: Mutex::new(Slabs::default()),
        }
    }

    /// The runtime's default stack size.
    pub fn default_size(&self) -> usize {
        self.default_size
    }

    fn allocate(&self, size: usize) -> Result<Stack, SpawnError> {
        let stack = if self.guarded {
            let page = page_size();
            let base = map(size + page)?;
            // SAFETY: the first page of our fresh mapping becomes the guard.
            if unsafe { libc::mprotect(base.cast(), page, libc::PROT_NONE) } != 0 {
                let e = io::Error::last_os_error();
                unmap(base, size + page);
                return Err(map_error(e));
            }
            Stack {
                bottom: base.wrapping_add(page),
                size,
                kind: Kind::Guarded,
            }
        } else if size == self.default_size {
            let bottom = self.slab_stack()?;
            Stack {
                bottom,
                size,
                kind: Kind::Slab,
            }
        } else {
            let page = page_size();
            Stack {
                bottom: map(size + page)?.wrapping_add(page),
                size,
                kind: Kind::Single,
            }
        };
        Ok(stack)
    }

    fn slab_stack(&self) -> Result<*mut u8, SpawnError> {
        let mut slabs = lock(&self.slabs);
        if let Some(p) = slabs.free.pop() {
            return Ok(p as *mut u8);
        }
        // Each stack is its canary page and then its usable range.
        let page = page_size();
        let stride = self.default_size + page;
        let len = stride * SLAB_STACKS;
        let base = map(len)? as usize;
        slabs.mapped.push((base, len));
        slabs
            .free
            .extend((1..SLAB_STACKS).map(|i| base + i * stride + page));
        Ok((base + page) as *mut u8)
    }

    fn free(&self, stack: Stack) {
        match stack.kind {
            Kind::Guarded => {
                let page = page_size();
                unmap(stack.bottom.wrapping_sub(page), stack.size + page);
            }
            Kind::Single => {
                let page = page_size();
                unmap(stack.bottom.wrapping_sub(page), stack.size + page)
            }
            Kind::Slab => {
                // Give the pages back but keep the address range (no new mapping).
                // SAFETY: the stack is finished; nothing lives on it.
                unsafe { libc::madvise(stack.bottom.cast(), stack.size, libc::MADV_DONTNEED) };
                lock(&self.slabs).free.push(stack.bottom as usize);
            }
        }
    }
}

impl Drop for StackSource {
    fn drop(&mut self) {
        let slabs = lock(&self.slabs);
        for &(base, len) in &slabs.mapped {
            unmap(base as *mut u8, len);
        }
    }
}

/// A hub's own cache of default-size stacks.
#[derive(Debug, Default)]
pub struct StackPool {
    free: Vec<Stack>,
}

impl StackPool {
    /// Takes a stack of `size` bytes: from the pool if it is the default size
    /// and one is cached, else fresh from `source`.
    pub fn take(&mut self, source: &StackSource, size: usize) -> Result<Stack, SpawnError> {
        let stack = match self.free.pop() {
            Some(s) if size == source.default_size => s,
            other => {
                if let Some(s) = other {
                    self.free.push(s);
                }
                source.allocate(size)?
            }
        };
        Ok(stack)
    }

    /// Returns the stack of a finished green thread.
    pub fn give(&mut self, source: &StackSource, stack: Stack) {
        if stack.size == source.default_size && self.free.len() < POOL_MAX {
            self.free.push(stack);
        } else {
            source.free(stack);
        }
    }

    /// Frees every cached stack (the hub is stopping).
    pub fn drain(&mut self, source: &StackSource) {
        for s in self.free.drain(..) {
            source.free(s);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

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
    fn pool_reuses_and_canary_detects_clobbering() {
        for guarded in [true, false] {
            let src = StackSource::new(guarded, DEFAULT_STACK);
            let mut pool = StackPool::default();
            let s = pool.take(&src, DEFAULT_STACK).unwrap();
            let addr = s.bottom();
            assert!(s.canary_ok());
            assert_eq!(s.guard().is_some(), guarded);
            pool.give(&src, s);
            let s = pool.take(&src, DEFAULT_STACK).unwrap();
            assert_eq!(s.bottom(), addr, "pooled stack is reused");
            if !guarded {
                // The whole usable range is usable: touching its lowest
                // byte is no overflow.
                // SAFETY: the stack is ours and unused.
                unsafe { ptr::write_volatile(s.bottom(), 1) };
                assert!(s.canary_ok());
                // Zeros written below it are caught, like any other value.
                // SAFETY: the canary page is mapped and ours.
                unsafe { ptr::write_volatile(s.bottom().sub(page_size()).add(512) as *mut u64, 0) };
                assert!(!s.canary_ok());
                // SAFETY: as above; release the page again so the pooled
                // stack is clean for the next take.
                unsafe {
                    libc::madvise(
                        s.bottom().sub(page_size()).cast(),
                        page_size(),
                        libc::MADV_DONTNEED,
                    )
                };
                assert!(s.canary_ok());
            }
            pool.give(&src, s);
            pool.drain(&src);
        }
    }

    #[test]
    fn map_limit_message_names_the_limit_and_fixes() {
        let msg = SpawnError::MapLimit {
            max_map_count: 65530,
        }
        .to_string();
        assert!(msg.contains("vm.max_map_count = 65530"));
        assert!(msg.contains("guard_pages(false)"));
        assert!(msg.contains("sysctl"));
    }
}
