//! Funding paid along the path (issue 23, item 1), through the library: deterministic
//! scenarios (volatility 0, no shocks) in which a position's margin moves only by funding, so
//! the payment that liquidates it follows from arithmetic.

use std::collections::BTreeMap;

use cascadesim::engine::{
    AssetPathMetrics, Market, NoObserver, Plain, PopulationPathMetrics, simulate_full,
};
use cascadesim::model::spec::Scenario;

#[path = "common/files.rs"]
mod files;
use files::Files;

const BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,500\nbid,20,500\nbid,30,1000\n\
ask,10,500\nask,20,500\nask,30,1000\n";

/// One asset at 100 with volatility 0 and hourly steps, one population from `positions` with
/// maintenance 0.5% and the `funding` table `funding`.
fn scenario(positions: &str, steps: u32, funding: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
paths = 1
steps = {steps}
step_seconds = 3600
seed = 1
[simulation.cascade]
endogenous_move = 0.001
[[assets]]
name = "X"
price = 100.0
volatility = 0.0
[assets.book]
profile = "file"
file = "book.csv"
permanent_impact = 0.0
[[populations]]
asset = "X"
maintenance_margin = 0.005
liquidation_fee = 0.0
insurance_fund_usd = 1000
positions_file = "positions.csv"
{funding}
"#
    );
    let files = Files(BTreeMap::from([
        ("book.csv", BOOK.to_string()),
        ("positions.csv", positions.to_string()),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario) -> (u32, PopulationPathMetrics) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let mut pop = vec![PopulationPathMetrics::default(); 1];
    let sum = simulate_full(&market, 0, &mut per, &mut pop, &mut NoObserver, &mut Plain);
    (sum.liquidation_count, pop[0])
}

const LONG_10X: &str = "side,size,entry_price,leverage\nlong,1,100.05,10\n";

/// A 10× long entered at 100.05 (margin 10.005 USD) with 0.5% maintenance (0.5 USD at the
/// flat mark 100) paying 0.1%/8 h (0.1 USD per payment at the mark): after `k` payments its
/// equity is `10.005 − 0.05 − 0.1·k`, at or below maintenance from `k = 94.55`, so at payment
/// 95. (Entered at the mark, it would reach maintenance exactly at `k = 95`, where rounding
/// decides; the 0.05 keeps the prediction 0.45 payments clear of that edge.) Payments fall every 8 hourly steps, payment `k` at
/// the start of step `8k`: payment 95 at step 760. A run of 760 steps (0..=759) has paid 94
/// and liquidates nothing; one of 761 steps liquidates the long in step 760.
#[test]
fn a_ten_x_long_is_liquidated_by_the_ninety_fifth_payment() {
    let funding = "funding = { rate = 0.001 }";
    let (count, pop) = run(&scenario(LONG_10X, 760, funding));
    assert_eq!(count, 0, "liquidated before payment 95");
    assert!(
        (pop.funding_paid - 9.4).abs() < 1e-9,
        "{}",
        pop.funding_paid
    );
    let (count, pop) = run(&scenario(LONG_10X, 761, funding));
    assert_eq!(count, 1, "not liquidated by payment 95");
    assert!(
        (pop.funding_paid - 9.5).abs() < 1e-9,
        "{}",
        pop.funding_paid
    );
    // Once closed, it pays no more.
    let (count, pop) = run(&scenario(LONG_10X, 2000, funding));
    assert_eq!(count, 1);
    assert!(
        (pop.funding_paid - 9.5).abs() < 1e-9,
        "{}",
        pop.funding_paid
    );
    assert_eq!(pop.funding_received, 0.0);
}

/// The interval and the schedule: with 4-hour payments the same long goes at payment 95 at
/// step 380; a schedule that starts paying at step 400 delays it by exactly 400 steps.
#[test]
fn interval_and_schedule_move_the_liquidation_step() {
    let four_h = "funding = { rate = 0.001, interval_s = 14400 }";
    assert_eq!(run(&scenario(LONG_10X, 380, four_h)).0, 0);
    assert_eq!(run(&scenario(LONG_10X, 381, four_h)).0, 1);
    let later = "funding = { interval_s = 14400, schedule = [{ from_step = 0, rate = 0.0 }, { from_step = 400, rate = 0.001 }] }";
    // Payments at steps 400, 404, ...: payment 95 of the paying ones at step 400 + 4·94.
    assert_eq!(run(&scenario(LONG_10X, 776, later)).0, 0);
    assert_eq!(run(&scenario(LONG_10X, 777, later)).0, 1);
}

/// Shorts mirror longs: a negative rate makes shorts pay. A 10× short entered at 99.95
/// (equity `9.945 − 0.1·k` at 100) with 0.5% maintenance pays 0.1 per payment and goes at
/// payment 95 as the long does;
/// the long beside it receives what it pays per coin.
#[test]
fn shorts_pay_a_negative_rate_and_longs_receive_it() {
    let both = "side,size,entry_price,leverage\nshort,1,99.95,10\nlong,2,100,5\n";
    let funding = "funding = { rate = -0.001 }";
    let (count, pop) = run(&scenario(both, 760, funding));
    assert_eq!(count, 0);
    assert!(
        (pop.funding_paid - 9.4).abs() < 1e-9,
        "{}",
        pop.funding_paid
    );
    assert!((pop.funding_received - 18.8).abs() < 1e-9);
    assert_eq!(run(&scenario(both, 761, funding)).0, 1);
}

/// Receiving funding moves a long's liquidation price away: the long that positive funding
/// liquidates at payment 95 survives a run of the same length when the rate is negative.
#[test]
fn receiving_funding_keeps_a_position_alive() {
    let (count, pop) = run(&scenario(LONG_10X, 2000, "funding = { rate = -0.001 }"));
    assert_eq!(count, 0);
    assert_eq!(pop.funding_paid, 0.0);
    assert!(
        (pop.funding_received - 24.9).abs() < 1e-9,
        "{}",
        pop.funding_received
    );
}

/// The premium form at a zero premium (flat mark, no liquidations until the last): the rate
/// is the interest, 0.01% a payment (0.01 USD), so the long of the first test reaches
/// maintenance after `(9.955 − 0.5)/0.01 = 945.5` payments: payment 946, at step 8·946.
#[test]
fn the_premium_form_pays_the_interest_rate_at_zero_premium() {
    let funding = "funding = { premium = { interest = 0.0001 } }";
    assert_eq!(run(&scenario(LONG_10X, 8 * 946, funding)).0, 0);
    let (count, pop) = run(&scenario(LONG_10X, 8 * 946 + 1, funding));
    assert_eq!(count, 1);
    assert!(
        (pop.funding_paid - 9.46).abs() < 1e-9,
        "{}",
        pop.funding_paid
    );
}
