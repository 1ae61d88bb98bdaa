//! Statistics of a mean over paths grouped in clusters (the population replicates): the two
//! parts of its variance (the noise of the paths within a replicate, and the noise of which
//! population was drawn), the Student t quantile for the between-replicate degrees of
//! freedom, and the Korn–Graubard interval of a proportion from them. Plain slices in, no
//! knowledge of the simulator.
//!
//! Two-level model: replicate `r` has its own mean `μ_r` (the answer for that population),
//! and its `n_r` paths are independent draws around it. With `ȳ_r` the replicate means,
//! `ȳ = Σ y_i / n` and `w_r = n_r / n`:
//! - path noise `V_path = Σ w_r² s_r² / n_r` (`s_r²` the sample variance within replicate
//!   `r`): the variance of `ȳ` given the drawn populations, what more paths shrink;
//! - the between-replicate estimate `V_between = R/(R − 1) · Σ w_r² (ȳ_r − ȳ)²` (the
//!   linearised variance of a ratio mean over `R` clusters; `s²_ȳr / R` when the replicates
//!   are equal in size), unbiased for the total variance of `ȳ` whatever the within-replicate
//!   law;
//! - population noise `V_pop = max(0, V_between − V_path)`, what more replicates shrink, and
//!   `V_total = V_path + V_pop`.

use serde::Serialize;

use crate::stats::{Proportion, Z95, beta_quantile, incomplete_beta, wilson95};

/// The variance of a clustered mean, split into its two parts.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct NoiseComponents {
    /// Replicates that hold at least one path.
    pub replicates: u64,
    /// Paths (units) in all.
    pub paths: u64,
    /// Standard error from the paths alone, `√V_path`: shrinks as `1/√paths`.
    pub path_noise_se: f64,
    /// Standard error from which populations were drawn, `√V_pop`: shrinks as
    /// `1/√replicates`, not with more paths. 0 with a single replicate (not estimable).
    pub population_noise_se: f64,
    /// `√(V_path + V_pop)`.
    pub total_se: f64,
    /// Degrees of freedom of the between-replicate variance, `replicates − 1`.
    pub degrees_of_freedom: u64,
    /// The Student t quantile at 97.5% on those degrees of freedom (the normal's 1.96 with a
    /// single replicate).
    pub t_quantile: f64,
}

/// Splits the variance of the mean of `units` into path and population noise; `group[i]` is
/// unit `i`'s replicate, `< groups`. Sums run in unit order, then replicate order, so the
/// result does not depend on how the units were computed.
pub fn noise_components(units: &[f64], group: &[u32], groups: usize) -> NoiseComponents {
    debug_assert_eq!(units.len(), group.len());
    let mut n_r = vec![0u64; groups];
    let mut sum_r = vec![0.0; groups];
    for (&y, &g) in units.iter().zip(group) {
        n_r[g as usize] += 1;
        sum_r[g as usize] += y;
    }
    let mut ss_r = vec![0.0; groups];
    for (&y, &g) in units.iter().zip(group) {
        let g = g as usize;
        ss_r[g] += (y - sum_r[g] / n_r[g] as f64).powi(2);
    }
    let n = units.len() as f64;
    let mean = units.iter().sum::<f64>() / n.max(1.0);
    let (mut v_path, mut between) = (0.0, 0.0);
    let mut used = 0u64;
    for r in 0..groups {
        if n_r[r] == 0 {
            continue;
        }
        used += 1;
        let nr = n_r[r] as f64;
        let w = nr / n;
        if n_r[r] > 1 {
            v_path += w * w * (ss_r[r] / (nr - 1.0)) / nr;
        }
        between += w * w * (sum_r[r] / nr - mean).powi(2);
    }
    let v_pop = if used > 1 {
        let k = used as f64;
        (k / (k - 1.0) * between - v_path).max(0.0)
    } else {
        0.0
    };
    let df = used.saturating_sub(1);
    NoiseComponents {
        replicates: used,
        paths: units.len() as u64,
        path_noise_se: v_path.sqrt(),
        population_noise_se: v_pop.sqrt(),
        total_se: (v_path + v_pop).sqrt(),
        degrees_of_freedom: df,
        t_quantile: if df == 0 {
            Z95
        } else {
            student_t_quantile(df as f64, 0.975)
        },
    }
}

/// Cumulative distribution of Student's t with `df` degrees of freedom at `t ≥ 0`:
/// `1 − I_{df/(df+t²)}(df/2, 1/2) / 2`.
fn student_t_cdf(df: f64, t: f64) -> f64 {
    1.0 - 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The `p`-quantile of Student's t with `df > 0` degrees of freedom, `0.5 ≤ p < 1`, by
/// bisection on [`student_t_cdf`] (to 1e-12 in t).
pub fn student_t_quantile(df: f64, p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_cdf(df, hi) < p && hi < 1e12 {
        hi *= 2.0;
    }
    while hi - lo > 1e-12 * hi.max(1.0) {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(df, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The Korn–Graubard (1998) 95% interval of a proportion estimated from clustered paths:
/// the Clopper–Pearson interval of `k` successes in `n` trials with `n` replaced by the
/// effective sample size `n_eff = min(n, p̂(1 − p̂)/V_total)`, scaled by `(z/t_df)²` for the
/// degrees of freedom of the variance, and `k` by `n_eff·p̂` (Beta quantiles take
/// non-integer counts). With no population noise and many replicates it is the
/// Clopper–Pearson interval; at `k = 0` or `k = n` the open end is exact as there.
/// (R's `survey::svyciprop(method = "beta")`.)
pub fn korn_graubard95(k: u64, n: u64, c: &NoiseComponents) -> Proportion {
    let mut out = Proportion {
        estimate: 0.0,
        ci_low: 0.0,
        ci_high: 1.0,
        level: 0.95,
        method: "korn-graubard (paths and population replicates)",
        successes: k,
        trials: n,
    };
    if n == 0 {
        return out;
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let v = c.total_se * c.total_se;
    let n_eff = if v > 0.0 && p > 0.0 && p < 1.0 {
        (p * (1.0 - p) / v).min(nf)
    } else {
        nf
    };
    let n_eff = n_eff * (Z95 / c.t_quantile).powi(2);
    let x = n_eff * p;
    out.estimate = p;
    if k > 0 {
        out.ci_low = beta_quantile(x, n_eff - x + 1.0, 0.025);
    }
    if k < n {
        out.ci_high = beta_quantile(x + 1.0, n_eff - x, 0.975);
    }
    out
}

/// The 95% interval of the share of `flags` that are set, unit `i` being path `first + i`
/// of a run with `replicates` population replicates (path `i` on replicate `i mod R`):
/// Korn–Graubard over path and population noise with its noise parts when there are two
/// replicates or more, the Wilson interval otherwise.
pub fn proportion95(
    flags: &[bool],
    first: u64,
    replicates: Option<u64>,
) -> (Proportion, Option<NoiseComponents>) {
    let n = flags.len() as u64;
    let k = flags.iter().filter(|&&x| x).count() as u64;
    match replicates.filter(|&r| r >= 2) {
        Some(r) => {
            let units: Vec<f64> = flags.iter().map(|&x| f64::from(u8::from(x))).collect();
            let c = noise_components(&units, &replicate_groups(first, flags.len(), r), r as usize);
            (korn_graubard95(k, n, &c), Some(c))
        }
        None => (wilson95(k, n), None),
    }
}

/// Each unit's population replicate: unit `i` is path (or root path) `first + i`, which
/// uses replicate `(first + i) mod r`.
pub fn replicate_groups(first: u64, units: usize, r: u64) -> Vec<u32> {
    (0..units as u64)
        .map(|i| ((first + i) % r) as u32)
        .collect()
}

/// The design effect of a clustered mean: its total variance over the variance the mean of
/// `units` would have if they were independent, `s²/n` (for 0/1 units, about the binomial
/// `p̂(1 − p̂)/n`); 1 when the units do not vary.
pub fn design_effect(units: &[f64], c: &NoiseComponents) -> f64 {
    let n = units.len() as f64;
    if units.len() < 2 {
        return 1.0;
    }
    let mean = units.iter().sum::<f64>() / n;
    let iid = units.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0) / n;
    if iid > 0.0 {
        c.total_se * c.total_se / iid
    } else {
        1.0
    }
}

/// The normal 95% interval `ȳ ± t·√V_total` of a clustered mean of weighted indicators
/// (rare-event runs), clamped to [0, 1].
pub fn weighted_interval95(units: &[f64], successes: u64, c: &NoiseComponents) -> Proportion {
    let n = units.len();
    let mean = units.iter().sum::<f64>() / (n.max(1)) as f64;
    let half = c.t_quantile * c.total_se;
    Proportion {
        estimate: mean,
        ci_low: if n == 0 { 0.0 } else { (mean - half).max(0.0) },
        ci_high: if n == 0 { 1.0 } else { (mean + half).min(1.0) },
        level: 0.95,
        method: "normal (weighted; paths and population replicates)",
        successes,
        trials: n as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::clopper_pearson95;

    #[test]
    fn t_quantiles_match_published_tables() {
        // R: qt(0.975, c(1, 10, 31, 1000)) = 12.7062047, 2.2281389, 2.0395134, 1.9623391
        // (8 digits quoted, so 1e-6).
        for (df, t) in [
            (1.0, 12.706_204_7),
            (10.0, 2.228_138_9),
            (31.0, 2.039_513_4),
            (1000.0, 1.962_339_1),
        ] {
            assert!((student_t_quantile(df, 0.975) - t).abs() < 1e-6, "df {df}");
        }
    }

    #[test]
    fn components_by_hand() {
        // Two replicates of four paths: 1,1,0,0 (mean 0.5) and 1,0,0,0 (mean 0.25).
        // Within: s² = 1/3 and 1/4, V_path = ¼·(1/3)/4 + ¼·(1/4)/4 = 0.0364583;
        // between: 2·(¼·0.125² + ¼·0.125²) = 0.015625 < V_path, so V_pop = 0.
        let u = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        let g = [0, 0, 0, 0, 1, 1, 1, 1];
        let c = noise_components(&u, &g, 2);
        assert!((c.path_noise_se.powi(2) - 0.036_458_333_333).abs() < 1e-12);
        assert_eq!(c.population_noise_se, 0.0);
        assert_eq!((c.replicates, c.degrees_of_freedom), (2, 1));
        // Replicates all 1s and all 0s: no path noise, all of it population noise:
        // between = 2·(¼·¼ + ¼·¼) = 0.25.
        let u = [1.0, 1.0, 0.0, 0.0];
        let c = noise_components(&u, &[0, 0, 1, 1], 2);
        assert_eq!(c.path_noise_se, 0.0);
        assert!((c.population_noise_se - 0.5).abs() < 1e-15);
    }

    #[test]
    fn korn_graubard_without_population_noise_is_near_clopper_pearson() {
        // 1,000 paths in 1,000 replicates (one path each): V_between is the binomial
        // variance, t_999 ≈ z, so the interval is Clopper–Pearson's to ~0.1% of its width.
        let u: Vec<f64> = (0..1000).map(|i| f64::from(u8::from(i % 5 == 0))).collect();
        let g: Vec<u32> = (0..1000).collect();
        let c = noise_components(&u, &g, 1000);
        let kg = korn_graubard95(200, 1000, &c);
        let cp = clopper_pearson95(200, 1000);
        let w = cp.ci_high - cp.ci_low;
        assert!((kg.ci_low - cp.ci_low).abs() < 2e-3 * w, "{kg:?} {cp:?}");
        assert!((kg.ci_high - cp.ci_high).abs() < 2e-3 * w, "{kg:?} {cp:?}");
    }

    #[test]
    fn population_noise_widens_the_interval() {
        // 32 replicates of 50 paths, replicate r with 0 or 50 cascades alternately: p̂ = ½,
        // all of the variance is population noise, V = ¼/32 (n_eff = 32 replicates, not 1600
        // paths), so the interval is about ±t·√(1/128) = ±0.18.
        let mut u = Vec::new();
        let mut g = Vec::new();
        for r in 0..32u32 {
            for _ in 0..50 {
                u.push(f64::from(r % 2));
                g.push(r);
            }
        }
        let c = noise_components(&u, &g, 32);
        assert!((c.population_noise_se - (0.25f64 * 32.0 / 31.0 / 32.0).sqrt()).abs() < 1e-12);
        let kg = korn_graubard95(800, 1600, &c);
        assert!(kg.ci_low < 0.35 && kg.ci_high > 0.65, "{kg:?}");
        assert!(kg.ci_low > 0.25 && kg.ci_high < 0.75, "{kg:?}");
    }
}
