//! Empirical VaR and ES of a sample whose observations come in clusters (paths grouped by the
//! population replicate they share), with intervals that cover both levels of noise.
//!
//! Two bootstraps, both on the observations' cluster labels:
//! - the **cluster bootstrap** draws as many clusters as there are, with replacement, and
//!   keeps every observation of each (Davison & Hinkley 1997, §3.8: resampling the top level
//!   only is the consistent choice for a two-level design; resampling both levels counts the
//!   within-cluster noise twice). Its spread is the total noise, its percentiles the interval;
//! - the **stratified bootstrap** keeps every cluster and redraws its observations within it:
//!   its spread is the noise of the observations given the clusters (path noise).
//!
//! The population noise is the rest, `√max(0, se_total² − se_path²)`. Resample `b` uses
//! ChaCha8 seeded with the options' seed on stream `2³² + b` (cluster) or `2³³ + b`
//! (stratified), so the intervals do not depend on the thread count.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::empirical::{
    BootstrapOptions, check_bootstrap, sorted_quantile, sorted_replicates, tail_walk, var_es_sorted,
};
use super::error::TailError;

/// Empirical VaR and ES at one probability, with intervals over clusters and the two parts of
/// their standard errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusteredVarEs {
    /// The probability p.
    pub p: f64,
    /// Empirical VaR on the full sample.
    pub var: f64,
    /// Cluster-bootstrap percentile interval of the VaR (path and population noise).
    pub var_lower: f64,
    /// Upper end of that interval.
    pub var_upper: f64,
    /// Standard error of the VaR from the observations within their clusters (stratified
    /// bootstrap): what more paths shrink.
    pub var_path_noise_se: f64,
    /// The rest of the cluster bootstrap's standard error: what more clusters shrink.
    pub var_population_noise_se: f64,
    /// Empirical ES on the full sample.
    pub es: f64,
    /// Cluster-bootstrap percentile interval of the ES.
    pub es_lower: f64,
    /// Upper end of that interval.
    pub es_upper: f64,
    /// Path part of the ES's standard error.
    pub es_path_noise_se: f64,
    /// Population part of the ES's standard error.
    pub es_population_noise_se: f64,
    /// Clusters holding at least one observation.
    pub clusters: u64,
    /// Confidence level.
    pub level: f64,
    /// Resamples of each bootstrap.
    pub resamples: usize,
}

/// Cluster- and stratified-bootstrap VaR/ES at each probability in `ps` (see the module
/// docs). `values[i]` belongs to cluster `cluster[i]`; cluster labels need not be dense.
/// Cost O(resamples · n) plus one sort.
///
/// # Errors
/// [`TailError::InvalidArgument`] for a p or level outside (0, 1), fewer than 10 resamples or
/// labels that do not match the values; [`TailError::Empty`]; [`TailError::NonFinite`].
pub fn clustered_var_es(
    values: &[f64],
    cluster: &[u32],
    ps: &[f64],
    options: &BootstrapOptions,
) -> Result<Vec<ClusteredVarEs>, TailError> {
    check_bootstrap(ps, options)?;
    if values.len() != cluster.len() {
        return Err(TailError::InvalidArgument(format!(
            "{} values but {} cluster labels",
            values.len(),
            cluster.len()
        )));
    }
    if values.is_empty() {
        return Err(TailError::Empty);
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(TailError::NonFinite { index, value });
    }
    // Observations largest first (ties by index, so the order is deterministic).
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_by(|&a, &b| {
        values[b as usize]
            .total_cmp(&values[a as usize])
            .then(a.cmp(&b))
    });
    let sorted: Vec<f64> = order.iter().rev().map(|&i| values[i as usize]).collect();
    // Dense cluster ids and each cluster's members.
    let mut labels: Vec<u32> = cluster.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let dense: Vec<usize> = cluster
        .iter()
        .map(|c| labels.binary_search(c).expect("a label of the sample"))
        .collect();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); labels.len()];
    for (i, &c) in dense.iter().enumerate() {
        members[c].push(i as u32);
    }
    let k = labels.len();
    let cluster_rep = |b: usize| -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream((1u64 << 32) + b as u64);
        let mut picks = vec![0u32; k];
        for _ in 0..k {
            picks[rng.random_range(0..k as u64) as usize] += 1;
        }
        walk(values, &order, ps, |i| picks[dense[i]])
    };
    let strat_rep = |b: usize| -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream((1u64 << 33) + b as u64);
        let mut w = vec![0u32; values.len()];
        for m in &members {
            for _ in 0..m.len() {
                w[m[rng.random_range(0..m.len() as u64) as usize] as usize] += 1;
            }
        }
        walk(values, &order, ps, |i| w[i])
    };
    let total: Vec<Vec<(f64, f64)>> = (0..options.resamples)
        .into_par_iter()
        .map(cluster_rep)
        .collect();
    let path: Vec<Vec<(f64, f64)>> = (0..options.resamples)
        .into_par_iter()
        .map(strat_rep)
        .collect();
    let lo_q = 0.5 * (1.0 - options.level);
    let hi_q = 0.5 * (1.0 + options.level);
    Ok(ps
        .iter()
        .enumerate()
        .map(|(j, &p)| {
            let (var, es) = var_es_sorted(&sorted, p);
            let (tv, te) = sorted_replicates(&total, j);
            let (pv, pe) = sorted_replicates(&path, j);
            let split = |t: &[f64], p: &[f64]| {
                let (st, sp) = (sd(t), sd(p));
                (sp, (st * st - sp * sp).max(0.0).sqrt())
            };
            let (var_path, var_pop) = split(&tv, &pv);
            let (es_path, es_pop) = split(&te, &pe);
            ClusteredVarEs {
                p,
                var,
                var_lower: sorted_quantile(&tv, lo_q),
                var_upper: sorted_quantile(&tv, hi_q),
                var_path_noise_se: var_path,
                var_population_noise_se: var_pop,
                es,
                es_lower: sorted_quantile(&te, lo_q),
                es_upper: sorted_quantile(&te, hi_q),
                es_path_noise_se: es_path,
                es_population_noise_se: es_pop,
                clusters: k as u64,
                level: options.level,
                resamples: options.resamples,
            }
        })
        .collect())
}

/// VaR and ES at each of `ps` of the resample in which observation `i` appears `weight(i)`
/// times (`order`: the observations from the largest down).
fn walk(
    values: &[f64],
    order: &[u32],
    ps: &[f64],
    weight: impl Fn(usize) -> u32,
) -> Vec<(f64, f64)> {
    let n: usize = order.iter().map(|&i| weight(i as usize) as usize).sum();
    if n == 0 {
        return vec![(f64::NAN, f64::NAN); ps.len()];
    }
    let desc = order
        .iter()
        .map(|&i| (values[i as usize], weight(i as usize) as usize));
    tail_walk(n, ps, desc)
}

/// Sample standard deviation.
fn sd(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 2 {
        return 0.0;
    }
    let m = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_gives_the_sorted_sample_values_with_unit_weights() {
        // Unit weights: the resample is the sample, so the walk's VaR/ES are var_es_sorted's.
        let x: Vec<f64> = (0..997).map(|i| f64::from((i * 7919) % 997)).collect();
        let mut order: Vec<u32> = (0..x.len() as u32).collect();
        order.sort_by(|&a, &b| x[b as usize].total_cmp(&x[a as usize]));
        let mut s = x.clone();
        s.sort_by(f64::total_cmp);
        let ps = [0.5, 0.95, 0.99];
        let w = walk(&x, &order, &ps, |_| 1);
        for (j, &p) in ps.iter().enumerate() {
            let (v, e) = var_es_sorted(&s, p);
            assert_eq!(w[j].0, v);
            assert!((w[j].1 - e).abs() < 1e-9 * e.abs().max(1.0), "{p}");
        }
    }

    #[test]
    fn shifted_clusters_are_population_noise() {
        // 20 clusters of 100 draws each, cluster c's values shifted by 10·c: the VaR depends
        // on which clusters are drawn far more than on the draws within them, so the
        // population part must dominate; with all clusters alike it must be small.
        let mut x = Vec::new();
        let mut g = Vec::new();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for c in 0..20u32 {
            for _ in 0..100 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                x.push((state >> 11) as f64 / (1u64 << 53) as f64 + 10.0 * f64::from(c));
                g.push(c);
            }
        }
        let o = BootstrapOptions::default();
        let r = clustered_var_es(&x, &g, &[0.5], &o).unwrap();
        assert!(
            r[0].var_population_noise_se > 5.0 * r[0].var_path_noise_se,
            "{r:?}"
        );
        assert!(r[0].var_lower < r[0].var && r[0].var < r[0].var_upper);
        let flat: Vec<f64> = x
            .iter()
            .zip(&g)
            .map(|(v, c)| v - 10.0 * f64::from(*c))
            .collect();
        let r = clustered_var_es(&flat, &g, &[0.5], &o).unwrap();
        assert!(
            r[0].var_population_noise_se < 3.0 * r[0].var_path_noise_se,
            "{r:?}"
        );
    }
}
