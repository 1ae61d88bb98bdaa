//! Fitting the living population to observed liquidations on a training window with
//! argmin's Nelder–Mead.
//!
//! Free parameters, on unconstrained scales: ln inflow (or ln open-interest participation),
//! ln(leverage median − 1), ln leverage sigma, ln holding hours, logit long share when
//! the series has no funding column, and with `inflow_activity` its elasticity (clamped to
//! [0, 5]) and ln half-life. The objective, maximised, is the mean over the two
//! sides of
//!
//! ```text
//! (Pearson + Spearman) / 2 − |ln(simulated total / observed total)|
//! ```
//!
//! on the hourly liquidations of the training bars (a missing correlation counts −1, the
//! log ratio is capped at 5). The correlations reward timing, the log ratio the absolute
//! scale. Every evaluation replays the same paths from the same seed (common random
//! numbers: each position draws the same four numbers whatever the parameters), so the
//! objective is a deterministic function of the parameters.

use std::ops::Range;

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;

use super::grid::StepGrid;
use super::living::{Inflow, LivingParams, Marking};
use super::{Hourly, simulate};

/// Cap on |ln(total ratio)| in the objective.
const MAX_LOG_RATIO: f64 = 5.0;

/// The objective on one side's scores.
fn side_objective(s: &super::score::SideScores) -> f64 {
    let corr = (s.pearson.unwrap_or(-1.0) + s.spearman.unwrap_or(-1.0)) / 2.0;
    let lr = match s.total_ratio {
        Some(r) if r > 0.0 => r.ln().abs().min(MAX_LOG_RATIO),
        _ => MAX_LOG_RATIO,
    };
    corr - lr
}

/// The objective (to maximise) of the scores of a window.
pub fn objective(s: &super::score::Scores) -> f64 {
    0.5 * (side_objective(&s.long) + side_objective(&s.short))
}

/// What is fitted and how the vector maps to parameters.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// The starting parameters; the ones not fitted are kept.
    pub base: LivingParams,
    /// Whether the long share is fitted (no funding column).
    pub long_share: bool,
}

impl Fit {
    /// Names of the fitted parameters, in vector order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut n = vec![
            match self.base.inflow {
                Inflow::Constant(_) => "inflow_usd_per_hour",
                Inflow::OpenInterest { .. } => "oi_participation",
            },
            "leverage_median",
            "leverage_sigma",
            "holding_hours",
        ];
        if self.long_share {
            n.push("long_share");
        }
        if self.base.activity.is_some() {
            n.extend([
                "inflow_activity.elasticity",
                "inflow_activity.halflife_hours",
            ]);
        }
        n
    }

    /// The starting vector.
    pub fn start(&self) -> Vec<f64> {
        let p = &self.base;
        let inflow = match p.inflow {
            Inflow::Constant(x) => x,
            Inflow::OpenInterest { participation } => participation,
        };
        let mut x = vec![
            inflow.ln(),
            (p.leverage_median - 1.0).max(1e-3).ln(),
            p.leverage_sigma.max(1e-3).ln(),
            p.holding_hours.ln(),
        ];
        if self.long_share {
            x.push((p.long_share / (1.0 - p.long_share)).ln());
        }
        if let Some(a) = p.activity {
            x.extend([a.elasticity, a.halflife_hours.ln()]);
        }
        x
    }

    /// The parameters of a vector (clamped into the valid ranges).
    pub fn params(&self, x: &[f64]) -> LivingParams {
        let mut p = self.base;
        let inflow = x[0].clamp(-50.0, 50.0).exp();
        p.inflow = match p.inflow {
            Inflow::Constant(_) => Inflow::Constant(inflow),
            Inflow::OpenInterest { .. } => Inflow::OpenInterest {
                participation: inflow,
            },
        };
        p.leverage_median = (1.0 + x[1].clamp(-10.0, 10.0).exp()).clamp(1.01, p.max_leverage);
        p.leverage_sigma = x[2].clamp(-10.0, 1.5).exp();
        p.holding_hours = x[3].clamp(-5.0, 10.0).exp();
        if self.long_share {
            p.long_share = (1.0 / (1.0 + (-x[4]).exp())).clamp(0.02, 0.98);
        }
        if let Some(a) = p.activity.as_mut() {
            let i = 4 + usize::from(self.long_share);
            a.elasticity = x[i].clamp(0.0, 5.0);
            a.halflife_hours = x[i + 1].clamp(-3.0, 9.0).exp();
            if let Some(b) = a.baseline_hours {
                // The scenario rule: the activity's half-life is at most its baseline's.
                a.halflife_hours = a.halflife_hours.min(b);
            }
        }
        p
    }
}

/// The training problem: a grid, the bars scored and the paths replayed.
pub struct Problem<'a> {
    pub grid: &'a StepGrid,
    /// What the positions see as the mark.
    pub marking: Marking<'a>,
    pub fit: Fit,
    /// Bars scored (all before the training cut).
    pub bars: Range<usize>,
    /// Steps simulated: `0..end` (all before the training cut).
    pub end: usize,
    pub paths: u64,
    pub seed: u64,
}

impl Problem<'_> {
    /// The objective at parameters `p` (simulating steps `0..end` only).
    pub fn evaluate(&self, p: &LivingParams) -> f64 {
        let sim = simulate(self.grid, p, self.marking, self.paths, self.seed, self.end);
        match Hourly::new(self.grid, &sim) {
            Some(h) => objective(&h.model_scores(self.bars.clone())),
            None => f64::NEG_INFINITY,
        }
    }
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Self::Param) -> Result<f64, Error> {
        Ok(-self.evaluate(&self.fit.params(x)))
    }
}

/// Result of a fit.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub params: LivingParams,
    /// Objective at the fitted parameters (training window).
    pub objective: f64,
    /// Objective at the starting parameters.
    pub start_objective: f64,
    /// Nelder–Mead iterations run.
    pub iterations: u64,
}

/// Maximises the objective from the problem's starting parameters, at most `max_iters`
/// Nelder–Mead iterations (initial simplex: the start and one step of 0.4 along each axis).
///
/// # Errors
/// When argmin fails (it does not for a finite objective).
pub fn fit(problem: Problem<'_>, max_iters: u64) -> Result<Fitted, Error> {
    let x0 = problem.fit.start();
    let start_objective = -problem.cost(&x0)?;
    let mut simplex = vec![x0.clone()];
    for i in 0..x0.len() {
        let mut x = x0.clone();
        x[i] += 0.4;
        simplex.push(x);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-4)?;
    let fit = problem.fit;
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()?;
    let state = res.state();
    let best = state.get_best_param().cloned().unwrap_or(x0);
    Ok(Fitted {
        params: fit.params(&best),
        objective: -state.get_best_cost(),
        start_objective,
        iterations: state.get_iter(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::score::SideScores;

    #[test]
    fn objective_rewards_timing_and_scale() {
        let obs = [1.0, 5.0, 2.0, 9.0];
        let perfect = SideScores::new(&obs, &obs);
        assert_eq!(side_objective(&perfect), 1.0);
        let double: Vec<f64> = obs.iter().map(|x| 2.0 * x).collect();
        let s = SideScores::new(&double, &obs);
        assert!((side_objective(&s) - (1.0 - 2f64.ln())).abs() < 1e-12);
        let none = SideScores::new(&[0.0; 4], &obs);
        assert_eq!(side_objective(&none), -1.0 - MAX_LOG_RATIO);
    }

    #[test]
    fn vector_round_trips_through_parameters() {
        let base = LivingParams {
            inflow: Inflow::Constant(3e7),
            activity: Some(crate::history::living::Activity {
                halflife_hours: 8.0,
                elasticity: 0.3,
                reference_hours: 24.0,
                baseline_hours: None,
            }),
            positions_per_hour: 600.0,
            long_share: 0.6,
            funding_sensitivity: 0.0,
            leverage_median: 12.0,
            leverage_sigma: 0.7,
            max_leverage: 125.0,
            size_sigma: 1.0,
            holding_hours: 20.0,
            maintenance_margin: 0.005,
            start: Default::default(),
        };
        let f = Fit {
            base,
            long_share: true,
        };
        let p = f.params(&f.start());
        assert_eq!(f.names().len(), 7);
        assert_eq!(f.start().len(), 7);
        let a = p.activity.unwrap();
        assert_eq!(a.reference_hours, 24.0);
        let Inflow::Constant(i) = p.inflow else {
            panic!()
        };
        for (a, b) in [
            (i, 3e7),
            (p.leverage_median, 12.0),
            (p.leverage_sigma, 0.7),
            (p.holding_hours, 20.0),
            (p.long_share, 0.6),
            (a.halflife_hours, 8.0),
            (a.elasticity, 0.3),
        ] {
            assert!((a / b - 1.0).abs() < 1e-12, "{a} vs {b}");
        }
    }
}
