//! A picture of a run: one SVG file, beside the results file, with a header
//! and one chart per workload, drawn with `plotters`.
//!
//! Each chart has one horizontal bar per peer that produced a median, grouped
//! by row: the bar ends at the median, a whisker spans min to max. grove's
//! bars are green, the other Rust peers' grey and other languages' blue; the
//! best median of each row is outlined and labelled `best`. The value axis
//! names the unit and the direction (`lower is better` / `higher is better`)
//! and starts at zero, so the lengths compare. Each chart is an `<svg>`
//! element of its own (class `chart`, `data-workload` its name) inside the
//! file's, so a browser shows the file and a program can take it apart.

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::BenchError;
use crate::report::{num, short_commit};
use crate::results::{PeerFile, RowFile, RunFile, WorkloadFile};

/// The file's width, pixels.
const WIDTH: u32 = 960;
/// Height of the header.
const HEADER: u32 = 96;
/// Height of one bar's band.
const BAND: u32 = 26;
/// A chart's height besides its bands: title, caption, axis.
const CHART_FRAME: u32 = 110;

/// grove's bars.
pub const GROVE: RGBColor = RGBColor(46, 125, 50);
/// Other Rust peers' bars.
pub const RUST_PEER: RGBColor = RGBColor(144, 164, 174);
/// Peers in another language (Go).
pub const OTHER_LANGUAGE: RGBColor = RGBColor(79, 160, 220);
/// The outline of a row's best bar.
const BEST: RGBColor = RGBColor(230, 150, 0);

/// The report's path for the results file `json`: the same name, `.svg`.
pub fn path_beside(json: &Path) -> PathBuf {
    json.with_extension("svg")
}

/// Writes the picture of `run` to `path`, creating its folder.
pub fn write(run: &RunFile, path: &Path) -> Result<(), BenchError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, svg(run)?)?;
    Ok(())
}

/// The picture of `run` as SVG text.
pub fn svg(run: &RunFile) -> Result<String, BenchError> {
    let mut parts = vec![(HEADER, header(run)?)];
    for w in &run.workloads {
        let bars = bars(w).len() as u32;
        let height = CHART_FRAME + BAND * bars.max(1);
        parts.push((height, chart(w, height)?));
    }
    let total: u32 = parts.iter().map(|(h, _)| h).sum();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{total}\" \
         viewBox=\"0 0 {WIDTH} {total}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let mut y = 0;
    for (h, part) in parts {
        // Each part is a whole <svg> from plotters; place it at its height.
        out.push_str(&part.replacen("<svg ", &format!("<svg x=\"0\" y=\"{y}\" "), 1));
        y += h;
    }
    out.push_str("</svg>\n");
    Ok(out)
}

/// One bar of a chart.
struct Bar<'a> {
    label: String,
    peer: &'a PeerFile,
    median: f64,
    min: f64,
    max: f64,
    best: bool,
}

/// The bars of `w`, top to bottom: per row, each peer with a median.
fn bars(w: &WorkloadFile) -> Vec<Bar<'_>> {
    let mut out = Vec::new();
    for r in &w.rows {
        let best = r.ranked().first().map(|(p, _)| p.peer.as_str());
        let key = r.row.strip_prefix(&format!("{}/", w.name));
        for p in &r.peers {
            let (Some(median), Some(min), Some(max)) = (p.median, p.min, p.max) else {
                continue;
            };
            out.push(Bar {
                label: match key {
                    Some(k) => format!("{k} · {}", p.label()),
                    None => p.label(),
                },
                peer: p,
                median,
                min,
                max,
                best: best == Some(p.peer.as_str()),
            });
        }
    }
    out
}

/// The colour of `peer`'s bars.
fn colour(peer: &PeerFile) -> RGBColor {
    if peer.peer == "grove" {
        GROVE
    } else if peer.language.is_some() {
        OTHER_LANGUAGE
    } else {
        RUST_PEER
    }
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> BenchError {
    BenchError::Results(format!("drawing the report: {e}"))
}

/// The header: what ran where, and the legend.
fn header(run: &RunFile) -> Result<String, BenchError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEADER)).into_drawing_area();
        let p = &run.provenance;
        let title = ("sans-serif", 22).into_font().style(FontStyle::Bold);
        let small = ("sans-serif", 13).into_font().color(&BLACK.mix(0.75));
        root.draw(&Text::new("grove-bench", (16, 10), title))
            .map_err(draw_err)?;
        let what = format!(
            "{}; {} workers, median of {} repetitions{}; grove {}{}",
            p.date,
            run.workers,
            run.repetitions,
            if run.quick { ", --quick" } else { "" },
            short_commit(&p.grove_commit),
            if p.grove_modified == Some(true) {
                " (modified)"
            } else {
                ""
            }
        );
        let machine = format!(
            "{}, {} cores, Linux {}; {}",
            p.machine.cpu_model, p.machine.cores, p.machine.kernel, p.toolchain.rustc
        );
        root.draw(&Text::new(what, (16, 40), small.clone()))
            .map_err(draw_err)?;
        root.draw(&Text::new(machine, (16, 58), small.clone()))
            .map_err(draw_err)?;
        let mut legend = vec![(GROVE, "grove"), (RUST_PEER, "other Rust peers")];
        let peers = run
            .workloads
            .iter()
            .flat_map(|w| &w.rows)
            .flat_map(|r| &r.peers);
        if peers.clone().any(|p| p.language.is_some()) {
            legend.push((OTHER_LANGUAGE, "another language (Go)"));
        }
        let mut x = 16;
        for (c, text) in legend {
            root.draw(&Rectangle::new([(x, 78), (x + 14, 90)], c.filled()))
                .map_err(draw_err)?;
            root.draw(&Text::new(text, (x + 20, 78), small.clone()))
                .map_err(draw_err)?;
            x += 40 + 8 * text.len() as i32;
        }
        root.draw(&Rectangle::new(
            [(x, 78), (x + 14, 90)],
            BEST.stroke_width(2),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            "best median of the row; whiskers: min to max",
            (x + 20, 78),
            small,
        ))
        .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(buf.replacen("<svg ", "<svg class=\"header\" ", 1))
}

/// One workload's chart, `height` pixels high.
fn chart(w: &WorkloadFile, height: u32) -> Result<String, BenchError> {
    let bars = bars(w);
    let n = bars.len().max(1);
    let row: Option<&RowFile> = w.rows.first();
    let unit = row.map_or("", |r| r.unit.as_str());
    let direction = match row {
        Some(r) if r.lower_is_better => "lower is better",
        Some(_) => "higher is better",
        None => "",
    };
    let top = bars.iter().map(|b| b.max.max(b.median)).fold(0.0, f64::max);
    // Room right of the longest bar for its label.
    let x_end = if top > 0.0 { top * 1.3 } else { 1.0 };
    let failed: Vec<String> = w
        .rows
        .iter()
        .flat_map(|r| &r.peers)
        .filter(|p| p.median.is_none())
        .map(|p| {
            format!(
                "{} failed ({})",
                p.peer,
                p.error.as_deref().unwrap_or("no samples")
            )
        })
        .collect();
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        let mut caption = w.about.clone();
        if !failed.is_empty() {
            caption = format!("{caption}; {}", failed.join(", "));
        }
        let title = ("sans-serif", 18).into_font().style(FontStyle::Bold);
        root.draw(&Text::new(w.name.as_str(), (16, 8), title))
            .map_err(draw_err)?;
        root.draw(&Text::new(
            caption,
            (16, 32),
            ("sans-serif", 13).into_font().color(&BLACK.mix(0.75)),
        ))
        .map_err(draw_err)?;
        let (_, body) = root.split_vertically(54);
        let mut chart = ChartBuilder::on(&body)
            .margin_left(16)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(44)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0..x_end, (0..n - 1).into_segmented())
            .map_err(draw_err)?;
        let labels: Vec<String> = bars.iter().rev().map(|b| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(format!("{unit}, {direction}"))
            .x_label_formatter(&|v| num(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        // Bar i is drawn in segment n - 1 - i, so the first is on top.
        let at = |i: usize| n - 1 - i;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let k = at(i);
                let mut r = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(k)),
                        (b.median, SegmentValue::Exact(k + 1)),
                    ],
                    colour(b.peer).filled(),
                );
                r.set_margin(4, 4, 0, 0);
                r
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.best)
                    .map(|(i, b)| {
                        let k = at(i);
                        let mut r = Rectangle::new(
                            [
                                (0.0, SegmentValue::Exact(k)),
                                (b.median, SegmentValue::Exact(k + 1)),
                            ],
                            BEST.stroke_width(2),
                        );
                        r.set_margin(3, 3, 0, 0);
                        r
                    }),
            )
            .map_err(draw_err)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                ErrorBar::new_horizontal(
                    SegmentValue::CenterOf(at(i)),
                    b.min,
                    b.median,
                    b.max,
                    BLACK.mix(0.7).filled(),
                    8,
                )
            }))
            .map_err(draw_err)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let mut text = num(b.median);
                if b.best {
                    text.push_str("  best");
                }
                let font = ("sans-serif", 13).into_font();
                let font = if b.peer.peer == "grove" || b.best {
                    font.style(FontStyle::Bold)
                } else {
                    font
                };
                // Right of the whisker's end, clear of its cap.
                let x = b.max.max(b.median) + x_end * 0.012;
                Text::new(
                    text,
                    (x, SegmentValue::CenterOf(at(i))),
                    TextStyle::from(font).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let attrs = format!(
        "<svg class=\"chart\" data-workload=\"{}\" ",
        w.name.replace(['"', '<', '>', '&'], "_")
    );
    Ok(buf.replacen("<svg ", &attrs, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::sample_run;

    /// Per chart: its workload and the fill colours of its bars.
    fn charts(svg: &str) -> Vec<(String, Vec<String>)> {
        let doc = roxmltree::Document::parse(svg).expect("the report is well-formed XML");
        let bar_fills: Vec<String> = [GROVE, RUST_PEER, OTHER_LANGUAGE]
            .iter()
            .map(|c| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2))
            .collect();
        doc.descendants()
            .filter(|n| n.has_tag_name("svg") && n.attribute("class") == Some("chart"))
            .map(|chart| {
                let fills = chart
                    .descendants()
                    .filter(|n| n.has_tag_name("rect"))
                    .filter_map(|n| n.attribute("fill"))
                    .filter(|f| bar_fills.iter().any(|b| b.eq_ignore_ascii_case(f)))
                    .map(str::to_string)
                    .collect();
                let name = chart.attribute("data-workload").unwrap_or("").to_string();
                (name, fills)
            })
            .collect()
    }

    #[test]
    fn one_chart_per_workload_with_one_bar_per_peer_that_ran() {
        let run = sample_run();
        let path =
            std::env::temp_dir().join(format!("grove-bench-report-{}.svg", std::process::id()));
        write(&run, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let found = charts(&svg);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["spawn_join", "echo"]);
        for ((_, fills), w) in found.iter().zip(&run.workloads) {
            let ran = w
                .rows
                .iter()
                .flat_map(|r| &r.peers)
                .filter(|p| p.median.is_some())
                .count();
            assert_eq!(fills.len(), ran, "{}: {fills:?}", w.name);
        }
        // spawn_join: grove, tokio, may; echo: grove and tokio in 2 rows, go in one.
        assert_eq!(found[0].1.len(), 3);
        assert_eq!(found[1].1.len(), 5);
        let go = format!(
            "#{:02X}{:02X}{:02X}",
            OTHER_LANGUAGE.0, OTHER_LANGUAGE.1, OTHER_LANGUAGE.2
        );
        assert_eq!(found[1].1.iter().filter(|f| **f == go).count(), 1);
        let grove = format!("#{:02X}{:02X}{:02X}", GROVE.0, GROVE.1, GROVE.2);
        assert_eq!(found[1].1.iter().filter(|f| **f == grove).count(), 2);
    }

    #[test]
    fn the_axes_state_the_direction_and_the_best_is_marked() {
        let svg = svg(&sample_run()).unwrap();
        assert!(svg.contains("ns/task, lower is better"), "{svg}");
        assert!(svg.contains("round trips/s, higher is better"));
        assert_eq!(svg.matches("  best").count(), 3, "one best per row");
        assert!(svg.contains("std failed (timed out)"));
        assert!(svg.contains("2w · go (Go)"), "the other language is named");
    }

    #[test]
    fn the_report_goes_beside_the_results() {
        assert_eq!(
            path_beside(Path::new("target/grove-bench/latest.json")),
            Path::new("target/grove-bench/latest.svg")
        );
    }
}
