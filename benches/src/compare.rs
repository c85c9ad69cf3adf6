//! `--compare OLD.json`: per row, grove's standing to each peer in an
//! earlier run and in this one, so that a change to the runtime shows its
//! effect in one command.
//!
//! Numbers from two runs are compared as ratios within each run (grove's
//! median over the peer's): the peers absorb much of what differs between
//! the two runs' machines and moments, which raw numbers would not.

use std::fmt::Write;

use crate::report::{num, short_commit, standing};
use crate::results::{RowFile, RunFile};

/// Changes smaller than this fraction read as `unchanged`.
const UNCHANGED_WITHIN: f64 = 0.02;

/// How one number moved from the old run to the new one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Change {
    /// Within [`UNCHANGED_WITHIN`] either way.
    Unchanged,
    /// Better for grove, in the row's direction, by this factor (above 1).
    Better(f64),
    /// Worse for grove, in the row's direction, by this factor (above 1).
    Worse(f64),
    /// One of the two runs has no number.
    Missing,
}

/// One line of the comparison: grove's own median, or grove's ratio to a peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The row, `workload/key`.
    pub row: String,
    /// The row's unit.
    pub unit: String,
    /// The row's direction.
    pub lower_is_better: bool,
    /// The peer, or `grove` for grove's own median.
    pub peer: String,
    /// The peer as shown (`go (Go)`).
    pub label: String,
    /// In the old run: grove's median, or grove's median over the peer's.
    pub then: Option<f64>,
    /// The same in this run.
    pub now: Option<f64>,
    /// How it moved.
    pub change: Change,
}

impl Change {
    /// From `then` to `now` of a number where `lower_is_better` tells which
    /// way is good for grove.
    fn of(then: Option<f64>, now: Option<f64>, lower_is_better: bool) -> Change {
        let (Some(then), Some(now)) = (then, now) else {
            return Change::Missing;
        };
        let gain = if lower_is_better {
            then / now
        } else {
            now / then
        };
        if (gain - 1.0).abs() <= UNCHANGED_WITHIN {
            Change::Unchanged
        } else if gain > 1.0 {
            Change::Better(gain)
        } else {
            Change::Worse(1.0 / gain)
        }
    }

    fn text(self) -> String {
        match self {
            Change::Unchanged => "unchanged".to_string(),
            Change::Better(f) => format!("{} better for grove", percent(f)),
            Change::Worse(f) => format!("{} worse for grove", percent(f)),
            Change::Missing => "not in both runs".to_string(),
        }
    }
}

/// `12 %` for a factor of 1.12; `2.50x` from a factor of 2 on.
fn percent(factor: f64) -> String {
    if factor >= 2.0 {
        format!("{}x", num(factor))
    } else {
        format!("{:.0} %", (factor - 1.0) * 100.0)
    }
}

/// Every line of the comparison, in the new run's order; rows only the old
/// run has come last.
pub fn lines(then: &RunFile, now: &RunFile) -> Vec<Line> {
    let old_rows: Vec<&RowFile> = then.workloads.iter().flat_map(|w| &w.rows).collect();
    let new_rows: Vec<&RowFile> = now.workloads.iter().flat_map(|w| &w.rows).collect();
    let mut out = Vec::new();
    for new in &new_rows {
        let old = old_rows.iter().find(|r| r.row == new.row).copied();
        row_lines(&mut out, old, Some(new));
    }
    for old in old_rows
        .iter()
        .filter(|o| !new_rows.iter().any(|n| n.row == o.row))
    {
        row_lines(&mut out, Some(old), None);
    }
    out
}

/// The lines of one row present in either run: grove's median first, then
/// its ratio to every other peer of either run.
fn row_lines(out: &mut Vec<Line>, old: Option<&RowFile>, new: Option<&RowFile>) {
    let Some(any) = new.or(old) else { return };
    let lower = any.lower_is_better;
    let find = |r: Option<&RowFile>, peer: &str| r?.peers.iter().find(|p| p.peer == peer).cloned();
    let mut peers: Vec<&str> = Vec::new();
    for r in [new, old].into_iter().flatten() {
        for p in &r.peers {
            if !peers.contains(&p.peer.as_str()) {
                peers.push(&p.peer);
            }
        }
    }
    peers.sort_by_key(|p| *p != "grove");
    for peer in peers {
        let (then, now) = if peer == "grove" {
            (
                find(old, peer).and_then(|p| p.median),
                find(new, peer).and_then(|p| p.median),
            )
        } else {
            (
                find(old, peer).and_then(|p| p.grove_over_peer),
                find(new, peer).and_then(|p| p.grove_over_peer),
            )
        };
        out.push(Line {
            row: any.row.clone(),
            unit: any.unit.clone(),
            lower_is_better: lower,
            peer: peer.to_string(),
            label: find(new, peer)
                .or_else(|| find(old, peer))
                .map_or_else(|| peer.to_string(), |p| p.label()),
            then,
            now,
            change: Change::of(then, now, lower),
        });
    }
}

/// The comparison as printed after the table.
pub fn text(then: &RunFile, now: &RunFile, then_path: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nCompared with {then_path}");
    for (when, run) in [("then", then), ("now ", now)] {
        let p = &run.provenance;
        let _ = writeln!(
            s,
            "  {when}  {}  grove {}{}  {} workers{}, {} repetition{}  {}, {} cores",
            p.date,
            short_commit(&p.grove_commit),
            if p.grove_modified == Some(true) {
                " (modified)"
            } else {
                ""
            },
            run.workers,
            if run.quick { ", quick" } else { "" },
            run.repetitions,
            if run.repetitions == 1 { "" } else { "s" },
            p.machine.cpu_model,
            p.machine.cores
        );
    }
    if then.provenance.machine != now.provenance.machine
        || then.workers != now.workers
        || then.quick != now.quick
    {
        s.push_str(
            "  (the runs differ in machine, workers or --quick: the ratios still compare, the medians less so)\n",
        );
    }
    s.push_str(
        "grove's median (in the row's unit), and grove's standing to each peer, then and now\n\n",
    );
    let all = lines(then, now);
    let mut last_row = "";
    for l in &all {
        if l.row != last_row {
            if !last_row.is_empty() {
                s.push('\n');
            }
            let direction = if l.lower_is_better {
                "lower is better"
            } else {
                "higher is better"
            };
            let _ = writeln!(s, "{}  [{}, {direction}]", l.row, l.unit);
            let _ = writeln!(s, "  {:<8} {:>14} {:>14}  change", "peer", "then", "now");
            last_row = &l.row;
        }
        let show = |v: Option<f64>| match v {
            None => "-".to_string(),
            Some(v) if l.peer == "grove" => num(v),
            Some(v) => standing(v, l.lower_is_better),
        };
        let _ = writeln!(
            s,
            "  {:<8} {:>14} {:>14}  {}",
            l.label,
            show(l.then),
            show(l.now),
            l.change.text()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::sample_run;

    #[test]
    fn a_run_against_itself_is_unchanged_everywhere() {
        let run = sample_run();
        let all = lines(&run, &run);
        assert!(!all.is_empty());
        for l in &all {
            assert_eq!(l.then, l.now, "{l:?}");
            let expected = if l.now.is_some() {
                Change::Unchanged
            } else {
                Change::Missing // the peer that failed in both
            };
            assert_eq!(l.change, expected, "{l:?}");
        }
        // Every row, and in every row grove and each peer.
        let peers = |row: &str| -> Vec<&str> {
            all.iter()
                .filter(|l| l.row == row)
                .map(|l| l.peer.as_str())
                .collect()
        };
        assert_eq!(peers("spawn_join"), ["grove", "tokio", "may"]);
        assert_eq!(peers("echo/2w"), ["grove", "tokio", "go", "std"]);
        let shown = text(&run, &run, "old.json");
        assert!(!shown.contains("for grove"), "{shown}");
        assert!(
            shown.contains("  go (Go) "),
            "the other language is marked: {shown}"
        );
        assert!(
            shown.contains("  tokio      2.00x behind   2.00x behind  unchanged"),
            "{shown}"
        );
    }

    #[test]
    fn changes_follow_each_row_direction() {
        let then = sample_run();
        let mut now = sample_run();
        // Times: grove's median halves, so it is better, against tokio too.
        let times = &mut now.workloads[0].rows[0];
        times.peers[0].median = Some(100.0);
        times.peers[1].grove_over_peer = Some(1.0);
        // Throughput: grove serves less, worse against tokio.
        let rates = &mut now.workloads[1].rows[0];
        rates.peers[1].grove_over_peer = Some(1.2);
        now.workloads[1].rows.pop();
        let all = lines(&then, &now);
        let find = |row: &str, peer: &str| {
            all.iter()
                .find(|l| l.row == row && l.peer == peer)
                .unwrap()
                .change
        };
        assert_eq!(find("spawn_join", "grove"), Change::Better(2.0));
        assert_eq!(find("spawn_join", "tokio"), Change::Better(2.0));
        assert_eq!(find("spawn_join", "may"), Change::Unchanged);
        assert!(
            matches!(find("echo/1w", "tokio"), Change::Worse(f) if (f - 1.25).abs() < 1e-9),
            "{all:?}"
        );
        // A row only the old run has is still listed, with no new number.
        assert_eq!(find("echo/2w", "grove"), Change::Missing);
        assert_eq!(all.last().unwrap().row, "echo/2w");
    }
}
