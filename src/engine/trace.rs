//! Step-by-step traces of chosen paths, obtained by **replaying** them.
//!
//! Path `i` draws only from its own random stream, so it can be simulated again on its own
//! after a run and gives exactly the same steps. A run therefore keeps no per-step data while
//! it simulates: it picks the paths to trace from the per-path columns (ids named in the
//! scenario, the worst `k` by a metric, or the worst/median/random sample paths of the plots)
//! and replays only those with a [`Recorder`]. Memory is `O(traced paths × steps)`, never
//! `O(paths × steps)`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::{AssetPathMetrics, AssetStep, Market, Observer, PathSummary, simulate_path};

/// An [`Observer`] that keeps every step of every asset (step-major: step `t`, asset `a` is
/// at `t × assets + a`).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub steps: Vec<AssetStep>,
}

impl Recorder {
    /// A recorder with room for `steps` steps of `assets` assets.
    pub fn with_capacity(steps: u32, assets: usize) -> Recorder {
        Recorder {
            steps: Vec::with_capacity(steps as usize * assets),
        }
    }
}

impl Observer for Recorder {
    fn on_step(&mut self, _step: u32, assets: &[AssetStep]) {
        self.steps.extend_from_slice(assets);
    }
}

/// The full record of one replayed path.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Path id (the index of its random stream).
    pub path: u64,
    /// Why this path was traced, in words (e.g. "worst 1 of 3 by max_drawdown").
    pub selected_by: String,
    /// Number of assets per step.
    pub n_assets: usize,
    /// Every step of every asset, step-major.
    pub steps: Vec<AssetStep>,
    /// Start price of each asset (the running peak of the drawdown starts there), USD.
    pub start_prices: Vec<f64>,
    /// The path's summary, as in the run.
    pub summary: PathSummary,
    /// The path's per-asset figures, as in the run.
    pub per_asset: Vec<AssetPathMetrics>,
}

impl Trace {
    /// Number of steps recorded.
    pub fn len(&self) -> usize {
        self.steps.len().checked_div(self.n_assets).unwrap_or(0)
    }

    /// Whether no step was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One per-step series of asset `asset`.
    pub fn series(&self, asset: usize, field: impl Fn(&AssetStep) -> f64) -> Vec<f64> {
        self.steps
            .iter()
            .skip(asset)
            .step_by(self.n_assets.max(1))
            .map(field)
            .collect()
    }
}

/// The traces a run writes to `results.h5`, with what the scenario asked for.
#[derive(Debug, Clone, Default)]
pub struct TraceSet {
    /// The traces, by ascending path id.
    pub traces: Vec<Trace>,
    /// The path ids the scenario named (`trace_paths`).
    pub requested: Vec<u64>,
    /// How many worst paths were asked for (`trace_worst`).
    pub worst: u32,
    /// The metric that ranks them (`trace_metric`).
    pub metric: String,
}

/// Replays path `path` of `market` and records every step.
pub fn replay(market: &Market, path: u64, selected_by: impl Into<String>) -> Trace {
    let n_assets = market.assets.len();
    let mut per_asset = vec![AssetPathMetrics::default(); n_assets];
    let mut recorder = Recorder::with_capacity(market.steps, n_assets);
    let summary = simulate_path(market, path, &mut per_asset, &mut recorder);
    Trace {
        path,
        selected_by: selected_by.into(),
        n_assets,
        steps: recorder.steps,
        start_prices: market.assets.iter().map(|a| a.start_price).collect(),
        summary,
        per_asset,
    }
}

/// Largest peak-to-trough fall of `prices`, with the running peak starting at `start` (as
/// the engine computes `max_drawdown`).
pub fn max_drawdown(start: f64, prices: &[f64]) -> f64 {
    let mut peak = start;
    let mut dd: f64 = 0.0;
    for &p in prices {
        if p > peak {
            peak = p;
        } else {
            dd = dd.max(1.0 - p / peak);
        }
    }
    dd
}

/// Ranking key of a value: NaN ranks below everything.
fn key(v: f64) -> f64 {
    if v.is_nan() { f64::NEG_INFINITY } else { v }
}

/// One candidate of [`worst_k`]: larger value is worse; on ties the lower index is worse
/// (listed first).
#[derive(PartialEq)]
struct Ranked(f64, usize);

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Indices of the `k` largest values (the "worst" paths), largest first; ties go to the
/// lower index and NaN ranks last. One pass with a heap of `k` entries: `O(n log k)` time,
/// `O(k)` memory.
pub fn worst_k(values: &[f64], k: usize) -> Vec<usize> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(k + 1);
    for (i, &v) in values.iter().enumerate() {
        let r = Ranked(key(v), i);
        if heap.len() < k {
            heap.push(Reverse(r));
        } else if heap.peek().is_some_and(|Reverse(least)| r > *least) {
            heap.pop();
            heap.push(Reverse(r));
        }
    }
    let mut out: Vec<Ranked> = heap.into_iter().map(|Reverse(r)| r).collect();
    out.sort_by(|a, b| b.cmp(a));
    out.into_iter().map(|r| r.1).collect()
}

/// Which sample path a plot shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// The largest value of the metric.
    Worst,
    /// The lower median of the metric.
    Median,
    /// A path drawn from the run seed.
    Random,
}

impl SampleKind {
    /// Short name, used in file names (`path_worst`).
    pub fn name(self) -> &'static str {
        match self {
            SampleKind::Worst => "worst",
            SampleKind::Median => "median",
            SampleKind::Random => "random",
        }
    }
}

/// SplitMix64: a fixed, documented mixer, so the random sample path depends on the seed only.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The sample paths of the plots, as indices into `values` (one value per path): the worst
/// (largest value), the lower median (the ⌊(n−1)/2⌋-th smallest, ties by index) and one drawn
/// from `seed` (SplitMix64 of the seed, modulo n; moved to the next index if it coincides
/// with the others). Fewer than three when there are fewer paths; none for none.
pub fn sample_paths(values: &[f64], seed: u64) -> Vec<(SampleKind, usize)> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let worst = worst_k(values, 1)[0];
    let mut order: Vec<usize> = (0..n).collect();
    let cmp = |a: &usize, b: &usize| {
        key(values[*a])
            .total_cmp(&key(values[*b]))
            .then_with(|| a.cmp(b))
    };
    let mid = (n - 1) / 2;
    let (_, &mut median, _) = order.select_nth_unstable_by(mid, cmp);
    let mut out = vec![(SampleKind::Worst, worst)];
    if median != worst {
        out.push((SampleKind::Median, median));
    }
    if n > out.len() {
        let mut r = (splitmix64(seed ^ 0x7261_6e64_6f6d_5f70) % n as u64) as usize;
        while out.iter().any(|&(_, i)| i == r) {
            r = (r + 1) % n;
        }
        out.push((SampleKind::Random, r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_k_takes_the_largest_first_with_ties_to_the_lower_index() {
        let v = [1.0, 5.0, f64::NAN, 5.0, 3.0, 0.0];
        assert_eq!(worst_k(&v, 3), vec![1, 3, 4]);
        assert_eq!(worst_k(&v, 0), Vec::<usize>::new());
        assert_eq!(worst_k(&v, 10), vec![1, 3, 4, 0, 5, 2]);
    }

    #[test]
    fn sample_paths_are_distinct_and_deterministic() {
        let v: Vec<f64> = (0..101).map(|i| f64::from((i * 37) % 101)).collect();
        let s = sample_paths(&v, 7);
        assert_eq!(s.len(), 3);
        assert_eq!(v[s[0].1], 100.0);
        assert_eq!(v[s[1].1], 50.0);
        assert!(s[2].1 != s[0].1 && s[2].1 != s[1].1);
        assert_eq!(s, sample_paths(&v, 7));
        assert_eq!(sample_paths(&[1.0], 3), vec![(SampleKind::Worst, 0)]);
        assert_eq!(sample_paths(&[2.0, 1.0], 3).len(), 2);
        assert!(sample_paths(&[], 3).is_empty());
    }

    #[test]
    fn drawdown_starts_from_the_start_price() {
        assert!((max_drawdown(100.0, &[90.0, 95.0]) - 0.1).abs() < 1e-15);
        assert!((max_drawdown(100.0, &[110.0, 99.0, 120.0]) - 0.1).abs() < 1e-15);
        assert_eq!(max_drawdown(100.0, &[]), 0.0);
    }
}
