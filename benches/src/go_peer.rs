//! The Go peer: the workloads as a Go program (`benches/go/main.go`, standard
//! library only), built with `go build` when `go` is on the path and run
//! once per measurement, as the Rust peers' child processes are.
//!
//! Go's scheduler is what people compare green threads against, so its
//! numbers sit in the same rows, marked as another language. Where `go` is
//! missing (or the build fails) the suite prints one note and runs without
//! it.
//!
//! A measurement runs `go-peer -workload W -row K -count N -workers W
//! -spin-iters I` and reads its `SAMPLE <value>\t<note>` line (see
//! `child.rs`). A server workload's program prints `LISTEN <address>`
//! instead and serves until its standard input closes; the suite's load
//! client drives it as it drives every other peer's server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::child;
use crate::config::Config;
use crate::error::BenchError;
use crate::workloads::{PeerPlan, Row, Sample};

/// How long a Go server that was told to stop may take to exit.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The Go program, built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoPeer {
    /// The executable.
    pub exe: PathBuf,
    /// What `go version` said.
    pub version: String,
}

/// Where the Go source is.
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// Builds the Go program into `out_dir`; `Err` says why there is no Go peer.
pub fn build(out_dir: &Path) -> Result<GoPeer, String> {
    let version =
        go(&["version"], None).map_err(|e| format!("no Go peer: `go` is not on the path ({e})"))?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("no Go peer: cannot create {}: {e}", out_dir.display()))?;
    let exe = out_dir.join("go-peer");
    let out = exe.to_string_lossy().into_owned();
    go(&["build", "-o", &out, "."], Some(&source_dir()))
        .map_err(|e| format!("no Go peer: `go build` failed: {e}"))?;
    Ok(GoPeer {
        exe,
        version: version.trim().to_string(),
    })
}

/// Runs `go ARGS` in `dir`, with the installed toolchain only and no module
/// downloads (the program needs none); its standard output, or why it failed.
fn go(args: &[&str], dir: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new("go");
    cmd.args(args)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .stdin(Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    // `go build` needs a cache folder, which it finds from HOME; give it
    // one in the target dir where the environment has none.
    let has = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if !has("GOCACHE") && !has("HOME") && !has("XDG_CACHE_HOME") {
        cmd.env("GOCACHE", crate::cli::output_dir().join("go-cache"));
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("no output").to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn command(go: &GoPeer, workload: &str, row: &Row, plan: &PeerPlan, cfg: &Config) -> Command {
    let mut cmd = Command::new(&go.exe);
    cmd.arg("-workload")
        .arg(workload)
        .arg("-row")
        .arg(&row.key)
        .arg("-count")
        .arg(plan.count.to_string())
        .arg("-workers")
        .arg(row.workers.to_string())
        .arg("-spin-iters")
        .arg(cfg.spin_iters.to_string());
    cmd
}

/// The Go peer of this run, or the error a measurement reports without one.
fn peer(cfg: &Config) -> Result<&GoPeer, BenchError> {
    cfg.go.as_ref().ok_or_else(|| BenchError::Task {
        peer: "go",
        message: "the Go peer was not built".to_string(),
    })
}

/// Measures `plan` of `row` once with the Go program.
pub fn measure(
    workload: &str,
    row: &Row,
    plan: &PeerPlan,
    cfg: &Config,
) -> Result<Sample, BenchError> {
    let go = peer(cfg)?;
    child::run_for_sample(command(go, workload, row, plan, cfg), "go")
}

/// A Go server, running until dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts the Go program's server of `workload` for `plan` of `row`.
    pub fn start(
        workload: &str,
        row: &Row,
        plan: &PeerPlan,
        cfg: &Config,
    ) -> Result<Server, BenchError> {
        let go = peer(cfg)?;
        let mut child = command(go, workload, row, plan, cfg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        match line
            .strip_prefix("LISTEN ")
            .and_then(|a| a.trim().parse().ok())
        {
            Some(addr) => Ok(Server { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(BenchError::Child(format!(
                    "go: no LISTEN line, got {:?}",
                    line.trim()
                )))
            }
        }
    }
}

impl Drop for Server {
    /// Closes the server's standard input, which stops it, and waits for it
    /// to exit (killing it if it does not within [`STOP_WAIT`]).
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        child::wait_or_kill(&mut self.child, STOP_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::Peer;
    use crate::workloads::load_client::{self, Load};
    use crate::workloads::protocol::Protocol;
    use crate::workloads::Unit;

    fn row(key: &str, unit: Unit) -> Row {
        Row {
            key: key.to_string(),
            unit,
            workers: 2,
            isolate: false,
            peers: Vec::new(),
        }
    }

    #[test]
    fn the_go_program_measures_and_serves_where_go_is_installed() {
        let dir = std::env::temp_dir().join(format!("grove-bench-go-{}", std::process::id()));
        let go = match build(&dir) {
            Ok(go) => go,
            Err(e) => {
                // Without Go the suite runs on; any other failure is a bug.
                assert!(e.contains("`go` is not on the path"), "{e}");
                return;
            }
        };
        assert!(go.version.starts_with("go version"), "{}", go.version);
        let cfg = Config {
            workers: 2,
            quick: true,
            spin_iters: 100,
            go: Some(go),
        };
        for (workload, key, unit) in [
            ("spawn_join", "", Unit::NsPerTask),
            ("sync_contended", "queue", Unit::NsPerOp),
            ("pingpong_cross", "", Unit::NsPerRoundTrip),
        ] {
            let plan = PeerPlan::new(Peer::Go, 1000, "");
            let s = measure(workload, &row(key, unit), &plan, &cfg).unwrap();
            assert!(s.value.is_finite() && s.value > 0.0, "{workload}: {s:?}");
        }
        let plan = PeerPlan::new(Peer::Go, 2, "");
        let http = row("", Unit::RequestsPerSec);
        let server = Server::start("http_hello", &http, &plan, &cfg).unwrap();
        let load = Load {
            connections: 2,
            duration: Duration::from_millis(50),
            request: Protocol::Http.request(),
            response: Protocol::Http.response(),
        };
        // The client checks every response byte for byte.
        let driven = load_client::drive("go", server.addr, &load).unwrap();
        assert!(driven.trips > 0);
        drop(server);
        let err = measure("settled", &row("bound", Unit::Millis), &plan, &cfg).unwrap_err();
        assert!(err.to_string().contains("no Go version"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_build_the_go_peer_reports_an_error() {
        let cfg = Config {
            workers: 1,
            quick: true,
            spin_iters: 1,
            go: None,
        };
        let row = Row {
            key: String::new(),
            unit: crate::workloads::Unit::NsPerTask,
            workers: 1,
            isolate: false,
            peers: Vec::new(),
        };
        let plan = PeerPlan::new(crate::peers::Peer::Go, 10, "");
        let err = measure("spawn_join", &row, &plan, &cfg).unwrap_err();
        assert!(err.to_string().contains("not built"), "{err}");
    }
}
