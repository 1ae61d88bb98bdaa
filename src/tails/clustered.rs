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
    BootstrapOptions, check_bootstrap, sorted_quantile, sorted_replicates, tail_walk,
    tail_walk_prefix, upper_rank, var_es_sorted,
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
/// Cost: one sort, O(resamples · n) random draws for the stratified bootstrap (each draw a
/// bit test; only draws among the top of the sample are counted) and walks that read only as
/// far down as the lowest probability's rank.
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
    clustered_var_es_top(values, cluster, ps, options, None)
}

/// [`clustered_var_es`] counting the stratified draws among the `top` largest observations
/// (default: twice the deepest tail needed, plus 64). Any `top` gives the same answer; a small
/// one only makes the full recount frequent (the tests use that).
fn clustered_var_es_top(
    values: &[f64],
    cluster: &[u32],
    ps: &[f64],
    options: &BootstrapOptions,
    top: Option<usize>,
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
    // Observations largest first (ties by index, so the order is deterministic and unique:
    // a parallel sort gives it on any number of threads).
    let n = values.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        values[b as usize]
            .total_cmp(&values[a as usize])
            .then(a.cmp(&b))
    });
    let mut desc: Vec<f64> = order.iter().map(|&i| values[i as usize]).collect();
    // Dense cluster ids and the cluster of each rank.
    let labels: Vec<u32> = cluster
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<u32>>()
        .into_iter()
        .collect();
    let dense: Vec<u32> = cluster
        .iter()
        .map(|c| labels.binary_search(c).expect("a label of the sample") as u32)
        .collect();
    let k = labels.len();
    let dense_desc: Vec<u32> = order.iter().map(|&i| dense[i as usize]).collect();
    let mut rank = vec![0u32; n];
    for (j, &i) in order.iter().enumerate() {
        rank[i as usize] = j as u32;
    }
    drop(order);
    // Each cluster's members in index order (a resample's draws index into these lists), each
    // given as the rank of its value.
    let mut member_rank: Vec<Vec<u32>> = vec![Vec::new(); k];
    for (&c, &r) in dense.iter().zip(&rank) {
        member_rank[c as usize].push(r);
    }
    drop((dense, rank));
    // The stratified resample keeps every cluster's size, so it always has n values and its
    // walk ends within the top `n − r_min + 1` of them; only draws among the top `top`
    // observations (twice that, plus 64, as in `bootstrap_var_es`) are counted, and a resample
    // whose walk does not end there (practically never) is counted again in full from the
    // same stream. A bit per member says whether it is among the top.
    let r_min = ps.iter().map(|&p| upper_rank(n, p).0).min().unwrap_or(n);
    let top = top.unwrap_or(2 * (n - r_min + 1) + 64).min(n);
    let top_set = TopSet::new(&member_rank, top);
    let cluster_rep = |b: usize| -> Vec<(f64, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream((1u64 << 32) + b as u64);
        let mut picks = vec![0u32; k];
        for _ in 0..k {
            picks[rng.random_range(0..k as u64) as usize] += 1;
        }
        let total: usize = picks
            .iter()
            .zip(&member_rank)
            .map(|(&p, m)| p as usize * m.len())
            .sum();
        if total == 0 {
            return vec![(f64::NAN, f64::NAN); ps.len()];
        }
        let weights = dense_desc.iter().map(|&c| picks[c as usize] as usize);
        tail_walk(total, ps, desc.iter().copied().zip(weights))
    };
    let strat_rep = |b: usize| -> Vec<(f64, f64)> {
        let stream = || {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream((1u64 << 33) + b as u64);
            rng
        };
        let mut w = vec![0u32; top];
        stratified_draws(stream(), &member_rank, Some(&top_set), &mut w);
        let weights = top_set.slot_of_rank.iter().map(|&s| w[s as usize] as usize);
        match tail_walk_prefix(n, ps, desc.iter().copied().zip(weights)) {
            Ok(out) => out,
            Err(_) => {
                let mut w = vec![0u32; n];
                stratified_draws(stream(), &member_rank, None, &mut w);
                tail_walk(
                    n,
                    ps,
                    desc.iter().copied().zip(w.iter().map(|&c| c as usize)),
                )
            }
        }
    };
    // A sample of zeros (+0.0, as a metric that never happened is: no bad debt) has every
    // resample's VaR and ES exactly +0.0 (every value and every sum the walk forms is a
    // zero), so its draws are not made.
    let zeros = desc.iter().all(|v| v.to_bits() == 0);
    let replicates = |rep: &(dyn Fn(usize) -> Vec<(f64, f64)> + Sync)| -> Vec<Vec<(f64, f64)>> {
        if zeros {
            vec![vec![(0.0, 0.0); ps.len()]; options.resamples]
        } else {
            (0..options.resamples).into_par_iter().map(rep).collect()
        }
    };
    let total = replicates(&cluster_rep);
    let path = replicates(&strat_rep);
    // The sample ascending, for the point estimates.
    let sorted = {
        desc.reverse();
        desc
    };
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

/// The members among the `top` largest observations, each with a slot of its own: slots
/// number them cluster by cluster, in member order, so a resample's counts of one cluster's
/// top members lie together.
struct TopSet {
    /// Per cluster, a bit per member: among the top?
    bits: Vec<Vec<u64>>,
    /// Per cluster and bit word, the slot of the word's first top member (the set bits of
    /// the earlier words and clusters).
    first_slot: Vec<Vec<u32>>,
    /// The slot of each rank below `top`.
    slot_of_rank: Vec<u32>,
}

impl TopSet {
    fn new(member_rank: &[Vec<u32>], top: usize) -> Self {
        let mut slot_of_rank = vec![0u32; top];
        let mut slot = 0u32;
        let mut bits = Vec::with_capacity(member_rank.len());
        let mut first_slot = Vec::with_capacity(member_rank.len());
        for ranks in member_rank {
            let mut b = vec![0u64; ranks.len().div_ceil(64)];
            let mut f = Vec::with_capacity(b.len());
            for (w, chunk) in ranks.chunks(64).enumerate() {
                f.push(slot);
                for (j, &r) in chunk.iter().enumerate() {
                    if (r as usize) < top {
                        b[w] |= 1 << j;
                        slot_of_rank[r as usize] = slot;
                        slot += 1;
                    }
                }
            }
            bits.push(b);
            first_slot.push(f);
        }
        Self {
            bits,
            first_slot,
            slot_of_rank,
        }
    }
}

/// One stratified resample's draws: each cluster draws as many members as it has, uniformly
/// with replacement. With `top`, `counts[slot]` counts the draws of each top member (by its
/// [`TopSet`] slot) and the others are not counted; without, `counts[rank]` counts every
/// member's draws by the rank of its value. The draws are the same either way.
fn stratified_draws(
    mut rng: ChaCha8Rng,
    member_rank: &[Vec<u32>],
    top: Option<&TopSet>,
    counts: &mut [u32],
) {
    for (c, ranks) in member_rank.iter().enumerate() {
        let len = ranks.len() as u64;
        match top {
            Some(t) => {
                let (bits, first) = (&t.bits[c], &t.first_slot[c]);
                for _ in 0..len {
                    let j = rng.random_range(0..len) as usize;
                    let word = bits[j / 64];
                    let below = word & ((1u64 << (j % 64)) - 1);
                    if word >> (j % 64) & 1 == 1 {
                        counts[(first[j / 64] + below.count_ones()) as usize] += 1;
                    }
                }
            }
            None => {
                for _ in 0..len {
                    counts[ranks[rng.random_range(0..len) as usize] as usize] += 1;
                }
            }
        }
    }
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
    use crate::tails::empirical::VarEs;

    /// The straightforward form of both bootstraps (every draw counted, every walk over the
    /// whole sample): what `clustered_var_es` must equal bit for bit.
    fn reference(
        values: &[f64],
        cluster: &[u32],
        ps: &[f64],
        options: &BootstrapOptions,
    ) -> (Vec<Vec<VarEs>>, Vec<Vec<VarEs>>) {
        let mut order: Vec<u32> = (0..values.len() as u32).collect();
        order.sort_by(|&a, &b| {
            values[b as usize]
                .total_cmp(&values[a as usize])
                .then(a.cmp(&b))
        });
        let mut labels = cluster.to_vec();
        labels.sort_unstable();
        labels.dedup();
        let dense: Vec<usize> = cluster
            .iter()
            .map(|c| labels.binary_search(c).unwrap())
            .collect();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); labels.len()];
        for (i, &c) in dense.iter().enumerate() {
            members[c].push(i as u32);
        }
        let k = labels.len();
        let walk = |weight: &dyn Fn(usize) -> u32| {
            let n: usize = order.iter().map(|&i| weight(i as usize) as usize).sum();
            if n == 0 {
                return vec![(f64::NAN, f64::NAN); ps.len()];
            }
            let desc = order
                .iter()
                .map(|&i| (values[i as usize], weight(i as usize) as usize));
            tail_walk(n, ps, desc)
        };
        let total = (0..options.resamples)
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
                rng.set_stream((1u64 << 32) + b as u64);
                let mut picks = vec![0u32; k];
                for _ in 0..k {
                    picks[rng.random_range(0..k as u64) as usize] += 1;
                }
                walk(&|i| picks[dense[i]])
            })
            .collect();
        let path = (0..options.resamples)
            .map(|b| {
                let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
                rng.set_stream((1u64 << 33) + b as u64);
                let mut w = vec![0u32; values.len()];
                for m in &members {
                    for _ in 0..m.len() {
                        w[m[rng.random_range(0..m.len() as u64) as usize] as usize] += 1;
                    }
                }
                walk(&|i| w[i])
            })
            .collect();
        (total, path)
    }

    /// A sample with ties (values rounded to a grid), labels that are not dense, and cluster
    /// sizes that differ.
    fn sample(n: usize, clusters: u32, seed: u64) -> (Vec<f64>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = (0..n)
            .map(|_| (rng.random::<f64>().powi(4) * 50.0).round())
            .collect();
        let g = (0..n)
            .map(|i| 3 * ((i as u32 * 7 + i as u32 / 5) % clusters) + 11)
            .collect();
        (x, g)
    }

    /// Both bootstraps' estimates (VaR and ES of every resample) from `clustered_var_es`'s
    /// summaries must be the reference's: each interval end is an order statistic of the
    /// replicates, each standard error a function of all of them.
    fn assert_same(values: &[f64], cluster: &[u32], ps: &[f64], top: Option<usize>) {
        let o = BootstrapOptions {
            resamples: 40,
            ..Default::default()
        };
        let got = clustered_var_es_top(values, cluster, ps, &o, top).unwrap();
        let (total, path) = reference(values, cluster, ps, &o);
        let lo_q = 0.5 * (1.0 - o.level);
        let hi_q = 0.5 * (1.0 + o.level);
        for (j, g) in got.iter().enumerate() {
            let (tv, te) = sorted_replicates(&total, j);
            let (pv, pe) = sorted_replicates(&path, j);
            let bits = |v: f64| v.to_bits();
            assert_eq!(
                bits(g.var_lower),
                bits(sorted_quantile(&tv, lo_q)),
                "{top:?}"
            );
            assert_eq!(
                bits(g.es_lower),
                bits(sorted_quantile(&te, lo_q)),
                "{top:?}"
            );
            assert_eq!(
                bits(g.var_upper),
                bits(sorted_quantile(&tv, hi_q)),
                "{top:?}"
            );
            assert_eq!(
                bits(g.es_upper),
                bits(sorted_quantile(&te, hi_q)),
                "{top:?}"
            );
            assert_eq!(bits(g.var_path_noise_se), bits(sd(&pv)), "{top:?}");
            assert_eq!(bits(g.es_path_noise_se), bits(sd(&pe)), "{top:?}");
            let pop = (sd(&tv).powi(2) - sd(&pv).powi(2)).max(0.0).sqrt();
            assert_eq!(bits(g.var_population_noise_se), bits(pop), "{top:?}");
        }
    }

    #[test]
    fn the_fast_bootstraps_equal_the_plain_ones_bit_for_bit() {
        // Default counting (the recount practically never runs), a `top` so small that most
        // stratified resamples are recounted in full, and one as large as the sample; tails
        // from 50% to 99.9%, one cluster, and clusters of one observation each.
        for (n, clusters, seed) in [(997, 7, 1), (3000, 32, 2), (200, 1, 3), (150, 150, 4)] {
            let (x, g) = sample(n, clusters, seed);
            // A sample of zeros skips its draws; a zero among other values does not.
            let zeros = vec![0.0; n];
            assert_same(&zeros, &g, &[0.95, 0.99, 0.999], None);
            assert_same(&zeros, &g, &[0.5], Some(1));
            for top in [None, Some(1), Some(n / 20), Some(n)] {
                assert_same(&x, &g, &[0.95, 0.99, 0.999], top);
                assert_same(&x, &g, &[0.5, 0.9], top);
            }
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
