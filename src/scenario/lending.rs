//! `[[lending]]`: an Aave-style lending market: accounts, debt, start health factors, the close
//! rule and the collateral assets.

use super::common::{MAX_POSITIONS, MAX_USD, asset_index, number, out_of_range, show};
use super::reader::{Doc, Tbl};
use crate::model::spec::{
    CloseRule, CollateralParams, LendingCollateral, LendingMarket, Liquidator,
};

pub(super) const LENDING_KEYS: &[&str] = &[
    "name",
    "accounts",
    "debt_usd",
    "debt_sigma",
    "health_factor",
    "close_factor",
    "full_close_health_factor",
    "collateral",
    "liquidator",
];
/// Keys of `[lending.liquidator]`.
pub(super) const LIQUIDATOR_KEYS: &[&str] = &["fixed_cost_usd", "expected_slippage_bp"];
pub(super) const HF_KEYS: &[&str] = &["min", "max"];
pub(super) const COLLATERAL_KEYS: &[&str] = &["asset", "share", "liquidation_threshold", "bonus"];
/// `[[lending]]`: accounts, their start health factors and the collateral assets.
pub(super) fn lending_market(
    doc: &mut Doc<'_>,
    mut t: Tbl<'_, '_>,
    names: &[String],
) -> Option<LendingMarket> {
    let n0 = doc.issues.len();
    let name = doc.str(&mut t, "name").unwrap_or("").to_string();
    // A value of the wrong type is reported as such, not also as out of range.
    let accounts = doc.req_u64(&mut t, "accounts");
    let bad = accounts.is_some_and(|n| !(1..=MAX_POSITIONS).contains(&n));
    let accounts = accounts.unwrap_or(0);
    out_of_range(
        doc,
        &mut t,
        "accounts",
        bad,
        format_args!("between 1 and {MAX_POSITIONS}"),
        accounts,
    );
    let debt_usd = number(
        doc,
        &mut t,
        "debt_usd",
        None,
        |x| x > 0.0 && x <= MAX_USD,
        &format!("> 0 and at most {MAX_USD:e} USD"),
    );
    let debt_sigma = number(
        doc,
        &mut t,
        "debt_sigma",
        Some(1.0),
        |x| (0.0..=3.0).contains(&x),
        "in [0, 3]",
    );
    let close_factor = number(
        doc,
        &mut t,
        "close_factor",
        Some(0.5),
        |x| x > 0.0 && x <= 1.0,
        "a fraction in (0, 1]",
    );
    let full_below = number(
        doc,
        &mut t,
        "full_close_health_factor",
        Some(0.95),
        |x| x > 0.0 && x <= 1.0,
        "a health factor in (0, 1]",
    );
    let (hf_min, hf_max) = match doc.req_table(&mut t, "health_factor", HF_KEYS) {
        Some(mut h) => {
            let ok = |x: f64| x > 1.0 && x <= 100.0;
            let lo = number(doc, &mut h, "min", None, ok, "a health factor in (1, 100]");
            let hi = number(doc, &mut h, "max", None, ok, "a health factor in (1, 100]");
            if hi < lo {
                doc.invalid(
                    &mut h,
                    "max",
                    format!("must be at least `min` ({}), found {}", show(lo), show(hi)),
                );
            }
            doc.finish(h);
            (lo, hi)
        }
        None => (f64::NAN, f64::NAN),
    };
    let collateral = collateral_assets(doc, &mut t, names);
    let liquidator = doc
        .table(&mut t, "liquidator", LIQUIDATOR_KEYS)
        .map(|mut l| {
            let fixed_cost_usd = number(
                doc,
                &mut l,
                "fixed_cost_usd",
                Some(0.0),
                |x| (0.0..=MAX_USD).contains(&x),
                &format!("in [0, {MAX_USD:e}] USD"),
            );
            let bp = number(
                doc,
                &mut l,
                "expected_slippage_bp",
                Some(0.0),
                |x| (0.0..=10_000.0).contains(&x),
                "in [0, 10000] bp",
            );
            doc.finish(l);
            Liquidator {
                fixed_cost_usd,
                expected_slippage: bp / 1e4,
            }
        });
    doc.finish(t);
    if doc.issues.len() > n0 {
        return None;
    }
    Some(LendingMarket {
        name,
        accounts,
        debt_usd,
        debt_sigma,
        hf_min,
        hf_max,
        rule: CloseRule {
            close_factor,
            full_below,
        },
        collateral,
        liquidator,
    })
}

/// `[[lending.collateral]]`: distinct assets whose shares add up to 1, each with a liquidation
/// threshold and bonus that Aave's rule allows.
fn collateral_assets(
    doc: &mut Doc<'_>,
    t: &mut Tbl<'_, '_>,
    names: &[String],
) -> Vec<LendingCollateral> {
    let tables = doc.tables(t, "collateral", COLLATERAL_KEYS);
    if tables.is_empty()
        && doc
            .issues
            .iter()
            .all(|i| !i.path.starts_with(&t.child("collateral")))
    {
        doc.invalid(
            t,
            "collateral",
            "needs at least one `[[lending.collateral]]` asset".into(),
        );
    }
    let mut collateral: Vec<LendingCollateral> = Vec::new();
    let mut share_sum = 0.0;
    for mut c in tables {
        let asset = asset_index(doc, &mut c, names);
        if let Some(a) = asset
            && collateral.iter().any(|x| x.params.asset == a)
        {
            doc.invalid(
                &mut c,
                "asset",
                format!(
                    "asset \"{}\" is already a collateral of this market",
                    names[a]
                ),
            );
        }
        let share = number(
            doc,
            &mut c,
            "share",
            None,
            |x| x > 0.0 && x <= 1.0,
            "in (0, 1]",
        );
        let lt = number(
            doc,
            &mut c,
            "liquidation_threshold",
            None,
            |x| x > 0.0 && x < 1.0,
            "a fraction in (0, 1)",
        );
        let bonus = number(
            doc,
            &mut c,
            "bonus",
            None,
            |x| (0.0..0.5).contains(&x),
            "a fraction in [0, 0.5)",
        );
        // Aave's own rule: a liquidation must not lower the health factor of an account
        // with a single collateral, which needs LT · (1 + bonus) < 1.
        if lt * (1.0 + bonus) >= 1.0 {
            doc.invalid(
                &mut c,
                "bonus",
                format!(
                    "liquidation_threshold x (1 + bonus) must be < 1, found {} x {}",
                    show(lt),
                    show(1.0 + bonus)
                ),
            );
        }
        share_sum += share;
        doc.finish(c);
        if let Some(a) = asset {
            collateral.push(LendingCollateral {
                params: CollateralParams {
                    asset: a,
                    liquidation_threshold: lt,
                    bonus,
                },
                share,
            });
        }
    }
    if !collateral.is_empty() && share_sum.is_finite() && (share_sum - 1.0).abs() > 1e-9 {
        doc.invalid(
            t,
            "collateral",
            format!(
                "the collateral shares must add up to 1, found {}",
                show(share_sum)
            ),
        );
    }
    collateral
}
