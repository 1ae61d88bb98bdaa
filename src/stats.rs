//! Summary statistics on plain slices: mean, quantiles, VaR and expected shortfall, and
//! binomial confidence intervals. Definitions are spelled out so results can be checked
//! against numpy/pandas.

use serde::Serialize;

/// Probabilities at which quantiles are reported.
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];
/// Confidence levels at which VaR and ES are reported.
pub const RISK_LEVELS: [f64; 3] = [0.95, 0.99, 0.999];

/// Quantile by linear interpolation between order statistics (Hyndman–Fan type 7, numpy's
/// default) of an ascending-sorted, non-empty slice.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Value at risk: the empirical `p`-quantile as the inverse ECDF, `x_(⌈n·p⌉)` (1-based) of an
/// ascending-sorted, non-empty slice. Larger values are worse.
pub fn var_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let k = ((n as f64 * p).ceil() as usize).clamp(1, n);
    sorted[k - 1]
}

/// Expected shortfall (Acerbi–Tasche): the mean of the worst `n(1 − p)` observations, with
/// the boundary observation weighted by its fractional share:
/// `[Σ_{i>⌈np⌉} x_(i) + (⌈np⌉ − np)·x_(⌈np⌉)] / (n(1 − p))`.
pub fn es_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let np = n as f64 * p;
    let k = (np.ceil() as usize).clamp(1, n);
    let tail: f64 = sorted[k..].iter().sum();
    let denom = n as f64 - np;
    if denom <= 0.0 {
        return sorted[n - 1];
    }
    (tail + (k as f64 - np) * sorted[k - 1]) / denom
}

/// A value at a probability level.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct AtLevel {
    pub p: f64,
    pub value: f64,
}

/// Distribution summary of one per-path metric.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricSummary {
    pub unit: &'static str,
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub quantiles: Vec<AtLevel>,
    pub var: Vec<AtLevel>,
    pub es: Vec<AtLevel>,
}

impl MetricSummary {
    /// Summarises `values` (any order). `None` for an empty slice.
    pub fn of(values: &[f64], unit: &'static str) -> Option<MetricSummary> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = values.len() as f64;
        // Sums in path order, so the result does not depend on thread count.
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Some(MetricSummary {
            unit,
            mean,
            std_dev: var.sqrt(),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            quantiles: QUANTILES
                .iter()
                .map(|&p| AtLevel {
                    p,
                    value: quantile_sorted(&sorted, p),
                })
                .collect(),
            var: RISK_LEVELS
                .iter()
                .map(|&p| AtLevel {
                    p,
                    value: var_sorted(&sorted, p),
                })
                .collect(),
            es: RISK_LEVELS
                .iter()
                .map(|&p| AtLevel {
                    p,
                    value: es_sorted(&sorted, p),
                })
                .collect(),
        })
    }
}

/// A proportion with its confidence interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Proportion {
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub level: f64,
    pub method: &'static str,
    pub successes: u64,
    pub trials: u64,
}

/// Two-sided standard normal quantile for a 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `k` successes in `n` trials at the 95% level. For `n = 0` the
/// estimate is undefined: the interval is the whole [0, 1] and the estimate 0.
pub fn wilson95(k: u64, n: u64) -> Proportion {
    let (lo, hi, est) = if n == 0 {
        (0.0, 1.0, 0.0)
    } else {
        let (kf, nf) = (k as f64, n as f64);
        let p = kf / nf;
        let z2 = Z95 * Z95;
        let denom = 1.0 + z2 / nf;
        let centre = (p + z2 / (2.0 * nf)) / denom;
        let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
        // At k = 0 or k = n the exact bound is 0 or 1; rounding must not move it inside.
        let lo = if k == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        };
        let hi = if k == n {
            1.0
        } else {
            (centre + half).min(1.0)
        };
        (lo, hi, p)
    };
    Proportion {
        estimate: est,
        ci_low: lo,
        ci_high: hi,
        level: 0.95,
        method: "wilson",
        successes: k,
        trials: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 → 0.2553–0.3662;
        // 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611. Four decimals published, so 5e-5.
        for (k, n, lo, hi) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
        ] {
            let w = wilson95(k, n);
            assert!((w.ci_low - lo).abs() < 5e-5, "{k}/{n}: {}", w.ci_low);
            assert!((w.ci_high - hi).abs() < 5e-5, "{k}/{n}: {}", w.ci_high);
        }
    }

    #[test]
    fn wilson_bounds_contain_the_estimate_at_the_edges() {
        for n in [1, 7, 250, 1_000_003] {
            let all = wilson95(n, n);
            assert_eq!((all.estimate, all.ci_high), (1.0, 1.0));
            assert!(all.ci_low < 1.0);
            let none = wilson95(0, n);
            assert_eq!((none.estimate, none.ci_low), (0.0, 0.0));
            assert!(none.ci_high > 0.0);
        }
    }

    #[test]
    fn quantile_type7_matches_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.5, 0.9]) = [3.0, 7.6]
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert!((quantile_sorted(&s, 0.9) - 7.6).abs() < 1e-12);
    }

    #[test]
    fn var_and_es_by_hand() {
        // 1..=100: VaR_0.95 = x_(95) = 95; ES_0.95 = mean(96..=100) = 98.
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(var_sorted(&s, 0.95), 95.0);
        assert!((es_sorted(&s, 0.95) - 98.0).abs() < 1e-12);
        // n = 10, p = 0.95: n(1−p) = 0.5 of an observation, all of it the maximum.
        let t: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((es_sorted(&t, 0.95) - 10.0).abs() < 1e-12);
        // p = 0.99 on 1..=150: np = 148.5, k = 149; ES = (150 + 0.5·149)/1.5.
        let u: Vec<f64> = (1..=150).map(f64::from).collect();
        assert!((es_sorted(&u, 0.99) - (150.0 + 0.5 * 149.0) / 1.5).abs() < 1e-9);
    }
}
