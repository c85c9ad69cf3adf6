//! The workload registry.
//!
//! A workload is one file in this folder implementing [`Workload`]; it lists
//! its *rows* (one line of the table each, e.g. `fanout_cpu/1w`) and, for each
//! row, which peers run it at what size. The harness asks it to measure one
//! (row, peer) pair at a time, in this process or in a child process.
//!
//! Adding a workload means adding its file and its name to [`READY`].

use crate::config::Config;
use crate::error::BenchError;
use crate::peers::Peer;

mod contended_queue;
mod contended_semaphore;
mod cpu_batch;
mod echo;
mod fanout_cpu;
mod http_hello;
mod idle_memory;
mod imbalanced;
pub(crate) mod load_client;
mod net_server;
mod pingpong_cross;
mod pingpong_net;
pub(crate) mod protocol;
mod settled;
mod spawn_join;
mod sync_contended;
mod yield_local;

/// What a row's numbers count. Every unit is "lower is better".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per task spawned and joined.
    NsPerTask,
    /// Nanoseconds per switch from one green thread (task, coroutine) to another.
    NsPerSwitch,
    /// Wall-clock milliseconds for the whole batch.
    Millis,
    /// Resident bytes per idle green thread (task, coroutine) above the baseline.
    BytesPerThread,
    /// Nanoseconds per message sent and answered by two green threads.
    NsPerRoundTrip,
    /// Nanoseconds per operation (a semaphore cycle, a queued item).
    NsPerOp,
    /// Round trips answered per second, over all connections.
    RoundTripsPerSec,
    /// HTTP requests answered per second, over all connections.
    RequestsPerSec,
}

impl Unit {
    /// The unit as printed and written to JSON.
    pub fn label(self) -> &'static str {
        match self {
            Unit::NsPerTask => "ns/task",
            Unit::NsPerSwitch => "ns/switch",
            Unit::Millis => "ms",
            Unit::BytesPerThread => "bytes/thread",
            Unit::NsPerRoundTrip => "ns/round trip",
            Unit::NsPerOp => "ns/op",
            Unit::RoundTripsPerSec => "round trips/s",
            Unit::RequestsPerSec => "requests/s",
        }
    }

    /// Whether a smaller number is the better one (times, bytes) or the
    /// larger (throughput).
    pub fn lower_is_better(self) -> bool {
        !matches!(self, Unit::RoundTripsPerSec | Unit::RequestsPerSec)
    }
}

/// One peer's part in a row: how many tasks it runs and what to say about it.
#[derive(Clone, Debug)]
pub struct PeerPlan {
    /// The peer.
    pub peer: Peer,
    /// Tasks, green threads, switches or coroutines, as the workload counts them.
    pub count: usize,
    /// Settings or caveats printed beside its numbers.
    pub note: String,
}

impl PeerPlan {
    /// A plan with a note.
    pub fn new(peer: Peer, count: usize, note: impl Into<String>) -> PeerPlan {
        PeerPlan {
            peer,
            count,
            note: note.into(),
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// The part after the workload's name (`""` for a workload's only row).
    pub key: String,
    /// What the numbers count.
    pub unit: Unit,
    /// OS threads (hubs, workers) the runtimes get for this row.
    pub workers: usize,
    /// Measure every peer of this row in a child process (memory workloads).
    pub isolate: bool,
    /// Who runs it, grove first.
    pub peers: Vec<PeerPlan>,
}

/// One measurement.
#[derive(Clone, Debug)]
pub struct Sample {
    /// In the row's unit.
    pub value: f64,
    /// What the run observed besides the number (e.g. how many green threads
    /// were stolen); empty if nothing.
    pub note: String,
}

impl Sample {
    /// A sample without a note.
    pub fn plain(value: f64) -> Sample {
        Sample {
            value,
            note: String::new(),
        }
    }
}

/// A number computed from several rows' medians (a speedup, a ratio).
#[derive(Clone, Debug)]
pub struct Derived {
    /// What it is, e.g. `speedup 1w -> 2w`.
    pub label: String,
    /// Whose medians it came from.
    pub peer: Peer,
    /// The number.
    pub value: f64,
    /// Whether a smaller value is the better one.
    pub lower_is_better: bool,
}

/// A row's medians per peer, as the harness hands them to [`Workload::derived`].
pub struct RowMedians<'a> {
    /// The row's key.
    pub key: &'a str,
    /// Median per peer that succeeded.
    pub medians: Vec<(Peer, f64)>,
}

impl RowMedians<'_> {
    /// The median of `peer`, if it ran.
    pub fn of(&self, peer: Peer) -> Option<f64> {
        self.medians
            .iter()
            .find(|(p, _)| *p == peer)
            .map(|(_, m)| *m)
    }
}

/// A benchmark workload: see the module documentation.
pub trait Workload: Sync {
    /// Its name, as given to `--only`.
    fn name(&self) -> &'static str;
    /// One sentence: what it measures and why that matters.
    fn about(&self) -> &'static str;
    /// Its rows for this run's configuration. Must be the same for the same
    /// configuration: a child process rebuilds them to find its row.
    fn rows(&self, cfg: &Config) -> Vec<Row>;
    /// Measures `plan` of `row` once.
    fn measure(&self, row: &Row, plan: &PeerPlan, cfg: &Config) -> Result<Sample, BenchError>;
    /// Numbers computed across rows; none by default.
    fn derived(&self, _rows: &[RowMedians<'_>]) -> Vec<Derived> {
        Vec::new()
    }
}

/// Every workload that runs today, in table order.
pub static READY: &[&dyn Workload] = &[
    &spawn_join::SpawnJoin,
    &yield_local::YieldLocal,
    &fanout_cpu::FanoutCpu,
    &imbalanced::Imbalanced,
    &settled::Settled,
    &idle_memory::IdleMemory,
    &pingpong_cross::PingpongCross,
    &pingpong_net::PingpongNet,
    &sync_contended::SyncContended,
    &echo::ECHO,
    &http_hello::HTTP_HELLO,
];

/// The workload named `name`, if it runs today.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    READY.iter().copied().find(|w| w.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(quick: bool) -> Config {
        Config {
            workers: 2,
            quick,
            spin_iters: 1,
            go: None,
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = READY.iter().map(|w| w.name()).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn rows_have_unique_keys_and_grove_first() {
        for quick in [false, true] {
            for w in READY {
                let rows = w.rows(&cfg(quick));
                assert!(!rows.is_empty(), "{} has no rows", w.name());
                let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), rows.len(), "{} repeats a row key", w.name());
                for r in &rows {
                    assert_eq!(
                        r.peers.first().map(|p| p.peer),
                        Some(Peer::Grove),
                        "{}/{}",
                        w.name(),
                        r.key
                    );
                    assert!(
                        r.peers.iter().all(|p| p.count > 0),
                        "{}/{}",
                        w.name(),
                        r.key
                    );
                }
            }
        }
    }

    #[test]
    fn the_rows_of_a_workload_share_one_unit() {
        // The picture draws each workload's rows on one axis.
        for w in READY {
            let rows = w.rows(&cfg(false));
            assert!(
                rows.iter().all(|r| r.unit == rows[0].unit),
                "{} mixes units",
                w.name()
            );
        }
    }

    #[test]
    fn grove_measures_in_process_with_small_counts() {
        let w = find("spawn_join").expect("spawn_join is registered");
        let row = &w.rows(&cfg(true))[0];
        let plan = PeerPlan::new(Peer::Grove, 100, "");
        let s = w.measure(row, &plan, &cfg(true)).expect("a sample");
        assert!(s.value.is_finite() && s.value > 0.0);
    }

    #[test]
    fn sync_workloads_run_and_check_in_process() {
        for (name, count) in [("pingpong_cross", 200), ("sync_contended", 2_000)] {
            let w = find(name).expect("registered");
            for row in w.rows(&cfg(true)) {
                for peer in row.peers.iter().map(|p| p.peer) {
                    // may and Go run in processes of their own.
                    if peer.needs_child() || peer == Peer::Go {
                        continue;
                    }
                    let plan = PeerPlan::new(peer, count, "");
                    let s = w.measure(&row, &plan, &cfg(true));
                    let s = s.unwrap_or_else(|e| panic!("{name}/{} on {peer}: {e}", row.key));
                    assert!(s.value.is_finite() && s.value > 0.0);
                }
            }
        }
    }

    #[test]
    fn net_workloads_serve_the_common_client_in_process() {
        for name in ["echo", "http_hello"] {
            let w = find(name).expect("registered");
            let row = &w.rows(&cfg(true))[0];
            for peer in row.peers.iter().map(|p| p.peer) {
                if peer.needs_child() || peer == Peer::Go {
                    continue;
                }
                let plan = PeerPlan::new(peer, 4, "");
                let s = w.measure(row, &plan, &cfg(true));
                let s = s.unwrap_or_else(|e| panic!("{name} on {peer}: {e}"));
                assert!(s.value.is_finite() && s.value > 0.0);
                assert!(!row.unit.lower_is_better(), "throughput rows");
            }
        }
    }
}
