//! The desk tools through the binary (issue 24): `cascadesim population` (CSV read back as a
//! `positions_file` gives the same liquidation prices; HDF5; which draws exist) and
//! `cascadesim check` (liquidation price against the margin formula, the nearest cluster and
//! the no-trade buffer with their exit statuses, JSON keys, bad positions, and the Monte
//! Carlo part against paths whose outcome is known).

use std::process::Output;

use cascadesim::model::margin::{MarginSchedule, liquidation_price};
use cascadesim::output::h5;

mod common;
use common::cli::{folder_with, run_in as cascadesim, text};

const BOOK: &str = r#"[assets.book]
profile = "flat"
spread_bp = 1.0
level_spacing_bp = 1.0
levels = 3000
depth_usd = 2.0e6
permanent_impact = 0.5
refill_half_life_s = 60
"#;

/// A synthetic population on one asset at 100 (fixed, 3 replicates).
fn synthetic(extra: &str) -> String {
    format!(
        r#"[simulation]
paths = 10
steps = 20
seed = 7
population_replicates = 3
[simulation.cascade]
endogenous_move = 0.02
[[assets]]
name = "X"
price = 100.0
volatility = 0.5
{BOOK}
[[populations]]
name = "perp"
asset = "X"
count = 2000
open_interest_usd = 5.0e6
long_share = 0.6
size = {{ distribution = "lognormal", sigma = 1.0 }}
leverage = {{ values = [5, 10, 25], weights = [0.5, 0.3, 0.2] }}
entry = {{ distribution = "normal", mean = 0.0, sd = 0.05 }}
[[populations.margin_tiers]]
from_notional_usd = 0
rate = 0.004
[[populations.margin_tiers]]
from_notional_usd = 5000
rate = 0.01
{extra}"#
    )
}

/// The same population read from `file`.
fn from_file(file: &str) -> String {
    format!(
        r#"[simulation]
paths = 10
steps = 20
seed = 7
[[assets]]
name = "X"
price = 100.0
volatility = 0.5
{BOOK}
[[populations]]
name = "perp"
asset = "X"
positions_file = "{file}"
[[populations.margin_tiers]]
from_notional_usd = 0
rate = 0.004
[[populations.margin_tiers]]
from_notional_usd = 5000
rate = 0.01
"#
    )
}

fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(i).unwrap().to_string())
        .collect()
}

fn numbers(csv: &str, name: &str) -> Vec<f64> {
    column(csv, name)
        .iter()
        .map(|x| x.parse().unwrap())
        .collect()
}

#[test]
fn population_csv_reads_back_as_a_positions_file_with_the_same_liquidation_prices() {
    let dir = folder_with(&[("s.toml", &synthetic(""))]);
    let o = cascadesim(dir.path(), &["population", "s.toml", "--out", "p.csv"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("2000 positions of replicate 0"));
    let first = std::fs::read_to_string(dir.path().join("p.csv")).unwrap();
    assert_eq!(
        first.lines().next().unwrap(),
        "population,asset,venue,side,size,entry_price,leverage,liquidation_price"
    );
    assert_eq!(first.lines().count(), 2001);
    // Every row's liquidation price is the tiered formula's.
    let sched = MarginSchedule::tiered(&[(0.0, 0.004), (5000.0, 0.01)]);
    let (size, entry, lev, liq) = (
        numbers(&first, "size"),
        numbers(&first, "entry_price"),
        numbers(&first, "leverage"),
        numbers(&first, "liquidation_price"),
    );
    for (i, side) in column(&first, "side").iter().enumerate() {
        let n = size[i] * entry[i];
        let want = liquidation_price(side == "long", size[i], entry[i], n / lev[i], sched.tier(n));
        assert!((want - liq[i]).abs() <= 1e-12 * liq[i], "row {i}");
    }

    std::fs::write(dir.path().join("back.toml"), from_file("p.csv")).unwrap();
    let o = cascadesim(dir.path(), &["population", "back.toml", "--out", "q.csv"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let second = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    let again = numbers(&second, "liquidation_price");
    assert_eq!(again.len(), liq.len());
    // The margin is recomputed from the written leverage: equal to a few ulps.
    for (a, b) in liq.iter().zip(&again) {
        assert!((a - b).abs() <= 1e-12 * a, "{a} vs {b}");
    }
    assert_eq!(column(&first, "side"), column(&second, "side"));

    // The same table as HDF5.
    let o = cascadesim(dir.path(), &["population", "s.toml", "--out", "p.h5", "-q"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let h = h5::read_f64_column(&dir.path().join("p.h5"), "positions/liquidation_price").unwrap();
    assert_eq!(h, liq);
}

#[test]
fn population_draws_other_replicates_and_refuses_missing_ones() {
    let dir = folder_with(&[("s.toml", &synthetic(""))]);
    let run = |args: &[&str]| cascadesim(dir.path(), args);
    assert!(
        run(&["population", "s.toml", "--out", "a.csv"])
            .status
            .success()
    );
    assert!(
        run(&["population", "s.toml", "--out", "b.csv", "--replicate", "2"])
            .status
            .success()
    );
    let a = std::fs::read_to_string(dir.path().join("a.csv")).unwrap();
    let b = std::fs::read_to_string(dir.path().join("b.csv")).unwrap();
    assert_ne!(a, b, "replicate 2 is another draw");
    for (args, needle) in [
        (
            &["population", "s.toml", "--out", "c.csv", "--replicate", "3"][..],
            "has 3 population replicates",
        ),
        (
            &["population", "s.toml", "--out", "c.csv", "--path", "1"][..],
            "--path needs population = \"per_path\"",
        ),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(text(&o.stderr).contains(needle), "{}", text(&o.stderr));
        assert!(!dir.path().join("c.csv").exists());
    }
    // A file of another asset is refused when read as a positions file.
    let other = a.replace(",X,X,", ",Y,Y,");
    std::fs::write(dir.path().join("other.csv"), other).unwrap();
    std::fs::write(dir.path().join("o.toml"), from_file("other.csv")).unwrap();
    let o = run(&["validate", "o.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is not this population's asset"),
        "{}",
        text(&o.stderr)
    );
}

/// Explicit positions: 200 longs liquidated between 90 and 91 (a cluster), nothing else.
fn clustered(buffer: &str, shock: f64) -> (String, String) {
    let mut csv = String::from("side,size,entry_price,liquidation_price\n");
    for i in 0..200 {
        let _ = std::fmt::Write::write_fmt(
            &mut csv,
            format_args!("long,100,100,{}\n", 90.0 + f64::from(i) * 0.005),
        );
    }
    let toml = format!(
        r#"[simulation]
paths = 10
steps = 5
seed = 3
[simulation.cascade]
endogenous_move = 0.02
[[assets]]
name = "X"
price = 100.0
volatility = 0.01
shocks = [{{ step = 1, return = {shock} }}]
{BOOK}
[[populations]]
name = "perp"
asset = "X"
positions_file = "p.csv"
margin_tiers = [{{ from_notional_usd = 0, rate = 0.005 }}]
{buffer}"#
    );
    (toml, csv)
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn check_reports_the_cluster_and_the_buffer_with_its_exit_status() {
    let (toml, csv) = clustered("[check]\nno_trade_buffer = \"1%\"", 0.0);
    let dir = folder_with(&[("s.toml", &toml), ("p.csv", &csv)]);
    // Liquidated at 100·(1 − 1/10)/(1 − 0.005) = 90.452…: inside the cluster's zone.
    let near = "long 1 X @ 100 x10";
    // Liquidated at 100·(1 − 1/2)/(1 − 0.005) = 50.25: 40 points below the cluster.
    let far = "long 1 X @ 100 x2";
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            near,
            "--position",
            far,
            "--paths",
            "0",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let rows = json_lines(&o);
    assert_eq!(rows.len(), 2);
    let liq = rows[0]["liquidation_price"].as_f64().unwrap();
    assert!((liq - 90.0 / 0.995).abs() < 1e-9, "{liq}");
    assert_eq!(rows[0]["no_trade_buffer"]["inside"], true);
    assert_eq!(rows[0]["no_trade_buffer"]["distance_pct"], 0.0);
    assert_eq!(rows[0]["nearest_cluster"]["side"], "long");
    let notional = rows[0]["nearest_cluster"]["notional"].as_f64().unwrap();
    assert!(notional > 0.5 * 200.0 * 100.0 * 90.0, "{notional}");
    assert_eq!(rows[1]["no_trade_buffer"]["inside"], false);
    let d = rows[1]["no_trade_buffer"]["distance_pct"].as_f64().unwrap();
    assert!(d > 35.0 && d < 41.0, "{d}");
    assert!(
        rows[1]["no_trade_buffer"]["distance_sigmas"]
            .as_f64()
            .unwrap()
            > 10.0
    );
    assert!(rows[0]["monte_carlo"].is_null());
    let now = rows[0]["slippage"]["now_pct"].as_f64().unwrap();
    assert!(now > 0.0 && now < 0.01, "a 100 USD buy on a 2M book: {now}");

    // Only the far one: exit 0; the terminal report fits in 100 columns.
    let o = cascadesim(
        dir.path(),
        &["check", "s.toml", "--position", far, "--paths", "0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("outside the 1% no-trade buffer"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    // The σ form of the buffer on the command line: 0 σ apart is inside any buffer.
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            near,
            "--paths",
            "0",
            "--buffer",
            "0.5 sigma",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn check_refuses_bad_positions_naming_the_argument() {
    let (toml, csv) = clustered("", 0.0);
    let dir = folder_with(&[("s.toml", &toml), ("p.csv", &csv)]);
    std::fs::write(
        dir.path().join("bad.csv"),
        "side,size,entry_price,leverage\nlong,1,100,500\nup,1,100,5\n",
    )
    .unwrap();
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            "long 1 Y x5",
            "--position",
            "long 1 X",
            "--positions",
            "bad.csv",
            "--buffer",
            "2 bananas",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(
        e.contains("--buffer: \"2 bananas\" is not a distance"),
        "{e}"
    );
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            "long 1 Y x5",
            "--position",
            "long 1 X",
            "--positions",
            "bad.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    for needle in [
        "--position \"long 1 Y x5\": unknown asset \"Y\"",
        "--position \"long 1 X\": too few words",
        "bad.csv:2: leverage must be > 1 and below",
        "bad.csv:3: column `side`",
    ] {
        assert!(e.contains(needle), "{needle} in {e}");
    }
    assert!(!e.contains("panicked"));

    // A list too long for the Monte Carlo part is refused unless that part is skipped.
    let many = "side,size,entry_price,leverage\n".to_string() + &"long,1,100,5\n".repeat(1001);
    std::fs::write(dir.path().join("many.csv"), many).unwrap();
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--positions",
            "many.csv",
            "--paths",
            "10",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("1001 positions: the Monte Carlo part"),
        "{}",
        text(&o.stderr)
    );
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--positions",
            "many.csv",
            "--paths",
            "0",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(json_lines(&o).len(), 1001);
}

#[test]
fn monte_carlo_odds_match_paths_whose_outcome_is_known() {
    // A −20% shock at step 1 on a 1% volatility: every path falls through 90 and past the
    // 10× long's liquidation (90.45); the 2× long (50.25) is never reached.
    let (toml, csv) = clustered("", -0.2);
    let dir = folder_with(&[("s.toml", &toml), ("p.csv", &csv)]);
    let o = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            "long 1 X @ 100 x10",
            "--position",
            "long 1 X @ 100 x2",
            "--paths",
            "50",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rows = json_lines(&o);
    let p = |r: usize, k: &str| rows[r]["monte_carlo"][k]["estimate"].as_f64().unwrap();
    assert_eq!(rows[0]["monte_carlo"]["paths"], 50);
    assert_eq!(p(0, "liquidated"), 1.0);
    // Liquidated on every path: on a cascade path exactly when the path cascades.
    assert_eq!(p(0, "liquidated_on_cascade_path"), p(0, "cascade"));
    assert_eq!(p(1, "liquidated"), 0.0);
    assert_eq!(p(1, "liquidated_on_cascade_path"), 0.0);
    // Same seed, same answer.
    let again = cascadesim(
        dir.path(),
        &[
            "check",
            "s.toml",
            "--position",
            "long 1 X @ 100 x10",
            "--position",
            "long 1 X @ 100 x2",
            "--paths",
            "50",
            "--json",
            "--threads",
            "1",
        ],
    );
    assert_eq!(text(&again.stdout), text(&o.stdout));
}

/// An unnamed population goes by its key path in `check`'s output, and `on populations[0]`
/// names it (it printed `on  (margin`, and the key path was an unknown population).
#[test]
fn an_unnamed_population_goes_by_its_key_path() {
    let o = common::cli::run(&[
        "check",
        "tests/data/tiny.toml",
        "--position",
        "long 1 BTC x10 on populations[0]",
        "--paths",
        "0",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("on populations[0] (margin"), "{out}");
}
