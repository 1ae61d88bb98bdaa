//! The per-asset risk score: one number in [0, 100] for a dashboard.
//!
//! The score looks at the large clusters (holding at least 1% of the asset's open interest,
//! both sides together) and keeps the `k` (3) with the largest contribution `P·S` below, so a
//! small cluster far away never dilutes it and a heavy cluster right at the price is never
//! left out. For each cluster:
//! - **reach** `P`: the probability that the price touches the cluster's centre (its
//!   notional-weighted mean liquidation price) within one day, for a driftless log-price with
//!   the asset's volatility (reflection principle): `P = 2·(1 − Φ(z))`,
//!   `z = |ln(centre / price)| / (σ·√(1/365))`. `P = 1` for a centre at or past the price;
//!   with `σ = 0` a cluster at a positive distance is never reached (`P = 0`).
//! - **severity** `S = R / (1 + R)` with `R` = the cluster's size over the book depth between
//!   the price and its centre (base units over base units; see [`super::depth`]). `S` is ½
//!   when the cluster is as large as the book that must be eaten to reach it, tends to 1 when
//!   the cluster dwarfs it and to 0 when the book dwarfs the cluster. No book in front (a
//!   centre at the price): `S = 1`.
//!
//! `score = 100 · (1 − Π (1 − P·S))`: the chance, treating the clusters as independent, that
//! at least one large cluster is reached within a day *and* is heavy compared with the book
//! that stood in front of it. It rises when a cluster moves closer (`P` up, and less book in
//! front so `S` up), when a cluster grows (`S` up) or volatility rises (`P` up); it falls when
//! the book deepens (`S` down). Keeping the `k` largest contributions preserves this: the
//! score is non-decreasing in every cluster's contribution. It is a ranking number, not a
//! calibrated probability of a cascade: the critical shock and the Monte Carlo run answer
//! that.

use serde::Serialize;

use crate::tails::normal_cdf;

/// One cluster's part in the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreTerm {
    /// Index into the asset's cluster list.
    pub cluster: usize,
    /// Probability of touching the cluster's centre within a day.
    pub reach: f64,
    /// `R / (1 + R)`.
    pub severity: f64,
    /// `reach × severity`.
    pub contribution: f64,
}

/// The score of one asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskScore {
    /// `100·(1 − Π(1 − reach·severity))` over the terms; 0 when there is no cluster.
    pub value: f64,
    /// The clusters used, largest contribution first.
    pub terms: Vec<ScoreTerm>,
    /// The formula, for readers of the JSON.
    pub formula: String,
}

/// The formula as text, for `k` clusters among those holding at least `share` of the open
/// interest.
pub fn formula(k: usize, share: f64) -> String {
    format!(
        "100*(1 - prod_c (1 - reach_c*severity_c)) over the {k} largest contributions among clusters holding >= {}% of open interest; reach = 2*(1 - Phi(|ln(centre/price)| / (sigma*sqrt(1/365)))), severity = R/(1+R), R = cluster size / book depth between the price and the centre",
        100.0 * share
    )
}

/// Probability of touching a level at log-distance `d ≥ 0` within one day.
pub fn reach(log_distance: f64, daily_vol: f64) -> f64 {
    if log_distance <= 0.0 {
        return 1.0;
    }
    if daily_vol.is_nan() || daily_vol <= 0.0 {
        return 0.0;
    }
    (2.0 * (1.0 - normal_cdf(log_distance / daily_vol))).clamp(0.0, 1.0)
}

/// `R / (1 + R)`, with `None` (no book in front) giving 1.
pub fn severity(ratio: Option<f64>) -> f64 {
    match ratio {
        Some(r) if r.is_finite() => r / (1.0 + r),
        _ => 1.0,
    }
}

/// Combines the terms (already chosen and ordered) into the score.
pub fn combine(terms: Vec<ScoreTerm>, formula: String) -> RiskScore {
    let miss: f64 = terms.iter().map(|t| 1.0 - t.contribution).product();
    RiskScore {
        value: 100.0 * (1.0 - miss),
        terms,
        formula,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_and_severity_are_monotone_and_bounded() {
        assert_eq!(reach(0.0, 0.02), 1.0);
        assert!(reach(0.01, 0.02) > reach(0.02, 0.02));
        assert!((reach(0.02, 0.02) - 2.0 * (1.0 - normal_cdf(1.0))).abs() < 1e-15);
        assert_eq!(reach(0.01, 0.0), 0.0);
        assert_eq!(severity(Some(1.0)), 0.5);
        assert!(severity(Some(2.0)) > severity(Some(1.0)));
        assert_eq!(severity(None), 1.0);
        let term = |cluster, reach: f64, severity: f64| ScoreTerm {
            cluster,
            reach,
            severity,
            contribution: reach * severity,
        };
        let s = combine(vec![term(0, 0.5, 0.5), term(1, 1.0, 0.5)], formula(2, 0.01));
        assert!((s.value - 100.0 * (1.0 - 0.75 * 0.5)).abs() < 1e-12);
    }
}
