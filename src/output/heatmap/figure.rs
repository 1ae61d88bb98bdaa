//! The figure of `cascadesim heatmap` for one asset, `heatmap_<asset>.png` / `.svg`: a title
//! with the crowding statement, the notional that would be liquidated per price bin (shorts
//! up, longs down, clusters shaded and ranked, critical shocks marked) above the cumulative
//! liquidations without feedback against the book in front.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::full_palette::{GREEN_700, GREY_600, ORANGE_800, RED_700};
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::heatmap::AssetHeatmap;
use crate::heatmap::clusters::Side;
use crate::output::format::{Axis, percent, price, usd};
use crate::output::plot::{Figure, draw_legend, font};
use crate::output::style::{HouseMesh, err};

/// The lower panel's curves, (price, USD), and its height.
struct Curves {
    long_curve: Vec<(f64, f64)>,
    short_curve: Vec<(f64, f64)>,
    bids: Vec<(f64, f64)>,
    asks: Vec<(f64, f64)>,
    y_top: f64,
}

/// The coordinates of both panels: price across, USD up.
type Panel<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// What both panels share: the price range and its tick labels, the bins shown, the upper
/// panel's half-height, and the critical-shock marks (price, label, colour).
struct View {
    x_lo: f64,
    x_hi: f64,
    price_axis: Axis,
    shown: Vec<usize>,
    y_max: f64,
    crit: Vec<(f64, String, RGBColor)>,
}

/// Runs of consecutive entries of `shown` (bin indices) where `density` is positive.
fn positive_runs(shown: &[usize], density: &[f64]) -> Vec<Vec<usize>> {
    let mut runs = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for &j in shown {
        if density[j] > 0.0 {
            cur.push(j);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// The part of a curve at or below `top`, with the crossing points interpolated.
fn clip_below(points: &[(f64, f64)], top: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len());
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            let (x0, y0) = points[i - 1];
            if (y0 > top) != (y > top) {
                let t = (top - y0) / (y - y0);
                out.push((x0 + t * (x - x0), top));
            }
        }
        if y <= top {
            out.push((x, y));
        }
    }
    out
}

/// The figure of one asset.
pub struct HeatmapFigure<'a>(pub &'a AssetHeatmap);

impl HeatmapFigure<'_> {
    /// The price range shown: where 98% of the in-grid notional of both sides lies, the
    /// clusters, the critical shocks and at least ±5%, padded by 1% of the price.
    fn x_range(&self) -> (f64, f64) {
        let a = self.0;
        let g = &a.grid;
        let p = a.price;
        let total: Vec<f64> = (0..g.bins)
            .map(|j| a.long.notional[j] + a.short.notional[j])
            .collect();
        let sum: f64 = total.iter().sum();
        let (mut lo, mut hi) = (p * 0.95, p * 1.05);
        if sum > 0.0 {
            let mut acc = 0.0;
            let mut first = None;
            let mut last = 0;
            for (j, &x) in total.iter().enumerate() {
                acc += x;
                if first.is_none() && acc >= 0.01 * sum {
                    first = Some(j);
                }
                if acc <= 0.99 * sum || last == 0 {
                    last = j;
                }
            }
            lo = lo.min(g.edge(first.unwrap_or(0)));
            hi = hi.max(g.edge((last + 1).min(g.bins)));
        }
        for c in &a.clusters {
            lo = lo.min(c.price_low);
            hi = hi.max(c.price_high);
        }
        if let Some(cs) = &a.critical {
            for s in [&cs.down, &cs.up] {
                if let Some(t) = &s.at {
                    lo = lo.min(t.price_after_shock).min(t.end_price);
                    hi = hi.max(t.price_after_shock).max(t.end_price);
                }
            }
        }
        let pad = 0.01 * p;
        ((lo - pad).max(g.low), (hi + pad).min(g.high()))
    }
}

impl HeatmapFigure<'_> {
    /// The shared [`View`] of both panels.
    fn view(&self) -> View {
        let a = self.0;
        let g = &a.grid;
        let (x_lo, x_hi) = self.x_range();
        // Shown bins.
        let shown: Vec<usize> = (0..g.bins)
            .filter(|&j| g.edge(j + 1) > x_lo && g.edge(j) < x_hi)
            .collect();
        let y_max = shown
            .iter()
            .map(|&j| {
                a.short.notional[j]
                    .max(a.short_density[j])
                    .max(a.long.notional[j])
                    .max(a.long_density[j])
            })
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.08;

        // Marks shared by both panels: critical shock prices.
        let crit: Vec<(f64, String, RGBColor)> = a
            .critical
            .iter()
            .flat_map(|cs| [&cs.down, &cs.up])
            .filter_map(|s| {
                s.at.as_ref().map(|t| {
                    let (sign, colour) = if s.direction == "down" {
                        ("−", RED_700)
                    } else {
                        ("+", GREEN_700)
                    };
                    (
                        t.price_after_shock,
                        format!("critical {sign}{}", percent(t.shock)),
                        colour,
                    )
                })
            })
            .collect();
        View {
            x_lo,
            x_hi,
            price_axis: Axis::linear("USD", x_lo, x_hi, 10),
            shown,
            y_max,
            crit,
        }
    }

    /// The two title lines: asset, price and risk score; the crowding statement and the
    /// market conditions.
    fn draw_title<DB: DrawingBackend>(
        &self,
        title_area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let a = self.0;
        let p0 = a.price;
        let title = format!(
            "{}: where positions would be liquidated (price {}, risk score {})",
            a.asset,
            price(p0),
            a.score.value.map_or("–".into(), |v| format!("{v:.0}/100"))
        );
        title_area
            .draw(&Text::new(title, (20, 10), font(24.0)))
            .map_err(err)?;
        let mut sub = a.crowding.statement.clone();
        sub.push_str(&format!(
            "; one-day volatility {}; book at {:.2}× (hour {:02} UTC)",
            percent(a.daily_volatility),
            a.depth_multiplier,
            a.hour_utc
        ));
        title_area
            .draw(&Text::new(sub, (20, 46), font(15.0)))
            .map_err(err)?;
        Ok(())
    }

    /// Upper panel: notional per bin, shorts up, longs down, with the smoothed densities,
    /// cluster zones, the current price and the labels of [`Self::draw_notional_marks`].
    fn draw_notional<DB: DrawingBackend>(
        &self,
        top: &DrawingArea<DB, Shift>,
        v: &View,
    ) -> Result<(), String> {
        let a = self.0;
        let g = &a.grid;
        let p0 = a.price;
        let (x_lo, x_hi, y_max, shown, price_axis) =
            (v.x_lo, v.x_hi, v.y_max, &v.shown, &v.price_axis);
        let y_axis = Axis::linear("USD", -y_max, y_max, 10);
        let mut chart = ChartBuilder::on(top)
            .margin_left(14)
            .margin_right(24)
            .margin_top(8)
            .x_label_area_size(36)
            .y_label_area_size(86)
            .build_cartesian_2d(x_lo..x_hi, -y_max..y_max)
            .map_err(err)?;
        chart
            .configure_mesh()
            .y_desc(format!(
                "notional per {:.2}% bin (shorts ↑, longs ↓)",
                100.0 * g.width / p0
            ))
            .house(13.0, 14.0)
            .x_label_formatter(&|x| price_axis.label(*x))
            .y_label_formatter(&|y| y_axis.label(y.abs()))
            .draw()
            .map_err(err)?;
        // Cluster zones.
        for c in &a.clusters {
            let (y0, y1, colour) = match c.side {
                Side::Long => (-y_max, 0.0, RED_700),
                Side::Short => (0.0, y_max, GREEN_700),
            };
            let (x0, x1) = (c.price_low.max(x_lo), c.price_high.min(x_hi));
            if x1 > x0 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, y0), (x1, y1)],
                        colour.mix(0.10).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        chart
            .draw_series(
                shown
                    .iter()
                    .filter(|&&j| a.short.notional[j] > 0.0)
                    .map(|&j| {
                        Rectangle::new(
                            [(g.edge(j), 0.0), (g.edge(j + 1), a.short.notional[j])],
                            GREEN_700.mix(0.55).filled(),
                        )
                    }),
            )
            .map_err(err)?
            .label("short liquidations")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], GREEN_700.mix(0.55).filled())
            });
        chart
            .draw_series(
                shown
                    .iter()
                    .filter(|&&j| a.long.notional[j] > 0.0)
                    .map(|&j| {
                        Rectangle::new(
                            [(g.edge(j), -a.long.notional[j]), (g.edge(j + 1), 0.0)],
                            RED_700.mix(0.55).filled(),
                        )
                    }),
            )
            .map_err(err)?
            .label("long liquidations")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], RED_700.mix(0.55).filled())
            });
        for (density, sign, colour) in [
            (&a.short_density, 1.0, GREEN_700),
            (&a.long_density, -1.0, RED_700),
        ] {
            for seg in positive_runs(shown, density) {
                chart
                    .draw_series(LineSeries::new(
                        seg.iter().map(|&j| (g.centre(j), sign * density[j])),
                        colour.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(err)?
            .label("smoothed density; clusters shaded, #rank and notional")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREY_600.stroke_width(2)));
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x_lo, 0.0), (x_hi, 0.0)],
                BLACK.mix(0.4),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(p0, -y_max), (p0, y_max)],
                BLACK.stroke_width(2),
            )))
            .map_err(err)?
            .label(format!("current price {}", usd(p0)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
        self.draw_notional_marks(&mut chart, v)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }

    /// The upper panel's marks: critical-shock lines with their labels, the five largest
    /// clusters' rank and notional, and a note when the asset has no positions.
    fn draw_notional_marks<DB: DrawingBackend>(
        &self,
        chart: &mut Panel<'_, DB>,
        v: &View,
    ) -> Result<(), String> {
        let a = self.0;
        let g = &a.grid;
        let p0 = a.price;
        let (x_lo, x_hi, y_max) = (v.x_lo, v.x_hi, v.y_max);
        for (x, label, colour) in &v.crit {
            if *x > x_lo && *x < x_hi {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(*x, -y_max), (*x, y_max)],
                        8,
                        5,
                        colour.stroke_width(2),
                    ))
                    .map_err(err)?;
                // Falls labelled at the bottom, rises at the top, inside the panel.
                let (y, v) = if label.contains('−') {
                    (-0.97 * y_max, VPos::Bottom)
                } else {
                    (0.97 * y_max, VPos::Top)
                };
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(" {label}"),
                        (*x, y),
                        font(13.0).color(colour).pos(Pos::new(HPos::Left, v)),
                    )))
                    .map_err(err)?;
            }
        }
        // Cluster labels: rank by notional, for the five largest.
        for (i, c) in a.clusters.iter().enumerate().take(5) {
            let x = c.peak_price;
            if x <= x_lo || x >= x_hi {
                continue;
            }
            let y = match c.side {
                Side::Long => {
                    -(c.peak_density
                        .max(a.long.notional[g.bin_of(x).unwrap_or(0)]))
                }
                Side::Short => c
                    .peak_density
                    .max(a.short.notional[g.bin_of(x).unwrap_or(0)]),
            };
            // Beyond the bar (below it for longs, above for shorts), inside the panel.
            let y = (y + y.signum() * 0.03 * y_max).clamp(-0.88 * y_max, 0.88 * y_max);
            let v = if y < 0.0 { VPos::Top } else { VPos::Bottom };
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("#{} {}", i + 1, usd(c.notional)),
                    (x, y),
                    font(12.0).color(&BLACK).pos(Pos::new(HPos::Center, v)),
                )))
                .map_err(err)?;
        }
        if a.long.total_positions + a.short.total_positions == 0 {
            chart
                .draw_series(std::iter::once(Text::new(
                    "no positions on this asset",
                    (0.5 * (p0 + x_hi), 0.5 * y_max),
                    font(18.0).pos(Pos::new(HPos::Center, VPos::Center)),
                )))
                .map_err(err)?;
        }
        Ok(())
    }

    /// The lower panel's curves over `[x_lo, x_hi]` and its height: the liquidation curves set
    /// the scale (the book can be far deeper and would flatten them); the depth curves are cut
    /// where they leave the panel.
    fn curves(&self, x_lo: f64, x_hi: f64) -> Curves {
        let a = self.0;
        let g = &a.grid;
        let p0 = a.price;
        let edges = g.edges();
        let in_view: Vec<usize> = (0..edges.len())
            .filter(|&j| edges[j] >= x_lo && edges[j] <= x_hi)
            .collect();
        let long_curve: Vec<(f64, f64)> = in_view
            .iter()
            .filter(|&&j| edges[j] <= p0)
            .map(|&j| (edges[j], a.cumulative.long_notional[j]))
            .collect();
        let short_curve: Vec<(f64, f64)> = in_view
            .iter()
            .filter(|&&j| edges[j] >= p0)
            .map(|&j| (edges[j], a.cumulative.short_notional[j]))
            .collect();
        let depth_curve = |below: bool| -> Vec<(f64, f64)> {
            in_view
                .iter()
                .filter(|&&j| {
                    if below {
                        edges[j] <= p0
                    } else {
                        edges[j] >= p0
                    }
                })
                .filter(|&&j| a.depth.usd[j].is_finite())
                .map(|&j| (edges[j], a.depth.usd[j]))
                .collect()
        };
        let (bids, asks) = (depth_curve(true), depth_curve(false));
        // The liquidation curves set the scale (the book can be far deeper and would
        // flatten them); the depth curves are cut where they leave the panel.
        let liq_top = long_curve
            .iter()
            .chain(&short_curve)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        let y_top = if liq_top > 0.0 {
            liq_top * 1.3
        } else {
            bids.iter().chain(&asks).map(|p| p.1).fold(0.0, f64::max)
        }
        .max(1.0);
        let (bids, asks) = (clip_below(&bids, y_top), clip_below(&asks, y_top));
        Curves {
            long_curve,
            short_curve,
            bids,
            asks,
            y_top,
        }
    }

    /// Lower panel: cumulative liquidations without feedback, and the book in front.
    fn draw_cumulative<DB: DrawingBackend>(
        &self,
        bottom: &DrawingArea<DB, Shift>,
        v: &View,
    ) -> Result<(), String> {
        let a = self.0;
        let p0 = a.price;
        let (x_lo, x_hi, price_axis) = (v.x_lo, v.x_hi, &v.price_axis);
        let Curves {
            long_curve,
            short_curve,
            bids,
            asks,
            y_top,
        } = self.curves(x_lo, x_hi);
        let y_axis = Axis::linear("USD", 0.0, y_top, 10);
        let mut chart = ChartBuilder::on(bottom)
            .margin_left(14)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(44)
            .y_label_area_size(86)
            .build_cartesian_2d(x_lo..x_hi, 0.0..y_top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!("{} price (USD)", a.asset))
            .y_desc("cumulative, USD")
            .house(13.0, 14.0)
            .x_label_formatter(&|x| price_axis.label(*x))
            .y_label_formatter(&|y| y_axis.label(*y))
            .draw()
            .map_err(err)?;
        for c in &a.clusters {
            let colour = match c.side {
                Side::Long => RED_700,
                Side::Short => GREEN_700,
            };
            let (x0, x1) = (c.price_low.max(x_lo), c.price_high.min(x_hi));
            if x1 > x0 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, 0.0), (x1, y_top)],
                        colour.mix(0.10).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        chart
            .draw_series(LineSeries::new(long_curve, RED_700.stroke_width(3)))
            .map_err(err)?
            .label("longs liquidated if the price falls to x (no feedback)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED_700.stroke_width(3)));
        chart
            .draw_series(LineSeries::new(short_curve, GREEN_700.stroke_width(3)))
            .map_err(err)?
            .label("shorts liquidated if the price rises to x")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], GREEN_700.stroke_width(3))
            });
        chart
            .draw_series(LineSeries::new(bids, GREY_600.stroke_width(2)))
            .map_err(err)?
            .label("book depth between the price and x (sell / buy to move the mid there)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], GREY_600.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(asks, GREY_600.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(p0, 0.0), (p0, y_top)],
                BLACK.stroke_width(2),
            )))
            .map_err(err)?;
        for (x, _, colour) in &v.crit {
            if *x > x_lo && *x < x_hi {
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(*x, 0.0), (*x, y_top)],
                        8,
                        5,
                        colour.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
        }
        if let Some(cs) = &a.critical {
            for s in [&cs.down, &cs.up] {
                if let Some(t) = &s.at
                    && t.end_price > x_lo
                    && t.end_price < x_hi
                {
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (t.end_price, t.liquidated_notional.min(y_top)),
                            6,
                            ORANGE_800.filled(),
                        )))
                        .map_err(err)?;
                }
            }
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(err)?
                .label("cascade after the critical shock: end price, liquidated notional")
                .legend(|(x, y)| Circle::new((x + 8, y), 5, ORANGE_800.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

impl Figure for HeatmapFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (title_area, body) = root.split_vertically(78);
        self.draw_title(&title_area)?;
        let h = body.dim_in_pixel().1;
        let (top, bottom) = body.split_vertically((h as f64 * 0.56) as u32);
        let view = self.view();
        self.draw_notional(&top, &view)?;
        self.draw_cumulative(&bottom, &view)
    }
}
