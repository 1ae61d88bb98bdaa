//! Cross-margin accounts (issue 23, item 2), through the library and the binary: two assets
//! with volatility 0 where only A moves (a scheduled shock), so which accounts are
//! liquidated, and at which A price, follows from arithmetic.

use std::collections::BTreeMap;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, simulate_path};
use cascadesim::model::spec::Scenario;

#[path = "common/files.rs"]
mod files;
use files::Files;

mod common;
use common::cli::{folder_with, run_in as cascadesim, text};

/// Each side: 2,000 USD per level, 200 levels 5 bp apart.
const BOOK: &str = r#"profile = "flat"
spread_bp = 1.0
level_spacing_bp = 5.0
levels = 200
depth_usd = 4.0e5
permanent_impact = 0.0
refill_half_life_s = 60"#;

/// A at 100 shocked by the simple return `shock` at step 1, B at 10 never moving, both
/// volatility 0, and the `[cross_margin]` table `cross`.
fn text_of(shock: f64, cross: &str) -> String {
    format!(
        r#"
[simulation]
paths = 1
steps = 4
seed = 1
max_rounds = 20
[simulation.cascade]
endogenous_move = 0.001
[[assets]]
name = "A"
price = 100.0
volatility = 0.0
shocks = [{{ step = 1, return = {shock} }}]
[assets.book]
{BOOK}
[[assets]]
name = "B"
price = 10.0
volatility = 0.0
[assets.book]
{BOOK}
[cross_margin]
{cross}
[[cross_margin.assets]]
asset = "A"
maintenance_margin = 0.01
[[cross_margin.assets]]
asset = "B"
maintenance_margin = 0.01
"#
    )
}

fn scenario(shock: f64, cross: &str, csv: &str) -> Scenario {
    let files = Files(BTreeMap::from([("accounts.csv", csv.to_string())]));
    Scenario::parse(&text_of(shock, cross), "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario) -> Vec<AssetPathMetrics> {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); 2];
    simulate_path(&market, 0, &mut per, &mut NoObserver);
    per
}

/// Long 1 A at 100 and long 10 B at 10 on 30 USD of collateral, 1% maintenance on both:
/// with B at 10 the slack `30 + (p_A − 100) − 0.01 p_A − 1` is 0 at `p_A = 71/0.99`.
const ONE: &str = "account,asset,side,size,entry_price,collateral\n\
                   x,A,long,1,100,30\n\
                   x,B,long,10,10,30\n";

#[test]
fn a_fall_in_a_alone_liquidates_the_b_position_at_the_predicted_a_price() {
    let star = 71.0 / 0.99;
    let above = run(&scenario(
        star * (1.0 + 1e-7) / 100.0 - 1.0,
        "file = \"accounts.csv\"",
        ONE,
    ));
    assert_eq!(above[1].cross_margin_liquidated_notional, 0.0);
    assert_eq!(above[0].cross_margin_triggered_accounts, 0.0);
    let below = run(&scenario(
        star * (1.0 - 1e-7) / 100.0 - 1.0,
        "file = \"accounts.csv\"",
        ONE,
    ));
    // Its 10 B sell into B's bids (the first level holds 200 B at 9.9995 less 5 bp): all of
    // B's closed notional is A's doing.
    let b = &below[1];
    assert!(
        b.cross_margin_liquidated_notional > 99.0 && b.cross_margin_liquidated_notional < 100.0
    );
    assert_eq!(
        b.cross_margin_liquidated_by_other,
        b.cross_margin_liquidated_notional
    );
    assert_eq!(below[0].cross_margin_triggered_accounts, 1.0);
    assert_eq!(below[1].cross_margin_triggered_accounts, 0.0);
    assert_eq!(below[0].cross_margin_liquidated_by_other, 0.0);
    // The populations' figure is not touched; B's mark moved by the sale.
    assert_eq!(b.liquidated_notional, 0.0);
    assert!(b.max_drawdown > 0.0);
}

/// Synthetic accounts long on both assets: A falling 30% liquidates B positions through
/// the shared accounts. With one asset per account (isolated positions) no B position is
/// closed: B never moves.
#[test]
fn only_a_falls_and_b_positions_go_through_shared_accounts() {
    let synthetic = |per: u32| {
        format!(
            "accounts = 2000\nnotional_usd = 2e5\nassets_per_account = {per}\nlong_share = 1.0\nleverage = {{ distribution = \"uniform\", min = 2, max = 20 }}"
        )
    };
    let shared = run(&scenario(-0.3, &synthetic(2), ""));
    assert!(
        shared[1].cross_margin_liquidated_by_other > 0.0,
        "{shared:?}"
    );
    assert_eq!(
        shared[1].cross_margin_liquidated_by_other,
        shared[1].cross_margin_liquidated_notional
    );
    assert!(shared[0].cross_margin_triggered_accounts > 0.0);
    let isolated = run(&scenario(-0.3, &synthetic(1), ""));
    assert!(isolated[0].cross_margin_liquidated_notional > 0.0);
    assert_eq!(isolated[1].cross_margin_liquidated_notional, 0.0);
    assert_eq!(isolated[1].cross_margin_liquidated_by_other, 0.0);
}

#[test]
fn bad_rows_and_keys_exit_2_naming_file_line_and_key_path() {
    let bad_csv =
        "account,asset,side,size,entry_price,collateral\nx,A,long,1,100,30\nx,C,long,1,10,30\n";
    let toml = text_of(-0.1, "file = \"accounts.csv\"\nliquidation = \"partial\"");
    let d = folder_with(&[("s.toml", &toml), ("accounts.csv", bad_csv)]);
    let out = cascadesim(d.path(), &["validate", "s.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("cross_margin.file: accounts.csv:3: column `asset`"),
        "{err}"
    );
    assert!(
        err.contains("cross_margin.liquidation: only \"close_all\""),
        "{err}"
    );
}

/// The accounts' figures show in the terminal summary (within 80 columns) and in the report;
/// a run without accounts shows none.
#[test]
fn the_cross_margin_figures_show_in_the_summary_and_the_report() {
    let synthetic = "accounts = 2000\nnotional_usd = 2e5\nassets_per_account = 2\nlong_share = 1.0\nleverage = { distribution = \"uniform\", min = 2, max = 20 }";
    let tiny = std::fs::read_to_string(common::cli::tiny()).unwrap();
    let d = folder_with(&[
        ("cross.toml", &text_of(-0.3, synthetic)),
        ("plain.toml", &tiny),
    ]);
    for stem in ["cross", "plain"] {
        let toml = format!("{stem}.toml");
        let args = ["run", toml.as_str(), "--paths", "4", "--out", "out"];
        let o = common::cli::run_env(d.path(), &args, &[("COLUMNS", "80")]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let stdout = text(&o.stdout);
        let report = std::fs::read_to_string(d.path().join(format!("out/{stem}/report.html")))
            .expect("report.html");
        if stem == "plain" {
            assert!(!stdout.contains("cross-margin"), "{stdout}");
            assert!(!report.contains("cross-margin accounts"));
            continue;
        }
        for want in [
            "cross-margin accounts (means over paths)",
            "from accounts hurt by another asset $",
            "accounts triggered by A",
        ] {
            assert!(stdout.contains(want), "{want} missing:\n{stdout}");
        }
        common::cli::assert_fits_80(stem, common::cli::printed_lines(&stdout));
        assert!(report.contains("<th>cross-margin accounts</th>"));
        assert!(report.contains("<td class=\"name\">B</td>"));
    }
}

/// Three assets A, B, C (A at 100, B at 10, C at 1, volatility 0), only A shocked at step 1
/// by `shock`; synthetic accounts long on all three.
fn three_assets(shock: f64, paths: u32) -> String {
    let asset = |name: &str, price: f64, shocks: &str| {
        format!(
            "[[assets]]\nname = \"{name}\"\nprice = {price}\nvolatility = 0.0\n{shocks}[assets.book]\n{BOOK}\n"
        )
    };
    format!(
        "[simulation]\npaths = {paths}\nsteps = 4\nseed = 1\nmax_rounds = 20\n\
         [simulation.cascade]\nendogenous_move = 0.001\n{}{}{}\
         [cross_margin]\naccounts = 3000\nnotional_usd = 3e5\nassets_per_account = 3\n\
         long_share = 1.0\nleverage = {{ distribution = \"uniform\", min = 2, max = 20 }}\n\
         [[cross_margin.assets]]\nasset = \"A\"\nmaintenance_margin = 0.01\n\
         [[cross_margin.assets]]\nasset = \"B\"\nmaintenance_margin = 0.01\n\
         [[cross_margin.assets]]\nasset = \"C\"\nmaintenance_margin = 0.01\n",
        asset(
            "A",
            100.0,
            &format!("shocks = [{{ step = 1, return = {shock} }}]\n")
        ),
        asset("B", 10.0, ""),
        asset("C", 1.0, ""),
    )
}

/// Relative tolerance of "the split sums to the total": the split adds the same fills in
/// another grouping, so only floating-point rounding separates them.
const SUM_TOLERANCE: f64 = 1e-12;

fn close(x: f64, y: f64) -> bool {
    (x - y).abs() <= SUM_TOLERANCE * x.abs().max(y.abs()).max(1.0)
}

/// Only A falls: every account closed was hurt most by A, so B's and C's split (and A's own)
/// put everything on A; each asset's split sums to its closed notional and its entries off
/// its own column to the part from another asset.
#[test]
fn only_a_falls_and_every_asset_s_split_puts_everything_on_a() {
    let files = Files(BTreeMap::new());
    let s =
        Scenario::parse(&three_assets(-0.3, 1), "test", &files).unwrap_or_else(|e| panic!("{e}"));
    let market = Market::new(&s);
    let mut per = vec![AssetPathMetrics::default(); 3];
    simulate_path(&market, 0, &mut per, &mut NoObserver);
    for (b, m) in per.iter().enumerate() {
        let split = &m.cross_margin_by_trigger;
        assert_eq!(split.len(), 3, "{per:?}");
        assert!(m.cross_margin_liquidated_notional > 0.0, "{per:?}");
        assert_eq!(split[0], m.cross_margin_liquidated_notional, "asset {b}");
        assert_eq!(&split[1..], &[0.0, 0.0], "asset {b}");
        assert!(close(
            split.iter().sum(),
            m.cross_margin_liquidated_notional
        ));
        let off: f64 = (0..3).filter(|&t| t != b).map(|t| split[t]).sum();
        assert!(close(off, m.cross_margin_liquidated_by_other), "asset {b}");
    }
    assert!(per[0].cross_margin_triggered_accounts > 0.0);
    assert_eq!(per[1].cross_margin_triggered_accounts, 0.0);
    assert_eq!(per[2].cross_margin_triggered_accounts, 0.0);
}

/// Through the binary: summary.json's `by_trigger_asset` in scenario order puts B's and C's
/// closes on A and sums to the closed notional; the terminal and the report show the split
/// (three assets; the report's table fits 1280 px in Chromium); `report` rebuilds the same
/// summary.json from results.h5; two shards merge into the single run's files byte for byte.
#[test]
fn the_split_by_trigger_asset_is_in_the_summary_survives_report_and_shards() {
    let d = folder_with(&[("three.toml", &three_assets(-0.3, 6))]);
    let single =
        common::cli::assert_two_shards_merge_to_the_single_run(d.path(), "three.toml", &[]);
    let o = common::cli::run_env(
        d.path(),
        &["run", "three.toml", "--out", "terminal"],
        &[("COLUMNS", "80")],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("closed by trigger asset: A $"), "{stdout}");
    common::cli::assert_fits_80("three", common::cli::printed_lines(&stdout));
    let report = std::fs::read_to_string(single.join("report.html")).unwrap();
    assert!(report.contains("closed by trigger asset"), "{report}");
    let summary = std::fs::read_to_string(single.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let cross = json["cross_margin"].as_array().expect("cross_margin");
    assert_eq!(cross.len(), 3);
    for (b, c) in cross.iter().enumerate() {
        let split = c["by_trigger_asset"].as_array().expect("by_trigger_asset");
        let names: Vec<&str> = split.iter().map(|t| t["asset"].as_str().unwrap()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        let v: Vec<f64> = split
            .iter()
            .map(|t| t["notional_mean"].as_f64().unwrap())
            .collect();
        let total = c["liquidated_notional_mean"].as_f64().unwrap();
        let other = c["liquidated_by_other_mean"].as_f64().unwrap();
        assert!(total > 0.0, "{summary}");
        assert!(close(v.iter().sum(), total), "{summary}");
        let off: f64 = (0..3).filter(|&t| t != b).map(|t| v[t]).sum();
        assert!(close(off, other), "{summary}");
        assert_eq!(&v[1..], &[0.0, 0.0], "{summary}");
    }
    let h5 = single.join("results.h5").display().to_string();
    let o = cascadesim(d.path(), &["report", &h5, "--out", "rebuilt", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let again = std::fs::read_to_string(d.path().join("rebuilt/summary.json")).unwrap();
    assert_eq!(summary, again);
    common::browser::assert_fits_1280(&single.join("report.html"));
}

/// A crafted by-trigger matrix (wrong shape, a NaN) is refused by `report` with exit 2,
/// naming the file and the dataset, and no panic.
#[test]
fn a_crafted_by_trigger_matrix_is_refused_naming_the_dataset() {
    use cascadesim::output::h5::{Stored, edit};
    let d = folder_with(&[("three.toml", &three_assets(-0.3, 2))]);
    let o = cascadesim(d.path(), &["run", "three.toml", "--quiet", "--out", "r"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let path = "assets/B/cross_margin_liquidated_by_trigger";
    for (case, values, shape, want) in [
        (
            "shape",
            vec![0.0; 4],
            vec![2, 2],
            "dataset /assets/B/cross_margin_liquidated_by_trigger: shape [2, 2], expected [2, 3]",
        ),
        (
            "nan",
            vec![0.0, 0.0, f64::NAN, 0.0, 0.0, 0.0],
            vec![2, 3],
            "dataset /assets/B/cross_margin_liquidated_by_trigger: every value must be finite",
        ),
    ] {
        let f = d.path().join(format!("{case}.h5"));
        std::fs::copy(d.path().join("r/three/results.h5"), &f).unwrap();
        edit::rewrite(&f, |model| {
            let attrs = model
                .datasets
                .iter()
                .find(|x| x.path == path)
                .map(|x| x.attrs.clone())
                .expect("the matrix is in the file");
            assert!(model.remove(path));
            model.datasets.push(edit::Dataset {
                path: path.to_owned(),
                values: Stored::F64(values),
                shape,
                attrs,
            });
        })
        .unwrap();
        let name = format!("{case}.h5");
        let o = cascadesim(d.path(), &["report", &name, "--out", case, "-q"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{case}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(want), "{case}: expected {want} in:\n{err}");
        // The whole file is checked, and the matrix by two of its checks: said once.
        assert_eq!(
            err.matches(want).count(),
            1,
            "{case}: said more than once:\n{err}"
        );
    }
}
