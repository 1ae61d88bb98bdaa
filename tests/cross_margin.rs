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
