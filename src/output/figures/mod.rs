//! The figures of a run, written to `plots/` as PNG and SVG (see [`super::plot`]):
//!
//! - `tail_<metric>`: log-log survival plot of each tail metric with the fitted GPD above
//!   the threshold, a 95% profile-likelihood band, and the VaR/ES levels marked;
//! - `drawdown`: the distribution of `max_drawdown` beside `exogenous_drawdown`;
//! - `path_worst`, `path_median`, `path_random`: replayed sample paths (fundamental and mark,
//!   liquidations sized by notional, book depth underneath);
//! - `realised_<asset>`: where liquidations happened over all paths, price × time
//!   (drawn in [`super::realised`]);
//! - `convergence`: the cascade probability and its Wilson interval as paths accumulate.
//!
//! Every figure is built from plain data (columns, tail reports, replayed traces), so the
//! `report` command redraws the same figures from `results.h5`. A figure that has nothing to
//! show (no paths, all values zero, no fit) says so on the plot instead of failing.

use std::path::Path;

use rayon::prelude::*;

use super::format::thousands;
use super::plot::{self, PlotError};
use super::realised::RealisedView;
use crate::engine::trace::{SampleKind, Trace};
use crate::metrics::{Column, ColumnSource};
use crate::summary::Summary;
use crate::tails::TailReport;

mod axes;
mod convergence;
mod drawdown;
mod path;
mod tail;

pub(crate) use tail::{survival_chart, survival_points};

use convergence::ConvergenceFigure;
use drawdown::DrawdownFigure;
use path::PathFigure;
use tail::TailFigure;

/// A replayed sample path and why it was chosen.
#[derive(Debug, Clone)]
pub struct SamplePath {
    pub kind: SampleKind,
    /// The metric that ranked it (e.g. `max_drawdown`).
    pub metric: &'static str,
    pub trace: Trace,
}

/// Everything the figures are drawn from.
pub struct FigureInput<'a> {
    pub summary: &'a Summary,
    /// The path columns, read one at a time as each figure is drawn.
    pub columns: &'a dyn ColumnSource,
    pub tail_reports: &'a [(&'static str, TailReport)],
    /// The replayed sample paths, or why there are none.
    pub samples: Result<Vec<SamplePath>, String>,
    /// The realised liquidation heatmap, one view per asset (empty when not recorded).
    pub realised: Vec<RealisedView>,
}

/// One figure of the run: its file stem under `plots/`, a title and a caption for the
/// report, and whether it was written.
#[derive(Debug, Clone)]
pub struct FigureFile {
    pub stem: String,
    pub title: String,
    pub caption: String,
    /// `Err(reason)` when the figure was skipped or could not be written.
    pub status: Result<(), String>,
}

/// The stem of the one entry that stands for figures not drawn at all (the sample paths,
/// when they cannot be replayed): its error is a reason, not a failure to write.
pub const SAMPLES_SKIPPED: &str = "path_*";

impl FigureFile {
    /// Whether drawing or writing this figure failed (as opposed to being skipped).
    pub fn failed(&self) -> bool {
        self.status.is_err() && self.stem != SAMPLES_SKIPPED
    }
}

/// Pixel sizes of the figures.
const TAIL_SIZE: (u32, u32) = (960, 640);
const DRAWDOWN_SIZE: (u32, u32) = (1200, 520);
const CONVERGENCE_SIZE: (u32, u32) = (960, 520);
const REALISED_SIZE: (u32, u32) = (1200, 640);

/// Writes every figure into `dir` (created if needed) and lists them in report order.
/// Drawing errors are recorded per figure, never fatal.
pub fn write_figures(dir: &Path, input: &FigureInput<'_>) -> Vec<FigureFile> {
    let mut out = Vec::new();
    if let Err(e) = std::fs::create_dir_all(dir) {
        out.push(FigureFile {
            stem: String::new(),
            title: "plots".into(),
            caption: String::new(),
            status: Err(format!("cannot create {}: {e}", dir.display())),
        });
        return out;
    }
    let done = |r: Result<(), PlotError>| r.map_err(|e| e.to_string());
    // Each figure is built and drawn on its own (they share nothing but the input), so they
    // are drawn in parallel and listed in this order.
    let mut jobs: Vec<Box<dyn Fn() -> FigureFile + Send + Sync + '_>> = Vec::new();

    for (metric, report) in input.tail_reports {
        let Some(unit) = input
            .columns
            .path_headers()
            .iter()
            .find(|h| h.name == *metric)
            .map(|h| h.unit)
        else {
            continue;
        };
        if input
            .columns
            .path(metric)
            .is_none_or(|c| nothing_positive(&c))
        {
            continue;
        }
        jobs.push(Box::new(move || {
            let values = input
                .columns
                .path(metric)
                .map_or_else(Vec::new, |c| c.values.to_f64());
            let fig = TailFigure::new(metric, unit, &values, report);
            let stem = format!("tail_{metric}");
            FigureFile {
                caption: fig.caption(),
                title: format!("Tail of {metric}"),
                status: done(plot::save(&fig, dir, &stem, TAIL_SIZE)),
                stem,
            }
        }));
    }

    let headers = input.columns.path_headers();
    let has = |name: &str| headers.iter().any(|h| h.name == name);
    let values = move |name: &str| {
        input
            .columns
            .path(name)
            .map_or_else(Vec::new, |c| c.values.to_f64())
    };
    if has("max_drawdown") && has("exogenous_drawdown") {
        jobs.push(Box::new(move || {
            let fig = DrawdownFigure::new(values("max_drawdown"), values("exogenous_drawdown"));
            FigureFile {
                stem: "drawdown".into(),
                title: "Drawdown: with and without liquidations".into(),
                caption: fig.caption(),
                status: done(plot::save(&fig, dir, "drawdown", DRAWDOWN_SIZE)),
            }
        }));
    }

    let assets = &input.summary.provenance.assets;
    let step_seconds = input.summary.provenance.step_seconds;
    match &input.samples {
        Ok(samples) => {
            for s in samples {
                jobs.push(Box::new(move || {
                    let stem = format!("path_{}", s.kind.name());
                    let fig = PathFigure {
                        sample: s,
                        assets,
                        step_seconds,
                    };
                    let height = 70 + 420 * s.trace.n_assets.max(1) as u32;
                    FigureFile {
                        title: fig.heading(),
                        caption: fig.caption(),
                        status: done(plot::save(&fig, dir, &stem, (1200, height))),
                        stem,
                    }
                }));
            }
        }
        Err(reason) => jobs.push(Box::new(move || FigureFile {
            stem: SAMPLES_SKIPPED.into(),
            title: "Sample paths".into(),
            caption: String::new(),
            status: Err(reason.clone()),
        })),
    }

    for v in &input.realised {
        jobs.push(Box::new(move || {
            let stem = v.stem();
            FigureFile {
                title: format!("Where liquidations of {} happened", v.asset),
                caption: v.caption(),
                status: done(plot::save(v, dir, &stem, REALISED_SIZE)),
                stem,
            }
        }));
    }

    if has("cascade") {
        jobs.push(Box::new(move || {
            let fig = ConvergenceFigure::new(&values("cascade"));
            FigureFile {
                stem: "convergence".into(),
                title: "Convergence of the cascade probability".into(),
                caption: fig.caption(),
                status: done(plot::save(&fig, dir, "convergence", CONVERGENCE_SIZE)),
            }
        }));
    }
    out.extend(jobs.par_iter().map(|job| job()).collect::<Vec<_>>());
    out
}

/// A column of a run with paths whose values are all ≤ 0: its tail has nothing to show on a
/// log axis (for bad debt, the good news that no path had any).
fn nothing_positive(c: &Column) -> bool {
    !c.values.is_empty() && !c.values.to_f64().iter().any(|&v| v > 0.0)
}

/// One neutral line for each tail metric [`write_figures`] draws no figure for because no
/// path has a positive value ("No path had bad_debt above 0 …"), in report order.
pub fn empty_tail_notes(input: &FigureInput<'_>) -> Vec<String> {
    input
        .tail_reports
        .iter()
        .filter_map(|(metric, _)| input.columns.path(metric))
        .filter(|c| nothing_positive(c))
        .map(|c| {
            format!(
                "{}: 0 on all {} paths, so there is no tail to plot.",
                c.name,
                thousands(c.values.len() as u64)
            )
        })
        .collect()
}
