//! File system helpers that run on the blocking pool ([`crate::blocking`]),
//! with std's names and signatures: a green thread reading a file does not
//! stall its hub.
//!
//! ```
//! let g = grove::spawn(|| grove::fs::read_to_string("Cargo.toml"));
//! assert!(g.join().unwrap().unwrap().contains("grove-io"));
//! ```

use std::io;
use std::path::Path;

use crate::blocking::blocking;

/// [`std::fs::read`] on the blocking pool.
///
/// ```
/// let bytes = grove::spawn(|| grove::fs::read("Cargo.toml")).join().unwrap().unwrap();
/// assert!(!bytes.is_empty());
/// ```
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::read(path))
}

/// [`std::fs::read_to_string`] on the blocking pool.
///
/// ```
/// let text = grove::fs::read_to_string("Cargo.toml").unwrap();
/// assert!(text.contains("[package]"));
/// ```
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::read_to_string(path))
}

/// [`std::fs::write`] on the blocking pool.
///
/// ```
/// let path = std::env::temp_dir().join(format!("grove-fs-write-{}", std::process::id()));
/// grove::fs::write(&path, b"contents").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"contents");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    let contents = contents.as_ref().to_vec();
    blocking(move || std::fs::write(path, contents))
}

/// [`std::fs::metadata`] on the blocking pool.
///
/// ```
/// assert!(grove::fs::metadata("Cargo.toml").unwrap().is_file());
/// ```
pub fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::metadata(path))
}

/// [`std::fs::remove_file`] on the blocking pool.
///
/// ```
/// let path = std::env::temp_dir().join(format!("grove-fs-rm-{}", std::process::id()));
/// std::fs::write(&path, b"x").unwrap();
/// grove::fs::remove_file(&path).unwrap();
/// assert!(!path.exists());
/// ```
pub fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::remove_file(path))
}

/// [`std::fs::create_dir_all`] on the blocking pool.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("grove-fs-dir-{}/a/b", std::process::id()));
/// grove::fs::create_dir_all(&dir).unwrap();
/// assert!(dir.is_dir());
/// ```
pub fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_path_buf();
    blocking(move || std::fs::create_dir_all(path))
}
