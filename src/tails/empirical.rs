//! Empirical VaR and expected shortfall (the definitions the whole crate uses) and their
//! percentile-bootstrap confidence intervals, reproducible from a `u64` seed.
//!
//! Definitions, on the ascending sample `x_(1) ≤ … ≤ x_(n)`, with `r = ⌈n p⌉`:
//! `VaR_p = x_(r)` (type-1 inverse ECDF) and the Acerbi–Tasche estimator
//! `ES_p = [Σ_{i>r} x_(i) + (r − n p)·x_(r)] / (n (1 − p))`.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;
use serde::Serialize;

use super::error::{TailError, check_probability};
use super::sample::{SortedSample, check_sorted};

/// `(r, n p)` with `r = ⌈n p⌉` clamped to `1..=n`. A product `n p` within a few ulps of an
/// integer is taken to be that integer, so that e.g. n = 1000, p = 0.999 gives r = 999 whatever
/// the rounding of 0.999.
pub(crate) fn upper_rank(n: usize, p: f64) -> (usize, f64) {
    let np = n as f64 * p;
    let nearest = np.round();
    let np = if (np - nearest).abs() <= 8.0 * f64::EPSILON * np.max(1.0) {
        nearest
    } else {
        np
    };
    let r = (np.ceil() as usize).clamp(1, n);
    (r, np)
}

/// VaR and ES on a sorted, validated slice; `0 < p < 1`.
pub(crate) fn var_es_sorted(x: &[f64], p: f64) -> (f64, f64) {
    let n = x.len();
    let (r, np) = upper_rank(n, p);
    let var = x[r - 1];
    let tail: f64 = x[r..].iter().sum();
    let es = (tail + (r as f64 - np) * var) / (n as f64 * (1.0 - p));
    (var, es)
}

fn check_input(sorted: &[f64], p: f64) -> Result<(), TailError> {
    check_probability(p, "p")?;
    if sorted.is_empty() {
        return Err(TailError::Empty);
    }
    check_sorted(sorted)
}

/// Empirical Value-at-Risk `x_(⌈n p⌉)` of an ascending sorted sample (type-1 inverse ECDF,
/// 1-based order statistics).
///
/// The slice is checked (O(n)) to be finite and sorted.
///
/// # Errors
/// [`TailError::InvalidArgument`] unless `0 < p < 1`; [`TailError::Empty`];
/// [`TailError::NonFinite`]; [`TailError::NotSorted`].
pub fn empirical_var(sorted: &[f64], p: f64) -> Result<f64, TailError> {
    check_input(sorted, p)?;
    Ok(var_es_sorted(sorted, p).0)
}

/// Empirical expected shortfall (Acerbi–Tasche):
/// `[Σ_{i>⌈np⌉} x_(i) + (⌈np⌉ − np)·x_(⌈np⌉)] / (n(1 − p))` on an ascending sorted sample.
///
/// # Errors
/// As [`empirical_var`].
pub fn empirical_es(sorted: &[f64], p: f64) -> Result<f64, TailError> {
    check_input(sorted, p)?;
    Ok(var_es_sorted(sorted, p).1)
}

/// Settings of the percentile bootstrap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapOptions {
    /// Number of resamples (default 200: enough for a 95% percentile interval from the 5th and
    /// 195th ordered replicates, and fast on 10⁶ observations).
    pub resamples: usize,
    /// Seed; the same seed gives bit-identical intervals on any number of threads.
    pub seed: u64,
    /// Confidence level of the interval (default 0.95).
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self {
            resamples: 200,
            seed: 0x7A11_5EED,
            level: 0.95,
        }
    }
}

/// Empirical VaR and ES at one probability with percentile-bootstrap intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapEstimate {
    /// The probability p.
    pub p: f64,
    /// Empirical VaR on the full sample.
    pub var: f64,
    /// Lower end of the VaR interval.
    pub var_lower: f64,
    /// Upper end of the VaR interval.
    pub var_upper: f64,
    /// Empirical ES on the full sample.
    pub es: f64,
    /// Lower end of the ES interval.
    pub es_lower: f64,
    /// Upper end of the ES interval.
    pub es_upper: f64,
    /// Confidence level.
    pub level: f64,
    /// Number of resamples.
    pub resamples: usize,
    /// The seed used.
    pub seed: u64,
    /// Number of observations above the VaR order statistic, `n − ⌈np⌉`.
    pub observations_beyond: usize,
    /// A warning when too few observations lie beyond the quantile for the bootstrap to be
    /// trustworthy (fewer than 10).
    pub warning: Option<String>,
}

/// Type-1 quantile of a sorted slice (used for the percentile interval).
pub(crate) fn sorted_quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let r = ((n as f64 * q).ceil() as usize).clamp(1, n);
    sorted[r - 1]
}

/// Checks the probabilities and the bootstrap settings of a bootstrap of VaR/ES.
pub(crate) fn check_bootstrap(ps: &[f64], options: &BootstrapOptions) -> Result<(), TailError> {
    for &p in ps {
        check_probability(p, "p")?;
    }
    check_probability(options.level, "bootstrap level")?;
    if options.resamples < 10 {
        return Err(TailError::InvalidArgument(format!(
            "at least 10 bootstrap resamples are needed, got {}",
            options.resamples
        )));
    }
    Ok(())
}

/// VaR and ES at each of `ps` of a resample of `n` values, given its distinct values from the
/// largest down with their multiplicities (`desc`; zero multiplicities are skipped). Reads
/// only as far down as the lowest rank needed.
pub(crate) fn tail_walk(
    n: usize,
    ps: &[f64],
    desc: impl Iterator<Item = (f64, usize)>,
) -> Vec<(f64, f64)> {
    match tail_walk_prefix(n, ps, desc) {
        Ok(out) | Err(out) => out,
    }
}

/// A resample's (VaR, ES) at one probability.
pub(crate) type VarEs = (f64, f64);

/// [`tail_walk`] on the first values of a resample only: `Ok` when `desc` reached every rank
/// needed (the answer is then [`tail_walk`]'s on the whole resample, bit for bit, since the
/// walk reads no further), `Err` with the targets found so far (the rest zero) when it ran
/// out first.
pub(crate) fn tail_walk_prefix(
    n: usize,
    ps: &[f64],
    desc: impl Iterator<Item = (f64, usize)>,
) -> Result<Vec<VarEs>, Vec<VarEs>> {
    let mut out = vec![(0.0, 0.0); ps.len()];
    // Targets sorted by rank, largest first.
    let mut targets: Vec<(usize, usize, f64)> = ps
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let (r, np) = upper_rank(n, p);
            (i, r, np)
        })
        .collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.1));
    let mut above = 0usize; // resample values with a higher rank
    let mut sum_above = 0.0;
    let mut t = 0;
    for (v, c) in desc {
        if c == 0 {
            continue;
        }
        let top_rank = n - above; // ranks (top_rank − c, top_rank]
        while t < targets.len() && targets[t].1 > top_rank - c {
            let (idx, r, np) = targets[t];
            let sum_r = sum_above + (top_rank - r) as f64 * v;
            let es = (sum_r + (r as f64 - np) * v) / (n as f64 * (1.0 - ps[idx]));
            out[idx] = (v, es);
            t += 1;
        }
        if t == targets.len() {
            break;
        }
        above += c;
        sum_above += c as f64 * v;
    }
    if t == targets.len() {
        Ok(out)
    } else {
        Err(out)
    }
}

/// The VaR and the ES of every resample at probability index `i`, each sorted ascending.
pub(crate) fn sorted_replicates(reps: &[Vec<(f64, f64)>], i: usize) -> (Vec<f64>, Vec<f64>) {
    let mut vs: Vec<f64> = reps.iter().map(|r| r[i].0).collect();
    let mut es: Vec<f64> = reps.iter().map(|r| r[i].1).collect();
    vs.sort_unstable_by(f64::total_cmp);
    es.sort_unstable_by(f64::total_cmp);
    (vs, es)
}

/// Percentile-bootstrap intervals for the empirical VaR and ES at each probability in `ps`.
///
/// Each resample draws n observations with replacement; the interval is
/// `[q_{(1−level)/2}, q_{(1+level)/2}]` of the replicate estimates (type-1 quantiles of the
/// `resamples` values). Resample `b` uses `ChaCha8Rng::seed_from_u64(seed)` on stream `b`, so
/// results do not depend on the thread count.
///
/// Only the upper tail of each resample matters, so a resample is drawn exactly but cheaply:
/// the number M of draws that land among the K largest observations (K ≈ twice the largest
/// tail needed, plus 64) is Binomial(n, K/n), and those M draws are uniform on the K largest.
/// If M is too small to contain the tail (practically never), that resample is redrawn in full.
/// Cost O(resamples · K), not O(resamples · n log n).
///
/// # Errors
/// [`TailError::InvalidArgument`] for a p or level outside (0, 1), or `resamples < 10`.
pub fn bootstrap_var_es(
    sample: &SortedSample,
    ps: &[f64],
    options: &BootstrapOptions,
) -> Result<Vec<BootstrapEstimate>, TailError> {
    check_bootstrap(ps, options)?;
    if ps.is_empty() {
        return Ok(Vec::new());
    }
    let x = sample.values();
    let n = x.len();
    let r_min = ps.iter().map(|&p| upper_rank(n, p).0).min().unwrap_or(n);
    let needed = n - r_min + 1; // order statistics r_min..=n
    let k = n.min(2 * needed + 64);

    let replicate = |b: usize| -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream(b as u64);
        let mut kk = k;
        let mut m = if kk == n {
            n
        } else {
            // Infallible: 0 < K/n < 1.
            Binomial::new(n as u64, kk as f64 / n as f64)
                .map(|d| d.sample(&mut rng) as usize)
                .unwrap_or(n)
        };
        if m < needed {
            kk = n;
            m = n;
        }
        let mut counts = vec![0u32; kk];
        for _ in 0..m {
            counts[rng.random_range(0..kk as u64) as usize] += 1;
        }
        let base = n - kk;
        tail_walk(
            n,
            ps,
            (0..kk).rev().map(|i| (x[base + i], counts[i] as usize)),
        )
    };
    let reps: Vec<Vec<(f64, f64)>> = (0..options.resamples)
        .into_par_iter()
        .map(replicate)
        .collect();

    let lo_q = 0.5 * (1.0 - options.level);
    let hi_q = 0.5 * (1.0 + options.level);
    Ok(ps
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let (var, es) = var_es_sorted(x, p);
            let (vs, es_reps) = sorted_replicates(&reps, i);
            let beyond = n - upper_rank(n, p).0;
            let warning = (beyond < 10).then(|| {
                format!(
                    "only {beyond} observations lie beyond the {p} quantile; a bootstrap interval \
                     this far into the tail is unreliable (use the GPD tail estimate)"
                )
            });
            BootstrapEstimate {
                p,
                var,
                var_lower: sorted_quantile(&vs, lo_q),
                var_upper: sorted_quantile(&vs, hi_q),
                es,
                es_lower: sorted_quantile(&es_reps, lo_q),
                es_upper: sorted_quantile(&es_reps, hi_q),
                level: options.level,
                resamples: options.resamples,
                seed: options.seed,
                observations_beyond: beyond,
                warning,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_es_small_example() {
        // x = 1..=10, p = 0.75: np = 7.5, r = 8, VaR = 8,
        // ES = (9 + 10 + 0.5·8) / 2.5 = 9.2.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(empirical_var(&x, 0.75).unwrap(), 8.0);
        assert!((empirical_es(&x, 0.75).unwrap() - 9.2).abs() < 1e-12);
        // p = 0.9: np = 9 exactly, VaR = 9, ES = 10/1 = 10.
        assert_eq!(empirical_var(&x, 0.9).unwrap(), 9.0);
        assert!((empirical_es(&x, 0.9).unwrap() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn rank_snaps_products_that_are_integers() {
        assert_eq!(upper_rank(1000, 0.999).0, 999);
        assert_eq!(upper_rank(100, 0.29).0, 29);
        assert_eq!(upper_rank(100, 0.291).0, 30);
        assert_eq!(upper_rank(10, 0.01).0, 1);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            empirical_var(&[2.0, 1.0], 0.5),
            Err(TailError::NotSorted { index: 1 })
        ));
        assert!(matches!(
            empirical_es(&[1.0, f64::NAN], 0.5),
            Err(TailError::NonFinite { index: 1, .. })
        ));
        assert!(empirical_var(&[1.0], 1.0).is_err());
        assert!(matches!(empirical_var(&[], 0.5), Err(TailError::Empty)));
    }
}
