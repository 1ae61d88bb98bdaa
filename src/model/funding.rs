//! Funding of a perpetual along the path: when payments fall, the rate of each, and how a
//! side's cumulative payment moves its positions' liquidation prices.
//!
//! A payment at mark `M` with rate `f` costs every long `f·q·M` (its size `q` at the mark,
//! the venues' convention) and pays every short the same per unit; a negative rate reverses
//! the direction. Per unit of size the payment is the same for every position of a side, so
//! a side keeps one number, `paid` (USD per coin paid since step 0, negative when received):
//! a position's margin is its margin at step 0 minus `q·paid`. With a single maintenance
//! rate `r` (and no maintenance amount), the liquidation price is linear in `margin/q`
//! (`margin::liquidation_price`), so every long's moves by the same `paid/(1 − r)` and every
//! short's by `−paid/(1 + r)`: the ladder stays sorted and the engine compares the mark with
//! the step-0 liquidation price plus that shift. With tiers the shift would differ by tier,
//! so funding needs a flat schedule (the scenario checks it).

/// A population's funding: the interval between payments and the rate per interval by step.
#[derive(Debug, Clone, PartialEq)]
pub struct Funding {
    /// Seconds between payments (> 0); payment `k ≥ 1` falls at time `k·interval_s`.
    pub interval_s: f64,
    /// `(from_step, rate per interval)`, increasing steps, the first at step 0. Positive: longs
    /// pay shorts. Not used when `premium` is set.
    schedule: Vec<(u32, f64)>,
    /// The rate from the premium of the mark over the fundamental instead of the schedule.
    pub premium: Option<Premium>,
}

/// The premium form of the rate, after Binance's USDⓈ-M formula (and Hyperliquid's, which
/// is the same with hourly payments): `rate = P + clamp(I − P, −band, band)`, then capped at
/// `±cap`, where `P` is the premium of the price the positions trigger on over the
/// fundamental, `(mark − F)/F`, taken at the payment (venues average the premium index over
/// the interval; here it is the value at the payment, so the quiet step stays free of
/// per-step work) and `I` the interest rate per interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Premium {
    /// Interest rate per interval (Binance: 0.01% per 8 h).
    pub interest: f64,
    /// Half-width of the band around the premium the interest can move the rate (0.05%).
    pub band: f64,
    /// Largest rate per interval in absolute value (Binance: 0.75% to 3% by contract).
    pub cap: f64,
}

impl Premium {
    /// The rate per interval at premium `p`.
    pub fn rate(&self, p: f64) -> f64 {
        (p + (self.interest - p).clamp(-self.band, self.band)).clamp(-self.cap, self.cap)
    }
}

impl Funding {
    /// A funding rule from a schedule whose first entry is at step 0 (validated by the
    /// scenario reader: increasing steps, rates within bounds).
    pub fn new(interval_s: f64, schedule: Vec<(u32, f64)>) -> Funding {
        debug_assert!(schedule.first().is_some_and(|e| e.0 == 0));
        Funding {
            interval_s,
            schedule,
            premium: None,
        }
    }

    /// A fixed rate per interval.
    pub fn fixed(interval_s: f64, rate: f64) -> Funding {
        Funding::new(interval_s, vec![(0, rate)])
    }

    /// The schedule: `(from_step, rate)` pairs, the first at step 0.
    pub fn schedule(&self) -> &[(u32, f64)] {
        &self.schedule
    }

    /// The rate from the premium form.
    pub fn premium(interval_s: f64, premium: Premium) -> Funding {
        Funding {
            premium: Some(premium),
            ..Funding::fixed(interval_s, 0.0)
        }
    }

    /// The rate per interval at `step`, with `mark` the price the positions trigger on and
    /// `fundamental` the asset's fundamental (used by the premium form only).
    pub fn rate(&self, step: u32, mark: f64, fundamental: f64) -> f64 {
        match self.premium {
            Some(p) => p.rate((mark - fundamental) / fundamental),
            None => self.rate_at(step),
        }
    }

    /// The scheduled rate per interval in force at `step`.
    pub fn rate_at(&self, step: u32) -> f64 {
        let i = self.schedule.partition_point(|e| e.0 <= step);
        self.schedule[i.saturating_sub(1)].1
    }

    /// How many payments fall at the start of `step` (steps of `dt` seconds): the payment
    /// times `k·interval_s` in `((step − 1)·dt, step·dt]`. Step 0 (time 0) pays nothing.
    pub fn payments_at(&self, step: u32, dt: f64) -> u32 {
        if step == 0 {
            return 0;
        }
        let k = |s: u32| (f64::from(s) * dt / self.interval_s).floor();
        (k(step) - k(step - 1)) as u32
    }
}

/// How far a side's liquidation prices have moved after it paid `paid` USD per coin
/// (negative: received), with maintenance rate `rate`: `paid/(1 − rate)` for longs,
/// `−paid/(1 + rate)` for shorts. The exact change of `margin::liquidation_price` when the
/// margin falls by `qty·paid` (one tier).
#[inline]
pub fn trigger_shift(long: bool, paid: f64, rate: f64) -> f64 {
    if long {
        paid / (1.0 - rate)
    } else {
        -paid / (1.0 + rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::margin::{MarginSchedule, liquidation_price};

    #[test]
    fn payments_fall_every_interval() {
        let f = Funding::fixed(28_800.0, 0.001);
        // Hourly steps: one payment every 8 steps, at steps 8, 16, ...
        let paid: Vec<u32> = (0..=24)
            .filter(|&s| f.payments_at(s, 3600.0) == 1)
            .collect();
        assert_eq!(paid, vec![8, 16, 24]);
        // Steps longer than the interval pay several times.
        assert_eq!(f.payments_at(1, 86_400.0), 3);
    }

    #[test]
    fn schedule_rate_by_step() {
        let f = Funding::new(28_800.0, vec![(0, 0.001), (10, -0.002), (20, 0.0)]);
        assert_eq!(f.rate_at(0), 0.001);
        assert_eq!(f.rate_at(9), 0.001);
        assert_eq!(f.rate_at(10), -0.002);
        assert_eq!(f.rate_at(25), 0.0);
    }

    #[test]
    fn premium_form_follows_the_venue_formula() {
        let p = Premium {
            interest: 0.0001,
            band: 0.0005,
            cap: 0.0075,
        };
        // A small premium: the interest rate wins (the band reaches it).
        assert!((p.rate(0.0003) - 0.0001).abs() < 1e-15);
        assert!((p.rate(-0.0002) - 0.0001).abs() < 1e-15);
        // A large premium: the rate is the premium moved by the band towards the interest.
        assert!((p.rate(0.002) - 0.0015).abs() < 1e-15);
        assert!((p.rate(-0.002) - -0.0015).abs() < 1e-15);
        // Capped.
        assert_eq!(p.rate(0.05), 0.0075);
        assert_eq!(p.rate(-0.05), -0.0075);
        let f = Funding::premium(28_800.0, p);
        assert!((f.rate(3, 100.2, 100.0) - 0.0015).abs() < 1e-12);
    }

    #[test]
    fn shift_equals_the_liquidation_price_of_the_reduced_margin() {
        let tier = MarginSchedule::flat(0.005).tier(0.0);
        for long in [true, false] {
            let (q, e, m, paid) = (2.5, 40_000.0, 9_000.0, 37.0);
            let before = liquidation_price(long, q, e, m, tier);
            let sign = if long { 1.0 } else { -1.0 };
            let after = liquidation_price(long, q, e, m - sign * q * paid, tier);
            let shift = trigger_shift(long, sign * paid, 0.005);
            assert!((before + shift - after).abs() < 1e-9 * e, "{long}");
        }
    }
}
