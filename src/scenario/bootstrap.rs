//! `innovations = "bootstrap"` and its `[assets.bootstrap]` table: the asset's returns are
//! resampled from a price series (the CSV of `docs/backtest.md`) laid on the scenario's
//! steps, in blocks of a stated mean length (`model::bootstrap`).

use super::FileSource;
use super::common::out_of_range;
use super::reader::{Doc, Tbl};
use crate::history::grid::{StepGrid, span_problem};
use crate::history::series::{PriceSeries, parse_series};
use crate::model::bootstrap::BlockBootstrap;

/// Keys of `[assets.bootstrap]`.
pub(crate) const KEYS: &[&str] = &["prices", "mean_block_steps"];

/// Reads `[assets.bootstrap]` of the asset table `t` for steps of `step_seconds`; every
/// problem is recorded in `doc`.
pub(crate) fn read(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    step_seconds: Option<f64>,
    files: &dyn FileSource,
) -> Option<BlockBootstrap> {
    for key in ["jumps", "volatility_feedback"] {
        if doc.has(t, key) {
            doc.error_at(
                &t.child(key),
                None,
                format!("`{key}` does not apply with innovations = \"bootstrap\": the returns come from the series"),
            );
        }
    }
    let mut b = doc.req_table(t, "bootstrap", KEYS)?;
    let file = doc.req_str(&mut b, "prices");
    let block = doc.req_f64(&mut b, "mean_block_steps");
    if let Some(x) = block {
        out_of_range(doc, &mut b, "mean_block_steps", x < 1.0, "at least 1", x);
    }
    let dt = step_seconds.filter(|s| *s >= 1.0 && s.fract() == 0.0 && 3600.0 % s == 0.0);
    if step_seconds.is_some() && dt.is_none() {
        doc.invalid_table(
            &b,
            "the series is laid on the scenario's steps: simulation.step_seconds must be a whole number of seconds that divides 3600".into(),
        );
    }
    let mut out = None;
    if let (Some(file), Some(block), Some(dt)) = (file, block, dt) {
        match files.read(file) {
            Err(e) => doc.invalid(&mut b, "prices", e),
            Ok(text) => match parse_series(&text, file) {
                Err(e) => {
                    for i in e.issues {
                        let at = i.line.map(|l| format!(":{l}")).unwrap_or_default();
                        let col = if i.path.is_empty() {
                            String::new()
                        } else {
                            format!(" {}:", i.path)
                        };
                        doc.invalid(&mut b, "prices", format!("{file}{at}:{col} {}", i.message));
                    }
                }
                Ok(series) => match span_problem(&series, dt as i64) {
                    Some((line, m)) => {
                        doc.invalid(&mut b, "prices", format!("{file}:{line}: time: {m}"))
                    }
                    None => out = resample(doc, &mut b, &series, file, dt, block),
                },
            },
        }
    }
    doc.finish(b);
    out.filter(|_| block.is_some_and(|x| x >= 1.0))
}

/// The block bootstrap over the step returns of `series` laid on steps of `dt` seconds, or
/// `None` after reporting a series of fewer than 3 steps (`file` names it).
fn resample(
    doc: &mut Doc<'_>,
    b: &mut Tbl<'_, '_>,
    series: &PriceSeries,
    file: &str,
    dt: f64,
    block: f64,
) -> Option<BlockBootstrap> {
    let grid = StepGrid::new(series, dt as i64);
    let returns: Vec<f64> = grid.price.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    if returns.len() < 2 {
        doc.invalid(
            b,
            "prices",
            format!("{file} spans fewer than 3 steps of {dt} s: nothing to resample"),
        );
        return None;
    }
    Some(BlockBootstrap::new(&returns, block))
}
