//! A backtest's folder: `backtest.h5` (per-step and hourly series), `backtest.json` (the
//! scores), the figure `backtest.png`/`.svg` (price on top, observed against simulated
//! hourly liquidations below, long and short) and `backtest.html`.

use std::fmt::Write as _;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

use super::h5::{self, AttrValue, Column, ColumnData, Group};
use super::page::{STYLE, escape};
use super::plot::{self, Figure, draw_legend, font};
use super::style::HouseMesh;
use super::{OutputError, Staging};
use crate::history::grid::StepGrid;
use crate::history::living::LivingParams;
use crate::history::score::{Scores, SideScores};
use crate::history::time::format_time;
use crate::history::{Hourly, Simulated, WindowScores};

/// Where a backtest came from and how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestProvenance {
    pub scenario_file: String,
    pub prices_file: String,
    /// `"mark"`: the observed price is the mark, no simulated feedback.
    pub mode: &'static str,
    pub paths: u64,
    pub seed: u64,
    pub step_seconds: i64,
    /// Start of the scored window (RFC 3339); everything before it is warm-up.
    pub from: String,
    /// End of the scored window (RFC 3339).
    pub to: String,
    pub cascadesim_version: &'static str,
}

/// Everything a backtest writes.
pub struct Backtest<'a> {
    pub provenance: BacktestProvenance,
    pub params: &'a LivingParams,
    pub grid: &'a StepGrid,
    pub simulated: &'a Simulated,
    /// Hourly series, when the price file has observed liquidations.
    pub hourly: Option<&'a Hourly>,
    /// The baseline's hourly predictions (scaled on the warm-up bars), when it can be scaled.
    pub baseline: Option<(Vec<f64>, Vec<f64>)>,
    /// Scores on the scored window.
    pub scores: Option<WindowScores>,
    /// Scored bars.
    pub window: std::ops::Range<usize>,
}

#[derive(Serialize)]
struct Document<'a> {
    provenance: &'a BacktestProvenance,
    parameters: &'a LivingParams,
    /// Scores on the scored window (`null` without observed liquidations).
    scores: Option<&'a WindowScores>,
    notes: [&'static str; 3],
}

const NOTES: [&str; 3] = [
    "Scores are over 1-hour bars of the scored window; simulated quantities are absolute (mean over paths), never rescaled.",
    "The baseline predicts max(0, 1 - low/open) for longs and max(0, high/open - 1) for shorts per bar, scaled so its totals match the observed ones over the bars before the window.",
    "Observed liquidations are one venue's; the simulated population stands for the traders of that venue only as far as the calibration makes it.",
];

/// Writes the backtest's files into `staging`; returns their names.
///
/// # Errors
/// On any failure to serialise, draw or write.
pub fn write_backtest(staging: &Staging, b: &Backtest<'_>) -> Result<Vec<String>, OutputError> {
    let json = serde_json::to_string_pretty(&Document {
        provenance: &b.provenance,
        parameters: b.params,
        scores: b.scores.as_ref(),
        notes: NOTES,
    })?;
    staging.write("backtest.json", format!("{json}\n").as_bytes())?;
    write_h5(&staging.path("backtest.h5"), b, &json)?;
    let dir = staging.path("");
    plot::save(&BacktestFigure(b), &dir, "backtest", (1400, 1000)).map_err(|e| {
        OutputError::Io {
            path: dir.join("backtest.png"),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    staging.write("backtest.html", page(b).as_bytes())?;
    Ok([
        "backtest.json",
        "backtest.h5",
        "backtest.png",
        "backtest.svg",
        "backtest.html",
    ]
    .map(String::from)
    .to_vec())
}

fn write_h5(path: &std::path::Path, b: &Backtest<'_>, json: &str) -> Result<(), OutputError> {
    let g = b.grid;
    let time: Vec<u64> = g.time.iter().map(|&t| t.max(0) as u64).collect();
    let pad = |v: &[f64]| {
        let mut p = v.to_vec();
        p.resize(g.len(), 0.0);
        p
    };
    let (sl, ss) = (pad(&b.simulated.long), pad(&b.simulated.short));
    let mut mark = g.price.clone();
    mark[..b.simulated.mark.len()].copy_from_slice(&b.simulated.mark);
    let mut steps = Group::new("backtest");
    steps
        .attrs
        .push(("mode".into(), AttrValue::from(b.provenance.mode)));
    steps
        .attrs
        .push(("step_seconds".into(), AttrValue::from(g.dt)));
    steps.columns = vec![
        Column::new(
            "time",
            "s",
            "step end, unix seconds (UTC)",
            ColumnData::U64(&time),
        ),
        Column::new(
            "price",
            "USD",
            "observed price: last row at or before the step",
            &g.price[..],
        ),
        Column::new(
            "simulated_long",
            "asset",
            "long quantity liquidated in the step, mean over paths",
            &sl[..],
        ),
        Column::new(
            "simulated_short",
            "asset",
            "short quantity liquidated in the step, mean over paths",
            &ss[..],
        ),
    ];
    if b.provenance.mode != "mark" {
        steps.columns.push(Column::new(
            "simulated_mark",
            "USD",
            "the book's mid on the observed price (mode fundamental), mean over paths",
            &mark[..],
        ));
    }
    if let (Some(ol), Some(os)) = (&g.observed_long, &g.observed_short) {
        steps.columns.push(Column::new(
            "observed_long",
            "asset",
            "observed long liquidations summed into the step",
            &ol[..],
        ));
        steps.columns.push(Column::new(
            "observed_short",
            "asset",
            "observed short liquidations summed into the step",
            &os[..],
        ));
    }
    let mut groups = vec![steps];
    let starts: Vec<u64>;
    let empty: (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    if let Some(h) = b.hourly {
        starts = h.bars.start.iter().map(|&t| t.max(0) as u64).collect();
        let mut hourly = Group::new("backtest/hourly");
        hourly.columns = vec![
            Column::new(
                "start",
                "s",
                "bar start, unix seconds (UTC)",
                ColumnData::U64(&starts),
            ),
            Column::new(
                "observed_long",
                "asset",
                "observed long liquidations in the bar",
                &h.observed_long[..],
            ),
            Column::new(
                "observed_short",
                "asset",
                "observed short liquidations in the bar",
                &h.observed_short[..],
            ),
            Column::new(
                "simulated_long",
                "asset",
                "simulated long liquidations in the bar, mean over paths",
                &h.simulated_long[..],
            ),
            Column::new(
                "simulated_short",
                "asset",
                "simulated short liquidations in the bar, mean over paths",
                &h.simulated_short[..],
            ),
        ];
        let (bl, bs) = b.baseline.as_ref().unwrap_or(&empty);
        if !bl.is_empty() {
            hourly.columns.push(Column::new(
                "baseline_long",
                "asset",
                "baseline: fall from the bar's open, scaled on the warm-up bars",
                &bl[..],
            ));
            hourly.columns.push(Column::new(
                "baseline_short",
                "asset",
                "baseline: rise from the bar's open, scaled on the warm-up bars",
                &bs[..],
            ));
        }
        groups.push(hourly);
    }
    let root = vec![
        ("scores_json".to_string(), AttrValue::from(json)),
        (
            "scenario_file".to_string(),
            AttrValue::from(b.provenance.scenario_file.as_str()),
        ),
    ];
    h5::write_h5_atomic(path, &root, &groups)?;
    Ok(())
}

/// One liquidation panel: side, observed, simulated, baseline, scores.
type Panel<'a> = (
    &'static str,
    &'a [f64],
    &'a [f64],
    Option<&'a Vec<f64>>,
    Option<&'a SideScores>,
);

/// Price on top; long and short hourly liquidations, observed against simulated (and the
/// baseline), below. The scored window is shaded.
struct BacktestFigure<'a, 'b>(&'a Backtest<'b>);

impl Figure for BacktestFigure<'_, '_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let b = self.0;
        let g = b.grid;
        let t0 = g.time[0] - g.dt;
        let hours = |t: i64| (t - t0) as f64 / 3600.0;
        let x_end = hours(g.time[g.len() - 1]);
        let label = |x: &f64| {
            let t = format_time(t0 + (x * 3600.0) as i64);
            format!("{} {}h", &t[5..10], &t[11..13])
        };
        let (from, to) = b
            .hourly
            .and_then(|h| {
                let s = h.bars.start.get(b.window.start)?;
                let e = h.bars.start.get(b.window.end.checked_sub(1)?)?;
                Some((hours(*s), hours(e + 3600)))
            })
            .unwrap_or((0.0, 0.0));
        let panels = root.split_evenly((3, 1));
        let title = format!(
            "{} — backtest, observed price as the {} ({} paths)",
            b.provenance.scenario_file,
            if b.provenance.mode == "mark" {
                "mark"
            } else {
                "fundamental, simulated book on top"
            },
            b.provenance.paths
        );
        // The simulated mark (mode fundamental) may leave the observed price's range.
        let shown: &[f64] = if b.provenance.mode == "mark" {
            &[]
        } else {
            &b.simulated.mark
        };
        let (lo, hi) = g
            .price
            .iter()
            .chain(shown)
            .fold((f64::INFINITY, 0.0_f64), |(l, h), &p| (l.min(p), h.max(p)));
        let pad = (hi - lo).max(1e-9) * 0.05;
        let mut c = ChartBuilder::on(&panels[0])
            .caption(title, font(18.0))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_end, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .house_text(12.0, 13.0)
            .x_label_formatter(&label)
            .light_line_style(WHITE.mix(0.0))
            .y_desc("price (USD)")
            .draw()
            .map_err(|e| e.to_string())?;
        if to > from {
            c.draw_series(std::iter::once(Rectangle::new(
                [(from, lo - pad), (to, hi + pad)],
                RGBColor(21, 101, 192).mix(0.08).filled(),
            )))
            .map_err(|e| e.to_string())?
            .label("scored window")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 16, y + 5)],
                    RGBColor(21, 101, 192).mix(0.2).filled(),
                )
            });
        }
        c.draw_series(LineSeries::new(
            g.time.iter().zip(&g.price).map(|(&t, &p)| (hours(t), p)),
            BLACK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?
        .label("price")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        if b.provenance.mode != "mark" {
            let red = RGBColor(198, 40, 40);
            c.draw_series(LineSeries::new(
                g.time
                    .iter()
                    .zip(&b.simulated.mark)
                    .map(|(&t, &p)| (hours(t), p)),
                red.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?
            .label("simulated mark (book on the price, mean over paths)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], red));
        }
        draw_legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        let Some(h) = b.hourly else {
            return Ok(());
        };
        let xs: Vec<f64> = h.bars.start.iter().map(|&s| hours(s) + 0.5).collect();
        let sides: [Panel<'_>; 2] = [
            (
                "long",
                &h.observed_long,
                &h.simulated_long,
                b.baseline.as_ref().map(|x| &x.0),
                b.scores.as_ref().map(|s| &s.model.long),
            ),
            (
                "short",
                &h.observed_short,
                &h.simulated_short,
                b.baseline.as_ref().map(|x| &x.1),
                b.scores.as_ref().map(|s| &s.model.short),
            ),
        ];
        for (i, side) in sides.into_iter().enumerate() {
            draw_side(&panels[i + 1], side, &xs, (x_end, from, to), &label)?;
        }
        Ok(())
    }
}

/// One side's panel: observed and simulated liquidations per hour (and the baseline), the
/// scored window `[from, to]` shaded, x from 0 to `x_end` hours labelled by `label`.
fn draw_side<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (name, obs, sim, base, sc): Panel<'_>,
    xs: &[f64],
    (x_end, from, to): (f64, f64, f64),
    label: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    let top = obs
        .iter()
        .chain(sim.iter())
        .fold(0.0_f64, |m, &x| m.max(x))
        .max(1e-9)
        * 1.05;
    let caption = match sc {
        Some(s) => format!(
            "{name} liquidations per hour — window: Pearson {}, Spearman {}, total ratio {}",
            fmt(s.pearson),
            fmt(s.spearman),
            fmt(s.total_ratio)
        ),
        None => format!("{name} liquidations per hour"),
    };
    let mut c = ChartBuilder::on(area)
        .caption(caption, font(15.0))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_end, 0.0..top)
        .map_err(|e| e.to_string())?;
    c.configure_mesh()
        .house_text(12.0, 13.0)
        .x_label_formatter(label)
        .light_line_style(WHITE.mix(0.0))
        .y_desc("asset units / hour")
        .draw()
        .map_err(|e| e.to_string())?;
    if to > from {
        c.draw_series(std::iter::once(Rectangle::new(
            [(from, 0.0), (to, top)],
            RGBColor(21, 101, 192).mix(0.08).filled(),
        )))
        .map_err(|e| e.to_string())?;
    }
    let grey = RGBColor(120, 120, 120);
    if let Some(base) = base {
        c.draw_series(LineSeries::new(
            xs.iter().copied().zip(base.iter().copied()),
            grey.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?
        .label("baseline (fall/rise from the open)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], grey));
    }
    c.draw_series(LineSeries::new(
        xs.iter().copied().zip(obs.iter().copied()),
        BLACK.stroke_width(2),
    ))
    .map_err(|e| e.to_string())?
    .label("observed")
    .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    let red = RGBColor(198, 40, 40);
    c.draw_series(LineSeries::new(
        xs.iter().copied().zip(sim.iter().copied()),
        red.stroke_width(2),
    ))
    .map_err(|e| e.to_string())?
    .label("simulated (mean over paths)")
    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], red.stroke_width(2)));
    draw_legend(&mut c, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// A score for display: three decimals, or "—".
pub fn fmt(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| {
        if v.abs() < 1e6 {
            format!("{v:.3}")
        } else {
            // A ratio of 1e300 (a price series gone wild) printed 300 digits.
            format!("{v:.3e}")
        }
    })
}

/// A total in whole units with thousands separators, as the terminal prints it (`179,769`),
/// with an exponent from 10¹⁵ up (no wall of digits).
fn total(v: f64) -> String {
    super::format::number(v.round())
}

fn score_rows(o: &mut String, who: &str, s: &Scores) {
    for (side, x) in [("long", &s.long), ("short", &s.short)] {
        let _ = writeln!(
            o,
            "<tr><td>{who}</td><td>{side}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt(x.pearson),
            fmt(x.spearman),
            fmt(x.total_ratio),
            fmt(x.top10_overlap),
            total(x.simulated_total),
            total(x.observed_total)
        );
    }
}

fn page(b: &Backtest<'_>) -> String {
    let p = &b.provenance;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>cascadesim · backtest · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>Backtest: {}</h1><p class=\"meta\">prices {} · mode: {} · {} paths, seed {} · steps of {} s · scored window {} to {} (everything before is warm-up)</p></header>\n<main style=\"padding:0 1.5rem 2rem\">\n",
        escape(&p.scenario_file),
        escape(&p.scenario_file),
        escape(&p.prices_file),
        if p.mode == "mark" {
            "observed price as the mark (no simulated feedback)"
        } else {
            "observed price as the fundamental, simulated liquidations move a book on top (double-counts the real impact)"
        },
        p.paths,
        p.seed,
        p.step_seconds,
        escape(&p.from),
        escape(&p.to)
    );
    match &b.scores {
        Some(s) => {
            o.push_str("<h2>Scores at 1-hour bars</h2>\n<div class=\"scroll\"><table><thead><tr><th>model</th><th>side</th><th>Pearson</th><th>Spearman</th><th>total ratio</th><th>top-10 overlap</th><th>predicted total</th><th>observed total</th></tr></thead><tbody>\n");
            score_rows(&mut o, "living population", &s.model);
            if let Some(base) = &s.baseline {
                score_rows(&mut o, "baseline", base);
            }
            o.push_str("</tbody></table></div>\n");
        }
        None => o.push_str("<p class=\"missing\">The price file has no observed liquidations: nothing to score.</p>\n"),
    }
    o.push_str("<figure><img src=\"backtest.svg\" alt=\"price and hourly liquidations\" style=\"width:100%\"><figcaption>Price (top); observed (black), simulated (red) and baseline (grey) liquidations per hour, long and short. The shaded span is the scored window.</figcaption></figure>\n<ul class=\"notes\">\n");
    for n in NOTES {
        let _ = writeln!(o, "<li>{}</li>", escape(n));
    }
    o.push_str("</ul>\n<p>Files: <code>backtest.h5</code> (per step: <code>/backtest/time, price, simulated_long, simulated_short, observed_long, observed_short</code>; per hour: <code>/backtest/hourly/*</code>), <code>backtest.json</code>.</p>\n</main>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores and totals keep their form in the usual range and get an exponent when huge
    /// (a total ratio of 1e300 printed 300 digits).
    #[test]
    fn huge_scores_and_totals_are_short() {
        assert_eq!(fmt(Some(1.0012)), "1.001");
        assert_eq!(fmt(Some(1e300)), "1.000e300");
        assert_eq!(fmt(None), "—");
        assert_eq!(total(123_456.4), "123,456");
        assert_eq!(total(1e300), "1.000e300");
    }
}
