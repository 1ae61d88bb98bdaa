//! The liquidation cluster map on venues and lending, and its anomaly flag: one venue equal
//! to the asset without venues, two identical venues double it, lending collateral sold at
//! the predicted trigger price, a planted cluster behind a thin book flagged and a uniform
//! population not, and the command on the two bundled scenarios with venues and lending.

use std::collections::BTreeMap;

use cascadesim::heatmap::depth::DepthCurve;
use cascadesim::heatmap::{self, AssetHeatmap, HeatmapReport, Options};
use cascadesim::model::spec::Scenario;
use cascadesim::output::h5;

mod common;
use common::cli::{assert_fits_80, json, run};

#[path = "common/files.rs"]
mod files;
use files::Files;

/// Longs and shorts with given liquidation prices (a cluster around 95 and one around 104).
fn positions() -> String {
    let mut csv = String::from("side,size,entry_price,liquidation_price\n");
    for i in 0..20 {
        csv.push_str(&format!("long,10,100,{}\n", 95.0 + 0.02 * i as f64));
        csv.push_str(&format!("short,4,100,{}\n", 104.0 + 0.03 * i as f64));
    }
    csv.push_str("long,3,100,80\n");
    csv
}

/// Asset X at 100 on a flat book (`depth_usd` within 1%, levels every 1 bp), with `venues`
/// (TOML of `[[assets.venues]]` tables, or empty: with venues the index is live and
/// arbitrage closes half the gap), `populations` (TOML) and `lending` (TOML), reading
/// `positions.csv`.
fn scenario(depth_usd: f64, venues: &str, populations: &str, lending: &str) -> Scenario {
    let index = if venues.is_empty() {
        ""
    } else {
        "index_lag_steps = 0\narbitrage_speed = 0.5"
    };
    let text = format!(
        r#"
[simulation]
paths = 1
steps = 10
seed = 1
max_rounds = 100000
[simulation.cascade]
endogenous_move = 0.03
[[assets]]
name = "X"
price = 100.0
volatility = 0.5
{index}
[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 6000
depth_usd = {depth_usd}
permanent_impact = 0.3
refill_half_life_s = 60
{venues}
{populations}
{lending}
"#
    );
    let files = Files(BTreeMap::from([("positions.csv", positions())]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn population(venue: Option<&str>) -> String {
    let venue = venue.map_or(String::new(), |v| format!("venue = \"{v}\"\n"));
    format!(
        "[[populations]]\nasset = \"X\"\npositions_file = \"positions.csv\"\nmaintenance_margin = 0.004\n{venue}"
    )
}

fn analyze(s: &Scenario, critical: bool) -> HeatmapReport {
    let o = Options {
        critical,
        ..Options::default()
    };
    heatmap::analyze(s, &o).expect("valid options")
}

/// Equal to the bit (the depth curves hold NaN beyond the book).
fn same(a: &DepthCurve, b: &DepthCurve) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    a.multiplier == b.multiplier && bits(&a.qty) == bits(&b.qty) && bits(&a.usd) == bits(&b.usd)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0) || (a.is_nan() && b.is_nan())
}

fn all_close(a: &[f64], b: &[f64], factor: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, factor * y))
}

#[test]
fn one_venue_gives_the_map_of_the_asset_without_venues() {
    let plain = analyze(&scenario(1e6, "", &population(None), ""), true);
    let venue = "[[assets.venues]]\nname = \"only\"\nweight = 1.0\n";
    let one = analyze(&scenario(1e6, venue, &population(Some("only")), ""), true);
    let (p, o) = (&plain.assets[0], &one.assets[0]);
    assert!(p.venues.is_empty());
    assert_eq!(o.venues.len(), 1);
    assert_eq!(p.long, o.long);
    assert_eq!(p.short, o.short);
    assert_eq!(p.cumulative, o.cumulative);
    assert!(same(&p.depth, &o.depth));
    assert_eq!(p.clusters, o.clusters);
    assert_eq!(p.crowding, o.crowding);
    // The venue's own columns are the total.
    let v = &o.venues[0];
    assert_eq!((v.venue.as_str(), v.weight), ("only", 1.0));
    assert_eq!(v.long, o.long);
    assert_eq!(v.short, o.short);
    assert!(same(&v.depth, &o.depth));
    // The critical shock runs the engine with its one venue: the same run.
    let (cp, co) = (p.critical.as_ref().unwrap(), o.critical.as_ref().unwrap());
    assert_eq!(cp.down.shock, co.down.shock);
    assert_eq!(cp.up.shock, co.up.shock);
    assert_eq!(p.score.value, o.score.value);
}

#[test]
fn two_identical_venues_double_the_notional_and_the_depth() {
    let plain = analyze(&scenario(1e6, "", &population(None), ""), false);
    let venues = "[[assets.venues]]\nname = \"a\"\nweight = 1.0\n[[assets.venues]]\nname = \"b\"\nweight = 1.0\n";
    let pops = format!("{}\n{}", population(Some("a")), population(Some("b")));
    let two = analyze(&scenario(1e6, venues, &pops, ""), false);
    let (p, t) = (&plain.assets[0], &two.assets[0]);
    assert!(all_close(&t.long.notional, &p.long.notional, 2.0));
    assert!(all_close(&t.short.qty, &p.short.qty, 2.0));
    assert!(all_close(
        &t.cumulative.long_notional,
        &p.cumulative.long_notional,
        2.0
    ));
    assert!(all_close(&t.depth.qty, &p.depth.qty, 2.0));
    assert!(all_close(&t.depth.usd, &p.depth.usd, 2.0));
    assert_eq!(t.clusters.len(), p.clusters.len());
    for (c2, c1) in t.clusters.iter().zip(&p.clusters) {
        assert!(close(c2.notional, 2.0 * c1.notional));
        assert!(close(c2.depth_in_front.qty, 2.0 * c1.depth_in_front.qty));
        // Twice the size against twice the book: the same ratio and flag.
        assert!(close(
            c2.notional_to_depth.unwrap(),
            c1.notional_to_depth.unwrap()
        ));
        assert_eq!(c2.anomaly, c1.anomaly);
        assert_eq!(c2.centre_price, c1.centre_price);
    }
    assert_eq!(t.venues.len(), 2);
    for v in &t.venues {
        assert_eq!(v.long, p.long, "venue {}", v.venue);
        assert!(same(&v.depth, &p.depth), "venue {}", v.venue);
        assert_eq!(v.weight, 0.5);
    }
    // Crowding counts both venues' open interest.
    assert!(close(
        t.crowding.long_open_interest,
        2.0 * p.crowding.long_open_interest
    ));
}

/// A lending market on X (and on Y when `other_share > 0`): `accounts` accounts with
/// `debt_usd` in total, every start health factor `hf`, LT 0.8, bonus 5%, close factor 0.5.
fn lending(hf: f64, other_share: f64) -> String {
    let mut t = format!(
        r#"[[lending]]
name = "M"
accounts = 50
debt_usd = 1.0e6
debt_sigma = 0.5
health_factor = {{ min = {hf}, max = {hf} }}
close_factor = 0.5
[[lending.collateral]]
asset = "X"
share = {}
liquidation_threshold = 0.8
bonus = 0.05
"#,
        1.0 - other_share
    );
    if other_share > 0.0 {
        t.push_str(&format!(
            "[[lending.collateral]]\nasset = \"Y\"\nshare = {other_share}\nliquidation_threshold = 0.8\nbonus = 0.05\n"
        ));
    }
    t
}

fn lending_only(lending: &str, second_asset: bool) -> AssetHeatmap {
    let y = if second_asset {
        "[[assets]]\nname = \"Y\"\nprice = 50.0\nvolatility = 0.5\n[assets.book]\nprofile = \"flat\"\nspread_bp = 1.0\nlevel_spacing_bp = 1.0\nlevels = 6000\ndepth_usd = 1e6\n"
    } else {
        ""
    };
    let s = scenario(1e6, "", &format!("{y}\n{}", population(None)), lending);
    analyze(&s, false).assets.remove(0)
}

#[test]
fn lending_collateral_is_sold_at_the_predicted_trigger_price() {
    // One collateral: HF = 1.3·p/100 falls below 1 at p = 100/1.3. The first call repays
    // half the debt and seizes 1.05 × that in collateral at the trigger price: in total
    // 0.5·1.05·$1M of value, 0.525e6/(100/1.3) coins, all in the bin of 100/1.3.
    let a = lending_only(&lending(1.3, 0.0), false);
    let without = analyze(&scenario(1e6, "", &population(None), ""), false)
        .assets
        .remove(0);
    assert_eq!(a.lending.len(), 1);
    let l = &a.lending[0];
    assert_eq!((l.market.as_str(), l.accounts), ("M", 50));
    assert_eq!(
        (l.out_of_reach_accounts, l.seized_elsewhere_accounts),
        (0, 0)
    );
    let trigger = 100.0 / 1.3;
    let j = a.grid.bin_of(trigger).unwrap();
    let nonzero: Vec<usize> = (0..a.grid.bins)
        .filter(|&k| l.sales.notional[k] != 0.0)
        .collect();
    assert_eq!(nonzero, vec![j]);
    assert_eq!(l.sales.positions[j], 50);
    assert!(
        close(l.sales.notional[j], 0.525e6),
        "{}",
        l.sales.notional[j]
    );
    assert!(close(l.sales.qty[j], 0.525e6 / trigger));
    // The sales join the long side of the map (what a fall liquidates); crowding does not.
    assert!(close(
        a.long.notional[j],
        without.long.notional[j] + 0.525e6
    ));
    let k = a.grid.edges().iter().position(|&e| e > trigger).unwrap() - 1;
    assert!(close(
        a.cumulative.long_notional[k],
        without.cumulative.long_notional[k] + 0.525e6
    ));
    assert_eq!(a.crowding, without.crowding);
    // The sales are a cluster of the 50 accounts, centred on the trigger price.
    let c = a
        .clusters
        .iter()
        .find(|c| c.price_low <= trigger && trigger < c.price_high)
        .expect("a cluster at the trigger price");
    assert_eq!(c.positions, 50);
    assert!(close(c.centre_price, trigger), "{c:#?}");
}

#[test]
fn a_seizure_of_the_other_collateral_is_counted_apart() {
    // Half X, half Y, HF 1.3: X alone takes HF below 1 at p = 100·(1 − 0.65)/0.65; there
    // the Y collateral is worth more, so the liquidator seizes Y (sold into Y's book).
    let a = lending_only(&lending(1.3, 0.5), true);
    let l = &a.lending[0];
    assert_eq!(l.accounts, 50);
    assert_eq!(l.seized_elsewhere_accounts, 50);
    assert_eq!(l.sales.total_positions, 0);
    // Each call repays half the debt: 1.05 × 0.5 × $1M of Y seized in total.
    assert!(
        close(l.seized_elsewhere_usd, 0.525e6),
        "{}",
        l.seized_elsewhere_usd
    );
    // At HF 2.5 with a quarter in X, X alone never liquidates anyone: 2.5·0.75 > 1.
    let b = lending_only(&lending(2.5, 0.75), true);
    assert_eq!(b.lending[0].out_of_reach_accounts, 50);
    assert_eq!(b.lending[0].sales.total_positions, 0);
}

/// `n` longs of `size` coins with liquidation prices from `from` in steps of `step`.
fn ladder_csv(n: usize, size: f64, from: f64, step: f64) -> String {
    let mut csv = String::from("side,size,entry_price,liquidation_price\n");
    for i in 0..n {
        csv.push_str(&format!("long,{size},100,{}\n", from + step * i as f64));
    }
    csv
}

fn thin_book_map(csv: &str, o: &Options) -> AssetHeatmap {
    let text = r#"
[simulation]
paths = 1
steps = 10
seed = 1
[[assets]]
name = "X"
price = 100.0
volatility = 0.5
[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 6000
depth_usd = 1.0e5
[[populations]]
asset = "X"
positions_file = "positions.csv"
"#;
    let files = Files(BTreeMap::from([("positions.csv", csv.to_string())]));
    let s = Scenario::parse(text, "test", &files).unwrap_or_else(|e| panic!("{e}"));
    heatmap::analyze(&s, o).unwrap().assets.remove(0)
}

#[test]
fn a_huge_cluster_behind_a_thin_book_is_flagged_and_a_uniform_book_is_not() {
    // The book holds 10 coins per 1 bp level: about 4,900 coins between 100 and 95.2.
    // Planted: 20,000 coins liquidated at 95.0–95.38, four times that book.
    let no_critical = Options {
        critical: false,
        ..Options::default()
    };
    let planted = thin_book_map(&ladder_csv(20, 1000.0, 95.0, 0.02), &no_critical);
    assert_eq!(planted.clusters.len(), 1, "{:#?}", planted.clusters);
    let c = &planted.clusters[0];
    let r = c.notional_to_depth.unwrap();
    assert!(r > 3.5 && r < 4.5, "{r}");
    assert!(c.anomaly);
    // The threshold is the parameter: above the ratio, no flag.
    let strict = Options {
        anomaly_ratio: 5.0,
        ..no_critical
    };
    assert!(!thin_book_map(&ladder_csv(20, 1000.0, 95.0, 0.02), &strict).clusters[0].anomaly);
    // The same 20,000 coins spread evenly from 60 to 99 against the same book (about 510
    // coins per unit of price against the book's 1,000): even with every local maximum
    // taken as a cluster (prominence 0, zones as wide as the flat density allows), none
    // holds the book in front of it.
    let every_peak = Options {
        prominence: 0.0,
        ..no_critical
    };
    let uniform = thin_book_map(&ladder_csv(400, 50.0, 60.0, 0.0975), &every_peak);
    assert!(!uniform.clusters.is_empty());
    for c in &uniform.clusters {
        assert!(!c.anomaly, "{c:#?}");
        assert!(c.notional_to_depth.unwrap() < 1.0, "{c:#?}");
    }
}

#[test]
fn the_command_maps_the_bundled_scenarios_with_venues_and_lending() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    for (name, asset) in [
        ("two_venue_oracle", "BTC"),
        ("aave_collateral_contagion", "ETH"),
    ] {
        let o = run(&[
            "heatmap",
            &format!("scenarios/{name}.toml"),
            "--no-critical",
            "--out",
            dir,
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{name}: {stdout}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_fits_80("heatmap", stdout.lines());
        let folder = out.path().join(format!("{name}-heatmap"));
        let doc = json(&folder.join("heatmap.json"));
        let a = doc["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["asset"] == asset)
            .unwrap();
        let h = folder.join("heatmap.h5");
        let total =
            h5::read_f64_column(&h, &format!("/assets/{asset}/bins/long_notional")).unwrap();
        let mut sum = vec![0.0; total.len()];
        if name == "two_venue_oracle" {
            assert!(
                stdout.contains("venue") && stdout.contains("minor"),
                "{stdout}"
            );
            assert_eq!(a["venues"].as_array().unwrap().len(), 2);
            for v in ["major", "minor"] {
                let col = format!("/assets/BTC/venues/{v}/bins/long_notional");
                let part = h5::read_f64_column(&h, &col).unwrap();
                for (s, x) in sum.iter_mut().zip(part) {
                    *s += x;
                }
                let depth = format!("/assets/BTC/venues/{v}/edges/book_depth_qty");
                assert_eq!(
                    h5::read_f64_column(&h, &depth).unwrap().len(),
                    total.len() + 1
                );
            }
        } else {
            assert!(
                stdout.contains("lending") && stdout.contains("WETH"),
                "{stdout}"
            );
            assert_eq!(a["lending"].as_array().unwrap().len(), 2);
            // ETH has no perpetuals: its long side is the two markets' sales.
            // Numbered in scenario order; the name is the group's `market` attribute.
            for m in ["0", "1"] {
                let col = format!("/assets/ETH/lending/{m}/bins/sold_notional");
                let part = h5::read_f64_column(&h, &col).unwrap();
                for (s, x) in sum.iter_mut().zip(part) {
                    *s += x;
                }
            }
            assert!(sum.iter().sum::<f64>() > 1e8);
        }
        for (s, t) in sum.iter().zip(&total) {
            assert!(
                (s - t).abs() <= 1e-6 * t.abs().max(1.0),
                "{name}: {s} vs {t}"
            );
        }
        let names = h5::list_datasets(&h, &format!("/assets/{asset}/clusters")).unwrap();
        assert!(names.iter().any(|n| n.ends_with("anomaly")), "{names:?}");
        for c in a["clusters"].as_array().unwrap() {
            assert!(c["anomaly"].is_boolean(), "{c}");
        }
    }
}

/// A lending market's `name` is an optional label: two markets without one (or with the
/// same one) on the same collateral must still map, each in a group of its own.
#[test]
fn lending_markets_without_names_each_get_their_own_group() {
    let text = std::fs::read_to_string("scenarios/aave_collateral_contagion.toml").unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("name = \"WETH"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("unnamed.toml");
    std::fs::write(&path, text).unwrap();
    let dir = out.path().to_str().unwrap();
    let o = run(&[
        "heatmap",
        path.to_str().unwrap(),
        "--no-critical",
        "--quiet",
        "--out",
        dir,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = out.path().join("unnamed-heatmap").join("heatmap.h5");
    for m in ["0", "1"] {
        let col = format!("/assets/ETH/lending/{m}/bins/sold_notional");
        assert!(h5::read_f64_column(&h, &col).is_ok(), "{col}");
    }
}
