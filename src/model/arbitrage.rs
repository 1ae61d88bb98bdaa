//! Several venues (books) of one asset: the index over their mids and the arbitrage that
//! pulls them together. Pure arithmetic on slices; the per-path state is in
//! `engine::index`.
//!
//! A venue's mid is `F·exp(x_v)`: the asset's fundamental `F` shared by all venues, times its
//! own book's offset `x_v` (permanent impact, the holes of its sides, and what arbitrage
//! moved it). The index is the weighted arithmetic mean of the mids, `Σ w_v·mid_v` with
//! `Σ w_v = 1`. Arbitrage moves every offset toward the weighted mean offset
//! `x̄ = Σ w_v·x_v` by the share `κ`: `x_v ← x_v + κ·(x̄ − x_v)`. So every log gap between
//! two venues shrinks by exactly the factor `1 − κ`, and `x̄` (the weighted geometric mean
//! of the mids) does not move: arbitrage brings venues together, it does not move the price.

/// The index: `Σ w_v·mid_v` (weights summing to 1).
#[inline]
pub fn index(mids: &[f64], weights: &[f64]) -> f64 {
    mids.iter().zip(weights).map(|(m, w)| m * w).sum()
}

/// The largest relative gap between two venues, `max mid / min mid − 1` (≥ 0).
#[inline]
pub fn spread(mids: &[f64]) -> f64 {
    let (lo, hi) = mids.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &m| {
        (lo.min(m), hi.max(m))
    });
    if mids.is_empty() { 0.0 } else { hi / lo - 1.0 }
}

/// The log shift of every venue's mid that one arbitrage step applies: with `x_v =
/// ln(mid_v)`, `shift_v = κ·(x̄ − x_v)` where `x̄ = Σ w_v·x_v`. Writes into `shifts`.
pub fn shifts(mids: &[f64], weights: &[f64], kappa: f64, shifts: &mut [f64]) {
    debug_assert!(mids.len() == weights.len() && mids.len() == shifts.len());
    // Relative to the first mid, so the logs stay small (and exact for equal mids).
    let base = mids[0];
    let mean: f64 = mids
        .iter()
        .zip(weights)
        .map(|(m, w)| w * (m / base).ln())
        .sum();
    for (s, m) in shifts.iter_mut().zip(mids) {
        *s = kappa * (mean - (m / base).ln());
    }
}

/// Steps for arbitrage at speed `κ` to halve a gap: `ln 0.5 / ln(1 − κ)` (∞ at κ = 0, 0 at
/// κ = 1).
pub fn half_life_steps(kappa: f64) -> f64 {
    if kappa >= 1.0 {
        0.0
    } else if kappa <= 0.0 {
        f64::INFINITY
    } else {
        0.5f64.ln() / (1.0 - kappa).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_closes_the_share_kappa_of_every_log_gap() {
        let mids = [100.0, 98.0, 101.5];
        let w = [0.5, 0.3, 0.2];
        let mut s = [0.0; 3];
        shifts(&mids, &w, 0.25, &mut s);
        let after: Vec<f64> = mids.iter().zip(&s).map(|(m, d)| m * d.exp()).collect();
        for i in 0..3 {
            for j in 0..3 {
                let before = (mids[i] / mids[j]).ln();
                let now = (after[i] / after[j]).ln();
                assert!(
                    (now - 0.75 * before).abs() < 1e-14,
                    "{i},{j}: {now} vs {before}"
                );
            }
        }
        // The weighted mean log mid (geometric index) stays where it was.
        let g = |m: &[f64]| m.iter().zip(&w).map(|(m, w)| w * m.ln()).sum::<f64>();
        assert!((g(&after) - g(&mids)).abs() < 1e-14);
    }

    #[test]
    fn index_spread_and_half_life_by_hand() {
        assert!((index(&[100.0, 90.0], &[0.75, 0.25]) - 97.5).abs() < 1e-12);
        assert!((spread(&[100.0, 90.0, 95.0]) - (100.0 / 90.0 - 1.0)).abs() < 1e-15);
        assert_eq!(spread(&[42.0]), 0.0);
        assert!((half_life_steps(0.5) - 1.0).abs() < 1e-15);
        assert!((half_life_steps(1.0 - 0.5f64.sqrt()) - 2.0).abs() < 1e-12);
        assert_eq!(half_life_steps(0.0), f64::INFINITY);
    }
}
