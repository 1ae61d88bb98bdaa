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
    BootstrapOptions, VarEs, check_bootstrap, sorted_quantile, sorted_replicates, tail_walk,
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

/// [`clustered_var_es`] of several samples over the same clusters with the same options
/// (the metrics of one run, each with its probabilities), each result bit for bit what
/// [`clustered_var_es`] gives that sample alone. A resample's draws depend only on the seed,
/// the resample and the cluster sizes, so every sample's resample `b` is made from the same
/// draws: they are made once and each is tested against every sample's top. With four
/// metrics that is a quarter of the random numbers. Samples are read one at a time and kept
/// only as far as the bootstraps need them (16 bytes per value).
pub fn clustered_var_es_each<V: AsRef<[f64]>, P: AsRef<[f64]> + Sync>(
    cluster: &[u32],
    options: &BootstrapOptions,
    samples: impl IntoIterator<Item = (V, P)>,
) -> Vec<Result<Vec<ClusteredVarEs>, TailError>> {
    clustered_each_top(cluster, options, samples, None)
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
    clustered_each_top(cluster, options, [(values, ps)], top)
        .pop()
        .expect("one result per sample")
}

/// The clusters of a sample: dense ids, sizes, and each cluster's members in index order.
struct Clusters {
    /// Dense cluster id of each observation.
    dense: Vec<u32>,
    /// Observations of each cluster.
    size: Vec<usize>,
    /// Where each cluster's members start in `members`; the last entry is n.
    start: Vec<usize>,
    /// Observation indices, cluster by cluster, each cluster's in index order (a resample's
    /// draws index into these lists).
    members: Vec<u32>,
    /// Where each cluster's bit words start (64 members a word); the last entry is the total.
    word_start: Vec<usize>,
}

impl Clusters {
    fn new(cluster: &[u32]) -> Self {
        let mut labels = cluster.to_vec();
        labels.par_sort_unstable();
        labels.dedup();
        let dense: Vec<u32> = cluster
            .par_iter()
            .map(|c| labels.binary_search(c).expect("a label of the sample") as u32)
            .collect();
        let k = labels.len();
        let mut size = vec![0usize; k];
        for &c in &dense {
            size[c as usize] += 1;
        }
        let mut start = Vec::with_capacity(k + 1);
        let mut word_start = Vec::with_capacity(k + 1);
        let (mut s, mut w) = (0, 0);
        for &len in &size {
            start.push(s);
            word_start.push(w);
            s += len;
            w += len.div_ceil(64);
        }
        start.push(s);
        word_start.push(w);
        let mut next = start.clone();
        let mut members = vec![0u32; cluster.len()];
        for (i, &c) in dense.iter().enumerate() {
            members[next[c as usize]] = i as u32;
            next[c as usize] += 1;
        }
        Self {
            dense,
            size,
            start,
            members,
            word_start,
        }
    }

    fn k(&self) -> usize {
        self.size.len()
    }
}

/// What the bootstraps need of one sample: its values largest first with their clusters, and
/// the rank of each cluster member's value.
struct Prepared<P> {
    ps: P,
    /// Values largest first (ties by index).
    desc: Vec<f64>,
    /// The dense cluster of each rank.
    dense_desc: Vec<u32>,
    /// The rank of each member, laid out as [`Clusters::members`].
    member_rank: Vec<u32>,
    /// The stratified draws counted for this sample: those among its `top` largest values.
    top: usize,
    /// Every value is +0.0.
    zeros: bool,
}

impl<P: AsRef<[f64]>> Prepared<P> {
    fn new(
        values: &[f64],
        ps: P,
        clusters: &Clusters,
        options: &BootstrapOptions,
        top: Option<usize>,
    ) -> Result<Self, TailError> {
        check_bootstrap(ps.as_ref(), options)?;
        if values.len() != clusters.dense.len() {
            return Err(TailError::InvalidArgument(format!(
                "{} values but {} cluster labels",
                values.len(),
                clusters.dense.len()
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
        let desc: Vec<f64> = order.iter().map(|&i| values[i as usize]).collect();
        let dense_desc: Vec<u32> = order.iter().map(|&i| clusters.dense[i as usize]).collect();
        let mut rank = vec![0u32; n];
        for (j, &i) in order.iter().enumerate() {
            rank[i as usize] = j as u32;
        }
        drop(order);
        let member_rank: Vec<u32> = clusters.members.iter().map(|&i| rank[i as usize]).collect();
        // The stratified resample keeps every cluster's size, so it always has n values and
        // its walk ends within the top `n − r_min + 1` of them; only draws among the top `top`
        // observations (twice that, plus 64, as in `bootstrap_var_es`) are counted, and a
        // resample whose walk does not end there (practically never) is counted again in
        // full from the same stream.
        let r_min = ps
            .as_ref()
            .iter()
            .map(|&p| upper_rank(n, p).0)
            .min()
            .unwrap_or(n);
        let top = top.unwrap_or(2 * (n - r_min + 1) + 64).min(n);
        // A sample of zeros (+0.0, as a metric that never happened is: no bad debt) has every
        // resample's VaR and ES exactly +0.0 (every value and every sum the walk forms is a
        // zero), so its draws are not made.
        let zeros = desc.iter().all(|v| v.to_bits() == 0);
        Ok(Self {
            ps,
            desc,
            dense_desc,
            member_rank,
            top,
            zeros,
        })
    }
}

/// The core of [`clustered_var_es_each`], with [`clustered_var_es_top`]'s `top`.
fn clustered_each_top<V: AsRef<[f64]>, P: AsRef<[f64]> + Sync>(
    cluster: &[u32],
    options: &BootstrapOptions,
    samples: impl IntoIterator<Item = (V, P)>,
    top: Option<usize>,
) -> Vec<Result<Vec<ClusteredVarEs>, TailError>> {
    let clusters = Clusters::new(cluster);
    let k = clusters.k();
    let n = cluster.len();
    let prepared: Vec<Result<Prepared<P>, TailError>> = samples
        .into_iter()
        .map(|(v, ps)| Prepared::new(v.as_ref(), ps, &clusters, options, top))
        .collect();
    // The samples whose draws are made (valid and not all zeros), in order.
    let live: Vec<&Prepared<P>> = prepared
        .iter()
        .filter_map(|p| p.as_ref().ok().filter(|p| !p.zeros))
        .collect();
    let tops = TopSets::new(&clusters, &live);
    // Cluster bootstrap: resample b's clusters, then every sample's walk over them.
    let total: Vec<Vec<Vec<VarEs>>> = (0..options.resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            rng.set_stream((1u64 << 32) + b as u64);
            let mut picks = vec![0u32; k];
            for _ in 0..k {
                picks[rng.random_range(0..k as u64) as usize] += 1;
            }
            let total: usize = picks
                .iter()
                .zip(&clusters.size)
                .map(|(&p, &s)| p as usize * s)
                .sum();
            live.iter()
                .map(|s| {
                    if total == 0 {
                        return vec![(f64::NAN, f64::NAN); s.ps.as_ref().len()];
                    }
                    let weights = s.dense_desc.iter().map(|&c| picks[c as usize] as usize);
                    tail_walk(total, s.ps.as_ref(), s.desc.iter().copied().zip(weights))
                })
                .collect()
        })
        .collect();
    // Stratified bootstrap: resample b's draws, counted for every sample at once.
    let path: Vec<Vec<Vec<VarEs>>> = (0..options.resamples)
        .into_par_iter()
        .map_init(
            // The counts, reused from resample to resample (a spare count past each sample's
            // last slot: see `shared_draws`).
            || {
                live.iter()
                    .map(|s| vec![0u32; s.top + 1])
                    .collect::<Vec<_>>()
            },
            |counts, b| {
                let stream = || {
                    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
                    rng.set_stream((1u64 << 33) + b as u64);
                    rng
                };
                counts.iter_mut().for_each(|c| c.fill(0));
                if !live.is_empty() {
                    shared_draws(stream(), &clusters, &tops, counts);
                }
                live.iter()
                    .zip(counts.iter())
                    .zip(&tops.slot_of_rank)
                    .map(|((s, w), slots)| {
                        let ps = s.ps.as_ref();
                        let weights = slots.iter().map(|&slot| w[slot as usize] as usize);
                        match tail_walk_prefix(n, ps, s.desc.iter().copied().zip(weights)) {
                            Ok(out) => out,
                            Err(_) => {
                                let mut w = vec![0u32; n];
                                full_draws(stream(), &clusters, &s.member_rank, &mut w);
                                let weights = w.iter().map(|&c| c as usize);
                                tail_walk(n, ps, s.desc.iter().copied().zip(weights))
                            }
                        }
                    })
                    .collect()
            },
        )
        .collect();
    let lo_q = 0.5 * (1.0 - options.level);
    let hi_q = 0.5 * (1.0 + options.level);
    let mut at = 0; // index among the live samples
    prepared
        .into_iter()
        .map(|p| {
            let mut s = p?;
            let ps = s.ps.as_ref();
            let (total, path): (Vec<Vec<VarEs>>, Vec<Vec<VarEs>>) = if s.zeros {
                let zero = vec![vec![(0.0, 0.0); ps.len()]; options.resamples];
                (zero.clone(), zero)
            } else {
                at += 1;
                (
                    total.iter().map(|r| r[at - 1].clone()).collect(),
                    path.iter().map(|r| r[at - 1].clone()).collect(),
                )
            };
            // The sample ascending, for the point estimates.
            s.desc.reverse();
            let sorted = &s.desc;
            Ok(ps
                .iter()
                .enumerate()
                .map(|(j, &p)| {
                    let (var, es) = var_es_sorted(sorted, p);
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
        })
        .collect()
}

/// For each sample, the members among its `top` largest values, each with a slot of its own
/// (slots number them cluster by cluster, in member order, so a resample's counts of one
/// cluster's top members lie together), and a bit per member saying whether it is among any
/// sample's top. Bit words of all samples are interleaved, so a draw's tests read one line.
struct TopSets {
    /// Per bit word ([`Clusters::word_start`]): is the member among any sample's top?
    any: Vec<u64>,
    /// Per bit word and sample (`word · m + sample`, m samples: `slot_of_rank.len()`): is the
    /// member among that sample's top?
    bits: Vec<u64>,
    /// Per bit word and sample, the slot of the word's first top member (the set bits of the
    /// earlier words and clusters).
    first_slot: Vec<u32>,
    /// Per sample, the slot of each rank below its `top`.
    slot_of_rank: Vec<Vec<u32>>,
}

impl TopSets {
    fn new<P>(clusters: &Clusters, samples: &[&Prepared<P>]) -> Self {
        let m = samples.len();
        let words = *clusters.word_start.last().unwrap_or(&0);
        let mut any = vec![0u64; words];
        let mut bits = vec![0u64; words * m];
        let mut first_slot = vec![0u32; words * m];
        let mut slot_of_rank = Vec::with_capacity(m);
        for (s, sample) in samples.iter().enumerate() {
            let mut slots = vec![0u32; sample.top];
            let mut slot = 0u32;
            for c in 0..clusters.k() {
                let ranks = &sample.member_rank[clusters.start[c]..clusters.start[c + 1]];
                for (w, chunk) in ranks.chunks(64).enumerate() {
                    let word = clusters.word_start[c] + w;
                    first_slot[word * m + s] = slot;
                    for (j, &r) in chunk.iter().enumerate() {
                        if (r as usize) < sample.top {
                            bits[word * m + s] |= 1 << j;
                            any[word] |= 1 << j;
                            slots[r as usize] = slot;
                            slot += 1;
                        }
                    }
                }
            }
            slot_of_rank.push(slots);
        }
        Self {
            any,
            bits,
            first_slot,
            slot_of_rank,
        }
    }
}

/// One stratified resample's draws: each cluster draws as many members as it has, uniformly
/// with replacement. `counts[s][slot]` counts the draws of each member among sample `s`'s top
/// (by its [`TopSets`] slot); the others are not counted. Each `counts[s]` has one spare
/// count past the last slot, which stays 0.
fn shared_draws(mut rng: ChaCha8Rng, clusters: &Clusters, tops: &TopSets, counts: &mut [Vec<u32>]) {
    let m = tops.slot_of_rank.len();
    for (c, &len) in clusters.size.iter().enumerate() {
        let words = clusters.word_start[c]..clusters.word_start[c + 1];
        let any = &tops.any[words.clone()];
        let bits = &tops.bits[words.start * m..words.end * m];
        let first = &tops.first_slot[words.start * m..words.end * m];
        for _ in 0..len {
            let j = rng.random_range(0..len as u64) as usize;
            let (w, b) = (j / 64, j % 64);
            if any[w] >> b & 1 == 0 {
                continue;
            }
            // Each sample's count at the slot the member would have: one more if it is among
            // that sample's top, none if not (then the slot is the next top member's, or the
            // spare one past the last). Adding the bit is cheaper than a branch on it.
            let below = (1u64 << b) - 1;
            for (s, counts) in counts.iter_mut().enumerate() {
                let word = bits[w * m + s];
                counts[(first[w * m + s] + (word & below).count_ones()) as usize] +=
                    (word >> b & 1) as u32;
            }
        }
    }
}

/// The same draws as [`shared_draws`], every one counted: `counts[rank]` counts the draws of
/// each member by the rank of its value (`member_rank`, laid out as [`Clusters::members`]).
fn full_draws(mut rng: ChaCha8Rng, clusters: &Clusters, member_rank: &[u32], counts: &mut [u32]) {
    for (c, &len) in clusters.size.iter().enumerate() {
        let ranks = &member_rank[clusters.start[c]..clusters.start[c + 1]];
        for _ in 0..len {
            counts[ranks[rng.random_range(0..len as u64) as usize] as usize] += 1;
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
            let pop = (sd(&tv).powi(2) - sd(&pv).powi(2)).max(0.0).sqrt();
            for (what, have, want) in [
                ("var_lower", g.var_lower, sorted_quantile(&tv, lo_q)),
                ("es_lower", g.es_lower, sorted_quantile(&te, lo_q)),
                ("var_upper", g.var_upper, sorted_quantile(&tv, hi_q)),
                ("es_upper", g.es_upper, sorted_quantile(&te, hi_q)),
                ("var_path_noise_se", g.var_path_noise_se, sd(&pv)),
                ("es_path_noise_se", g.es_path_noise_se, sd(&pe)),
                ("var_population_noise_se", g.var_population_noise_se, pop),
            ] {
                assert_eq!(have.to_bits(), want.to_bits(), "{what} {top:?}");
            }
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
            // Negative values and zeros of both signs (`total_cmp` puts −0 below +0).
            let signed: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(i, v)| if i % 17 == 0 { -0.0 } else { v - 25.0 })
                .collect();
            assert_same(&signed, &g, &[0.5, 0.9], None);
            assert_same(&signed, &g, &[0.3], Some(n / 20));
        }
    }

    #[test]
    fn metrics_bootstrapped_together_equal_each_alone_bit_for_bit() {
        // Three samples over the same clusters with different tails, a sample of zeros among
        // them (no draws) and one with a NaN (its error, the others unaffected), with the
        // default counting and with most resamples recounted in full.
        let o = BootstrapOptions {
            resamples: 30,
            ..Default::default()
        };
        for (n, clusters, seed) in [(997, 7, 5), (640, 64, 6), (300, 1, 7)] {
            let (x, g) = sample(n, clusters, seed);
            let y: Vec<f64> = x.iter().rev().map(|v| v * v).collect();
            let z: Vec<f64> = x.iter().map(|v| (v - 20.0).max(0.0)).collect();
            let zeros = vec![0.0; n];
            let mut bad = x.clone();
            bad[n / 2] = f64::NAN;
            let ps: [&[f64]; 5] = [&[0.95, 0.99], &[0.5], &[0.9], &[0.99], &[0.999, 0.9]];
            let samples: [&[f64]; 5] = [&x, &zeros, &y, &bad, &z];
            for top in [None, Some(n / 50)] {
                let together = clustered_each_top(&g, &o, samples.iter().zip(ps), top);
                assert_eq!(together.len(), samples.len());
                for ((v, p), got) in samples.iter().zip(ps).zip(&together) {
                    let alone = clustered_var_es_top(v, &g, p, &o, top);
                    assert_eq!(format!("{got:?}"), format!("{alone:?}"), "{n} {top:?}");
                }
                assert!(matches!(together[3], Err(TailError::NonFinite { .. })));
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
