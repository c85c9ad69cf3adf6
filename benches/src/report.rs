//! The printed table, made from a results file (a run's or an old one).

use std::fmt::Write;

use crate::results::{PeerFile, RowFile, RunFile, WorkloadFile};

/// A number with about four significant digits.
pub fn num(v: f64) -> String {
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
pub fn standing(grove_over_peer: f64, lower_is_better: bool) -> String {
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
  go (Go)           the workload as a Go program (goroutines, channels, net),
                    another language, where `go` is installed; GOMAXPROCS is
                    its number of worker OS threads
  pinned to hub     grove::Builder::hub: the green thread runs on that hub only
  on one thread at  tokio: how often (of the checks made) both tasks of the
  K of M checks     pair were found on the same worker thread
  bound, migrating  settled: green threads kept on their hub (the default), or
                    allowed to move at blocking points (allow_migration)
";

/// The table, as printed at the end of a run, with its legend.
pub fn table(run: &RunFile) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\ngrove-bench: {} workers{}, median of {} repetitions per peer\n",
        run.workers,
        if run.quick { ", quick" } else { "" },
        run.repetitions
    );
    let p = &run.provenance;
    let _ = writeln!(
        s,
        "{}, {} cores, Linux {}, vm.max_map_count {}; grove {}{}; {}; {}\n",
        p.machine.cpu_model,
        p.machine.cores,
        p.machine.kernel,
        p.machine
            .max_map_count
            .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        short_commit(&p.grove_commit),
        if p.grove_modified == Some(true) {
            " (modified)"
        } else {
            ""
        },
        p.toolchain.rustc,
        p.date
    );
    for w in &run.workloads {
        for r in &w.rows {
            row(&mut s, r);
        }
        if !w.derived.is_empty() {
            derived(&mut s, w);
        }
    }
    s.push_str(LEGEND);
    s
}

/// The first 12 digits of a commit, or the text as it is (`unknown`).
pub fn short_commit(c: &str) -> &str {
    c.get(..12).unwrap_or(c)
}

fn row(s: &mut String, r: &RowFile) {
    let _ = writeln!(s, "{}  [{}, {}]", r.row, r.unit, r.direction());
    let _ = writeln!(
        s,
        "  {:<8} {:>10} {:>21} {:<14} notes",
        "peer", "median", "min-max", "grove is"
    );
    for p in &r.peers {
        peer_line(s, r, p);
    }
    if let Some(verdict) = verdict(r) {
        let _ = writeln!(s, "  best: {verdict}");
    }
    s.push('\n');
}

fn derived(s: &mut String, w: &WorkloadFile) {
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
            .map(|d| format!("{} {}", d.peer, num(d.value)))
            .collect();
        let _ = writeln!(
            s,
            "{}: {label}  [from the medians above, {direction}]\n  {}\n",
            w.name,
            values.join(", ")
        );
    }
}

fn peer_line(s: &mut String, r: &RowFile, p: &PeerFile) {
    let note = match (p.sample_notes.last(), p.note.as_str()) {
        (Some(sample), plan) if !sample.is_empty() => format!("{plan}; {sample}"),
        (_, plan) => plan.to_string(),
    };
    let count = format!("n={}", p.count);
    match (p.median.zip(p.min).zip(p.max), &p.error) {
        (Some(((median, min), max)), err) => {
            let standing = p
                .grove_over_peer
                .map(|g| standing(g, r.lower_is_better))
                .unwrap_or_default();
            let range = format!("{}-{}", num(min), num(max));
            let failed = err
                .as_ref()
                .map(|e| format!(" [then failed: {e}]"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {:<8} {:>10} {:>21} {:<14} {count}; {note}{failed}",
                p.label(),
                num(median),
                range,
                standing
            );
        }
        (None, err) => {
            let e = err.as_deref().unwrap_or("no samples");
            let _ = writeln!(s, "  {:<8} failed: {e}  ({count}; {note})", p.label());
        }
    }
}

/// `tokio (838 ns/task); grove 1.96x behind it`, or `grove (48.0
/// ns/switch); 2.08x ahead of the next, tokio`: the best median in the row's
/// direction and how grove stands to it.
fn verdict(r: &RowFile) -> Option<String> {
    let ran = r.ranked();
    let (best, value) = *ran.first()?;
    let head = format!("{} ({} {})", best.label(), num(value), r.unit);
    if best.peer == "grove" {
        return Some(match ran.get(1) {
            Some((next, v)) => match standing(value / v, r.lower_is_better).as_str() {
                "even" => format!("{head}; even with the next, {}", next.label()),
                ahead => format!("{head}; {ahead} of the next, {}", next.label()),
            },
            None => head,
        });
    }
    let grove = best.grove_over_peer?;
    Some(format!(
        "{head}; grove {} it",
        standing(grove, r.lower_is_better)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::{peer, row as file_row, sample_run};

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
        let times = file_row(
            "spawn_join",
            "ns/task",
            true,
            vec![peer("grove", &[200.0]), peer("tokio", &[100.0])],
        );
        assert_eq!(
            verdict(&times).unwrap(),
            "tokio (100 ns/task); grove 2.00x behind it"
        );
        let rates = file_row(
            "http_hello",
            "requests/s",
            false,
            vec![peer("grove", &[200.0]), peer("tokio", &[100.0])],
        );
        assert_eq!(
            verdict(&rates).unwrap(),
            "grove (200 requests/s); 2.00x ahead of the next, tokio"
        );
    }

    #[test]
    fn the_table_states_each_direction_and_ends_with_the_legend() {
        let table = table(&sample_run());
        assert!(table.contains("echo/1w  [round trips/s, higher is better]"));
        assert!(table.contains("1.50x ahead"));
        assert!(table.contains("best: grove (150 round trips/s)"));
        assert!(table.contains("std      failed: timed out"));
        assert!(table.contains("  go (Go)         230"), "{table}");
        assert!(
            table.contains("echo: speedup 1w -> 2w  [from the medians above, higher is better]")
        );
        assert!(table
            .contains("Test CPU, 2 cores, Linux 6.1.0, vm.max_map_count 65530; grove unknown;"));
        assert!(table.ends_with(LEGEND));
    }
}
