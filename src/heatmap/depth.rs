//! Book depth between the current price and another price: how much must be sold (or bought)
//! at once into a whole book to move the mid there.
//!
//! The engine's mid sits where a sweep stopped: a hole of `h` units in the bid side moves it
//! down by `bid.displacement(h)` in log-price (interpolated inside the last level). The depth
//! "between here and `x`" is therefore the smallest hole whose displacement reaches
//! `ln(price / x)`, found by bisection on the (non-decreasing, piecewise linear)
//! [`Side::displacement`](crate::model::book::Side::displacement), times the hour's depth
//! multiplier. Its USD value is the notional of that market order on a fresh
//! [`BookState`](crate::model::book::BookState) (fills at the levels' prices). This is the
//! same as walking a fresh book with `market_order` until the mid reaches `x`.

use serde::Serialize;

use crate::model::book::{BookShape, BookState, Side};

/// Depth between the current price and a target price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Depth {
    /// Base units a market order must take to move the mid to the target.
    pub qty: f64,
    /// Value of that order at its fill prices, USD.
    pub usd: f64,
    /// The target lies beyond the book's extent: `qty` and `usd` are the whole side (a
    /// lower bound of what stands in front; the engine's backstop takes the rest).
    pub beyond_book: bool,
}

/// Smallest hole (normalised units) whose displacement reaches `target` (log), or `None`
/// when even the whole side does not.
fn hole_reaching(side: &Side, target: f64) -> Option<f64> {
    if target <= 0.0 {
        return Some(0.0);
    }
    let total = side.total();
    if side.displacement(total) < target {
        return None;
    }
    let (mut lo, mut hi) = (0.0, total);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if side.displacement(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Depth between `price` (the current mid, with a whole book) and `target`: bids when
/// `target < price`, asks when above. `multiplier` is the hour's depth factor.
pub fn depth_to(shape: &BookShape, price: f64, multiplier: f64, target: f64) -> Depth {
    let sell = target < price;
    let side = if sell { &shape.bid } else { &shape.ask };
    let t = (target / price).ln().abs();
    let (hole, beyond_book) = match hole_reaching(side, t) {
        Some(h) => (h, false),
        None => (side.total(), true),
    };
    let qty = hole * multiplier;
    let usd = if qty > 0.0 {
        BookState::default()
            .market_order(shape, price, sell, qty, multiplier)
            .notional
    } else {
        0.0
    };
    Depth {
        qty,
        usd,
        beyond_book,
    }
}

/// Depth between `price` and `target` over several books moved together (an asset's venues,
/// each with its hour's factor): the sum of each book's depth, beyond the book when any is.
/// With one book it is [`depth_to`] exactly.
pub fn depth_to_all(books: &[(&BookShape, f64)], price: f64, target: f64) -> Depth {
    if let [(shape, multiplier)] = books {
        return depth_to(shape, price, *multiplier, target);
    }
    let mut out = Depth {
        qty: 0.0,
        usd: 0.0,
        beyond_book: false,
    };
    for (shape, multiplier) in books {
        let d = depth_to(shape, price, *multiplier, target);
        out.qty += d.qty;
        out.usd += d.usd;
        out.beyond_book |= d.beyond_book;
    }
    out
}

/// Cumulative book depth at every grid edge: bids below the price, asks above, in base units
/// and USD; `NaN` beyond the book's extent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DepthCurve {
    /// Hour-of-day depth multiplier the curve uses.
    pub multiplier: f64,
    /// Base units to move the mid from the current price to each edge (NaN beyond the book).
    pub qty: Vec<f64>,
    /// The same in USD at fill prices.
    pub usd: Vec<f64>,
}

impl DepthCurve {
    /// Depth at each of `edges` from `price`.
    pub fn build(shape: &BookShape, price: f64, multiplier: f64, edges: &[f64]) -> DepthCurve {
        DepthCurve::build_all(&[(shape, multiplier)], price, multiplier, edges)
    }

    /// Depth at each of `edges` over several books moved together ([`depth_to_all`]);
    /// `multiplier` is the one reported.
    pub fn build_all(
        books: &[(&BookShape, f64)],
        price: f64,
        multiplier: f64,
        edges: &[f64],
    ) -> DepthCurve {
        let mut qty = Vec::with_capacity(edges.len());
        let mut usd = Vec::with_capacity(edges.len());
        for &x in edges {
            let d = depth_to_all(books, price, x);
            if d.beyond_book {
                qty.push(f64::NAN);
                usd.push(f64::NAN);
            } else {
                qty.push(d.qty);
                usd.push(d.usd);
            }
        }
        DepthCurve {
            multiplier,
            qty,
            usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::{BookSpec, Level};

    fn shape(permanent: f64) -> BookShape {
        let levels: Vec<Level> = (0..100)
            .map(|k| Level {
                distance: 0.0001 * (k as f64 + 0.5),
                size: 1.0 + k as f64 * 0.1,
            })
            .collect();
        BookShape::new(
            &BookSpec {
                bid: levels.clone(),
                ask: levels,
                hourly: [1.0; 24],
                refill_half_life_s: 60.0,
                permanent_impact: permanent,
                vol_depth: None,
                price_floor: None,
            },
            60.0,
        )
    }

    #[test]
    fn the_depth_moves_a_fresh_book_exactly_to_the_target() {
        for permanent in [0.0, 0.4] {
            let s = shape(permanent);
            for (target, m) in [(99.5, 1.0), (99.9, 0.5), (100.3, 2.0)] {
                let d = depth_to(&s, 100.0, m, target);
                assert!(!d.beyond_book);
                let mut st = BookState::default();
                let f = st.market_order(&s, 100.0, target < 100.0, d.qty, m);
                let mid = st.mid(&s, 100.0);
                assert!((mid - target).abs() < 1e-9, "{mid} vs {target}");
                assert!((f.notional - d.usd).abs() < 1e-9 * d.usd);
            }
        }
    }

    #[test]
    fn beyond_the_book_is_flagged_with_the_whole_side() {
        let s = shape(0.0);
        let d = depth_to(&s, 100.0, 1.0, 50.0);
        assert!(d.beyond_book);
        assert!((d.qty - s.bid.total()).abs() < 1e-12);
        assert_eq!(depth_to(&s, 100.0, 1.0, 100.0).qty, 0.0);
    }
}
