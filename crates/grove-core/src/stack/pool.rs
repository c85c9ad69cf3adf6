//! [`StackPool`]: a hub's own cache of default-size stacks, and how it keeps
//! their memory from growing.
//!
//! A stack that served a deep call keeps the pages that call touched. Pooled
//! as they are, those pages would stay resident for as long as the stack is
//! reused, so the pool *trims* its stacks: it gives back every page below
//! the top [`KEEP`] bytes (one `madvise`), which only a deep call touches.
//! A stack is trimmed at every [`TRIM_EVERY`]th return, and every stack used
//! since its last trim is trimmed when the hub runs out of work and is about
//! to sleep. The top pages, which every green thread touches, stay.

use super::{map, SpawnError, Stack, StackSource};

/// Default-size stacks a hub keeps for reuse.
pub const POOL_MAX: usize = 256;
/// Bytes at the top of a pooled stack that trimming leaves alone.
pub const KEEP: usize = 16 * 1024;
/// A pooled stack is trimmed at least once per this many returns.
pub const TRIM_EVERY: u32 = 32;

/// A hub's own cache of default-size stacks.
#[derive(Debug, Default)]
pub struct StackPool {
    free: Vec<Stack>,
}

impl StackPool {
    /// Takes a stack of `size` bytes: from the pool if it is the default size
    /// and one is cached, else fresh from `source`.
    pub fn take(&mut self, source: &StackSource, size: usize) -> Result<Stack, SpawnError> {
        source.admit()?;
        if size == source.default_size() {
            if let Some(s) = self.free.pop() {
                return Ok(s);
            }
        }
        source.allocate(size).inspect_err(|_| source.dismiss())
    }

    /// Returns the stack of a finished green thread.
    pub fn give(&mut self, source: &StackSource, mut stack: Stack) {
        source.dismiss();
        if stack.size != source.default_size() || self.free.len() >= POOL_MAX {
            source.free(stack);
            return;
        }
        stack.uses += 1;
        if stack.uses >= TRIM_EVERY {
            trim(&mut stack);
        }
        self.free.push(stack);
    }

    /// Trims every pooled stack used since its last trim (the hub is idle).
    pub fn trim_idle(&mut self) {
        for s in self.free.iter_mut().filter(|s| s.uses > 0) {
            trim(s);
        }
    }

    /// Frees every cached stack (the hub is stopping).
    pub fn drain(&mut self, source: &StackSource) {
        for s in self.free.drain(..) {
            source.free(s);
        }
    }
}

/// Gives back the pages of `stack` below its top [`KEEP`] bytes.
fn trim(stack: &mut Stack) {
    if stack.size > KEEP {
        map::release(stack.bottom, stack.size - KEEP);
    }
    stack.uses = 0;
}
