//! A sweep's figures (PNG + SVG through [`super::plot`]): one-parameter sweeps as lines with
//! their 95% bands, two-parameter sweeps as heatmaps, and the tornado chart of
//! `cascadesim sensitivity`. Written into `plots/` of the results folder.

use std::path::Path;

use super::format::percent;
use super::plot;
use super::sweep::SweepResults;
use crate::stats::Proportion;
use crate::sweep::tornado::TornadoRow;

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

/// Writes the sweep's figures into `<dir>/plots/`; returns warnings (a figure that could not
/// be drawn, or a grid of more than two parameters, which has none).
pub fn write_sweep_plots(dir: &Path, r: &SweepResults<'_>) -> Vec<String> {
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
    match axes.len() {
        1 => {
            for (stem, label, get) in metrics {
                let fig = Line {
                    title: format!("{label} against {} ({} paths)", axes[0].path, r.provenance.paths),
                    x_label: axes[0].path.as_str(),
                    y_label: label,
                    xs: axes[0].values.clone(),
                    ps: r.points.iter().map(get).collect(),
                };
                if let Err(e) = plot::save(&fig, &plots, &format!("sweep_{stem}"), SIZE) {
                    warnings.push(e.to_string());
                }
            }
        }
        2 => {
            for (stem, label, get) in metrics {
                let values: Vec<f64> = r.points.iter().map(|p| get(p).estimate).collect();
                let max = values.iter().copied().fold(0.0, f64::max);
                let fig = Heat {
                    title: format!(
                        "{label} ({} paths; colour from 0 to the largest, {})",
                        r.provenance.paths,
                        percent(max)
                    ),
                    rows_label: axes[0].path.as_str(),
                    cols_label: axes[1].path.as_str(),
                    rows: &axes[0].values,
                    cols: &axes[1].values,
                    values,
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
