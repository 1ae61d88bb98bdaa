//! The run summary: what produced the run, the cascade probability with its interval, and
//! the distribution of each summarised metric. Pure data, built from the metric columns;
//! serialised as `summary.json`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::clustered::{
    NoiseComponents, design_effect, noise_components, proportion95, replicate_groups,
    weighted_interval95,
};
use crate::metrics::{Column, ColumnSource, Held, Values};
use crate::model::spec::CascadeRule;
use crate::rare::RareEventInfo;
use crate::rare::reliability::{self, Check};
use crate::stats::{
    MetricSummary, Proportion, Z95, clopper_pearson95, effective_sample_size,
    paths_for_relative_error, weighted_proportion95, wilson95,
};
use crate::tails::{self, AnalyzeOptions, ClusteredVarEs, TailReport};

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
    /// Positions in the fixed population (in each replicate; absent when drawn per path).
    pub positions: Option<u64>,
    /// Independent draws of the synthetic populations (path `i` uses draw `i mod R`); absent
    /// when there is no population noise to estimate (per-path mode, positions files only).
    pub population_replicates: Option<u64>,
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
    /// Cascade probability with its 95% interval. With population replicates
    /// (`population_replicates` ≥ 2) the interval covers both path noise and which
    /// populations were drawn (Korn–Graubard; weighted runs: normal with a t quantile);
    /// otherwise it is `cascade_probability_path_only`.
    pub cascade_probability: Proportion,
    /// The interval from the paths alone (Wilson; weighted runs: normal), as if the drawn
    /// populations were the only possible ones: path noise only.
    pub cascade_probability_path_only: Proportion,
    /// The exact (conservative) Clopper–Pearson 95% interval, path noise only (plain runs
    /// only: it does not apply to weighted paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cascade_probability_exact: Option<Proportion>,
    /// The two parts of the probability's standard error (runs with population replicates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cascade_probability_noise: Option<ProbabilityNoise>,
    /// How precise the probability is, and how many paths a ±10% estimate would need.
    pub precision: Precision,
    pub cascades: u64,
    /// Mean open interest of the paths' populations, USD.
    pub open_interest_usd: Option<f64>,
    /// Paths in which some market order exhausted a book.
    pub paths_with_book_exhausted: u64,
    /// Paths in which a circuit breaker halted some asset at least once.
    pub paths_with_circuit_breaker_halt: u64,
    /// How often the market's backstops failed: books run through, insurance funds run dry,
    /// losses nobody covered. Shares of paths (weighted in rare-event runs) and means per path.
    pub failures: Failures,
    /// Per population, in scenario order: where the liquidations, fund draws and losses
    /// arose (absent in rare-event runs, which keep no per-population figures).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub populations: Vec<PopulationSummary>,
    /// Per asset, in scenario order: the cross-margin accounts' liquidations and where the
    /// loss that triggered them came from (only with `[cross_margin]`, plain runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cross_margin: Vec<CrossMarginSummary>,
    /// Distribution of each summarised metric, by name (absent for a run with no paths).
    pub metrics: BTreeMap<&'static str, MetricSummary>,
    /// Extreme-value analysis of the tail metrics: threshold and its rule, GPD fits (ML with
    /// standard errors and profile intervals, PWM), VaR/ES beyond the data, return levels
    /// "1 in N paths" and bootstrap intervals for the empirical VaR/ES. Parts that cannot be
    /// estimated say why. The diagnostic curves are in `results.h5` under `/tails/<metric>`.
    pub tails: BTreeMap<&'static str, serde_json::Value>,
    /// Runs with population replicates: the empirical VaR and ES of each tail metric with
    /// cluster-bootstrap intervals (path and population noise) and the two parts of their
    /// standard errors. The intervals under `tails.<metric>.empirical` are path-only.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub var_es_with_population: BTreeMap<&'static str, Vec<ClusteredVarEs>>,
    /// Rare-event runs only: the estimator, its settings and how much it gained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rare_event: Option<RareEventSummary>,
}

/// The failure figures of a run: each is 0 when nothing failed, and any that is not is shown
/// on the terminal and in the report as a warning, never as a neutral number.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Failures {
    /// Share of paths in which some market order went through a whole side of a book.
    pub book_exhausted_share: f64,
    /// Mean notional per path that the books could not absorb (filled by the backstop at the
    /// deepest level or the price floor), USD.
    pub backstop_notional_mean: f64,
    /// Share of paths in which an insurance fund met a shortfall it could not cover.
    pub fund_exhausted_share: f64,
    /// Share of paths that left bad debt (perpetuals or lending).
    pub bad_debt_share: f64,
    /// Mean bad debt per path (perpetuals and lending), USD.
    pub bad_debt_mean: f64,
}

impl Failures {
    /// Whether any failure figure is not zero.
    pub fn any(&self) -> bool {
        self.book_exhausted_share > 0.0
            || self.backstop_notional_mean > 0.0
            || self.fund_exhausted_share > 0.0
            || self.bad_debt_share > 0.0
    }
}

/// One population's figures in `summary.json`: means per path (USD unless said) and shares
/// of paths.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PopulationSummary {
    pub name: String,
    pub asset: String,
    /// The venue its orders walk (`null`: the asset's only book).
    pub venue: Option<String>,
    pub liquidated_notional_mean: f64,
    pub liquidation_count_mean: f64,
    pub fees_mean: f64,
    pub insurance_fund_draw_mean: f64,
    /// Share of paths in which this population's fund met a shortfall it could not cover.
    pub fund_exhausted_share: f64,
    pub adl_notional_mean: f64,
    pub bad_debt_mean: f64,
    /// Share of paths in which this population left bad debt.
    pub bad_debt_share: f64,
    /// Funding its positions paid per path (only when the run's populations have funding
    /// columns, so other runs' summaries are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_paid_mean: Option<f64>,
    /// Funding its positions received per path (as `funding_paid_mean`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_received_mean: Option<f64>,
    /// Its liquidation engine's figures (only when the run's populations have engine
    /// columns, so other runs' summaries are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidation_engine: Option<EngineSummary>,
}

/// A population's liquidation queue and backstop over the paths (`docs/output.md`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EngineSummary {
    /// Mean over paths of the peak queued notional, USD.
    pub queue_peak_notional_mean: f64,
    /// Largest queue over all paths, positions.
    pub queue_peak_length_max: f64,
    /// Mean wait of every position that left a queue, pooled over paths, steps (`null`
    /// when none did).
    pub queue_wait_mean_steps: Option<f64>,
    /// Longest wait over all paths, steps.
    pub queue_wait_max_steps: f64,
    /// Mean over paths of the notional still queued at the end, USD.
    pub queue_uncleared_notional_mean: f64,
    /// Share of paths that end with something queued.
    pub queue_uncleared_share: f64,
    pub backstop_count_mean: f64,
    pub backstop_notional_mean: f64,
    /// Mean over paths of the backstop's profit (negative: a loss), USD.
    pub backstop_pnl_mean: f64,
    /// Share of paths in which the backstop lost money.
    pub backstop_loss_share: f64,
}

impl EngineSummary {
    /// From a population's columns (`col`: a column's values, empty when absent); `None`
    /// without engine columns.
    fn of(col: &dyn Fn(&str) -> Vec<f64>) -> Option<EngineSummary> {
        let peak = col("queue_peak_notional");
        if peak.is_empty() {
            return None;
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        let share = |v: &[f64], f: &dyn Fn(f64) -> bool| {
            v.iter().filter(|&&x| f(x)).count() as f64 / v.len() as f64
        };
        let (cleared, wait) = (col("queue_cleared"), col("queue_wait_mean_steps"));
        let n: f64 = cleared.iter().sum();
        let waited: f64 = cleared.iter().zip(&wait).map(|(c, w)| c * w).sum();
        let (uncleared, pnl) = (col("queue_uncleared_notional"), col("backstop_pnl"));
        Some(EngineSummary {
            queue_peak_notional_mean: mean(&peak),
            queue_peak_length_max: max(&col("queue_peak_length")),
            queue_wait_mean_steps: (n > 0.0).then(|| waited / n),
            queue_wait_max_steps: max(&col("queue_wait_max_steps")),
            queue_uncleared_notional_mean: mean(&uncleared),
            queue_uncleared_share: share(&uncleared, &|x| x > 0.0),
            backstop_count_mean: mean(&col("backstop_count")),
            backstop_notional_mean: mean(&col("backstop_notional")),
            backstop_pnl_mean: mean(&pnl),
            backstop_loss_share: share(&pnl, &|x| x < 0.0),
        })
    }
}

/// One asset's cross-margin liquidations over the paths (`docs/output.md`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrossMarginSummary {
    pub asset: String,
    /// Mean over paths of the notional of this asset's cross-margin positions closed, USD.
    pub liquidated_notional_mean: f64,
    /// Mean over paths of the part from accounts whose largest loss was on another asset.
    pub liquidated_by_other_mean: f64,
    /// `liquidated_by_other_mean / liquidated_notional_mean` (`null` when nothing closed).
    pub share_from_other: Option<f64>,
    /// Mean over paths of the accounts this asset's loss triggered.
    pub triggered_accounts_mean: f64,
    /// Mean over paths of those accounts' losses beyond collateral, USD.
    pub bad_debt_mean: f64,
    /// `liquidated_notional_mean` split by trigger asset (the asset of the account's
    /// largest loss since step 0), every asset in scenario order, this one included: the
    /// entries sum to `liquidated_notional_mean` and those of the other assets to
    /// `liquidated_by_other_mean`, up to floating-point rounding.
    pub by_trigger_asset: Vec<TriggerShare>,
}

/// One trigger asset's part of an asset's cross-margin closed notional.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TriggerShare {
    /// The trigger asset.
    pub asset: String,
    /// Mean over paths of the notional closed on accounts it triggered, USD.
    pub notional_mean: f64,
}

/// The cross-margin summaries from a run's per-asset columns: empty without cross-margin
/// columns or in a weighted run (its path columns have `weight`). Reads one column at a time.
pub fn cross_margin_summaries(src: &dyn ColumnSource) -> Vec<CrossMarginSummary> {
    if src.path_headers().iter().any(|c| c.name == "weight") {
        return Vec::new();
    }
    let names = src.asset_names();
    let n = names.len();
    names
        .iter()
        .enumerate()
        .filter_map(|(a, asset)| {
            let mean = |name: &str| {
                let c = src.asset(a, name)?;
                let v = c.values.as_f64();
                Some(if v.is_empty() {
                    0.0
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                })
            };
            let liquidated = mean("cross_margin_liquidated_notional")?;
            let by_other = mean("cross_margin_liquidated_by_other")?;
            let matrix = src.by_trigger(a)?;
            let rows = matrix.len().checked_div(n).unwrap_or(0);
            let by_trigger_asset = names
                .iter()
                .enumerate()
                .map(|(t, trigger)| {
                    // Summed in path order, as the columns' means are.
                    let sum: f64 = matrix.iter().skip(t).step_by(n.max(1)).sum();
                    TriggerShare {
                        asset: trigger.clone(),
                        notional_mean: if rows == 0 { 0.0 } else { sum / rows as f64 },
                    }
                })
                .collect();
            drop(matrix);
            Some(CrossMarginSummary {
                asset: asset.clone(),
                liquidated_notional_mean: liquidated,
                liquidated_by_other_mean: by_other,
                share_from_other: (liquidated > 0.0).then(|| by_other / liquidated),
                triggered_accounts_mean: mean("cross_margin_triggered_accounts")?,
                bad_debt_mean: mean("cross_margin_bad_debt")?,
                by_trigger_asset,
            })
        })
        .collect()
}

/// The per-population summaries of a run's per-population columns (plain runs), reading
/// one or two columns at a time.
pub fn population_summaries(src: &dyn ColumnSource) -> Vec<PopulationSummary> {
    src.population_ids()
        .into_iter()
        .enumerate()
        .map(|(k, g)| {
            let names = src.population_names(k);
            let col = |name: &str| {
                src.population(k, name)
                    .map_or_else(Vec::new, |c| c.values.to_f64())
            };
            let mean = |name: &str| {
                let v = col(name);
                if v.is_empty() {
                    0.0
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                }
            };
            let has = |name: &str| names.contains(&name);
            let share = |name: &str| {
                let v = col(name);
                if v.is_empty() {
                    0.0
                } else {
                    v.iter().filter(|&&x| x > 0.0).count() as f64 / v.len() as f64
                }
            };
            PopulationSummary {
                name: g.name,
                asset: g.asset,
                venue: g.venue,
                liquidated_notional_mean: mean("liquidated_notional"),
                liquidation_count_mean: mean("liquidation_count"),
                fees_mean: mean("fees"),
                insurance_fund_draw_mean: mean("insurance_fund_draw"),
                fund_exhausted_share: share("fund_exhausted"),
                adl_notional_mean: mean("adl_notional"),
                bad_debt_mean: mean("bad_debt"),
                bad_debt_share: share("bad_debt"),
                funding_paid_mean: has("funding_paid").then(|| mean("funding_paid")),
                funding_received_mean: has("funding_received").then(|| mean("funding_received")),
                liquidation_engine: EngineSummary::of(&col),
            }
        })
        .collect()
}

/// The cascade probability's standard error split into path noise (more paths shrink it) and
/// population noise (more replicates shrink it).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbabilityNoise {
    #[serde(flatten)]
    pub components: NoiseComponents,
    /// Total variance over the variance of as many independent paths (`s²/n` of the units).
    pub design_effect: f64,
    /// Paths whose binomial interval would be as wide, `paths / design_effect`.
    pub effective_paths: f64,
    /// Which part dominates, in a sentence.
    pub note: String,
}

impl ProbabilityNoise {
    /// The noise parts `c` of the mean of `units` (0/1 indicators, or weighted ones).
    fn new(c: NoiseComponents, units: &[f64]) -> ProbabilityNoise {
        let deff = design_effect(units, &c);
        let pop = c.population_noise_se;
        let share = if c.total_se > 0.0 {
            pop * pop / (c.total_se * c.total_se)
        } else {
            0.0
        };
        let note: String = if c.replicates < 2 {
            "one population replicate: population noise is not estimated (use --replicates)".into()
        } else if c.total_se == 0.0 {
            "no spread between paths or replicates".into()
        } else if share >= 0.5 {
            format!(
                "population noise is {:.0}% of the variance: more paths will not shrink the interval much, more replicates (--replicates) will",
                share * 100.0
            )
        } else {
            format!(
                "path noise is {:.0}% of the variance: more paths shrink the interval",
                (1.0 - share) * 100.0
            )
        };
        ProbabilityNoise {
            components: c,
            design_effect: deff,
            effective_paths: units.len() as f64 / deff.max(f64::MIN_POSITIVE),
            note,
        }
    }
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
    analyze_tails_from(&Held::paths(columns), options)
}

/// [`analyze_tails`] on the columns of `src`, each read when its analysis starts.
pub fn analyze_tails_from(
    src: &dyn ColumnSource,
    options: &AnalyzeOptions,
) -> Vec<(&'static str, TailReport)> {
    TAIL_METRICS
        .par_iter()
        .filter_map(|name| {
            let c = src.path(name)?;
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
        Summary::build_from(provenance, &Held::paths(columns), tail_reports, rare)
    }

    /// [`Summary::build_with`] on the path columns of `src`, each read when needed (a few
    /// at a time).
    pub fn build_from(
        provenance: Provenance,
        src: &dyn ColumnSource,
        tail_reports: &[(&'static str, TailReport)],
        rare: Option<&RareEventInfo>,
    ) -> Summary {
        let find = |name: &str| src.path(name);
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
        let paths_with = |name: &str| {
            find(name).map_or(0, |c| match &c.values {
                Values::U32(v) => v.iter().filter(|&&x| x > 0).count() as u64,
                _ => 0,
            })
        };
        // Each metric's summary depends on its column only: computed in parallel.
        let metrics = src
            .path_headers()
            .par_iter()
            .filter(|h| h.summarize)
            .filter_map(|h| {
                let c = find(h.name)?;
                let v = c.values.as_f64();
                match &weights {
                    Some(w) => MetricSummary::of_weighted(&v, w, h.unit),
                    None => MetricSummary::of(&v, h.unit),
                }
                .map(|s| (h.name, s))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let tails = tail_reports
            .iter()
            .map(|(name, r)| (*name, tail_json(r)))
            .collect();
        let replicates = provenance.population_replicates.filter(|&r| r >= 2);
        let first = provenance.first_path;
        let var_es_with_population = match (replicates, &weights) {
            (Some(r), None) => population_var_es(src, tail_reports, first, r),
            _ => BTreeMap::new(),
        };
        let paths_with_book_exhausted = paths_with("book_exhausted");
        let failures = {
            let values = |name: &str| find(name).map(|c| c.values.to_f64());
            let indicator = |v: Vec<f64>| v.iter().map(|&x| f64::from(x > 0.0)).collect::<Vec<_>>();
            let share = |name: &str| {
                values(name)
                    .and_then(|v| mean_of(&indicator(v)))
                    .unwrap_or(0.0)
            };
            let mean = |name: &str| values(name).and_then(|v| mean_of(&v)).unwrap_or(0.0);
            // Bad debt of either kind, per path.
            let bad: Option<Vec<f64>> = match (values("bad_debt"), values("lending_bad_debt")) {
                (Some(a), Some(b)) => Some(a.iter().zip(&b).map(|(x, y)| x + y).collect()),
                (a, b) => a.or(b),
            };
            Failures {
                book_exhausted_share: share("book_exhausted"),
                backstop_notional_mean: mean("unfilled_notional"),
                fund_exhausted_share: share("fund_exhausted"),
                bad_debt_share: bad
                    .clone()
                    .and_then(|v| mean_of(&indicator(v)))
                    .unwrap_or(0.0),
                bad_debt_mean: bad.and_then(|v| mean_of(&v)).unwrap_or(0.0),
            }
        };
        let paths_with_circuit_breaker_halt = paths_with("circuit_breaker_halts");
        // Population replicates: the interval covers which populations were drawn too.
        let (cascade_probability, path_only, exact, noise, mut precision, rare_event) =
            match (rare, &weights) {
                (Some(info), Some(w)) => {
                    let (p, units, precision, r) =
                        weighted_probability(info, w, &flags, cascades, n, &find);
                    match replicates {
                        Some(r_count) => {
                            let groups = replicate_groups(first, units.len(), r_count);
                            let c = noise_components(&units, &groups, r_count as usize);
                            let total = weighted_interval95(&units, cascades, &c);
                            let precision = Precision::weighted(&total, c.total_se);
                            let noise = ProbabilityNoise::new(c, &units);
                            (total, p, None, Some(noise), precision, Some(r))
                        }
                        None => (p, p, None, None, precision, Some(r)),
                    }
                }
                _ => {
                    let exact = clopper_pearson95(cascades, n);
                    let wilson = wilson95(cascades, n);
                    let set: Vec<bool> = flags.iter().map(|&x| x > 0.0).collect();
                    match proportion95(&set, first, replicates) {
                        (total, Some(c)) => {
                            let precision = Precision::clustered(&total, &c);
                            let units: Vec<f64> =
                                set.iter().map(|&x| f64::from(u8::from(x))).collect();
                            let noise = ProbabilityNoise::new(c, &units);
                            (total, wilson, Some(exact), Some(noise), precision, None)
                        }
                        (_, None) => (
                            wilson,
                            wilson,
                            Some(exact),
                            None,
                            Precision::of(&exact),
                            None,
                        ),
                    }
                }
            };
        if provenance.population_replicates == Some(1) {
            precision.note.push_str(
                "; one population replicate: the interval covers path noise only, not which population was drawn (use --replicates)",
            );
        }
        Summary {
            provenance,
            cascade_probability,
            cascade_probability_path_only: path_only,
            cascade_probability_exact: exact,
            cascade_probability_noise: noise,
            precision,
            cascades,
            open_interest_usd,
            paths_with_book_exhausted,
            paths_with_circuit_breaker_halt,
            failures,
            populations: Vec::new(),
            cross_margin: Vec::new(),
            metrics,
            tails,
            var_es_with_population,
            rare_event,
        }
    }
}

/// The empirical VaR/ES of each tail metric that has a tail report, with cluster-bootstrap
/// intervals over the `r` population replicates (bootstrap settings and seed those of the
/// reports). Metrics with the same settings are bootstrapped together
/// ([`tails::clustered_var_es_each`]: one set of draws for all of them, each metric's result
/// the same as alone), their columns read one at a time. A metric whose values cannot be
/// bootstrapped (non-finite values) is left out; its path-only entry says why.
fn population_var_es<'a>(
    src: &dyn ColumnSource,
    tail_reports: &'a [(&'static str, TailReport)],
    first: u64,
    r: u64,
) -> BTreeMap<&'static str, Vec<ClusteredVarEs>> {
    // The reports grouped by bootstrap settings (in practice one group).
    let mut groups: Vec<(
        &tails::BootstrapOptions,
        Vec<&'a (&'static str, TailReport)>,
    )> = Vec::new();
    for report in tail_reports {
        let o = &report.1.options.bootstrap;
        match groups.iter_mut().find(|(g, _)| *g == o) {
            Some((_, members)) => members.push(report),
            None => groups.push((o, vec![report])),
        }
    }
    let mut out = BTreeMap::new();
    for (options, members) in groups {
        // The first column read sets the length; a column of another length (none, in a run)
        // waits for a later round with its own labels.
        let mut pending = std::collections::VecDeque::from(members);
        while let Some(head) = pending.pop_front() {
            let Some(values) = src.path(head.0).map(f64_values) else {
                continue;
            };
            let rows = values.len();
            let labels = replicate_groups(first, rows, r);
            let mut names = vec![head.0];
            let mut later = Vec::new();
            let rest = std::mem::take(&mut pending);
            let ps = |report: &'a TailReport| &report.options.empirical_probabilities;
            let samples = std::iter::once((values, ps(&head.1))).chain(
                rest.into_iter().filter_map(|member| {
                    let values = f64_values(src.path(member.0)?);
                    if values.len() == rows {
                        names.push(member.0);
                        Some((values, ps(&member.1)))
                    } else {
                        later.push(member);
                        None
                    }
                }),
            );
            let results = tails::clustered_var_es_each(&labels, options, samples);
            for (name, result) in names.into_iter().zip(results) {
                if let Ok(e) = result {
                    out.insert(name, e);
                }
            }
            pending = later.into();
        }
    }
    out
}

/// A column's values as f64 without copying what need not be: borrowed from a source that
/// holds them as f64, moved out of a column read back for the caller.
fn f64_values(c: std::borrow::Cow<'_, Column>) -> std::borrow::Cow<'_, [f64]> {
    use std::borrow::Cow;
    match c {
        Cow::Borrowed(c) => c.values.as_f64(),
        Cow::Owned(Column {
            values: Values::F64(v),
            ..
        }) => Cow::Owned(v),
        Cow::Owned(c) => Cow::Owned(c.values.to_f64()),
    }
}

/// The weighted cascade probability of a rare-event run (`w` its weights, `flags` the
/// cascade indicators, `n` its root paths), its independent units (one per path, or per root
/// path under splitting), its precision and the estimator's summary.
fn weighted_probability<'c>(
    info: &RareEventInfo,
    w: &[f64],
    flags: &[f64],
    cascades: u64,
    n: u64,
    find: &dyn Fn(&str) -> Option<std::borrow::Cow<'c, Column>>,
) -> (Proportion, Vec<f64>, Precision, RareEventSummary) {
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
    (p, units, precision, summary)
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

    /// The precision of a proportion over population replicates (`c` its noise parts): more
    /// paths shrink only the path part, `V(n) = V_pop + V_path·n₀/n`, so a ±10% estimate may
    /// need more replicates rather than more paths.
    fn clustered(p: &Proportion, c: &NoiseComponents) -> Precision {
        if p.trials == 0 || p.successes == 0 || p.estimate >= 1.0 {
            return Precision::of(p);
        }
        let rel = (p.ci_high - p.ci_low) / 2.0 / p.estimate;
        let target = (0.1 * p.estimate / c.t_quantile).powi(2);
        let v_pop = c.population_noise_se.powi(2);
        let v_path_paths = c.path_noise_se.powi(2) * p.trials as f64;
        if v_pop >= target {
            let replicates = (c.replicates as f64 * v_pop / target).ceil() as u64;
            return Precision {
                relative_half_width: Some(rel),
                paths_for_10pct_relative_error: None,
                note: format!(
                    "the estimate is known to ±{:.0}%; population noise alone is ±{:.0}% with {} replicates, so more paths cannot give ±10%: that needs at least {replicates} replicates (--replicates)",
                    rel * 100.0,
                    c.t_quantile * c.population_noise_se / p.estimate * 100.0,
                    c.replicates
                ),
            };
        }
        let need = (v_path_paths / (target - v_pop)).ceil() as u64;
        Precision {
            relative_half_width: Some(rel),
            paths_for_10pct_relative_error: Some(need),
            note: if need > p.trials {
                format!(
                    "the estimate is known to ±{:.0}%; a ±10% estimate needs about {need} paths (with {} replicates)",
                    rel * 100.0,
                    c.replicates
                )
            } else {
                format!("the estimate is known to ±{:.1}%", rel * 100.0)
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tails::clustered_var_es;

    /// The population intervals of metrics bootstrapped together are each metric's own,
    /// however they group: two seeds, a column of another length (never in a run, but
    /// handled), a metric without a column (left out).
    #[test]
    fn population_intervals_are_each_metrics_own() {
        let column = |name: &'static str, values: Vec<f64>| Column {
            name,
            unit: "",
            description: "",
            summarize: true,
            values: Values::F64(values),
        };
        let values = |n: u64, k: u64| -> Vec<f64> {
            (0..n)
                .map(|i| ((i * 2_654_435_761 + k * 97) % 1000) as f64)
                .collect()
        };
        let columns = vec![
            column("amplification", values(400, 1)),
            column("liquidated_notional", values(400, 2)),
            column("max_drawdown", values(250, 3)),
        ];
        let report = |v: &[f64], seed: u64| tails::analyze(v, &tail_options(seed));
        let reports = vec![
            ("amplification", report(&values(400, 1), 1)),
            ("liquidated_notional", report(&values(400, 2), 2)),
            ("max_drawdown", report(&values(250, 3), 1)),
            ("bad_debt", report(&values(400, 4), 1)),
        ];
        let (first, r) = (3, 8);
        let got = population_var_es(&Held::paths(&columns), &reports, first, r);
        assert_eq!(got.len(), 3, "bad_debt has no column");
        for (name, report) in &reports[..3] {
            let v = columns
                .iter()
                .find(|c| c.name == *name)
                .map(|c| c.values.to_f64())
                .unwrap();
            let o = &report.options;
            let groups = replicate_groups(first, v.len(), r);
            let want =
                clustered_var_es(&v, &groups, &o.empirical_probabilities, &o.bootstrap).unwrap();
            assert_eq!(format!("{:?}", got[name]), format!("{want:?}"), "{name}");
        }
    }
}
