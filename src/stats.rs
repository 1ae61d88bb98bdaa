//! Summary statistics on plain slices: mean, quantiles, VaR and expected shortfall, and
//! binomial confidence intervals. Definitions are spelled out so results can be checked
//! against numpy/pandas.

use serde::Serialize;

/// Probabilities at which quantiles are reported.
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];
/// Confidence levels at which VaR and ES are reported.
pub const RISK_LEVELS: [f64; 3] = [0.95, 0.99, 0.999];

/// Quantile by linear interpolation between order statistics (Hyndman–Fan type 7, numpy's
/// default) of an ascending-sorted, non-empty slice. Reads `sorted` only at
/// `quantile_ranks`.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let (lo, hi, frac) = quantile_ranks(sorted.len(), p);
    sorted[lo] + frac * (sorted[hi] - sorted[lo])
}

/// The two order statistics (0-based ranks) [`quantile_sorted`] interpolates between for
/// `n` values, and the weight of the upper one.
fn quantile_ranks(n: usize, p: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

/// The 0-based rank `⌈n·p⌉ − 1` (clamped into the sample) of [`var_sorted`]; [`es_sorted`]
/// reads the ranks from it up.
fn var_rank(n: usize, p: f64) -> usize {
    ((n as f64 * p).ceil() as usize).clamp(1, n) - 1
}

/// Value at risk: the empirical `p`-quantile as the inverse ECDF, `x_(⌈n·p⌉)` (1-based) of an
/// ascending-sorted, non-empty slice. Larger values are worse.
pub fn var_sorted(sorted: &[f64], p: f64) -> f64 {
    sorted[var_rank(sorted.len(), p)]
}

/// Expected shortfall (Acerbi–Tasche): the mean of the worst `n(1 − p)` observations, with
/// the boundary observation weighted by its fractional share:
/// `[Σ_{i>⌈np⌉} x_(i) + (⌈np⌉ − np)·x_(⌈np⌉)] / (n(1 − p))`. Reads `sorted` only from
/// `var_rank` up.
pub fn es_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let np = n as f64 * p;
    let k = var_rank(n, p) + 1;
    let tail: f64 = sorted[k..].iter().sum();
    let denom = n as f64 - np;
    if denom <= 0.0 {
        return sorted[n - 1];
    }
    (tail + (k as f64 - np) * sorted[k - 1]) / denom
}

/// A copy of `values` that is sorted ascending where [`MetricSummary::of`] reads it and need
/// not be elsewhere: every rank from the lowest VaR rank up is in place (the ES sums run over
/// them in order), and so are the minimum, the maximum and the quantiles' ranks. That costs
/// two selections and a sort of the tail (a tenth of the values for [`RISK_LEVELS`]) instead
/// of a sort of everything; the values read are the sorted slice's, bit for bit (values equal
/// under `total_cmp` have the same bits).
fn summary_order(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mut v = values.to_vec();
    let tail = RISK_LEVELS
        .iter()
        .map(|&p| var_rank(n, p))
        .min()
        .unwrap_or(0);
    let mut points: Vec<usize> = QUANTILES
        .iter()
        .flat_map(|&p| {
            let (lo, hi, _) = quantile_ranks(n, p);
            [lo, hi]
        })
        .chain([0, n - 1])
        .filter(|&r| r < tail)
        .collect();
    points.sort_unstable();
    points.dedup();
    if tail > 0 {
        v.select_nth_unstable_by(tail, f64::total_cmp);
    }
    v[tail..].sort_unstable_by(f64::total_cmp);
    // Each selection keeps the smallest values below its rank, so the next (lower) rank is
    // selected among them.
    let mut end = tail;
    for &r in points.iter().rev() {
        v[..end].select_nth_unstable_by(r, f64::total_cmp);
        end = r;
    }
    v
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
        // Sorted where it is read (see `summary_order`).
        let sorted = summary_order(values);
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

/// Natural log of the gamma function (Lanczos approximation, g = 7, n = 9; relative error
/// below 1e-13 for x > 0).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta function `I_x(a, b)` by its continued fraction (modified
/// Lentz), using the symmetry `I_x(a, b) = 1 − I_{1−x}(b, a)` where it converges faster.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + num * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        h *= d * c;
        let num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < TINY { 1.0 / TINY } else { 1.0 / d };
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    (ln_front.exp() * h / a).clamp(0.0, 1.0)
}

/// The `q`-quantile of Beta(a, b) by bisection on [`incomplete_beta`] (to 1e-15 in p).
pub fn beta_quantile(a: f64, b: f64, q: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if incomplete_beta(a, b, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Clopper–Pearson ("exact") 95% interval for `k` successes in `n` trials: the Beta
/// quantiles `B(0.025; k, n−k+1)` and `B(0.975; k+1, n−k)`. Conservative: its coverage is at
/// least 95% for every p.
pub fn clopper_pearson95(k: u64, n: u64) -> Proportion {
    let (lo, hi, est) = if n == 0 {
        (0.0, 1.0, 0.0)
    } else {
        let (kf, nf) = (k as f64, n as f64);
        let lo = if k == 0 {
            0.0
        } else {
            beta_quantile(kf, nf - kf + 1.0, 0.025)
        };
        let hi = if k == n {
            1.0
        } else {
            beta_quantile(kf + 1.0, nf - kf, 0.975)
        };
        (lo, hi, kf / nf)
    };
    Proportion {
        estimate: est,
        ci_low: lo,
        ci_high: hi,
        level: 0.95,
        method: "clopper-pearson",
        successes: k,
        trials: n,
    }
}

/// Paths a plain Monte Carlo run needs to estimate a probability `p` with the given relative
/// half-width of its 95% interval: `n = z²(1 − p) / (p·ε²)`. `None` for p = 0.
pub fn paths_for_relative_error(p: f64, relative_error: f64) -> Option<u64> {
    (p > 0.0 && p < 1.0)
        .then(|| (Z95 * Z95 * (1.0 - p) / (p * relative_error * relative_error)).ceil() as u64)
}

/// A probability estimated as the mean of weighted indicators `w_i·1_i` (importance
/// sampling, splitting): the estimate `p̂ = Σ w_i·1_i / n` and its normal 95% interval
/// `p̂ ± z·s/√n`, `s²` the sample variance of the `w_i·1_i` (Wilson and Clopper–Pearson
/// assume binomial counts and do not apply). The lower bound is clamped at 0.
///
/// `units` are the independent replicates: one per path under importance sampling, one per
/// root path (the sum over its descendants) under splitting.
pub fn weighted_proportion95(units: &[f64], successes: u64) -> Proportion {
    let n = units.len();
    if n == 0 {
        return Proportion {
            estimate: 0.0,
            ci_low: 0.0,
            ci_high: 1.0,
            level: 0.95,
            method: "normal (weighted)",
            successes,
            trials: 0,
        };
    }
    let nf = n as f64;
    let mean = units.iter().sum::<f64>() / nf;
    let var = if n > 1 {
        units.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (nf - 1.0)
    } else {
        0.0
    };
    let half = Z95 * (var / nf).sqrt();
    Proportion {
        estimate: mean,
        ci_low: (mean - half).max(0.0),
        ci_high: (mean + half).min(1.0),
        level: 0.95,
        method: "normal (weighted)",
        successes,
        trials: n as u64,
    }
}

/// Kish's effective sample size `(Σw)² / Σw²` (`n` for equal weights, 0 without weights).
pub fn effective_sample_size(weights: &[f64]) -> f64 {
    let s: f64 = weights.iter().sum();
    let s2: f64 = weights.iter().map(|w| w * w).sum();
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

/// Values with self-normalised weights, sorted ascending: `(x, cumulative weight share)`.
fn weighted_sorted(values: &[f64], weights: &[f64]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = values.iter().zip(weights).map(|(&x, &w)| (x, w)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = weights.iter().sum();
    let mut c = 0.0;
    for e in &mut v {
        c += e.1;
        e.1 = c / total;
    }
    v
}

/// The weighted inverse ECDF at `p`: the smallest `x` whose cumulative weight share reaches
/// `p`. Index into `cum`.
fn weighted_var_index(cum: &[(f64, f64)], p: f64) -> usize {
    cum.partition_point(|e| e.1 < p).min(cum.len() - 1)
}

/// Weighted expected shortfall at `p` (Acerbi–Tasche with weights): the weight share beyond
/// the VaR observation, plus that observation's share above `p`, over `1 − p`.
fn weighted_es(cum: &[(f64, f64)], p: f64) -> f64 {
    let k = weighted_var_index(cum, p);
    if p >= 1.0 {
        return cum[cum.len() - 1].0;
    }
    let mut prev = cum[k].1;
    let mut tail = (cum[k].1 - p) * cum[k].0;
    for e in &cum[k + 1..] {
        tail += (e.1 - prev) * e.0;
        prev = e.1;
    }
    tail / (1.0 - p)
}

impl MetricSummary {
    /// [`MetricSummary::of`] with per-path weights (likelihood ratios), self-normalised:
    /// mean `Σŵx`, standard deviation `√Σŵ(x − mean)²` (`ŵ = w/Σw`), quantiles and VaR the
    /// weighted inverse ECDF (no interpolation), ES its Acerbi–Tasche form. Min and max are
    /// those of the sampled values. `None` for an empty slice or zero total weight.
    pub fn of_weighted(
        values: &[f64],
        weights: &[f64],
        unit: &'static str,
    ) -> Option<MetricSummary> {
        let total: f64 = weights.iter().sum();
        if values.is_empty() || total <= 0.0 {
            return None;
        }
        let cum = weighted_sorted(values, weights);
        let mean = values.iter().zip(weights).map(|(x, w)| x * w).sum::<f64>() / total;
        let var = values
            .iter()
            .zip(weights)
            .map(|(x, w)| w * (x - mean).powi(2))
            .sum::<f64>()
            / total;
        let at = |levels: &[f64], f: &dyn Fn(f64) -> f64| {
            levels.iter().map(|&p| AtLevel { p, value: f(p) }).collect()
        };
        let var_at = |p: f64| cum[weighted_var_index(&cum, p)].0;
        Some(MetricSummary {
            unit,
            mean,
            std_dev: var.sqrt(),
            min: cum[0].0,
            max: cum[cum.len() - 1].0,
            quantiles: at(&QUANTILES, &var_at),
            var: at(&RISK_LEVELS, &var_at),
            es: at(&RISK_LEVELS, &|p| weighted_es(&cum, p)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_summary_with_equal_weights_is_the_plain_inverse_ecdf() {
        // Equal weights: VaR and ES equal the unweighted definitions exactly (up to rounding
        // of the cumulative shares, 1e-12).
        let x: Vec<f64> = (1..=150).rev().map(f64::from).collect();
        let w = vec![2.5; x.len()];
        let m = MetricSummary::of_weighted(&x, &w, "usd").unwrap();
        let mut s = x.clone();
        s.sort_by(f64::total_cmp);
        for (i, &p) in RISK_LEVELS.iter().enumerate() {
            assert_eq!(m.var[i].value, var_sorted(&s, p));
            assert!((m.es[i].value - es_sorted(&s, p)).abs() < 1e-9, "{p}");
        }
        assert!((m.mean - 75.5).abs() < 1e-12);
        assert!((effective_sample_size(&w) - 150.0).abs() < 1e-9);
    }

    #[test]
    fn weighted_quantiles_follow_the_weights() {
        // Values 0 and 1 with weights 9 and 1: P(X = 1) = 0.1, so the 0.9-quantile is 0,
        // the 0.95-quantile 1, ES_0.95 = 1 and ES_0.5 = 0.1/0.5 = 0.2; ESS = 100/82.
        let m = MetricSummary::of_weighted(&[1.0, 0.0], &[1.0, 9.0], "x").unwrap();
        let q = |p: f64| m.quantiles.iter().find(|a| a.p == p).unwrap().value;
        assert_eq!((q(0.5), q(0.9), q(0.95)), (0.0, 0.0, 1.0));
        assert!((m.es[0].value - 1.0).abs() < 1e-12);
        let cum = weighted_sorted(&[1.0, 0.0], &[1.0, 9.0]);
        assert!((weighted_es(&cum, 0.5) - 0.2).abs() < 1e-12);
        assert!((m.mean - 0.1).abs() < 1e-12);
        assert!((effective_sample_size(&[1.0, 9.0]) - 100.0 / 82.0).abs() < 1e-12);
    }

    #[test]
    fn weighted_proportion_by_hand() {
        // Units 0, 0, 0.2, 0.6: mean 0.2, sample variance (0.04·2 + 0 + 0.16)/3 = 0.08,
        // half-width 1.959964·√(0.08/4) = 0.277180.
        let p = weighted_proportion95(&[0.0, 0.0, 0.2, 0.6], 2);
        assert!((p.estimate - 0.2).abs() < 1e-15);
        assert!((p.ci_high - (0.2 + Z95 * 0.02f64.sqrt())).abs() < 1e-12);
        assert_eq!(p.ci_low, 0.0);
        // Indicators with unit weights: the usual normal interval of a binomial proportion.
        let u: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i < 30))).collect();
        let b = weighted_proportion95(&u, 30);
        let half = Z95 * (0.3 * 0.7 / 99.0f64).sqrt();
        assert!((b.ci_low - (0.3 - half)).abs() < 1e-12);
    }

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
    fn summary_reads_the_values_a_full_sort_gives() {
        // Sizes around every rank boundary, values with many ties, both zeros and negatives:
        // the partial order must give the fully sorted slice's values bit for bit.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let sizes = (1..=260).chain([999, 1000, 1001, 4096, 20_000, 20_001]);
        for n in sizes {
            let values: Vec<f64> = (0..n)
                .map(|_| match next() % 5 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => (next() % 7) as f64 - 3.0,
                    _ => (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.25,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let m = MetricSummary::of(&values, "1").unwrap();
            let bits = |x: f64| x.to_bits();
            assert_eq!(bits(m.min), bits(sorted[0]), "n = {n}");
            assert_eq!(bits(m.max), bits(sorted[n - 1]), "n = {n}");
            for q in &m.quantiles {
                assert_eq!(
                    bits(q.value),
                    bits(quantile_sorted(&sorted, q.p)),
                    "n = {n}"
                );
            }
            for (v, e) in m.var.iter().zip(&m.es) {
                assert_eq!(bits(v.value), bits(var_sorted(&sorted, v.p)), "n = {n}");
                assert_eq!(bits(e.value), bits(es_sorted(&sorted, e.p)), "n = {n}");
            }
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

    #[test]
    fn clopper_pearson_matches_r_binom_test() {
        // Reference values: R's binom.test(k, n)$conf.int, identical to scipy 1.x
        // binomtest(k, n).proportion_ci(method="exact"); quoted to 8+ digits, and the
        // bisection and continued fraction are good to ~1e-12, hence 5e-8.
        for (k, n, lo, hi) in [
            (5, 20, 0.08657147, 0.49104587),
            (0, 20, 0.0, 0.1684335),
            (81, 263, 0.25273675, 0.36762192),
        ] {
            let c = clopper_pearson95(k, n);
            assert!((c.ci_low - lo).abs() < 5e-8, "{k}/{n}: {}", c.ci_low);
            assert!((c.ci_high - hi).abs() < 5e-8, "{k}/{n}: {}", c.ci_high);
        }
        // Large n: 10 in a million. Exact bounds from the Poisson limit are 4.795e-6 and
        // 1.8390e-5 (chi-square quantiles 9.591/2e6 and 36.781/2e6); the binomial differs
        // from the Poisson by O(p), far below the 1e-3 relative tolerance.
        let c = clopper_pearson95(10, 1_000_000);
        assert!((c.ci_low / 4.7954e-6 - 1.0).abs() < 1e-3, "{}", c.ci_low);
        assert!((c.ci_high / 1.83904e-5 - 1.0).abs() < 1e-3, "{}", c.ci_high);
    }

    #[test]
    fn incomplete_beta_known_values() {
        // I_x(1, 1) = x; I_x(a, 1) = x^a; I_0.5(a, a) = 0.5 by symmetry.
        assert!((incomplete_beta(1.0, 1.0, 0.3) - 0.3).abs() < 1e-14);
        assert!((incomplete_beta(3.5, 1.0, 0.4) - 0.4f64.powf(3.5)).abs() < 1e-13);
        assert!((incomplete_beta(17.0, 17.0, 0.5) - 0.5).abs() < 1e-13);
    }

    #[test]
    fn paths_needed_for_ten_percent_error() {
        // p = 0.01, ε = 0.1: 1.959964² · 0.99 / (0.01 · 0.01) = 38,030.44, rounded up.
        assert_eq!(paths_for_relative_error(0.01, 0.1), Some(38_031));
        assert_eq!(paths_for_relative_error(0.0, 0.1), None);
    }
}
