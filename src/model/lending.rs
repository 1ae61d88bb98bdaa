//! Aave-style lending arithmetic: health factor, close factor, the size of one liquidation
//! (repaid debt, seized collateral with the liquidation bonus) and bad debt.
//!
//! Units: debt and every money amount in USD (the debt is a stablecoin valued at 1 USD);
//! collateral amounts in base units of their asset; prices in USD per base unit; liquidation
//! thresholds, bonuses and close factors are fractions. The oracle price is the asset's mark.
//!
//! Balance identities (checked by the tests on every liquidation):
//! - collateral: `amount_before = amount_after + seized` (base units);
//! - value: `seized · price = repaid + bonus` (USD, at the oracle price);
//! - debt: `debt_before = debt_after + repaid + bad_debt` (USD).
//!
//! Also the accounts at step 0 (drawn once per run) laid out per collateral asset in trigger
//! order. Pure functions on plain numbers; the per-path state lives in `engine::lending`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::spec::CloseRule;
use super::spec::LendingMarket;

/// Health factor: `Σ_c price_c · amount_c · LT_c / debt` (dimensionless; infinite without
/// debt). `weighted` is the numerator, USD.
#[inline]
pub fn health_factor(weighted: f64, debt: f64) -> f64 {
    if debt > 0.0 {
        weighted / debt
    } else {
        f64::INFINITY
    }
}

/// The share of the debt one liquidation may repay at health factor `hf`.
#[inline]
pub fn close_factor(hf: f64, rule: &CloseRule) -> f64 {
    if hf < rule.full_below {
        1.0
    } else {
        rule.close_factor
    }
}

/// One liquidation call against one collateral asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liquidation {
    /// Debt the liquidator repays, USD.
    pub repaid: f64,
    /// Collateral the liquidator receives, base units.
    pub seized: f64,
    /// The bonus part of the seized collateral, USD at the oracle price: `repaid · bonus`.
    pub bonus: f64,
    /// Whether the seized amount is all of the account's collateral in that asset.
    pub all_collateral: bool,
}

/// Sizes a liquidation: the liquidator repays `close_factor · debt` and receives
/// `repaid · (1 + bonus) / price` of the collateral; when the account holds less than that
/// (`available`), all of it is seized and the repayment shrinks to
/// `available · price / (1 + bonus)`.
///
/// `debt > 0`, `price > 0`, `available > 0`, `close_factor` in (0, 1].
pub fn liquidate(
    debt: f64,
    close_factor: f64,
    price: f64,
    available: f64,
    bonus: f64,
) -> Liquidation {
    let target = close_factor * debt;
    let wanted = target * (1.0 + bonus) / price;
    if wanted < available {
        Liquidation {
            repaid: target,
            seized: wanted,
            bonus: target * bonus,
            all_collateral: false,
        }
    } else {
        let value = available * price;
        let repaid = value / (1.0 + bonus);
        Liquidation {
            repaid,
            seized: available,
            // So that `seized · price = repaid + bonus` holds exactly as computed.
            bonus: value - repaid,
            all_collateral: true,
        }
    }
}

/// Which collateral a liquidator seizes: the one of largest value at the current prices
/// (the usual liquidator choice, since it allows the largest repayment); ties go to the
/// first. `values[k]` is collateral `k`'s value in USD (0 when none is held). `None` when the
/// account holds no collateral.
pub fn largest_collateral(values: impl IntoIterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, v) in values.into_iter().enumerate() {
        if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    best.map(|(k, _)| k)
}

/// The price of collateral asset `c` below which the account may become liquidatable,
/// given its health factor `hf` at the current prices (`price_c` the current price).
///
/// Since `HF(p) = Σ_c w_c · (p_c / price_c) / debt` with `Σ_c w_c / debt = hf`, the health
/// factor stays at or above `hf · min_c (p_c / price_c)`: no account whose every collateral
/// price stays above `price_c / hf` can reach `HF < 1`. For a single collateral the bound is
/// exact (the price at which HF = 1); with several it is conservative.
#[inline]
pub fn trigger_price(price: f64, hf: f64) -> f64 {
    price / hf
}

/// A lending market's accounts at step 0, laid out for simulation (shared by all paths).
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Number of collateral assets of the market.
    pub n_collateral: usize,
    /// Debt of each account, USD.
    pub debt: Vec<f64>,
    /// Collateral amounts, account-major: `amount[i · n_collateral + k]`, base units.
    pub amount: Vec<f64>,
    /// Per collateral `k`: every account holding some of it, in trigger order.
    pub ladders: Vec<TriggerLadder>,
}

/// Accounts in the order a falling price of one collateral asset reaches their trigger
/// price ([`trigger_price`] at step 0): highest trigger first.
#[derive(Debug, Clone, Default)]
pub struct TriggerLadder {
    /// Trigger price, USD, descending.
    pub trigger: Vec<f64>,
    /// Account index of each entry.
    pub account: Vec<u32>,
}

impl Accounts {
    /// Lays out accounts given their debts (USD) and collateral amounts (account-major,
    /// `n_collateral` per account), valued at `prices[k]` (the price of collateral `k` at
    /// step 0) with liquidation thresholds `lt[k]`.
    pub fn new(debt: Vec<f64>, amount: Vec<f64>, prices: &[f64], lt: &[f64]) -> Accounts {
        let n = prices.len();
        debug_assert_eq!(amount.len(), debt.len() * n);
        let mut rows: Vec<Vec<(f64, u32)>> = vec![Vec::new(); n];
        for (i, &d) in debt.iter().enumerate() {
            let held = &amount[i * n..(i + 1) * n];
            let weighted: f64 = (0..n).map(|k| held[k] * prices[k] * lt[k]).sum();
            let hf = health_factor(weighted, d);
            for k in 0..n {
                if held[k] > 0.0 {
                    rows[k].push((trigger_price(prices[k], hf), i as u32));
                }
            }
        }
        let ladders = rows
            .into_iter()
            .map(|mut r| {
                r.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                TriggerLadder {
                    trigger: r.iter().map(|x| x.0).collect(),
                    account: r.iter().map(|x| x.1).collect(),
                }
            })
            .collect();
        Accounts {
            n_collateral: n,
            debt,
            amount,
            ladders,
        }
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.debt.len()
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.debt.is_empty()
    }
}

/// Draws a market's accounts: per account a debt weight `exp(debt_sigma · z)` and a start
/// health factor uniform in `[hf_min, hf_max]`; debts are rescaled to add up to `debt_usd`;
/// an account with debt `D` and health factor `h` holds collateral worth
/// `V = h · D / Σ_k share_k · LT_k`, of which `share_k · V` in collateral `k`. `prices[k]`
/// is the step-0 price of collateral `k`.
pub fn draw_accounts<R: Rng + ?Sized>(m: &LendingMarket, prices: &[f64], rng: &mut R) -> Accounts {
    let n = m.accounts as usize;
    let mut weight = Vec::with_capacity(n);
    let mut hf = Vec::with_capacity(n);
    for _ in 0..n {
        let z: f64 = StandardNormal.sample(rng);
        weight.push((m.debt_sigma * z).exp());
        hf.push(m.hf_min + (m.hf_max - m.hf_min) * rng.random::<f64>());
    }
    let scale = m.debt_usd / weight.iter().sum::<f64>();
    let lt: Vec<f64> = m
        .collateral
        .iter()
        .map(|c| c.params.liquidation_threshold)
        .collect();
    let weighted_share: f64 = m
        .collateral
        .iter()
        .map(|c| c.share * c.params.liquidation_threshold)
        .sum();
    let k = m.collateral.len();
    let mut debt = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n * k);
    for (w, h) in weight.into_iter().zip(hf) {
        let d = w * scale;
        let value = h * d / weighted_share;
        debt.push(d);
        for (c, &p) in m.collateral.iter().zip(prices) {
            amount.push(c.share * value / p);
        }
    }
    Accounts::new(debt, amount, prices, &lt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: CloseRule = CloseRule {
        close_factor: 0.5,
        full_below: 0.95,
    };

    #[test]
    fn close_factor_is_half_at_096_and_full_at_094() {
        assert_eq!(close_factor(0.96, &RULE), 0.5);
        assert_eq!(close_factor(0.95, &RULE), 0.5);
        assert_eq!(close_factor(0.94, &RULE), 1.0);
    }

    #[test]
    fn uncapped_liquidation_balances() {
        // 10,000 USD debt, half repaid, 5% bonus at 2,000 USD: 5,250 USD of collateral.
        let l = liquidate(10_000.0, 0.5, 2_000.0, 10.0, 0.05);
        assert_eq!(l.repaid, 5_000.0);
        assert!((l.seized - 2.625).abs() < 1e-12);
        assert!((l.bonus - 250.0).abs() < 1e-9);
        assert!((l.seized * 2_000.0 - l.repaid - l.bonus).abs() < 1e-9);
        assert!(!l.all_collateral);
    }

    #[test]
    fn capped_liquidation_takes_everything_and_repays_less() {
        // 1 unit at 1,000 USD cannot pay 10,000 USD of debt: 1,000/1.1 repaid.
        let l = liquidate(10_000.0, 1.0, 1_000.0, 1.0, 0.1);
        assert!(l.all_collateral);
        assert_eq!(l.seized, 1.0);
        assert!((l.repaid - 1_000.0 / 1.1).abs() < 1e-9);
        assert!((l.seized * 1_000.0 - l.repaid - l.bonus).abs() < 1e-9);
    }

    #[test]
    fn largest_collateral_by_value_first_on_ties() {
        assert_eq!(largest_collateral([1.0, 3.0, 3.0]), Some(1));
        assert_eq!(largest_collateral([0.0, 0.0]), None);
    }

    #[test]
    fn trigger_price_is_exact_for_one_collateral() {
        // 2 units at 1,000 USD, LT 0.8, debt 1,200: HF = 1,600/1,200; HF = 1 at 750 USD.
        let hf = health_factor(2.0 * 1_000.0 * 0.8, 1_200.0);
        assert!((trigger_price(1_000.0, hf) - 750.0).abs() < 1e-9);
        assert!((health_factor(2.0 * 750.0 * 0.8, 1_200.0) - 1.0).abs() < 1e-12);
    }
}
