//! Isolated-margin arithmetic of a linear perpetual future: maintenance-margin tiers,
//! liquidation and bankruptcy prices, and how a liquidation fill is settled between the
//! trader, the insurance fund and bad debt.
//!
//! Conventions: `qty` is in base units (coins, > 0 for both sides), prices and money in the
//! quote currency (USD), `margin` is the isolated wallet balance of the position.

/// One maintenance-margin tier: applies to positions whose notional is at least `floor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarginTier {
    /// Lower bound of the tier's notional band, USD.
    pub floor: f64,
    /// Maintenance-margin rate (fraction of notional).
    pub rate: f64,
    /// Maintenance amount (USD) that makes the margin requirement continuous across tiers:
    /// `cum_i = cum_{i-1} + floor_i · (rate_i − rate_{i-1})`.
    pub cum: f64,
}

/// Maintenance-margin schedule: one or more tiers, sorted by floor, the first at 0.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginSchedule {
    tiers: Vec<MarginTier>,
}

impl MarginSchedule {
    /// A single rate for every notional.
    pub fn flat(rate: f64) -> Self {
        MarginSchedule {
            tiers: vec![MarginTier {
                floor: 0.0,
                rate,
                cum: 0.0,
            }],
        }
    }

    /// Tiers from `(floor, rate)` pairs sorted by floor with the first floor at 0; computes the
    /// maintenance amounts. The caller (scenario validation) checks the ordering.
    pub fn tiered(pairs: &[(f64, f64)]) -> Self {
        let mut tiers: Vec<MarginTier> = Vec::with_capacity(pairs.len());
        for &(floor, rate) in pairs {
            let cum = match tiers.last() {
                Some(prev) => prev.cum + floor * (rate - prev.rate),
                None => 0.0,
            };
            tiers.push(MarginTier { floor, rate, cum });
        }
        MarginSchedule { tiers }
    }

    /// The tiers, lowest floor first.
    pub fn tiers(&self) -> &[MarginTier] {
        &self.tiers
    }

    /// The tier that applies to a position of this notional (USD at entry).
    pub fn tier(&self, notional: f64) -> MarginTier {
        let i = self.tiers.partition_point(|t| t.floor <= notional);
        self.tiers[i.saturating_sub(1)]
    }

    /// Largest leverage the venue allows in the tier of this notional: `1 / (2·rate)`, the
    /// rule of thumb that maps 0.4% maintenance to 125×.
    pub fn max_leverage(&self, notional: f64) -> f64 {
        1.0 / (2.0 * self.tier(notional).rate)
    }
}

/// Liquidation price of an isolated position (the mark at which equity equals maintenance
/// margin), with the tier chosen by the notional at entry.
///
/// Long: `margin + qty·(p − entry) = rate·qty·p − cum`, so
/// `p = (entry·qty − margin − cum) / (qty·(1 − rate))`. Short mirrored:
/// `p = (entry·qty + margin + cum) / (qty·(1 + rate))`.
pub fn liquidation_price(long: bool, qty: f64, entry: f64, margin: f64, tier: MarginTier) -> f64 {
    if long {
        (entry * qty - margin - tier.cum) / (qty * (1.0 - tier.rate))
    } else {
        (entry * qty + margin + tier.cum) / (qty * (1.0 + tier.rate))
    }
}

/// Margin implied by a stated liquidation price (inverse of [`liquidation_price`]).
pub fn margin_from_liquidation_price(
    long: bool,
    qty: f64,
    entry: f64,
    liq: f64,
    tier: MarginTier,
) -> f64 {
    if long {
        entry * qty - tier.cum - liq * qty * (1.0 - tier.rate)
    } else {
        liq * qty * (1.0 + tier.rate) - entry * qty - tier.cum
    }
}

/// Price at which the position's equity is exactly zero.
pub fn bankruptcy_price(long: bool, qty: f64, entry: f64, margin: f64) -> f64 {
    if long {
        entry - margin / qty
    } else {
        entry + margin / qty
    }
}

/// Where the money of one liquidation goes. All amounts in USD and non-negative.
///
/// Invariant (checked in tests): `equity = returned + fee − fund_draw − bad_debt`, where
/// `equity = margin + pnl` at the fill price.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Settlement {
    /// Equity left to the trader after the fee.
    pub returned: f64,
    /// Liquidation fee paid into the insurance fund.
    pub fee: f64,
    /// Paid by the insurance fund to cover a fill beyond the bankruptcy price.
    pub fund_draw: f64,
    /// Loss that neither the trader's margin nor the fund could cover.
    pub bad_debt: f64,
}

/// Settles a liquidation of `qty` at average fill price `fill`.
///
/// The fee (`fee_rate` × filled notional) is taken from the remaining equity and capped by it;
/// negative equity is paid by the insurance fund (`fund` is debited) and what the fund cannot
/// pay is bad debt. The fee is credited to `fund`.
pub fn settle(
    long: bool,
    qty: f64,
    entry: f64,
    margin: f64,
    fill: f64,
    fee_rate: f64,
    fund: &mut f64,
) -> Settlement {
    let pnl = if long {
        qty * (fill - entry)
    } else {
        qty * (entry - fill)
    };
    let equity = margin + pnl;
    if equity >= 0.0 {
        let fee = (fee_rate * qty * fill).min(equity);
        *fund += fee;
        Settlement {
            returned: equity - fee,
            fee,
            fund_draw: 0.0,
            bad_debt: 0.0,
        }
    } else {
        let shortfall = -equity;
        let fund_draw = shortfall.min(fund.max(0.0));
        *fund -= fund_draw;
        Settlement {
            returned: 0.0,
            fee: 0.0,
            fund_draw,
            bad_debt: shortfall - fund_draw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn btc_first_tier_long_and_short_by_hand() {
        // Entry 100,000, leverage 10 (margin = 10% of notional), mmr 0.4%:
        // long  p = 100000·(1 − 0.1)/(1 − 0.004) = 90361.4458 (the ≈ formula gives 90,400);
        // short p = 100000·(1 + 0.1)/(1 + 0.004) = 109561.7530.
        let sched = MarginSchedule::flat(0.004);
        let qty = 1.0;
        let margin = 100_000.0 / 10.0;
        let t = sched.tier(100_000.0);
        assert!(close(
            liquidation_price(true, qty, 100_000.0, margin, t),
            90_361.445_783,
            1e-9
        ));
        assert!(close(
            liquidation_price(false, qty, 100_000.0, margin, t),
            109_561.752_988,
            1e-9
        ));
    }

    #[test]
    fn tier_amounts_make_requirement_continuous() {
        // Requirement rate·N − cum must not jump at a tier floor.
        let s = MarginSchedule::tiered(&[(0.0, 0.004), (50_000.0, 0.005), (250_000.0, 0.01)]);
        for w in s.tiers().windows(2) {
            let at = w[1].floor;
            let below = w[0].rate * at - w[0].cum;
            let above = w[1].rate * at - w[1].cum;
            assert!(close(below, above, 1e-12), "{below} vs {above}");
        }
        assert_eq!(s.tier(49_999.0).rate, 0.004);
        assert_eq!(s.tier(50_000.0).rate, 0.005);
        assert_eq!(s.tier(1e9).rate, 0.01);
        assert!(close(s.max_leverage(1_000.0), 125.0, 1e-12));
    }

    #[test]
    fn equity_is_maintenance_at_liquidation_price() {
        let s = MarginSchedule::tiered(&[(0.0, 0.004), (50_000.0, 0.005), (250_000.0, 0.01)]);
        for &(long, qty, entry, lev) in &[(true, 3.0, 100_000.0, 20.0), (false, 0.2, 2_000.0, 5.0)]
        {
            let notional = qty * entry;
            let margin = notional / lev;
            let t = s.tier(notional);
            let p = liquidation_price(long, qty, entry, margin, t);
            let pnl = if long {
                qty * (p - entry)
            } else {
                qty * (entry - p)
            };
            let maint = t.rate * qty * p - t.cum;
            assert!(close(margin + pnl, maint, 1e-9));
            assert!(close(
                margin_from_liquidation_price(long, qty, entry, p, t),
                margin,
                1e-9
            ));
        }
    }

    #[test]
    fn settlement_balances_in_every_regime() {
        let cases = [
            (true, 95_000.0, 1e6),    // fill above bankruptcy: fee paid
            (true, 90_050.0, 1e6),    // equity below the fee: fee capped
            (true, 85_000.0, 1e6),    // beyond bankruptcy: fund pays
            (true, 85_000.0, 1000.0), // fund too small: bad debt
            (false, 120_000.0, 0.0),
        ];
        for (long, fill, fund0) in cases {
            let (qty, entry, margin) = (1.0, 100_000.0, 10_000.0);
            let mut fund = fund0;
            let s = settle(long, qty, entry, margin, fill, 0.005, &mut fund);
            let pnl = if long {
                qty * (fill - entry)
            } else {
                qty * (entry - fill)
            };
            let equity = margin + pnl;
            assert!(close(
                equity,
                s.returned + s.fee - s.fund_draw - s.bad_debt,
                1e-12
            ));
            assert!(close(fund, fund0 + s.fee - s.fund_draw, 1e-12));
            assert!(s.returned >= 0.0 && s.fee >= 0.0 && s.fund_draw >= 0.0 && s.bad_debt >= 0.0);
            assert!(fund >= 0.0);
        }
    }
}
