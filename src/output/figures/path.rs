//! `path_worst`, `path_median`, `path_random`: replayed sample paths (fundamental and mark,
//! liquidations sized by notional, book depth underneath).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::full_palette::{BLUE_700, GREY_500, GREY_700};

use super::SamplePath;
use crate::engine::trace::SampleKind;
use crate::output::format::{Axis, human, sig};
use crate::output::plot::{Figure, font};
use crate::output::style::{HouseMesh, draw_message, err, text_at};

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

pub(super) struct PathFigure<'a> {
    pub(super) sample: &'a SamplePath,
    pub(super) assets: &'a [String],
    pub(super) step_seconds: f64,
}

impl PathFigure<'_> {
    pub(super) fn heading(&self) -> String {
        let what = match self.sample.kind {
            SampleKind::Worst => format!("Worst path by {}", self.sample.metric),
            SampleKind::Median => format!("Median path by {}", self.sample.metric),
            SampleKind::Random => "A random path".to_string(),
        };
        format!("{what}: path {}", self.sample.trace.path)
    }

    pub(super) fn caption(&self) -> String {
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
        let (div, _) = self.time_unit();
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
                .house(13.0, 14.0)
                .y_label_formatter(&|y| price_axis.label(*y))
                .x_label_formatter(&|x| sig(*x, 4))
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

            self.draw_depth(&lower, &depth, t_hi)?;
        }
        Ok(())
    }
}

impl PathFigure<'_> {
    /// The lower panel of an asset: the book depth multiplier by step (the UTC-hour profile),
    /// with a note of its range.
    fn draw_depth<DB: DrawingBackend>(
        &self,
        lower: &DrawingArea<DB, Shift>,
        depth: &[f64],
        t_hi: f64,
    ) -> Result<(), String> {
        let (div, tunit) = self.time_unit();
        let time = |i: usize| i as f64 * self.step_seconds / div;
        // Headroom above the depth line for the note.
        let d_hi = depth.iter().copied().fold(0.0f64, f64::max).max(1.0) * 1.5;
        // One form for every tick (`0.5`, `1.0`, `1.5`, not `0.5`, `1`, `1.5`).
        let depth_axis = Axis::linear("", 0.0, d_hi, 4);
        let mut dchart = ChartBuilder::on(lower)
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
            .house(13.0, 14.0)
            .x_label_formatter(&|x| sig(*x, 4))
            .y_label_formatter(&|y| depth_axis.label(*y))
            .y_labels(4)
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
        text_at(lower, &note, (px.end - 8, py.start + 4), &style)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
