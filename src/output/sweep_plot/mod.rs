//! A sweep's figures (PNG + SVG through [`super::plot`]): one-parameter sweeps as lines with
//! their 95% bands, two-parameter sweeps as heatmaps, and the tornado chart of
//! `cascadesim sensitivity`. Written into `plots/` of the results folder.

use std::path::Path;

use super::format::thousands;
use super::plot;
use super::sweep::SweepResults;
use crate::stats::Proportion;
use crate::sweep::tornado::TornadoRow;
use crate::sweep::tune::Target;

const SIZE: (u32, u32) = (900, 560);

/// Which probability of a grid point a figure shows.
type PickProportion = fn(&crate::sweep::PointStats) -> Proportion;

mod heat;
mod line;
mod tornado;

use heat::Heat;
use line::Line;
use tornado::Tornado;

pub(super) fn span(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * 0.04;
        (lo - pad, hi + pad)
    } else {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    }
}

/// A scenario key's last part in words, with the unit its suffix names: `depth_usd` →
/// ("depth", "USD"), `maintenance_margin` → ("maintenance margin", "").
fn key_words(path: &str) -> (String, &'static str) {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    let units = [
        ("_usd", "USD"),
        ("_bp", "bp"),
        ("_seconds", "s"),
        ("_s", "s"),
        ("_8h", "per 8 h"),
    ];
    let (stem, unit) = units
        .iter()
        .find_map(|(suffix, unit)| last.strip_suffix(suffix).map(|s| (s, *unit)))
        .unwrap_or((last, ""));
    (stem.replace('_', " "), unit)
}

/// An axis title for a scenario key: its words and unit, then the key itself, e.g.
/// `book depth (USD) · assets[0].book.depth_usd`.
fn key_title(path: &str) -> String {
    let (words, unit) = key_words(path);
    // The table the key sits in, when it says what the key belongs to (`book`, `cascade`).
    let parent = path
        .rsplit('.')
        .nth(1)
        .map(|p| p.split('[').next().unwrap_or(p))
        .filter(|p| {
            !matches!(
                *p,
                "assets" | "populations" | "simulation" | "venues" | "lending"
            )
        });
    let words = match parent {
        Some(p) if !words.starts_with(p) => format!("{} {words}", p.replace('_', " ")),
        _ => words,
    };
    if unit.is_empty() {
        format!("{words} · {path}")
    } else {
        format!("{words} ({unit}) · {path}")
    }
}

/// Writes the sweep's figures into `<dir>/plots/`; returns warnings (a figure that could not
/// be drawn, or a grid of more than two parameters, which has none).
///
/// With a `target` (as `tune --target`), the figure of its metric shows it: a dashed line
/// at its level on a one-parameter plot, on a two-parameter heatmap the contour between the
/// cells whose estimate meets it and those that do not.
pub fn write_sweep_plots(dir: &Path, r: &SweepResults<'_>, target: Option<&Target>) -> Vec<String> {
    let plots = dir.join("plots");
    let mut warnings = Vec::new();
    if let Err(e) = std::fs::create_dir_all(&plots) {
        return vec![format!("cannot create {}: {e}", plots.display())];
    }
    let axes = &r.grid.axes;
    let metrics: [(&str, &str, PickProportion); 2] = [
        ("cascade_probability", "cascade probability", |s| s.cascade),
        (
            "bad_debt_probability",
            "share of paths with bad debt",
            |s| s.bad_debt_share,
        ),
    ];
    // The target, for the figure of its metric only.
    let target_of = |stem: &str| target.filter(|t| t.metric.name() == stem);
    match axes.len() {
        1 => {
            for (stem, label, get) in metrics {
                let x_label = key_title(axes[0].path.as_str());
                let fig = Line {
                    title: format!(
                        "{label} against {} ({} paths each)",
                        key_words(axes[0].path.as_str()).0,
                        thousands(r.provenance.paths)
                    ),
                    x_label: &x_label,
                    y_label: label,
                    xs: axes[0].values.clone(),
                    ps: r.points.iter().map(get).collect(),
                    target: target_of(stem).map(|t| (t.level, format!("target: {t}"))),
                };
                if let Err(e) = plot::save(&fig, &plots, &format!("sweep_{stem}"), SIZE) {
                    warnings.push(e.to_string());
                }
            }
        }
        2 => {
            for (stem, label, get) in metrics {
                let values: Vec<f64> = r.points.iter().map(|p| get(p).estimate).collect();
                let half_widths = r
                    .points
                    .iter()
                    .map(|p| (get(p).ci_high - get(p).ci_low) / 2.0)
                    .collect();
                let (rows_label, cols_label) =
                    (key_title(axes[0].path.as_str()), key_title(axes[1].path.as_str()));
                let fig = Heat {
                    title: format!(
                        "{label} ± 95% half-width ({} paths each){}",
                        thousands(r.provenance.paths),
                        target_of(stem).map_or(String::new(), |t| format!("; black: edge of {t}"))
                    ),
                    rows_label: &rows_label,
                    cols_label: &cols_label,
                    rows: &axes[0].values,
                    cols: &axes[1].values,
                    meets: target_of(stem).map(|t| values.iter().map(|&v| t.meets(v)).collect()),
                    values,
                    half_widths,
                };
                if let Err(e) = plot::save(&fig, &plots, &format!("sweep_heatmap_{stem}"), SIZE) {
                    warnings.push(e.to_string());
                }
            }
        }
        n => warnings.push(format!(
            "no figures for a sweep of {n} parameters (figures cover one or two); the CSV and HDF5 files have every point"
        )),
    }
    warnings
}

/// Writes `plots/tornado.png` and `.svg`; returns warnings. `base_p` and `base_es` are the
/// scenario's own cascade probability and 99% ES of the drawdown.
pub fn write_tornado_plot(
    dir: &Path,
    rows: &[TornadoRow],
    base_p: f64,
    base_es: f64,
) -> Vec<String> {
    let plots = dir.join("plots");
    if let Err(e) = std::fs::create_dir_all(&plots) {
        return vec![format!("cannot create {}: {e}", plots.display())];
    }
    let height = (140 + 60 * rows.len() as u32).max(300);
    let fig = Tornado {
        rows,
        base_p,
        base_es,
    };
    match plot::save(&fig, &plots, "tornado", (1300, height)) {
        Ok(()) => Vec::new(),
        Err(e) => vec![e.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_read_as_words_with_units() {
        assert_eq!(
            key_title("assets[0].book.depth_usd"),
            "book depth (USD) · assets[0].book.depth_usd"
        );
        assert_eq!(
            key_title("populations[1].maintenance_margin"),
            "maintenance margin · populations[1].maintenance_margin"
        );
        assert_eq!(
            key_title("simulation.cascade.endogenous_move"),
            "cascade endogenous move · simulation.cascade.endogenous_move"
        );
        assert_eq!(key_words("assets[0].book.refill_half_life_s").1, "s");
    }
}
