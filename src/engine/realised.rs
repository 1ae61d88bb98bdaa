//! The realised liquidation heatmap: where liquidations actually happened over the Monte
//! Carlo paths, as liquidated notional by price level and time, per asset.
//!
//! Notional is accumulated in whole cents (`u128`), so sums are exact and the heatmap is the
//! same whatever the order paths were added in, hence on any number of threads. `u64` would
//! not do: at the documented limit (`open_interest_usd = 1e15`, 10^17 cents liquidated on a
//! path) it wraps after 185 paths; `u128` holds 3.4·10^38 cents, more than 10^19 paths at
//! that limit.

use super::{AssetStep, Market, Observer};

/// Bins of the realised heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct RealisedGrid {
    /// Number of price bins, evenly spaced in log price relative to the start price.
    pub price_bins: usize,
    /// Lower edge of the first price bin, as a log return from the start price.
    pub log_lo: f64,
    /// Upper edge of the last price bin.
    pub log_hi: f64,
    /// Number of time buckets (steps are grouped evenly).
    pub time_buckets: usize,
    /// Steps per path.
    pub steps: u32,
}

impl RealisedGrid {
    /// 200 price bins evenly spaced in log price from half to twice the start price (so
    /// the start price is the edge between bins 99 and 100, and a bin is ln 2 / 100 ≈ 0.69%
    /// wide), and up to 48 time buckets.
    pub fn standard(steps: u32) -> Self {
        RealisedGrid {
            price_bins: 200,
            log_lo: -std::f64::consts::LN_2,
            log_hi: std::f64::consts::LN_2,
            time_buckets: (steps as usize).clamp(1, 48),
            steps,
        }
    }

    /// Price-bin edges as multiples of the start price (`price_bins + 1` values).
    pub fn price_edges(&self) -> Vec<f64> {
        (0..=self.price_bins)
            .map(|i| {
                (self.log_lo + (self.log_hi - self.log_lo) * i as f64 / self.price_bins as f64)
                    .exp()
            })
            .collect()
    }

    /// First step of each time bucket, plus the step count (`time_buckets + 1` values).
    pub fn time_edges(&self) -> Vec<u32> {
        (0..=self.time_buckets)
            .map(|b| ((b as u64 * u64::from(self.steps)) / self.time_buckets as u64) as u32)
            .collect()
    }

    /// Price bin of a log return; values beyond the grid go to the edge bins.
    fn price_bin(&self, log_return: f64) -> usize {
        let x = (log_return - self.log_lo) / (self.log_hi - self.log_lo) * self.price_bins as f64;
        if x.is_nan() || x < 0.0 {
            0
        } else {
            (x as usize).min(self.price_bins - 1)
        }
    }

    fn time_bucket(&self, step: u32) -> usize {
        ((u64::from(step) * self.time_buckets as u64) / u64::from(self.steps.max(1))) as usize
    }
}

/// Liquidated notional (cents) by asset × time bucket × price bin, summed over paths.
#[derive(Debug, Clone, PartialEq)]
pub struct RealisedHeatmap {
    pub grid: RealisedGrid,
    /// Start price of each asset (the grid is relative to it).
    pub start_prices: Vec<f64>,
    /// `cents[(asset · time_buckets + bucket) · price_bins + bin]`.
    pub cents: Vec<u128>,
}

impl RealisedHeatmap {
    /// An empty heatmap for a market.
    pub fn new(market: &Market, grid: RealisedGrid) -> Self {
        let n = market.assets.len() * grid.time_buckets * grid.price_bins;
        RealisedHeatmap {
            start_prices: market.assets.iter().map(|a| a.start_price).collect(),
            grid,
            cents: vec![0; n],
        }
    }

    /// Adds another heatmap of the same grid (exact: integer sums).
    pub fn merge(&mut self, other: &RealisedHeatmap) {
        debug_assert_eq!(self.grid, other.grid);
        for (a, b) in self.cents.iter_mut().zip(&other.cents) {
            *a = a.saturating_add(*b);
        }
    }

    /// The asset's `time_buckets × price_bins` table in USD, row-major.
    pub fn asset_usd(&self, asset: usize) -> Vec<f64> {
        let per = self.grid.time_buckets * self.grid.price_bins;
        self.cents[asset * per..(asset + 1) * per]
            .iter()
            .map(|&c| c as f64 / 100.0)
            .collect()
    }
}

impl Observer for RealisedHeatmap {
    /// A step without liquidations adds nothing to the map.
    const QUIET_STEPS: bool = false;

    #[inline]
    fn on_step(&mut self, step: u32, assets: &[AssetStep]) {
        for (a, s) in assets.iter().enumerate() {
            if s.liquidated_notional <= 0.0 || s.liquidated_qty <= 0.0 {
                continue;
            }
            // The step's average fill price places the notional on the price axis.
            let price = s.liquidated_notional / s.liquidated_qty;
            let bin = self.grid.price_bin((price / self.start_prices[a]).ln());
            let bucket = self.grid.time_bucket(step);
            let idx = (a * self.grid.time_buckets + bucket) * self.grid.price_bins + bin;
            // The cast saturates (a step's notional is finite and below 10^30 USD), and so
            // does the sum, which no run reaches (see the module doc): never a wrap.
            self.cents[idx] =
                self.cents[idx].saturating_add((s.liquidated_notional * 100.0).round() as u128);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_grid_and_clamp_outside() {
        let g = RealisedGrid::standard(1440);
        assert_eq!(g.time_buckets, 48);
        assert_eq!(
            g.price_bin(0.0),
            100,
            "the start price is in the middle bin"
        );
        assert_eq!(g.price_bin(-5.0), 0);
        assert_eq!(g.price_bin(5.0), 199);
        assert_eq!(g.time_bucket(0), 0);
        assert_eq!(g.time_bucket(1439), 47);
        let e = g.price_edges();
        assert_eq!(e.len(), 201);
        assert!((e[0] - 0.5).abs() < 1e-12 && (e[200] - 2.0).abs() < 1e-12);
        assert!((e[100] - 1.0).abs() < 1e-12);
        assert_eq!(
            g.time_edges(),
            (0..=48).map(|b| b * 30).collect::<Vec<u32>>()
        );
    }

    /// Regression (issue 20): at `open_interest_usd = 1e15`, the documented maximum, a path
    /// liquidating everything adds 10^17 cents; 1,000 such paths summed in `u64` wrapped
    /// (to 27% of the true total). The sum stays exact.
    #[test]
    fn sums_at_the_documented_limit_stay_exact() {
        let grid = RealisedGrid::standard(10);
        let cells = grid.time_buckets * grid.price_bins;
        let mut total = RealisedHeatmap {
            grid: grid.clone(),
            start_prices: vec![100.0],
            cents: vec![0; cells],
        };
        let step = AssetStep {
            liquidated_notional: 1e15,
            liquidated_qty: 1e13,
            ..AssetStep::default()
        };
        for _ in 0..1000 {
            let mut path = RealisedHeatmap {
                grid: grid.clone(),
                start_prices: vec![100.0],
                cents: vec![0; cells],
            };
            path.on_step(3, std::slice::from_ref(&step));
            total.merge(&path);
        }
        let sum: u128 = total.cents.iter().sum();
        assert_eq!(sum, 100_000_000_000_000_000_000);
        assert_eq!(total.asset_usd(0).iter().sum::<f64>(), 1e18);
    }
}
