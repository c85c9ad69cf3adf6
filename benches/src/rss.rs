//! Memory of this process: resident pages from `/proc/self/statm`, and the
//! page tables that map them from `/proc/self/status`.

use std::fs::File;
use std::io::{BufRead, BufReader};

use crate::error::BenchError;

/// The kernel's page size for this process's mappings, read from the first
/// `KernelPageSize` line of `/proc/self/smaps` (4096 if there is none).
pub fn page_size() -> Result<u64, BenchError> {
    let f = BufReader::new(File::open("/proc/self/smaps")?);
    for line in f.lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix("KernelPageSize:") {
            let kb: u64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .map_err(|_| BenchError::Child(format!("unreadable smaps line: {line}")))?;
            return Ok(kb * 1024);
        }
    }
    Ok(4096)
}

/// Resident bytes of this process: statm's second field times the page size.
pub fn resident_bytes(page: u64) -> Result<u64, BenchError> {
    let s = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| BenchError::Child(format!("unreadable /proc/self/statm: {s}")))?;
    Ok(pages * page)
}

/// Bytes of page tables of this process (`VmPTE` in `/proc/self/status`).
pub fn page_table_bytes() -> Result<u64, BenchError> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    let line = s
        .lines()
        .find(|l| l.starts_with("VmPTE:"))
        .ok_or_else(|| BenchError::Child("no VmPTE line in /proc/self/status".into()))?;
    let kb: u64 = line["VmPTE:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|_| BenchError::Child(format!("unreadable status line: {line}")))?;
    Ok(kb * 1024)
}

/// What memory the process holds: resident bytes plus page tables.
pub fn held_bytes(page: u64) -> Result<u64, BenchError> {
    Ok(resident_bytes(page)? + page_table_bytes()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_something_resident() {
        let page = page_size().unwrap();
        assert!(resident_bytes(page).unwrap() > 0);
        assert!(held_bytes(page).unwrap() > resident_bytes(page).unwrap());
    }
}
