//! The price grid and the static liquidation map: how much notional would be liquidated at
//! each price level (a histogram over the grid, longs and shorts apart) and the cumulative
//! curves (how much is liquidated if the price moves to `x`, without feedback).

use serde::Serialize;

/// A uniform price grid around the current price: `bins` bins of `width` USD from `low`.
/// Bin `j` is `[low + j·width, low + (j+1)·width)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Grid {
    /// Current price (the grid's centre), USD.
    pub price: f64,
    /// Lowest edge, USD.
    pub low: f64,
    /// Bin width, USD.
    pub width: f64,
    /// Number of bins.
    pub bins: usize,
}

impl Grid {
    /// Bins of `bin_width` (fraction of `price`) covering `price·(1 ± half_range)`. The
    /// number of bins is rounded so that the grid is symmetric around `price`: one edge sits
    /// exactly at the current price.
    pub fn new(price: f64, bin_width: f64, half_range: f64) -> Grid {
        let half = (half_range / bin_width).round().max(1.0) as usize;
        let width = price * bin_width;
        Grid {
            price,
            low: price - half as f64 * width,
            width,
            bins: 2 * half,
        }
    }

    /// The `bins + 1` edges, lowest first.
    pub fn edges(&self) -> Vec<f64> {
        (0..=self.bins).map(|j| self.edge(j)).collect()
    }

    /// Edge `j` (`0 ..= bins`).
    pub fn edge(&self, j: usize) -> f64 {
        if j == self.bins / 2 {
            // Exactly the current price, whatever the rounding of low + j·width.
            self.price
        } else {
            self.low + j as f64 * self.width
        }
    }

    /// Centre of bin `j`.
    pub fn centre(&self, j: usize) -> f64 {
        self.low + (j as f64 + 0.5) * self.width
    }

    /// The highest edge, USD.
    pub fn high(&self) -> f64 {
        self.edge(self.bins)
    }

    /// The bin holding `price`: `Err(true)` below the grid, `Err(false)` above it.
    pub fn bin_of(&self, price: f64) -> Result<usize, bool> {
        if price.is_nan() || price < self.low {
            return Err(true);
        }
        let j = ((price - self.low) / self.width).floor();
        if j >= self.bins as f64 {
            return Err(false);
        }
        let mut j = j as usize;
        // Guard the floating-point division at an edge: the bin is [edge j, edge j+1).
        if price < self.edge(j) && j > 0 {
            j -= 1;
        } else if j + 1 < self.bins && price >= self.edge(j + 1) {
            j += 1;
        }
        Ok(j)
    }
}

/// Liquidation prices and sizes of one side of one asset (all populations together).
#[derive(Debug, Clone, Default)]
pub struct SideBook {
    /// Liquidation price, USD.
    pub liq: Vec<f64>,
    /// Size, base units.
    pub qty: Vec<f64>,
}

impl SideBook {
    /// Adds positions.
    pub fn extend(&mut self, liq: &[f64], qty: &[f64]) {
        self.liq.extend_from_slice(liq);
        self.qty.extend_from_slice(qty);
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.liq.len()
    }

    /// Whether there are no positions.
    pub fn is_empty(&self) -> bool {
        self.liq.is_empty()
    }
}

/// Liquidatable notional of one side by price bin.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SideHistogram {
    /// Notional valued at each position's liquidation price (`qty × liquidation price`),
    /// USD per bin.
    pub notional: Vec<f64>,
    /// Size, base units per bin.
    pub qty: Vec<f64>,
    /// Positions per bin.
    pub positions: Vec<u32>,
    /// Σ notional × liquidation price per bin (for notional-weighted mean prices; not
    /// written out).
    #[serde(skip)]
    pub notional_price: Vec<f64>,
    /// Notional whose liquidation price lies below the grid (USD).
    pub notional_below_grid: f64,
    /// Notional whose liquidation price lies above the grid (USD).
    pub notional_above_grid: f64,
    /// Total notional of the side at liquidation prices (USD).
    pub total_notional: f64,
    /// Positions on this side.
    pub total_positions: usize,
}

impl SideHistogram {
    /// Bins the positions of one side.
    pub fn build(grid: &Grid, side: &SideBook) -> SideHistogram {
        let mut h = SideHistogram {
            notional: vec![0.0; grid.bins],
            qty: vec![0.0; grid.bins],
            positions: vec![0; grid.bins],
            notional_price: vec![0.0; grid.bins],
            total_positions: side.len(),
            ..SideHistogram::default()
        };
        for (&liq, &q) in side.liq.iter().zip(&side.qty) {
            // A long whose liquidation price is ≤ 0 can never be liquidated; its notional at
            // that price is 0 and it counts below the grid.
            let n = q * liq.max(0.0);
            h.total_notional += n;
            match grid.bin_of(liq) {
                Ok(j) => {
                    h.notional[j] += n;
                    h.qty[j] += q;
                    h.positions[j] += 1;
                    h.notional_price[j] += n * liq;
                }
                Err(true) => h.notional_below_grid += n,
                Err(false) => h.notional_above_grid += n,
            }
        }
        h
    }
}

/// Cumulative liquidations at each grid edge, without feedback: if the price moves from the
/// current price to edge `x` (and no further), longs with a liquidation price `≥ x` and shorts
/// with a liquidation price `≤ x` are liquidated (the engine's trigger rules). Computed from
/// the sorted positions, so the values are exact at the edges.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cumulative {
    /// Long notional (USD at liquidation prices) with a liquidation price at or above each
    /// edge: what a fall to that edge liquidates. Only meaningful below the current price
    /// (above it, it counts longs that are liquidatable already).
    pub long_notional: Vec<f64>,
    /// Short notional with a liquidation price at or below each edge: what a rise to that
    /// edge liquidates.
    pub short_notional: Vec<f64>,
    /// The same in base units.
    pub long_qty: Vec<f64>,
    pub short_qty: Vec<f64>,
}

impl Cumulative {
    /// Curves at every edge of `grid`.
    pub fn build(grid: &Grid, longs: &SideBook, shorts: &SideBook) -> Cumulative {
        let edges = grid.edges();
        let (ln, lq) = curve(longs, &edges, true);
        let (sn, sq) = curve(shorts, &edges, false);
        Cumulative {
            long_notional: ln,
            short_notional: sn,
            long_qty: lq,
            short_qty: sq,
        }
    }
}

/// Sorted prefix sums of one side evaluated at `edges`.
fn curve(side: &SideBook, edges: &[f64], long: bool) -> (Vec<f64>, Vec<f64>) {
    let mut rows: Vec<(f64, f64)> = side
        .liq
        .iter()
        .zip(&side.qty)
        .map(|(&l, &q)| (l, q))
        .collect();
    // Trigger order: longs from the highest liquidation price, shorts from the lowest.
    if long {
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    } else {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let mut cum_n = Vec::with_capacity(rows.len() + 1);
    let mut cum_q = Vec::with_capacity(rows.len() + 1);
    let (mut n, mut q) = (0.0, 0.0);
    cum_n.push(0.0);
    cum_q.push(0.0);
    for &(l, s) in &rows {
        n += s * l.max(0.0);
        q += s;
        cum_n.push(n);
        cum_q.push(q);
    }
    let mut out_n = Vec::with_capacity(edges.len());
    let mut out_q = Vec::with_capacity(edges.len());
    for &x in edges {
        let k = if long {
            rows.partition_point(|r| r.0 >= x)
        } else {
            rows.partition_point(|r| r.0 <= x)
        };
        out_n.push(cum_n[k]);
        out_q.push(cum_q[k]);
    }
    (out_n, out_q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_symmetric_with_an_edge_at_the_price() {
        let g = Grid::new(100.0, 0.001, 0.5);
        assert_eq!(g.bins, 1000);
        assert!((g.low - 50.0).abs() < 1e-9 && (g.high() - 150.0).abs() < 1e-9);
        assert_eq!(g.edge(500), 100.0);
        assert_eq!(g.bin_of(100.0), Ok(500));
        assert_eq!(g.bin_of(99.99), Ok(499));
        assert_eq!(g.bin_of(49.0), Err(true));
        assert_eq!(g.bin_of(150.0), Err(false));
        assert_eq!(g.bin_of(f64::NAN), Err(true));
    }

    #[test]
    fn cumulative_curves_follow_the_trigger_rules() {
        let g = Grid::new(100.0, 0.01, 0.2);
        let longs = SideBook {
            liq: vec![95.0, 90.0],
            qty: vec![1.0, 2.0],
        };
        let shorts = SideBook {
            liq: vec![105.0],
            qty: vec![3.0],
        };
        let c = Cumulative::build(&g, &longs, &shorts);
        let at = |x: f64| g.edges().iter().position(|e| (e - x).abs() < 1e-9).unwrap();
        assert_eq!(c.long_notional[at(96.0)], 0.0);
        assert_eq!(c.long_notional[at(95.0)], 95.0);
        assert_eq!(c.long_notional[at(90.0)], 95.0 + 180.0);
        assert_eq!(c.short_qty[at(104.0)], 0.0);
        assert_eq!(c.short_qty[at(105.0)], 3.0);
        let h = SideHistogram::build(&g, &longs);
        assert_eq!(h.positions.iter().sum::<u32>(), 2);
        assert_eq!(h.notional[g.bin_of(95.0).unwrap()], 95.0);
    }
}
