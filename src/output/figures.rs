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

use plotters::coord::Shift;
use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::prelude::*;
use plotters::style::full_palette::{BLUE_700, GREY_500, GREY_700, ORANGE_700, PURPLE_500};
use rayon::prelude::*;

use super::format::Axis;
use super::plot::{self, Figure, PlotError, draw_legend, font};
use super::realised::RealisedView;
use crate::engine::trace::{SampleKind, Trace};
use crate::metrics::Column;
use crate::stats::wilson95;
use crate::summary::Summary;
use crate::tails::{Endpoint, TailReport};

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
    pub columns: &'a [Column],
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
        let Some(col) = input.columns.iter().find(|c| c.name == *metric) else {
            continue;
        };
        if nothing_positive(col) {
            continue;
        }
        jobs.push(Box::new(move || {
            let fig = TailFigure::new(metric, col.unit, &col.values.to_f64(), report);
            let stem = format!("tail_{metric}");
            FigureFile {
                caption: fig.caption(),
                title: format!("Tail of {metric}"),
                status: done(plot::save(&fig, dir, &stem, TAIL_SIZE)),
                stem,
            }
        }));
    }

    let find = |name: &str| input.columns.iter().find(|c| c.name == name);
    if let (Some(dd), Some(exo)) = (find("max_drawdown"), find("exogenous_drawdown")) {
        jobs.push(Box::new(move || {
            let fig = DrawdownFigure::new(dd.values.to_f64(), exo.values.to_f64());
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
            stem: "path_*".into(),
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

    if let Some(flags) = find("cascade") {
        jobs.push(Box::new(move || {
            let fig = ConvergenceFigure::new(&flags.values.to_f64());
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
        .filter_map(|(metric, _)| input.columns.iter().find(|c| c.name == *metric))
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

// ---------------------------------------------------------------------------------------------
// Formatting

pub(super) use super::format::sig;
pub use super::format::{human, thousands};

/// A probability on a log axis: 1, 0.1, 0.01, 1e-3, …
pub(super) fn prob_tick(p: f64) -> String {
    if p >= 0.01 {
        sig(p, 2)
    } else {
        format!("{p:.0e}")
    }
}

/// Tick positions for a log axis over `[lo, hi]`: (labelled, light grid lines). Decades for
/// wide ranges, 1-2-5 for a few decades, every digit below that, and evenly spaced round
/// numbers when the range is too narrow for any of these to give three labels.
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = (hi / lo).log10();
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |ms: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        for d in d0..=d1 {
            for &m in ms {
                let x = m * 10f64.powi(d);
                if x >= lo * (1.0 - 1e-9) && x <= hi * (1.0 + 1e-9) {
                    v.push(x);
                }
            }
        }
        v
    };
    let digits: Vec<f64> = (1..10).map(f64::from).collect();
    let light = if span > 0.6 {
        within(&digits)
    } else {
        Vec::new()
    };
    let step_decades = (span / 7.0).ceil().max(1.0) as usize;
    for ms in [
        &[1.0][..],
        &[1.0, 2.0, 5.0],
        &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let mut bold = within(ms);
        if ms.len() == 1 && span > 7.0 {
            bold = bold.into_iter().step_by(step_decades).collect();
        }
        if bold.len() >= 4 || (ms.len() > 3 && bold.len() >= 3) {
            return (bold, light);
        }
    }
    (linear_ticks(lo, hi), light)
}

/// About five round, evenly spaced values in `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    let mut v = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi * (1.0 + 1e-12) {
        v.push(k * step);
        k += 1.0;
    }
    v
}

/// How an axis names a unit (values of `fraction` are shown in %).
pub(super) fn unit_desc(unit: &str) -> &str {
    match unit {
        "fraction" => "% of price",
        u => u,
    }
}

/// The corner of a plot (half its width, 35% of its height) that the fewest points fall in,
/// for the legend.
fn emptiest_corner(
    points: impl Iterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> SeriesLabelPosition {
    let mut count = [0usize; 4]; // upper left, upper right, lower left, lower right
    for (x, y) in points {
        let fx = (x - x0) / (x1 - x0);
        let fy = (y - y0) / (y1 - y0);
        let left = fx <= 0.5;
        let right = fx >= 0.5;
        let upper = fy >= 0.65;
        let lower = fy <= 0.35;
        for (i, hit) in [upper && left, upper && right, lower && left, lower && right]
            .into_iter()
            .enumerate()
        {
            count[i] += usize::from(hit);
        }
    }
    let best = (0..4).min_by_key(|&i| (count[i], i)).unwrap_or(1);
    [
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::LowerRight,
    ][best]
        .clone()
}

/// Horizontal buckets a sample-path line is reduced to.
const PATH_BUCKETS: usize = 600;

/// Reduces a line with increasing x to at most 4 points per bucket of x (the first, lowest,
/// highest and last point of each, in order), so long paths keep every extreme but stay light.
fn decimate(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    if points.len() <= 2 * buckets {
        return points.to_vec();
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0);
    let span = (x1 - x0).max(f64::MIN_POSITIVE);
    let bucket = |x: f64| (((x - x0) / span * buckets as f64) as usize).min(buckets - 1);
    let mut out = Vec::with_capacity(4 * buckets);
    let mut i = 0;
    while i < points.len() {
        let b = bucket(points[i].0);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < points.len() && bucket(points[j].0) == b {
            if points[j].1 < points[lo].1 {
                lo = j;
            }
            if points[j].1 > points[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push(points[k]);
                last = k;
            }
        }
        i = j;
    }
    out
}

pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Writes `text` at pixel position `at` (absolute, as from `get_pixel_range`) on `area`.
fn text_at<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), String> {
    let base = area.get_base_pixel();
    area.draw(&Text::new(
        text.to_string(),
        (at.0 - base.0, at.1 - base.1),
        style.clone(),
    ))
    .map_err(err)
}

/// Splits a long message into lines of at most `width` characters at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A figure with nothing to plot: its title and the reason, centred.
pub(super) fn draw_message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), String> {
    let area = root.titled(title, font(22.0)).map_err(err)?;
    let (w, h) = area.dim_in_pixel();
    let base = area.get_base_pixel();
    let lines = wrap(message, 90);
    for (i, l) in lines.iter().enumerate() {
        text_at(
            &area,
            l,
            (
                base.0 + 40,
                base.1 + h as i32 / 2 - 12 * lines.len() as i32 + 24 * i as i32,
            ),
            &font(17.0).color(&GREY_700),
        )?;
    }
    let _ = w;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tail: log-log survival with the fitted GPD

/// The fitted part of a tail figure.
struct FitPart {
    threshold: f64,
    xi: f64,
    sigma: f64,
    rate: f64,
    n_exceedances: usize,
    /// (x, survival) along the fitted tail.
    curve: Vec<(f64, f64)>,
    /// Pointwise 95% profile-likelihood interval of the return level at survival s:
    /// (lower x, upper x or None when unbounded, s).
    band: Vec<(f64, Option<f64>, f64)>,
    /// The ξ interval, as text.
    xi_interval: String,
}

/// A VaR or ES mark on the survival plot.
struct Mark {
    label: String,
    x: f64,
    survival: f64,
    es: bool,
    color: RGBColor,
    /// From the fitted tail rather than the data (drawn hollow).
    fitted: bool,
}

/// Decades of the metric a tail plot shows below its largest value.
const TAIL_DECADES: i32 = 4;

struct TailFigure {
    metric: String,
    unit: String,
    n: usize,
    /// Empirical (x, P(X ≥ x)) for positive x, thinned for large samples.
    points: Vec<(f64, f64)>,
    nonpositive: usize,
    /// Positive values left of the x range (more than [`TAIL_DECADES`] below the top).
    below_range: usize,
    fit: Result<FitPart, String>,
    /// VaR/ES levels that are ≤ 0, so not on the log axis ("VaR 99% = $0.00").
    off_axis: Vec<String>,
    marks: Vec<Mark>,
    /// Smallest survival shown.
    p_min: f64,
}

/// The empirical survival `(x, P(X ≥ x))` of the positive values of an ascending slice:
/// `P(X ≥ x_(i)) = (n − i)/n` for the order statistics, keeping the top 300 ranks and then
/// about 115 per decade of rank, so large runs stay light. Ascending in `x`.
pub(super) fn survival_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let nonpositive = sorted.partition_point(|&v| v <= 0.0);
    let mut points = Vec::new();
    let mut last_bucket = i64::MIN;
    for i in (nonpositive..n).rev() {
        let rank = n - i;
        let bucket = ((rank as f64).ln() / 1.02f64.ln()).floor() as i64;
        if rank <= 300 || bucket != last_bucket {
            points.push((sorted[i], rank as f64 / n as f64));
            last_bucket = bucket;
        }
    }
    points.reverse();
    points
}

/// Fitted tail quantile at survival `s`: u + σ/ξ·((s/ζ)^(−ξ) − 1).
fn gpd_level(u: f64, xi: f64, sigma: f64, rate: f64, s: f64) -> f64 {
    let m = (rate / s).ln();
    if xi.abs() < 1e-12 {
        u + sigma * m
    } else {
        u + sigma * (xi * m).exp_m1() / xi
    }
}

impl TailFigure {
    fn new(metric: &str, unit: &str, values: &[f64], report: &TailReport) -> TailFigure {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_unstable_by(f64::total_cmp);
        let n = sorted.len();
        let nonpositive = sorted.partition_point(|&v| v <= 0.0);
        let points = survival_points(&sorted);

        let tail_p = report
            .tail_risk
            .iter()
            .filter(|e| e.result.is_available())
            .map(|e| 1.0 - e.p)
            .fold(f64::INFINITY, f64::min);
        let p_min = (0.1 / n.max(1) as f64).min(tail_p * 0.5).max(1e-9);

        let fit = Self::fit_part(report, p_min);

        let mut marks = Vec::new();
        let colors = [ORANGE_700, PURPLE_500, RED];
        // Empirical VaR/ES where at least one path lies beyond (n(1 − p) ≥ 1).
        for (k, e) in report
            .empirical
            .iter()
            .filter(|e| e.p >= 0.99 && n as f64 * (1.0 - e.p) >= 1.0 - 1e-9)
            .enumerate()
        {
            if let Some(b) = e.result.value() {
                let c = colors[k % colors.len()];
                let pct = sig(e.p * 100.0, 4);
                marks.push(Mark {
                    label: format!("VaR {pct}% = {}", human(b.var, unit)),
                    x: b.var,
                    survival: 1.0 - e.p,
                    es: false,
                    color: c,
                    fitted: false,
                });
                marks.push(Mark {
                    label: format!("ES {pct}% = {}", human(b.es, unit)),
                    x: b.es,
                    survival: 1.0 - e.p,
                    es: true,
                    color: c,
                    fitted: false,
                });
            }
        }
        // The fitted tail's VaR/ES at its most extreme probability, usually beyond the data.
        if let Some(e) = report
            .tail_risk
            .iter()
            .rev()
            .find(|e| e.result.is_available())
            && let Some(tr) = e.result.value()
        {
            let pct = sig(e.p * 100.0, 4);
            marks.push(Mark {
                label: format!("GPD VaR {pct}% = {}", human(tr.var.estimate, unit)),
                x: tr.var.estimate,
                survival: 1.0 - e.p,
                es: false,
                color: BLACK,
                fitted: true,
            });
            if let Some(es) = tr.es.value() {
                marks.push(Mark {
                    label: format!("GPD ES {pct}% = {}", human(es.estimate, unit)),
                    x: es.estimate,
                    survival: 1.0 - e.p,
                    es: true,
                    color: BLACK,
                    fitted: true,
                });
            }
        }
        // Levels at or below 0 cannot sit on the log axis: they are listed in words instead.
        let off_axis: Vec<String> = marks
            .iter()
            .filter(|m| !(m.x > 0.0 && m.x.is_finite()))
            .map(|m| m.label.clone())
            .collect();
        marks.retain(|m| m.x > 0.0 && m.x.is_finite());

        let mut fig = TailFigure {
            metric: metric.to_string(),
            unit: unit.to_string(),
            n,
            points,
            nonpositive,
            below_range: 0,
            fit,
            marks,
            off_axis,
            p_min,
        };
        let (x_lo, _) = fig.x_range();
        fig.below_range = sorted[nonpositive..].partition_point(|&v| v < x_lo);
        fig
    }

    /// The fitted curve and its band, or why there is none.
    fn fit_part(report: &TailReport, p_min: f64) -> Result<FitPart, String> {
        let fit = match report.ml_fit.value() {
            Some(f) => f,
            None => {
                return Err(report
                    .ml_fit
                    .reason()
                    .or_else(|| report.threshold.reason())
                    .unwrap_or("no fit")
                    .to_string());
            }
        };
        let (u, xi, sigma, rate) = (fit.threshold, fit.xi, fit.sigma, fit.exceedance_rate);
        let steps = 200;
        let curve: Vec<(f64, f64)> = (0..=steps)
            .map(|i| {
                let s = rate * (p_min / rate).powf(f64::from(i) / f64::from(steps));
                (gpd_level(u, xi, sigma, rate, s), s)
            })
            .collect();
        // The band: profile-likelihood intervals of the return level at log-spaced survival
        // probabilities, over the likelihood region of the report's own fit.
        let band = report
            .region()
            .map(|region| {
                let k = 24;
                (1..=k)
                    .into_par_iter()
                    .filter_map(|i| {
                        let s = rate * (p_min / rate).powf(f64::from(i) / f64::from(k));
                        let rl = region.return_level(1.0 / s).ok()?;
                        let lo = rl.profile_interval.lower.value()?;
                        let hi = match rl.profile_interval.upper {
                            Endpoint::Unbounded => None,
                            e => e.value(),
                        };
                        Some((lo, hi, s))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let band = std::iter::once((u, Some(u), rate)).chain(band).collect();
        let xi_interval = report
            .xi_profile_interval
            .value()
            .map(|p| {
                let f = |e: &Endpoint| e.value().map_or("∞".into(), |v| format!("{v:.2}"));
                format!(" [{}, {}]", f(&p.lower), f(&p.upper))
            })
            .unwrap_or_default();
        Ok(FitPart {
            threshold: u,
            xi,
            sigma,
            rate,
            n_exceedances: fit.n_exceedances,
            curve,
            band,
            xi_interval,
        })
    }

    fn caption(&self) -> String {
        let mut c = format!(
            "Empirical survival P(X ≥ x) of {} over {} paths on log-log axes",
            self.metric, self.n
        );
        match &self.fit {
            Ok(f) => c.push_str(&format!(
                "; the line is the generalized Pareto tail fitted by maximum likelihood above u = {} ({} exceedances): ζ·(1 + ξ(x − u)/σ)^(−1/ξ) with ξ = {:.3}{}, σ = {}, ζ = {}; the band is the pointwise 95% profile-likelihood interval of the return level (exceedance rate held fixed). Markers: empirical VaR (circles) and ES (triangles) at their levels, hollow ones from the fitted tail.",
                human(f.threshold, &self.unit),
                f.n_exceedances,
                f.xi,
                f.xi_interval,
                human(f.sigma, &self.unit),
                sig(f.rate, 3),
            )),
            Err(reason) => c.push_str(&format!("; no GPD fit: {reason}.")),
        }
        let (hidden, why) = self.hidden();
        if hidden > 0 {
            c.push_str(&format!(
                " {hidden} of {} values are {why} and not shown on the log axis.",
                self.n
            ));
        }
        c
    }

    /// The x range: every shown point, the fit down to `p_min` and the marks, at most
    /// [`TAIL_DECADES`] decades below the top.
    fn x_range(&self) -> (f64, f64) {
        let mut hi = f64::MIN_POSITIVE;
        let mut lo = f64::INFINITY;
        let mut see = |x: f64| {
            if x > 0.0 && x.is_finite() {
                hi = hi.max(x);
                lo = lo.min(x);
            }
        };
        self.points.iter().for_each(|p| see(p.0));
        if let Ok(f) = &self.fit {
            f.curve.iter().for_each(|p| see(p.0));
            f.band.iter().for_each(|b| see(b.0));
        }
        self.marks.iter().for_each(|m| see(m.x));
        if !lo.is_finite() {
            return (0.1, 1.0);
        }
        let hi = hi * 1.25;
        let lo = (lo / 1.25).max(hi * 10f64.powi(-TAIL_DECADES));
        if lo >= hi { (hi / 10.0, hi) } else { (lo, hi) }
    }
}

impl TailFigure {
    /// How many values the log x axis leaves out, and why.
    fn hidden(&self) -> (usize, String) {
        let (x_lo, _) = self.x_range();
        let below = self.below_range;
        match (self.nonpositive, below) {
            (0, 0) => (0, String::new()),
            (z, 0) => (z, "≤ 0".into()),
            (0, b) => (b, format!("below {}", human(x_lo, &self.unit))),
            (z, b) => (z + b, format!("≤ 0 or below {}", human(x_lo, &self.unit))),
        }
    }
}

/// The coordinates of a log-log survival chart.
pub(super) type LogLog = Cartesian2d<WithKeyPoints<LogCoord<f64>>, WithKeyPoints<LogCoord<f64>>>;

/// The log-log survival chart of a tail figure: `x` in the metric's unit, `P(X ≥ x)` from
/// `y.0` to `y.1`, axes, ticks and grid drawn; the caller draws the series.
///
/// # Errors
/// A drawing error, as text.
pub(super) fn survival_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
    metric: &str,
    unit: &str,
) -> Result<ChartContext<'a, DB, LogLog>, String> {
    let (xb, xl) = log_ticks(x_lo, x_hi);
    let (yb, yl) = log_ticks(y_lo, 1.2);
    let x_axis = Axis::log(unit);
    let xfmt = |x: &f64| x_axis.label(*x);
    let mut chart = ChartBuilder::on(root)
        .caption(title, font(22.0))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(xb)
                .with_light_points(xl),
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(yb)
                .with_light_points(yl),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("{metric} ({})", unit_desc(unit)))
        .y_desc("P(X ≥ x)")
        .label_style(font(14.0))
        .axis_desc_style(font(15.0))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&|y| prob_tick(*y))
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

impl Figure for TailFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = format!("Tail of {}: survival on log-log axes", self.metric);
        if self.points.is_empty() {
            let why = match &self.fit {
                Err(r) => format!("; no GPD fit: {r}"),
                Ok(_) => String::new(),
            };
            let msg = if self.n == 0 {
                "no paths: nothing to plot".to_string()
            } else {
                format!(
                    "all {} values are ≤ 0 (no positive value to show on a log axis){why}",
                    self.n
                )
            };
            return draw_message(root, &title, &msg);
        }
        let (x_lo, x_hi) = self.x_range();
        let y_lo = self.p_min * 0.7;
        // Fit summary (or why there is none) and notes: drawn top right, above P = 1 where
        // no survival point can be, so the y axis gets headroom for them.
        let lines: Vec<String> = match &self.fit {
            Ok(f) => vec![
                format!(
                    "GPD above u = {} ({} of {} paths, ζ = {})",
                    human(f.threshold, &self.unit),
                    f.n_exceedances,
                    self.n,
                    sig(f.rate, 3)
                ),
                format!(
                    "ξ = {:.3}{}   σ = {}",
                    f.xi,
                    f.xi_interval,
                    human(f.sigma, &self.unit)
                ),
            ],
            Err(reason) => {
                let mut l = vec!["no GPD fit:".to_string()];
                l.extend(wrap(reason, 60));
                l
            }
        };
        let color = if self.fit.is_ok() { BLACK } else { RED };
        let (hidden, why) = self.hidden();
        let mut notes = Vec::new();
        if hidden > 0 {
            notes.push(format!(
                "{hidden} of {} values {why} not shown (log axis)",
                self.n
            ));
        }
        if !self.off_axis.is_empty() {
            notes.push(format!("off the log axis: {}", self.off_axis.join(", ")));
        }
        let top_right = plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Right,
            plotters::style::text_anchor::VPos::Top,
        );
        let fit_style = font(14.0).color(&color).pos(top_right);
        let note_style = font(13.0).color(&GREY_700).pos(top_right);
        let rows: Vec<(&String, &TextStyle)> = lines
            .iter()
            .map(|l| (l, &fit_style))
            .chain(notes.iter().map(|n| (n, &note_style)))
            .collect();
        // Pixels of the plotting area (caption, margins and the x label area taken off), and
        // the share of it the text needs: the top of the axis is set so that share lies above 1.
        let plot_h = f64::from(root.dim_in_pixel().1) - 40.0 - 28.0 - 48.0;
        let share = ((19 * rows.len() + 16) as f64 / plot_h).clamp(0.0, 0.5);
        let y_hi = 10f64
            .powf(share / (1.0 - share) * (1.0 / y_lo).log10())
            .max(1.2);
        let mut chart = survival_chart(
            root,
            &title,
            (x_lo, x_hi),
            (y_lo, y_hi),
            &self.metric,
            &self.unit,
        )?;

        let clip_x = |x: f64| x.clamp(x_lo, x_hi);
        if let Ok(f) = &self.fit {
            if f.band.len() > 1 {
                let mut poly: Vec<(f64, f64)> =
                    f.band.iter().map(|&(lo, _, s)| (clip_x(lo), s)).collect();
                poly.extend(
                    f.band
                        .iter()
                        .rev()
                        .map(|&(_, hi, s)| (clip_x(hi.unwrap_or(x_hi)), s)),
                );
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        BLUE_700.mix(0.15).filled(),
                    )))
                    .map_err(err)?
                    .label("95% profile-likelihood band")
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 16, y + 5)], BLUE_700.mix(0.15).filled())
                    });
            }
            let u = f.threshold;
            chart
                .draw_series(DashedLineSeries::new(
                    [(clip_x(u), y_lo), (clip_x(u), 1.0)],
                    6,
                    4,
                    GREY_500.stroke_width(1),
                ))
                .map_err(err)?
                .label(format!("threshold u = {}", human(u, &self.unit)))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], GREY_500));
        }
        chart
            .draw_series(
                self.points
                    .iter()
                    .filter(|p| p.0 >= x_lo)
                    .map(|&(x, s)| Circle::new((x, s), 2, BLACK.mix(0.75).filled())),
            )
            .map_err(err)?
            .label(format!("paths ({})", self.n))
            .legend(|(x, y)| Circle::new((x + 8, y), 3, BLACK.filled()));
        if let Ok(f) = &self.fit {
            chart
                .draw_series(LineSeries::new(
                    f.curve
                        .iter()
                        .copied()
                        .filter(|&(x, _)| x > 0.0 && x <= x_hi && x >= x_lo),
                    BLUE_700.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("GPD fit: ξ = {:.2}{}", f.xi, f.xi_interval))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE_700.stroke_width(2)));
        }
        for m in &self.marks {
            if m.x < x_lo || m.x > x_hi || m.survival < y_lo {
                continue;
            }
            let c = m.color;
            let style = if m.fitted {
                c.stroke_width(2)
            } else {
                c.filled()
            };
            let anno = if m.es {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (m.x, m.survival),
                        7,
                        style,
                    )))
                    .map_err(err)?
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new((m.x, m.survival), 6, style)))
                    .map_err(err)?
            };
            let es = m.es;
            anno.label(m.label.clone()).legend(move |(x, y)| {
                if es {
                    TriangleMarker::new((x + 8, y), 6, style).into_dyn()
                } else {
                    Circle::new((x + 8, y), 5, style).into_dyn()
                }
            });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;

        // The fit summary and notes, top right in the headroom above P = 1.
        let (px, py) = chart.plotting_area().get_pixel_range();
        for (i, (text, style)) in rows.iter().enumerate() {
            text_at(
                root,
                text,
                (px.end - 10, py.start + 8 + 19 * i as i32),
                style,
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Drawdown distribution

struct DrawdownFigure {
    dd: Vec<f64>,
    exo: Vec<f64>,
    /// The finite values of `dd` and `exo`, ascending, and the medians of all their values,
    /// each computed once for the caption and both drawings.
    dd_sorted: Vec<f64>,
    exo_sorted: Vec<f64>,
    dd_median: f64,
    exo_median: f64,
}

/// The finite values of `v` in ascending order, and the median of all of `v` (NaN when `v`
/// is empty), from one sort.
fn sorted_finite_and_median(v: &[f64]) -> (Vec<f64>, f64) {
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let median = if s.is_empty() {
        f64::NAN
    } else {
        crate::stats::quantile_sorted(&s, 0.5)
    };
    // Dropping values keeps the rest in order.
    s.retain(|x| x.is_finite());
    (s, median)
}

impl DrawdownFigure {
    fn new(dd: Vec<f64>, exo: Vec<f64>) -> DrawdownFigure {
        let (dd_sorted, dd_median) = sorted_finite_and_median(&dd);
        let (exo_sorted, exo_median) = sorted_finite_and_median(&exo);
        DrawdownFigure {
            dd,
            exo,
            dd_sorted,
            exo_sorted,
            dd_median,
            exo_median,
        }
    }

    fn caption(&self) -> String {
        if self.dd.is_empty() {
            return "No paths.".into();
        }
        let (m, e) = (self.dd_median, self.exo_median);
        format!(
            "Left: histogram of the largest peak-to-trough fall of the mark price (max_drawdown) and of the fundamental price alone (exogenous_drawdown, the same random numbers without liquidations), same bins; right: their empirical CDFs. Medians {} and {}: liquidations add {} points at the median.",
            human(m, "fraction"),
            human(e, "fraction"),
            sig((m - e) * 100.0, 3)
        )
    }
}

impl Figure for DrawdownFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = "Drawdown: with liquidations (mark) and without (fundamental)";
        if self.dd.is_empty() {
            return draw_message(root, title, "no paths: nothing to plot");
        }
        let area = root.titled(title, font(22.0)).map_err(err)?;
        let (w, _) = area.dim_in_pixel();
        let (left, right) = area.split_horizontally(w / 2);
        let top = self
            .dd
            .iter()
            .chain(&self.exo)
            .copied()
            .filter(|x| x.is_finite())
            .fold(0.0f64, f64::max);
        let bottom = self
            .dd
            .iter()
            .chain(&self.exo)
            .copied()
            .filter(|x| x.is_finite())
            .fold(f64::INFINITY, f64::min);
        let hi = if top > 0.0 { top * 1.03 } else { 0.01 };
        // Start at 0 unless every path fell by a good part of the largest fall: then zoom in
        // on where the paths are.
        let x0 = if bottom.is_finite() && bottom > 0.3 * top {
            (bottom - 0.05 * (top - bottom)).max(0.0)
        } else {
            0.0
        };
        let bins = 60usize;
        let width = (hi - x0) / bins as f64;
        let hist = |v: &[f64]| {
            let mut h = vec![0usize; bins];
            for &x in v.iter().filter(|x| x.is_finite()) {
                let b = (((x - x0) / width).floor().max(0.0) as usize).min(bins - 1);
                h[b] += 1;
            }
            h.into_iter()
                .map(|c| c as f64 / v.len() as f64)
                .collect::<Vec<f64>>()
        };
        let (hd, he) = (hist(&self.dd), hist(&self.exo));
        let y_hi = hd.iter().chain(&he).copied().fold(0.0f64, f64::max) * 1.12;
        let (x_axis, y_axis) = (
            Axis::linear("fraction", x0, hi, 10),
            Axis::linear("fraction", 0.0, y_hi, 10),
        );
        let (xfmt, yfmt) = (|x: &f64| x_axis.label(*x), |y: &f64| y_axis.label(*y));
        let mark_color = RED;
        let fund_color = BLUE_700;
        {
            let mut chart = ChartBuilder::on(&left)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..hi, 0.0..y_hi.max(1e-9))
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("largest peak-to-trough fall")
                .y_desc("share of paths per bin")
                .label_style(font(14.0))
                .axis_desc_style(font(15.0))
                .x_label_formatter(&xfmt)
                .y_label_formatter(&yfmt)
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            for (h, color, label) in [
                (&he, fund_color, "fundamental (exogenous)"),
                (&hd, mark_color, "mark (max_drawdown)"),
            ] {
                chart
                    .draw_series(
                        h.iter()
                            .enumerate()
                            .filter(|(_, y)| **y > 0.0)
                            .map(|(i, &y)| {
                                let a = x0 + i as f64 * width;
                                Rectangle::new([(a, 0.0), (a + width, y)], color.mix(0.3).filled())
                            }),
                    )
                    .map_err(err)?
                    .label(label)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.mix(0.5).filled())
                    });
                // Outline as a step line, so overlapping bars stay readable.
                let mut outline = vec![(x0, 0.0)];
                for (i, &y) in h.iter().enumerate() {
                    outline.push((x0 + i as f64 * width, y));
                    outline.push((x0 + (i + 1) as f64 * width, y));
                }
                outline.push((hi, 0.0));
                chart
                    .draw_series(LineSeries::new(outline, color.stroke_width(1)))
                    .map_err(err)?;
            }
            for (m, color) in [(self.exo_median, fund_color), (self.dd_median, mark_color)] {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(m, 0.0), (m, y_hi)],
                        8,
                        6,
                        color.stroke_width(1),
                    ))
                    .map_err(err)?;
            }
            // The legend goes where the bars are not: each bar counts along its height.
            let bars = hd.iter().chain(&he).enumerate().flat_map(|(i, &y)| {
                let x = x0 + ((i % bins) as f64 + 0.5) * width;
                [0.0, 0.25, 0.5, 0.75, 1.0].map(|t| (x, t * y))
            });
            let corner = emptiest_corner(bars.filter(|p| p.1 > 0.0), (x0, hi), (0.0, y_hi));
            draw_legend(&mut chart, corner)?;
        }
        {
            let share_axis = Axis::linear("fraction", 0.0, 1.0, 10);
            let mut chart = ChartBuilder::on(&right)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..hi, 0.0..1.0)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("largest peak-to-trough fall")
                .y_desc("share of paths at or below")
                .label_style(font(14.0))
                .axis_desc_style(font(15.0))
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|y| share_axis.label(*y))
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            for (s, m, color, label) in [
                (
                    &self.exo_sorted,
                    self.exo_median,
                    fund_color,
                    "exogenous_drawdown",
                ),
                (&self.dd_sorted, self.dd_median, mark_color, "max_drawdown"),
            ] {
                let n = s.len();
                // A step ECDF on at most ~2000 points.
                let stride = (n / 1000).max(1);
                let mut pts = vec![(x0, 0.0)];
                let mut i = 0;
                while i < n {
                    let y0 = i as f64 / n as f64;
                    pts.push((s[i], y0));
                    pts.push((s[i], (i + 1) as f64 / n as f64));
                    i += stride;
                }
                pts.push((s[n - 1], 1.0));
                pts.push((hi, 1.0));
                chart
                    .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                    .map_err(err)?
                    .label(format!("{label}: median {}", human(m, "fraction")))
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Sample paths

struct PathFigure<'a> {
    sample: &'a SamplePath,
    assets: &'a [String],
    step_seconds: f64,
}

impl PathFigure<'_> {
    fn heading(&self) -> String {
        let what = match self.sample.kind {
            SampleKind::Worst => format!("Worst path by {}", self.sample.metric),
            SampleKind::Median => format!("Median path by {}", self.sample.metric),
            SampleKind::Random => "A random path".to_string(),
        };
        format!("{what}: path {}", self.sample.trace.path)
    }

    fn caption(&self) -> String {
        let s = &self.sample.trace.summary;
        let how = match self.sample.kind {
            SampleKind::Worst => format!("the path with the largest {}", self.sample.metric),
            SampleKind::Median => format!("the path at the median of {}", self.sample.metric),
            SampleKind::Random => "a path drawn from the run seed".to_string(),
        };
        format!(
            "Path {} ({how}), replayed from its random stream: max drawdown {} (fundamental alone {}), {} liquidated in {} liquidations, {}. Grey: fundamental price; red: mark price (book mid); circles: liquidations in a step, area proportional to notional; below: resting book depth in the step (hour of day, and volatility where configured) as a multiple of the stated depth.",
            self.sample.trace.path,
            human(s.max_drawdown, "fraction"),
            human(s.exogenous_drawdown, "fraction"),
            human(s.liquidated_notional, "USD"),
            s.liquidation_count,
            if s.cascade {
                "a cascade"
            } else {
                "not a cascade"
            }
        )
    }

    /// Time axis: (divisor in seconds, unit label).
    fn time_unit(&self) -> (f64, &'static str) {
        let total = self.sample.trace.len() as f64 * self.step_seconds;
        if total > 3.0 * 86_400.0 {
            (86_400.0, "days")
        } else if total > 3.0 * 3600.0 {
            (3600.0, "hours")
        } else if total > 180.0 {
            (60.0, "minutes")
        } else {
            (1.0, "seconds")
        }
    }
}

impl Figure for PathFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let t = &self.sample.trace;
        let s = &t.summary;
        let title = format!(
            "{} — max drawdown {} (fundamental {}), liquidated {}",
            self.heading(),
            human(s.max_drawdown, "fraction"),
            human(s.exogenous_drawdown, "fraction"),
            human(s.liquidated_notional, "USD")
        );
        if t.is_empty() {
            return draw_message(root, &title, "the path has no steps");
        }
        let area = root.titled(&title, font(20.0)).map_err(err)?;
        let (legend, area) = area.split_vertically(30);
        let (div, tunit) = self.time_unit();
        let n_steps = t.len();
        let time = |i: usize| i as f64 * self.step_seconds / div;
        let t_hi = time(n_steps);
        let panels = area.split_evenly((t.n_assets.max(1), 1));
        // One marker scale for the whole figure, so assets compare.
        let max_liq = t
            .steps
            .iter()
            .map(|a| a.liquidated_notional)
            .fold(0.0f64, f64::max);
        draw_path_legend(&legend, max_liq)?;
        for (a, panel) in panels.iter().enumerate().take(t.n_assets) {
            let name = self.assets.get(a).map_or("asset", String::as_str);
            let (_, h) = panel.dim_in_pixel();
            let (upper, lower) = panel.split_vertically(h * 72 / 100);
            let fund = t.series(a, |x| x.fundamental);
            let mark = t.series(a, |x| x.mark);
            let liq = t.series(a, |x| x.liquidated_notional);
            let depth = t.series(a, |x| x.depth_multiplier);
            let start = t.start_prices.get(a).copied().unwrap_or(fund[0]);
            let (lo, hi) = fund
                .iter()
                .chain(&mark)
                .chain(std::iter::once(&start))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                    (l.min(x), h.max(x))
                });
            let pad = ((hi - lo) * 0.06).max(hi.abs() * 1e-4);
            let price_axis = Axis::linear("USD", lo - pad, hi + pad, 10);
            let mut chart = ChartBuilder::on(&upper)
                .margin(10)
                .margin_right(20)
                .x_label_area_size(30)
                .y_label_area_size(84)
                .caption(
                    format!(
                        "{name}: max drawdown {} (fundamental {}), liquidations in {} of {} steps",
                        human(
                            t.per_asset.get(a).map_or(f64::NAN, |m| m.max_drawdown),
                            "fraction"
                        ),
                        human(
                            t.per_asset
                                .get(a)
                                .map_or(f64::NAN, |m| m.exogenous_drawdown),
                            "fraction"
                        ),
                        liq.iter().filter(|&&x| x > 0.0).count(),
                        n_steps
                    ),
                    font(16.0),
                )
                .build_cartesian_2d(0.0..t_hi, (lo - pad)..(hi + pad))
                .map_err(err)?;
            chart
                .configure_mesh()
                .y_desc("price (USD)")
                .label_style(font(13.0))
                .axis_desc_style(font(14.0))
                .y_label_formatter(&|y| price_axis.label(*y))
                .x_label_formatter(&|x| sig(*x, 4))
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            let line = |v: &[f64]| {
                let full: Vec<(f64, f64)> = std::iter::once((0.0, start))
                    .chain(v.iter().enumerate().map(|(i, &p)| (time(i + 1), p)))
                    .collect();
                decimate(&full, PATH_BUCKETS)
            };
            let (fund_line, mark_line) = (line(&fund), line(&mark));
            // Thick polylines get miter spikes where a dense line turns back on itself in the
            // bitmap backend; dense series are drawn 1 px wide.
            let w = if mark_line.len() > 400 { 1 } else { 2 };
            chart
                .draw_series(LineSeries::new(
                    fund_line.iter().copied(),
                    GREY_500.stroke_width(w),
                ))
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    mark_line.iter().copied(),
                    RED.stroke_width(w),
                ))
                .map_err(err)?;
            chart
                .draw_series(
                    liq.iter()
                        .zip(&mark)
                        .enumerate()
                        .filter(|(_, (l, _))| **l > 0.0)
                        .map(|(i, (&l, &m))| {
                            let r = 3.0 + 15.0 * (l / max_liq).sqrt();
                            Circle::new((time(i + 1), m), r as i32, BLUE_700.mix(0.35).filled())
                        }),
                )
                .map_err(err)?;

            // Headroom above the depth line for the note.
            let d_hi = depth.iter().copied().fold(0.0f64, f64::max).max(1.0) * 1.5;
            let mut dchart = ChartBuilder::on(&lower)
                .margin(10)
                .margin_right(20)
                .x_label_area_size(40)
                .y_label_area_size(84)
                .build_cartesian_2d(0.0..t_hi, 0.0..d_hi)
                .map_err(err)?;
            dchart
                .configure_mesh()
                .x_desc(format!("time since start ({tunit})"))
                .y_desc("book depth ×")
                .label_style(font(13.0))
                .axis_desc_style(font(14.0))
                .x_label_formatter(&|x| sig(*x, 4))
                .y_label_formatter(&|y| sig(*y, 2))
                .y_labels(4)
                .light_line_style(BLACK.mix(0.04))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            let mut steps_line = Vec::with_capacity(2 * depth.len());
            for (i, &d) in depth.iter().enumerate() {
                steps_line.push((time(i), d));
                steps_line.push((time(i + 1), d));
            }
            dchart
                .draw_series(
                    AreaSeries::new(steps_line, 0.0, GREEN.mix(0.2))
                        .border_style(GREEN.stroke_width(2)),
                )
                .map_err(err)?;
            let (dmin, dmax) = depth
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &d| {
                    (l.min(d), h.max(d))
                });
            let note = if dmin == dmax {
                format!(
                    "book depth: ×{} of the stated depth throughout",
                    sig(dmin, 3)
                )
            } else {
                format!(
                    "book depth by UTC hour: ×{} to ×{} of the stated depth",
                    sig(dmin, 3),
                    sig(dmax, 3)
                )
            };
            let (px, py) = dchart.plotting_area().get_pixel_range();
            let style = font(13.0)
                .color(&GREY_700)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Top,
                ));
            text_at(&lower, &note, (px.end - 8, py.start + 4), &style)?;
        }
        Ok(())
    }
}

/// The legend of a sample-path figure, in one row above the panels (so it never hides data).
fn draw_path_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    max_liq: f64,
) -> Result<(), String> {
    let style = font(14.0);
    let (_, h) = area.dim_in_pixel();
    let y = h as i32 / 2;
    let mut x = 90;
    let liq = if max_liq > 0.0 {
        format!(
            "liquidations in a step (circle area ∝ notional; largest {})",
            human(max_liq, "USD")
        )
    } else {
        "no liquidations".to_string()
    };
    let items: [(&str, u8); 4] = [
        ("fundamental price", 0),
        ("mark price", 1),
        (liq.as_str(), 2),
        ("book depth in the step", 3),
    ];
    for (label, kind) in items {
        match kind {
            0 | 1 => {
                let c = if kind == 0 { GREY_500 } else { RED };
                area.draw(&PathElement::new([(x, y), (x + 22, y)], c.stroke_width(2)))
                    .map_err(err)?;
            }
            2 => area
                .draw(&Circle::new((x + 11, y), 6, BLUE_700.mix(0.45).filled()))
                .map_err(err)?,
            _ => area
                .draw(&Rectangle::new(
                    [(x, y - 6), (x + 22, y + 6)],
                    GREEN.mix(0.25).filled(),
                ))
                .map_err(err)?,
        }
        let text_style = style.pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ));
        area.draw(&Text::new(label.to_string(), (x + 28, y), text_style))
            .map_err(err)?;
        let (w, _) = area.estimate_text_size(label, &style).map_err(err)?;
        x += 28 + w as i32 + 28;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Convergence of the cascade probability

struct ConvergenceFigure {
    /// (n, estimate, low, high) at log-spaced n.
    pts: Vec<(f64, f64, f64, f64)>,
}

impl ConvergenceFigure {
    /// The figure of the cascade indicators `flags`, in path order.
    fn new(flags: &[f64]) -> ConvergenceFigure {
        let n = flags.len();
        if n == 0 {
            return ConvergenceFigure { pts: Vec::new() };
        }
        let start = n.min(10);
        let k = 80;
        let mut ns: Vec<usize> = (0..=k)
            .map(|i| {
                let f = i as f64 / k as f64;
                ((start as f64).ln() * (1.0 - f) + (n as f64).ln() * f)
                    .exp()
                    .round() as usize
            })
            .map(|x| x.clamp(1, n))
            .collect();
        ns.push(n);
        ns.sort_unstable();
        ns.dedup();
        let mut pts = Vec::with_capacity(ns.len());
        let mut successes = 0u64;
        let mut j = 0;
        for (i, &f) in flags.iter().enumerate() {
            if f > 0.0 {
                successes += 1;
            }
            if j < ns.len() && ns[j] == i + 1 {
                let p = wilson95(successes, (i + 1) as u64);
                pts.push(((i + 1) as f64, p.estimate, p.ci_low, p.ci_high));
                j += 1;
            }
        }
        ConvergenceFigure { pts }
    }

    fn caption(&self) -> String {
        match self.pts.last() {
            Some(&(n, e, l, h)) => format!(
                "Share of cascade paths among the first n paths (path order) with its Wilson 95% interval, at log-spaced n; after all {n} paths: {e:.4} [{l:.4}, {h:.4}]. The interval should narrow like 1/√n and the estimate settle inside it."
            ),
            None => "No paths.".into(),
        }
    }
}

impl Figure for ConvergenceFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = "Cascade probability as paths accumulate (Wilson 95% interval)";
        let pts = &self.pts;
        let Some(&(n, est, lo, hi)) = pts.last() else {
            return draw_message(root, title, "no paths: nothing to plot");
        };
        let x_lo = pts[0].0.min(n * 0.5).max(0.9);
        let x_hi = (n * 1.05).max(x_lo * 2.0);
        let y_hi = (pts
            .iter()
            .filter(|p| p.0 >= (n / 100.0).max(10.0).min(n))
            .map(|p| p.3)
            .fold(0.0, f64::max)
            * 1.1)
            .clamp(1e-3, 1.0);
        let (xb, xl) = log_ticks(x_lo, x_hi);
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(22.0))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (x_lo..x_hi)
                    .log_scale()
                    .with_key_points(xb)
                    .with_light_points(xl),
                0.0..y_hi,
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("paths simulated (n, log scale)")
            .y_desc("cascade probability")
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .x_label_formatter(&|x| sig(*x, 3))
            .y_label_formatter(&|y| sig(*y, 3))
            .light_line_style(BLACK.mix(0.04))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(err)?;
        let clip = |y: f64| y.min(y_hi);
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, clip(p.2))).collect();
        poly.extend(pts.iter().rev().map(|p| (p.0, clip(p.3))));
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                BLUE_700.mix(0.18).filled(),
            )))
            .map_err(err)?
            .label("Wilson 95% interval")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], BLUE_700.mix(0.18).filled())
            });
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, clip(p.1))),
                BLUE_700.stroke_width(2),
            ))
            .map_err(err)?
            .label("estimate k/n")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE_700.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                [(x_lo, clip(est)), (x_hi, clip(est))],
                6,
                4,
                GREY_700.stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("all {n} paths: {est:.4} [{lo:.4}, {hi:.4}]"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], GREY_700));
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_enough() {
        assert_eq!(sig(0.012345, 2), "0.012");
        assert_eq!(sig(12345.0, 3), "12345");
        assert_eq!(sig(2.0, 3), "2");
        assert_eq!(prob_tick(0.001), "1e-3");
        assert_eq!(prob_tick(0.1), "0.1");
    }

    #[test]
    fn the_gpd_level_inverts_the_survival() {
        let (u, xi, sigma, rate) = (1.0, 0.3, 0.5, 0.05);
        for s in [0.05, 0.01, 1e-4] {
            let x = gpd_level(u, xi, sigma, rate, s);
            let back = rate * (1.0 + xi * (x - u) / sigma).powf(-1.0 / xi);
            assert!((back - s).abs() < 1e-12 * s.max(1e-3), "{s} {back}");
        }
        assert!((gpd_level(u, 0.0, sigma, rate, rate * (-1.0f64).exp()) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn decimation_keeps_the_extremes_in_order() {
        let pts: Vec<(f64, f64)> = (0..1000)
            .map(|i| (f64::from(i), f64::from((i * 7919) % 1000)))
            .collect();
        let d = decimate(&pts, 10);
        assert!(d.len() <= 40);
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(d.iter().any(|p| p.1 == 999.0) && d.iter().any(|p| p.1 == 0.0));
        assert_eq!(d[0], pts[0]);
        assert_eq!(d[d.len() - 1], pts[999]);
        assert_eq!(decimate(&pts[..5], 10), pts[..5].to_vec());
    }

    #[test]
    fn log_ticks_label_narrow_and_wide_ranges() {
        let (b, _) = log_ticks(0.043, 0.1);
        assert!(b.len() >= 3, "{b:?}");
        let (b, _) = log_ticks(1e-7, 1.2);
        assert!(b.len() >= 4 && b.len() <= 8, "{b:?}");
        let (b, _) = log_ticks(0.061, 0.066);
        assert!(b.len() >= 3, "{b:?}");
    }

    #[test]
    fn messages_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
    }
}
