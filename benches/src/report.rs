//! The printed table and the JSON results file.

use std::fmt::Write;
use std::path::Path;

use crate::config::{Config, SPIN_TARGET};
use crate::error::BenchError;
use crate::harness::{PeerResult, RowResult, WorkloadResult};
use crate::json::Json;

/// Everything one run produced.
pub struct Report<'a> {
    /// The run's settings.
    pub cfg: &'a Config,
    /// Measured repetitions per (row, peer).
    pub reps: usize,
    /// Results, in table order.
    pub workloads: &'a [WorkloadResult],
    /// Whole run, seconds.
    pub seconds: f64,
}

/// `"workload/key"`, or the workload's name for its only row.
fn row_name(w: &WorkloadResult, r: &RowResult) -> String {
    if r.row.key.is_empty() {
        w.name.to_string()
    } else {
        format!("{}/{}", w.name, r.row.key)
    }
}

/// A number with about four significant digits.
fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report<'_> {
    /// The table, as printed at the end of a run.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\ngrove-bench: {} workers{}, median of {} repetitions (min-max); ratio = grove / peer (every unit: lower is better, so below 1 means grove is lower)\n",
            self.cfg.workers,
            if self.cfg.quick { ", quick" } else { "" },
            self.reps
        );
        let _ = writeln!(
            s,
            "{:<24} {:<6} {:>10} {:<13} {:>19} {:>10}  notes",
            "workload/row", "peer", "median", "unit", "min-max", "grove/peer"
        );
        for w in self.workloads {
            for r in &w.rows {
                let name = row_name(w, r);
                for (i, p) in r.peers.iter().enumerate() {
                    let first = if i == 0 { name.as_str() } else { "" };
                    self.peer_line(&mut s, first, r, p);
                }
            }
            for d in &w.derived {
                let _ = writeln!(
                    s,
                    "{:<24} {:<6} {:>10} {}",
                    "",
                    d.peer.name(),
                    num(d.value),
                    d.label
                );
            }
        }
        s
    }

    fn peer_line(&self, s: &mut String, name: &str, r: &RowResult, p: &PeerResult) {
        let note = match (p.samples.last(), p.plan.note.as_str()) {
            (Some(sample), plan) if !sample.note.is_empty() => format!("{plan}; {}", sample.note),
            (_, plan) => plan.to_string(),
        };
        let count = format!("n={}", p.plan.count);
        match (p.summary(), &p.error) {
            (Some(sum), err) => {
                let ratio = r.grove_ratio(p).map(num).unwrap_or_default();
                let range = format!("{}-{}", num(sum.min), num(sum.max));
                let failed = err
                    .as_ref()
                    .map(|e| format!(" [then failed: {e}]"))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "{:<24} {:<6} {:>10} {:<13} {:>19} {:>10}  {count}; {note}{failed}",
                    name,
                    p.plan.peer.name(),
                    num(sum.median),
                    r.row.unit.label(),
                    range,
                    ratio
                );
            }
            (None, err) => {
                let e = err.as_deref().unwrap_or("no samples");
                let _ = writeln!(
                    s,
                    "{:<24} {:<6} failed: {e}  ({count}; {note})",
                    name,
                    p.plan.peer.name()
                );
            }
        }
    }

    /// The results as JSON.
    pub fn json(&self) -> Json {
        Json::obj([
            ("suite", Json::str("grove-bench")),
            ("workers", Json::Num(self.cfg.workers as f64)),
            ("quick", Json::Bool(self.cfg.quick)),
            ("repetitions", Json::Num(self.reps as f64)),
            ("warm_up", Json::Bool(!self.cfg.quick)),
            ("spin_iters", Json::Num(self.cfg.spin_iters as f64)),
            ("spin_target_us", Json::Num(SPIN_TARGET.as_secs_f64() * 1e6)),
            ("seconds", Json::Num(self.seconds)),
            ("unix_time", Json::Num(unix_time())),
            (
                "workloads",
                Json::Arr(self.workloads.iter().map(workload_json).collect()),
            ),
        ])
    }

    /// Writes [`Report::json`] to `path`, creating its folder.
    pub fn write_json(&self, path: &Path) -> Result<(), BenchError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.json().to_pretty())?;
        Ok(())
    }
}

fn unix_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
}

fn workload_json(w: &WorkloadResult) -> Json {
    Json::obj([
        ("name", Json::str(w.name)),
        ("about", Json::str(w.about)),
        ("seconds", Json::Num(w.seconds)),
        (
            "rows",
            Json::Arr(
                w.rows
                    .iter()
                    .map(|r| {
                        Json::obj([
                            ("row", Json::str(row_name(w, r))),
                            ("unit", Json::str(r.row.unit.label())),
                            ("workers", Json::Num(r.row.workers as f64)),
                            ("child_process", Json::Bool(r.row.isolate)),
                            (
                                "peers",
                                Json::Arr(r.peers.iter().map(|p| peer_json(r, p)).collect()),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "derived",
            Json::Arr(
                w.derived
                    .iter()
                    .map(|d| {
                        Json::obj([
                            ("label", Json::str(d.label.clone())),
                            ("peer", Json::str(d.peer.name())),
                            ("value", Json::Num(d.value)),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

fn peer_json(r: &RowResult, p: &PeerResult) -> Json {
    let sum = p.summary();
    Json::obj([
        ("peer", Json::str(p.plan.peer.name())),
        ("count", Json::Num(p.plan.count as f64)),
        ("note", Json::str(p.plan.note.clone())),
        (
            "samples",
            Json::Arr(p.samples.iter().map(|s| Json::Num(s.value)).collect()),
        ),
        (
            "sample_notes",
            Json::Arr(
                p.samples
                    .iter()
                    .map(|s| Json::str(s.note.clone()))
                    .collect(),
            ),
        ),
        ("median", Json::opt(sum.map(|s| s.median))),
        ("min", Json::opt(sum.map(|s| s.min))),
        ("max", Json::opt(sum.map(|s| s.max))),
        ("grove_over_peer", Json::opt(r.grove_ratio(p))),
        ("error", p.error.clone().map_or(Json::Null, Json::Str)),
    ])
}
