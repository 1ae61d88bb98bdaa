//! Known-answer tests of the engine through the library: deterministic scenarios (volatility
//! 0 plus a shock) whose every number can be computed by hand.

use std::collections::BTreeMap;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, PathSummary, simulate_path};
use cascadesim::model::spec::Scenario;

#[path = "common/files.rs"]
mod files;
use files::Files;

#[path = "common/rounding.rs"]
mod rounding;
use rounding::same_but_settlement_rounding;

const BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,500\nbid,20,500\nbid,30,1000\n\
ask,10,500\nask,20,500\nask,30,1000\n";

fn scenario(positions: &str, shock: f64, fund: f64) -> Scenario {
    build(BOOK, positions, &[(1, shock)], fund, "")
}

/// One asset at 100 with volatility 0, the given book and shocks (step, return), and one
/// population from `positions` with extra keys `venue` (partial liquidation, ADL).
fn build(book: &str, positions: &str, shocks: &[(u32, f64)], fund: f64, venue: &str) -> Scenario {
    build_full(book, positions, shocks, fund, 4, "", "", venue)
}

/// [`scenario`] with `steps` steps, TOML added to `[simulation]` (sub-tables allowed) and to
/// `[assets.book]`.
fn scenario_with(
    positions: &str,
    shock: f64,
    fund: f64,
    steps: u32,
    sim: &str,
    book: &str,
) -> Scenario {
    build_full(BOOK, positions, &[(1, shock)], fund, steps, sim, book, "")
}

/// The scenario every builder above makes: `book_csv` as the book file, `sim` added to
/// `[simulation]`, `book_toml` to `[assets.book]` and `venue` to the population.
#[allow(clippy::too_many_arguments)]
fn build_full(
    book_csv: &str,
    positions: &str,
    shocks: &[(u32, f64)],
    fund: f64,
    steps: u32,
    sim: &str,
    book_toml: &str,
    venue: &str,
) -> Scenario {
    let shocks: Vec<String> = shocks
        .iter()
        .map(|(s, r)| format!("{{ step = {s}, return = {r} }}"))
        .collect();
    let text = format!(
        r#"
[simulation]
paths = 1
steps = {steps}
seed = 1
max_rounds = 10
{sim}
[simulation.cascade]
endogenous_move = 0.001
[[assets]]
name = "X"
price = 100.0
volatility = 0.0
shocks = [{}]
[assets.book]
profile = "file"
file = "book.csv"
permanent_impact = 0.0
refill_half_life_s = 60
{book_toml}
[[populations]]
asset = "X"
maintenance_margin = 0.004
liquidation_fee = 0.005
insurance_fund_usd = {fund}
positions_file = "positions.csv"
{venue}
"#,
        shocks.join(", ")
    );
    let files = Files(BTreeMap::from([
        ("book.csv", book_csv.to_string()),
        ("positions.csv", positions.to_string()),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

fn one_path(s: &Scenario) -> (PathSummary, AssetPathMetrics) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let summary = simulate_path(&market, 0, &mut per, &mut NoObserver);
    (summary, per[0].clone())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn single_long_liquidation_by_hand() {
    // 10 coins long at 100 with 10x: margin 100, liquidation price 100·0.9/0.996 = 90.36.
    // A −10% shock puts the fundamental at 90: triggered. The 10 coins sell into bids of
    // 5 coins at 10 bp and 5 coins at 20 bp below 90 (sizes are $500 at the start price 100).
    let s = scenario(
        "side,size,entry_price,leverage\nlong,10,100,10\n",
        -0.10,
        0.0,
    );
    let (sum, per) = one_path(&s);
    let f = 90.0;
    let vwap = f * ((-0.001f64).exp() + (-0.002f64).exp()) / 2.0;
    assert_eq!(sum.liquidation_count, 1);
    assert!(
        close(sum.liquidated_notional, 10.0 * vwap),
        "{}",
        sum.liquidated_notional
    );
    assert!(close(sum.long_liquidated_notional, sum.liquidated_notional));
    // Equity = 100 + 10·(vwap − 100) < 0: no fee, no fund, all bad debt.
    let equity = 100.0 + 10.0 * (vwap - 100.0);
    assert!(equity < 0.0);
    assert!(
        close(sum.bad_debt, -equity),
        "{} vs {}",
        sum.bad_debt,
        -equity
    );
    assert_eq!(sum.insurance_fund_draw, 0.0);
    // The hole is exactly the first two levels: the mid sits at the third level's
    // displacement from the first, 20 bp − 10 bp.
    let mark = f * (-0.002f64).exp();
    assert!(
        close(per.max_drawdown, 1.0 - mark / 100.0),
        "{}",
        per.max_drawdown
    );
    assert!(close(per.exogenous_drawdown, 0.10));
    assert!(close(sum.amplification, 1.0 - mark / 100.0 - 0.10));
    // Slippage against the pre-trade mid (the fundamental, 90).
    assert!(close(sum.slippage_cost, 10.0 * (f - vwap)));
    assert_eq!(sum.cascade_rounds, 1);
    assert!(
        sum.cascade,
        "0.18% endogenous fall exceeds the 0.1% definition"
    );
}

#[test]
fn insurance_fund_pays_before_bad_debt() {
    let s = scenario(
        "side,size,entry_price,leverage\nlong,10,100,10\n",
        -0.10,
        1.0,
    );
    let (sum, _) = one_path(&s);
    let vwap = 90.0 * ((-0.001f64).exp() + (-0.002f64).exp()) / 2.0;
    let shortfall = -(100.0 + 10.0 * (vwap - 100.0));
    assert!(close(sum.insurance_fund_draw, 1.0));
    assert!(close(sum.bad_debt, shortfall - 1.0));
}

#[test]
fn short_squeeze_mirrors_the_long_case() {
    // 10 coins short at 100 with 10x: liquidation price 100·1.1/1.004 = 109.56; a +12% shock
    // to 112 triggers it; the buy lifts 5 coins at 10 bp and 5 at 20 bp above 112.
    let s = scenario(
        "side,size,entry_price,leverage\nshort,10,100,10\n",
        0.12,
        0.0,
    );
    let (sum, per) = one_path(&s);
    let f = 112.0;
    let vwap = f * (0.001f64.exp() + 0.002f64.exp()) / 2.0;
    assert_eq!(sum.liquidation_count, 1);
    assert!(close(sum.short_liquidated_notional, 10.0 * vwap));
    assert!(close(sum.bad_debt, -(100.0 + 10.0 * (100.0 - vwap))));
    assert!(close(per.max_drawup, f * 0.002f64.exp() / 100.0 - 1.0));
    assert!(close(per.exogenous_drawup, 0.12));
    assert!(sum.cascade);
}

#[test]
fn positions_out_of_reach_are_untouched() {
    // 2x long: liquidation price ≈ 50.2; a −10% shock does nothing.
    let s = scenario(
        "side,size,entry_price,leverage\nlong,10,100,2\n",
        -0.10,
        0.0,
    );
    let (sum, per) = one_path(&s);
    assert_eq!(sum.liquidation_count, 0);
    assert_eq!(sum.liquidated_notional, 0.0);
    assert!(close(per.max_drawdown, per.exogenous_drawdown));
    assert!(!sum.cascade);
}

#[test]
fn a_cascade_needs_the_chain_reaction() {
    // Three longs with liquidation prices 96.4, 96.2 and 96.1. A −3.65% shock (to 96.35)
    // triggers only the first. Its 20 coins take all 20 coins of bids (5 + 5 + 10), so the
    // mid drops to the book's floor, 30 bp below the first level's 10 bp:
    // 96.35·e^(−0.003) ≈ 96.06, past both other liquidation prices → a second round.
    let csv = "side,size,entry_price,liquidation_price\n\
               long,20,100,96.4\nlong,20,100,96.2\nlong,20,100,96.1\n";
    let s = scenario(csv, -0.0365, 0.0);
    let (sum, per) = one_path(&s);
    assert_eq!(sum.liquidation_count, 3, "{sum:?}");
    assert_eq!(sum.max_rounds_in_step, 2, "{sum:?}");
    assert!(
        sum.book_exhausted >= 1,
        "the second round finds no bids left"
    );
    assert!(close(
        per.max_drawdown,
        1.0 - 96.35 * (-0.003f64).exp() / 100.0
    ));
    // The same shock without the first position: nothing happens at all.
    let s = scenario(
        "side,size,entry_price,liquidation_price\nlong,20,100,96.2\nlong,20,100,96.1\n",
        -0.0365,
        0.0,
    );
    assert_eq!(one_path(&s).0.liquidation_count, 0);
}

#[test]
fn the_exogenous_drawdown_does_not_depend_on_positions() {
    // Same seed, same random numbers: the fundamental path is the one without liquidations.
    let base = include_str!("data/tiny.toml");
    let with = Scenario::parse(base, "tiny", &cascadesim::scenario::NoFiles).unwrap();
    let i = base.find("[[populations]]").unwrap();
    let without =
        Scenario::parse(&base[..i], "tiny-empty", &cascadesim::scenario::NoFiles).unwrap();
    let (mw, mo) = (Market::new(&with), Market::new(&without));
    for path in 0..20 {
        let (mut a, mut b) = (
            vec![AssetPathMetrics::default()],
            vec![AssetPathMetrics::default()],
        );
        let sw = simulate_path(&mw, path, &mut a, &mut NoObserver);
        let so = simulate_path(&mo, path, &mut b, &mut NoObserver);
        assert_eq!(sw.exogenous_drawdown, so.exogenous_drawdown);
        assert_eq!(
            so.max_drawdown, so.exogenous_drawdown,
            "no positions, no amplification"
        );
        assert_eq!(so.liquidated_notional, 0.0);
        assert!(
            sw.max_drawdown >= sw.exogenous_drawdown - 1e-12,
            "sells only push the mark down"
        );
    }
}

/// `tests/data/tiny.toml`, its market and its realised-heatmap grid.
fn tiny_with_grid() -> (Scenario, Market, cascadesim::engine::realised::RealisedGrid) {
    let s = Scenario::parse(
        include_str!("data/tiny.toml"),
        "tiny",
        &cascadesim::scenario::NoFiles,
    )
    .unwrap();
    let market = Market::new(&s);
    let grid = cascadesim::engine::realised::RealisedGrid::standard(s.simulation.steps);
    (s, market, grid)
}

#[test]
fn realised_heatmap_is_exact_and_independent_of_threads() {
    use cascadesim::engine::realised::RealisedHeatmap;
    use std::sync::atomic::AtomicBool;
    let (s, market, grid) = tiny_with_grid();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            cascadesim::mc::run_with(&market, 0, 700, &|_| {}, &AtomicBool::new(false), &|| {
                RealisedHeatmap::new(&market, grid.clone())
            })
        })
        .unwrap()
    };
    let (r1, h1) = run(1);
    let (r2, h2) = run(2);
    assert_eq!(h1, h2, "integer sums do not depend on the order of paths");
    assert_eq!(r1.paths, r2.paths);
    // The heatmap holds all liquidated notional: each step-asset entry is rounded to the
    // cent, so the totals differ by at most half a cent per entry.
    let total: f64 = r1.paths.iter().map(|p| p.liquidated_notional).sum();
    let cents: u128 = h1.cents.iter().sum();
    let entries = 700.0 * f64::from(s.simulation.steps);
    assert!(total > 0.0);
    assert!((cents as f64 / 100.0 - total).abs() <= 0.005 * entries + 1e-6 * total);
    // Long liquidations fill below the start price: above it there is only short notional.
    let usd = h1.asset_usd(0);
    let above: f64 = (0..grid.time_buckets)
        .flat_map(|t| (100..grid.price_bins).map(move |b| t * grid.price_bins + b))
        .map(|i| usd[i])
        .sum();
    let short_notional: f64 = r1.paths.iter().map(|p| p.short_liquidated_notional).sum();
    assert!(
        above <= short_notional + 1.0,
        "{above} above the start vs {short_notional} of shorts"
    );
}

/// A deep book (1000 coins per level at the start price) so fills sit at the first level,
/// 10 bp from the reference, and a single liquidation barely moves the mid.
const DEEP_BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,100000\nbid,20,100000\nask,10,100000\nask,20,100000\n";

/// The deep book with shocks and venue keys.
fn venue_scenario(positions: &str, shocks: &[(u32, f64)], fund: f64, venue: &str) -> Scenario {
    build(DEEP_BOOK, positions, shocks, fund, venue)
}

/// 10 coins long at 100 with 10× (bankruptcy 90) and a profitable short at 120.
fn long_and_short(short_qty: f64) -> String {
    format!("side,size,entry_price,leverage\nlong,10,100,10\nshort,{short_qty},120,2\n")
}

#[test]
fn adl_covers_the_shortfall_only_once_the_fund_is_empty() {
    // −10% at step 1: the long sells 10 coins at 90·e^(−0.001), below its bankruptcy price
    // 90: shortfall 10·(90 − v) ≈ 0.90.
    let v = 90.0 * (-0.001f64).exp();
    let shortfall = 10.0 * (90.0 - v);
    let shock = [(1, -0.10)];
    let pos = long_and_short(20.0);

    // A fund larger than the shortfall pays all of it: no ADL.
    let (sum, _) = one_path(&venue_scenario(
        &pos,
        &shock,
        10.0,
        "auto_deleverage = true",
    ));
    assert!(close(sum.insurance_fund_draw, shortfall));
    assert_eq!(
        (sum.adl_count, sum.adl_notional, sum.bad_debt),
        (0, 0.0, 0.0)
    );
    assert!(!sum.fund_exhausted);
    assert_eq!(sum.fund_exhausted_at, 0);

    // An empty fund: the short is deleveraged at the long's bankruptcy price. Each coin
    // covers 90 − v, so it closes exactly the long's 10 coins, at 90.
    let (sum, _) = one_path(&venue_scenario(&pos, &shock, 0.0, "auto_deleverage = true"));
    assert_eq!(sum.insurance_fund_draw, 0.0);
    assert_eq!(sum.adl_count, 1);
    assert!(close(sum.adl_notional, 10.0 * 90.0), "{}", sum.adl_notional);
    assert!(sum.bad_debt < 1e-9, "{}", sum.bad_debt);
    assert!(sum.fund_exhausted);
    assert_eq!(
        sum.fund_exhausted_at, 2,
        "the shock is at step 1, counted from 0"
    );

    // A fund of 0.5 pays first; ADL covers the rest.
    let (sum, _) = one_path(&venue_scenario(&pos, &shock, 0.5, "auto_deleverage = true"));
    assert!(close(sum.insurance_fund_draw, 0.5));
    assert!(close(
        sum.adl_notional,
        (shortfall - 0.5) / (90.0 - v) * 90.0
    ));
    assert!(sum.bad_debt < 1e-9);

    // Without ADL the same shortfall is bad debt.
    let (sum, _) = one_path(&venue_scenario(&pos, &shock, 0.0, ""));
    assert_eq!(sum.adl_count, 0);
    assert!(close(sum.bad_debt, shortfall));
    assert!(sum.fund_exhausted);
}

#[test]
fn adl_removes_positions_from_the_path() {
    // The short (5 coins, liquidation price 120·1.5/1.004 ≈ 179.3) is deleveraged in full by
    // the crash at step 1 (it covers 5·(90 − v) of the 10·(90 − v) shortfall; the rest is bad
    // debt). A +100% move at step 2 would liquidate it, but it is gone.
    let v = 90.0 * (-0.001f64).exp();
    let shocks = [(1, -0.10), (2, 1.0)];
    let pos = long_and_short(5.0);
    let (sum, _) = one_path(&venue_scenario(
        &pos,
        &shocks,
        0.0,
        "auto_deleverage = true",
    ));
    assert_eq!(sum.adl_count, 1);
    assert!(close(sum.adl_notional, 5.0 * 90.0));
    assert!(close(sum.bad_debt, 5.0 * (90.0 - v)));
    assert_eq!(sum.short_liquidated_notional, 0.0, "{sum:?}");
    assert_eq!(sum.liquidation_count, 1);
    // A short deleveraged in part (10 of 20 coins) keeps the rest with the realised profit
    // in its margin, 1200 + 10·(120 − 90) = 1500: its liquidation price moves from 179.3 to
    // (10·120 + 1500)/(10·1.004) ≈ 268.9. A rise to 180 passes the old price only; a rise to
    // 270 liquidates the 10 coins left.
    let pos20 = long_and_short(20.0);
    let adl = "auto_deleverage = true";
    let (sum, _) = one_path(&venue_scenario(&pos20, &shocks, 0.0, adl));
    assert_eq!(sum.adl_count, 1);
    assert_eq!(sum.short_liquidated_notional, 0.0, "{sum:?}");
    let (sum, _) = one_path(&venue_scenario(&pos20, &[(1, -0.10), (2, 2.0)], 0.0, adl));
    assert!(
        close(sum.short_liquidated_notional, 10.0 * 270.0 * 0.001f64.exp()),
        "{sum:?}"
    );
    // Without ADL the short survives the crash and is liquidated by the rise.
    let (sum, _) = one_path(&venue_scenario(&pos, &shocks, 0.0, ""));
    assert!(sum.short_liquidated_notional > 0.0);
    assert_eq!(sum.liquidation_count, 2);
}

#[test]
fn partial_liquidation_rearms_the_remainder_which_triggers_again() {
    use cascadesim::model::margin::{MarginSchedule, PartialRule, Position, close_quantity};
    // 10 coins long at 100 with 20× (margin 50): liquidation price 950/9.96 ≈ 95.38. A −4.7%
    // shock (to 95.3) triggers it with equity 3 > the fee on the whole position.
    let pos = "side,size,entry_price,leverage\nlong,10,100,20\n";
    let rule = PartialRule {
        target_multiple: 2.0,
        min_notional: 0.0,
        fee: 0.001,
    };
    let venue = "[populations.partial_liquidation]\ntarget_multiple = 2.0\nfee = 0.001\n";
    let p = Position {
        long: true,
        qty: 10.0,
        entry: 100.0,
        margin: 50.0,
    };
    let m1 = 95.3;
    let closed = close_quantity(&p, m1, &MarginSchedule::flat(0.004), Some(&rule));
    assert!(closed > 5.0 && closed < 8.0, "{closed}");

    // Only the first shock: one partial liquidation, the remainder stays open.
    let s = venue_scenario(pos, &[(1, -0.047)], 0.0, venue);
    let (sum, _) = one_path(&s);
    let fill1 = m1 * (-0.001f64).exp();
    assert_eq!(
        (sum.liquidation_count, sum.partial_liquidation_count),
        (1, 1)
    );
    assert!(close(sum.liquidated_notional, closed * fill1), "{sum:?}");
    assert!(close(sum.fees, 0.001 * closed * fill1));

    // A further −2% at step 2 takes the mark past the remainder's new liquidation price:
    // it is liquidated again, in full (its equity is then negative).
    let s = venue_scenario(pos, &[(1, -0.047), (2, -0.02)], 0.0, venue);
    let (sum, _) = one_path(&s);
    let fill2 = m1 * 0.98 * (-0.001f64).exp();
    assert_eq!(
        (sum.liquidation_count, sum.partial_liquidation_count),
        (2, 1)
    );
    assert!(
        close(
            sum.liquidated_notional,
            closed * fill1 + (10.0 - closed) * fill2
        ),
        "{sum:?}"
    );
    // The remainder's liquidation price is above the second mark and below the first.
    let rest = Position {
        qty: 10.0 - closed,
        margin: 50.0 + closed * (fill1 - 100.0) - 0.001 * closed * fill1,
        ..p
    };
    let liq = rest.liquidation_price(&MarginSchedule::flat(0.004));
    assert!(liq < m1 && liq > m1 * 0.98, "{liq}");

    // Without the rule the same shock closes everything at once.
    let s = venue_scenario(pos, &[(1, -0.047)], 0.0, "");
    let (sum, _) = one_path(&s);
    assert_eq!(
        (sum.liquidation_count, sum.partial_liquidation_count),
        (1, 0)
    );
    assert!(close(sum.liquidated_notional, 10.0 * fill1));
}

/// Records each step's liquidated notional, mark and depth multiplier of asset 0.
#[derive(Default)]
struct Steps {
    liquidated: Vec<f64>,
    mark: Vec<f64>,
    depth: Vec<f64>,
}

impl cascadesim::engine::Observer for Steps {
    fn on_step(&mut self, _step: u32, assets: &[cascadesim::engine::AssetStep]) {
        self.liquidated.push(assets[0].liquidated_notional);
        self.mark.push(assets[0].mark);
        self.depth.push(assets[0].depth_multiplier);
    }
}

fn observed(s: &Scenario) -> (PathSummary, Steps) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let mut obs = Steps::default();
    let summary = simulate_path(&market, 0, &mut per, &mut obs);
    (summary, obs)
}

const CHAIN: &str = "side,size,entry_price,liquidation_price\n\
                     long,20,100,96.4\nlong,20,100,96.2\nlong,20,100,96.1\n";

#[test]
fn a_circuit_breaker_stops_the_cascade_loop() {
    // The chain of `a_cascade_needs_the_chain_reaction`: the −3.65% shock (to 96.35) stays
    // inside a 3.7% breaker, the first liquidation takes the mark to 96.06 (−3.94% from the
    // previous close of 100): the breaker trips before the second round, so only one of the
    // three positions goes. Without it all three do.
    let breaker = "[simulation.circuit_breaker]\nmax_move = 0.037\nhalt_steps = 5";
    let (free, _) = one_path(&scenario_with(CHAIN, -0.0365, 0.0, 3, "", ""));
    assert_eq!(free.liquidation_count, 3);
    assert_eq!(free.circuit_breaker_halts, 0);
    let (sum, _) = one_path(&scenario_with(CHAIN, -0.0365, 0.0, 3, breaker, ""));
    assert_eq!(sum.liquidation_count, 1, "{sum:?}");
    assert_eq!(sum.max_rounds_in_step, 1, "{sum:?}");
    assert_eq!(sum.circuit_breaker_halts, 1);
    // Halted through step 1 + 5; the path has steps 0..3, so step 2 is the one halted step
    // after the tripping one.
    assert_eq!(sum.halted_steps, 1);
}

#[test]
fn a_halt_delays_liquidations_until_it_ends() {
    // 10x long, liquidation price 90.36; a −10% shock at step 1 against a 5% breaker with
    // 2 halt steps: nothing trades in step 1 (the breaker trips before the first round) nor
    // in steps 2 and 3; the position is liquidated in step 4, whose move (a sweep of
    // 10 coins, 0.2%) trips nothing.
    let pos = "side,size,entry_price,leverage\nlong,10,100,10\n";
    let breaker = "[simulation.circuit_breaker]\nmax_move = 0.05\nhalt_steps = 2";
    let (sum, obs) = observed(&scenario_with(pos, -0.10, 0.0, 6, breaker, ""));
    assert_eq!(sum.liquidation_count, 1);
    assert_eq!(sum.circuit_breaker_halts, 1);
    assert_eq!(sum.halted_steps, 2);
    let first = obs.liquidated.iter().position(|&x| x > 0.0);
    assert_eq!(first, Some(4), "{:?}", obs.liquidated);
    // Without the breaker it goes in the shock's step.
    let (_, obs) = observed(&scenario_with(pos, -0.10, 0.0, 6, "", ""));
    assert_eq!(obs.liquidated.iter().position(|&x| x > 0.0), Some(1));
}

#[test]
fn depth_falls_when_realised_volatility_rises() {
    // Volatility 0 and a −10% shock at step 1. The realised variance starts at the
    // reference (σ_ref = 0.5 → 0.25·60/31,536,000 per step), so the depth factor is 1 until
    // the shock's step has been seen; then σ̂² ≈ (1 − 0.5^0.1)·ln(0.9)² ≈ 7.4e-4 gives
    // (σ_ref/σ̂)^1 ≈ 0.025, clamped to min = 0.1. Quiet steps after it let σ̂ decay by
    // 0.5^(60/600) per step, so the factor climbs back by a factor 2^0.05 per step until it
    // reaches 1 (max).
    let book = "[assets.book.volatility_depth]\nreference_volatility = 0.5\nbeta = 1.0\nhalf_life_s = 600\nmin = 0.1\nmax = 1.0";
    let pos = "side,size,entry_price,leverage\nlong,1,100,2\n";
    let (_, obs) = observed(&scenario_with(pos, -0.10, 0.0, 200, "", book));
    let d = &obs.depth;
    assert_eq!((d[0], d[1]), (1.0, 1.0), "{:?}", &d[..4]);
    assert!((d[2] - 0.1).abs() < 1e-12, "{:?}", &d[..4]);
    let later = d
        .iter()
        .skip(3)
        .position(|&x| x > 0.1 + 1e-12)
        .map(|i| i + 3);
    let k = later.expect("the depth comes back");
    assert!(
        (d[k + 1] / d[k] - 2f64.powf(0.05)).abs() < 1e-9,
        "{} {}",
        d[k],
        d[k + 1]
    );
    assert!(
        d.windows(2).skip(2).all(|w| w[1] >= w[0]),
        "recovers monotonically"
    );
    assert_eq!(*d.last().unwrap(), 1.0);
}

#[test]
fn a_price_floor_holds_the_mark_and_the_fills() {
    // The chain again with a floor at 96.2: the first sale eats the 10 and 20 bp bids
    // (96.25, 96.16 would be below the floor: 96.35·e^(−0.002) = 96.157) so the rest of its
    // 20 coins fills at 96.2; the mark never goes below 96.2.
    let (sum, per) = one_path(&scenario_with(
        CHAIN,
        -0.0365,
        0.0,
        3,
        "",
        "price_floor_usd = 96.2",
    ));
    assert!(
        per.max_drawdown <= 1.0 - 0.962 + 1e-12,
        "{} {sum:?}",
        per.max_drawdown
    );
    assert!(
        sum.unfilled_notional > 0.0,
        "the backstop at the floor took a part"
    );
    assert_eq!(
        sum.book_exhausted, 0,
        "the book is not gone, the floor is reached"
    );
}

fn dynamics() -> Scenario {
    Scenario::parse(
        include_str!("data/dynamics.toml"),
        "dynamics",
        &cascadesim::scenario::NoFiles,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn all_dynamics_are_identical_on_any_thread_count_and_keep_common_random_numbers() {
    use std::sync::atomic::AtomicBool;
    let s = dynamics();
    let market = Market::new(&s);
    let run = |m: &Market, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| cascadesim::mc::run(m, 0, 300, &|_| {}, &AtomicBool::new(false)))
            .unwrap()
    };
    let (r1, r2) = (run(&market, 1), run(&market, 2));
    assert_eq!(r1.paths, r2.paths);
    assert_eq!(r1.assets, r2.assets);
    // The scenario does exercise the features: halts, jumps (fundamental moves beyond the
    // diffusion) and the floor (ETH's mark never below 3000 of 3500).
    assert!(r1.paths.iter().any(|p| p.circuit_breaker_halts > 0));
    assert!(r1.paths.iter().all(|p| p.halted_steps <= 2 * 120));
    // The peak is at most start·(1 + drawup), so the fall to the floor is bounded.
    for (i, a) in r1.assets.iter().step_by(2).enumerate() {
        let peak = 3500.0 * (1.0 + a.max_drawup);
        assert!(
            a.max_drawdown <= 1.0 - 3000.0 / peak + 1e-12,
            "path {i}: {a:?}"
        );
        assert!(
            a.end_return >= 3000.0 / 3500.0 - 1.0 - 1e-12,
            "path {i}: {a:?}"
        );
    }
    assert!(
        r1.assets
            .iter()
            .step_by(2)
            .any(|a| a.exogenous_drawdown > 1.0 - 3000.0 / 3500.0),
        "some fundamental goes below the floor, so the floor is tested"
    );
    // Without positions the fundamentals are the same (nothing feeds back into them).
    let text = include_str!("data/dynamics.toml");
    let cut = text.find("[[populations]]").unwrap();
    let bare = Scenario::parse(&text[..cut], "bare", &cascadesim::scenario::NoFiles).unwrap();
    let r0 = run(&Market::new(&bare), 2);
    for (a, b) in r0.assets.iter().zip(&r1.assets) {
        assert_eq!(a.exogenous_drawdown, b.exogenous_drawdown);
        assert_eq!(a.exogenous_drawup, b.exogenous_drawup);
    }
}

#[test]
fn jumps_leave_the_diffusion_draws_alone() {
    // Jumps draw from their own part of the path's stream: a jump process so rare that no
    // jump happens (and uncompensated, so the drift is unchanged) gives bit-identical
    // fundamentals to no jumps at all.
    let base = include_str!("data/tiny.toml");
    let with = base.replace(
        "dof = 4\n",
        "dof = 4\njumps = { rate_per_day = 1e-12, mean = -0.5, sd = 0.1, compensate = false }\n",
    );
    assert_ne!(with, base);
    let (a, b) = (
        Scenario::parse(base, "a", &cascadesim::scenario::NoFiles).unwrap(),
        Scenario::parse(&with, "b", &cascadesim::scenario::NoFiles).unwrap(),
    );
    let (ma, mb) = (Market::new(&a), Market::new(&b));
    for path in 0..20 {
        let (mut pa, mut pb) = (
            vec![AssetPathMetrics::default()],
            vec![AssetPathMetrics::default()],
        );
        let sa = simulate_path(&ma, path, &mut pa, &mut NoObserver);
        let sb = simulate_path(&mb, path, &mut pb, &mut NoObserver);
        assert_eq!(sa, sb, "path {path}");
    }
}

/// Two independent assets X and Y with the same book and one population each; `breaker` is
/// added to `[simulation]`.
fn two_assets(x_pos: &str, x_shock: f64, y_pos: &str, y_shock: f64, breaker: &str) -> Scenario {
    let mut text = format!(
        "[simulation]\npaths = 1\nsteps = 3\nseed = 1\nmax_rounds = 10\n{breaker}\n[simulation.cascade]\nendogenous_move = 0.001\n"
    );
    for (name, shock) in [("X", x_shock), ("Y", y_shock)] {
        text.push_str(&format!(
            "[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.0\nshocks = [{{ step = 1, return = {shock} }}]\n[assets.book]\nprofile = \"file\"\nfile = \"book.csv\"\npermanent_impact = 0.0\nrefill_half_life_s = 60\n"
        ));
    }
    for (name, file) in [("X", "x.csv"), ("Y", "y.csv")] {
        text.push_str(&format!(
            "[[populations]]\nasset = \"{name}\"\nmaintenance_margin = 0.004\nliquidation_fee = 0.005\ninsurance_fund_usd = 0\npositions_file = \"{file}\"\n"
        ));
    }
    let files = Files(BTreeMap::from([
        ("book.csv", BOOK.to_string()),
        ("x.csv", x_pos.to_string()),
        ("y.csv", y_pos.to_string()),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_halted_asset_is_not_settled_again_while_another_cascades() {
    // X: the chain of `a_circuit_breaker_stops_the_cascade_loop`, halted after its first
    // liquidation. Y: small positions whose sells move its mark a little per round, so Y
    // keeps cascading for several rounds while X is halted. X must be liquidated once.
    let breaker = "[simulation.circuit_breaker]\nmax_move = 0.037\nhalt_steps = 5";
    let y = "side,size,entry_price,liquidation_price\n\
             long,1,100,97.05\nlong,1,100,97.02\nlong,1,100,97.0\nlong,1,100,96.98\n";
    let s = two_assets(CHAIN, -0.0365, y, -0.03, breaker);
    let market = Market::new(&s);
    let mut per = vec![AssetPathMetrics::default(); 2];
    let sum = simulate_path(&market, 0, &mut per, &mut NoObserver);
    let (x_alone, x_per) = one_path(&scenario_with(CHAIN, -0.0365, 0.0, 3, breaker, ""));
    assert_eq!(x_alone.liquidation_count, 1);
    assert!(
        sum.max_rounds_in_step >= 2,
        "Y cascades for several rounds: {sum:?}"
    );
    assert_eq!(
        per[0].liquidated_notional, x_per.liquidated_notional,
        "X's one liquidation is settled once"
    );
    assert!(sum.liquidation_count <= 1 + 4, "{sum:?}");
}

/// The settlement fast path (no partial rule: a long run's quantity and settlement in closed
/// form, the rest in a register loop) and the general per-position path must close the same
/// positions with the same counts and flags, and agree on every figure within the closed
/// form's rounding (`same_but_settlement_rounding`; the register loop alone is checked to the
/// bit by `engine::venue::tests::full_closes_match_margin_settle`). A partial rule whose minimum
/// remainder ($10¹⁵, the largest allowed) no position can reach closes every position in full
/// with the population's fee, exactly as without the rule, but goes through the general
/// path; a small fund makes shortfalls, ADL (including partly deleveraged heads) and bad
/// debt happen, so the write-back around the out-of-line shortfall is exercised.
#[test]
fn full_close_fast_path_matches_the_general_path_up_to_the_closed_forms_rounding() {
    let base = include_str!("../scenarios/btc_flash_crash.toml")
        .replace("count = 100000", "count = 20000")
        .replace("steps = 1440 ", "steps = 120 ")
        .replace(
            "insurance_fund_usd = 150.0e6",
            "insurance_fund_usd = 1.0e6\nauto_deleverage = true",
        );
    let general = base.replace(
        "[[populations.margin_tiers]]\nfrom_notional_usd = 0\n",
        "[populations.partial_liquidation]\ntarget_multiple = 2.0\nmin_notional_usd = 1e15\n\n\
         [[populations.margin_tiers]]\nfrom_notional_usd = 0\n",
    );
    assert_ne!(base, general, "the partial rule was inserted");
    let parse = |t: &str| Scenario::parse(t, "fast-path", &cascadesim::scenario::NoFiles).unwrap();
    let (fast, slow) = (Market::new(&parse(&base)), Market::new(&parse(&general)));
    assert!(slow.populations[0].partial.is_some() && fast.populations[0].partial.is_none());
    assert_eq!(fast.steps, 120);
    let (mut liquidations, mut adl, mut exhausted) = (0, 0, 0);
    for path in 0..6 {
        let mut per_fast = [AssetPathMetrics::default()];
        let mut per_slow = [AssetPathMetrics::default()];
        let a = simulate_path(&fast, path, &mut per_fast, &mut NoObserver);
        let b = simulate_path(&slow, path, &mut per_slow, &mut NoObserver);
        // Counts and flags equal, floats within the closed form's rounding (the fast path's
        // long runs take their quantity and settlement from prefix sums).
        let (ta, tb) = (
            format!("{a:?}\n{per_fast:?}"),
            format!("{b:?}\n{per_slow:?}"),
        );
        assert!(
            same_but_settlement_rounding(&ta, &tb),
            "path {path}\n{ta}\n{tb}"
        );
        assert_eq!(b.partial_liquidation_count, 0);
        liquidations += a.liquidation_count;
        adl += a.adl_count;
        exhausted += u32::from(a.fund_exhausted);
    }
    assert!(liquidations > 1000, "the shock liquidates: {liquidations}");
    assert!(
        exhausted > 0 && adl > 0,
        "fund exhausted on {exhausted} paths, {adl} ADL closes"
    );
}

/// The quiet lane (steps on which no position can trigger skip the cascade loop; a run of
/// them is a loop of its own) changes no number: every bundled scenario, simulated with an
/// observer that sees every step (which keeps the lane off) and without one (lane on where
/// the scenario allows it), gives the same summary and per-asset figures to the bit. The
/// scenarios cover one asset (the lone-asset loop, Student-t and Gaussian), several assets
/// (the several-asset loop: correlated ones in `eth_high_leverage`, and with jumps on a
/// common clock, shared t mixing and a correlation regime once the contagion scenario's
/// breaker and volatility-dependent depth are taken out), venues and lending (no lane).
#[test]
fn the_quiet_lane_changes_no_number() {
    let bundled = [
        include_str!("../scenarios/btc_flash_crash.toml"),
        include_str!("../scenarios/calm_market.toml"),
        include_str!("../scenarios/eth_high_leverage.toml"),
        include_str!("../scenarios/jump_contagion.toml"),
        include_str!("../scenarios/oct_2025_adl.toml"),
        include_str!("../scenarios/two_venue_oracle.toml"),
        include_str!("../scenarios/aave_collateral_contagion.toml"),
    ];
    // Several assets on the several-asset loop: the contagion scenario without the rules that
    // keep it off (circuit breaker, volatility-dependent depth).
    let mut skipping = false;
    let several: String = bundled[3]
        .lines()
        .filter(|l| {
            if l.starts_with('[') {
                skipping =
                    *l == "[simulation.circuit_breaker]" || *l == "[assets.book.volatility_depth]";
            }
            !skipping
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!several.contains("circuit_breaker") && !several.contains("volatility_depth"));
    let mut liquidations = 0;
    for (k, text) in bundled
        .iter()
        .copied()
        .chain([several.as_str()])
        .enumerate()
    {
        // Fewer positions and steps keep the debug build quick; the shocks stay in range.
        let text: String = text
            .lines()
            .map(|l| match l.starts_with("count = ") {
                true => "count = 20000\n".to_string(),
                false => format!("{l}\n"),
            })
            .collect();
        let s = Scenario::parse(&text, "lane", &cascadesim::scenario::NoFiles).unwrap();
        let market = Market::new(&s);
        let n = market.assets.len();
        for path in 0..3 {
            let mut lane = vec![AssetPathMetrics::default(); n];
            let mut every = vec![AssetPathMetrics::default(); n];
            let a = simulate_path(&market, path, &mut lane, &mut NoObserver);
            let mut seen = Steps::default();
            let b = simulate_path(&market, path, &mut every, &mut seen);
            assert_eq!(seen.mark.len(), market.steps as usize, "scenario {k}");
            // f64 `==` per field: bit-identical for the finite values a summary holds.
            assert_eq!(a, b, "scenario {k}, path {path}");
            assert_eq!(lane, every, "scenario {k}, path {path}");
            liquidations += a.liquidation_count;
        }
    }
    assert!(
        liquidations > 1000,
        "the scenarios liquidate: {liquidations}"
    );
}

// --- The endogenous move (issue 19): what liquidations did to the price, at one moment ---

/// Records every step's fundamental and mark.
#[derive(Default)]
struct Prices(Vec<(f64, f64)>);

impl cascadesim::engine::Observer for Prices {
    const QUIET_STEPS: bool = true;
    fn on_step(&mut self, _step: u32, assets: &[cascadesim::engine::AssetStep]) {
        self.0.push((assets[0].fundamental, assets[0].mark));
    }
}

/// `tests/data/tiny.toml` with `edit` applied to its text, parsed.
fn tiny(edit: impl Fn(String) -> String) -> Scenario {
    let text = edit(include_str!("data/tiny.toml").to_string());
    Scenario::parse(&text, "tiny.toml", &cascadesim::scenario::NoFiles)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_crash_whose_impact_refills_is_a_down_cascade_of_exactly_its_peak_impact() {
    // One long of 10 coins triggered by a −10% shock; no permanent impact, so the hole
    // refills (half-life 60 s) and the mark climbs back to the fundamental. That climb is
    // not an "up" move: the endogenous move is the peak gap ln(F/M), and nothing upward.
    let s = scenario_with(
        "side,size,entry_price,leverage\nlong,10,100,10\n",
        -0.1,
        0.0,
        30,
        "",
        "",
    );
    let market = Market::new(&s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let mut seen = Prices::default();
    let sum = simulate_path(&market, 0, &mut per, &mut seen);
    assert_eq!(sum.liquidation_count, 1);
    let peak = seen
        .0
        .iter()
        .map(|&(f, m)| (f / m).ln())
        .fold(0.0f64, f64::max);
    assert!(peak > 0.001, "the sale moved the mark: {peak}");
    assert!(
        close(sum.endogenous_down, peak),
        "{} vs {peak}",
        sum.endogenous_down
    );
    assert_eq!(per[0].endogenous_down, sum.endogenous_down);
    assert_eq!(sum.endogenous_up, 0.0);
    assert_eq!(per[0].endogenous_up, 0.0);
    // The rebound happened: the last mark is back at the fundamental (within 1e-6).
    let &(f, m) = seen.0.last().unwrap();
    assert!((m / f - 1.0).abs() < 1e-6, "refilled: {m} vs {f}");
    // The old rule saw an "up" move in that rebound: the mark rose from its trough.
    assert!(sum.max_drawup > sum.exogenous_drawup);
    assert!(sum.cascade, "0.1% threshold, peak gap {peak}");
}

#[test]
fn a_long_only_population_never_pushes_the_mark_up() {
    // Only sells reach a single-venue book: the mark can only sit below the counterfactual.
    // Volatile paths with a shock, partial fills, refill and permanent impact.
    let s = tiny(|t| t.replace("long_share = 0.7", "long_share = 1.0"));
    let market = Market::new(&s);
    let r = cascadesim::mc::run(
        &market,
        0,
        200,
        &|_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    let liquidated = r.paths.iter().filter(|p| p.liquidation_count > 0).count();
    assert!(
        liquidated > 100,
        "the shock liquidates on most paths: {liquidated}"
    );
    for (i, p) in r.paths.iter().enumerate() {
        assert_eq!(p.endogenous_up, 0.0, "path {i}");
        assert!(p.endogenous_down >= 0.0);
    }
    assert!(r.paths.iter().any(|p| p.endogenous_down > 0.01));
}

#[test]
fn a_path_where_only_the_fundamental_moves_is_never_a_cascade() {
    // Leverage 2 at 5% volatility and no shock: no position is ever liquidated, however far
    // the fundamental moves, so the endogenous move is 0 on every path and nothing cascades.
    let s = tiny(|t| {
        t.replace("shocks = [{ step = 5, return = -0.05 }]", "")
            .replace("volatility = 0.6", "volatility = 3.0")
            .replace("values = [5, 10, 20, 50]", "values = [1.5, 1.6, 1.7, 1.8]")
            .replace("endogenous_move = 0.008", "endogenous_move = 0.0001")
    });
    let market = Market::new(&s);
    let r = cascadesim::mc::run(
        &market,
        0,
        100,
        &|_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert!(r.paths.iter().any(|p| p.exogenous_drawdown > 0.05));
    for p in &r.paths {
        assert_eq!(p.liquidation_count, 0);
        assert_eq!((p.endogenous_down, p.endogenous_up), (0.0, 0.0));
        assert!(!p.cascade);
    }
}

#[test]
fn per_population_figures_add_up_to_the_path_totals() {
    // Two populations on one asset, one with a tiny fund (exhausted, bad debt) and one with
    // a large fund: each total is the sum of the populations' shares, and only the first
    // population's fund runs dry.
    let s = tiny(|t| {
        let pop = t[t.find("[[populations]]").unwrap()..].to_string();
        format!(
            "{}\n{}",
            t.replace("insurance_fund_usd = 1.0e6", "insurance_fund_usd = 1.0")
                .replace("[[populations]]", "[[populations]]\nname = \"dry\""),
            pop.replace("[[populations]]", "[[populations]]\nname = \"deep\"")
                .replace("insurance_fund_usd = 1.0e6", "insurance_fund_usd = 1.0e12")
        )
    });
    let market = Market::new(&s);
    let r = cascadesim::mc::run(
        &market,
        0,
        50,
        &|_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(r.n_populations, 2);
    let mut dry = 0;
    for (i, p) in r.paths.iter().enumerate() {
        let pops = &r.populations[2 * i..2 * i + 2];
        let sum = |f: fn(&cascadesim::engine::PopulationPathMetrics) -> f64| {
            pops.iter().map(f).sum::<f64>()
        };
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(near(sum(|q| q.liquidated_notional), p.liquidated_notional));
        assert!(near(sum(|q| q.insurance_fund_draw), p.insurance_fund_draw));
        assert!(near(sum(|q| q.bad_debt), p.bad_debt));
        assert!(near(sum(|q| q.fees), p.fees));
        assert_eq!(
            pops.iter().map(|q| q.liquidation_count).sum::<u32>(),
            p.liquidation_count
        );
        assert!(!pops[1].fund_exhausted, "a 1e12 fund never runs dry");
        assert_eq!(pops[0].fund_exhausted, p.fund_exhausted);
        dry += usize::from(pops[0].fund_exhausted);
    }
    assert!(dry > 0, "a $1 fund runs dry on some path");
}

/// A run simulated in blocks and collected into columns block by block (as `cascadesim run`
/// does) gives the columns and the realised heatmap of the whole run simulated at once and
/// converted afterwards, for blocks that do not divide the run and for any thread count.
#[test]
fn a_run_in_blocks_gives_the_columns_of_the_whole_run() {
    use cascadesim::engine::realised::RealisedHeatmap;
    use cascadesim::metrics::{self, Collector};
    use std::ops::ControlFlow;
    use std::sync::atomic::AtomicBool;
    let (s, market, grid) = tiny_with_grid();
    let make = || RealisedHeatmap::new(&market, grid.clone());
    let never = AtomicBool::new(false);
    let (first, count) = (5, 150);
    let assets: Vec<(String, bool)> = s.assets.iter().map(|a| (a.name.clone(), false)).collect();
    let names: Vec<String> = assets.iter().map(|a| a.0.clone()).collect();
    let ids: Vec<metrics::PopulationId> = s
        .populations
        .iter()
        .map(|p| metrics::PopulationId {
            name: p.name.clone(),
            asset: s.assets[p.asset].name.clone(),
            venue: None,
        })
        .collect();
    let (mut whole, heat) =
        cascadesim::mc::run_with(&market, first, count, &|_| {}, &never, &make).unwrap();
    let want_assets = metrics::asset_columns(&whole, &names, &[false], false);
    let want_pops = metrics::population_columns(&whole, &ids);
    let want = metrics::columns(&mut whole);
    assert!(!want_pops.is_empty());
    for (threads, block) in [(1, 7), (2, 64), (2, 1000)] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut c = Collector::new(
            &cascadesim::mc::shape(&market, first),
            count as usize,
            &assets,
            false,
            &ids,
        );
        let mut blocks = 0;
        let h = pool
            .install(|| {
                cascadesim::mc::run_blocks(
                    &market,
                    first..first + count,
                    block,
                    &|_| {},
                    &never,
                    &make,
                    &mut |b| {
                        blocks += 1;
                        c.add(b);
                        ControlFlow::Continue(())
                    },
                )
            })
            .unwrap();
        assert_eq!(blocks, count.div_ceil(block));
        assert_eq!(h, heat, "{threads} threads, blocks of {block}");
        let (cols, asset_cols, pops) = c.finish();
        // Bits, so a NaN equals itself.
        let values = |c: &[metrics::Column]| {
            c.iter()
                .map(|c| {
                    let bits: Vec<u64> = c.values.to_f64().iter().map(|x| x.to_bits()).collect();
                    (c.name, bits)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&cols), values(&want));
        assert_eq!(asset_cols.len(), want_assets.len());
        for (a, b) in asset_cols.iter().zip(&want_assets) {
            assert_eq!(a.asset, b.asset);
            assert_eq!(values(&a.columns), values(&b.columns));
            assert_eq!(a.by_trigger, b.by_trigger);
        }
        assert_eq!(pops.len(), want_pops.len());
        for (a, b) in pops.iter().zip(&want_pops) {
            assert_eq!((&a.name, &a.asset), (&b.name, &b.asset));
            assert_eq!(values(&a.columns), values(&b.columns));
        }
    }
    // A sink that cannot keep the third block (a failed write) stops the run there: no
    // later block is simulated or handed on.
    let mut seen = Vec::new();
    cascadesim::mc::run_blocks(
        &market,
        first..first + count,
        7,
        &|_| {},
        &never,
        &make,
        &mut |b| {
            seen.push(b.first_path);
            if seen.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(seen, [first, first + 7, first + 14]);
}
