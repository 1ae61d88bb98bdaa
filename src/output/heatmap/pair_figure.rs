//! The pair map's figure, `pair_map_<A>_<B>.png` / `.svg`: liquidated notional over the grid
//! of (move in A, move in B), white to dark red with a colour bar, axes in % move, the 1σ
//! and 2σ one-day correlation ellipses drawn over it and the largest liquidation on each
//! ellipse marked.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::GREY_800;

use super::super::plot::{self, Figure, draw_legend, font};
use super::super::{
    OutputError,
    format::{Axis, percent, usd},
};
use crate::heatmap::pair::{PairMap, ellipse_point};
use crate::output::style::{HouseMesh, err};

/// Pixel size of the figure.
pub const SIZE: (u32, u32) = (1200, 1000);

/// The file stem: `pair_map_<A>_<B>` (characters other than letters, digits, `-`, `_`, `.`
/// replaced by `_`).
pub fn stem(p: &PairMap) -> String {
    format!(
        "pair_map_{}_{}",
        plot::file_safe(&p.a.asset),
        plot::file_safe(&p.b.asset)
    )
}

/// Draws and saves the figure; the names of the files written.
pub(super) fn save(p: &PairMap, dir: &Path) -> Result<Vec<String>, OutputError> {
    let stem = stem(p);
    plot::save(&PairFigure(p), dir, &stem, SIZE).map_err(|e| OutputError::Io {
        path: dir.join(format!("{stem}.png")),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(vec![format!("{stem}.png"), format!("{stem}.svg")])
}

/// White → dark red, as the sweep heat maps.
fn heat(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(255.0, 165.0), lerp(255.0, 15.0), lerp(245.0, 21.0))
}

struct PairFigure<'a>(&'a PairMap);

impl Figure for PairFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let p = self.0;
        root.fill(&WHITE).map_err(err)?;
        let max = p.notional.iter().flatten().copied().fold(0.0, f64::max);
        let (main, bar) = root.split_horizontally(root.dim_in_pixel().0 as i32 - 170);
        let (ax, bx) = (&p.a.moves, &p.b.moves);
        let (x_lo, x_hi) = (ax[0], ax[ax.len() - 1]);
        let (y_lo, y_hi) = (bx[0], bx[bx.len() - 1]);
        let title = format!(
            "Liquidated notional by joint move: {} × {} (static, no cascade; ρ = {:.2})",
            p.a.asset, p.b.asset, p.correlation
        );
        let mut chart = ChartBuilder::on(&main)
            .caption(title, font(20.0))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(err)?;
        let xa = Axis::linear("fraction", x_lo, x_hi, 10);
        let ya = Axis::linear("fraction", y_lo, y_hi, 10);
        let x_desc = format!("move in {} (% of {})", p.a.asset, usd(p.a.price));
        let y_desc = format!("move in {} (% of {})", p.b.asset, usd(p.b.price));
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(10)
            .y_labels(10)
            .x_label_formatter(&|x| xa.label(*x))
            .y_label_formatter(&|y| ya.label(*y))
            .house_text(14.0, 16.0)
            .draw()
            .map_err(err)?;
        // Cells centred on the grid points.
        let half = |v: &[f64], i: usize| {
            let lo = if i == 0 {
                v[0]
            } else {
                0.5 * (v[i - 1] + v[i])
            };
            let hi = if i + 1 == v.len() {
                v[i]
            } else {
                0.5 * (v[i] + v[i + 1])
            };
            (lo, hi)
        };
        let cells = (0..ax.len()).flat_map(|i| {
            (0..bx.len()).map(move |j| {
                let (x0, x1) = half(ax, i);
                let (y0, y1) = half(bx, j);
                let t = if max > 0.0 {
                    p.notional[i][j] / max
                } else {
                    0.0
                };
                Rectangle::new([(x0, y0), (x1, y1)], heat(t).filled())
            })
        });
        chart.draw_series(cells).map_err(err)?;
        // Cross-hairs at no move.
        for line in [
            vec![(x_lo, 0.0), (x_hi, 0.0)],
            vec![(0.0, y_lo), (0.0, y_hi)],
        ] {
            chart
                .draw_series(LineSeries::new(line, GREY_800.mix(0.4).stroke_width(1)))
                .map_err(err)?;
        }
        for (e, style) in p
            .ellipses
            .iter()
            .zip([BLUE.stroke_width(2), BLUE.mix(0.7).stroke_width(2)])
        {
            let pts: Vec<(f64, f64)> = (0..=360)
                .map(|k| {
                    let t = std::f64::consts::TAU * f64::from(k) / 360.0;
                    let (x, y) = ellipse_point(&p.a, &p.b, p.correlation, e.sigmas, t);
                    (x.clamp(x_lo, x_hi), y.clamp(y_lo, y_hi))
                })
                .collect();
            let label = format!(
                "{}σ one-day move: at most {} ({} {}, {} {})",
                e.sigmas,
                usd(e.notional),
                p.a.asset,
                percent(e.move_a),
                p.b.asset,
                percent(e.move_b)
            );
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(std::iter::once(Circle::new(
                    (e.move_a, e.move_b),
                    6,
                    BLACK.filled(),
                )))
                .map_err(err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        draw_bar(&bar, max)
    }
}

/// The colour bar: 0 at the bottom, the map's largest value at the top.
fn draw_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, max: f64) -> Result<(), String> {
    let top = if max > 0.0 { max } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(72)
        .margin_right(16)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..1.0, 0.0..top)
        .map_err(err)?;
    let axis = Axis::linear("USD", 0.0, top, 8);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(8)
        .y_desc("liquidated notional (USD)")
        .y_label_formatter(&|y| axis.label(*y))
        .house_text(13.0, 14.0)
        .draw()
        .map_err(err)?;
    let steps = 200;
    chart
        .draw_series((0..steps).map(|k| {
            let (y0, y1) = (
                top * f64::from(k) / f64::from(steps),
                top * f64::from(k + 1) / f64::from(steps),
            );
            Rectangle::new(
                [(0.0, y0), (1.0, y1)],
                heat((f64::from(k) + 0.5) / f64::from(steps)).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}
