//! Rare-event estimation: importance sampling of the exogenous moves ([`is`]) and
//! multilevel splitting on the drawdown ([`split`]). Both give weighted paths; [`run`]
//! simulates a run's paths with either and returns them with their log-weights, in the
//! same [`RunResults`] layout as a plain run, plus what the summary reports about the
//! estimator ([`RareEventInfo`]). Pure computation on the shared [`Market`].

pub mod is;
pub mod split;

use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{AssetPathMetrics, Market};
use crate::mc::RunResults;
use crate::scenario::{RareEventSpec, RareMethod};

pub use is::Tilt;

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
            let (tilt, pilot) = match spec.tilt {
                Some(t) => (
                    Tilt::uniform(market, t, spec.jump_rate_factor.unwrap_or(1.0)),
                    0,
                ),
                None => {
                    let t = is::cross_entropy(market, spec.pilot_paths);
                    let used = spec.pilot_paths * t.iterations as u64;
                    (t, used)
                }
            };
            let sampling = tilt.sampling_market(market);
            let done: Vec<_> = (0..paths)
                .into_par_iter()
                .map(|i| {
                    let mut per = vec![AssetPathMetrics::default(); n_assets];
                    let (s, c) = is::simulate_tilted(market, &sampling, &tilt, i, &mut per);
                    (s, per, c.log_weight)
                })
                .collect();
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
                    levels: spec.levels.clone(),
                    clones: Some(spec.clones),
                    particles_per_stage: leaves.particles_per_stage,
                    path_equivalents: leaves.path_equivalents,
                },
            })
        }
    }
}
