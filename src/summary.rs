//! The run summary: what produced the run, the cascade probability with its interval, and
//! the distribution of each summarised metric. Pure data, built from the metric columns;
//! serialised as `summary.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{Column, Values};
use crate::scenario::CascadeRule;
use crate::stats::{
    MetricSummary, Proportion, clopper_pearson95, paths_for_relative_error, wilson95,
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
    /// The same with the exact (conservative) Clopper–Pearson 95% interval.
    pub cascade_probability_exact: Proportion,
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
}

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

/// Runs the tail analysis on each of [`TAIL_METRICS`].
pub fn analyze_tails(
    columns: &[Column],
    options: &AnalyzeOptions,
) -> Vec<(&'static str, TailReport)> {
    TAIL_METRICS
        .iter()
        .filter_map(|name| {
            let c = columns.iter().find(|c| c.name == *name)?;
            Some((c.name, tails::analyze(&c.values.to_f64(), options)))
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
        let find = |name: &str| columns.iter().find(|c| c.name == name);
        let cascades = match find("cascade").map(|c| &c.values) {
            Some(Values::Flag(v)) => v.iter().map(|&x| u64::from(x)).sum(),
            _ => 0,
        };
        let n = provenance.paths;
        let open_interest_usd = find("open_interest").and_then(|c| {
            let v = c.values.to_f64();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        });
        // Paths in which a count metric is positive.
        let paths_with = |name: &str| match find(name).map(|c| &c.values) {
            Some(Values::U32(v)) => v.iter().filter(|&&x| x > 0).count() as u64,
            _ => 0,
        };
        let metrics = columns
            .iter()
            .filter(|c| c.summarize)
            .filter_map(|c| MetricSummary::of(&c.values.to_f64(), c.unit).map(|s| (c.name, s)))
            .collect();
        let exact = clopper_pearson95(cascades, n);
        Summary {
            provenance,
            cascade_probability: wilson95(cascades, n),
            precision: Precision::of(&exact),
            cascade_probability_exact: exact,
            cascades,
            open_interest_usd,
            paths_with_book_exhausted: paths_with("book_exhausted"),
            paths_with_circuit_breaker_halt: paths_with("circuit_breaker_halts"),
            metrics,
            tails: tail_reports
                .iter()
                .map(|(name, r)| (*name, tail_json(r)))
                .collect(),
        }
    }
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
