//! Many paths in parallel. Each path is simulated from its own random stream and stored at
//! its own index, so the collected results — and every reduction done over them in path
//! order afterwards — are identical whatever the number of threads.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::engine::{
    AssetPathMetrics, Market, NoObserver, Observer, PathSummary, Plain, PopulationPathMetrics,
    replicates, simulate_full,
};

/// Paths handed to a worker at a time (also the progress granularity). Small enough that the
/// last chunks of a run leave no thread idle for long (a flash-crash path costs ~0.3 ms).
const CHUNK: usize = 64;

/// Per-path results of a run, in path order.
#[derive(Debug, Clone, Default)]
pub struct RunResults {
    /// Index of the first path (0 unless the run is a shard).
    pub first_path: u64,
    pub paths: Vec<PathSummary>,
    /// Per-asset figures, path-major: `assets[i * n_assets + a]`.
    pub assets: Vec<AssetPathMetrics>,
    pub n_assets: usize,
    /// Per-population figures, path-major: `populations[i * n_populations + k]`.
    pub populations: Vec<PopulationPathMetrics>,
    pub n_populations: usize,
    /// Whether the scenario has lending markets (their metric columns are written only then).
    pub lending: bool,
    /// Whether a population pays funding (its per-population columns are written only then).
    pub funding: bool,
    /// Whether a population has a liquidation engine (its per-population columns are written
    /// only then).
    pub engine: bool,
}

/// The run was stopped through its cancel flag before every path finished.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("run cancelled before all paths finished")]
pub struct Cancelled;

/// Something that watches every path of a run and can be combined across chunks of paths.
/// Merging must not depend on order (integer sums, say), so results stay identical on any
/// number of threads.
pub trait Accumulator: Observer + Send {
    /// Adds what another accumulator (of other paths) saw.
    fn merge(&mut self, other: Self);
}

impl Accumulator for NoObserver {
    fn merge(&mut self, _other: Self) {}
}

impl Accumulator for crate::engine::realised::RealisedHeatmap {
    fn merge(&mut self, other: Self) {
        crate::engine::realised::RealisedHeatmap::merge(self, &other);
    }
}

/// Draws the population replicates that paths `first .. first + count` use (only those), in
/// parallel on the current rayon pool. Each replicate depends on the seed and its index only,
/// so this changes no result: it only moves the drawing ahead of the paths.
pub fn prepare(market: &Market, first: u64, count: u64) {
    replicates::needed(market.replicate_count(), first, count)
        .par_iter()
        .for_each(|&r| {
            market.replicate(r);
        });
}

/// Simulates paths `first .. first + count` on the current rayon pool.
///
/// `progress` is called with the number of paths just finished (from worker threads);
/// `cancel` is polled between chunks.
///
/// # Errors
/// [`Cancelled`] when `cancel` was set before the run finished.
pub fn run(
    market: &Market,
    first: u64,
    count: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<RunResults, Cancelled> {
    run_with(market, first, count, progress, cancel, &|| NoObserver).map(|(r, _)| r)
}

/// [`run`] with an accumulator that watches every path: one is made per rayon split of the
/// chunks (a worker adds chunk after chunk to the one it holds) and they are merged at the end.
///
/// # Errors
/// [`Cancelled`] when `cancel` was set before the run finished.
pub fn run_with<A: Accumulator>(
    market: &Market,
    first: u64,
    count: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
    make: &(dyn Fn() -> A + Sync),
) -> Result<(RunResults, A), Cancelled> {
    let n = usize::try_from(count).expect("path count fits in memory (checked by the caller)");
    prepare(market, first, count);
    let n_assets = market.assets.len();
    let mut paths = vec![PathSummary::default(); n];
    let mut assets = vec![AssetPathMetrics::default(); n * n_assets];
    let n_pops = market.populations.len();
    // At least one slot per path, so the zipped chunks below cover every path even with no
    // population; the spare slots are dropped after the run.
    let mut populations = vec![PopulationPathMetrics::default(); n * n_pops.max(1)];
    let acc = paths
        .par_chunks_mut(CHUNK)
        .zip(assets.par_chunks_mut(CHUNK * n_assets.max(1)))
        .zip(populations.par_chunks_mut(CHUNK * n_pops.max(1)))
        .enumerate()
        // One accumulator per rayon split (not per chunk): a chunk adds to the accumulator
        // its worker already holds, so small chunks cost no accumulator allocation or merge.
        .fold(make, |mut acc, (c, ((chunk, asset_chunk), pop_chunk))| {
            if cancel.load(Ordering::Relaxed) {
                return acc;
            }
            for (j, slot) in chunk.iter_mut().enumerate() {
                let id = first + (c * CHUNK + j) as u64;
                let per = &mut asset_chunk[j * n_assets..(j + 1) * n_assets];
                let pops = &mut pop_chunk[j * n_pops..(j + 1) * n_pops];
                *slot = simulate_full(market, id, per, pops, &mut acc, &mut Plain);
            }
            progress(chunk.len() as u64);
            acc
        })
        .reduce(make, |mut a, b| {
            a.merge(b);
            a
        });
    if cancel.load(Ordering::Relaxed) {
        return Err(Cancelled);
    }
    populations.truncate(n * n_pops);
    Ok((
        RunResults {
            first_path: first,
            paths,
            assets,
            n_assets,
            populations,
            n_populations: n_pops,
            lending: !market.lending.is_empty(),
            funding: market.populations.iter().any(|p| p.funding.is_some()),
            engine: market.populations.iter().any(|p| p.engine.is_some()),
        },
        acc,
    ))
}
