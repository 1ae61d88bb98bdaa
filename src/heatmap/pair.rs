//! The 2-D pair map: liquidated notional over a grid of (move in asset A, move in asset B),
//! static like the 1-D map (every position whose liquidation price the move reaches; no book
//! impact, no cascade), with the one-day correlation ellipses to read it against.
//!
//! A move of `x` (fraction of the price) on an asset liquidates its longs with a liquidation
//! price `≥ P·(1 + min(x, 0))` and its shorts with one `≤ P·(1 + max(x, 0))`: the path from the
//! price to `P·(1 + x)` touches every price in between (the engine's trigger rules). Without
//! feedback the two assets' liquidations add, so cell `(i, j)` is `a(x_i) + b(y_j)`; what the
//! map adds to the two 1-D curves is where the likely joint moves (the ellipses) fall on it.

use serde::Serialize;

use super::grid::SideBook;

/// Grid points per axis on each side of 0.
pub const HALF_CELLS: usize = 40;
/// Each axis covers ± this many one-day σ of its asset (capped by the map's half range).
pub const SIGMAS: f64 = 4.0;

/// One axis of the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAxis {
    pub asset: String,
    pub price: f64,
    /// One-day σ of the log-price.
    pub daily_volatility: f64,
    /// Moves, fractions of the price, increasing (`2·HALF_CELLS + 1` points, 0 in the middle).
    pub moves: Vec<f64>,
    /// Long and short notional (USD at liquidation prices) each move liquidates.
    pub long_notional: Vec<f64>,
    pub short_notional: Vec<f64>,
}

/// The largest liquidation on one correlation ellipse.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EllipseWorst {
    /// The ellipse: joint one-day moves at this Mahalanobis radius (1 or 2).
    pub sigmas: f64,
    /// The moves (fractions) where the liquidated notional is largest, and that notional.
    pub move_a: f64,
    pub move_b: f64,
    pub notional: f64,
}

/// The map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairMap {
    pub a: PairAxis,
    pub b: PairAxis,
    /// Correlation of the pair (the scenario's base matrix).
    pub correlation: f64,
    /// `notional[i][j]`: USD liquidated by the move `(a.moves[i], b.moves[j])`.
    pub notional: Vec<Vec<f64>>,
    /// The largest liquidation on the 1σ and the 2σ ellipse.
    pub ellipses: Vec<EllipseWorst>,
}

/// Notional liquidated by a move `x` of one asset (see the module documentation).
pub fn liquidated(longs: &SideBook, shorts: &SideBook, price: f64, x: f64) -> (f64, f64) {
    let down = price * (1.0 + x.min(0.0));
    let up = price * (1.0 + x.max(0.0));
    let sum = |b: &SideBook, hit: &dyn Fn(f64) -> bool| -> f64 {
        b.liq
            .iter()
            .zip(&b.qty)
            .filter(|(l, _)| hit(**l))
            .map(|(l, q)| q * l.max(0.0))
            .sum()
    };
    (sum(longs, &|l| l >= down), sum(shorts, &|l| l <= up))
}

/// The axis of one asset: `±min(SIGMAS·σ, half_range)` in `2·HALF_CELLS` steps.
pub fn axis(
    asset: &str,
    books: &(SideBook, SideBook),
    price: f64,
    daily: f64,
    half_range: f64,
) -> PairAxis {
    let span = (SIGMAS * (daily.exp() - 1.0)).min(half_range);
    let span = if span > 0.0 { span } else { half_range };
    let moves: Vec<f64> = (0..=2 * HALF_CELLS)
        .map(|k| span * (k as f64 - HALF_CELLS as f64) / HALF_CELLS as f64)
        .collect();
    let (long_notional, short_notional) = moves
        .iter()
        .map(|&x| liquidated(&books.0, &books.1, price, x))
        .unzip();
    PairAxis {
        asset: asset.to_string(),
        price,
        daily_volatility: daily,
        moves,
        long_notional,
        short_notional,
    }
}

/// Point `t` (radians) of the `k`-σ ellipse of one-day log moves, as price moves (fractions).
pub fn ellipse_point(a: &PairAxis, b: &PairAxis, rho: f64, k: f64, t: f64) -> (f64, f64) {
    // u = k·L·(cos t, sin t) with L the 2×2 Cholesky factor of [[1, ρ], [ρ, 1]].
    let (c, s) = (t.cos(), t.sin());
    let u = k * c;
    let v = k * (rho * c + (1.0 - rho * rho).max(0.0).sqrt() * s);
    (
        (u * a.daily_volatility).exp() - 1.0,
        (v * b.daily_volatility).exp() - 1.0,
    )
}

/// The map of assets `a` and `b`.
pub fn build(a: PairAxis, b: PairAxis, books: [&(SideBook, SideBook); 2], rho: f64) -> PairMap {
    let notional = (0..a.moves.len())
        .map(|i| {
            (0..b.moves.len())
                .map(|j| {
                    a.long_notional[i]
                        + a.short_notional[i]
                        + b.long_notional[j]
                        + b.short_notional[j]
                })
                .collect()
        })
        .collect();
    let ellipses = [1.0, 2.0]
        .into_iter()
        .map(|k| {
            let mut worst = EllipseWorst {
                sigmas: k,
                move_a: 0.0,
                move_b: 0.0,
                notional: -1.0,
            };
            for step in 0..720 {
                let t = std::f64::consts::TAU * step as f64 / 720.0;
                let (x, y) = ellipse_point(&a, &b, rho, k, t);
                let (la, sa) = liquidated(&books[0].0, &books[0].1, a.price, x);
                let (lb, sb) = liquidated(&books[1].0, &books[1].1, b.price, y);
                let total = la + sa + lb + sb;
                if total > worst.notional {
                    worst = EllipseWorst {
                        sigmas: k,
                        move_a: x,
                        move_b: y,
                        notional: total,
                    };
                }
            }
            worst
        })
        .collect();
    PairMap {
        a,
        b,
        correlation: rho,
        notional,
        ellipses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(liq: &[f64], qty: &[f64]) -> SideBook {
        SideBook {
            liq: liq.to_vec(),
            qty: qty.to_vec(),
        }
    }

    #[test]
    fn the_map_adds_what_each_move_reaches() {
        // A at 100: longs liquidated at 95 (2 units) and 90 (1), a short at 104 (1).
        // B at 10: a long at 9.8 (10 units), a short at 10.5 (4).
        let a_books = (book(&[95.0, 90.0], &[2.0, 1.0]), book(&[104.0], &[1.0]));
        let b_books = (book(&[9.8], &[10.0]), book(&[10.5], &[4.0]));
        let a = axis("A", &a_books, 100.0, 0.05, 0.5);
        let b = axis("B", &b_books, 10.0, 0.01, 0.5);
        // A's axis: ±4·(e^0.05 − 1) ≈ ±20.5%; B's: ±4·(e^0.01 − 1) ≈ ±4.02%.
        assert!((a.moves[2 * HALF_CELLS] - 4.0 * (0.05f64.exp() - 1.0)).abs() < 1e-12);
        assert_eq!(a.moves[HALF_CELLS], 0.0);
        let map = build(a, b, [&a_books, &b_books], 0.5);
        let at = |m: &PairMap, x: f64, y: f64| {
            let i = m.a.moves.iter().position(|v| (v - x).abs() < 1e-9).unwrap();
            let j = m.b.moves.iter().position(|v| (v - y).abs() < 1e-9).unwrap();
            m.notional[i][j]
        };
        let (sa, sb) = (
            map.a.moves[1] - map.a.moves[0],
            map.b.moves[1] - map.b.moves[0],
        );
        // No move: nothing. A −5.x% (the grid point at or past −5%) takes the 95 long: 190.
        assert_eq!(at(&map, 0.0, 0.0), 0.0);
        let down5 = map.a.moves[HALF_CELLS - (0.05 / sa).ceil() as usize];
        assert_eq!(at(&map, down5, 0.0), 2.0 * 95.0);
        // A −10.x%: both longs, 190 + 90; with B −2.x%: B's long too, 10 × 9.8.
        let down10 = map.a.moves[HALF_CELLS - (0.10 / sa).ceil() as usize];
        let b_down2 = map.b.moves[HALF_CELLS - (0.02 / sb).ceil() as usize];
        assert_eq!(at(&map, down10, b_down2), 190.0 + 90.0 + 98.0);
        // A +4.x% takes the short at 104 (104); B up to +4.02% does not reach 10.5.
        let up4 = map.a.moves[HALF_CELLS + (0.04 / sa).ceil() as usize];
        assert_eq!(at(&map, up4, *map.b.moves.last().unwrap()), 104.0);
        // The worst 2σ joint move (ρ = 0.5) reaches at most everything the grid reaches.
        assert_eq!(map.ellipses.len(), 2);
        assert!(map.ellipses[1].notional >= map.ellipses[0].notional);
        assert!(map.ellipses[1].notional <= 190.0 + 90.0 + 104.0 + 98.0 + 42.0);
    }
}
