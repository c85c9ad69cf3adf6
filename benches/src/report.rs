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

/// How grove compares with a peer, in the row's direction: `1.96x behind`,
/// `2.08x ahead`, or `even` within 2 %.
fn standing(grove_over_peer: f64, lower_is_better: bool) -> String {
    let better = if lower_is_better {
        1.0 / grove_over_peer
    } else {
        grove_over_peer
    };
    if (0.98..=1.02).contains(&better) {
        "even".to_string()
    } else if better > 1.0 {
        format!("{}x ahead", num(better))
    } else {
        format!("{}x behind", num(1.0 / better))
    }
}

/// What the table's columns and notes mean, printed under it.
pub const LEGEND: &str = "\
How to read it
  median (min-max)  of the measured repetitions of each peer, after one warm-up
                    repetition (none with --quick); the row's first line names
                    its unit and whether lower or higher is better
  grove is          grove's median against that peer's, in the row's direction:
                    \"1.5x ahead\" means grove's number is 1.5 times better,
                    \"even\" within 2 %
  best              the peer with the best median, and how grove stands to it
  n=                what each repetition counts: tasks, switches, messages,
                    operations, green threads or connections
  1w, 2w            the same row with 1 and with 2 worker OS threads (hubs,
                    workers); speedup 1w -> 2w is the 1w time over the 2w time
  injector          the runtime's shared queue, where work submitted from
                    outside any green thread (or task) goes
  stolen N          green threads that an idle hub took from another hub's
                    queue before they started (grove's Runtime::metrics)
  started per hub   green threads each hub started, hub 0 first
  child process     the peer ran in a process of its own (memory rows, may)
  pinned to hub     grove::Builder::hub: the green thread runs on that hub only
  on one thread at  tokio: how often (of the checks made) both tasks of the
  K of M checks     pair were found on the same worker thread
  bound, migrating  settled: green threads kept on their hub (the default), or
                    allowed to move at blocking points (allow_migration)
";

impl Report<'_> {
    /// The table, as printed at the end of a run, with its legend.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\ngrove-bench: {} workers{}, median of {} repetitions per peer\n",
            self.cfg.workers,
            if self.cfg.quick { ", quick" } else { "" },
            self.reps
        );
        for w in self.workloads {
            for r in &w.rows {
                self.row(&mut s, w, r);
            }
            if !w.derived.is_empty() {
                self.derived(&mut s, w);
            }
        }
        s.push_str(LEGEND);
        s
    }

    fn row(&self, s: &mut String, w: &WorkloadResult, r: &RowResult) {
        let unit = r.row.unit;
        let _ = writeln!(
            s,
            "{}  [{}, {}]",
            row_name(w, r),
            unit.label(),
            unit.direction()
        );
        let _ = writeln!(
            s,
            "  {:<6} {:>10} {:>21} {:<14} notes",
            "peer", "median", "min-max", "grove is"
        );
        for p in &r.peers {
            self.peer_line(s, r, p);
        }
        if let Some(verdict) = verdict(r) {
            let _ = writeln!(s, "  best: {verdict}");
        }
        s.push('\n');
    }

    fn derived(&self, s: &mut String, w: &WorkloadResult) {
        let mut labels: Vec<&str> = w.derived.iter().map(|d| d.label.as_str()).collect();
        labels.dedup();
        for label in labels {
            let of: Vec<_> = w.derived.iter().filter(|d| d.label == label).collect();
            let direction = if of[0].lower_is_better {
                "lower is better"
            } else {
                "higher is better"
            };
            let values: Vec<String> = of
                .iter()
                .map(|d| format!("{} {}", d.peer.name(), num(d.value)))
                .collect();
            let _ = writeln!(
                s,
                "{}: {label}  [from the medians above, {direction}]\n  {}\n",
                w.name,
                values.join(", ")
            );
        }
    }

    fn peer_line(&self, s: &mut String, r: &RowResult, p: &PeerResult) {
        let note = match (p.samples.last(), p.plan.note.as_str()) {
            (Some(sample), plan) if !sample.note.is_empty() => format!("{plan}; {}", sample.note),
            (_, plan) => plan.to_string(),
        };
        let count = format!("n={}", p.plan.count);
        match (p.summary(), &p.error) {
            (Some(sum), err) => {
                let lower = r.row.unit.lower_is_better();
                let standing = r
                    .grove_ratio(p)
                    .map(|g| standing(g, lower))
                    .unwrap_or_default();
                let range = format!("{}-{}", num(sum.min), num(sum.max));
                let failed = err
                    .as_ref()
                    .map(|e| format!(" [then failed: {e}]"))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {:<6} {:>10} {:>21} {:<14} {count}; {note}{failed}",
                    p.plan.peer.name(),
                    num(sum.median),
                    range,
                    standing
                );
            }
            (None, err) => {
                let e = err.as_deref().unwrap_or("no samples");
                let _ = writeln!(
                    s,
                    "  {:<6} failed: {e}  ({count}; {note})",
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

/// `tokio (838 ns/task); grove 1.96x behind it`, or `grove (48.0
/// ns/switch); 2.08x ahead of the next, tokio`: the best median in the row's
/// direction and how grove stands to it.
fn verdict(r: &RowResult) -> Option<String> {
    let lower = r.row.unit.lower_is_better();
    let mut ran: Vec<(&PeerResult, f64)> = r
        .peers
        .iter()
        .filter_map(|p| Some((p, p.summary()?.median)))
        .collect();
    ran.sort_by(|a, b| {
        let o = a.1.total_cmp(&b.1);
        if lower {
            o
        } else {
            o.reverse()
        }
    });
    let (best, value) = *ran.first()?;
    let unit = r.row.unit.label();
    let head = format!("{} ({} {unit})", best.plan.peer.name(), num(value));
    if best.plan.peer == crate::peers::Peer::Grove {
        return Some(match ran.get(1) {
            Some((next, v)) => match standing(value / v, lower).as_str() {
                "even" => format!("{head}; even with the next, {}", next.plan.peer.name()),
                ahead => format!("{head}; {ahead} of the next, {}", next.plan.peer.name()),
            },
            None => head,
        });
    }
    let grove = r.grove_ratio(best)?;
    Some(format!("{head}; grove {} it", standing(grove, lower)))
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
                            ("lower_is_better", Json::Bool(r.row.unit.lower_is_better())),
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
                            ("lower_is_better", Json::Bool(d.lower_is_better)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::Peer;
    use crate::workloads::{PeerPlan, Row, Sample, Unit};

    fn row(unit: Unit, medians: &[(Peer, f64)]) -> RowResult {
        RowResult {
            row: Row {
                key: String::new(),
                unit,
                workers: 2,
                isolate: false,
                peers: Vec::new(),
            },
            peers: medians
                .iter()
                .map(|&(peer, v)| PeerResult {
                    plan: PeerPlan::new(peer, 10, ""),
                    samples: vec![Sample::plain(v)],
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn standing_follows_the_row_direction() {
        // grove 50 ns against a peer's 100 ns: lower is better, so ahead.
        assert_eq!(standing(0.5, true), "2.00x ahead");
        // grove 50 requests/s against 100: higher is better, so behind.
        assert_eq!(standing(0.5, false), "2.00x behind");
        assert_eq!(standing(1.01, true), "even");
    }

    #[test]
    fn the_verdict_names_the_best_peer_in_the_row_direction() {
        let times = row(
            Unit::NsPerTask,
            &[(Peer::Grove, 200.0), (Peer::Tokio, 100.0)],
        );
        assert_eq!(
            verdict(&times).unwrap(),
            "tokio (100 ns/task); grove 2.00x behind it"
        );
        let rates = row(
            Unit::RequestsPerSec,
            &[(Peer::Grove, 200.0), (Peer::Tokio, 100.0)],
        );
        assert_eq!(
            verdict(&rates).unwrap(),
            "grove (200 requests/s); 2.00x ahead of the next, tokio"
        );
    }

    #[test]
    fn the_table_states_each_direction_and_ends_with_the_legend() {
        let cfg = Config {
            workers: 2,
            quick: true,
            spin_iters: 1,
        };
        let results = [WorkloadResult {
            name: "echo",
            about: "",
            rows: vec![row(
                Unit::RoundTripsPerSec,
                &[(Peer::Grove, 150.0), (Peer::Tokio, 100.0)],
            )],
            derived: Vec::new(),
            seconds: 1.0,
        }];
        let report = Report {
            cfg: &cfg,
            reps: 1,
            workloads: &results,
            seconds: 1.0,
        };
        let table = report.table();
        assert!(table.contains("echo  [round trips/s, higher is better]"));
        assert!(table.contains("1.50x ahead"));
        assert!(table.contains("best: grove (150 round trips/s)"));
        assert!(table.ends_with(LEGEND));
    }
}
