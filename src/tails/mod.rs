//! Extreme-value statistics on plain `&[f64]` samples: peaks-over-threshold GPD fits (ML and
//! PWM), profile-likelihood and delta-method intervals, tail VaR/ES and return levels, the
//! empirical VaR/ES used across the crate with bootstrap intervals, and threshold diagnostics.
//!
//! Nothing here returns NaN in place of a number: impossible estimates are [`TailError`]s, and
//! inside a [`TailReport`] they become [`Outcome::Unavailable`] with the reason in words.
//!
//! Quick start:
//! ```
//! use cascadesim::tails::{self, AnalyzeOptions};
//! let data: Vec<f64> = (1..=2000).map(|i| 1.0 / (1.0 - f64::from(i) / 2001.0)).collect();
//! let report = tails::analyze(&data, &AnalyzeOptions::default());
//! let fit = report.ml_fit.value().expect("a Pareto-like sample fits");
//! assert!((fit.xi - 1.0).abs() < 0.5);
//! let json = serde_json::to_string(&report).unwrap();
//! assert!(json.contains("\"status\":\"available\""));
//! ```
//!
//! Layout: [`sample`] (validated inputs), [`empirical`] (VaR/ES, bootstrap), [`clustered`]
//! (VaR/ES of clustered observations: cluster and stratified bootstraps), [`gpd`] (the
//! distribution and its fits), [`profile`] (profile-likelihood intervals), [`risk`] (return
//! levels, tail VaR/ES), [`diagnostics`] (Hill, mean excess, stability, threshold rule),
//! [`report`] ([`analyze`]), [`special`] (normal and χ² quantiles), [`outcome`], [`error`].

#![warn(missing_docs)]

pub mod clustered;
pub mod diagnostics;
pub mod empirical;
pub mod error;
pub mod gpd;
mod optim;
pub mod outcome;
pub mod profile;
pub mod report;
pub mod risk;
pub mod sample;
pub mod special;

pub use clustered::{ClusteredVarEs, clustered_var_es, clustered_var_es_each};
pub use diagnostics::{
    HillPoint, MeanExcessPoint, StabilityFit, StabilityIntervals, StabilityPoint, ThresholdChoice,
    ThresholdRule, choose_threshold, diagnostic_thresholds, hill, log_spaced_counts, mean_excess,
    parameter_stability,
};
pub use empirical::{
    BootstrapEstimate, BootstrapOptions, bootstrap_var_es, empirical_es, empirical_var,
};
pub use error::TailError;
pub use gpd::{
    Covariance, Gpd, GpdFit, GpdOptions, PwmFit, XI_MIN, XI_REGULAR, fit_gpd_ml, fit_gpd_pwm,
    gpd_log_likelihood,
};
pub use outcome::Outcome;
pub use profile::{ConfidenceRegion, Endpoint, ProfileInterval, TailModel};
pub use report::{
    AnalyzeOptions, DiagnosticOptions, EmpiricalEntry, HillCurve, ReturnLevelEntry, SampleSummary,
    TailReport, TailRiskEntry, analyze,
};
pub use risk::{DeltaMethod, ReturnLevel, TailEstimate, TailRisk, return_level, tail_es, tail_var};
pub use sample::{Exceedances, SortedSample};
pub use special::{chi2_cdf, chi2_quantile, normal_cdf, normal_quantile};
