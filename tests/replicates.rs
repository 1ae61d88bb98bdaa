//! Population replicates: which population a path trades against, that replicates are
//! reproducible and replayable alone, and the bar of issue 19: across independent seeds the
//! spread of the cascade probability is consistent with the intervals the summary reports.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, simulate_path};
use cascadesim::model::spec::Scenario;
use cascadesim::scenario::NoFiles;
use cascadesim::summary::Summary;
use cascadesim::{mc, metrics};

#[path = "common/files.rs"]
mod files;
use files::Files;
#[path = "common/provenance.rs"]
mod provenance;
use provenance::provenance;

/// A small flash crash: 300 positions with Pareto(1.6) sizes, so that which few large
/// positions are drawn, and where their liquidation prices fall, decides many paths.
fn small(seed: u64, paths: u64, replicates: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
paths = {paths}
steps = 30
seed = {seed}
max_rounds = 5
{replicates}
[simulation.cascade]
endogenous_move = 0.03
liquidated_oi_share = 0.15
[[assets]]
name = "BTC"
price = 100000.0
volatility = 0.5
shocks = [{{ step = 5, return = -0.07 }}]
[assets.book]
profile = "power_law"
power = -0.33
level_spacing_bp = 10.0
levels = 300
depth_usd = 20.0e6
depth_band_bp = 100
refill_half_life_s = 60
permanent_impact = 0.3
[[populations]]
asset = "BTC"
count = 300
open_interest_usd = 400.0e6
long_share = 0.62
maintenance_margin = 0.005
liquidation_fee = 0.005
insurance_fund_usd = 7.5e6
size = {{ distribution = "pareto", alpha = 1.6 }}
leverage = {{ values = [2, 3, 5, 10, 20, 50, 100], weights = [0.3, 0.2, 0.2, 0.15, 0.08, 0.05, 0.02] }}
entry = {{ distribution = "normal", mean = 0.0, sd = 0.10 }}
"#
    );
    Scenario::parse(&text, "small", &NoFiles).unwrap_or_else(|e| panic!("{e}"))
}

/// The summary `cascadesim run` would write (no tail fits: not needed here).
fn summary(s: &Scenario) -> Summary {
    let market = Market::new(s);
    let mut r = mc::run(
        &market,
        0,
        s.simulation.paths,
        &|_| {},
        &AtomicBool::new(false),
    )
    .expect("not cancelled");
    let columns = metrics::columns(&mut r);
    Summary::build(provenance(s, s.simulation.paths), &columns, &[])
}

#[test]
fn path_i_trades_against_replicate_i_mod_r_and_replays_alone() {
    let s = small(5, 40, "population_replicates = 8");
    let market = Market::new(&s);
    assert_eq!(market.replicate_count(), 8);
    assert_eq!(market.replicate_of(37), Some(5));
    // Replicates are different draws of the same population law.
    let (a, b) = (market.replicate(0), market.replicate(1));
    assert_ne!(a.positions[0].longs.liq, b.positions[0].longs.liq);
    assert_eq!(
        a.positions[0].longs.len() + a.positions[0].shorts.len(),
        300
    );
    let run = mc::run(&market, 0, 40, &|_| {}, &AtomicBool::new(false)).unwrap();
    // Path 37 replayed alone on a fresh market (which draws only replicate 5) is the same.
    let fresh = Market::new(&s);
    let mut per = vec![AssetPathMetrics::default(); 1];
    let alone = simulate_path(&fresh, 37, &mut per, &mut NoObserver);
    assert_eq!(alone, run.paths[37]);
    // Replicate 0 is the single population of `population_replicates = 1` (and of earlier
    // versions): paths 0 and 8 are the same under both, as is every path's price draws.
    let one = Market::new(&small(5, 40, "population_replicates = 1"));
    for path in [0u64, 8] {
        let x = simulate_path(&one, path, &mut per, &mut NoObserver);
        assert_eq!(x, run.paths[path as usize], "path {path}");
    }
    assert_eq!(
        one.replicate(0).positions[0].longs.liq,
        a.positions[0].longs.liq
    );
}

#[test]
fn the_summary_splits_the_noise_and_widens_the_interval() {
    let s = small(3, 256, "population_replicates = 16");
    let sum = summary(&s);
    let noise = sum
        .cascade_probability_noise
        .as_ref()
        .expect("replicates give noise components");
    let c = &noise.components;
    assert_eq!((c.replicates, c.degrees_of_freedom), (16, 15));
    assert!(
        (c.total_se.powi(2) - c.path_noise_se.powi(2) - c.population_noise_se.powi(2)).abs()
            < 1e-15
    );
    let (kg, w) = (&sum.cascade_probability, &sum.cascade_probability_path_only);
    assert_eq!(kg.estimate, w.estimate);
    assert_eq!(w.method, "wilson");
    // The interval over both sources contains the path-only one (up to the t vs z scaling at
    // no population noise, a few parts in a thousand of the width).
    let slack = 0.01 * (w.ci_high - w.ci_low);
    assert!(
        kg.ci_low <= w.ci_low + slack && kg.ci_high >= w.ci_high - slack,
        "{kg:?} {w:?}"
    );
    // Per-path populations and positions files have no population noise to estimate.
    let per_path = small(3, 64, "population = \"per_path\"");
    assert_eq!(per_path.replicates(), None);
    assert!(summary(&per_path).cascade_probability_noise.is_none());
}

#[test]
fn positions_files_have_one_replicate() {
    let text = r#"
[simulation]
paths = 4
steps = 3
population_replicates = 8
[[assets]]
name = "X"
price = 100.0
volatility = 0.2
[assets.book]
profile = "flat"
depth_usd = 1.0e6
[[populations]]
asset = "X"
maintenance_margin = 0.004
positions_file = "positions.csv"
"#;
    let files = Files(BTreeMap::from([(
        "positions.csv",
        "side,size,entry_price,leverage\nlong,1,100,10\n".to_string(),
    )]));
    let s = Scenario::parse(text, "csv", &files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.replicates(), None);
    assert_eq!(Market::new(&s).replicate_count(), 1);
}

/// The bar of issue 19. 200 independent seeds of the small crash (cascade probability about
/// 0.5), 256 paths each over 16 replicates; the pooled estimate (51,200 paths, 3,200
/// populations) stands in for the truth. If the reported 95% intervals are right, each
/// seed's interval covers it with probability about 0.95 (a little less: the pooled mean has
/// its own error, 1/√200 of one seed's). We require at least 180 of 200 (90%): at a true
/// coverage of 0.95 fewer happens with probability under 0.1% (3.2 standard deviations of
/// the binomial count), while intervals 30% too narrow (coverage ≈ 0.84) fail almost surely.
/// The mean squared z-score `(p̂_k − p̄)²/se_k²` must lie in [0.7, 1.7]: for t on 15 degrees
/// of freedom its expectation is 15/13 ≈ 1.15 and its standard error over 200 seeds ≈ 0.13.
/// The path-only (Wilson) intervals must fail the coverage check (fewer than 80%): the
/// scenario does have population noise, so the check can tell right intervals from wrong.
/// The seeds are fixed, so the test is deterministic; the tolerances say how unlikely a
/// failure of correct intervals would be. (51,200 short paths: about 8 s in a debug build,
/// so it runs with every `cargo test`.)
#[test]
fn replicate_intervals_cover_the_spread_across_seeds() {
    const SEEDS: u64 = 200;
    let runs: Vec<Summary> = (0..SEEDS)
        .map(|k| summary(&small(1_000 + k, 256, "population_replicates = 16")))
        .collect();
    let pooled = runs
        .iter()
        .map(|s| s.cascade_probability.estimate)
        .sum::<f64>()
        / SEEDS as f64;
    let covers = |p: &cascadesim::stats::Proportion| p.ci_low <= pooled && pooled <= p.ci_high;
    let total = runs
        .iter()
        .filter(|s| covers(&s.cascade_probability))
        .count();
    let path_only = runs
        .iter()
        .filter(|s| covers(&s.cascade_probability_path_only))
        .count();
    let z2 = runs
        .iter()
        .map(|s| {
            let se = s
                .cascade_probability_noise
                .as_ref()
                .unwrap()
                .components
                .total_se;
            ((s.cascade_probability.estimate - pooled) / se).powi(2)
        })
        .sum::<f64>()
        / SEEDS as f64;
    let (path_se, pop_se) = runs.iter().fold((0.0, 0.0), |(a, b), s| {
        let c = &s.cascade_probability_noise.as_ref().unwrap().components;
        (
            a + c.path_noise_se / SEEDS as f64,
            b + c.population_noise_se / SEEDS as f64,
        )
    });
    eprintln!(
        "pooled {pooled:.4}; covered by {total}/{SEEDS} intervals (path-only: {path_only}/{SEEDS}); mean z² {z2:.3}; mean se: path {path_se:.4}, population {pop_se:.4}"
    );
    assert!(
        total >= 180,
        "{total}/{SEEDS} intervals cover the pooled estimate"
    );
    assert!((0.7..=1.7).contains(&z2), "mean squared z-score {z2}");
    assert!(
        path_only < 160,
        "path-only intervals cover {path_only}/{SEEDS}: the scenario shows no population noise"
    );
}
