//! `tornado`: each parameter of `cascadesim sensitivity` moved down and up, its effect on
//! the cascade probability and on the ES99 of max drawdown, ranked. Each bar end carries its
//! value; on the cascade side a whisker at the high end shows the paired 95% interval of
//! high − low (placed from the low end), so a swing whose whisker reaches the low end is not
//! distinguishable from no swing.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::span;
use crate::output::format::{Axis, compact, percent};
use crate::output::plot::{Figure, font};
use crate::output::style::{HouseMesh, LIGHT_GRID, err};
use crate::sweep::tornado::TornadoRow;

/// The tornado chart: per parameter, bars from the scenario's own value (vertical line) to
/// the value with the parameter moved down (blue) and up (red), ranked top to bottom; the
/// cascade probability on the left, the 99% ES of the drawdown on the right.
pub(super) struct Tornado<'a> {
    pub(super) rows: &'a [TornadoRow],
    pub(super) base_p: f64,
    pub(super) base_es: f64,
}

/// One panel of the tornado chart.
pub(super) struct Panel<'a> {
    rows: &'a [TornadoRow],
    base: f64,
    ends: Ends,
    x_desc: &'a str,
    labels: bool,
    /// The paired 95% interval of high − low, when the panel has one.
    paired: Option<Ends>,
}

/// Two numbers of a row: a bar's ends, or an interval.
type Ends = fn(&TornadoRow) -> (f64, f64);

/// Text anchored at its left or right end, vertically centred.
fn anchored(size: f64, left: bool) -> TextStyle<'static> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    font(size).pos(Pos::new(
        if left { HPos::Left } else { HPos::Right },
        VPos::Center,
    ))
}

impl Panel<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self.rows.len();
        // The bars, and the whiskers' ends when the panel has them.
        let all = self.rows.iter().flat_map(|r| {
            let (a, b) = (self.ends)(r);
            let (d_lo, d_hi) = self.paired.map_or((0.0, 0.0), |f| f(r));
            [a, b, a + d_lo, a + d_hi]
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
                // The value just beyond the bar's far end.
                let right = end >= self.base;
                let xr = chart.x_range();
                let nudge = (xr.end - xr.start) * 0.006;
                let at = if right { end + nudge } else { end - nudge };
                chart
                    .draw_series(std::iter::once(Text::new(
                        percent(end),
                        (at, y + (y0 + y1) / 2.0),
                        anchored(11.0, right),
                    )))
                    .map_err(err)?;
            }
            if let Some(paired) = self.paired {
                let (d_lo, d_hi) = paired(r);
                if low.is_finite() && d_lo.is_finite() && d_hi.is_finite() {
                    let (a, b, yy) = (low + d_lo, low + d_hi, y + 0.88);
                    let whisker = [
                        vec![(a, yy), (b, yy)],
                        vec![(a, yy - 0.05), (a, yy + 0.05)],
                        vec![(b, yy - 0.05), (b, yy + 0.05)],
                    ];
                    chart
                        .draw_series(
                            whisker
                                .into_iter()
                                .map(|pts| PathElement::new(pts, BLACK.stroke_width(2))),
                        )
                        .map_err(err)?;
                }
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
                "each parameter moved down (blue) and up (red); line: the scenario as written; whisker: paired 95% interval of the up value",
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
            paired: Some(|r| (r.cascade_difference.ci_low, r.cascade_difference.ci_high)),
        }
        .draw(&left)?;
        Panel {
            rows: self.rows,
            base: self.base_es,
            ends: |r| (r.es_low, r.es_high),
            x_desc: "99% ES of max drawdown",
            labels: false,
            paired: None,
        }
        .draw(&right)
    }
}
