//! A population's `liquidation_engine` table: the venue's liquidation throughput per step
//! (or per second, converted with the step length), the delay before a triggered position's
//! order reaches the book, and the backstop liquidator. Validation only; the queue is in
//! `engine::queue`.

use super::common::{MAX_USD, number};
use super::reader::{Doc, Tbl};
use crate::model::spec::{Backstop, BackstopPrice, LiquidationEngine};

/// Keys of a population's `liquidation_engine` table.
pub(super) const ENGINE_KEYS: &[&str] = &[
    "capacity_usd_per_step",
    "capacity_usd_per_second",
    "delay_steps",
    "backstop",
];
/// Keys of `liquidation_engine.backstop`.
pub(super) const BACKSTOP_KEYS: &[&str] = &["margin_fraction", "capital_usd", "price"];
/// Longest delay, steps (a year of one-second steps).
const MAX_DELAY_STEPS: u64 = 31_536_000;

/// Reads `liquidation_engine` of population table `t`; `None` when absent or invalid (the
/// issues are recorded). `step_seconds`: the step length, when valid (a per-second capacity
/// is that many times larger per step; without it the `[simulation]` issue says why).
pub(super) fn liquidation_engine(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    step_seconds: Option<f64>,
) -> Option<LiquidationEngine> {
    let mut e = doc.table(t, "liquidation_engine", ENGINE_KEYS)?;
    let n0 = doc.issues.len();
    let capacity = capacity(doc, &mut e, step_seconds);
    let delay = doc.u64(&mut e, "delay_steps").unwrap_or(0);
    if delay > MAX_DELAY_STEPS {
        doc.invalid(
            &mut e,
            "delay_steps",
            format!("must be at most {MAX_DELAY_STEPS} steps, found {delay}"),
        );
    }
    let backstop = doc.table(&mut e, "backstop", BACKSTOP_KEYS).map(|mut b| {
        let margin_fraction = number(
            doc,
            &mut b,
            "margin_fraction",
            None,
            |x| x > 0.0 && x <= 1.0,
            "a fraction of the maintenance requirement in (0, 1]",
        );
        let capital_usd = number(
            doc,
            &mut b,
            "capital_usd",
            None,
            |x| (0.0..=MAX_USD).contains(&x),
            &format!("in [0, {MAX_USD:e}] USD"),
        );
        let price = match doc.choice(&mut b, "price", &["bankruptcy", "mark"]) {
            Some("mark") => BackstopPrice::Mark,
            _ => BackstopPrice::Bankruptcy,
        };
        doc.finish(b);
        Backstop {
            margin_fraction,
            capital_usd,
            price,
        }
    });
    doc.finish(e);
    (doc.issues.len() == n0 && !capacity.is_nan()).then_some(LiquidationEngine {
        capacity_usd_per_step: capacity,
        delay_steps: delay as u32,
        backstop,
    })
}

/// The capacity per step: `capacity_usd_per_step`, or `capacity_usd_per_second` times the
/// step length (at most one of the two); unlimited when neither is given; NaN when invalid
/// (recorded) or when the step length is not known.
fn capacity(doc: &mut Doc<'_>, e: &mut Tbl<'_, '_>, step_seconds: Option<f64>) -> f64 {
    let in_range = |x: f64| x > 0.0 && (x <= MAX_USD || x == f64::INFINITY);
    if !doc.has(e, "capacity_usd_per_second") {
        return number(
            doc,
            e,
            "capacity_usd_per_step",
            Some(f64::INFINITY),
            in_range,
            &format!("in (0, {MAX_USD:e}] USD per step"),
        );
    }
    if doc.has(e, "capacity_usd_per_step") {
        doc.invalid(
            e,
            "capacity_usd_per_second",
            "give one of `capacity_usd_per_step` and `capacity_usd_per_second`, not both"
                .to_string(),
        );
        return f64::NAN;
    }
    let per_second = number(
        doc,
        e,
        "capacity_usd_per_second",
        None,
        in_range,
        &format!("in (0, {MAX_USD:e}] USD per second"),
    );
    let Some(dt) = step_seconds.filter(|_| !per_second.is_nan()) else {
        return f64::NAN;
    };
    let per_step = per_second * dt;
    if per_step > MAX_USD {
        doc.invalid(
            e,
            "capacity_usd_per_second",
            format!(
                "times `step_seconds` ({dt}) must be at most {MAX_USD:e} USD per step, found {per_step:e}"
            ),
        );
        return f64::NAN;
    }
    per_step
}

#[cfg(test)]
mod tests {
    use crate::model::spec::{BackstopPrice, Scenario};
    use crate::scenario::NoFiles;

    fn parse(table: &str) -> Result<Scenario, String> {
        let text = format!(
            "[simulation]\npaths = 1\nsteps = 10\n\n\
             [[assets]]\nname = \"A\"\nprice = 100.0\nvolatility = 0.5\n\n\
             [assets.book]\nprofile = \"flat\"\nspread_bp = 1\nlevel_spacing_bp = 1\n\
             levels = 10\ndepth_usd = 1e6\n\n\
             [[populations]]\nasset = \"A\"\ncount = 10\nopen_interest_usd = 1e4\n\
             long_share = 0.5\nmaintenance_margin = 0.005\n\
             size = {{ distribution = \"lognormal\", sigma = 1.0 }}\n\
             leverage = {{ values = [10.0], weights = [1.0] }}\n{table}\n"
        );
        Scenario::parse(&text, "t.toml", &NoFiles).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key() {
        let s = parse("liquidation_engine = { delay_steps = 2 }").expect("valid");
        let e = s.populations[0].liquidation_engine.expect("an engine");
        assert_eq!(e.capacity_usd_per_step, f64::INFINITY);
        assert_eq!(e.delay_steps, 2);
        assert!(e.backstop.is_none());
        let s = parse(
            "liquidation_engine = { capacity_usd_per_step = 5e5, backstop = { margin_fraction = 0.6667, capital_usd = 1e6, price = \"mark\" } }",
        )
        .expect("valid");
        let e = s.populations[0].liquidation_engine.expect("an engine");
        assert_eq!(e.capacity_usd_per_step, 5e5);
        let b = e.backstop.expect("a backstop");
        assert_eq!(
            (b.margin_fraction, b.capital_usd, b.price),
            (0.6667, 1e6, BackstopPrice::Mark)
        );
    }

    /// A per-second capacity is the per-step one times the step length (60 s by default),
    /// exactly one of the two keys may be given, and a product above the limit is refused.
    #[test]
    fn a_capacity_per_second_is_converted_with_the_step_length() {
        let s = parse("liquidation_engine = { capacity_usd_per_second = 2.5e4 }").expect("valid");
        let e = s.populations[0].liquidation_engine.expect("an engine");
        assert_eq!(e.capacity_usd_per_step, 2.5e4 * 60.0);
        let msg = parse(
            "liquidation_engine = { capacity_usd_per_step = 1e6, capacity_usd_per_second = 1e4 }",
        )
        .expect_err("both");
        assert!(msg.contains("populations[0].liquidation_engine.capacity_usd_per_second"));
        assert!(msg.contains("not both"), "{msg}");
        let msg =
            parse("liquidation_engine = { capacity_usd_per_second = 1e14 }").expect_err("big");
        assert!(msg.contains("times `step_seconds` (60)"), "{msg}");
        let msg = parse("liquidation_engine = { capacity_usd_per_second = -1 }").expect_err("neg");
        assert!(msg.contains("USD per second, found -1"), "{msg}");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let msg = parse(
            "liquidation_engine = { capacity_usd_per_step = 0, delay_steps = -1, delay_step = 3, backstop = { margin_fraction = 1.5, price = \"book\" } }",
        )
        .expect_err("invalid");
        for want in [
            "populations[0].liquidation_engine.capacity_usd_per_step",
            "populations[0].liquidation_engine.delay_steps",
            "populations[0].liquidation_engine.delay_step",
            "did you mean `delay_steps`",
            "populations[0].liquidation_engine.backstop.margin_fraction",
            "populations[0].liquidation_engine.backstop.capital_usd",
            "populations[0].liquidation_engine.backstop.price",
        ] {
            assert!(msg.contains(want), "{want} missing from:\n{msg}");
        }
    }
}
