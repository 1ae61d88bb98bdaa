//! `drawdown`: the distribution of `max_drawdown` beside `exogenous_drawdown` (histogram
//! and cumulative share of paths).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::BLUE_700;

use super::axes::emptiest_corner;
use crate::output::format::{Axis, human, sig};
use crate::output::plot::{Figure, draw_legend, font};
use crate::output::style::{HouseMesh, draw_message, err};

pub(super) struct DrawdownFigure {
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
    // Equal values under `total_cmp` have equal bits: any sort gives these bytes.
    rayon::slice::ParallelSliceMut::par_sort_unstable_by(&mut s[..], f64::total_cmp);
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
    pub(super) fn new(dd: Vec<f64>, exo: Vec<f64>) -> DrawdownFigure {
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

    pub(super) fn caption(&self) -> String {
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
        self.draw_histogram(&left, (x0, hi))?;
        self.draw_ecdf(&right, (x0, hi))
    }
}

/// The colour of the mark (with liquidations) and of the fundamental (without).
const MARK_COLOR: RGBColor = RED;
const FUND_COLOR: RGBColor = BLUE_700;

impl DrawdownFigure {
    /// Left: histograms of both drawdowns over `[x0, hi]` with their medians dashed.
    fn draw_histogram<DB: DrawingBackend>(
        &self,
        left: &DrawingArea<DB, Shift>,
        (x0, hi): (f64, f64),
    ) -> Result<(), String> {
        let (mark_color, fund_color) = (MARK_COLOR, FUND_COLOR);
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
        let mut chart = ChartBuilder::on(left)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..hi, 0.0..y_hi.max(1e-9))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("largest peak-to-trough fall")
            .y_desc("share of paths per bin")
            .house(14.0, 15.0)
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
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
        Ok(())
    }

    /// Right: the share of paths at or below each drawdown (step ECDFs).
    fn draw_ecdf<DB: DrawingBackend>(
        &self,
        right: &DrawingArea<DB, Shift>,
        (x0, hi): (f64, f64),
    ) -> Result<(), String> {
        let (mark_color, fund_color) = (MARK_COLOR, FUND_COLOR);
        let x_axis = Axis::linear("fraction", x0, hi, 10);
        let share_axis = Axis::linear("fraction", 0.0, 1.0, 10);
        let mut chart = ChartBuilder::on(right)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..hi, 0.0..1.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("largest peak-to-trough fall")
            .y_desc("share of paths at or below")
            .house(14.0, 15.0)
            .x_label_formatter(&|x| x_axis.label(*x))
            .y_label_formatter(&|y| share_axis.label(*y))
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
        Ok(())
    }
}
