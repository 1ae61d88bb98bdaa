//! The limit order book of one asset: level ladders shared by all paths ([`BookShape`]) and
//! the small per-path state ([`BookState`]) that says how much depth has been eaten.
//!
//! Depth consumed by market orders is a *hole* at the top of each side, measured in depth at
//! multiplier 1. The mid is displaced by the hole: after a sweep it sits where the sweep
//! stopped (interpolated inside the last level). The hole shrinks with the refill half-life,
//! so consumed depth comes back and the transient part of the impact decays toward the
//! fundamental price. The permanent share of each sweep's move is moved into the reference
//! price instead. A step with no trade costs O(1); a sweep costs O(log levels + levels
//! touched).
//!
//! Two optional rules change the depth and the prices: a volatility-dependent depth
//! multiplier ([`VolDepthLaw`]: liquidity providers pull quotes when realised volatility
//! rises) and a price floor (a backstop bid: sells never fill, and the mid never sits, below
//! it).

use super::search::partition_point_from;
use super::spec::{BookSpec, Level, SECONDS_PER_YEAR};

/// One side of the book, with prefix sums. Read-only, shared by every path.
#[derive(Debug, Clone)]
pub struct Side {
    /// Price factor of each level relative to the reference price: `exp(∓distance)`.
    factor: Vec<f64>,
    /// Cumulative size (base units at multiplier 1) up to and including each level.
    cum: Vec<f64>,
    /// Mid displacement (log) when the hole starts at level k: `distance[k] − distance[0]`,
    /// with one extra entry for a fully consumed side.
    disp: Vec<f64>,
}

impl Side {
    fn new(levels: &[Level], bid: bool) -> Side {
        let n = levels.len();
        let mut cum = Vec::with_capacity(n);
        let mut acc = 0.0;
        for l in levels {
            acc += l.size;
            cum.push(acc);
        }
        let d0 = levels[0].distance;
        let mut disp: Vec<f64> = levels.iter().map(|l| l.distance - d0).collect();
        let last_gap = if n >= 2 {
            levels[n - 1].distance - levels[n - 2].distance
        } else {
            d0
        };
        disp.push(levels[n - 1].distance - d0 + last_gap);
        let factor = levels
            .iter()
            .map(|l| {
                if bid {
                    (-l.distance).exp()
                } else {
                    l.distance.exp()
                }
            })
            .collect();
        Side { factor, cum, disp }
    }

    /// Total size of the side at multiplier 1.
    pub fn total(&self) -> f64 {
        *self.cum.last().expect("a side has at least one level")
    }

    /// Number of levels.
    pub fn levels(&self) -> usize {
        self.cum.len()
    }

    /// Mid displacement (log-price, ≥ 0) caused by a hole of `hole` normalised units.
    pub fn displacement(&self, hole: f64) -> f64 {
        let mut hint = self.cum.len();
        self.displacement_from(hole, &mut hint)
    }

    /// The level holding the hole's edge: the first `k` with `cum[k] > hole` (`n` when the
    /// side is used up). Searched from `hint` toward the answer (a refill shrinks the hole a
    /// few levels back, a sweep grows it forward); updates `hint`.
    #[inline]
    fn level_of(&self, hole: f64, hint: &mut usize) -> usize {
        let k = partition_point_from(&self.cum, |&c| c <= hole, *hint);
        *hint = k;
        k
    }

    /// [`Side::displacement`] with a level hint kept by the caller.
    #[inline]
    fn displacement_from(&self, hole: f64, hint: &mut usize) -> f64 {
        if hole <= 0.0 {
            return 0.0;
        }
        let k = self.level_of(hole, hint);
        let n = self.cum.len();
        if k >= n {
            return self.disp[n];
        }
        let start = if k == 0 { 0.0 } else { self.cum[k - 1] };
        let size = self.cum[k] - start;
        let frac = (hole - start) / size;
        self.disp[k] + frac * (self.disp[k + 1] - self.disp[k])
    }

    /// The hole whose displacement is `target` (inverse of [`Side::displacement`]); `hint` is
    /// a level near the answer (any value is correct, a near one is fast).
    fn hole_for(&self, target: f64, hint: usize) -> f64 {
        if target <= 0.0 {
            return 0.0;
        }
        let n = self.cum.len();
        // Segment k spans displacements [disp[k], disp[k+1]).
        let k = partition_point_from(&self.disp, |&d| d <= target, hint.saturating_add(1))
            .saturating_sub(1);
        if k >= n {
            return self.total();
        }
        let start = if k == 0 { 0.0 } else { self.cum[k - 1] };
        let size = self.cum[k] - start;
        let width = self.disp[k + 1] - self.disp[k];
        if width <= 0.0 {
            return start;
        }
        (start + (target - self.disp[k]) / width * size).min(self.cum[k])
    }
}

/// A book shared by all paths of a run: both sides and the dynamics parameters.
#[derive(Debug, Clone)]
pub struct BookShape {
    pub bid: Side,
    pub ask: Side,
    /// Depth multiplier per UTC hour.
    pub hourly: [f64; 24],
    /// Fraction of the hole left after one step: `0.5^(step / half-life)`.
    pub retain_per_step: f64,
    /// Share of a sweep's move that is permanent.
    pub permanent: f64,
    /// Depth that shrinks with realised volatility, if configured.
    pub vol_depth: Option<VolDepthLaw>,
    /// Backstop bid price, USD (0: none).
    pub floor: f64,
}

/// Depth multiplier `clamp((σ_ref/σ̂)^β, min, max)`, with `σ̂²` an exponentially weighted
/// mean of the mark's squared one-step log returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolDepthLaw {
    /// Weight of the old estimate per step: `0.5^(step / half-life)`.
    pub keep: f64,
    /// `σ_ref²·dt`, the reference variance per step (also the estimate at step 0).
    pub reference_var: f64,
    /// `β / 2` (the multiplier is taken from variances).
    half_beta: f64,
    min: f64,
    max: f64,
}

impl VolDepthLaw {
    /// The estimate after a step whose mark moved by `log_return`.
    #[inline]
    pub fn update(&self, var: f64, log_return: f64) -> f64 {
        self.keep * var + (1.0 - self.keep) * log_return * log_return
    }

    /// Depth multiplier at the realised per-step variance `var`.
    #[inline]
    pub fn multiplier(&self, var: f64) -> f64 {
        if var <= 0.0 {
            return self.max;
        }
        (self.reference_var / var)
            .powf(self.half_beta)
            .clamp(self.min, self.max)
    }
}

impl BookShape {
    /// Builds the shared book from its validated description.
    pub fn new(spec: &BookSpec, step_seconds: f64) -> BookShape {
        BookShape {
            bid: Side::new(&spec.bid, true),
            ask: Side::new(&spec.ask, false),
            hourly: spec.hourly,
            retain_per_step: 0.5f64.powf(step_seconds / spec.refill_half_life_s),
            permanent: spec.permanent_impact,
            vol_depth: spec.vol_depth.map(|v| VolDepthLaw {
                keep: 0.5f64.powf(step_seconds / v.half_life_s),
                reference_var: v.reference_volatility.powi(2) * step_seconds / SECONDS_PER_YEAR,
                half_beta: v.beta / 2.0,
                min: v.min,
                max: v.max,
            }),
            floor: spec.price_floor.unwrap_or(0.0),
        }
    }
}

/// Per-path state of one book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookState {
    /// Consumed bid depth (normalised units), from market sells.
    pub hole_bid: f64,
    /// Consumed ask depth (normalised units), from market buys.
    pub hole_ask: f64,
    /// Accumulated permanent impact, log-price.
    pub log_permanent: f64,
    /// `exp(log_permanent)`, kept in step with it so a quiet step needs no `exp`.
    permanent_factor: f64,
    /// Level index of the bid hole at the last lookup (a displacement, or a sweep's end):
    /// the next lookup searches from here, by doubling steps, instead of over all levels
    /// (holes shrink between sweeps, so it is usually a few levels back).
    hint_bid: usize,
    hint_ask: usize,
    /// The log shift of the mid from the reference price at the last [`BookState::mid`]
    /// (before the price floor): `ln(mid / reference)` when the floor does not bind.
    last_log_shift: f64,
}

impl Default for BookState {
    fn default() -> Self {
        BookState {
            hole_bid: 0.0,
            hole_ask: 0.0,
            log_permanent: 0.0,
            permanent_factor: 1.0,
            hint_bid: 0,
            hint_ask: 0,
            last_log_shift: 0.0,
        }
    }
}

/// A hole smaller than this share of its side is treated as refilled (set to 0), so quiet
/// steps after a cascade go back to the O(1) path. 1e-12 of the side's depth moves the mid by
/// far less than a rounding error of the price.
const NEGLIGIBLE_HOLE: f64 = 1e-12;

/// Result of one market order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fill {
    /// Quantity filled against resting depth, base units.
    pub filled: f64,
    /// Quantity the book could not absorb, base units (filled by the backstop).
    pub unfilled: f64,
    /// Total quote notional paid or received, including the backstop part.
    pub notional: f64,
    /// Whether the order went through the whole side.
    pub exhausted: bool,
    /// Whether a sell reached the price floor (the rest filled by the backstop there).
    pub floored: bool,
    /// Levels the order touched.
    pub levels_touched: u32,
}

impl Fill {
    /// Volume-weighted average price of the whole order.
    pub fn vwap(&self) -> f64 {
        self.notional / (self.filled + self.unfilled)
    }
}

impl BookState {
    /// Refills depth for one step: the holes shrink geometrically (a negligible hole is set
    /// to 0). Returns whether the book changed.
    #[inline]
    pub fn refill(&mut self, shape: &BookShape) -> bool {
        let mut changed = false;
        if self.hole_bid > 0.0 {
            self.hole_bid *= shape.retain_per_step;
            if self.hole_bid < NEGLIGIBLE_HOLE * shape.bid.total() {
                self.hole_bid = 0.0;
            }
            changed = true;
        }
        if self.hole_ask > 0.0 {
            self.hole_ask *= shape.retain_per_step;
            if self.hole_ask < NEGLIGIBLE_HOLE * shape.ask.total() {
                self.hole_ask = 0.0;
            }
            changed = true;
        }
        changed
    }

    /// Whether both sides are whole (no consumed depth waiting to refill).
    #[inline]
    pub fn is_whole(&self) -> bool {
        self.hole_bid == 0.0 && self.hole_ask == 0.0
    }

    /// Mid price given the reference (fundamental) price; never below the price floor.
    #[inline]
    pub fn mid(&mut self, shape: &BookShape, fundamental: f64) -> f64 {
        if self.is_whole() {
            self.last_log_shift = self.log_permanent;
            return (fundamental * self.permanent_factor).max(shape.floor);
        }
        let mut log_shift = self.log_permanent;
        if self.hole_bid > 0.0 {
            log_shift -= shape
                .bid
                .displacement_from(self.hole_bid, &mut self.hint_bid);
        }
        if self.hole_ask > 0.0 {
            log_shift += shape
                .ask
                .displacement_from(self.hole_ask, &mut self.hint_ask);
        }
        self.last_log_shift = log_shift;
        (fundamental * log_shift.exp()).max(shape.floor)
    }

    /// The log shift of the mid from its reference price computed by the last
    /// [`BookState::mid`] (permanent impact plus the displacement of both holes, before the
    /// price floor). Exact, not recovered from prices: it is the same number at every step
    /// while the book is whole, so the engine's quiet lane can prove it sets no new extreme.
    #[inline]
    pub fn last_log_shift(&self) -> f64 {
        self.last_log_shift
    }

    /// Moves the book's reference price (and so its mid and every level) by `log_shift` in
    /// log-price, as permanent impact does: arbitrage between venues (`model::arbitrage`).
    #[inline]
    pub fn shift_reference(&mut self, log_shift: f64) {
        self.log_permanent += log_shift;
        self.permanent_factor = self.log_permanent.exp();
    }

    /// Sends a market order of `qty` base units: `sell` walks the bids, otherwise the asks.
    /// `multiplier` scales the resting depth (time of day, volatility). Whatever the side
    /// cannot absorb is taken by a backstop at the price of the deepest level and reported as
    /// `unfilled`; a sell that reaches the price floor fills the rest at the floor instead.
    pub fn market_order(
        &mut self,
        shape: &BookShape,
        fundamental: f64,
        sell: bool,
        qty: f64,
        multiplier: f64,
    ) -> Fill {
        debug_assert!(qty >= 0.0 && multiplier > 0.0);
        let reference = fundamental * self.permanent_factor;
        let side = if sell { &shape.bid } else { &shape.ask };
        let hole = if sell { self.hole_bid } else { self.hole_ask };
        let n = side.cum.len();
        let mut need = qty / multiplier;
        let mut e = hole;
        // The level of the hole's edge, from the hint the mid's lookups keep there.
        let mut k = side.level_of(
            e,
            if sell {
                &mut self.hint_bid
            } else {
                &mut self.hint_ask
            },
        );
        let k0 = k;
        let mut notional = 0.0;
        let mut touched = 0u32;
        // Levels priced below the floor are not reached (bids only; factors fall with k).
        let floor_factor = if sell { shape.floor / reference } else { 0.0 };
        while need > 0.0 && k < n && side.factor[k] >= floor_factor {
            let avail = side.cum[k] - e;
            touched += 1;
            if avail >= need {
                notional += need * side.factor[k];
                e += need;
                need = 0.0;
            } else {
                notional += avail * side.factor[k];
                need -= avail;
                e = side.cum[k];
                k += 1;
            }
        }
        let mut fill = Fill {
            filled: qty - need * multiplier,
            unfilled: need * multiplier,
            notional: notional * multiplier * reference,
            exhausted: need > 0.0 && k >= n,
            floored: need > 0.0 && k < n,
            levels_touched: touched,
        };
        if fill.floored {
            fill.notional += fill.unfilled * shape.floor;
        } else if fill.exhausted {
            fill.unfilled = need * multiplier;
            fill.filled = qty - fill.unfilled;
            fill.notional += fill.unfilled * reference * side.factor[n - 1];
            e = side.total();
        }
        // Split the move into its permanent and transient parts. The levels of the old and
        // new edge are known (`k0`, `k`): the lookups start there.
        let d0 = side.displacement_from(hole, &mut { k0 });
        let d1 = side.displacement_from(e, &mut { k });
        let moved = d1 - d0;
        let keep = shape.permanent * moved;
        let new_hole = if shape.permanent > 0.0 {
            side.hole_for(d0 + (moved - keep), k0)
        } else {
            e
        };
        // The new edge is at or below the walk's last level: the next lookup starts there.
        if sell {
            self.log_permanent -= keep;
            self.hole_bid = new_hole;
            self.hint_bid = k;
        } else {
            self.log_permanent += keep;
            self.hole_ask = new_hole;
            self.hint_ask = k;
        }
        if keep != 0.0 {
            self.permanent_factor = self.log_permanent.exp();
        }
        fill
    }
}

/// How a synthetic book's level sizes fall or grow with the distance from the mid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LevelShape {
    /// Size ∝ distanceᵖ (0 = flat, 1 = linear "V" book with square-root impact).
    Power(f64),
    /// Size ∝ exp(−distance / scale).
    Exponential(f64),
}

/// Levels at `half_spread + k·spacing`, sized by the shape and scaled so that the depth within
/// `band` of the mid is `depth_usd` on each side (converted to base units at `price`).
pub fn synthetic_levels(
    shape: LevelShape,
    spread: f64,
    spacing: f64,
    levels: usize,
    depth_usd: f64,
    band: f64,
    price: f64,
) -> (Vec<Level>, Vec<Level>) {
    let half = spread / 2.0;
    let weight = |x: f64| match shape {
        LevelShape::Power(p) => x.powf(p),
        LevelShape::Exponential(s) => (-x / s).exp(),
    };
    let mut side: Vec<Level> = (0..levels)
        .map(|k| {
            let x = half + k as f64 * spacing;
            Level {
                distance: x,
                size: weight(x),
            }
        })
        .collect();
    let in_band: f64 = side
        .iter()
        .filter(|l| l.distance <= band * (1.0 + 1e-12))
        .map(|l| l.size)
        .sum();
    // Base units per unit of weight: depth within the band, in USD, at each level's price.
    let usd_in_band: f64 = side
        .iter()
        .filter(|l| l.distance <= band * (1.0 + 1e-12))
        .map(|l| l.size * price)
        .sum();
    let scale = if in_band > 0.0 {
        depth_usd / usd_in_band
    } else {
        0.0
    };
    for l in &mut side {
        l.size *= scale;
    }
    (side.clone(), side)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(levels: &[(f64, f64)], permanent: f64) -> BookSpec {
        let ls: Vec<Level> = levels
            .iter()
            .map(|&(d, s)| Level {
                distance: d,
                size: s,
            })
            .collect();
        BookSpec {
            bid: ls.clone(),
            ask: ls,
            hourly: [1.0; 24],
            refill_half_life_s: 60.0,
            permanent_impact: permanent,
            vol_depth: None,
            price_floor: None,
        }
    }

    #[test]
    fn vwap_walk_through_a_hand_built_book() {
        // Bids at 1%, 2%, 3% below 100 (log distances), sizes 1, 2, 3. Selling 4 fills
        // 1 @ 100e^-0.01, 2 @ 100e^-0.02, 1 @ 100e^-0.03.
        let shape = BookShape::new(&spec(&[(0.01, 1.0), (0.02, 2.0), (0.03, 3.0)], 0.0), 60.0);
        let mut st = BookState::default();
        let f = st.market_order(&shape, 100.0, true, 4.0, 1.0);
        let p = |d: f64| 100.0 * (-d).exp();
        let expected = (p(0.01) + 2.0 * p(0.02) + p(0.03)) / 4.0;
        assert!(
            (f.vwap() - expected).abs() < 1e-12,
            "{} vs {expected}",
            f.vwap()
        );
        assert_eq!(f.levels_touched, 3);
        assert!(!f.exhausted);
        // The hole is 4 units: one third into the third level, so the mid moved by
        // disp = 0.02 + (1/3)·0.01 from the top.
        let mid = st.mid(&shape, 100.0);
        assert!(
            (mid - 100.0 * (-(0.02f64 + 0.01 / 3.0)).exp()).abs() < 1e-9,
            "{mid}"
        );
    }

    #[test]
    fn exhausting_the_book_is_recorded_not_a_panic() {
        let shape = BookShape::new(&spec(&[(0.01, 1.0), (0.02, 1.0)], 0.0), 60.0);
        let mut st = BookState::default();
        let f = st.market_order(&shape, 100.0, true, 5.0, 1.0);
        assert!(f.exhausted);
        assert!((f.filled - 2.0).abs() < 1e-12 && (f.unfilled - 3.0).abs() < 1e-12);
        // Backstop at the deepest level's price.
        let deepest = 100.0 * (-0.02f64).exp();
        let expected = 100.0 * (-0.01f64).exp() + deepest + 3.0 * deepest;
        assert!((f.notional - expected).abs() < 1e-9);
        assert!(st.mid(&shape, 100.0).is_finite() && st.mid(&shape, 100.0) > 0.0);
        // Further orders keep working.
        let g = st.market_order(&shape, 100.0, true, 1.0, 1.0);
        assert!(g.exhausted && g.filled == 0.0);
    }

    #[test]
    fn permanent_share_keeps_mid_continuous_and_the_rest_refills() {
        let levels: Vec<(f64, f64)> = (0..100).map(|k| (0.0001 * (k as f64 + 0.5), 1.0)).collect();
        for permanent in [0.0, 0.3, 1.0] {
            let shape = BookShape::new(&spec(&levels, permanent), 60.0);
            let mut st = BookState::default();
            // The mid after the sweep is where a non-resilient book would have put it.
            let mut reference = BookState::default();
            let no_perm = BookShape::new(&spec(&levels, 0.0), 60.0);
            reference.market_order(&no_perm, 100.0, true, 10.0, 1.0);
            st.market_order(&shape, 100.0, true, 10.0, 1.0);
            let (a, b) = (st.mid(&shape, 100.0), reference.mid(&no_perm, 100.0));
            assert!((a - b).abs() < 1e-9, "permanent {permanent}: {a} vs {b}");
            // After many half-lives only the permanent share of the move remains.
            for _ in 0..200 {
                st.refill(&shape);
            }
            let left = (st.mid(&shape, 100.0) / 100.0).ln();
            let total = (b / 100.0).ln();
            assert!(
                (left - permanent * total).abs() < 1e-9,
                "{left} vs {}",
                permanent * total
            );
        }
    }

    #[test]
    fn thinner_hours_mean_more_impact() {
        let levels: Vec<(f64, f64)> = (0..100).map(|k| (0.0001 * (k as f64 + 0.5), 1.0)).collect();
        let shape = BookShape::new(&spec(&levels, 0.0), 60.0);
        let (mut a, mut b) = (BookState::default(), BookState::default());
        a.market_order(&shape, 100.0, true, 10.0, 1.0);
        b.market_order(&shape, 100.0, true, 10.0, 0.5);
        assert!(b.mid(&shape, 100.0) < a.mid(&shape, 100.0));
    }

    #[test]
    fn a_price_floor_stops_the_walk_and_fills_the_rest_there() {
        // Bids at 1%, 2%, 3% below 100 with one coin each, floor at 97.5: the 1% and 2%
        // levels (99.00, 98.02) fill, the 3% level (97.04) is below the floor, so the other
        // two coins of a 4-coin sell fill at 97.5. The mid stays at the floor.
        let mut sp = spec(&[(0.01, 1.0), (0.02, 1.0), (0.03, 1.0)], 0.0);
        sp.price_floor = Some(97.5);
        let shape = BookShape::new(&sp, 60.0);
        let mut st = BookState::default();
        let f = st.market_order(&shape, 100.0, true, 4.0, 1.0);
        assert!(f.floored && !f.exhausted, "{f:?}");
        assert!((f.unfilled - 2.0).abs() < 1e-12 && (f.filled - 2.0).abs() < 1e-12);
        let p = |d: f64| 100.0 * (-d).exp();
        assert!((f.notional - (p(0.01) + p(0.02) + 2.0 * 97.5)).abs() < 1e-9);
        assert!(st.mid(&shape, 100.0) >= 97.5);
        // A fundamental below the floor: every sell fills at the floor, the mid is the floor.
        let mut st = BookState::default();
        let g = st.market_order(&shape, 90.0, true, 1.0, 1.0);
        assert!((g.vwap() - 97.5).abs() < 1e-12, "{g:?}");
        assert_eq!(st.mid(&shape, 90.0), 97.5);
        // Buys are not affected by the floor.
        let h = BookState::default().market_order(&shape, 100.0, false, 1.0, 1.0);
        assert!(!h.floored && (h.vwap() - 100.0 * 0.01f64.exp()).abs() < 1e-9);
    }

    #[test]
    fn volatility_depth_falls_as_realised_volatility_rises() {
        // β = 1: the factor is σ_ref/σ̂, clamped to [0.2, 1.5].
        let mut sp = spec(&[(0.01, 1.0)], 0.0);
        sp.vol_depth = Some(crate::model::spec::VolDepth {
            beta: 1.0,
            reference_volatility: 0.5,
            half_life_s: 600.0,
            min: 0.2,
            max: 1.5,
        });
        let law = BookShape::new(&sp, 60.0).vol_depth.expect("configured");
        let v0 = law.reference_var;
        assert!((law.multiplier(v0) - 1.0).abs() < 1e-12);
        assert!((law.multiplier(4.0 * v0) - 0.5).abs() < 1e-12);
        assert_eq!(law.multiplier(100.0 * v0), 0.2);
        assert_eq!(law.multiplier(0.01 * v0), 1.5);
        let xs: Vec<f64> = (1..50)
            .map(|k| law.multiplier(v0 * f64::from(k) / 4.0))
            .collect();
        assert!(xs.windows(2).all(|w| w[1] <= w[0]), "{xs:?}");
        // One step with a move of 10σ raises the estimate by (1 − keep)·100·v0.
        let keep = 0.5f64.powf(0.1);
        let v1 = law.update(v0, 10.0 * v0.sqrt());
        assert!((v1 - (keep * v0 + (1.0 - keep) * 100.0 * v0)).abs() < 1e-18);
    }

    #[test]
    fn buys_walk_the_asks_upward() {
        let shape = BookShape::new(&spec(&[(0.01, 1.0), (0.02, 2.0)], 0.0), 60.0);
        let mut st = BookState::default();
        let f = st.market_order(&shape, 100.0, false, 2.0, 1.0);
        assert!(f.vwap() > 100.0);
        assert!(st.mid(&shape, 100.0) > 100.0);
    }
}
