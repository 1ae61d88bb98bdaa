//! Interconnected venues, through the library: deterministic scenarios (volatility 0 plus a
//! shock) with one asset on two books, whose every number follows by hand.
//!
//! The fixture: asset X at 100, a −10% shock at step 1 (fundamental 90). Venue `a` holds a
//! long of 10 coins with liquidation price 90.5 that triggers on `a`'s own mid; it sells into
//! `a`'s bids (5 coins at 10 bp, 5 at 20 bp below 90), leaving a hole of 10 coins, so `a`'s
//! mid is `90·e^(−0.002)` = 89.820. With weights ½/½ the index is 89.910. Venue `b` holds a
//! long of 3 coins with liquidation price 89.95: below the fundamental's 90, above the index
//! once `a` has sold. So `b` is liquidated only through the index (or through arbitrage).

use std::collections::BTreeMap;

use cascadesim::engine::{AssetPathMetrics, AssetStep, Market, Observer, simulate_path};
use cascadesim::model::arbitrage;
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;
use proptest::prelude::*;

#[path = "common/files.rs"]
mod files;
use files::Files;

const BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,500\nbid,20,500\nbid,30,1000\n\
ask,10,500\nask,20,500\nask,30,1000\n";

/// Records every step's liquidated quantity and venue spread of asset 0.
#[derive(Default)]
struct Steps {
    qty: Vec<f64>,
    spread: Vec<f64>,
    mark: Vec<f64>,
}

impl Observer for Steps {
    fn on_step(&mut self, _step: u32, assets: &[AssetStep]) {
        self.qty.push(assets[0].liquidated_qty);
        self.spread.push(assets[0].venue_spread);
        self.mark.push(assets[0].mark);
    }
}

/// The fixture with `steps` steps, `asset` added to `[[assets]]` (after the venues), the
/// populations given as (venue, trigger_price, positions CSV), and `book` added to the
/// asset's book.
fn scenario(steps: u32, asset: &str, book: &str, pops: &[(&str, &str, &str)]) -> Scenario {
    let mut text = format!(
        r#"
[simulation]
paths = 1
steps = {steps}
seed = 1
max_rounds = 10
[simulation.cascade]
endogenous_move = 0.001
[[assets]]
name = "X"
price = 100.0
volatility = 0.0
shocks = [{{ step = 1, return = -0.1 }}]
{asset}
[assets.book]
profile = "file"
file = "book.csv"
refill_half_life_s = 60
{book}
[[assets.venues]]
name = "a"
weight = 1.0
[[assets.venues]]
name = "b"
weight = 1.0
"#
    );
    let mut files = BTreeMap::from([("book.csv", BOOK.to_string())]);
    let names = ["p0.csv", "p1.csv", "p2.csv"];
    for (i, (venue, trigger, csv)) in pops.iter().enumerate() {
        text.push_str(&format!(
            "[[populations]]\nasset = \"X\"\nvenue = \"{venue}\"\ntrigger_price = \"{trigger}\"\nmaintenance_margin = 0.004\nliquidation_fee = 0.0\npositions_file = \"{}\"\n",
            names[i]
        ));
        files.insert(names[i], csv.to_string());
    }
    Scenario::parse(&text, "test", &Files(files)).unwrap_or_else(|e| panic!("{e}"))
}

const A_LONG: &str = "side,size,entry_price,liquidation_price\nlong,10,100,90.5\n";
const B_LONG: &str = "side,size,entry_price,liquidation_price\nlong,3,100,89.95\n";

fn run(s: &Scenario) -> (Steps, AssetPathMetrics) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let mut obs = Steps::default();
    simulate_path(&market, 0, &mut per, &mut obs);
    (obs, per[0].clone())
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn a_liquidation_on_venue_a_moves_the_index_and_liquidates_on_venue_b() {
    let both = [("a", "venue", A_LONG), ("b", "mark", B_LONG)];
    let s = scenario(4, "index_lag_steps = 0\narbitrage_speed = 0.5", "", &both);
    let (obs, per) = run(&s);
    // Both in step 1: `a` (10 coins) on the shock, `b` (3 coins) in the next round.
    assert_eq!(obs.qty, vec![0.0, 13.0, 0.0, 0.0]);
    // At the end of step 1 `a`'s mid is 0.002 below the fundamental (log) and `b`'s 0.0006:
    // its 3 coins took 3/5 of its first level (10 bp, the top's displacement 0 to 10 bp).
    assert!(
        close(obs.spread[1], 0.0014f64.exp() - 1.0, 1e-12),
        "{:?}",
        obs.spread
    );
    assert!(per.max_venue_spread >= obs.spread[1]);

    // Without `a`'s population the index stays at the fundamental 90 > 89.95: `b` survives.
    let alone = scenario(4, "arbitrage_speed = 0.5", "", &[("b", "mark", B_LONG)]);
    assert_eq!(run(&alone).0.qty, vec![0.0; 4]);
    // With `b` triggering on its own mid and no arbitrage, `a`'s sale never reaches it.
    let apart = [("a", "venue", A_LONG), ("b", "venue", B_LONG)];
    let s = scenario(4, "arbitrage_speed = 0.0", "", &apart);
    assert_eq!(run(&s).0.qty, vec![0.0, 10.0, 0.0, 0.0]);
    // Full-speed arbitrage at the end of step 1 puts `b`'s mid at the mean log offset,
    // 90·e^(−0.001) = 89.910 ≤ 89.95: `b` goes in step 2, through arbitrage alone.
    let s = scenario(4, "arbitrage_speed = 1.0", "", &apart);
    assert_eq!(run(&s).0.qty, vec![0.0, 10.0, 3.0, 0.0]);
}

#[test]
fn an_index_lag_of_k_steps_delays_the_other_venues_trigger_by_exactly_k_steps() {
    let both = [("a", "venue", A_LONG), ("b", "mark", B_LONG)];
    for k in 0..=4u32 {
        let steps = k + 4;
        let s = scenario(
            steps,
            &format!("index_lag_steps = {k}\narbitrage_speed = 0.5"),
            "",
            &both,
        );
        let (obs, _) = run(&s);
        let mut expected = vec![0.0; steps as usize];
        expected[1] += 10.0;
        expected[1 + k as usize] += 3.0;
        assert_eq!(obs.qty, expected, "lag {k}");
        // The recorded mark is the index of k steps before (the start price before step 0).
        for t in 0..steps as usize {
            if t < k as usize {
                assert_eq!(obs.mark[t], 100.0, "lag {k}, step {t}");
            }
        }
        if k > 0 {
            assert!(obs.mark[k as usize] == 100.0 && obs.mark[1 + k as usize] < 89.95);
        }
    }
}

#[test]
fn arbitrage_closes_the_share_kappa_of_the_gap_every_step() {
    // All impact permanent, so no depth refills and only arbitrage moves the mids after
    // step 1: the log gap at the end of step 1 + n (before that step's arbitrage) is
    // (1 − κ)^n times the one `a`'s sale opened, 0.002.
    for kappa in [0.0f64, 0.1, 0.5, 0.9, 1.0] {
        let s = scenario(
            12,
            &format!("arbitrage_speed = {kappa}"),
            "permanent_impact = 1.0",
            &[("a", "venue", A_LONG)],
        );
        let (obs, _) = run(&s);
        assert_eq!(obs.spread[0], 0.0);
        let g0 = (1.0 + obs.spread[1]).ln();
        assert!(close(g0, 0.002, 1e-12), "{g0}");
        for n in 1..=10 {
            let g = (1.0 + obs.spread[1 + n]).ln();
            let law = (1.0 - kappa).powi(n as i32) * g0;
            assert!(
                (g - law).abs() <= 1e-12 * g0,
                "κ = {kappa}, n = {n}: gap {g} vs (1 − κ)^n·g0 = {law}"
            );
        }
    }
    // κ = 1 − 2^(−1/h) halves the gap every h steps.
    let kappa = 1.0 - 0.5f64.powf(1.0 / 3.0);
    assert!((arbitrage::half_life_steps(kappa) - 3.0).abs() < 1e-12);
}

/// A single-venue text and the same without venues.
fn single(venue: bool) -> Scenario {
    let (lag, venues) = if venue {
        (
            "index_lag_steps = 0",
            "[[assets.venues]]\nname = \"only\"\nweight = 2.5\n",
        )
    } else {
        ("", "")
    };
    let text = format!(
        r#"
[simulation]
paths = 8
steps = 200
seed = 9
[[assets]]
name = "X"
price = 100.0
volatility = 1.5
shocks = [{{ step = 20, return = -0.06 }}]
{lag}
[assets.book]
profile = "linear"
spread_bp = 1.0
level_spacing_bp = 5.0
levels = 50
depth_usd = 2e6
{venues}
[[populations]]
asset = "X"
count = 300
open_interest_usd = 5e7
long_share = 0.7
insurance_fund_usd = 1e5
auto_deleverage = true
size = {{ distribution = "lognormal", sigma = 1.0 }}
leverage = {{ values = [10, 25, 50], weights = [0.4, 0.4, 0.2] }}
"#
    );
    Scenario::parse(&text, "test", &NoFiles).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_venue_with_an_unlagged_index_is_the_asset_book_exactly() {
    let (plain, one) = (Market::new(&single(false)), Market::new(&single(true)));
    let mut liquidated = 0.0;
    for path in 0..8 {
        let mut pa = vec![AssetPathMetrics::default(); 1];
        let mut pb = vec![AssetPathMetrics::default(); 1];
        let a = simulate_path(&plain, path, &mut pa, &mut cascadesim::engine::NoObserver);
        let b = simulate_path(&one, path, &mut pb, &mut cascadesim::engine::NoObserver);
        assert_eq!(a, b, "path {path}");
        assert_eq!(pa, pb, "path {path}");
        liquidated += a.liquidated_notional;
    }
    // The comparison means something only if the paths liquidate.
    assert!(liquidated > 0.0);
}

proptest! {
    /// One arbitrage step contracts every pairwise log gap by exactly 1 − κ, keeps the
    /// weighted mean log mid, and never widens the spread.
    #[test]
    fn arbitrage_contracts_every_gap_by_one_minus_kappa(
        mids in prop::collection::vec(50.0f64..150.0, 2..6),
        raw_w in prop::collection::vec(0.01f64..1.0, 6),
        kappa in 0.0f64..=1.0,
    ) {
        let n = mids.len();
        let total: f64 = raw_w[..n].iter().sum();
        let w: Vec<f64> = raw_w[..n].iter().map(|x| x / total).collect();
        let mut s = vec![0.0; n];
        arbitrage::shifts(&mids, &w, kappa, &mut s);
        let after: Vec<f64> = mids.iter().zip(&s).map(|(m, d)| m * d.exp()).collect();
        for i in 0..n {
            for j in 0..n {
                let before = (mids[i] / mids[j]).ln();
                let now = (after[i] / after[j]).ln();
                prop_assert!((now - (1.0 - kappa) * before).abs() < 1e-12);
            }
        }
        let g = |m: &[f64]| m.iter().zip(&w).map(|(m, w)| w * m.ln()).sum::<f64>();
        prop_assert!((g(&after) - g(&mids)).abs() < 1e-12);
        prop_assert!(arbitrage::spread(&after) <= arbitrage::spread(&mids) + 1e-12);
        // The index lies between the smallest and the largest mid.
        let ix = arbitrage::index(&after, &w);
        let lo = after.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = after.iter().cloned().fold(0.0, f64::max);
        prop_assert!(ix >= lo * (1.0 - 1e-12) && ix <= hi * (1.0 + 1e-12));
    }
}

fn cascadesim(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cascadesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn the_bundled_venue_scenario_runs_records_the_spread_and_maps() {
    use cascadesim::output::h5;
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let scenario = "scenarios/two_venue_oracle.toml";
    let run = cascadesim(&["run", scenario, "--paths", "3", "--out", dir, "-q"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let h = out.path().join("two_venue_oracle/results.h5");
    let spread = h5::read_f64_column(&h, "/assets/BTC/max_venue_spread").unwrap();
    // The −3% shock sweeps the thin venue's bids: its mid leaves the deep venue's.
    assert_eq!(spread.len(), 3);
    assert!(spread.iter().all(|&s| s > 0.0 && s < 0.5), "{spread:?}");
    // A scenario without venues has no such dataset (its files are as before venues).
    let plain = cascadesim(&[
        "run",
        "scenarios/calm_market.toml",
        "--paths",
        "2",
        "--out",
        dir,
        "-q",
    ]);
    assert!(plain.status.success());
    let h = out.path().join("calm_market/results.h5");
    let names = h5::list_datasets(&h, "/assets/BTC").unwrap();
    assert!(names.iter().any(|n| n.ends_with("end_return")), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with("max_venue_spread")),
        "{names:?}"
    );
    // The heatmap maps every venue (tests/heatmap_sources.rs checks its numbers).
    let heat = cascadesim(&["heatmap", scenario, "--no-critical", "--out", dir, "-q"]);
    assert!(
        heat.status.success(),
        "{}",
        String::from_utf8_lossy(&heat.stderr)
    );
}

#[test]
fn sweeps_reach_the_venue_keys() {
    use cascadesim::sweep::path::{KeyPath, set_number};
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two_venue_oracle.toml"),
    )
    .unwrap();
    for (path, x) in [
        ("assets[0].arbitrage_speed", 0.9),
        ("assets[0].index_lag_steps", 3.0),
        ("assets[0].venues[1].depth_scale", 0.5),
        ("assets[0].venues[0].weight", 0.6),
    ] {
        let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
        set_number(&mut doc, &KeyPath::parse(path).unwrap(), x)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let edited = doc.to_string();
        assert_ne!(edited, text, "{path}");
    }
    // A typo in a venue key is refused with a suggestion, like every other key.
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    let e = set_number(
        &mut doc,
        &KeyPath::parse("assets[0].venues[1].depth_scal").unwrap(),
        1.0,
    )
    .unwrap_err();
    assert!(e.contains("depth_scale"), "{e}");
}
