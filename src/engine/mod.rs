//! One Monte Carlo path: the market built once per run ([`Market`]), the step as named
//! stages on the path's state, and the path's figures ([`PathSummary`]).
//!
//! - `market`: the shared, built-once [`Market`] and a path's random streams;
//! - `state`: one path's state while it runs (`PathState`, borrowed as slices for the step
//!   loop as `StepState`) and its figures at the end;
//! - `step`: the step's stages (fundamentals → refill → quiet lane → cascade rounds:
//!   collect, walk books, settle → record → end-of-step rules);
//! - `solo`: the lone-asset loop (stages 1–3 of one asset in registers) and the
//!   several-asset loop (the same with a skip interval per asset);
//! - `mode`: which of the general step, the quiet lane and the loops of quiet steps a path may
//!   take: a positive list of the features each fast path supports;
//! - `extremes`: drawdowns, drawups and the endogenous move, recorded the same way by all;
//! - `halts`: the circuit breaker's per-path state; `venue`: one population's venue
//!   (collect and settle); `queue`: a venue's liquidation engine (queue, capacity, delay,
//!   backstop); `index`: venues' index and arbitrage; `lending`: lending markets;
//!   `accounts`: cross-margin accounts (trigger boxes, close-all);
//! - `summary`: the per-path result types; `hooks`: [`Observer`] and [`Control`];
//! - `replicates`, `trace`, `realised`: population replicates, per-step traces and the
//!   realised heatmap.
//!
//! A step on which no position can trigger (every mark strictly inside its asset's armed
//! band, see `Venue::armed`) skips the cascade loop and only records the extremes: the
//! quiet lane. With one book per asset and no control the lane is a loop of its own (`solo`:
//! for one asset, or several). Both give the same numbers as the general step, to the bit
//! (`tests/fast_paths.rs` pins them on random scenarios).
//!
//! The engine owns the loop and its termination; recording beyond the summary plugs in as
//! an [`Observer`], so the hot loop carries no I/O. Path `i` draws from ChaCha8 seeded with
//! the run seed on stream `i`, so any path can be replayed alone.

pub mod accounts;
mod bulk;
mod extremes;
mod halts;
mod hooks;
pub mod index;
pub mod lending;
mod market;
mod mode;
mod queue;
pub mod realised;
pub mod replicates;
mod round_sum;
mod solo;
mod state;
mod step;
mod summary;
pub mod trace;
mod venue;

pub use hooks::{Control, NoObserver, Observer, Plain};
pub use market::{AssetModel, FastPaths, Market, PopulationModel};
pub use summary::{AssetPathMetrics, AssetStep, PathSummary, PopulationPathMetrics, is_cascade};

use crate::model::population::Positions;
use crate::model::price::SoloReturn;
use extremes::deepest;
use mode::Mode;
use state::{PathState, StepState, Streams};

/// Simulates path `path` and writes per-asset figures into `per_asset` (one per asset).
pub fn simulate_path<O: Observer>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    observer: &mut O,
) -> PathSummary {
    simulate_controlled(market, path, per_asset, observer, &mut Plain)
}

/// [`simulate_path`] steered by `control` (rare-event estimation). The per-path
/// population is always drawn from path `path`'s own stream.
pub fn simulate_controlled<O: Observer, C: Control>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    observer: &mut O,
    control: &mut C,
) -> PathSummary {
    let mut per_population = vec![PopulationPathMetrics::default(); market.populations.len()];
    simulate_full(
        market,
        path,
        per_asset,
        &mut per_population,
        observer,
        control,
    )
}

/// [`simulate_controlled`] that also gives the per-population figures in `per_population`
/// (one per `market.populations`, zeroed by the caller).
pub fn simulate_full<O: Observer, C: Control>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    per_population: &mut [PopulationPathMetrics],
    observer: &mut O,
    control: &mut C,
) -> PathSummary {
    debug_assert_eq!(per_population.len(), market.populations.len());
    debug_assert_eq!(per_asset.len(), market.assets.len());

    // Per-path populations, drawn from far along the path's own stream; in fixed mode the
    // path's replicate.
    let replicate = market.replicate_of(path).map(|r| market.replicate(r));
    let owned: Vec<Positions> = if replicate.is_none() {
        market.draw_path_populations(path)
    } else {
        Vec::new()
    };
    let pops: Vec<&Positions> = replicate.map_or(&owned, |r| &r.positions).iter().collect();
    // Fixed populations: computed once per replicate, so a path never touches positions it
    // does not liquidate.
    let open_interest = replicate.map_or_else(
        || pops.iter().map(|p| p.open_interest()).sum(),
        |r| r.open_interest,
    );

    let mode = Mode::of(market, O::QUIET_STEPS, C::ACTIVE);
    let mut streams = Streams::new(market, path);
    let several = mode.solo && market.assets.len() > 1;
    let mut st = PathState::new(market, &pops, open_interest, mode.lane, several);
    run_steps(
        st.step_state(),
        &mut streams,
        mode,
        per_asset,
        per_population,
        observer,
        control,
    );
    st.finish(per_asset, per_population)
}

/// The step loop: every step takes the general step's stages, the quiet lane ends a quiet
/// one after stage 3, and the lone-asset loop (or, with several assets, the several-asset
/// loop) runs stages 1–3 of quiet steps in a loop of its own (see `mode`).
#[inline(always)]
fn run_steps<O: Observer, C: Control>(
    mut st: StepState<'_>,
    streams: &mut Streams,
    mode: Mode,
    per_asset: &mut [AssetPathMetrics],
    per_population: &mut [PopulationPathMetrics],
    observer: &mut O,
    control: &mut C,
) {
    let market = st.market;
    let track_close = market.circuit_breaker.is_some()
        || market.assets.iter().any(|a| a.book.vol_depth.is_some());
    let solo_ret = if mode.solo {
        market.assets[0].process.solo_return(&market.dependence)
    } else {
        None
    };
    // Several independent Gaussian assets draw one normal each, in asset order, whether
    // through the general draw or one inlined return after the other.
    let several_rets: Vec<SoloReturn<'_>> = if mode.solo && market.assets.len() > 1 {
        let rets: Option<Vec<_>> = market
            .assets
            .iter()
            .map(|a| {
                a.process
                    .solo_return(&market.dependence)
                    .filter(SoloReturn::is_gaussian)
            })
            .collect();
        rets.unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut step = 0;
    while step < market.steps {
        if mode.solo {
            let next = if market.assets.len() == 1 {
                st.solo(streams, step, solo_ret)
            } else {
                st.several(streams, step, &several_rets)
            };
            match next {
                Some(s) => step = s,
                None => break,
            }
        } else {
            st.fundamentals(streams, step, control);
            st.refill();
            if mode.lane && st.quiet() {
                if C::ACTIVE && control.stop_after(step, deepest(st.assets.measures)) {
                    break;
                }
                step += 1;
                continue;
            }
        }
        let hour = st.start_cascade(step);
        let rounds = st.cascade(step, hour, per_population);
        st.summary.cascade_rounds += rounds;
        st.summary.max_rounds_in_step = st.summary.max_rounds_in_step.max(rounds);
        let (step_total, record) = st.record(hour, per_asset, O::QUIET_STEPS);
        if track_close {
            st.end_of_step_rules(step);
        }
        st.summary.peak_step_liquidated_notional =
            st.summary.peak_step_liquidated_notional.max(step_total);
        if record {
            observer.on_step(step, st.assets.view);
        }
        if C::ACTIVE && control.stop_after(step, deepest(st.assets.measures)) {
            break;
        }
        step += 1;
    }
}
