//! A population's `liquidation_engine` table: the venue's liquidation throughput per step,
//! the delay before a triggered position's order reaches the book, and the backstop
//! liquidator. Validation only; the queue is in `engine::queue`.

use super::common::{MAX_USD, number};
use super::reader::{Doc, Tbl};
use crate::model::spec::{Backstop, BackstopPrice, LiquidationEngine};

/// Keys of a population's `liquidation_engine` table.
pub(super) const ENGINE_KEYS: &[&str] = &["capacity_usd_per_step", "delay_steps", "backstop"];
/// Keys of `liquidation_engine.backstop`.
pub(super) const BACKSTOP_KEYS: &[&str] = &["margin_fraction", "capital_usd", "price"];
/// Longest delay, steps (a year of one-second steps).
const MAX_DELAY_STEPS: u64 = 31_536_000;

/// Reads `liquidation_engine` of population table `t`; `None` when absent or invalid (the
/// issues are recorded).
pub(super) fn liquidation_engine(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
) -> Option<LiquidationEngine> {
    let mut e = doc.table(t, "liquidation_engine", ENGINE_KEYS)?;
    let n0 = doc.issues.len();
    let capacity = number(
        doc,
        &mut e,
        "capacity_usd_per_step",
        Some(f64::INFINITY),
        |x| x > 0.0 && (x <= MAX_USD || x == f64::INFINITY),
        &format!("in (0, {MAX_USD:e}] USD per step"),
    );
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
    (doc.issues.len() == n0).then_some(LiquidationEngine {
        capacity_usd_per_step: capacity,
        delay_steps: delay as u32,
        backstop,
    })
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
