//! Rare-event estimation: importance sampling of the exogenous moves ([`is`]), drawn from a
//! defensive mixture of the tilted and the stated law, and multilevel splitting on the
//! drawdown ([`split`]). Both give weighted paths; [`run`] simulates a run's paths with
//! either and returns them with their log-weights, in the same [`RunResults`] layout as a
//! plain run, plus what the summary reports about the estimator ([`RareEventInfo`]), from
//! which it judges whether the estimate can be trusted. Pure computation on the shared
//! [`Market`].

pub mod is;
pub mod reliability;
pub mod split;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{AssetPathMetrics, Market};
use crate::mc::RunResults;
use crate::model::spec::{RareEventSpec, RareMethod};

pub use is::{PilotEstimate, Tilt};

/// Importance sampling draws every `DEFENSIVE_EVERY`-th path (ids 0, 5, 10, …) from the
/// stated law: the defensive share `α ≈ 1/5` of the mixture `αP + (1 − α)Q`, which bounds
/// every weight by `1/α` (see `docs/rare_event.md`).
pub const DEFENSIVE_EVERY: u64 = 5;

/// Whether importance-sampling path `path` is drawn from the stated law.
pub fn is_defensive(path: u64) -> bool {
    path.is_multiple_of(DEFENSIVE_EVERY)
}

/// The paths of an importance-sampling run drawn from the stated law: a plain Monte Carlo
/// sample inside the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DefensiveStratum {
    /// `α`: the stratum's paths over all paths.
    pub share: f64,
    pub paths: u64,
    pub cascades: u64,
}

/// What `summary.json` records about a rare-event run's estimator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RareEventInfo {
    /// "importance_sampling" or "splitting".
    pub estimator: &'static str,
    /// Importance sampling: the sampling law used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tilt: Option<Tilt>,
    /// Importance sampling: pilot paths simulated to choose the tilt (all iterations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pilot_paths: Option<u64>,
    /// Importance sampling with a cross-entropy pilot: what its last iteration estimated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pilot_estimate: Option<PilotEstimate>,
    /// Importance sampling: the paths drawn from the stated law.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defensive: Option<DefensiveStratum>,
    /// Splitting: the drawdown levels and the clones per level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clones: Option<u32>,
    /// Splitting: paths simulated at each stage (stage 0: the roots).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub particles_per_stage: Vec<u64>,
    /// Cost of the run in whole paths: the paths (or, under splitting, the steps simulated
    /// over one path's steps), pilot paths included.
    pub path_equivalents: f64,
}

/// A rare-event run's paths: results in the plain layout, and per path its log-weight and
/// (splitting) its root path id.
#[derive(Debug, Clone)]
pub struct RareRun {
    pub results: RunResults,
    pub log_weights: Vec<f64>,
    /// The root path each row descends from (splitting only; importance sampling rows are
    /// their own roots).
    pub roots: Option<Vec<u64>>,
    pub info: RareEventInfo,
}

/// Simulates `paths` paths of `market` with the estimator of `spec`.
///
/// # Errors
/// Splitting whose tree would grow too large ([`split::TooManyParticles`]).
pub fn run(
    market: &Market,
    spec: &RareEventSpec,
    paths: u64,
) -> Result<RareRun, split::TooManyParticles> {
    let n_assets = market.assets.len();
    match spec.method {
        RareMethod::ImportanceSampling => {
            let (tilt, pilot, pilot_estimate) = match spec.tilt {
                Some(t) => (
                    Tilt::uniform(market, t, spec.jump_rate_factor.unwrap_or(1.0)),
                    0,
                    None,
                ),
                None => {
                    let (t, estimate) = is::cross_entropy(market, spec.pilot_paths);
                    let used = spec.pilot_paths * t.iterations as u64;
                    (t, used, Some(estimate))
                }
            };
            let sampling = tilt.sampling_market(market);
            let defensive_paths = paths.div_ceil(DEFENSIVE_EVERY);
            let share = if paths > 0 {
                defensive_paths as f64 / paths as f64
            } else {
                0.0
            };
            let done: Vec<_> = (0..paths)
                .into_par_iter()
                .map(|i| {
                    let mut per = vec![AssetPathMetrics::default(); n_assets];
                    let (s, c) = if is_defensive(i) {
                        is::simulate_untilted(market, &tilt, i, &mut per)
                    } else {
                        is::simulate_tilted(market, &sampling, &tilt, i, &mut per)
                    };
                    (s, per, is::mixture_log_weight(c.log_weight, share))
                })
                .collect();
            let defensive_cascades = done
                .iter()
                .enumerate()
                .filter(|(i, (s, _, _))| is_defensive(*i as u64) && s.cascade)
                .count() as u64;
            let mut results = RunResults {
                first_path: 0,
                n_assets,
                lending: !market.lending.is_empty(),
                ..RunResults::default()
            };
            let mut log_weights = Vec::with_capacity(done.len());
            for (s, per, lw) in done {
                results.paths.push(s);
                results.assets.extend(per);
                log_weights.push(lw);
            }
            Ok(RareRun {
                results,
                log_weights,
                roots: None,
                info: RareEventInfo {
                    estimator: "importance_sampling",
                    tilt: Some(tilt),
                    pilot_paths: Some(pilot),
                    pilot_estimate,
                    defensive: Some(DefensiveStratum {
                        share,
                        paths: defensive_paths,
                        cascades: defensive_cascades,
                    }),
                    levels: Vec::new(),
                    clones: None,
                    particles_per_stage: Vec::new(),
                    path_equivalents: (paths + pilot) as f64,
                },
            })
        }
        RareMethod::Splitting => {
            let leaves = split::run(market, paths, &spec.levels, spec.clones)?;
            Ok(RareRun {
                results: RunResults {
                    first_path: 0,
                    paths: leaves.paths,
                    assets: leaves.assets,
                    n_assets,
                    lending: !market.lending.is_empty(),
                    ..RunResults::default()
                },
                log_weights: leaves.log_weights,
                roots: Some(leaves.roots),
                info: RareEventInfo {
                    estimator: "splitting",
                    tilt: None,
                    pilot_paths: None,
                    pilot_estimate: None,
                    defensive: None,
                    levels: spec.levels.clone(),
                    clones: Some(spec.clones),
                    particles_per_stage: leaves.particles_per_stage,
                    path_equivalents: leaves.path_equivalents,
                },
            })
        }
    }
}
