//! `sweep_heatmap_<metric>`: a probability over a two-parameter grid, one coloured cell per
//! grid point.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::output::format::{compact, percent};
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
