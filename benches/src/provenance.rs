//! Where and when a run happened: the machine, the toolchain, grove's commit
//! and the date, recorded in the results file so that two runs can be told
//! apart before they are compared.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine a run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name (`model name` in `/proc/cpuinfo`), or `unknown`.
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cores: usize,
    /// Memory of the machine (`MemTotal` in `/proc/meminfo`), bytes.
    pub memory_bytes: Option<u64>,
    /// The kernel's release (`/proc/sys/kernel/osrelease`), or `unknown`.
    pub kernel: String,
    /// `vm.max_map_count`: how many mappings a process may have, which
    /// bounds how many guarded stacks may exist at once.
    pub max_map_count: Option<u64>,
}

/// The compilers that built what ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Toolchain {
    /// `rustc --version` of the compiler that built the suite.
    pub rustc: String,
    /// `go version`, when the Go peer was built.
    #[serde(default)]
    pub go: Option<String>,
}

/// Everything about a run besides its numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The machine.
    pub machine: Machine,
    /// The toolchain.
    pub toolchain: Toolchain,
    /// grove's commit (40 hex digits), or `unknown` when the source is not
    /// in a git repository.
    pub grove_commit: String,
    /// Whether tracked files differed from that commit; `None` when the
    /// `git` command is not there to tell.
    pub grove_modified: Option<bool>,
    /// When the run started, RFC 3339 in UTC.
    pub date: String,
    /// The same, as seconds since the Unix epoch.
    pub unix_time: u64,
}

impl Default for Provenance {
    /// Nothing known: what a results file that did not record it reads as.
    fn default() -> Provenance {
        let unknown = || "unknown".to_string();
        Provenance {
            machine: Machine {
                cpu_model: unknown(),
                cores: 0,
                memory_bytes: None,
                kernel: unknown(),
                max_map_count: None,
            },
            toolchain: Toolchain {
                rustc: unknown(),
                go: None,
            },
            grove_commit: unknown(),
            grove_modified: None,
            date: unknown(),
            unix_time: 0,
        }
    }
}

impl Provenance {
    /// Reads it from this machine, now.
    pub fn here_and_now() -> Provenance {
        let now = std::time::SystemTime::now();
        let root = workspace_root();
        Provenance {
            machine: Machine::this(),
            toolchain: Toolchain {
                rustc: env!("GROVE_BENCH_RUSTC").to_string(),
                go: None,
            },
            grove_commit: commit(&root).unwrap_or_else(|| "unknown".to_string()),
            grove_modified: modified(&root),
            date: humantime::format_rfc3339_seconds(now).to_string(),
            unix_time: now
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

impl Machine {
    /// This machine, from `/proc`.
    pub fn this() -> Machine {
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let meminfo = read("/proc/meminfo").unwrap_or_default();
        Machine {
            cpu_model: field(&cpuinfo, "model name")
                .or_else(|| field(&cpuinfo, "Hardware"))
                .unwrap_or("unknown")
                .to_string(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: field(&meminfo, "MemTotal")
                .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024),
            kernel: read("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".to_string()),
            max_map_count: read("/proc/sys/vm/max_map_count").and_then(|s| s.parse().ok()),
        }
    }
}

/// The value of the first `key: value` line (as in `/proc/cpuinfo`).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The workspace this suite was built from (the parent of `benches/`).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The commit checked out at `root`: asks `git` when it is installed, and
/// otherwise reads the repository's files.
fn commit(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "HEAD"])
        .filter(|s| is_hash(s))
        .or_else(|| commit_from_files(root))
}

/// Whether tracked files differ from the commit, if `git` can tell.
fn modified(root: &Path) -> Option<bool> {
    git(root, &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty())
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `HEAD` resolved by reading `.git` (a folder, or a file naming one, as in
/// a linked worktree), its loose refs and `packed-refs`.
fn commit_from_files(root: &Path) -> Option<String> {
    let dot = root.join(".git");
    let git_dir = if dot.is_dir() {
        dot
    } else {
        let link = read(&dot)?;
        root.join(link.strip_prefix("gitdir:")?.trim())
    };
    // A linked worktree keeps its HEAD in its own folder and the refs in the
    // common one.
    let common = read(git_dir.join("commondir"))
        .map(|c| git_dir.join(c))
        .unwrap_or_else(|| git_dir.clone());
    let head = read(git_dir.join("HEAD"))?;
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        return is_hash(&head).then_some(head);
    };
    let loose = read(git_dir.join(name)).or_else(|| read(common.join(name)));
    let packed = || {
        read(common.join("packed-refs"))?.lines().find_map(|l| {
            let (hash, r) = l.split_once(' ')?;
            (r == name).then(|| hash.to_string())
        })
    };
    loose.or_else(packed).filter(|h| is_hash(h))
}

fn is_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpuinfo_style_fields() {
        let text = "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nflags\t: a b\n";
        assert_eq!(field(text, "model name"), Some("Some CPU @ 2.0GHz"));
        assert_eq!(field(text, "Hardware"), None);
    }

    #[test]
    fn resolves_head_without_git() {
        let dir = std::env::temp_dir().join(format!("grove-bench-git-{}", std::process::id()));
        let git = dir.join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        let a = "0123456789abcdef0123456789abcdef01234567";
        let b = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack\n{b} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(commit_from_files(&dir).as_deref(), Some(b), "packed ref");
        std::fs::write(git.join("refs/heads/main"), format!("{a}\n")).unwrap();
        assert_eq!(commit_from_files(&dir).as_deref(), Some(a), "loose ref");
        std::fs::write(git.join("HEAD"), b).unwrap();
        assert_eq!(commit_from_files(&dir).as_deref(), Some(b), "detached");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(commit_from_files(&dir), None, "no repository");
    }

    #[test]
    fn this_machine_is_described() {
        let p = Provenance::here_and_now();
        assert!(p.machine.cores >= 1);
        assert!(!p.toolchain.rustc.is_empty());
        assert!(p.grove_commit == "unknown" || is_hash(&p.grove_commit));
        // RFC 3339 in UTC: 2026-01-02T03:04:05Z
        assert_eq!(p.date.len(), 20, "{}", p.date);
        assert!(p.date.ends_with('Z'), "{}", p.date);
    }
}
