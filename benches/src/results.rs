//! The results file: one run's settings, provenance and every sample, as
//! JSON through `serde`. The table, the picture and `--compare` all read
//! this shape, so an old file can be shown and compared like a new run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Config, SPIN_TARGET};
use crate::error::BenchError;
use crate::harness::{PeerResult, RowResult, WorkloadResult};
use crate::provenance::Provenance;

/// What the `suite` field says, so that another JSON file is not mistaken
/// for results.
pub const SUITE: &str = "grove-bench";

/// One run, as written to the results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// Always [`SUITE`].
    pub suite: String,
    /// Where and when it ran (all `unknown` in files of suites that did not
    /// record it, which can still be compared with).
    #[serde(default)]
    pub provenance: Provenance,
    /// OS threads for the many-worker rows.
    pub workers: usize,
    /// Whether it was a `--quick` run.
    pub quick: bool,
    /// Measured repetitions per (row, peer).
    pub repetitions: usize,
    /// Whether one warm-up repetition came first.
    pub warm_up: bool,
    /// Iterations of the spin loop per CPU-bound task.
    pub spin_iters: u64,
    /// What those iterations were calibrated to take, microseconds.
    pub spin_target_us: f64,
    /// The whole run, seconds.
    pub seconds: f64,
    /// The results, in table order.
    pub workloads: Vec<WorkloadFile>,
}

/// One workload's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadFile {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub about: String,
    /// How long it took, warm-up included, seconds.
    pub seconds: f64,
    /// Its rows.
    pub rows: Vec<RowFile>,
    /// Numbers computed from its rows' medians.
    pub derived: Vec<DerivedFile>,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowFile {
    /// `workload/key`, or the workload's name for its only row.
    pub row: String,
    /// The unit, e.g. `ns/task`.
    pub unit: String,
    /// Whether a smaller number is the better one.
    pub lower_is_better: bool,
    /// OS threads the runtimes got.
    pub workers: usize,
    /// Whether every peer ran in a child process.
    pub child_process: bool,
    /// Per peer, grove first.
    pub peers: Vec<PeerFile>,
}

/// One peer's results in one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerFile {
    /// The peer's name.
    pub peer: String,
    /// The language the peer is written in, where it is not Rust (`Go`).
    #[serde(default)]
    pub language: Option<String>,
    /// What each repetition counted (tasks, switches, connections).
    pub count: usize,
    /// The peer's settings and caveats.
    pub note: String,
    /// The measured samples, in the row's unit.
    pub samples: Vec<f64>,
    /// What each sample observed besides its number.
    pub sample_notes: Vec<String>,
    /// Median of the samples.
    pub median: Option<f64>,
    /// Smallest sample.
    pub min: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
    /// grove's median over this peer's (absent for grove itself).
    pub grove_over_peer: Option<f64>,
    /// The failure that stopped it, if one did.
    pub error: Option<String>,
}

/// A number computed from several rows' medians.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DerivedFile {
    /// What it is, e.g. `speedup 1w -> 2w`.
    pub label: String,
    /// Whose medians it came from.
    pub peer: String,
    /// The number.
    pub value: f64,
    /// Whether a smaller value is the better one.
    pub lower_is_better: bool,
}

impl RunFile {
    /// The file for a finished run.
    pub fn new(
        provenance: Provenance,
        cfg: &Config,
        reps: usize,
        workloads: &[WorkloadResult],
        seconds: f64,
    ) -> RunFile {
        RunFile {
            suite: SUITE.to_string(),
            provenance,
            workers: cfg.workers,
            quick: cfg.quick,
            repetitions: reps,
            warm_up: !cfg.quick,
            spin_iters: cfg.spin_iters,
            spin_target_us: SPIN_TARGET.as_secs_f64() * 1e6,
            seconds,
            workloads: workloads.iter().map(WorkloadFile::new).collect(),
        }
    }

    /// Writes it to `path` as indented JSON, creating its folder.
    pub fn write(&self, path: &Path) -> Result<(), BenchError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| BenchError::Results(format!("{}: {e}", path.display())))?;
        text.push('\n');
        std::fs::write(path, text)?;
        Ok(())
    }

    /// Reads a file written by [`RunFile::write`].
    pub fn read(path: &Path) -> Result<RunFile, BenchError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BenchError::Results(format!("{}: {e}", path.display())))?;
        let run: RunFile = serde_json::from_str(&text)
            .map_err(|e| BenchError::Results(format!("{}: {e}", path.display())))?;
        if run.suite != SUITE {
            return Err(BenchError::Results(format!(
                "{}: not a {SUITE} results file",
                path.display()
            )));
        }
        Ok(run)
    }
}

impl WorkloadFile {
    fn new(w: &WorkloadResult) -> WorkloadFile {
        WorkloadFile {
            name: w.name.to_string(),
            about: w.about.to_string(),
            seconds: w.seconds,
            rows: w.rows.iter().map(|r| RowFile::new(w, r)).collect(),
            derived: w
                .derived
                .iter()
                .filter(|d| d.value.is_finite())
                .map(|d| DerivedFile {
                    label: d.label.clone(),
                    peer: d.peer.name().to_string(),
                    value: d.value,
                    lower_is_better: d.lower_is_better,
                })
                .collect(),
        }
    }
}

impl RowFile {
    fn new(w: &WorkloadResult, r: &RowResult) -> RowFile {
        RowFile {
            row: if r.row.key.is_empty() {
                w.name.to_string()
            } else {
                format!("{}/{}", w.name, r.row.key)
            },
            unit: r.row.unit.label().to_string(),
            lower_is_better: r.row.unit.lower_is_better(),
            workers: r.row.workers,
            child_process: r.row.isolate,
            peers: r.peers.iter().map(|p| PeerFile::new(r, p)).collect(),
        }
    }

    /// `lower is better` or `higher is better`.
    pub fn direction(&self) -> &'static str {
        if self.lower_is_better {
            "lower is better"
        } else {
            "higher is better"
        }
    }

    /// The peers that produced a median, best first in the row's direction.
    pub fn ranked(&self) -> Vec<(&PeerFile, f64)> {
        let mut ran: Vec<(&PeerFile, f64)> = self
            .peers
            .iter()
            .filter_map(|p| Some((p, p.median?)))
            .collect();
        ran.sort_by(|a, b| {
            let o = a.1.total_cmp(&b.1);
            if self.lower_is_better {
                o
            } else {
                o.reverse()
            }
        });
        ran
    }
}

impl PeerFile {
    /// The name as shown: `go (Go)` for a peer in another language.
    pub fn label(&self) -> String {
        match &self.language {
            Some(lang) => format!("{} ({lang})", self.peer),
            None => self.peer.clone(),
        }
    }

    fn new(r: &RowResult, p: &PeerResult) -> PeerFile {
        let sum = p.summary();
        PeerFile {
            peer: p.plan.peer.name().to_string(),
            language: p.plan.peer.language().map(str::to_string),
            count: p.plan.count,
            note: p.plan.note.clone(),
            samples: p.samples.iter().map(|s| s.value).collect(),
            sample_notes: p.samples.iter().map(|s| s.note.clone()).collect(),
            median: sum.map(|s| s.median),
            min: sum.map(|s| s.min),
            max: sum.map(|s| s.max),
            grove_over_peer: r.grove_ratio(p),
            error: p.error.clone(),
        }
    }
}

#[cfg(test)]
pub mod tests {
    //! A small synthetic run, shared by the tests of the table, the picture
    //! and the comparison.

    use super::*;
    use crate::provenance::{Machine, Toolchain};

    /// A peer that ran, with its samples.
    pub fn peer(name: &str, samples: &[f64]) -> PeerFile {
        let sum = crate::stats::summarize(samples);
        PeerFile {
            peer: name.to_string(),
            language: (name == "go").then(|| "Go".to_string()),
            count: 10,
            note: format!("{name}'s settings"),
            samples: samples.to_vec(),
            sample_notes: vec![String::new(); samples.len()],
            median: sum.map(|s| s.median),
            min: sum.map(|s| s.min),
            max: sum.map(|s| s.max),
            grove_over_peer: None,
            error: None,
        }
    }

    /// A row; grove's ratio to each peer is filled in.
    pub fn row(name: &str, unit: &str, lower_is_better: bool, peers: Vec<PeerFile>) -> RowFile {
        let grove = peers
            .iter()
            .find(|p| p.peer == "grove")
            .and_then(|p| p.median);
        let peers = peers
            .into_iter()
            .map(|mut p| {
                if p.peer != "grove" {
                    p.grove_over_peer = grove.zip(p.median).map(|(g, m)| g / m);
                }
                p
            })
            .collect();
        RowFile {
            row: name.to_string(),
            unit: unit.to_string(),
            lower_is_better,
            workers: 2,
            child_process: false,
            peers,
        }
    }

    /// Two workloads: one row of times (grove behind tokio), and two rows of
    /// throughput (grove best), with a peer that failed.
    pub fn sample_run() -> RunFile {
        let mut failed = peer("std", &[]);
        failed.error = Some("timed out".to_string());
        RunFile {
            suite: SUITE.to_string(),
            provenance: Provenance {
                machine: Machine {
                    cpu_model: "Test CPU".to_string(),
                    cores: 2,
                    memory_bytes: Some(1 << 30),
                    kernel: "6.1.0".to_string(),
                    max_map_count: Some(65530),
                },
                toolchain: Toolchain {
                    rustc: "rustc 1.0.0".to_string(),
                    go: None,
                },
                grove_commit: "unknown".to_string(),
                grove_modified: None,
                date: "2026-01-02T03:04:05Z".to_string(),
                unix_time: 1_767_323_045,
            },
            workers: 2,
            quick: true,
            repetitions: 3,
            warm_up: false,
            spin_iters: 1000,
            spin_target_us: 20.0,
            seconds: 12.5,
            workloads: vec![
                WorkloadFile {
                    name: "spawn_join".to_string(),
                    about: "spawn and join".to_string(),
                    seconds: 2.0,
                    rows: vec![row(
                        "spawn_join",
                        "ns/task",
                        true,
                        vec![
                            peer("grove", &[200.0, 190.0, 210.0]),
                            peer("tokio", &[100.0, 95.0, 120.0]),
                            peer("may", &[800.0, 790.0, 850.0]),
                        ],
                    )],
                    derived: Vec::new(),
                },
                WorkloadFile {
                    name: "echo".to_string(),
                    about: "an echo server".to_string(),
                    seconds: 4.0,
                    rows: vec![
                        row(
                            "echo/1w",
                            "round trips/s",
                            false,
                            vec![
                                peer("grove", &[150.0, 140.0, 160.0]),
                                peer("tokio", &[100.0, 90.0, 110.0]),
                                failed.clone(),
                            ],
                        ),
                        row(
                            "echo/2w",
                            "round trips/s",
                            false,
                            vec![
                                peer("grove", &[250.0, 240.0, 260.0]),
                                peer("tokio", &[200.0, 190.0, 210.0]),
                                peer("go", &[230.0, 220.0, 240.0]),
                                failed,
                            ],
                        ),
                    ],
                    derived: vec![DerivedFile {
                        label: "speedup 1w -> 2w".to_string(),
                        peer: "grove".to_string(),
                        value: 1.67,
                        lower_is_better: false,
                    }],
                },
            ],
        }
    }

    #[test]
    fn the_file_round_trips_through_serde() {
        let run = sample_run();
        let path = std::env::temp_dir().join(format!("grove-bench-rt-{}.json", std::process::id()));
        run.write(&path).unwrap();
        let back = RunFile::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, run);
    }

    #[test]
    fn a_file_without_provenance_still_reads() {
        // The shape written before the provenance was recorded.
        let mut value = serde_json::to_value(sample_run()).unwrap();
        value.as_object_mut().unwrap().remove("provenance");
        let path =
            std::env::temp_dir().join(format!("grove-bench-old-{}.json", std::process::id()));
        std::fs::write(&path, value.to_string()).unwrap();
        let run = RunFile::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(run.provenance, Provenance::default());
        assert_eq!(run.provenance.grove_commit, "unknown");
        assert_eq!(run.workloads, sample_run().workloads);
    }

    #[test]
    fn another_json_file_is_refused() {
        let path = std::env::temp_dir().join(format!("grove-bench-no-{}.json", std::process::id()));
        let mut run = sample_run();
        run.suite = "something else".to_string();
        run.write(&path).unwrap();
        let err = RunFile::read(&path).unwrap_err().to_string();
        std::fs::write(&path, "{\"suite\": 1}").unwrap();
        let err2 = RunFile::read(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("not a grove-bench results file"), "{err}");
        assert!(err2.contains("grove-bench-no-"), "{err2}");
    }

    #[test]
    fn ranking_follows_the_row_direction() {
        let run = sample_run();
        let times = &run.workloads[0].rows[0];
        let names: Vec<&str> = times
            .ranked()
            .iter()
            .map(|(p, _)| p.peer.as_str())
            .collect();
        assert_eq!(names, ["tokio", "grove", "may"]);
        let rates = &run.workloads[1].rows[0];
        let names: Vec<&str> = rates
            .ranked()
            .iter()
            .map(|(p, _)| p.peer.as_str())
            .collect();
        assert_eq!(names, ["grove", "tokio"], "the failed peer has no median");
    }
}
