//! The run summary: what produced the run, the cascade probability with its interval, and
//! the distribution of each summarised metric. Pure data, built from the metric columns;
//! serialised as `summary.json`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::metrics::{Column, Values};
use crate::rare::RareEventInfo;
use crate::rare::reliability::{self, Check};
use crate::scenario::CascadeRule;
use crate::stats::{
    MetricSummary, Proportion, Z95, clopper_pearson95, effective_sample_size,
    paths_for_relative_error, weighted_proportion95, wilson95,
};
use crate::tails::{self, AnalyzeOptions, TailReport};

/// What produced a run. Recorded in every output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provenance {
    pub cascadesim_version: String,
    /// The scenario path as given on the command line.
    pub scenario_file: String,
    pub scenario_name: String,
    pub seed: u64,
    pub paths: u64,
    /// First path id (0 unless the run is a shard of a larger run).
    pub first_path: u64,
    pub steps: u32,
    pub step_seconds: f64,
    pub assets: Vec<String>,
    /// "fixed" or "per_path".
    pub population_mode: String,
    /// Positions in the fixed population (absent when drawn per path).
    pub positions: Option<u64>,
    pub cascade_definition: CascadeDefinition,
    /// The full scenario TOML text.
    pub scenario: String,
}

/// The scenario's cascade rule, as recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CascadeDefinition {
    pub endogenous_move: Option<f64>,
    pub liquidated_oi_share: Option<f64>,
    pub rule: &'static str,
}

impl From<&CascadeRule> for CascadeDefinition {
    fn from(r: &CascadeRule) -> Self {
        CascadeDefinition {
            endogenous_move: r.endogenous_move,
            liquidated_oi_share: r.liquidated_oi_share,
            rule: if r.require_all { "all" } else { "any" },
        }
    }
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Cascade probability with its Wilson score 95% interval.
    pub cascade_probability: Proportion,
    /// The same with the exact (conservative) Clopper–Pearson 95% interval (plain runs only:
    /// it does not apply to weighted paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cascade_probability_exact: Option<Proportion>,
    /// How precise the probability is, and how many paths a ±10% estimate would need.
    pub precision: Precision,
    pub cascades: u64,
    /// Mean open interest of the paths' populations, USD.
    pub open_interest_usd: Option<f64>,
    /// Paths in which some market order exhausted a book.
    pub paths_with_book_exhausted: u64,
    /// Paths in which a circuit breaker halted some asset at least once.
    pub paths_with_circuit_breaker_halt: u64,
    /// Distribution of each summarised metric, by name (absent for a run with no paths).
    pub metrics: BTreeMap<&'static str, MetricSummary>,
    /// Extreme-value analysis of the tail metrics: threshold and its rule, GPD fits (ML with
    /// standard errors and profile intervals, PWM), VaR/ES beyond the data, return levels
    /// "1 in N paths" and bootstrap intervals for the empirical VaR/ES. Parts that cannot be
    /// estimated say why. The diagnostic curves are in `results.h5` under `/tails/<metric>`.
    pub tails: BTreeMap<&'static str, serde_json::Value>,
    /// Rare-event runs only: the estimator, its settings and how much it gained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rare_event: Option<RareEventSummary>,
}

/// What a rare-event run's summary says about its estimator.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RareEventSummary {
    #[serde(flatten)]
    pub info: RareEventInfo,
    /// Kish's effective sample size of the weights, `(Σw)²/Σw²`: how many equally weighted
    /// paths the distribution estimates (quantiles, VaR, ES) are worth.
    pub effective_sample_size: f64,
    /// The same over the cascading paths' weights alone: how many cascades the probability
    /// estimate is worth.
    pub effective_sample_size_cascades: f64,
    /// Whether every applicable check in `checks` passed: only then are the interval and
    /// the variance reduction to be trusted (see `docs/rare_event.md`).
    pub reliable: bool,
    /// The diagnostics behind `reliable`, each with its value, limit and a sentence.
    pub checks: Vec<Check>,
    /// Paths a plain Monte Carlo run would need for the same interval width,
    /// `p̂(1 − p̂)/se²` (absent without a cascade, or when the estimate is not reliable:
    /// its `se` is then not trusted).
    pub plain_paths_for_same_ci: Option<f64>,
    /// `plain_paths_for_same_ci / path_equivalents`: the variance reduction per unit of
    /// simulation cost (absent as above).
    pub variance_reduction: Option<f64>,
    /// Why the summary has no tail fits.
    pub tails: &'static str,
}

/// Why rare-event runs have no tail fits.
pub const WEIGHTED_TAILS_NOTE: &str = "not fitted: the GPD fit, its threshold rule and its bootstrap assume equally weighted samples; weighted VaR and ES are in `metrics`";

/// Metrics whose tails get an extreme-value analysis.
pub const TAIL_METRICS: [&str; 4] = [
    "max_drawdown",
    "amplification",
    "liquidated_notional",
    "bad_debt",
];

/// Options of the tail analysis of a run: the defaults of [`tails::analyze`] with the
/// bootstrap seeded from the run seed, so the intervals are reproducible.
pub fn tail_options(seed: u64) -> AnalyzeOptions {
    let mut o = AnalyzeOptions::default();
    o.bootstrap.seed = seed;
    o
}

/// Runs the tail analysis on each of [`TAIL_METRICS`] (in parallel; each report depends on
/// its column and the options only).
pub fn analyze_tails(
    columns: &[Column],
    options: &AnalyzeOptions,
) -> Vec<(&'static str, TailReport)> {
    TAIL_METRICS
        .par_iter()
        .filter_map(|name| {
            let c = columns.iter().find(|c| c.name == *name)?;
            Some((c.name, tails::analyze(&c.values.as_f64(), options)))
        })
        .collect()
}

/// The JSON of a tail report without its diagnostic curves (they go to HDF5).
fn tail_json(report: &TailReport) -> serde_json::Value {
    let mut v = serde_json::to_value(report).expect("tail reports serialise");
    if let Some(o) = v.as_object_mut() {
        for k in ["hill", "mean_excess", "stability"] {
            o.remove(k);
        }
    }
    v
}

impl Summary {
    /// Builds the summary from the path columns and their tail reports.
    pub fn build(
        provenance: Provenance,
        columns: &[Column],
        tail_reports: &[(&'static str, TailReport)],
    ) -> Summary {
        Summary::build_with(provenance, columns, tail_reports, None)
    }

    /// [`Summary::build`] for a plain run (`rare = None`) or a rare-event run, whose columns
    /// hold `weight` (and, under splitting, `root_path`): every statistic is then weighted
    /// (see `docs/rare_event.md`).
    pub fn build_with(
        provenance: Provenance,
        columns: &[Column],
        tail_reports: &[(&'static str, TailReport)],
        rare: Option<&RareEventInfo>,
    ) -> Summary {
        let find = |name: &str| columns.iter().find(|c| c.name == name);
        let flags: Vec<f64> = find("cascade").map_or(Vec::new(), |c| c.values.to_f64());
        let cascades = flags.iter().filter(|&&x| x > 0.0).count() as u64;
        let n = provenance.paths;
        let weights = rare.and_then(|_| find("weight").map(|c| c.values.to_f64()));
        let mean_of = |v: &[f64]| match &weights {
            Some(w) => {
                let t: f64 = w.iter().sum();
                (t > 0.0).then(|| v.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / t)
            }
            None => (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64),
        };
        let open_interest_usd = find("open_interest").and_then(|c| mean_of(&c.values.to_f64()));
        // Paths in which a count metric is positive.
        let paths_with = |name: &str| match find(name).map(|c| &c.values) {
            Some(Values::U32(v)) => v.iter().filter(|&&x| x > 0).count() as u64,
            _ => 0,
        };
        // Each metric's summary depends on its column only: computed in parallel.
        let metrics = columns
            .par_iter()
            .filter(|c| c.summarize)
            .filter_map(|c| {
                let v = c.values.as_f64();
                match &weights {
                    Some(w) => MetricSummary::of_weighted(&v, w, c.unit),
                    None => MetricSummary::of(&v, c.unit),
                }
                .map(|s| (c.name, s))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let tails = tail_reports
            .iter()
            .map(|(name, r)| (*name, tail_json(r)))
            .collect();
        let paths_with_book_exhausted = paths_with("book_exhausted");
        let paths_with_circuit_breaker_halt = paths_with("circuit_breaker_halts");
        let (cascade_probability, exact, precision, rare_event) = match (rare, &weights) {
            (Some(info), Some(w)) => {
                let (p, precision, r) = weighted_probability(info, w, &flags, cascades, n, find);
                (p, None, precision, Some(r))
            }
            _ => {
                let exact = clopper_pearson95(cascades, n);
                (
                    wilson95(cascades, n),
                    Some(exact),
                    Precision::of(&exact),
                    None,
                )
            }
        };
        Summary {
            provenance,
            cascade_probability,
            cascade_probability_exact: exact,
            precision,
            cascades,
            open_interest_usd,
            paths_with_book_exhausted,
            paths_with_circuit_breaker_halt,
            metrics,
            tails,
            rare_event,
        }
    }
}

/// The weighted cascade probability of a rare-event run (`w` its weights, `flags` the
/// cascade indicators, `n` its root paths), its precision and the estimator's summary.
fn weighted_probability<'c>(
    info: &RareEventInfo,
    w: &[f64],
    flags: &[f64],
    cascades: u64,
    n: u64,
    find: impl Fn(&str) -> Option<&'c Column>,
) -> (Proportion, Precision, RareEventSummary) {
    // Independent units: each path, or under splitting each root (its rows summed).
    let units: Vec<f64> = match find("root_path").map(|c| c.values.to_f64()) {
        Some(roots) => {
            let mut u = vec![0.0; usize::try_from(n).unwrap_or(0)];
            for ((r, x), w) in roots.iter().zip(flags).zip(w) {
                if let Some(slot) = u.get_mut(*r as usize) {
                    *slot += x * w;
                }
            }
            u
        }
        None => flags.iter().zip(w).map(|(x, w)| x * w).collect(),
    };
    let p = weighted_proportion95(&units, cascades);
    // The interval's upper half is never clamped for a rare event (p̂ + half < 1).
    let se = (p.ci_high - p.estimate) / Z95;
    let plain_paths =
        (p.estimate > 0.0 && se > 0.0).then(|| p.estimate * (1.0 - p.estimate) / (se * se));
    let event_weights: Vec<f64> = flags.iter().zip(w).map(|(x, w)| x * w).collect();
    let verdict = reliability::assess(&units, p.estimate, se, info);
    let plain_paths = plain_paths.filter(|_| verdict.reliable);
    let summary = RareEventSummary {
        info: info.clone(),
        effective_sample_size: effective_sample_size(w),
        effective_sample_size_cascades: effective_sample_size(&event_weights),
        reliable: verdict.reliable,
        checks: verdict.checks,
        plain_paths_for_same_ci: plain_paths,
        variance_reduction: plain_paths.map(|m| m / info.path_equivalents.max(f64::MIN_POSITIVE)),
        tails: WEIGHTED_TAILS_NOTE,
    };
    let mut precision = Precision::weighted(&p, se);
    if !summary.reliable {
        precision.relative_half_width = None;
        precision.paths_for_10pct_relative_error = None;
        precision.note = format!(
            "NOT RELIABLE: the interval may not hold the probability ({})",
            reliability::failures(&summary.checks)
        );
    }
    (p, precision, summary)
}

/// Relative precision of the cascade probability, in words and numbers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Precision {
    /// Half-width of the exact 95% interval over the estimate (absent with no cascade).
    pub relative_half_width: Option<f64>,
    /// Paths needed for a ±10% (relative, 95%) estimate of the probability: from the estimate,
    /// or, with no cascade seen, from the interval's upper bound (a lower bound on the need).
    pub paths_for_10pct_relative_error: Option<u64>,
    /// The same in a sentence.
    pub note: String,
}

impl Precision {
    /// The precision of a weighted estimate with standard error `se`: the paths of the same
    /// estimator a ±10% estimate needs scale as `(relative half-width / 0.1)²`.
    fn weighted(p: &Proportion, se: f64) -> Precision {
        if p.estimate <= 0.0 {
            return Precision {
                relative_half_width: None,
                paths_for_10pct_relative_error: None,
                note: format!(
                    "no weighted cascade in {} paths: the estimator saw no event, so it gives no bound",
                    p.trials
                ),
            };
        }
        let rel = Z95 * se / p.estimate;
        let need = (p.trials as f64 * (rel / 0.1).powi(2)).ceil() as u64;
        Precision {
            relative_half_width: Some(rel),
            paths_for_10pct_relative_error: Some(need),
            note: format!(
                "the weighted estimate is known to ±{:.1}%; a ±10% estimate needs about {need} paths of this estimator",
                rel * 100.0
            ),
        }
    }

    fn of(p: &Proportion) -> Precision {
        if p.trials == 0 {
            return Precision {
                relative_half_width: None,
                paths_for_10pct_relative_error: None,
                note: "no paths were run".into(),
            };
        }
        if p.successes == 0 {
            let need = paths_for_relative_error(p.ci_high, 0.1);
            return Precision {
                relative_half_width: None,
                paths_for_10pct_relative_error: need,
                note: format!(
                    "no cascade in {} paths: the probability is below {:.3e} (95%); a ±10% estimate needs at least {} paths",
                    p.trials,
                    p.ci_high,
                    need.map_or("many more".into(), |n| n.to_string())
                ),
            };
        }
        let rel = (p.ci_high - p.ci_low) / 2.0 / p.estimate;
        let need = paths_for_relative_error(p.estimate, 0.1);
        Precision {
            relative_half_width: Some(rel),
            paths_for_10pct_relative_error: need,
            note: match need {
                Some(n) if n > p.trials => format!(
                    "the estimate is known to ±{:.0}%; a ±10% estimate needs about {n} paths",
                    rel * 100.0
                ),
                _ => format!("the estimate is known to ±{:.1}%", rel * 100.0),
            },
        }
    }
}
