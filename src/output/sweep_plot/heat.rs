//! `sweep_heatmap_<metric>`: a probability over a two-parameter grid, one coloured cell per
//! grid point labelled with its estimate and the half-width of its 95% interval, and a colour
//! bar from 0 to the largest estimate.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::format::{Axis, compact, percent};
use crate::output::plot::{Figure, font};
use crate::output::style::{HouseMesh, err};

/// A probability over a two-parameter grid.
pub(super) struct Heat<'a> {
    pub(super) title: String,
    pub(super) rows_label: &'a str,
    pub(super) cols_label: &'a str,
    pub(super) rows: &'a [f64],
    pub(super) cols: &'a [f64],
    /// Row-major, `rows.len() × cols.len()`.
    pub(super) values: Vec<f64>,
    /// Half-width of each value's 95% interval, in the same order.
    pub(super) half_widths: Vec<f64>,
    /// Whether each value meets `--target`, in the same order: the contour is drawn along
    /// the cell edges between cells that do and cells that do not.
    pub(super) meets: Option<Vec<bool>>,
}

/// Width in pixels of the colour bar's strip on the right.
const BAR_STRIP: u32 = 120;

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
        let root = root.titled(&self.title, font(18.0)).map_err(err)?;
        let (w, _) = root.dim_in_pixel();
        let (root, strip) = root.split_horizontally(w.saturating_sub(BAR_STRIP));
        colour_bar(&strip, max)?;
        let mut chart = ChartBuilder::on(&root)
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
                    let centre = |size: f64| {
                        font(size)
                            .color(&colour)
                            .pos(plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Center,
                                plotters::style::text_anchor::VPos::Center,
                            ))
                    };
                    let hw = self.half_widths[r * nc + c];
                    let lines = [
                        (percent(v), 13.0, 0.62),
                        (format!("±{}", percent(hw)), 11.0, 0.36),
                    ];
                    for (text, size, at) in lines {
                        chart
                            .draw_series(std::iter::once(Text::new(
                                text,
                                (x + 0.5, y + at),
                                centre(size),
                            )))
                            .map_err(err)?;
                    }
                }
            }
        }
        if let Some(meets) = &self.meets {
            let mut edges = Vec::new();
            for r in 0..nr {
                for c in 0..nc {
                    let (x, y, here) = (c as f64, r as f64, meets[r * nc + c]);
                    if c + 1 < nc && meets[r * nc + c + 1] != here {
                        edges.push([(x + 1.0, y), (x + 1.0, y + 1.0)]);
                    }
                    if r + 1 < nr && meets[(r + 1) * nc + c] != here {
                        edges.push([(x, y + 1.0), (x + 1.0, y + 1.0)]);
                    }
                }
            }
            chart
                .draw_series(
                    edges
                        .into_iter()
                        .map(|e| PathElement::new(e, BLACK.stroke_width(4))),
                )
                .map_err(err)?;
        }
        Ok(())
    }
}

/// The colour bar: the colour scale from 0 (bottom) to `max` (top), labelled in percent.
fn colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, max: f64) -> Result<(), String> {
    let top = if max > 0.0 { max } else { 1.0 };
    let axis = Axis::linear("fraction", 0.0, top, 6);
    let mut chart = ChartBuilder::on(area)
        .margin_top(14)
        .margin_bottom(62)
        .margin_right(8)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..1.0, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|y| axis.label(*y))
        .house_text(12.0, 14.0)
        .draw()
        .map_err(err)?;
    let steps = 100;
    chart
        .draw_series((0..steps).map(|k| {
            let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
            // Each band overlaps the next a little, so no hairline shows between them.
            Rectangle::new(
                [(0.0, a * top), (1.0, (b + 0.004).min(1.0) * top)],
                heat_colour(if max > 0.0 { a } else { 0.0 }).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}
