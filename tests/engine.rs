//! Known-answer tests of the engine through the library: deterministic scenarios (volatility
//! 0 plus a shock) whose every number can be computed by hand.

use std::collections::BTreeMap;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, PathSummary, simulate_path};
use cascadesim::scenario::{FileSource, Scenario};

/// In-memory referenced files.
struct Files(BTreeMap<&'static str, String>);

impl FileSource for Files {
    fn read(&self, relative: &str) -> Result<String, String> {
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| format!("no file {relative}"))
    }
}

const BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,500\nbid,20,500\nbid,30,1000\n\
ask,10,500\nask,20,500\nask,30,1000\n";

fn scenario(positions: &str, shock: f64, fund: f64) -> Scenario {
    build(BOOK, positions, &[(1, shock)], fund, "")
}

/// One asset at 100 with volatility 0, the given book and shocks (step, return), and one
/// population from `positions` with extra keys `venue` (partial liquidation, ADL).
fn build(book: &str, positions: &str, shocks: &[(u32, f64)], fund: f64, venue: &str) -> Scenario {
    let shocks: Vec<String> = shocks
        .iter()
        .map(|(s, r)| format!("{{ step = {s}, return = {r} }}"))
        .collect();
    let text = format!(
        r#"
[simulation]
paths = 1
steps = 4
seed = 1
max_rounds = 10
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
        ("book.csv", book.to_string()),
        ("positions.csv", positions.to_string()),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

fn one_path(s: &Scenario) -> (PathSummary, AssetPathMetrics) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let summary = simulate_path(&market, 0, &mut per, &mut NoObserver);
    (summary, per[0])
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

#[test]
fn realised_heatmap_is_exact_and_independent_of_threads() {
    use cascadesim::engine::realised::{RealisedGrid, RealisedHeatmap};
    use std::sync::atomic::AtomicBool;
    let s = Scenario::parse(
        include_str!("data/tiny.toml"),
        "tiny",
        &cascadesim::scenario::NoFiles,
    )
    .unwrap();
    let market = Market::new(&s);
    let grid = RealisedGrid::standard(s.simulation.steps);
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
    let cents: u64 = h1.cents.iter().sum();
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
