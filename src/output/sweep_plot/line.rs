//! `sweep_<metric>`: a probability against one parameter, with its 95% band (log x axis
//! when the values span a factor of 20 or more).

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::span;
use crate::output::format::{Axis, compact};
use crate::output::plot::{Figure, draw_legend, font};
use crate::output::style::{HouseMesh, LIGHT_GRID, err};
use crate::stats::Proportion;

/// A probability against one parameter, with its 95% band.
pub(super) struct Line<'a> {
    pub(super) title: String,
    pub(super) x_label: &'a str,
    pub(super) y_label: &'a str,
    pub(super) xs: Vec<f64>,
    pub(super) ps: Vec<Proportion>,
    /// The `--target` level, drawn as a dashed line with its label.
    pub(super) target: Option<(f64, String)>,
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
        let level = self.target.as_ref().map_or(0.0, |t| t.0);
        let top = self.ps.iter().map(|p| p.ci_high).fold(level, f64::max);
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
        if let Some((level, label)) = &self.target {
            let (x0, x1) = self
                .xs
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, *level), (x1, *level)],
                    8,
                    5,
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?
                .label(label.as_str())
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
