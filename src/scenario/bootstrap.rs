//! `innovations = "bootstrap"` and its `[assets.bootstrap]` table: the asset's returns are
//! resampled from a price series (the CSV of `docs/backtest.md`) laid on the scenario's
//! steps, in blocks of a stated mean length (`model::bootstrap`). The returns are held to
//! the bound on a fundamental's move over the horizon that other price processes are held
//! to (`common::MAX_LOG_REACH`), with the series' volatility in place of the stated one.

use super::FileSource;
use super::common::{MAX_LOG_REACH, out_of_range, show};
use super::reader::{Doc, Tbl};
use super::simulation::Clock;
use crate::history::grid::{StepGrid, span_problem};
use crate::history::series::{PriceSeries, parse_series};
use crate::model::bootstrap::BlockBootstrap;

/// Keys of `[assets.bootstrap]`.
pub(crate) const KEYS: &[&str] = &["prices", "mean_block_steps"];

/// Reads `[assets.bootstrap]` of the asset table `t` for the steps of `clock`; every
/// problem is recorded in `doc`.
pub(super) fn read(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    clock: Clock,
    files: &dyn FileSource,
) -> Option<BlockBootstrap> {
    let step_seconds = clock.step_seconds;
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
                    None => out = resample(doc, &mut b, &series, file, (dt, clock.steps), block),
                },
            },
        }
    }
    doc.finish(b);
    out.filter(|_| block.is_some_and(|x| x >= 1.0))
}

/// The block bootstrap over the step returns of `series` laid on steps of `dt` seconds, or
/// `None` after reporting a series of fewer than 3 steps, or one whose returns could move
/// the price beyond [`MAX_LOG_REACH`] over the run's `steps` (`file` names it).
fn resample(
    doc: &mut Doc<'_>,
    b: &mut Tbl<'_, '_>,
    series: &PriceSeries,
    file: &str,
    (dt, steps): (f64, Option<u32>),
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
    let resampled = BlockBootstrap::new(&returns, block);
    // As for a diffusion (`asset`): 10 standard deviations of the sum of `steps` returns at
    // the series' volatility (a bad tick, 700 → 7e8 → 700, gives returns of ±13.8, and a
    // walk of 60 of them e^100 and more: a results file its readers refuse).
    let Some(n) = steps else {
        return Some(resampled);
    };
    let sd = resampled.volatility(1.0);
    let reach = 10.0 * sd * f64::from(n).sqrt();
    if reach > MAX_LOG_REACH {
        // The first largest return (a bad tick's jump, not the fall back), on the row that
        // sets the price at its end.
        let k = (1..returns.len()).fold(0, |k, i| {
            if returns[i].abs() > returns[k].abs() {
                i
            } else {
                k
            }
        });
        let sd = if sd >= 0.01 {
            format!("{sd:.3}")
        } else {
            format!("{sd:.2e}")
        };
        let row = series
            .time
            .partition_point(|&t| t <= grid.time[k + 1] as f64)
            .saturating_sub(1);
        doc.invalid(
            b,
            "prices",
            format!(
                "{file}:{}: price: the series' step returns have a standard deviation of {sd}, so over {n} steps of {dt} s the resampled price could move by a factor of e^{reach:.0} (10 standard deviations), beyond the e^{MAX_LOG_REACH} that prices can represent; the largest, ln({} / {}) = {:+.3}, ends on this row (a bad tick?); use fewer steps or a cleaner series",
                series.line[row],
                show(grid.price[k + 1]),
                show(grid.price[k]),
                returns[k]
            ),
        );
        return None;
    }
    Some(resampled)
}

#[cfg(test)]
mod tests {
    use crate::model::spec::Scenario;
    use crate::scenario::FileSource;

    /// The series 700, 7e8, 700 one minute apart (a bad tick), then `more` rows at 700.
    struct Tick {
        more: usize,
    }

    impl FileSource for Tick {
        fn read(&self, _: &str) -> Result<String, String> {
            let mut s = "time,price\n2021-01-01T00:00:00Z,700\n2021-01-01T00:01:00Z,7e8\n2021-01-01T00:02:00Z,700\n".to_string();
            for i in 0..self.more {
                s += &format!("{},700\n", 1_609_459_380 + 60 * i as i64);
            }
            Ok(s)
        }
    }

    fn parse(steps: u32, extra: &str, more: usize) -> Result<Scenario, String> {
        let text = format!(
            "[simulation]\nsteps = {steps}\n[[assets]]\nname = \"ETH\"\nprice = 1000.0\nvolatility = 0.8\ninnovations = \"bootstrap\"\n{extra}\n[assets.bootstrap]\nprices = \"p.csv\"\nmean_block_steps = 10\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n"
        );
        Scenario::parse(&text, "t.toml", &Tick { more }).map_err(|e| e.to_string())
    }

    #[test]
    fn resampled_returns_are_held_to_the_bound_on_a_price_s_move() {
        // ±13.8 a step: 10 standard deviations of one step stay within e^200, of 60 do not.
        assert!(parse(1, "", 0).is_ok());
        let e = parse(60, "", 0).unwrap_err();
        assert!(
            e.contains("assets[0].bootstrap.prices: p.csv:3: price: the series' step returns have a standard deviation of 13.816, so over 60 steps of 60 s the resampled price could move by a factor of e^1070 (10 standard deviations), beyond the e^200 that prices can represent; the largest, ln(700000000 / 700) = +13.816, ends on this row (a bad tick?)"),
            "{e}"
        );
        // The same tick in 10,000 rows: a standard deviation of 0.195 a step, e^15 over 60
        // steps, accepted; over 20,000 steps e^276, refused.
        assert!(parse(60, "", 9997).is_ok());
        let e = parse(20_000, "", 9997).unwrap_err();
        assert!(e.contains("p.csv:3: price:") && e.contains("e^276"), "{e}");
    }

    #[test]
    fn shocks_and_drift_count_with_the_resampled_returns() {
        // e^15 from the returns and two shocks of e^94 each: each within e^200, beyond it
        // together.
        let shocks = |r: &str| {
            format!("shocks = [{{ step = 1, return = {r} }}, {{ step = 2, return = {r} }}]")
        };
        assert!(parse(60, &shocks("1e40"), 9997).is_ok());
        let e = parse(60, &shocks("1e41"), 9997).unwrap_err();
        assert!(
            e.contains("assets[0]: over 60 steps of 60 s")
                && e.contains("e^204 (drift, the resampled returns and shocks)")
                && e.contains("lower the drift or shocks"),
            "{e}"
        );
    }
}
