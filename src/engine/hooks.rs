//! What plugs into a path from outside: an [`Observer`] of its steps (traces, sample paths,
//! the realised heatmap) and a [`Control`] that steers it (rare-event estimation). The plain
//! Monte Carlo run uses [`NoObserver`] and [`Plain`], for which the engine compiles none of
//! the calls.

use super::Market;
use super::summary::AssetStep;
use crate::model::price::StepDraws;

/// Receives each step of a path (traces, sample-path plots). The summary needs none.
pub trait Observer {
    /// Whether the observer must see steps in which nothing was liquidated. `false` lets the
    /// engine skip building the step's view on quiet steps.
    const QUIET_STEPS: bool = true;

    /// Called once per step after the cascade loop (only for steps with liquidations when
    /// [`Observer::QUIET_STEPS`] is `false`).
    fn on_step(&mut self, step: u32, assets: &[AssetStep]);
}

/// An observer that records nothing (the Monte Carlo hot path).
pub struct NoObserver;

impl Observer for NoObserver {
    const QUIET_STEPS: bool = false;

    #[inline]
    fn on_step(&mut self, _step: u32, _assets: &[AssetStep]) {}
}

/// Steers a path beyond the plain simulation, for rare-event estimation: importance
/// sampling changes the step's draws (and keeps the path's likelihood ratio); splitting
/// switches the path to another random stream from a given step and stops it when its
/// drawdown crosses a level. The plain run uses [`Plain`], for which the engine compiles
/// none of these calls.
pub trait Control {
    /// `false` only for [`Plain`]: the engine then skips every call.
    const ACTIVE: bool = true;

    /// Called after step `step`'s numbers are drawn into `d`, before the returns use them.
    fn on_draws(&mut self, market: &Market, step: u32, d: &mut StepDraws);

    /// The stream key whose draws the path uses from step `step` on, if it changes there.
    fn switch_at(&mut self, step: u32) -> Option<u64>;

    /// Called at the end of step `step` with the running largest drawdown of the mark
    /// (largest over assets); `true` stops the path there.
    fn stop_after(&mut self, step: u32, drawdown: f64) -> bool;
}

/// No control: the plain Monte Carlo path.
pub struct Plain;

impl Control for Plain {
    const ACTIVE: bool = false;

    #[inline(always)]
    fn on_draws(&mut self, _market: &Market, _step: u32, _d: &mut StepDraws) {}

    #[inline(always)]
    fn switch_at(&mut self, _step: u32) -> Option<u64> {
        None
    }

    #[inline(always)]
    fn stop_after(&mut self, _step: u32, _drawdown: f64) -> bool {
        false
    }
}
