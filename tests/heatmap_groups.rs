//! The heatmap's cross-asset groups and pair map (`cascadesim::heatmap::groups`, `pair`, and
//! `cascadesim heatmap --pair`): a planted group on two correlated assets is found with
//! exactly its members, the same positions on independent assets are not grouped together,
//! the pair map equals the population's sums, and bad `--pair` names are bad input.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use cascadesim::heatmap::clusters::Side;
use cascadesim::heatmap::{self, HeatmapReport, Options};
use cascadesim::model::spec::Scenario;

mod common;
use common::cli::{json, run};

#[path = "common/files.rs"]
mod files;
use files::Files;

/// One-day σ of both assets: annual volatility `0.02·√365`.
const DAILY: f64 = 0.02;

/// Longs at 100 whose liquidation prices sit at `count` triggers evenly over `z ± half`
/// one-day σ, each of `size` coins.
fn longs(csv: &mut String, z: f64, half: f64, count: usize, size: f64) {
    for k in 0..count {
        let zk = z - half + 2.0 * half * k as f64 / (count - 1) as f64;
        let liq = 100.0 * (zk * DAILY).exp();
        let _ = writeln!(csv, "long,{size},100,{liq}");
    }
}

/// Assets A and B at 100 with correlation `rho`, each with the positions CSV given.
fn two_assets(rho: f64, a: &str, b: &str) -> Scenario {
    let vol = DAILY * 365f64.sqrt();
    let asset = |name: &str| {
        format!(
            r#"
[[assets]]
name = "{name}"
price = 100.0
volatility = {vol}
[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 3000
depth_usd = 1.0e6
refill_half_life_s = 60
"#
        )
    };
    let text = format!(
        r#"
[simulation]
paths = 1
steps = 10
seed = 1
{}{}
[correlation]
matrix = [[1.0, {rho}], [{rho}, 1.0]]
[[populations]]
asset = "A"
positions_file = "a.csv"
maintenance_margin = 0.004
[[populations]]
asset = "B"
positions_file = "b.csv"
maintenance_margin = 0.004
"#,
        asset("A"),
        asset("B")
    );
    let files = Files(BTreeMap::from([
        ("a.csv", a.to_string()),
        ("b.csv", b.to_string()),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

const HEAD: &str = "side,size,entry_price,liquidation_price\n";

/// 50 planted longs at −1.5σ (±0.03σ) of 10 coins on each asset, and 20 small longs from
/// −4σ to −5σ (0.1 coin) as a background too thin to be a group.
fn planted(rho: f64) -> HeatmapReport {
    let mut a = HEAD.to_string();
    let mut b = HEAD.to_string();
    for csv in [&mut a, &mut b] {
        longs(csv, -1.5, 0.03, 50, 10.0);
        longs(csv, -4.5, 0.5, 20, 0.1);
    }
    let s = two_assets(rho, &a, &b);
    let options = Options {
        critical: false,
        ..Options::default()
    };
    heatmap::analyze(&s, &options).expect("valid options")
}

#[test]
fn a_planted_group_on_correlated_assets_is_found_with_exactly_its_members() {
    let r = planted(0.95);
    let g = r.groups.as_ref().expect("two assets have a groups section");
    assert!((g.eps - 0.204).abs() < 1e-3, "one hour's σ: {}", g.eps);
    assert_eq!(g.groups.len(), 1, "{:#?}", g.groups);
    let x = &g.groups[0];
    assert!(x.cross_asset);
    assert_eq!(x.positions, 100);
    assert_eq!(x.parts.len(), 2);
    for p in &x.parts {
        assert_eq!(p.side, Side::Long);
        assert_eq!(p.positions, 50, "{p:?}");
        // Members are the planted ladder: triggers within −1.5 ± 0.03σ.
        assert!(p.nearest_trigger_sigmas <= -1.469 && p.farthest_trigger_sigmas >= -1.531);
        assert!((p.trigger_sigmas + 1.5).abs() < 1e-3, "{p:?}");
    }
    // The joint move: each asset at its own trigger and the other at ρ times it, averaged.
    for m in &x.joint_move {
        let z = -1.5 * (1.0 + 0.95) / 2.0;
        assert!((m.sigmas - z).abs() < 1e-3, "{m:?}");
    }
    // The background is ungrouped and accounted for.
    let background: f64 = g.reachable_notional - x.notional;
    assert!((g.ungrouped_notional - background).abs() < 1e-6 * g.reachable_notional);
    assert!(g.ungrouped_notional > 0.0);
}

#[test]
fn the_same_positions_on_independent_assets_are_not_grouped_together() {
    let r = planted(0.0);
    let g = r.groups.as_ref().unwrap();
    assert_eq!(g.groups.len(), 2, "{:#?}", g.groups);
    for x in &g.groups {
        assert!(!x.cross_asset, "{x:?}");
        assert_eq!(x.parts.len(), 1);
        assert_eq!(x.positions, 50);
    }
    assert_ne!(g.groups[0].parts[0].asset, g.groups[1].parts[0].asset);
}

#[test]
fn the_pair_map_adds_the_positions_each_move_reaches() {
    // A: a long liquidated at 97 (2 coins) and a short at 103 (1); B: a long at 99 (5).
    let a = format!("{HEAD}long,2,100,97\nshort,1,100,103\n");
    let b = format!("{HEAD}long,5,100,99\n");
    let s = two_assets(0.5, &a, &b);
    let options = Options {
        critical: false,
        ..Options::default()
    };
    let r = heatmap::analyze(&s, &options).unwrap();
    let p = r.pair_map.as_ref().expect("two assets have a pair map");
    assert_eq!((p.a.asset.as_str(), p.b.asset.as_str()), ("A", "B"));
    assert_eq!(p.correlation, 0.5);
    let n = p.a.moves.len();
    // Corners: A −8.1% (4·(e^0.02 − 1)) reaches 97, B −8.1% reaches 99.
    assert_eq!(p.notional[0][0], 2.0 * 97.0 + 5.0 * 99.0);
    // A +8.1% reaches the short at 103; B up reaches nothing.
    assert_eq!(p.notional[n - 1][n - 1], 103.0);
    // No move: nothing.
    assert_eq!(p.notional[n / 2][n / 2], 0.0);
    // A −2% (the first grid point at or below it) and B 0: the long at 97 is not reached.
    let i = p.a.moves.iter().rposition(|m| *m <= -0.02).unwrap();
    assert!(p.a.moves[i] > -0.03);
    assert_eq!(p.notional[i][n / 2], 0.0);
    let i3 = p.a.moves.iter().rposition(|m| *m <= -0.03).unwrap();
    assert_eq!(p.notional[i3][n / 2], 194.0);
}

#[test]
fn the_command_writes_groups_and_the_pair_map_and_refuses_bad_pairs() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("results");
    let d = dest.to_str().unwrap();
    let scenario = "scenarios/eth_high_leverage.toml";
    for (pair, says) in [
        (
            "ETH,DOGE",
            "no asset \"DOGE\" in the scenario; its assets: \"ETH\", \"BTC\"",
        ),
        ("ETH", "two asset names separated by a comma"),
        ("ETH,ETH", "names \"ETH\" twice"),
        ("SOL,DOGE", "no asset \"SOL\" and no asset \"DOGE\""),
    ] {
        let o = run(&[
            "heatmap",
            scenario,
            "--no-critical",
            "--pair",
            pair,
            "--out",
            d,
        ]);
        assert_eq!(o.status.code(), Some(2), "--pair {pair}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "--pair {pair}: {err}");
        assert!(!dest.exists(), "nothing is written");
    }
    // One asset: no pair to draw.
    let o = run(&[
        "heatmap",
        "tests/data/tiny.toml",
        "--pair",
        "BTC,ETH",
        "--out",
        d,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "heatmap",
        scenario,
        "--no-critical",
        "--pair",
        "BTC,ETH",
        "-q",
        "--out",
        d,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = dest.join("eth_high_leverage-heatmap");
    for f in ["pair_map_BTC_ETH.png", "pair_map_BTC_ETH.svg"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let j = json(&dir.join("heatmap.json"));
    assert_eq!(j["pair_map"]["a"]["asset"], "BTC");
    assert_eq!(j["pair_map"]["notional"].as_array().unwrap().len(), 81);
    assert!(j["groups"]["groups"].as_array().is_some());
    assert_eq!(j["groups"]["eps_rule"], "one hour");
    let h5 = dir.join("heatmap.h5");
    let h = cascadesim::output::h5::read_attr_str(&h5, "pair_map", "asset_a").unwrap();
    assert_eq!(h, "BTC");
    let (cells, rows, cols) =
        cascadesim::output::h5::read_f64_matrix(&h5, "pair_map/notional").unwrap();
    assert_eq!((rows, cols), (81, 81));
    assert_eq!(cells[0], j["pair_map"]["notional"][0][0].as_f64().unwrap());
    let parts = cascadesim::output::h5::list_datasets(&h5, "groups/parts").unwrap();
    assert!(
        parts.iter().any(|d| d == "farthest_trigger_sigmas"),
        "{parts:?}"
    );
}
