//! Where the map's liquidations come from on one asset: perpetual positions per venue, and
//! lending collateral that liquidators would seize and sell per lending market.
//!
//! The static map moves one asset's price on its grid and holds every other price where it
//! is. Venues: every venue's mark (its mid, or the index over the venues) is taken equal to
//! the grid price, so a position liquidates at its own liquidation price whatever its
//! `trigger_price`, and its liquidation order walks its own venue's book. Lending: an account
//! whose collateral includes the asset is liquidatable once its health factor falls below 1
//! with only this asset's price moved; its first liquidation call (close factor at a health
//! factor just below 1, the largest collateral by value seized, as the engine does) is what
//! the map counts, at the price where it fires. `docs/heatmap.md` states what this leaves out.

use super::grid::SideBook;
use crate::engine::Market;
use crate::model::lending::{close_factor, largest_collateral, liquidate};
use crate::model::population::Positions;
use crate::model::spec::Scenario;

/// The perpetual positions of one asset, per venue (one entry without venues).
#[derive(Debug, Clone, Default)]
pub struct VenueSides {
    /// Venue names (empty without venues).
    pub names: Vec<String>,
    /// Longs and shorts of each venue (index 0 only without venues).
    pub longs: Vec<SideBook>,
    pub shorts: Vec<SideBook>,
}

/// One lending market's collateral sales on one asset, as liquidation prices and sizes.
#[derive(Debug, Clone, Default)]
pub struct LendingSales {
    pub market: String,
    /// Index of the market among the scenario's `[[lending]]` tables.
    pub index: usize,
    /// Trigger price of each account whose first call seizes this asset (USD) and the
    /// collateral that call seizes (base units).
    pub sales: SideBook,
    /// Accounts holding this asset as collateral.
    pub accounts: usize,
    /// Accounts this asset's move alone cannot take below a health factor of 1 (their other
    /// collateral covers the debt).
    pub out_of_reach: usize,
    /// Accounts triggered by this asset's move whose first call seizes another asset's
    /// collateral (sold into that asset's book), and the value of those seizures, USD at
    /// the trigger.
    pub seized_elsewhere: usize,
    pub seized_elsewhere_usd: f64,
}

/// The populations trading asset `a` (index among the scenario's) with their positions in
/// the population path 0 uses: replicate 0 in fixed mode; none in per-path mode.
pub fn populations_on(market: &Market, a: usize) -> impl Iterator<Item = (usize, &Positions)> {
    let replicate = market.replicate_of(0).map(|r| market.replicate(r));
    market
        .populations
        .iter()
        .enumerate()
        .filter(move |(_, pm)| pm.asset == a)
        .filter_map(move |(k, _)| replicate.map(|r| (k, &r.positions[k])))
}

/// The perpetual positions of asset `a` ([`populations_on`]), split by venue.
pub fn venue_sides(scenario: &Scenario, market: &Market, a: usize) -> VenueSides {
    let names = market.assets[a]
        .venues
        .as_ref()
        .map_or_else(Vec::new, |v| v.names.clone());
    let n = names.len().max(1);
    let mut out = VenueSides {
        names,
        longs: vec![SideBook::default(); n],
        shorts: vec![SideBook::default(); n],
    };
    for (k, pos) in populations_on(market, a) {
        let v = scenario.populations[k].venue.min(n - 1);
        out.longs[v].extend(&pos.longs.liq, &pos.longs.qty);
        out.shorts[v].extend(&pos.shorts.liq, &pos.shorts.qty);
    }
    out
}

/// The collateral sales on asset `a` of every lending market that takes it as collateral.
pub fn lending_sales(scenario: &Scenario, market: &Market, a: usize) -> Vec<LendingSales> {
    let prices: Vec<f64> = market.assets.iter().map(|m| m.start_price).collect();
    let mut out = Vec::new();
    for (index, lm) in market.lending.iter().enumerate() {
        let Some(k) = lm.collateral.iter().position(|c| c.asset == a) else {
            continue;
        };
        let n = lm.collateral.len();
        let acc = &lm.accounts;
        let mut s = LendingSales {
            market: scenario.lending[index].name.clone(),
            index,
            ..LendingSales::default()
        };
        for (i, &debt) in acc.debt.iter().enumerate() {
            let held = &acc.amount[i * n..(i + 1) * n];
            if held[k] <= 0.0 || debt <= 0.0 {
                continue;
            }
            s.accounts += 1;
            let value = |c: usize| held[c] * prices[lm.collateral[c].asset];
            let weighted = |c: usize| value(c) * lm.collateral[c].liquidation_threshold;
            let others: f64 = (0..n).filter(|&c| c != k).map(weighted).sum();
            let own = weighted(k);
            // HF(p) = (others + own·p/price) / debt < 1  ⇔  p < price·(debt − others)/own.
            let room = debt - others;
            if room <= 0.0 {
                s.out_of_reach += 1;
                continue;
            }
            let trigger = prices[a] * room / own;
            // At the trigger, this asset's collateral is worth `held[k]·trigger`.
            let values = (0..n).map(|c| if c == k { held[c] * trigger } else { value(c) });
            let Some(seized) = largest_collateral(values) else {
                continue;
            };
            let cf = close_factor(1.0 - f64::EPSILON, &lm.rule);
            let px = if seized == k {
                trigger
            } else {
                prices[lm.collateral[seized].asset]
            };
            let call = liquidate(debt, cf, px, held[seized], lm.collateral[seized].bonus);
            if seized == k {
                s.sales.extend(&[trigger], &[call.seized]);
            } else {
                s.seized_elsewhere += 1;
                s.seized_elsewhere_usd += call.seized * px;
            }
        }
        out.push(s);
    }
    out
}
