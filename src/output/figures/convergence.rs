//! `convergence`: the cascade probability and its Wilson interval as paths accumulate.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::{BLUE_700, GREY_700};

use super::axes::log_ticks;
use crate::output::format::sig;
use crate::output::plot::{Figure, draw_legend, font};
use crate::output::style::{HouseMesh, draw_message, err};
use crate::stats::wilson95;

pub(super) struct ConvergenceFigure {
    /// (n, estimate, low, high) at log-spaced n.
    pts: Vec<(f64, f64, f64, f64)>,
}

impl ConvergenceFigure {
    /// The figure of the cascade indicators `flags`, in path order.
    pub(super) fn new(flags: &[f64]) -> ConvergenceFigure {
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

    pub(super) fn caption(&self) -> String {
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
            .house(14.0, 15.0)
            .x_label_formatter(&|x| sig(*x, 3))
            .y_label_formatter(&|y| sig(*y, 3))
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
