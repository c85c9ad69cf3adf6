//! [`SpawnError`]: why a green thread could not be spawned or started.

use std::fmt;
use std::io;

use super::{MAX_STACK, MIN_STACK};

/// Why a green thread could not be spawned or started.
///
/// A spawn that is refused at once returns it from `spawn`; a green thread
/// that cannot get its stack when it first runs finishes with
/// `Error::Spawn(..)`, which its `join` returns.
///
/// ```
/// let err = grove::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
/// assert!(matches!(err, grove::SpawnError::StackSize { requested: 1 }));
/// assert!(err.to_string().contains("out of range"));
/// ```
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
    /// The process is at the share of the kernel's limit on memory mappings
    /// (`vm.max_map_count`) that green-thread stacks may use: the rest is
    /// kept for the allocator and everything else in the process.
    MapLimit {
        /// The current `vm.max_map_count`.
        max_map_count: usize,
    },
    /// The runtime's limit on stacks in use at once
    /// (`RuntimeBuilder::max_stacks`) is reached.
    StackLimit {
        /// The limit.
        limit: usize,
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
                "no memory mapping for a green-thread stack: the process is at the kernel's \
                 limit on memory mappings (vm.max_map_count = {max_map_count}), or stacks \
                 hold the three quarters of it they may use (the rest is kept for the \
                 allocator). Let fewer green threads be alive at once, raise the limit \
                 (sysctl -w vm.max_map_count=2000000), or, on a kernel without guard regions \
                 (Linux before 6.13), build the runtime with \
                 RuntimeBuilder::guard_pages(false), which carves every stack from slabs"
            ),
            SpawnError::StackLimit { limit } => write!(
                f,
                "the runtime's limit of {limit} green-thread stacks in use at once \
                 (RuntimeBuilder::max_stacks) is reached"
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
            SpawnError::MapLimit { .. } | SpawnError::StackLimit { .. } | SpawnError::Mmap(_) => {
                io::ErrorKind::OutOfMemory
            }
            SpawnError::ShutDown => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

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

    #[test]
    fn io_kinds_follow_the_cause() {
        let e: io::Error = SpawnError::StackSize { requested: 1 }.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e: io::Error = SpawnError::MapLimit { max_map_count: 1 }.into();
        assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
    }
}
