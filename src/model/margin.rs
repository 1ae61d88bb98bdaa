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

/// An open isolated position, as the settlement functions see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub long: bool,
    /// Size, base units (> 0).
    pub qty: f64,
    /// Entry price, USD.
    pub entry: f64,
    /// Isolated margin, USD (realised PnL of partial closes included; may be negative only
    /// for a remainder that a bad fill left insolvent, which triggers again at once).
    pub margin: f64,
}

impl Position {
    /// +1 for a long, −1 for a short.
    #[inline]
    pub fn sign(&self) -> f64 {
        if self.long { 1.0 } else { -1.0 }
    }

    /// Unrealised PnL of `qty` coins of this position at `price`, USD.
    #[inline]
    pub fn pnl_of(&self, qty: f64, price: f64) -> f64 {
        qty * self.sign() * (price - self.entry)
    }

    /// Equity (margin + unrealised PnL) at `price`, USD.
    #[inline]
    pub fn equity(&self, price: f64) -> f64 {
        self.margin + self.pnl_of(self.qty, price)
    }

    /// Price at which the equity is zero.
    pub fn bankruptcy_price(&self) -> f64 {
        bankruptcy_price(self.long, self.qty, self.entry, self.margin)
    }

    /// Liquidation price, with the tier of the position's notional at entry.
    pub fn liquidation_price(&self, sched: &MarginSchedule) -> f64 {
        let tier = sched.tier(self.qty * self.entry);
        liquidation_price(self.long, self.qty, self.entry, self.margin, tier)
    }
}

/// Partial liquidation: instead of closing the whole position, the venue closes just enough
/// to bring the remainder's equity back to `target_multiple` × its maintenance requirement at
/// the mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartialRule {
    /// Target equity over maintenance requirement after the close (`k` > 1).
    pub target_multiple: f64,
    /// A remainder worth less than this at the mark (USD) is not kept: the position is
    /// closed in full.
    pub min_notional: f64,
    /// Fee on the notional closed by a partial liquidation (fraction). Full liquidations pay
    /// the population's liquidation fee.
    pub fee: f64,
}

/// Quantity the venue closes when `pos` has triggered at mark `mark` (`pos.qty` for a full
/// liquidation).
///
/// With a rule, the remainder `q'` is the largest with
/// `equity(mark) − fee·(q − q')·mark ≥ k·(rate·q'·mark − cum)`, the tier being that of
/// the remainder's notional at entry (`q'·entry`). The requirement is convex and piecewise
/// linear in `q'`, so the bands are tried from the position's own tier downwards and the
/// first band that holds a solution gives it. The close is full when the equity is not
/// positive, when even closing everything would not pay the fee, when `k·rate ≤ fee`
/// (closing would not help), or when the remainder would be below `min_notional`.
#[inline]
pub fn close_quantity(
    pos: &Position,
    mark: f64,
    sched: &MarginSchedule,
    rule: Option<&PartialRule>,
) -> f64 {
    let Some(rule) = rule else {
        return pos.qty;
    };
    let fee_rate = rule.fee;
    let q = pos.qty;
    let k = rule.target_multiple;
    // Equity left if the whole position were closed at the mark and the fee paid.
    let spare = pos.equity(mark) - fee_rate * q * mark;
    if spare <= 0.0 {
        return q;
    }
    let tiers = sched.tiers();
    let top = tiers
        .partition_point(|t| t.floor <= q * pos.entry)
        .saturating_sub(1);
    let mut keep = 0.0;
    for j in (0..=top).rev() {
        let t = tiers[j];
        let slope = mark * (k * t.rate - fee_rate);
        if slope <= 0.0 {
            return q;
        }
        let root = (spare + k * t.cum) / slope;
        if root * pos.entry >= t.floor {
            let upper = tiers
                .get(j + 1)
                .map_or(f64::INFINITY, |n| n.floor / pos.entry);
            keep = root.min(upper).min(q);
            break;
        }
    }
    if keep <= 0.0 || keep * mark < rule.min_notional || keep >= q {
        return q;
    }
    q - keep
}

/// Where the money of one liquidation (or partial liquidation) goes. All amounts in USD and
/// non-negative except `remaining_margin`.
///
/// Invariant (checked in tests): `margin + pnl_closed = returned + remaining_margin + fee −
/// fund_draw − uncovered`, where `pnl_closed` is the PnL of the closed quantity at the fill.
/// For a full liquidation `remaining_margin = 0` and the left side is the equity at the fill.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Settlement {
    /// Quantity closed, base units.
    pub closed: f64,
    /// Equity left to the trader after the fee (full liquidations only).
    pub returned: f64,
    /// Liquidation fee paid into the insurance fund.
    pub fee: f64,
    /// Paid by the insurance fund to cover a fill beyond the bankruptcy price.
    pub fund_draw: f64,
    /// Shortfall the fund could not pay: covered by auto-deleveraging or left as bad debt.
    pub uncovered: f64,
    /// Margin kept by the remainder of a partial liquidation (0 when closed in full).
    pub remaining_margin: f64,
}

/// Settles the close of `close` coins of `pos` at average fill price `fill`.
///
/// Full close (`close ≥ pos.qty`): the fee (`fee_rate` × filled notional) is taken from the
/// remaining equity and capped by it; negative equity is paid by the insurance fund (`fund`
/// is debited) and what the fund cannot pay is `uncovered`.
///
/// Partial close: the closed part's PnL is realised into the position's margin and the fee
/// is taken from it, capped by the whole position's equity at the fill (never below zero),
/// so a fee never makes a position insolvent. Nothing is returned to the trader, the fund is
/// not drawn. A fill so bad that the remainder is insolvent leaves it with a margin that
/// puts its liquidation price past the fill: it triggers again and is then closed in full.
///
/// The fee is credited to `fund`.
#[inline]
pub fn settle(pos: &Position, close: f64, fill: f64, fee_rate: f64, fund: &mut f64) -> Settlement {
    if close < pos.qty {
        let pnl = pos.pnl_of(close, fill);
        let fee = (fee_rate * close * fill).min(pos.equity(fill).max(0.0));
        *fund += fee;
        return Settlement {
            closed: close,
            fee,
            remaining_margin: pos.margin + pnl - fee,
            ..Settlement::default()
        };
    }
    let equity = pos.equity(fill);
    if equity >= 0.0 {
        let fee = (fee_rate * pos.qty * fill).min(equity);
        *fund += fee;
        Settlement {
            closed: pos.qty,
            returned: equity - fee,
            fee,
            ..Settlement::default()
        }
    } else {
        let shortfall = -equity;
        // Equal to the `min`/`max` form whenever the fund covers it all; the comparison keeps
        // that common case off the chain of dependent operations through the fund.
        let fund_draw = if *fund >= shortfall {
            shortfall
        } else {
            shortfall.min(fund.max(0.0))
        };
        *fund -= fund_draw;
        Settlement {
            closed: pos.qty,
            fund_draw,
            uncovered: shortfall - fund_draw,
            ..Settlement::default()
        }
    }
}

/// Auto-deleveraging score of a position at `mark`: PnL as a fraction of the entry notional
/// times the effective leverage (notional at the mark over equity), as venues rank ADL
/// queues. `None` for positions without profit or without positive equity: they are not
/// deleveraged.
pub fn adl_score(pos: &Position, mark: f64) -> Option<f64> {
    let pnl = pos.pnl_of(pos.qty, mark);
    let equity = pos.margin + pnl;
    (pnl > 0.0 && equity > 0.0).then(|| pnl / (pos.qty * pos.entry) * (pos.qty * mark / equity))
}

/// One counterparty's part in auto-deleveraging. USD unless stated.
///
/// Invariant (checked in tests): `margin + pnl_closed(fill) = returned + remaining_margin +
/// haircut`: closing at the bankruptcy price instead of the fill costs the counterparty the
/// haircut, which pays the liquidated position's shortfall.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Deleverage {
    /// Quantity of the counterparty closed, base units.
    pub closed: f64,
    /// Part of the shortfall this close covers.
    pub haircut: f64,
    /// Equity paid out to the counterparty (full close only).
    pub returned: f64,
    /// Margin kept by the counterparty's remainder (0 when closed in full).
    pub remaining_margin: f64,
}

/// Closes (part of) the opposite position `cp` at `bankruptcy`, the bankruptcy price of the
/// liquidated position whose fill was `fill`, to cover up to `need` of its shortfall: each
/// coin closed covers `|fill − bankruptcy|`. `None` when nothing can be covered or when the
/// close at the bankruptcy price would leave the counterparty without positive equity (it is
/// then skipped, since deleveraging it would create new debt).
pub fn deleverage(cp: &Position, bankruptcy: f64, fill: f64, need: f64) -> Option<Deleverage> {
    let per_coin = cp.sign() * (fill - bankruptcy);
    if !(per_coin > 0.0 && need > 0.0) {
        return None;
    }
    let (closed, haircut) = if need < cp.qty * per_coin {
        (need / per_coin, need)
    } else {
        (cp.qty, cp.qty * per_coin)
    };
    let kept = cp.margin + cp.pnl_of(closed, bankruptcy);
    if closed < cp.qty {
        // The realised PnL stays in the remainder's margin.
        (kept > 0.0).then_some(Deleverage {
            closed,
            haircut,
            returned: 0.0,
            remaining_margin: kept,
        })
    } else {
        (kept >= 0.0).then_some(Deleverage {
            closed,
            haircut,
            returned: kept,
            remaining_margin: 0.0,
        })
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
            (true, 85_000.0, 1000.0), // fund too small: uncovered
            (false, 120_000.0, 0.0),
        ];
        for (long, fill, fund0) in cases {
            let pos = Position {
                long,
                qty: 1.0,
                entry: 100_000.0,
                margin: 10_000.0,
            };
            for close in [1.0, 0.4] {
                let mut fund = fund0;
                let s = settle(&pos, close, fill, 0.005, &mut fund);
                assert_balanced(&pos, fill, fund0, fund, &s);
            }
        }
    }

    /// The settlement identity, to the cent.
    fn assert_balanced(pos: &Position, fill: f64, fund0: f64, fund: f64, s: &Settlement) {
        let lhs = pos.margin + pos.pnl_of(s.closed, fill);
        let rhs = s.returned + s.remaining_margin + s.fee - s.fund_draw - s.uncovered;
        assert!((lhs - rhs).abs() < 0.005, "{lhs} vs {rhs}: {s:?}");
        assert!((fund - (fund0 + s.fee - s.fund_draw)).abs() < 0.005);
        assert!(s.returned >= 0.0 && s.fee >= 0.0 && s.fund_draw >= 0.0 && s.uncovered >= 0.0);
        assert!(fund >= 0.0);
    }

    #[test]
    fn full_liquidation_by_hand() {
        // 10× long at 100,000, filled at 85,000: equity −5,000; the fund (1,000) pays 1,000,
        // 4,000 is left uncovered.
        let pos = Position {
            long: true,
            qty: 1.0,
            entry: 100_000.0,
            margin: 10_000.0,
        };
        let mut fund = 1_000.0;
        let s = settle(&pos, 1.0, 85_000.0, 0.005, &mut fund);
        assert_eq!((s.fund_draw, s.uncovered, fund), (1_000.0, 4_000.0, 0.0));
        // Filled at 95,000: equity 5,000, fee 0.5% × 95,000 = 475.
        let mut fund = 0.0;
        let s = settle(&pos, 1.0, 95_000.0, 0.005, &mut fund);
        assert!(close(s.fee, 475.0, 1e-12) && close(s.returned, 4_525.0, 1e-12));
        assert!(close(fund, 475.0, 1e-12));
    }

    #[test]
    fn partial_close_restores_the_target_and_rearms_farther() {
        // 20× long, 1 BTC at 100,000, flat 0.4%: liquidation price ≈ 95,381.5. At a mark of
        // 95,300 the venue closes enough to bring equity to 2× maintenance.
        let sched = MarginSchedule::flat(0.004);
        let fee = 0.001;
        let rule = PartialRule {
            target_multiple: 2.0,
            min_notional: 0.0,
            fee,
        };
        let pos = Position {
            long: true,
            qty: 1.0,
            entry: 100_000.0,
            margin: 5_000.0,
        };
        let liq = pos.liquidation_price(&sched);
        let mark = 95_300.0;
        assert!(mark < liq);
        let closed = close_quantity(&pos, mark, &sched, Some(&rule));
        assert!(closed > 0.0 && closed < 1.0, "{closed}");
        // Hand formula: q' = (E − f·q·p) / (p·(k·rate − f)) with E = 5,000 − 4,700 = 300.
        // (A fee at or above the maintenance rate would make this impossible: full close.)
        let keep = (300.0 - fee * mark) / (mark * (2.0 * 0.004 - fee));
        assert!(close(1.0 - closed, keep, 1e-12));
        let mut fund = 0.0;
        let s = settle(&pos, closed, mark, fee, &mut fund);
        assert_balanced(&pos, mark, 0.0, fund, &s);
        let rest = Position {
            qty: pos.qty - closed,
            margin: s.remaining_margin,
            ..pos
        };
        // Equity of the remainder at the mark is exactly k × maintenance ...
        assert!(close(
            rest.equity(mark),
            2.0 * 0.004 * rest.qty * mark,
            1e-9
        ));
        // ... and its new liquidation price (the same formula) is farther than the mark.
        let new_liq = rest.liquidation_price(&sched);
        let t = sched.tier(rest.qty * rest.entry);
        assert!(close(
            new_liq,
            liquidation_price(true, rest.qty, rest.entry, rest.margin, t),
            1e-15
        ));
        assert!(new_liq < mark);
        // Equity equals maintenance at the new liquidation price: it can trigger again.
        assert!(close(
            rest.equity(new_liq),
            0.004 * rest.qty * new_liq,
            1e-9
        ));
    }

    #[test]
    fn partial_close_crosses_tiers_and_falls_back_to_full() {
        let sched = MarginSchedule::tiered(&[(0.0, 0.004), (50_000.0, 0.01)]);
        let rule = PartialRule {
            target_multiple: 10.0,
            min_notional: 0.0,
            fee: 0.002,
        };
        // 2 coins at 100,000 (tier 2) with 12× leverage.
        let pos = Position {
            long: true,
            qty: 2.0,
            entry: 100_000.0,
            margin: 200_000.0 / 12.0,
        };
        let liq = pos.liquidation_price(&sched);
        let mark = liq * 0.999;
        let closed = close_quantity(&pos, mark, &sched, Some(&rule));
        let rest = Position {
            qty: pos.qty - closed,
            margin: settle(&pos, closed, mark, 0.002, &mut 0.0).remaining_margin,
            ..pos
        };
        let t = sched.tier(rest.qty * rest.entry);
        let req = t.rate * rest.qty * mark - t.cum;
        // The remainder drops to the first tier and meets the target there exactly.
        assert_eq!(t.rate, 0.004);
        assert!(close(rest.equity(mark), 10.0 * req, 1e-9), "{rest:?}");
        assert!(rest.liquidation_price(&sched) < mark);
        // A remainder below the minimum, or no positive equity: full close.
        let big = PartialRule {
            min_notional: 1e9,
            ..rule
        };
        assert_eq!(close_quantity(&pos, mark, &sched, Some(&big)), 2.0);
        assert_eq!(close_quantity(&pos, 80_000.0, &sched, Some(&rule)), 2.0);
        assert_eq!(close_quantity(&pos, mark, &sched, None), 2.0);
        // A fee at or above the maintenance rate cannot restore any margin: full close.
        let dear = PartialRule { fee: 0.011, ..rule };
        assert_eq!(close_quantity(&pos, mark, &sched, Some(&dear)), 2.0);
    }

    #[test]
    fn deleverage_covers_the_shortfall_and_balances() {
        // Liquidated long: bankruptcy 90,000, filled at 88,000 (2,000 per coin short).
        // Counterparty short 3 coins at 100,000, margin 30,000.
        let cp = Position {
            long: false,
            qty: 3.0,
            entry: 100_000.0,
            margin: 30_000.0,
        };
        let (bk, fill) = (90_000.0, 88_000.0);
        for need in [1_000.0, 6_000.0, 10_000.0] {
            let d = deleverage(&cp, bk, fill, need).expect("profitable short qualifies");
            let lhs = cp.margin + cp.pnl_of(d.closed, fill);
            let rhs = d.returned + d.remaining_margin + d.haircut;
            assert!((lhs - rhs).abs() < 0.005, "{lhs} vs {rhs}");
            assert!(close(d.haircut, need.min(6_000.0), 1e-12));
            assert!(close(d.closed, (need / 2_000.0).min(3.0), 1e-12));
        }
        // A losing counterparty whose equity at the bankruptcy price is negative is skipped.
        let poor = Position {
            long: false,
            qty: 1.0,
            entry: 80_000.0,
            margin: 5_000.0,
        };
        assert!(deleverage(&poor, bk, fill, 1_000.0).is_none());
        assert!(adl_score(&poor, 85_000.0).is_none());
        assert!(adl_score(&cp, 85_000.0).unwrap() > 0.0);
    }
}
