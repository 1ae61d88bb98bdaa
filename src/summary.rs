//! The run summary: what produced the run, the cascade probability with its interval, and
//! the distribution of each summarised metric. Pure data, built from the metric columns;
//! serialised as `summary.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::metrics::{Column, Values};
use crate::scenario::CascadeRule;
use crate::stats::{MetricSummary, Proportion, wilson95};

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
    pub cascade_probability: Proportion,
    pub cascades: u64,
    /// Mean open interest of the paths' populations, USD.
    pub open_interest_usd: Option<f64>,
    /// Paths in which some market order exhausted a book.
    pub paths_with_book_exhausted: u64,
    /// Distribution of each summarised metric, by name (absent for a run with no paths).
    pub metrics: BTreeMap<&'static str, MetricSummary>,
}

impl Summary {
    /// Builds the summary from the path columns.
    pub fn build(provenance: Provenance, columns: &[Column]) -> Summary {
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
        let paths_with_book_exhausted = match find("book_exhausted").map(|c| &c.values) {
            Some(Values::U32(v)) => v.iter().filter(|&&x| x > 0).count() as u64,
            _ => 0,
        };
        let metrics = columns
            .iter()
            .filter(|c| c.summarize)
            .filter_map(|c| MetricSummary::of(&c.values.to_f64(), c.unit).map(|s| (c.name, s)))
            .collect();
        Summary {
            provenance,
            cascade_probability: wilson95(cascades, n),
            cascades,
            open_interest_usd,
            paths_with_book_exhausted,
            metrics,
        }
    }
}
