//! The files of `cascadesim compare`: `compare.json`, the overlaid tail figures under
//! `plots/` (PNG and SVG, drawn like a run's tail figures) and `compare.html` in the style of
//! `report.html`, all written into a [`Staging`] folder by the caller.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::{BLUE_700, ORANGE_700};
use serde::Serialize;

use super::figures::{FigureFile, survival_chart, survival_points};
use super::format::{human, thousands};
use super::page::{self, escape};
use super::plot::{self, Figure, draw_legend};
use super::style::err;
use super::{OutputError, Staging};
use crate::compare::{Comparison, Row};
use crate::metrics::{Column, ColumnSource};
use crate::summary::{Provenance, TAIL_METRICS};

/// Pixel size of a tail figure.
const TAIL_SIZE: (u32, u32) = (960, 600);

/// One of the two runs, as the outputs name it.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The results file read.
    pub file: String,
    /// Short name: the results folder's name (or the file's stem).
    pub label: String,
    pub scenario_name: String,
    pub scenario_file: String,
    pub cascadesim_version: String,
    pub seed: u64,
    pub paths: u64,
}

impl Side {
    pub fn new(file: String, label: String, p: &Provenance) -> Side {
        Side {
            file,
            label,
            scenario_name: p.scenario_name.clone(),
            scenario_file: p.scenario_file.clone(),
            cascadesim_version: p.cascadesim_version.clone(),
            seed: p.seed,
            paths: p.paths,
        }
    }
}

/// The content of `compare.json`.
#[derive(Debug, Serialize)]
pub struct CompareFile<'a> {
    pub a: &'a Side,
    pub b: &'a Side,
    /// Differences are `b − a`.
    pub difference: &'static str,
    #[serde(flatten)]
    pub comparison: &'a Comparison,
}

/// The empirical survival curves of one tail metric in both runs.
struct TailOverlay {
    metric: &'static str,
    unit: &'static str,
    a: (String, usize, Vec<(f64, f64)>),
    b: (String, usize, Vec<(f64, f64)>),
}

fn curve(c: &Column) -> (usize, Vec<(f64, f64)>) {
    let mut v: Vec<f64> = c
        .values
        .to_f64()
        .into_iter()
        .filter(|x| x.is_finite())
        .collect();
    v.sort_unstable_by(f64::total_cmp);
    (v.len(), survival_points(&v))
}

impl TailOverlay {
    fn stem(&self) -> String {
        format!("tail_{}", self.metric)
    }
}

impl Figure for TailOverlay {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = format!("Tail of {}: A and B overlaid", self.metric);
        let all = self.a.2.iter().chain(&self.b.2);
        let (mut x_lo, mut x_hi, mut y_lo) = (f64::INFINITY, 0.0f64, 1.0f64);
        for &(x, s) in all {
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(s);
        }
        let x_hi = x_hi * 1.25;
        let x_lo = (x_lo / 1.25).max(x_hi * 1e-4);
        let x_lo = if x_lo >= x_hi { x_hi / 10.0 } else { x_lo };
        let y_lo = y_lo * 0.7;
        let mut chart = survival_chart(
            root,
            &title,
            (x_lo, x_hi),
            (y_lo, 1.2),
            self.metric,
            self.unit,
        )?;
        for ((label, n, points), color) in [(&self.a, BLUE_700), (&self.b, ORANGE_700)] {
            let shown: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0 >= x_lo).collect();
            chart
                .draw_series(LineSeries::new(shown.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(format!("{label} ({} paths)", thousands(*n as u64)))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    shown
                        .iter()
                        .map(|&p| Circle::new(p, 2, color.mix(0.8).filled())),
                )
                .map_err(err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
    }
}

/// The overlays to draw: each tail metric both runs have, when either has a positive value
/// (a log axis shows nothing else). Returns them with a note for each metric left out.
fn overlays(
    a: &Side,
    ca: &dyn ColumnSource,
    b: &Side,
    cb: &dyn ColumnSource,
) -> (Vec<TailOverlay>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for name in TAIL_METRICS {
        let (Some(x), Some(y)) = (ca.path(name), cb.path(name)) else {
            continue;
        };
        let ((na, pa), (nb, pb)) = (curve(&x), curve(&y));
        if pa.is_empty() && pb.is_empty() {
            notes.push(format!(
                "{name}: no positive value in either run, so no tail to draw"
            ));
            continue;
        }
        out.push(TailOverlay {
            metric: x.name,
            unit: x.unit,
            a: (format!("A: {}", a.label), na, pa),
            b: (format!("B: {}", b.label), nb, pb),
        });
    }
    (out, notes)
}

/// A difference for people: fractions (and log moves) in percentage points, other units as
/// [`human`].
pub fn signed(value: f64, unit: &str) -> String {
    let s = match unit {
        "fraction" | "log" => {
            format!("{:.2} pp", value.abs() * 100.0)
        }
        u => human(value.abs(), u),
    };
    if value > 0.0 {
        format!("+{s}")
    } else if value < 0.0 {
        format!("−{s}")
    } else {
        s
    }
}

/// The 95% interval of a row, as text; "none (one path)" when a run of one path leaves it
/// unbounded.
pub fn interval(r: &Row) -> String {
    if !(r.ci_low.is_finite() && r.ci_high.is_finite()) {
        return "none (one path)".into();
    }
    format!(
        "[{}, {}]",
        signed(r.ci_low, r.unit),
        signed(r.ci_high, r.unit)
    )
}

/// Writes `compare.json`, `plots/tail_<metric>.{png,svg}` and `compare.html` into
/// `staging`. Returns the figures (a figure that could not be drawn is listed with the reason
/// and shown as such on the page; never fatal).
///
/// # Errors
/// When a file cannot be written.
pub fn write_compare(
    staging: &Staging,
    a: &Side,
    ca: &dyn ColumnSource,
    b: &Side,
    cb: &dyn ColumnSource,
    comparison: &Comparison,
) -> Result<Vec<FigureFile>, OutputError> {
    let json = serde_json::to_string_pretty(&CompareFile {
        a,
        b,
        difference: "b − a",
        comparison,
    })?;
    staging.write("compare.json", format!("{json}\n").as_bytes())?;
    let plots = staging.path("plots");
    std::fs::create_dir_all(&plots).map_err(|source| OutputError::Io {
        path: plots.clone(),
        source,
    })?;
    let (figs, notes) = overlays(a, ca, b, cb);
    let mut files = Vec::new();
    for f in &figs {
        let stem = f.stem();
        let status = plot::save(f, &plots, &stem, TAIL_SIZE).map_err(|e| e.to_string());
        files.push(FigureFile {
            caption: format!(
                "Empirical survival P(X ≥ x) of {} in both runs on log-log axes (A blue, B orange).",
                f.metric
            ),
            title: format!("Tail of {}", f.metric),
            status,
            stem,
        });
    }
    let page = render(a, b, comparison, &files, &plots, &notes);
    staging.write("compare.html", page.as_bytes())?;
    Ok(files)
}

fn render(
    a: &Side,
    b: &Side,
    c: &Comparison,
    figures: &[FigureFile],
    plots: &std::path::Path,
    notes: &[String],
) -> String {
    let title = format!("{} vs {}", a.label, b.label);
    let meta: Vec<String> = [("A", a), ("B", b)]
        .iter()
        .map(|(tag, s)| {
            format!(
                "<b>{tag}</b> {} · {} · cascadesim {} · {} paths · seed {}",
                escape(&s.file),
                escape(if s.scenario_name.is_empty() {
                    &s.scenario_file
                } else {
                    &s.scenario_name
                }),
                escape(&s.cascadesim_version),
                thousands(s.paths),
                s.seed
            )
        })
        .collect();
    let mut o = page::open(&title, &format!("Compare: {title}"), &meta);
    o.push_str("<main class=\"page\">\n");
    let _ = writeln!(
        o,
        "<h2>{}</h2>\n<p>{}</p>",
        if c.pairing.paired {
            "Paired comparison"
        } else {
            "Unpaired comparison"
        },
        escape(&c.pairing.reason)
    );
    o.push_str("<p>Differences are B − A with 95% intervals; differences of fractions are in percentage points (pp). Rows whose interval excludes zero are in bold.</p>\n<ul class=\"notes\">\n");
    for m in &c.methods {
        let _ = writeln!(o, "<li>{}</li>", escape(m));
    }
    o.push_str("</ul>\n<div class=\"scroll\"><table>\n<thead><tr><th>figure</th><th>A</th><th>B</th><th>B − A</th><th>95% interval</th><th>method</th></tr></thead>\n<tbody>\n");
    for r in &c.rows {
        let (open, close) = if r.significant() {
            ("<b>", "</b>")
        } else {
            ("", "")
        };
        let _ = writeln!(
            o,
            "<tr><td>{open}{}{close}</td><td>{}</td><td>{}</td><td>{open}{}{close}</td><td>{}</td><td class=\"reason\">{}</td></tr>",
            escape(&r.label()),
            escape(&human(r.a, r.unit)),
            escape(&human(r.b, r.unit)),
            escape(&signed(r.difference, r.unit)),
            escape(&interval(r)),
            r.method
        );
    }
    o.push_str("</tbody>\n</table></div>\n");
    if !c.only_in_one.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"meta\">Not compared (in one run only): {}</p>",
            escape(&c.only_in_one.join(", "))
        );
    }
    o.push_str("<h2 id=\"figures\">Tails</h2>\n");
    for n in notes {
        let _ = writeln!(o, "<p class=\"meta\">{}</p>", escape(n));
    }
    for f in figures {
        page::run_figure(&mut o, f, plots);
    }
    o.push_str("</main>\n");
    page::close(&mut o);
    o
}
