//! `sweep.html`: a sweep's page in the report's style (shared skeleton of
//! [`super::page`]): every grid point with its cascade probability, the paired difference
//! from its predecessor and a few tail figures, then the sweep's figures from `plots/`, with
//! the base scenario beside.

use std::fmt::Write as _;

use super::format::{compact, human, percent, signed, thousands};
use super::page::{self, escape, inline_svg};
use super::sweep::SweepResults;
use super::{OutputError, Staging};
use crate::sweep::POINT_FIELDS;

/// Point fields shown after the cascade probability and the difference, by their
/// `sweep.csv` names (one name per column; the header is the field's description).
const COLUMNS: &[(&str, &str)] = &[
    ("max_drawdown_es99", "ES 99% of the fall"),
    ("liquidated_notional_mean", "mean liquidated"),
    ("bad_debt_probability", "bad debt on"),
];

/// The figures a sweep may have drawn (stem, title), shown when their SVG exists.
const FIGURES: &[(&str, &str)] = &[
    ("sweep_cascade_probability", "Cascade probability"),
    ("sweep_bad_debt_probability", "Share of paths with bad debt"),
    ("sweep_heatmap_cascade_probability", "Cascade probability"),
    (
        "sweep_heatmap_bad_debt_probability",
        "Share of paths with bad debt",
    ),
];

/// A grid point as `key = value` pairs, each value in the short form of parameter values.
fn point_label(r: &SweepResults<'_>, i: usize) -> String {
    r.grid
        .axes
        .iter()
        .zip(r.grid.values(i))
        .map(|(a, v)| format!("{} = {}", a.path, compact(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn points_table(o: &mut String, r: &SweepResults<'_>) {
    let last = r.grid.axes.len().saturating_sub(1);
    let fields: Vec<_> = COLUMNS
        .iter()
        .filter_map(|(n, head)| {
            POINT_FIELDS
                .iter()
                .find(|f| f.name == *n)
                .map(|f| (f, head))
        })
        .collect();
    let along = r
        .grid
        .axes
        .get(last)
        .map_or(String::new(), |a| a.path.to_string());
    let _ = write!(
        o,
        "<div class=\"scroll\"><table>\n<thead><tr><th>#</th><th>point</th><th title=\"95% interval\">cascade probability</th><th title=\"paired difference from the previous point along {}, 95% interval, same paths\">Δ from previous</th>",
        escape(&along)
    );
    for (f, head) in &fields {
        let _ = write!(
            o,
            "<th title=\"{}\">{}</th>",
            escape(f.description),
            escape(head)
        );
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for (i, p) in r.points.iter().enumerate() {
        let c = &p.cascade;
        let delta = r
            .differences
            .iter()
            .find(|d| d.to == i && d.axis == last)
            .map_or("–".into(), |d| {
                let d = d.difference;
                format!(
                    "{} pp <small>[{}, {}]</small>",
                    signed(d.estimate * 100.0),
                    signed(d.ci_low * 100.0),
                    signed(d.ci_high * 100.0)
                )
            });
        let _ = write!(
            o,
            "<tr><td>{i}</td><td class=\"name\">{}</td><td>{} <small>[{}, {}]</small></td><td>{delta}</td>",
            escape(&point_label(r, i)),
            percent(c.estimate),
            percent(c.ci_low),
            percent(c.ci_high)
        );
        for (f, _) in &fields {
            let unit = if f.unit == "probability" {
                "fraction"
            } else {
                f.unit
            };
            let _ = write!(o, "<td>{}</td>", escape(&human(f.value(p), unit)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
}

/// The page's text; figures are read from `<dir>/plots/`.
pub fn render(r: &SweepResults<'_>, dir: &std::path::Path) -> String {
    let p = r.provenance;
    let name = if p.scenario_name.is_empty() {
        &p.scenario_file
    } else {
        &p.scenario_name
    };
    let params: Vec<String> = r
        .grid
        .axes
        .iter()
        .map(|a| {
            format!(
                "<code>{}</code> ({} values)",
                escape(a.path.as_str()),
                a.values.len()
            )
        })
        .collect();
    let meta = vec![
        format!(
            "cascadesim {} · sweep · {} · {} grid points × {} paths · seed {} (the same paths at every point)",
            escape(&p.cascadesim_version),
            escape(&p.scenario_file),
            thousands(r.points.len() as u64),
            thousands(p.paths),
            p.seed
        ),
        format!("parameters: {}", params.join(", ")),
    ];
    let mut o = page::open(&format!("sweep · {name}"), &format!("Sweep: {name}"), &meta);
    o.push_str("<div class=\"layout\">\n<main>\n<h2 id=\"points\">Grid points</h2>\n");
    points_table(&mut o, r);
    o.push_str("<p class=\"meta\">Every file: <code>sweep.csv</code> (one row per point), <code>differences.csv</code> (paired differences along every axis), <code>sweep.h5</code> (the same, with each point's scenario).</p>\n");
    let drawn: Vec<_> = FIGURES
        .iter()
        .filter_map(|(stem, title)| {
            let t = std::fs::read_to_string(dir.join("plots").join(format!("{stem}.svg"))).ok()?;
            Some((stem, title, t))
        })
        .collect();
    if !drawn.is_empty() {
        o.push_str("<h2 id=\"figures\">Figures</h2>\n");
    }
    for (stem, title, text) in drawn {
        let svg = inline_svg(&text, title).ok_or_else(|| "not an SVG file".to_string());
        let caption = format!(
            "95% intervals over paths (and population replicates when the run has them). <code>plots/{}.png</code>, <code>.svg</code>",
            escape(stem)
        );
        page::figure(&mut o, stem, title, svg, &caption);
    }
    o.push_str("</main>\n<aside>\n<h2 id=\"scenario\">Base scenario</h2>\n<pre>");
    o.push_str(&escape(&p.scenario));
    o.push_str("</pre>\n</aside>\n</div>\n");
    page::close(&mut o);
    o
}

/// Writes `sweep.html` into `staging` (after the figures, which it inlines).
///
/// # Errors
/// When the page cannot be written.
pub fn write(staging: &Staging, r: &SweepResults<'_>) -> Result<(), OutputError> {
    let page = render(r, &staging.path(""));
    staging.write("sweep.html", page.as_bytes())
}
