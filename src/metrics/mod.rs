//! The per-path metrics a run records: names, units and meanings in one table, and (in
//! `collect.rs`) the conversion of run results into named columns (and, with
//! `[cross_margin]`, each asset's by-trigger matrix, `AssetColumns::by_trigger`);
//! `source.rs`: [`ColumnSource`], how the statistics read a run's columns one at a time.
//! `results.h5` and `summary.json` are both built from these columns, so they cannot
//! disagree.

use crate::engine::{AssetPathMetrics, PathSummary, PopulationPathMetrics};

mod collect;
mod source;

pub use collect::{
    Collector, asset_columns, block_columns, columns, population_columns, weight_columns,
};
pub use source::{ColumnSource, Header, Held};

/// How a metric is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    F64,
    U32,
    /// 0/1, stored as u8.
    Flag,
}

impl Kind {
    /// `v` (exact `f64` copies of values of this kind, as MPI sends them) back in this kind.
    pub fn values_from_f64(self, v: Vec<f64>) -> Values {
        match self {
            Kind::F64 => Values::F64(v),
            Kind::U32 => Values::U32(v.iter().map(|&x| x as u32).collect()),
            Kind::Flag => Values::Flag(v.iter().map(|&x| x as u8).collect()),
        }
    }
}

/// Definition of one per-path metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    /// Whether `summary.json` gives its distribution (mean, quantiles, VaR, ES).
    pub summarize: bool,
    get: fn(&PathSummary) -> f64,
}

impl MetricDef {
    /// This metric's column holding `values`.
    pub fn column(&self, values: Values) -> Column {
        Column {
            name: self.name,
            unit: self.unit,
            description: self.description,
            summarize: self.summarize,
            values,
        }
    }
}

macro_rules! metric {
    ($name:ident, $unit:expr, $kind:ident, $summ:expr, $desc:expr) => {
        MetricDef {
            name: stringify!($name),
            unit: $unit,
            description: $desc,
            kind: Kind::$kind,
            summarize: $summ,
            get: |s: &PathSummary| f64::from(s.$name),
        }
    };
}

/// Every per-path metric, in the order they are written.
pub const PATH_METRICS: &[MetricDef] = &[
    metric!(
        max_drawdown,
        "fraction",
        F64,
        true,
        "largest peak-to-trough fall of the mark price over the path (largest over assets)"
    ),
    metric!(
        exogenous_drawdown,
        "fraction",
        F64,
        true,
        "largest peak-to-trough fall of the fundamental price: the same random numbers with no liquidations"
    ),
    metric!(
        amplification,
        "fraction",
        F64,
        true,
        "endogenous part of the fall: max_drawdown - exogenous_drawdown (largest over assets)"
    ),
    metric!(
        max_drawup,
        "fraction",
        F64,
        true,
        "largest trough-to-peak rise of the mark price (short squeezes)"
    ),
    metric!(
        exogenous_drawup,
        "fraction",
        F64,
        false,
        "largest trough-to-peak rise of the fundamental price"
    ),
    metric!(
        endogenous_down,
        "log",
        F64,
        true,
        "how far liquidations pushed the mark below where the same random numbers put it without liquidations, at one moment: max over steps of ln(counterfactual / mark) (largest over assets)"
    ),
    metric!(
        endogenous_up,
        "log",
        F64,
        true,
        "the same upward, max over steps of ln(mark / counterfactual): only buy orders from short liquidations raise it (largest over assets)"
    ),
    metric!(
        liquidated_notional,
        "USD",
        F64,
        true,
        "notional liquidated over the path, at fill prices"
    ),
    metric!(
        long_liquidated_notional,
        "USD",
        F64,
        false,
        "notional of long positions liquidated, at fill prices"
    ),
    metric!(
        short_liquidated_notional,
        "USD",
        F64,
        false,
        "notional of short positions liquidated, at fill prices"
    ),
    metric!(
        peak_step_liquidated_notional,
        "USD",
        F64,
        true,
        "largest notional liquidated within a single step"
    ),
    metric!(
        liquidation_count,
        "positions",
        U32,
        true,
        "number of positions liquidated"
    ),
    metric!(
        cascade_rounds,
        "rounds",
        U32,
        true,
        "cascade-loop rounds that liquidated something, summed over steps"
    ),
    metric!(
        max_rounds_in_step,
        "rounds",
        U32,
        false,
        "most cascade-loop rounds within one step"
    ),
    metric!(
        slippage_cost,
        "USD",
        F64,
        true,
        "cost of liquidation orders against the pre-trade mid: sum of |fill - mid| x quantity"
    ),
    metric!(
        fees,
        "USD",
        F64,
        false,
        "liquidation fees paid into insurance funds"
    ),
    metric!(
        insurance_fund_draw,
        "USD",
        F64,
        true,
        "paid by insurance funds for fills beyond bankruptcy prices"
    ),
    metric!(
        bad_debt,
        "USD",
        F64,
        true,
        "losses beyond the margin of liquidated positions that neither an insurance fund nor auto-deleveraging covered"
    ),
    metric!(
        fund_exhausted,
        "0/1",
        Flag,
        true,
        "1 if an insurance fund could not cover a shortfall during the path (its mean is the probability)"
    ),
    metric!(
        fund_exhausted_at,
        "step",
        U32,
        false,
        "step, counted from 1, of the first shortfall an insurance fund could not cover; 0 if none"
    ),
    metric!(
        adl_notional,
        "USD",
        F64,
        true,
        "notional of opposite positions closed by auto-deleveraging, at the bankruptcy prices used"
    ),
    metric!(
        adl_count,
        "positions",
        U32,
        true,
        "opposite positions auto-deleveraged (fully or partly)"
    ),
    metric!(
        partial_liquidation_count,
        "liquidations",
        U32,
        true,
        "liquidations that closed only part of a position (also counted in liquidation_count)"
    ),
    metric!(
        book_exhausted,
        "orders",
        U32,
        false,
        "market orders that went through a whole side of a book (rest filled by the backstop at the deepest level)"
    ),
    metric!(
        unfilled_notional,
        "USD",
        F64,
        false,
        "quantity the books could not absorb, valued at the backstop price"
    ),
    metric!(
        open_interest,
        "USD",
        F64,
        false,
        "open interest of the path's positions at entry prices"
    ),
    metric!(
        cascade,
        "0/1",
        Flag,
        false,
        "1 if the path meets the scenario's cascade definition"
    ),
    metric!(
        circuit_breaker_halts,
        "halts",
        U32,
        false,
        "times a circuit breaker halted an asset's trading (0 without a breaker)"
    ),
    metric!(
        halted_steps,
        "asset-steps",
        U32,
        false,
        "steps an asset spent halted after the step its halt tripped in, summed over assets"
    ),
];

/// Per-path metrics of lending markets, written after [`PATH_METRICS`] and only for
/// scenarios with `[[lending]]` (files of other scenarios are unchanged).
pub const LENDING_METRICS: &[MetricDef] = &[
    metric!(
        lending_liquidation_count,
        "liquidations",
        U32,
        true,
        "lending liquidations (one call against one collateral of one account; an account may be liquidated in several rounds)"
    ),
    metric!(
        lending_repaid_debt,
        "USD",
        F64,
        true,
        "stablecoin debt repaid by lending liquidators"
    ),
    metric!(
        lending_bonus,
        "USD",
        F64,
        false,
        "liquidation bonus received by lending liquidators, at the oracle (mark) price; seized collateral at the oracle = lending_repaid_debt + lending_bonus"
    ),
    metric!(
        lending_sold_notional,
        "USD",
        F64,
        true,
        "seized lending collateral sold through the books, at fill prices"
    ),
    metric!(
        lending_bad_debt,
        "USD",
        F64,
        true,
        "lending debt written off because the account had no collateral left"
    ),
];

/// The per-path metrics of a run: [`PATH_METRICS`], then [`LENDING_METRICS`] when the
/// scenario has lending markets.
pub fn path_metrics(lending: bool) -> impl Iterator<Item = &'static MetricDef> {
    let extra: &'static [MetricDef] = if lending { LENDING_METRICS } else { &[] };
    PATH_METRICS.iter().chain(extra)
}

/// Definition of a per-asset metric.
#[derive(Debug, Clone, Copy)]
pub struct AssetMetricDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    /// Written only for assets with venues (`[[assets.venues]]`), so files of scenarios
    /// without venues stay as they were.
    pub venues_only: bool,
    /// Written (for every asset) only when the scenario has `[cross_margin]`.
    pub cross_margin_only: bool,
    get: fn(&AssetPathMetrics) -> f64,
}

macro_rules! asset_metric {
    (cross_margin $name:ident, $unit:expr, $desc:expr) => {
        AssetMetricDef {
            name: stringify!($name),
            unit: $unit,
            description: $desc,
            venues_only: false,
            cross_margin_only: true,
            get: |m: &AssetPathMetrics| m.$name,
        }
    };
    ($name:ident, $unit:expr, $desc:expr) => {
        asset_metric!($name, $unit, $desc, false)
    };
    ($name:ident, $unit:expr, $desc:expr, $venues_only:expr) => {
        AssetMetricDef {
            name: stringify!($name),
            unit: $unit,
            description: $desc,
            venues_only: $venues_only,
            cross_margin_only: false,
            get: |m: &AssetPathMetrics| m.$name,
        }
    };
}

/// Per-asset metrics, written under `/assets/<name>/`.
pub const ASSET_METRICS: &[AssetMetricDef] = &[
    asset_metric!(
        max_drawdown,
        "fraction",
        "largest peak-to-trough fall of this asset's mark price"
    ),
    asset_metric!(
        exogenous_drawdown,
        "fraction",
        "largest peak-to-trough fall of this asset's fundamental price"
    ),
    asset_metric!(
        amplification,
        "fraction",
        "max_drawdown - exogenous_drawdown for this asset"
    ),
    asset_metric!(
        max_drawup,
        "fraction",
        "largest trough-to-peak rise of this asset's mark price"
    ),
    asset_metric!(
        exogenous_drawup,
        "fraction",
        "largest trough-to-peak rise of this asset's fundamental price"
    ),
    asset_metric!(
        endogenous_down,
        "log",
        "max over steps of ln(counterfactual / mark) for this asset: how far its liquidations pushed the mark down"
    ),
    asset_metric!(
        endogenous_up,
        "log",
        "max over steps of ln(mark / counterfactual) for this asset: how far its short liquidations pushed the mark up"
    ),
    asset_metric!(
        liquidated_notional,
        "USD",
        "notional liquidated on this asset, at fill prices"
    ),
    asset_metric!(
        end_return,
        "fraction",
        "mark price at the last step over the start price, minus 1"
    ),
    asset_metric!(
        max_venue_spread,
        "fraction",
        "largest gap between this asset's venues at the end of a step, before arbitrage: max mid / min mid - 1 (only for assets with venues)",
        true
    ),
    asset_metric!(
        cross_margin
        cross_margin_liquidated_notional,
        "USD",
        "notional of this asset's cross-margin positions closed by account liquidations, at fill prices (not in liquidated_notional)"
    ),
    asset_metric!(
        cross_margin
        cross_margin_liquidated_by_other,
        "USD",
        "the part of cross_margin_liquidated_notional from accounts whose largest loss since step 0 was on another asset"
    ),
    asset_metric!(
        cross_margin
        cross_margin_triggered_accounts,
        "accounts",
        "cross-margin accounts liquidated whose largest loss since step 0 was on this asset"
    ),
    asset_metric!(
        cross_margin
        cross_margin_bad_debt,
        "USD",
        "losses beyond collateral of the accounts this asset triggered, at the fill prices"
    ),
];

impl AssetMetricDef {
    /// Whether this metric is recorded for an asset with (`venues`) or without venues, in a
    /// run with (`cross_margin`) or without cross-margin accounts.
    pub fn applies(&self, venues: bool, cross_margin: bool) -> bool {
        (venues || !self.venues_only) && (cross_margin || !self.cross_margin_only)
    }
}

/// Definition of a per-population metric (written under `/populations/<index>/`).
#[derive(Debug, Clone, Copy)]
pub struct PopulationMetricDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    get: fn(&PopulationPathMetrics) -> f64,
}

macro_rules! population_metric {
    ($name:ident, $unit:expr, $kind:ident, $desc:expr) => {
        PopulationMetricDef {
            name: stringify!($name),
            unit: $unit,
            description: $desc,
            kind: Kind::$kind,
            get: |m: &PopulationPathMetrics| f64::from(m.$name),
        }
    };
}

/// Per-population metrics: where in the market the losses and failures arose. Each is the
/// population's share of the path total of the same name.
pub const POPULATION_METRICS: &[PopulationMetricDef] = &[
    population_metric!(
        liquidated_notional,
        "USD",
        F64,
        "notional of this population's positions liquidated, at fill prices"
    ),
    population_metric!(
        liquidation_count,
        "positions",
        U32,
        "positions of this population liquidated (fully or partly)"
    ),
    population_metric!(
        fees,
        "USD",
        F64,
        "liquidation fees paid into this population's insurance fund"
    ),
    population_metric!(
        insurance_fund_draw,
        "USD",
        F64,
        "paid by this population's insurance fund for fills beyond bankruptcy prices"
    ),
    population_metric!(
        fund_exhausted,
        "0/1",
        Flag,
        "1 if this population's insurance fund met a shortfall it could not cover"
    ),
    population_metric!(
        adl_notional,
        "USD",
        F64,
        "notional of this population's positions closed by auto-deleveraging"
    ),
    population_metric!(
        bad_debt,
        "USD",
        F64,
        "losses of this population's liquidations that neither its fund nor auto-deleveraging covered"
    ),
];

/// Per-population funding metrics, written after [`POPULATION_METRICS`] and only for
/// scenarios where some population has a `funding` table (files of other scenarios are
/// unchanged).
pub const FUNDING_POPULATION_METRICS: &[PopulationMetricDef] = &[
    population_metric!(
        funding_paid,
        "USD",
        F64,
        "funding this population's positions paid along the path (rate x size x mark per payment; longs when the rate is positive)"
    ),
    population_metric!(
        funding_received,
        "USD",
        F64,
        "funding this population's positions received along the path"
    ),
];

/// Per-population liquidation-engine metrics (`liquidation_engine`: queue, backstop),
/// written after the funding ones and only for scenarios where some population has an
/// engine (files of other scenarios are unchanged); 0 for a population without one.
pub const ENGINE_POPULATION_METRICS: &[PopulationMetricDef] = &[
    population_metric!(
        queue_peak_notional,
        "USD",
        F64,
        "most notional waiting in this population's liquidation queue at the end of a round, at the trigger price"
    ),
    population_metric!(
        queue_peak_length,
        "positions",
        U32,
        "most positions waiting in this population's liquidation queue at the end of a round"
    ),
    population_metric!(
        queue_cleared,
        "positions",
        U32,
        "positions that left the queue by liquidation (their last part) or backstop takeover"
    ),
    population_metric!(
        queue_wait_mean_steps,
        "steps",
        F64,
        "mean steps those positions waited between becoming liquidatable and leaving the queue (0 when none left it)"
    ),
    population_metric!(
        queue_wait_max_steps,
        "steps",
        U32,
        "longest wait of those positions, steps"
    ),
    population_metric!(
        queue_uncleared_notional,
        "USD",
        F64,
        "notional still queued at the end of the path, at the last trigger price"
    ),
    population_metric!(
        backstop_count,
        "positions",
        U32,
        "positions the backstop liquidator took over"
    ),
    population_metric!(
        backstop_notional,
        "USD",
        F64,
        "notional the backstop took over, at its takeover prices"
    ),
    population_metric!(
        backstop_pnl,
        "USD",
        F64,
        "the backstop's profit on what it took over, marked at the last trigger price (negative: a loss)"
    ),
];

/// The per-population metrics of a run: [`POPULATION_METRICS`], then
/// [`FUNDING_POPULATION_METRICS`] when a population pays funding, then
/// [`ENGINE_POPULATION_METRICS`] when a population has a liquidation engine.
pub fn population_metrics(
    funding: bool,
    engine: bool,
) -> impl Iterator<Item = &'static PopulationMetricDef> {
    let pick = |on: bool, defs: &'static [PopulationMetricDef]| if on { defs } else { &[] };
    POPULATION_METRICS
        .iter()
        .chain(pick(funding, FUNDING_POPULATION_METRICS))
        .chain(pick(engine, ENGINE_POPULATION_METRICS))
}

/// Per-population columns of one population.
#[derive(Debug, Clone)]
pub struct PopulationColumns {
    /// The population's name in the scenario.
    pub name: String,
    pub asset: String,
    /// The venue its orders walk (`None`: the asset's only book).
    pub venue: Option<String>,
    pub columns: Vec<Column>,
}

/// Who a population is: name, asset and venue, in scenario order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationId {
    pub name: String,
    pub asset: String,
    pub venue: Option<String>,
}

/// Values of one metric for every path, in path order.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    F64(Vec<f64>),
    U32(Vec<u32>),
    Flag(Vec<u8>),
}

impl Values {
    /// The values as f64 (for statistics), borrowed when they are stored as f64.
    pub fn as_f64(&self) -> std::borrow::Cow<'_, [f64]> {
        match self {
            Values::F64(v) => std::borrow::Cow::Borrowed(v),
            _ => std::borrow::Cow::Owned(self.to_f64()),
        }
    }

    /// The values as f64 (for statistics).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Values::F64(v) => v.clone(),
            Values::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Values::Flag(v) => v.iter().map(|&x| f64::from(x)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::Flag(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `other`'s values (of the same kind) after these: the columns of shards
    /// joined in path order.
    ///
    /// # Panics
    /// When the kinds differ (columns are always read back into their metric's kind).
    pub fn append(&mut self, other: Values) {
        match (self, other) {
            (Values::F64(a), Values::F64(b)) => a.extend(b),
            (Values::U32(a), Values::U32(b)) => a.extend(b),
            (Values::Flag(a), Values::Flag(b)) => a.extend(b),
            _ => panic!("appending columns of different kinds"),
        }
    }

    /// The values of rows `r`, copied (panics when `r` is out of range).
    pub fn rows(&self, r: std::ops::Range<usize>) -> Values {
        match self {
            Values::F64(v) => Values::F64(v[r].to_vec()),
            Values::U32(v) => Values::U32(v[r].to_vec()),
            Values::Flag(v) => Values::Flag(v[r].to_vec()),
        }
    }
}

/// One named column.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub summarize: bool,
    pub values: Values,
}

impl Column {
    /// This column's name, unit and description with other values (rows of it, values
    /// read back or received).
    pub fn with_values(&self, values: Values) -> Column {
        Column {
            name: self.name,
            unit: self.unit,
            description: self.description,
            summarize: self.summarize,
            values,
        }
    }
}

/// Per-asset columns of one asset.
#[derive(Debug, Clone)]
pub struct AssetColumns {
    pub asset: String,
    pub columns: Vec<Column>,
    /// `[cross_margin]` only: this asset's cross-margin closed notional split by trigger
    /// asset, row-major `paths × assets` (row = path, column = trigger asset in scenario
    /// order), stored as [`BY_TRIGGER`]. Rows concatenate in path order, so shards join by
    /// appending.
    pub by_trigger: Option<Vec<f64>>,
}

/// The dataset of [`AssetColumns::by_trigger`] under `/assets/<name>/`.
pub const BY_TRIGGER: &str = "cross_margin_liquidated_by_trigger";
/// Its unit and description.
pub const BY_TRIGGER_UNIT: &str = "USD";
pub const BY_TRIGGER_DESCRIPTION: &str = "cross_margin_liquidated_notional split by trigger asset (the asset of the account's largest loss since step 0): one row per path, one column per asset of the trigger_asset scale; a row sums to cross_margin_liquidated_notional, its entries off this asset's own column to cross_margin_liquidated_by_other";
/// The dimension scale of its second axis: the index of each asset in scenario order.
pub const TRIGGER_DIM: &str = "trigger_asset";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_list_of_names_is_this_table_s() {
        let names: Vec<&str> = PATH_METRICS.iter().map(|d| d.name).collect();
        assert_eq!(names, crate::metric_names::PATH_METRIC_NAMES);
    }
}
