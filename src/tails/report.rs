//! [`analyze`]: every tail estimate of this module on one sample, bundled into a serializable
//! [`TailReport`] in which each part either has a value or says why not.

use rayon::prelude::*;
use serde::Serialize;

use super::diagnostics::{
    HillPoint, MeanExcessPoint, StabilityPoint, ThresholdChoice, ThresholdRule, choose_threshold,
    diagnostic_thresholds, hill, log_spaced_counts, mean_excess, parameter_stability,
};
use super::empirical::{BootstrapEstimate, BootstrapOptions, bootstrap_var_es};
use super::error::TailError;
use super::gpd::{GpdFit, GpdOptions, PwmFit, fit_gpd_pwm};
use super::outcome::Outcome;
use super::profile::{ConfidenceRegion, ProfileInterval, TailModel};
use super::risk::{ReturnLevel, TailRisk};
use super::sample::{Exceedances, SortedSample};

/// Settings of the diagnostic curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiagnosticOptions {
    /// Approximate number of thresholds (and Hill values of k), log-spaced in the number of
    /// exceedances (default 30).
    pub points: usize,
    /// Fewest exceedances on the grids (default 20).
    pub min_exceedances: usize,
    /// Most exceedances on the grids (default 20 000; also bounds the cost on large samples).
    pub max_exceedances: usize,
}

impl Default for DiagnosticOptions {
    fn default() -> Self {
        Self {
            points: 30,
            min_exceedances: 20,
            max_exceedances: 20_000,
        }
    }
}

/// Settings of [`analyze`]; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeOptions {
    /// How the threshold is chosen (default: [`ThresholdRule::default`]).
    pub threshold: ThresholdRule,
    /// ML fit settings.
    pub gpd: GpdOptions,
    /// Confidence level of every interval (default 0.95).
    pub level: f64,
    /// Probabilities for VaR/ES from the fitted tail (default 0.99, 0.999, 0.9999).
    pub tail_probabilities: Vec<f64>,
    /// Return periods N, in observations (default 10², 10³, 10⁴, 10⁵).
    pub return_periods: Vec<f64>,
    /// Probabilities for the empirical VaR/ES with bootstrap intervals (default 0.95, 0.99,
    /// 0.999).
    pub empirical_probabilities: Vec<f64>,
    /// Bootstrap settings.
    pub bootstrap: BootstrapOptions,
    /// Diagnostic curves.
    pub diagnostics: DiagnosticOptions,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            threshold: ThresholdRule::default(),
            gpd: GpdOptions::default(),
            level: 0.95,
            tail_probabilities: vec![0.99, 0.999, 0.9999],
            return_periods: vec![1e2, 1e3, 1e4, 1e5],
            empirical_probabilities: vec![0.95, 0.99, 0.999],
            bootstrap: BootstrapOptions::default(),
            diagnostics: DiagnosticOptions::default(),
        }
    }
}

/// Basic facts about the sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSummary {
    /// Number of observations.
    pub n: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Hill estimates over a grid of k.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HillCurve {
    /// The estimates, by increasing k.
    pub points: Vec<HillPoint>,
    /// A caveat, e.g. when the ML fit says the tail is bounded (ξ̂ < 0), where Hill (which
    /// assumes ξ > 0) is not meaningful.
    pub note: Option<String>,
}

/// Tail VaR/ES at one probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailRiskEntry {
    /// Probability p.
    pub p: f64,
    /// The estimates, or why unavailable.
    pub result: Outcome<TailRisk>,
}

/// A return level for one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnLevelEntry {
    /// N (observations).
    pub period: f64,
    /// The estimate, or why unavailable.
    pub result: Outcome<ReturnLevel>,
}

/// Empirical VaR/ES at one probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmpiricalEntry {
    /// Probability p.
    pub p: f64,
    /// The estimates with bootstrap intervals, or why unavailable.
    pub result: Outcome<BootstrapEstimate>,
}

/// Everything [`analyze`] computes. Each part is an [`Outcome`], so one impossible estimate
/// never hides the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailReport {
    /// The options used.
    pub options: AnalyzeOptions,
    /// Sample facts (unavailable for empty or non-finite input, with the reason).
    pub sample: Outcome<SampleSummary>,
    /// The threshold, the rule that chose it and the number of exceedances.
    pub threshold: Outcome<ThresholdChoice>,
    /// Maximum-likelihood GPD fit with standard errors.
    pub ml_fit: Outcome<GpdFit>,
    /// Profile-likelihood interval for ξ.
    pub xi_profile_interval: Outcome<ProfileInterval>,
    /// Probability-weighted-moments GPD fit.
    pub pwm_fit: Outcome<PwmFit>,
    /// VaR and ES from the fitted tail.
    pub tail_risk: Vec<TailRiskEntry>,
    /// Return levels "1 in N observations".
    pub return_levels: Vec<ReturnLevelEntry>,
    /// Empirical VaR and ES with bootstrap intervals.
    pub empirical: Vec<EmpiricalEntry>,
    /// Hill plot data.
    pub hill: Outcome<HillCurve>,
    /// Mean residual life plot data.
    pub mean_excess: Outcome<Vec<MeanExcessPoint>>,
    /// Parameter stability plot data.
    pub stability: Outcome<Vec<StabilityPoint>>,
    /// The likelihood region of the ML fit that the profile intervals above were taken over,
    /// kept for further intervals (a figure's band); not serialised.
    #[serde(skip)]
    region: Option<ConfidenceRegion<'static>>,
}

impl TailReport {
    /// The likelihood region of the ML fit at `options.level` (absent when there is no fit):
    /// profile intervals of other quantities over the same region as the report's.
    pub fn region(&self) -> Option<&ConfidenceRegion<'static>> {
        self.region.as_ref()
    }
}

fn unavailable<T>(e: &TailError) -> Outcome<T> {
    Outcome::unavailable(e.to_string())
}

/// Run the whole tail analysis on `data` (any finite `f64` sample; it is copied and sorted
/// once).
///
/// Contents: the threshold from `options.threshold` (reported with its rule and count), the
/// ML fit with standard errors and the profile interval for ξ, the PWM fit, VaR/ES from the
/// fitted tail at `tail_probabilities` and return levels at `return_periods` (delta-method and
/// profile intervals), empirical VaR/ES with percentile-bootstrap intervals at
/// `empirical_probabilities`, and the Hill, mean-excess and parameter-stability curves.
///
/// Never panics on bad data: an empty or non-finite input makes every part unavailable with
/// that reason; a failed fit makes the parts that need it unavailable.
///
/// Cost: one sort, then work bounded by the exceedance caps (20 000 by default) and the
/// bootstrap size; about 1–1.5 s for 10⁶ observations in a release build on 2 cores (most of
/// it in the profile-likelihood intervals and the 200 bootstrap resamples). The result is
/// deterministic: same data and options, same report, on any number of threads.
pub fn analyze(data: &[f64], options: &AnalyzeOptions) -> TailReport {
    let sample = match SortedSample::new(data) {
        Ok(s) => s,
        Err(e) => {
            return TailReport {
                options: options.clone(),
                sample: unavailable(&e),
                threshold: unavailable(&e),
                ml_fit: unavailable(&e),
                xi_profile_interval: unavailable(&e),
                pwm_fit: unavailable(&e),
                tail_risk: options
                    .tail_probabilities
                    .iter()
                    .map(|&p| TailRiskEntry {
                        p,
                        result: unavailable(&e),
                    })
                    .collect(),
                return_levels: options
                    .return_periods
                    .iter()
                    .map(|&period| ReturnLevelEntry {
                        period,
                        result: unavailable(&e),
                    })
                    .collect(),
                empirical: options
                    .empirical_probabilities
                    .iter()
                    .map(|&p| EmpiricalEntry {
                        p,
                        result: unavailable(&e),
                    })
                    .collect(),
                hill: unavailable(&e),
                mean_excess: unavailable(&e),
                stability: unavailable(&e),
                region: None,
            };
        }
    };
    let x = sample.values();
    let n = x.len();
    let summary = SampleSummary {
        n,
        min: sample.min(),
        max: sample.max(),
        mean: x.iter().sum::<f64>() / n as f64,
    };

    let threshold = choose_threshold(&sample, &options.threshold);
    let model = threshold.clone().and_then(|t| {
        let exc = Exceedances::from_sample(&sample, t.threshold)?;
        TailModel::fit(exc, &options.gpd)
    });
    let pwm_fit = threshold
        .clone()
        .and_then(|t| fit_gpd_pwm(&Exceedances::from_sample(&sample, t.threshold)?));

    let region = model
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|m| m.clone().into_region(options.level));
    let xi_profile_interval = region
        .as_ref()
        .map(|r| *r.xi_interval())
        .map_err(Clone::clone);

    // The quantities share the traced region; compute them in parallel (order is preserved).
    let tail_risk = options
        .tail_probabilities
        .par_iter()
        .map(|&p| TailRiskEntry {
            p,
            result: region
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|r| r.tail_risk(p))
                .into(),
        })
        .collect();
    let return_levels = options
        .return_periods
        .par_iter()
        .map(|&period| ReturnLevelEntry {
            period,
            result: region
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|r| r.return_level(period))
                .into(),
        })
        .collect();

    let empirical = match bootstrap_var_es(
        &sample,
        &options.empirical_probabilities,
        &options.bootstrap,
    ) {
        Ok(v) => v
            .into_iter()
            .map(|b| EmpiricalEntry {
                p: b.p,
                result: Outcome::Available { value: b },
            })
            .collect(),
        Err(e) => options
            .empirical_probabilities
            .iter()
            .map(|&p| EmpiricalEntry {
                p,
                result: unavailable(&e),
            })
            .collect(),
    };

    let d = &options.diagnostics;
    let hill_curve = {
        // Hill needs X_(n−k) > 0: k < number of positive observations.
        let positive = sample.count_above(0.0);
        let k_hi = d
            .max_exceedances
            .min(n.saturating_sub(1))
            .min(positive.saturating_sub(1));
        let k_lo = 10.min(k_hi);
        if k_hi < 2 {
            Err(TailError::BoundedTail(format!(
                "the Hill estimator needs positive data: only {positive} observations are > 0"
            )))
        } else {
            let ks = log_spaced_counts(k_lo.max(1), k_hi, d.points.max(2));
            hill(&sample, &ks).map(|points| {
                let mut notes = Vec::new();
                if let Ok(m) = &model
                    && m.gpd_fit().xi < 0.0
                {
                    notes.push(format!(
                        "the ML fit suggests a bounded tail (estimated ξ = {:.3} < 0); the Hill estimator \
                         assumes ξ > 0 and is not meaningful here",
                        m.gpd_fit().xi
                    ));
                }
                if positive < n && k_hi + 1 == positive {
                    notes.push(format!(
                        "k is limited to {k_hi}: only {positive} observations are > 0"
                    ));
                }
                HillCurve {
                    points,
                    note: (!notes.is_empty()).then(|| notes.join("; ")),
                }
            })
        }
    };

    let grid = diagnostic_thresholds(&sample, d.points, d.min_exceedances, d.max_exceedances);
    let mean_excess_curve = if grid.is_empty() {
        Err(TailError::TooFewObservations {
            found: n,
            required: d.min_exceedances + 1,
            what: "the diagnostic threshold grid",
        })
    } else {
        mean_excess(&sample, &grid, options.level)
    };
    let stability = if grid.is_empty() || sample.is_constant() {
        Err(if sample.is_constant() {
            TailError::AllEqual { n, value: x[0] }
        } else {
            TailError::TooFewObservations {
                found: n,
                required: d.min_exceedances + 1,
                what: "the diagnostic threshold grid",
            }
        })
    } else {
        parameter_stability(&sample, &grid, options.level, &options.gpd)
    };

    TailReport {
        options: options.clone(),
        sample: Outcome::Available { value: summary },
        threshold: threshold.into(),
        ml_fit: model
            .as_ref()
            .map(|m| m.gpd_fit().clone())
            .map_err(Clone::clone)
            .into(),
        xi_profile_interval: xi_profile_interval.into(),
        pwm_fit: pwm_fit.into(),
        tail_risk,
        return_levels,
        empirical,
        hill: hill_curve.into(),
        mean_excess: mean_excess_curve.into(),
        stability: stability.into(),
        region: region.ok(),
    }
}
