//! The lending venue through the whole engine (`simulate_path`): hand-computed single-account
//! cases for the close factor, and the contagion a multi-collateral account carries from one
//! asset's book to another's (and on to that asset's perpetual longs).

use std::collections::BTreeMap;

use cascadesim::engine::{AssetPathMetrics, Market, NoObserver, PathSummary, simulate_path};
use cascadesim::model::spec::Scenario;

#[path = "common/files.rs"]
mod files;
use files::Files;

/// Five coins at 10 bp and five at 20 bp on each side (sizes in USD at the start price 100).
const BOOK: &str = "side,distance_bp,size_usd\n\
bid,10,500\nbid,20,500\nbid,30,1000\n\
ask,10,500\nask,20,500\nask,30,1000\n";

/// Assets A and B at 100 with volatility 0 and the book above (B's book `b_book` deep or
/// thin), A shocked by `a_shock` at step 1, then `extra` (lending markets, populations).
fn scenario(a_shock: f64, b_depth: &str, extra: &str) -> Scenario {
    scenario_with_a_venues(a_shock, "", b_depth, extra)
}

/// As [`scenario`], with `a_venues` (TOML: `arbitrage_speed` and `[[assets.venues]]` tables,
/// keys first) added to asset A.
fn scenario_with_a_venues(a_shock: f64, a_venues: &str, b_depth: &str, extra: &str) -> Scenario {
    let (a_keys, a_tables) = a_venues
        .find("[[")
        .map_or((a_venues, ""), |i| a_venues.split_at(i));
    let mut text = "[simulation]\npaths = 1\nsteps = 3\nseed = 1\nmax_rounds = 10\n\
                    [simulation.cascade]\nendogenous_move = 0.001\n"
        .to_string();
    for (name, shock, book, keys, venues) in [
        (
            "A",
            a_shock,
            "profile = \"flat\"\ndepth_usd = 1.0e12\n",
            a_keys,
            a_tables,
        ),
        ("B", 0.0, b_depth, "", ""),
    ] {
        text.push_str(&format!(
            "[[assets]]\nname = \"{name}\"\nprice = 100.0\nvolatility = 0.0\n{keys}\
             shocks = [{{ step = 1, return = {shock} }}]\n[assets.book]\n{book}\
             permanent_impact = 0.0\nrefill_half_life_s = 60\n{venues}"
        ));
    }
    text.push_str(extra);
    let files = Files(BTreeMap::from([
        ("book.csv", BOOK.to_string()),
        (
            "b_longs.csv",
            "side,size,entry_price,liquidation_price\nlong,1,100,99.95\n".to_string(),
        ),
    ]));
    Scenario::parse(&text, "test", &files).unwrap_or_else(|e| panic!("{e}"))
}

/// One account with debt 1,000 USD at health factor `hf`, collateral as given (TOML).
fn one_account(hf: f64, collateral: &str) -> String {
    format!(
        "[[lending]]\naccounts = 1\ndebt_usd = 1000.0\ndebt_sigma = 0\n\
         health_factor = {{ min = {hf}, max = {hf} }}\n{collateral}"
    )
}

const A_ONLY: &str = "[[lending.collateral]]\nasset = \"A\"\nshare = 1.0\n\
                      liquidation_threshold = 0.8\nbonus = 0.05\n";

const A_AND_B: &str = "[[lending.collateral]]\nasset = \"A\"\nshare = 0.5\n\
                       liquidation_threshold = 0.8\nbonus = 0.05\n\
                       [[lending.collateral]]\nasset = \"B\"\nshare = 0.5\n\
                       liquidation_threshold = 0.8\nbonus = 0.05\n";

const THIN_B: &str = "profile = \"file\"\nfile = \"book.csv\"\n";
const DEEP_B: &str = "profile = \"flat\"\ndepth_usd = 1.0e12\n";

fn run(s: &Scenario) -> (PathSummary, Vec<AssetPathMetrics>) {
    let market = Market::new(s);
    let mut per = vec![AssetPathMetrics::default(); s.assets.len()];
    let sum = simulate_path(&market, 0, &mut per, &mut NoObserver);
    (sum, per)
}

#[test]
fn at_hf_096_the_liquidation_repays_half_the_debt() {
    // HF 1.2 at 100, linear in A's price: 0.96 at 80 (a −20% shock).
    let (sum, _) = run(&scenario(-0.2, DEEP_B, &one_account(1.2, A_ONLY)));
    assert_eq!(sum.lending_liquidation_count, 1, "{sum:?}");
    assert!((sum.lending_repaid_debt - 500.0).abs() < 1e-6, "{sum:?}");
    // Bonus 5% of the repayment; the seized 500 · 1.05 / 80 coins (525 USD at the oracle)
    // sell at the bid of a book of 10¹² USD: less than 525 by the half-spread only.
    assert!((sum.lending_bonus - 25.0).abs() < 1e-6);
    assert!(sum.lending_sold_notional < 525.0 && sum.lending_sold_notional > 525.0 * 0.999);
    assert_eq!(sum.lending_bad_debt, 0.0);
}

#[test]
fn at_hf_094_the_liquidation_repays_all_the_debt() {
    // 0.94 = 1.2 · (1 + r).
    let (sum, _) = run(&scenario(
        0.94 / 1.2 - 1.0,
        DEEP_B,
        &one_account(1.2, A_ONLY),
    ));
    assert_eq!(sum.lending_liquidation_count, 1, "{sum:?}");
    assert!((sum.lending_repaid_debt - 1000.0).abs() < 1e-6, "{sum:?}");
    assert!((sum.lending_bonus - 50.0).abs() < 1e-6);
    assert_eq!(sum.lending_bad_debt, 0.0);
}

#[test]
fn a_fall_in_a_liquidates_and_sells_b_collateral_which_liquidates_b_longs() {
    // HF 1.1, half the collateral in A, half in B (6.875 coins each). A −30%: HF
    // 1.1 · (0.35 + 0.5) = 0.935 < 0.95, the whole debt is due; B is worth more than A, so
    // all 6.875 B are seized and sold into B's thin book (5 coins at 10 bp, the rest at
    // 20 bp), which moves B's mark below the liquidation price of a B long (99.95). That
    // repays 687.5 / 1.05 USD and leaves 481.25 USD of A against the remaining 345.24 USD:
    // HF 1.12, no further liquidation.
    let b_longs = "[[populations]]\nasset = \"B\"\nmaintenance_margin = 0.004\n\
                   positions_file = \"b_longs.csv\"\n";
    let with = format!("{b_longs}{}", one_account(1.1, A_AND_B));
    let (sum, per) = run(&scenario(-0.3, THIN_B, &with));
    assert_eq!(sum.lending_liquidation_count, 1, "{sum:?}");
    assert!(
        (sum.lending_repaid_debt - 687.5 / 1.05).abs() < 1e-6,
        "{sum:?}"
    );
    assert_eq!(per[1].exogenous_drawdown, 0.0, "B has no move of its own");
    assert!(per[1].max_drawdown > 0.001, "B's mark fell: {:?}", per[1]);
    assert_eq!(
        sum.liquidation_count, 1,
        "the B long was liquidated: {sum:?}"
    );
    assert!(per[1].liquidated_notional > 0.0);
    // B's 6.875 coins at about 99.85 are most of what was sold.
    assert!(sum.lending_sold_notional > 6.8 * 99.7, "{sum:?}");

    // Without the lending market nothing happens on B.
    let (sum, per) = run(&scenario(-0.3, THIN_B, b_longs));
    assert_eq!(per[1].max_drawdown, 0.0);
    assert_eq!(sum.liquidation_count, 0);
    // With only A as collateral, A's (deep) book takes the sale and B stays put.
    let (sum, per) = run(&scenario(
        -0.3,
        THIN_B,
        &format!("{b_longs}{}", one_account(1.1, A_ONLY)),
    ));
    assert!(sum.lending_liquidation_count >= 1);
    assert_eq!(per[1].max_drawdown, 0.0);
    assert_eq!(sum.liquidation_count, 0);
}

#[test]
fn lending_accounts_balance_over_a_path_and_paths_are_reproducible() {
    // 200 accounts, both collaterals, a −25% shock on A into thin books: over the path,
    // what liquidators received at the oracle (repaid + bonus) is what they seized, and the
    // repaid debt plus the bad debt never exceed the debt.
    let text = "[[lending]]\naccounts = 200\ndebt_usd = 2000.0\n\
                health_factor = { min = 1.01, max = 1.5 }\n"
        .to_string()
        + A_AND_B;
    let s = scenario(-0.25, THIN_B, &text);
    let (sum, _) = run(&s);
    assert!(sum.lending_liquidation_count > 10, "{sum:?}");
    assert!(sum.lending_repaid_debt + sum.lending_bad_debt <= 2000.0 + 0.005);
    assert!((sum.lending_bonus - 0.05 * sum.lending_repaid_debt).abs() < 0.005);
    assert!(sum.lending_sold_notional > 0.0);
    let (again, _) = run(&s);
    assert_eq!(sum, again);
}

#[test]
fn on_an_asset_with_venues_seized_collateral_is_sold_on_its_first_venue() {
    // The HF 0.96 case on A, now with two venues of A's book: a deep one (×1) and one of a
    // thousand-millionth of its depth (about $1,000 within the band). The half repayment's
    // 525 USD of seized A goes to the first venue: deep first, it sells at the half-spread as
    // without venues; thin first, it walks that venue's book and fetches visibly less.
    let venues = |first: &str, second: &str| {
        format!(
            "arbitrage_speed = 0.5\n\
             [[assets.venues]]\nname = \"v1\"\nweight = 0.5\ndepth_scale = {first}\n\
             [[assets.venues]]\nname = \"v2\"\nweight = 0.5\ndepth_scale = {second}\n"
        )
    };
    let account = one_account(1.2, A_ONLY);
    let (plain, _) = run(&scenario(-0.2, DEEP_B, &account));
    let (deep_first, _) = run(&scenario_with_a_venues(
        -0.2,
        &venues("1.0", "1e-9"),
        DEEP_B,
        &account,
    ));
    let (thin_first, _) = run(&scenario_with_a_venues(
        -0.2,
        &venues("1e-9", "1.0"),
        DEEP_B,
        &account,
    ));
    for s in [&deep_first, &thin_first] {
        assert_eq!(s.lending_liquidation_count, 1, "{s:?}");
        assert!((s.lending_repaid_debt - 500.0).abs() < 1e-6, "{s:?}");
    }
    assert_eq!(
        deep_first.lending_sold_notional,
        plain.lending_sold_notional
    );
    // Deep first sells within cents of 525 USD; the thin venue's walk costs over a dollar.
    assert!(
        thin_first.lending_sold_notional < deep_first.lending_sold_notional - 1.0,
        "{thin_first:?}"
    );
}
