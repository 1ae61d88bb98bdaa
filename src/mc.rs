//! Many paths in parallel. Each path is simulated from its own random stream and stored at
//! its own index, so the collected results — and every reduction done over them in path
//! order afterwards — are identical whatever the number of threads.

use std::ops::ControlFlow;
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
    prepare(market, first, count);
    let n = usize::try_from(count).expect("path count fits in memory (checked by the caller)");
    let shape = shape(market, first);
    let (n_assets, n_pops) = (shape.n_assets, shape.n_populations);
    let mut paths = vec![PathSummary::default(); n];
    let mut assets = vec![AssetPathMetrics::default(); n * n_assets];
    let mut populations = vec![PopulationPathMetrics::default(); n * n_pops.max(1)];
    let slots = Slots {
        paths: &mut paths,
        assets: &mut assets,
        populations: &mut populations,
    };
    let acc = simulate_into(market, first, slots, progress, cancel, make)?;
    populations.truncate(n * n_pops);
    Ok((
        RunResults {
            paths,
            assets,
            populations,
            ..shape
        },
        acc,
    ))
}

/// Paths simulated before their results are handed on by [`run_blocks`]: large enough that
/// the end of a block leaves the threads idle for a negligible share of it (1,024 chunks),
/// small enough that a block's per-path structs are a few tens of MB.
pub const BLOCK: u64 = 1 << 16;

/// [`run_with`] over `paths` in blocks of `block` paths ([`BLOCK`] in a run), in path order:
/// each block's results are handed to `sink` as soon as it is simulated, and its slots are
/// reused for the next block, so a run never holds every path's structs (the sink keeps what
/// it needs, e.g. [`crate::metrics::Collector`]'s columns). The accumulators of the blocks
/// are merged into one. The results are the same as [`run_with`]'s, block by block, for any
/// number of threads: each path is still simulated from its own stream, and merging
/// accumulators does not depend on order. A sink that returns [`ControlFlow::Break`] (it
/// cannot keep a block, e.g. a failed write) stops the run after that block: the
/// accumulator then covers the blocks simulated so far, and the sink knows why.
///
/// # Errors
/// [`Cancelled`] when `cancel` was set before the run finished (`sink` may have seen some
/// blocks).
pub fn run_blocks<A: Accumulator>(
    market: &Market,
    paths: std::ops::Range<u64>,
    block: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
    make: &(dyn Fn() -> A + Sync),
    sink: &mut dyn FnMut(&RunResults) -> ControlFlow<()>,
) -> Result<A, Cancelled> {
    let (mut start, end) = (paths.start, paths.end);
    prepare(market, start, end.saturating_sub(start));
    let mut acc = make();
    // One block's slots, reused from block to block (a run allocates them once).
    let cap = usize::try_from(block.max(1).min(end.saturating_sub(start)))
        .expect("a block fits in memory");
    let mut buf = shape(market, start);
    let (n_assets, n_pops) = (buf.n_assets, buf.n_populations);
    buf.paths = vec![PathSummary::default(); cap];
    buf.assets = vec![AssetPathMetrics::default(); cap * n_assets];
    buf.populations = vec![PopulationPathMetrics::default(); cap * n_pops];
    // The slots of a run without populations (the engine writes none; the sink sees none).
    let mut unused = vec![PopulationPathMetrics::default(); if n_pops == 0 { cap } else { 0 }];
    while start < end {
        let len = cap.min(usize::try_from(end - start).unwrap_or(usize::MAX));
        buf.first_path = start;
        // Only the last block is shorter: cutting the slots to it is for good.
        buf.paths.truncate(len);
        buf.assets.truncate(len * n_assets);
        buf.populations.truncate(len * n_pops);
        buf.assets.fill(AssetPathMetrics::default());
        buf.populations.fill(PopulationPathMetrics::default());
        let populations = if n_pops == 0 {
            &mut unused[..len]
        } else {
            &mut buf.populations[..]
        };
        let slots = Slots {
            paths: &mut buf.paths,
            assets: &mut buf.assets,
            populations,
        };
        acc.merge(simulate_into(market, start, slots, progress, cancel, make)?);
        if sink(&buf).is_break() {
            break;
        }
        start += len as u64;
    }
    Ok(acc)
}

/// A run's results without paths: its first path, counts and flags (what
/// [`crate::metrics::Collector`] needs to lay out the columns of its paths).
pub fn shape(market: &Market, first: u64) -> RunResults {
    RunResults {
        first_path: first,
        paths: Vec::new(),
        assets: Vec::new(),
        n_assets: market.assets.len(),
        populations: Vec::new(),
        n_populations: market.populations.len(),
        lending: !market.lending.is_empty(),
        funding: market.populations.iter().any(|p| p.funding.is_some()),
        engine: market.populations.iter().any(|p| p.engine.is_some()),
    }
}

/// One slot per path of a range of paths, path-major: its summary, its assets' figures and
/// its populations' (one unused entry per path when the market has no population).
struct Slots<'a> {
    paths: &'a mut [PathSummary],
    assets: &'a mut [AssetPathMetrics],
    populations: &'a mut [PopulationPathMetrics],
}

/// Simulates paths `first ..` into `slots` (as many paths as it has slots; the assets' and
/// populations' slots start as their defaults), returning what the accumulators saw.
fn simulate_into<A: Accumulator>(
    market: &Market,
    first: u64,
    slots: Slots<'_>,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
    make: &(dyn Fn() -> A + Sync),
) -> Result<A, Cancelled> {
    let n_assets = market.assets.len();
    let n_pops = market.populations.len();
    let Slots {
        paths,
        assets,
        populations,
    } = slots;
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
    Ok(acc)
}
