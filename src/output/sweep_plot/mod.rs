//! A sweep's figures (PNG + SVG through [`super::plot`]): one-parameter sweeps as lines with
//! their 95% bands, two-parameter sweeps as heatmaps, and the tornado chart of
//! `cascadesim sensitivity`. Written into `plots/` of the results folder.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::format::{Axis, compact, percent};
use super::plot::{self, Figure, draw_legend, font};
use super::style::{HouseMesh, LIGHT_GRID, err};
use super::sweep::SweepResults;
use crate::stats::Proportion;
use crate::sweep::tornado::TornadoRow;

const SIZE: (u32, u32) = (900, 560);

/// Which probability of a grid point a figure shows.
type PickProportion = fn(&crate::sweep::PointStats) -> Proportion;

/// A probability against one parameter, with its 95% band.
struct Line<'a> {
    title: String,
    x_label: &'a str,
    y_label: &'a str,
    xs: Vec<f64>,
    ps: Vec<Proportion>,
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * 0.04;
        (lo - pad, hi + pad)
    } else {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - d, hi + d)
    }
}

impl Figure for Line<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let lo = self.xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Values spread over more than a factor of 20 (a `:log` range, say) get a log axis.
        if lo > 0.0 && hi / lo >= 20.0 {
            let pad = (hi / lo).powf(0.04);
            let desc = format!("{} (log scale)", self.x_label);
            self.draw_on(root, ((lo / pad)..(hi * pad)).log_scale(), &desc)
        } else {
            let (x0, x1) = span(lo, hi);
            self.draw_on(root, x0..x1, self.x_label)
        }
    }
}

impl Line<'_> {
    fn draw_on<DB: DrawingBackend, X>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x_range: X,
        x_desc: &str,
    ) -> Result<(), String>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
    {
        let top = self.ps.iter().map(|p| p.ci_high).fold(0.0, f64::max);
        let y1 = if top > 0.0 {
            (top * 1.1).min(1.0)
        } else {
            0.01
        };
        let y_axis = Axis::linear("fraction", 0.0, y1, 10);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(18.0))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, 0.0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(self.y_label)
            .y_label_formatter(&|y| y_axis.label(*y))
            .x_label_formatter(&|x| compact(*x))
            .light_line_style(LIGHT_GRID)
            .house_text(13.0, 14.0)
            .draw()
            .map_err(err)?;
        let mut band: Vec<(f64, f64)> = self
            .xs
            .iter()
            .zip(&self.ps)
            .map(|(&x, p)| (x, p.ci_low))
            .collect();
        band.extend(
            self.xs
                .iter()
                .zip(&self.ps)
                .rev()
                .map(|(&x, p)| (x, p.ci_high)),
        );
        chart
            .draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.18).filled())))
            .map_err(err)?
            .label("Wilson 95% interval")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], BLUE.mix(0.18).filled())
            });
        let pts: Vec<(f64, f64)> = self
            .xs
            .iter()
            .zip(&self.ps)
            .map(|(&x, p)| (x, p.estimate))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
            .map_err(err)?
            .label("estimate (same paths at every point)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
            .map_err(err)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// A probability over a two-parameter grid.
struct Heat<'a> {
    title: String,
    rows_label: &'a str,
    cols_label: &'a str,
    rows: &'a [f64],
    cols: &'a [f64],
    /// Row-major, `rows.len() × cols.len()`.
    values: Vec<f64>,
}

/// White → dark red.
fn heat_colour(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 165.0), lerp(255.0, 15.0), lerp(245.0, 21.0))
}

/// The value of the cell whose centre is at `pos` (cells are 1 wide from 0), for every
/// k-th cell so that at most about 12 are labelled; empty elsewhere.
fn centre_label(values: &[f64], pos: f64) -> String {
    let i = pos.floor() as usize;
    let every = values.len().div_ceil(12).max(1);
    if (pos - i as f64 - 0.5).abs() < 1e-9 && i < values.len() && i.is_multiple_of(every) {
        compact(values[i])
    } else {
        String::new()
    }
}

impl Figure for Heat<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (nr, nc) = (self.rows.len(), self.cols.len());
        let max = self
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(18.0))
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64)
            .map_err(err)?;
        let cols = self.cols;
        let rows = self.rows;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.cols_label)
            .y_desc(self.rows_label)
            .x_labels(nc * 2 + 1)
            .y_labels(nr * 2 + 1)
            .x_label_formatter(&|x| centre_label(cols, *x))
            .y_label_formatter(&|y| centre_label(rows, *y))
            .house_text(12.0, 14.0)
            .draw()
            .map_err(err)?;
        let label_cells = nr * nc <= 225;
        for r in 0..nr {
            for c in 0..nc {
                let v = self.values[r * nc + c];
                let t = if max > 0.0 { v / max } else { 0.0 };
                let (x, y) = (c as f64, r as f64);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, y), (x + 1.0, y + 1.0)],
                        heat_colour(t).filled(),
                    )))
                    .map_err(err)?;
                if label_cells {
                    let colour = if t > 0.6 { WHITE } else { BLACK };
                    chart
                        .draw_series(std::iter::once(Text::new(
                            percent(v),
                            (x + 0.5, y + 0.5),
                            font(12.0)
                                .color(&colour)
                                .pos(plotters::style::text_anchor::Pos::new(
                                    plotters::style::text_anchor::HPos::Center,
                                    plotters::style::text_anchor::VPos::Center,
                                )),
                        )))
                        .map_err(err)?;
                }
            }
        }
        Ok(())
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

/// The tornado chart: per parameter, bars from the scenario's own value (vertical line) to
/// the value with the parameter moved down (blue) and up (red), ranked top to bottom; the
/// cascade probability on the left, the 99% ES of the drawdown on the right.
struct Tornado<'a> {
    rows: &'a [TornadoRow],
    base_p: f64,
    base_es: f64,
}

/// One panel of the tornado chart.
struct Panel<'a> {
    rows: &'a [TornadoRow],
    base: f64,
    ends: fn(&TornadoRow) -> (f64, f64),
    x_desc: &'a str,
    labels: bool,
}

impl Panel<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self.rows.len();
        let all = self.rows.iter().flat_map(|r| {
            let (a, b) = (self.ends)(r);
            [a, b]
        });
        let (lo, hi) = all
            .filter(|v| v.is_finite())
            .fold((self.base, self.base), |(l, h), v| (l.min(v), h.max(v)));
        let (x0, x1) = span(lo, hi);
        let rows = self.rows;
        let x_axis = Axis::linear("fraction", x0.max(0.0), x1.min(1.0), 10);
        let mut chart = ChartBuilder::on(area)
            .margin(14)
            .x_label_area_size(48)
            .y_label_area_size(if self.labels { 300 } else { 10 })
            .build_cartesian_2d(x0.max(0.0)..x1.min(1.0), 0.0..n as f64)
            .map_err(err)?;
        let labels = self.labels;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(LIGHT_GRID)
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                if labels && (y - i as f64 - 0.5).abs() < 1e-9 && i < rows.len() {
                    let r = &rows[rows.len() - 1 - i];
                    format!("{} ({} … {})", r.path, compact(r.low), compact(r.high))
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|x| x_axis.label(*x))
            .x_desc(self.x_desc)
            .house_text(12.0, 14.0)
            .draw()
            .map_err(err)?;
        for (k, r) in rows.iter().enumerate() {
            let y = (n - 1 - k) as f64;
            let (low, high) = (self.ends)(r);
            for (end, colour, y0, y1) in [(low, BLUE, 0.2, 0.5), (high, RED, 0.5, 0.8)] {
                if !end.is_finite() {
                    continue;
                }
                let (a, b) = if end < self.base {
                    (end, self.base)
                } else {
                    (self.base, end)
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a, y + y0), (b, y + y1)],
                        colour.mix(0.55).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                [(self.base, 0.0), (self.base, n as f64)],
                BLACK.stroke_width(2),
            )))
            .map_err(err)?;
        Ok(())
    }
}

impl Figure for Tornado<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let root = root
            .titled(
                "each parameter moved down (blue) and up (red); line: the scenario as written",
                font(17.0),
            )
            .map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w * 62 / 100);
        Panel {
            rows: self.rows,
            base: self.base_p,
            ends: |r| (r.cascade_low, r.cascade_high),
            x_desc: "cascade probability",
            labels: true,
        }
        .draw(&left)?;
        Panel {
            rows: self.rows,
            base: self.base_es,
            ends: |r| (r.es_low, r.es_high),
            x_desc: "99% ES of max drawdown",
            labels: false,
        }
        .draw(&right)
    }
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
