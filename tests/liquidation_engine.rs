//! Liquidation engines with capacity, delay and a backstop (issue 23, item 3), through the
//! library: deterministic scenarios (volatility 0, one shock) where the closed forms hold —
//! a queue of Q notional at capacity C per step clears in ⌈Q/C⌉ steps, a delay of k steps
//! moves the first fill by exactly k, a backstop at margin fraction f takes exactly the
//! positions below f until its capital runs out — and random scenarios in which an engine
//! without limits changes nothing.

use std::collections::BTreeMap;

use cascadesim::engine::{
    AssetPathMetrics, AssetStep, Market, Observer, PathSummary, Plain, PopulationPathMetrics,
    simulate_full,
};
use cascadesim::model::spec::Scenario;
use proptest::prelude::*;

#[path = "common/files.rs"]
mod files;
use files::Files;

#[path = "common/random_scenario.rs"]
mod random_scenario;

#[path = "common/rounding.rs"]
mod rounding;
use rounding::same_but_settlement_rounding;

/// One asset at 100, volatility 0, one-minute steps, a shock of `shock` at step 2, a deep
/// flat book without permanent impact; one population from `positions` with maintenance
/// 0.5%, no fee, a fund of 1,000 USD and the engine table `engine`.
fn scenario(positions: &str, steps: u32, shock: f64, engine: &str) -> Scenario {
    shocked(
        positions,
        steps,
        &format!("{{ step = 2, return = {shock} }}"),
        engine,
    )
}

/// [`scenario`] with the shocks `shocks` (the array's entries).
fn shocked(positions: &str, steps: u32, shocks: &str, engine: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
paths = 1
steps = {steps}
step_seconds = 60
seed = 1
[[assets]]
name = "X"
price = 100.0
volatility = 0.0
shocks = [{shocks}]
[assets.book]
profile = "flat"
spread_bp = 1
level_spacing_bp = 1
levels = 200
depth_usd = 1e9
permanent_impact = 0.0
[[populations]]
asset = "X"
maintenance_margin = 0.005
liquidation_fee = 0.0
insurance_fund_usd = 1000
positions_file = "positions.csv"
{engine}
"#
    );
    let files = Files(BTreeMap::from([("positions.csv", positions.to_string())]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

/// Records the steps with liquidations on the book.
#[derive(Default)]
struct Fills(Vec<(u32, f64)>);

impl Observer for Fills {
    const QUIET_STEPS: bool = false;

    fn on_step(&mut self, step: u32, assets: &[AssetStep]) {
        if assets[0].liquidated_notional > 0.0 {
            self.0.push((step, assets[0].liquidated_notional));
        }
    }
}

fn run(s: &Scenario) -> (PathSummary, PopulationPathMetrics, Vec<u32>) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let mut pop = vec![PopulationPathMetrics::default(); 1];
    let mut fills = Fills::default();
    let sum = simulate_full(&market, 0, &mut per, &mut pop, &mut fills, &mut Plain);
    (sum, pop[0], fills.0.iter().map(|f| f.0).collect())
}

/// Ten 10× longs of one coin entered at 100 (liquidation price ≈ 90.45): a fall to 90 at
/// step 2 triggers all ten, Q ≈ 900 USD at the mark.
fn ten_longs() -> String {
    let mut s = String::from("side,size,entry_price,leverage\n");
    for _ in 0..10 {
        s.push_str("long,1,100,10\n");
    }
    s
}

/// Q ≈ 900 USD at capacity C clears in ⌈Q/C⌉ consecutive steps from the shock (the book is
/// deep: the mark stays within 0.01% of 90, far from any ratio's integer edge).
#[test]
fn a_queue_clears_in_the_ceiling_of_q_over_c_steps() {
    for (c, steps) in [(250.0, 4u32), (200.0, 5), (460.0, 2), (1e3, 1), (95.0, 10)] {
        let e = format!("liquidation_engine = {{ capacity_usd_per_step = {c} }}");
        let (sum, pop, fills) = run(&scenario(&ten_longs(), 30, -0.1, &e));
        assert_eq!(fills, (2..2 + steps).collect::<Vec<_>>(), "capacity {c}");
        assert!(
            (sum.liquidated_notional - 900.0).abs() < 1.0,
            "{}",
            sum.liquidated_notional
        );
        // Positions the capacity lets through in the round that finds them never queue.
        assert_eq!(pop.queue_cleared, if steps == 1 { 0 } else { 10 });
        assert_eq!(pop.queue_uncleared_notional, 0.0);
        assert_eq!(pop.queue_wait_max_steps, steps - 1);
        assert_eq!(
            pop.queue_peak_length,
            if steps == 1 {
                0
            } else {
                10 - (c / 90.0) as u32
            }
        );
    }
    // Without the table all ten go in the shock's step.
    let (_, _, fills) = run(&scenario(&ten_longs(), 30, -0.1, ""));
    assert_eq!(fills, vec![2]);
}

/// A capacity of c USD per second on one-minute steps is 60·c per step: 4 USD/s is 240 USD a
/// step, and Q ≈ 900 clears in ⌈900/240⌉ = 4 steps, with the numbers of
/// `capacity_usd_per_step = 240` to the bit.
#[test]
fn a_capacity_per_second_clears_in_the_ceiling_of_q_over_c_times_the_step() {
    let per_second = run(&scenario(
        &ten_longs(),
        30,
        -0.1,
        "liquidation_engine = { capacity_usd_per_second = 4 }",
    ));
    assert_eq!(per_second.2, vec![2, 3, 4, 5]);
    let per_step = run(&scenario(
        &ten_longs(),
        30,
        -0.1,
        "liquidation_engine = { capacity_usd_per_step = 240 }",
    ));
    assert_eq!(format!("{per_second:?}"), format!("{per_step:?}"));
}

/// A delay of k steps moves the first fill from the shock's step by exactly k, and a run
/// that ends before the delay leaves the whole queue uncleared.
#[test]
fn a_delay_of_k_steps_moves_the_first_fill_by_k() {
    for k in [0u32, 1, 3, 7] {
        let e = format!("liquidation_engine = {{ delay_steps = {k} }}");
        let (sum, pop, fills) = run(&scenario(&ten_longs(), 30, -0.1, &e));
        assert_eq!(fills, vec![2 + k], "delay {k}");
        assert_eq!(sum.liquidation_count, 10);
        assert_eq!(pop.queue_wait_max_steps, k);
        assert_eq!(pop.queue_wait_mean_steps, f64::from(k));
    }
    let e = "liquidation_engine = { delay_steps = 5, capacity_usd_per_step = 250 }";
    let (_, _, fills) = run(&scenario(&ten_longs(), 30, -0.1, e));
    assert_eq!(fills, vec![7, 8, 9, 10]);
    let (sum, pop, fills) = run(&scenario(&ten_longs(), 6, -0.1, e));
    assert!(fills.is_empty());
    assert_eq!(sum.liquidation_count, 0);
    assert!((pop.queue_uncleared_notional - 900.0).abs() < 1e-6);
    assert_eq!(pop.queue_peak_length, 10);
}

/// Five 1-coin longs entered at 100 whose equity at the mark 91 is 0.1, 0.3, 0.5, 0.7 and
/// 0.9 times their maintenance requirement (0.005 · 91 = 0.455 USD): margins
/// `9 + r · 0.455`.
fn five_longs() -> String {
    let mut s = String::from("side,size,entry_price,leverage\n");
    for r in [0.1, 0.3, 0.5, 0.7, 0.9] {
        s.push_str(&format!("long,1,100,{}\n", 100.0 / (9.0 + r * 0.455)));
    }
    s
}

/// A backstop at margin fraction 0.6 takes exactly the three positions below it, at their
/// bankruptcy prices (`100 − margin`); the other two walk the book. With capital for two of
/// them (182 USD, each ≈ 90.9), the third goes to the book.
#[test]
fn a_backstop_takes_exactly_the_positions_below_its_fraction_while_capital_lasts() {
    let bankruptcy = |r: f64| 100.0 - (9.0 + r * 0.455);
    let shock = 91.0 / 100.0 - 1.0;
    let e = "liquidation_engine = { backstop = { margin_fraction = 0.6, capital_usd = 1e6 } }";
    let (sum, pop, fills) = run(&scenario(&five_longs(), 10, shock, e));
    assert_eq!(pop.backstop_count, 3);
    assert_eq!(sum.liquidation_count, 2);
    assert_eq!(fills, vec![2]);
    let want: f64 = [0.1, 0.3, 0.5].map(bankruptcy).iter().sum();
    assert!(
        (pop.backstop_notional - want).abs() < 1e-9,
        "{}",
        pop.backstop_notional
    );
    // Taken at their bankruptcy prices (below the mark 91): the fund pays nothing.
    assert!(
        sum.insurance_fund_draw < 1e-9,
        "{}",
        sum.insurance_fund_draw
    );
    assert!(pop.backstop_pnl > 0.0, "{}", pop.backstop_pnl);

    let e = "liquidation_engine = { backstop = { margin_fraction = 0.6, capital_usd = 182 } }";
    let (sum, pop, _) = run(&scenario(&five_longs(), 10, shock, e));
    assert_eq!(pop.backstop_count, 2);
    assert_eq!(sum.liquidation_count, 3);
    let want: f64 = [0.1, 0.3].map(bankruptcy).iter().sum();
    assert!((pop.backstop_notional - want).abs() < 1e-9);

    // At the mark instead: notional 91 each, and the positions keep their equity.
    let e = "liquidation_engine = { backstop = { margin_fraction = 0.6, capital_usd = 1e6, price = \"mark\" } }";
    let (_, pop, _) = run(&scenario(&five_longs(), 10, shock, e));
    assert_eq!(pop.backstop_count, 3);
    assert!(
        (pop.backstop_notional - 3.0 * 91.0).abs() < 1e-6,
        "{}",
        pop.backstop_notional
    );
}

/// A position that recovers while queued leaves the queue: a fall to 90 at step 2 and a
/// rise back to 99 at step 4 with a delay of 5 steps liquidates nothing.
#[test]
fn a_position_that_recovers_while_queued_leaves_the_queue() {
    let e = "liquidation_engine = { delay_steps = 5 }";
    let shocks = "{ step = 2, return = -0.1 }, { step = 4, return = 0.1 }";
    let (sum, pop, fills) = run(&shocked(&ten_longs(), 20, shocks, e));
    assert!(fills.is_empty());
    assert_eq!(sum.liquidation_count, 0);
    assert_eq!(pop.queue_peak_length, 10);
    assert_eq!(pop.queue_cleared, 0);
    assert_eq!(pop.queue_uncleared_notional, 0.0);
}

/// Every random scenario's populations given an engine that limits nothing
/// (`capacity_usd_per_step` unset or 1e15, `delay_steps = 0`, no backstop): the same
/// numbers to the bit as without the table.
fn with_engine(text: &str, table: &str) -> String {
    text.replace(
        "auto_deleverage = true\n",
        &format!("auto_deleverage = true\n{table}\n"),
    )
    .replace(
        "auto_deleverage = false\n",
        &format!("auto_deleverage = false\n{table}\n"),
    )
}

/// A random scenario's text, parsed.
fn parse(t: &str) -> Result<Scenario, TestCaseError> {
    Scenario::parse(t, "engine.toml", &cascadesim::scenario::NoFiles)
        .map_err(|e| TestCaseError::fail(format!("{e}\n{t}")))
}

fn everything(s: &Scenario) -> String {
    everything_but(s, |_| Ok(())).expect("nothing to check")
}

/// Everything three paths of `s` give, as text, each population's figures first passed
/// through `adjust` (which may also check them).
fn everything_but(
    s: &Scenario,
    adjust: impl Fn(&mut PopulationPathMetrics) -> Result<(), TestCaseError>,
) -> Result<String, TestCaseError> {
    let market = Market::new(s);
    let mut out = String::new();
    for path in 0..3 {
        let mut per = vec![AssetPathMetrics::default(); market.assets.len()];
        let mut pop = vec![PopulationPathMetrics::default(); market.populations.len()];
        let mut fills = Fills::default();
        let sum = simulate_full(&market, path, &mut per, &mut pop, &mut fills, &mut Plain);
        for p in &mut pop {
            adjust(p)?;
        }
        out += &format!("{sum:?}\n{per:?}\n{pop:?}\n{:?}\n", fills.0);
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn an_engine_without_limits_changes_nothing(
        s in random_scenario::scenario(random_scenario::Knobs { extreme: false, wild: false }, 1..=2),
        finite in any::<bool>(),
    ) {
        let text = s.toml();
        let table = if finite {
            "liquidation_engine = { capacity_usd_per_step = 1e15, delay_steps = 0 }"
        } else {
            "liquidation_engine = { delay_steps = 0 }"
        };
        let with = with_engine(&text, table);
        prop_assert!(with.contains("liquidation_engine"));
        let (plain, engine) = (parse(&text)?, parse(&with)?);
        prop_assert_eq!(everything(&plain), everything(&engine));
    }
}

/// [`everything`] but the queue's own count (`queue_cleared`: every position a queue
/// releases leaves it), asserting that the backstop took nothing over.
fn everything_but_the_queue(s: &Scenario) -> Result<String, TestCaseError> {
    everything_but(s, |p| {
        prop_assert_eq!((p.backstop_count, p.backstop_notional), (0, 0.0));
        p.queue_cleared = 0;
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A backstop without capital sends every triggered position through the queue, which
    /// without delay or capacity releases them all in the round that finds them, in the
    /// order the venue would close them and with the venue's sums: the same numbers to the
    /// bit, with or without a partial-liquidation rule, except where the venue settled a run
    /// in closed form: its fees, fund draw and bad debt, the ADL after them, and the floats
    /// downstream of a remainder ADL sized, within that rounding (the same positions and
    /// counts: `same_but_settlement_rounding`). (A partial rule once made the queue
    /// close fewer positions: a backstop without capital took over insolvent remainders
    /// whose bankruptcy price was negative, at a negative notional; and the queue added a
    /// round's closes in another order than the venue, so the fills differed in the last
    /// bits, and the ADL counts after them.)
    #[test]
    fn the_queue_without_limits_closes_what_the_venue_closes(
        s in random_scenario::scenario(random_scenario::Knobs { extreme: false, wild: false }, 1..=2),
    ) {
        let text = s.toml();
        let table = "liquidation_engine = { backstop = { margin_fraction = 1.0, capital_usd = 0 } }";
        let with = with_engine(&text, table);
        prop_assert!(with.contains("liquidation_engine"));
        let (plain, engine) = (parse(&text)?, parse(&with)?);
        let (a, b) = (everything(&plain), everything_but_the_queue(&engine)?);
        prop_assert!(same_but_settlement_rounding(&a, &b), "{a}\n{b}");
    }
}
