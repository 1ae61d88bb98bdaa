//! `tail_<metric>`: the log-log survival plot of a tail metric with the fitted GPD above the
//! threshold, its 95% profile-likelihood band and the VaR/ES levels marked.

use plotters::coord::Shift;
use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::prelude::*;
use plotters::style::full_palette::{BLUE_700, GREY_500, GREY_700, ORANGE_700, PURPLE_500};
use rayon::prelude::*;

use super::axes::{log_ticks, prob_tick, unit_desc};
use crate::output::format::{Axis, human, sig};
use crate::output::plot::{Figure, draw_legend, font};
use crate::output::style::{HouseMesh, draw_message, err, text_at, wrap};
use crate::tails::{Endpoint, TailReport};

/// The fitted part of a tail figure.
pub(super) struct FitPart {
    threshold: f64,
    xi: f64,
    sigma: f64,
    rate: f64,
    n_exceedances: usize,
    /// (x, survival) along the fitted tail.
    curve: Vec<(f64, f64)>,
    /// Pointwise 95% profile-likelihood interval of the return level at survival s:
    /// (lower x, upper x or None when unbounded, s).
    band: Vec<(f64, Option<f64>, f64)>,
    /// The ξ interval, as text.
    xi_interval: String,
}

/// A VaR or ES mark on the survival plot.
pub(super) struct Mark {
    label: String,
    x: f64,
    survival: f64,
    es: bool,
    color: RGBColor,
    /// From the fitted tail rather than the data (drawn hollow).
    fitted: bool,
}

/// Decades of the metric a tail plot shows below its largest value.
const TAIL_DECADES: i32 = 4;

pub(super) struct TailFigure {
    metric: String,
    unit: String,
    n: usize,
    /// Empirical (x, P(X ≥ x)) for positive x, thinned for large samples.
    points: Vec<(f64, f64)>,
    nonpositive: usize,
    /// Positive values left of the x range (more than [`TAIL_DECADES`] below the top).
    below_range: usize,
    fit: Result<FitPart, String>,
    /// VaR/ES levels that are ≤ 0, so not on the log axis ("VaR 99% = $0.00").
    off_axis: Vec<String>,
    marks: Vec<Mark>,
    /// Smallest survival shown.
    p_min: f64,
}

/// The empirical survival `(x, P(X ≥ x))` of the positive values of an ascending slice:
/// `P(X ≥ x_(i)) = (n − i)/n` for the order statistics, keeping the top 300 ranks and then
/// about 115 per decade of rank, so large runs stay light. Ascending in `x`.
pub(crate) fn survival_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let nonpositive = sorted.partition_point(|&v| v <= 0.0);
    let mut points = Vec::new();
    let mut last_bucket = i64::MIN;
    for i in (nonpositive..n).rev() {
        let rank = n - i;
        let bucket = ((rank as f64).ln() / 1.02f64.ln()).floor() as i64;
        if rank <= 300 || bucket != last_bucket {
            points.push((sorted[i], rank as f64 / n as f64));
            last_bucket = bucket;
        }
    }
    points.reverse();
    points
}

/// Fitted tail quantile at survival `s`: u + σ/ξ·((s/ζ)^(−ξ) − 1).
fn gpd_level(u: f64, xi: f64, sigma: f64, rate: f64, s: f64) -> f64 {
    let m = (rate / s).ln();
    if xi.abs() < 1e-12 {
        u + sigma * m
    } else {
        u + sigma * (xi * m).exp_m1() / xi
    }
}

impl TailFigure {
    pub(super) fn new(metric: &str, unit: &str, values: &[f64], report: &TailReport) -> TailFigure {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.par_sort_unstable_by(f64::total_cmp);
        let n = sorted.len();
        let nonpositive = sorted.partition_point(|&v| v <= 0.0);
        let points = survival_points(&sorted);

        let tail_p = report
            .tail_risk
            .iter()
            .filter(|e| e.result.is_available())
            .map(|e| 1.0 - e.p)
            .fold(f64::INFINITY, f64::min);
        let p_min = (0.1 / n.max(1) as f64).min(tail_p * 0.5).max(1e-9);

        let fit = Self::fit_part(report, p_min);

        let mut marks = Vec::new();
        let colors = [ORANGE_700, PURPLE_500, RED];
        // Empirical VaR/ES where at least one path lies beyond (n(1 − p) ≥ 1).
        for (k, e) in report
            .empirical
            .iter()
            .filter(|e| e.p >= 0.99 && n as f64 * (1.0 - e.p) >= 1.0 - 1e-9)
            .enumerate()
        {
            if let Some(b) = e.result.value() {
                let c = colors[k % colors.len()];
                let pct = sig(e.p * 100.0, 4);
                marks.push(Mark {
                    label: format!("VaR {pct}% = {}", human(b.var, unit)),
                    x: b.var,
                    survival: 1.0 - e.p,
                    es: false,
                    color: c,
                    fitted: false,
                });
                marks.push(Mark {
                    label: format!("ES {pct}% = {}", human(b.es, unit)),
                    x: b.es,
                    survival: 1.0 - e.p,
                    es: true,
                    color: c,
                    fitted: false,
                });
            }
        }
        // The fitted tail's VaR/ES at its most extreme probability, usually beyond the data.
        if let Some(e) = report
            .tail_risk
            .iter()
            .rev()
            .find(|e| e.result.is_available())
            && let Some(tr) = e.result.value()
        {
            let pct = sig(e.p * 100.0, 4);
            marks.push(Mark {
                label: format!("GPD VaR {pct}% = {}", human(tr.var.estimate, unit)),
                x: tr.var.estimate,
                survival: 1.0 - e.p,
                es: false,
                color: BLACK,
                fitted: true,
            });
            if let Some(es) = tr.es.value() {
                marks.push(Mark {
                    label: format!("GPD ES {pct}% = {}", human(es.estimate, unit)),
                    x: es.estimate,
                    survival: 1.0 - e.p,
                    es: true,
                    color: BLACK,
                    fitted: true,
                });
            }
        }
        // Levels at or below 0 cannot sit on the log axis: they are listed in words instead.
        let off_axis: Vec<String> = marks
            .iter()
            .filter(|m| !(m.x > 0.0 && m.x.is_finite()))
            .map(|m| m.label.clone())
            .collect();
        marks.retain(|m| m.x > 0.0 && m.x.is_finite());

        let mut fig = TailFigure {
            metric: metric.to_string(),
            unit: unit.to_string(),
            n,
            points,
            nonpositive,
            below_range: 0,
            fit,
            marks,
            off_axis,
            p_min,
        };
        let (x_lo, _) = fig.x_range();
        fig.below_range = sorted[nonpositive..].partition_point(|&v| v < x_lo);
        fig
    }

    /// The fitted curve and its band, or why there is none.
    fn fit_part(report: &TailReport, p_min: f64) -> Result<FitPart, String> {
        let fit = match report.ml_fit.value() {
            Some(f) => f,
            None => {
                return Err(report
                    .ml_fit
                    .reason()
                    .or_else(|| report.threshold.reason())
                    .unwrap_or("no fit")
                    .to_string());
            }
        };
        let (u, xi, sigma, rate) = (fit.threshold, fit.xi, fit.sigma, fit.exceedance_rate);
        let steps = 200;
        let curve: Vec<(f64, f64)> = (0..=steps)
            .map(|i| {
                let s = rate * (p_min / rate).powf(f64::from(i) / f64::from(steps));
                (gpd_level(u, xi, sigma, rate, s), s)
            })
            .collect();
        // The band: profile-likelihood intervals of the return level at log-spaced survival
        // probabilities, over the likelihood region of the report's own fit.
        let band = report
            .region()
            .map(|region| {
                let k = 24;
                (1..=k)
                    .into_par_iter()
                    .filter_map(|i| {
                        let s = rate * (p_min / rate).powf(f64::from(i) / f64::from(k));
                        let rl = region.return_level(1.0 / s).ok()?;
                        let lo = rl.profile_interval.lower.value()?;
                        let hi = match rl.profile_interval.upper {
                            Endpoint::Unbounded => None,
                            e => e.value(),
                        };
                        Some((lo, hi, s))
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let band = std::iter::once((u, Some(u), rate)).chain(band).collect();
        let xi_interval = report
            .xi_profile_interval
            .value()
            .map(|p| {
                let f = |e: &Endpoint| e.value().map_or("∞".into(), |v| format!("{v:.2}"));
                format!(" [{}, {}]", f(&p.lower), f(&p.upper))
            })
            .unwrap_or_default();
        Ok(FitPart {
            threshold: u,
            xi,
            sigma,
            rate,
            n_exceedances: fit.n_exceedances,
            curve,
            band,
            xi_interval,
        })
    }

    pub(super) fn caption(&self) -> String {
        let mut c = format!(
            "Empirical survival P(X ≥ x) of {} over {} paths on log-log axes",
            self.metric, self.n
        );
        match &self.fit {
            Ok(f) => c.push_str(&format!(
                "; the line is the generalized Pareto tail fitted by maximum likelihood above u = {} ({} exceedances): ζ·(1 + ξ(x − u)/σ)^(−1/ξ) with ξ = {:.3}{}, σ = {}, ζ = {}; the band is the pointwise 95% profile-likelihood interval of the return level (exceedance rate held fixed). Markers: empirical VaR (circles) and ES (triangles) at their levels, hollow ones from the fitted tail.",
                human(f.threshold, &self.unit),
                f.n_exceedances,
                f.xi,
                f.xi_interval,
                human(f.sigma, &self.unit),
                sig(f.rate, 3),
            )),
            Err(reason) => c.push_str(&format!("; no GPD fit: {reason}.")),
        }
        let (hidden, why) = self.hidden();
        if hidden > 0 {
            c.push_str(&format!(
                " {hidden} of {} values are {why} and not shown on the log axis.",
                self.n
            ));
        }
        c
    }

    /// The x range: every shown point, the fit down to `p_min` and the marks, at most
    /// [`TAIL_DECADES`] decades below the top.
    fn x_range(&self) -> (f64, f64) {
        let mut hi = f64::MIN_POSITIVE;
        let mut lo = f64::INFINITY;
        let mut see = |x: f64| {
            if x > 0.0 && x.is_finite() {
                hi = hi.max(x);
                lo = lo.min(x);
            }
        };
        self.points.iter().for_each(|p| see(p.0));
        if let Ok(f) = &self.fit {
            f.curve.iter().for_each(|p| see(p.0));
            f.band.iter().for_each(|b| see(b.0));
        }
        self.marks.iter().for_each(|m| see(m.x));
        if !lo.is_finite() {
            return (0.1, 1.0);
        }
        let hi = hi * 1.25;
        let lo = (lo / 1.25).max(hi * 10f64.powi(-TAIL_DECADES));
        if lo >= hi { (hi / 10.0, hi) } else { (lo, hi) }
    }
}

impl TailFigure {
    /// The text in the top right corner: the fit summary (or why there is none), and notes
    /// on values the log axes cannot show.
    fn corner_text(&self) -> (Vec<String>, Vec<String>) {
        let lines: Vec<String> = match &self.fit {
            Ok(f) => vec![
                format!(
                    "GPD above u = {} ({} of {} paths, ζ = {})",
                    human(f.threshold, &self.unit),
                    f.n_exceedances,
                    self.n,
                    sig(f.rate, 3)
                ),
                format!(
                    "ξ = {:.3}{}   σ = {}",
                    f.xi,
                    f.xi_interval,
                    human(f.sigma, &self.unit)
                ),
            ],
            Err(reason) => {
                let mut l = vec!["no GPD fit:".to_string()];
                l.extend(wrap(reason, 60));
                l
            }
        };
        let (hidden, why) = self.hidden();
        let mut notes = Vec::new();
        if hidden > 0 {
            notes.push(format!(
                "{hidden} of {} values {why} not shown (log axis)",
                self.n
            ));
        }
        if !self.off_axis.is_empty() {
            notes.push(format!("off the log axis: {}", self.off_axis.join(", ")));
        }
        (lines, notes)
    }

    /// The VaR (circles) and ES (triangles) marks inside the axes, filled when empirical and
    /// hollow when fitted.
    fn draw_marks<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut ChartContext<'a, DB, LogLog>,
        (x_lo, x_hi): (f64, f64),
        y_lo: f64,
    ) -> Result<(), String> {
        for m in &self.marks {
            if m.x < x_lo || m.x > x_hi || m.survival < y_lo {
                continue;
            }
            let c = m.color;
            let style = if m.fitted {
                c.stroke_width(2)
            } else {
                c.filled()
            };
            let anno = if m.es {
                chart
                    .draw_series(std::iter::once(TriangleMarker::new(
                        (m.x, m.survival),
                        7,
                        style,
                    )))
                    .map_err(err)?
            } else {
                chart
                    .draw_series(std::iter::once(Circle::new((m.x, m.survival), 6, style)))
                    .map_err(err)?
            };
            let es = m.es;
            anno.label(m.label.clone()).legend(move |(x, y)| {
                if es {
                    TriangleMarker::new((x + 8, y), 6, style).into_dyn()
                } else {
                    Circle::new((x + 8, y), 5, style).into_dyn()
                }
            });
        }
        Ok(())
    }

    /// How many values the log x axis leaves out, and why.
    fn hidden(&self) -> (usize, String) {
        let (x_lo, _) = self.x_range();
        let below = self.below_range;
        match (self.nonpositive, below) {
            (0, 0) => (0, String::new()),
            (z, 0) => (z, "≤ 0".into()),
            (0, b) => (b, format!("below {}", human(x_lo, &self.unit))),
            (z, b) => (z + b, format!("≤ 0 or below {}", human(x_lo, &self.unit))),
        }
    }
}

/// The coordinates of a log-log survival chart.
pub(crate) type LogLog = Cartesian2d<WithKeyPoints<LogCoord<f64>>, WithKeyPoints<LogCoord<f64>>>;

/// The log-log survival chart of a tail figure: `x` in the metric's unit, `P(X ≥ x)` from
/// `y.0` to `y.1`, axes, ticks and grid drawn; the caller draws the series.
///
/// # Errors
/// A drawing error, as text.
pub(crate) fn survival_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
    metric: &str,
    unit: &str,
) -> Result<ChartContext<'a, DB, LogLog>, String> {
    let (xb, xl) = log_ticks(x_lo, x_hi);
    let (yb, yl) = log_ticks(y_lo, 1.2);
    let x_axis = Axis::log(unit);
    let xfmt = |x: &f64| x_axis.label(*x);
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
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(yb)
                .with_light_points(yl),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("{metric} ({})", unit_desc(unit)))
        .y_desc("P(X ≥ x)")
        .house(14.0, 15.0)
        .x_label_formatter(&xfmt)
        .y_label_formatter(&|y| prob_tick(*y))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

impl Figure for TailFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = format!("Tail of {}: survival on log-log axes", self.metric);
        if self.points.is_empty() {
            let why = match &self.fit {
                Err(r) => format!("; no GPD fit: {r}"),
                Ok(_) => String::new(),
            };
            let msg = if self.n == 0 {
                "no paths: nothing to plot".to_string()
            } else {
                format!(
                    "all {} values are ≤ 0 (no positive value to show on a log axis){why}",
                    self.n
                )
            };
            return draw_message(root, &title, &msg);
        }
        let (x_lo, x_hi) = self.x_range();
        let y_lo = self.p_min * 0.7;
        // Fit summary (or why there is none) and notes: drawn top right, above P = 1 where
        // no survival point can be, so the y axis gets headroom for them.
        let (lines, notes) = self.corner_text();
        let color = if self.fit.is_ok() { BLACK } else { RED };
        let top_right = plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Right,
            plotters::style::text_anchor::VPos::Top,
        );
        let fit_style = font(14.0).color(&color).pos(top_right);
        let note_style = font(13.0).color(&GREY_700).pos(top_right);
        let rows: Vec<(&String, &TextStyle)> = lines
            .iter()
            .map(|l| (l, &fit_style))
            .chain(notes.iter().map(|n| (n, &note_style)))
            .collect();
        // Pixels of the plotting area (caption, margins and the x label area taken off), and
        // the share of it the text needs: the top of the axis is set so that share lies above 1.
        let plot_h = f64::from(root.dim_in_pixel().1) - 40.0 - 28.0 - 48.0;
        let share = ((19 * rows.len() + 16) as f64 / plot_h).clamp(0.0, 0.5);
        let y_hi = 10f64
            .powf(share / (1.0 - share) * (1.0 / y_lo).log10())
            .max(1.2);
        let mut chart = survival_chart(
            root,
            &title,
            (x_lo, x_hi),
            (y_lo, y_hi),
            &self.metric,
            &self.unit,
        )?;

        let clip_x = |x: f64| x.clamp(x_lo, x_hi);
        if let Ok(f) = &self.fit {
            if f.band.len() > 1 {
                let mut poly: Vec<(f64, f64)> =
                    f.band.iter().map(|&(lo, _, s)| (clip_x(lo), s)).collect();
                poly.extend(
                    f.band
                        .iter()
                        .rev()
                        .map(|&(_, hi, s)| (clip_x(hi.unwrap_or(x_hi)), s)),
                );
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        poly,
                        BLUE_700.mix(0.15).filled(),
                    )))
                    .map_err(err)?
                    .label("95% profile-likelihood band")
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 16, y + 5)], BLUE_700.mix(0.15).filled())
                    });
            }
            let u = f.threshold;
            chart
                .draw_series(DashedLineSeries::new(
                    [(clip_x(u), y_lo), (clip_x(u), 1.0)],
                    6,
                    4,
                    GREY_500.stroke_width(1),
                ))
                .map_err(err)?
                .label(format!("threshold u = {}", human(u, &self.unit)))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], GREY_500));
        }
        chart
            .draw_series(
                self.points
                    .iter()
                    .filter(|p| p.0 >= x_lo)
                    .map(|&(x, s)| Circle::new((x, s), 2, BLACK.mix(0.75).filled())),
            )
            .map_err(err)?
            .label(format!("paths ({})", self.n))
            .legend(|(x, y)| Circle::new((x + 8, y), 3, BLACK.filled()));
        if let Ok(f) = &self.fit {
            chart
                .draw_series(LineSeries::new(
                    f.curve
                        .iter()
                        .copied()
                        .filter(|&(x, _)| x > 0.0 && x <= x_hi && x >= x_lo),
                    BLUE_700.stroke_width(2),
                ))
                .map_err(err)?
                .label(format!("GPD fit: ξ = {:.2}{}", f.xi, f.xi_interval))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE_700.stroke_width(2)));
        }
        self.draw_marks(&mut chart, (x_lo, x_hi), y_lo)?;
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)?;

        // The fit summary and notes, top right in the headroom above P = 1.
        let (px, py) = chart.plotting_area().get_pixel_range();
        for (i, (text, style)) in rows.iter().enumerate() {
            text_at(
                root,
                text,
                (px.end - 10, py.start + 8 + 19 * i as i32),
                style,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gpd_level_inverts_the_survival() {
        let (u, xi, sigma, rate) = (1.0, 0.3, 0.5, 0.05);
        for s in [0.05, 0.01, 1e-4] {
            let x = gpd_level(u, xi, sigma, rate, s);
            let back = rate * (1.0 + xi * (x - u) / sigma).powf(-1.0 / xi);
            assert!((back - s).abs() < 1e-12 * s.max(1e-3), "{s} {back}");
        }
        assert!((gpd_level(u, 0.0, sigma, rate, rate * (-1.0f64).exp()) - 1.5).abs() < 1e-12);
    }
}
