//! The names of the per-path metrics, in the order of `metrics::PATH_METRICS`, for the code
//! below `metrics` in the layers: the scenario validator checks `[output].trace_metric`
//! against them (`metrics` depends on the engine, which depends on the validated scenario).
//! A leaf; a test in `metrics` keeps this list equal to the table's names.

/// The name of every metric of `metrics::PATH_METRICS`, in the same order.
pub const PATH_METRIC_NAMES: &[&str] = &[
    "max_drawdown",
    "exogenous_drawdown",
    "amplification",
    "max_drawup",
    "exogenous_drawup",
    "endogenous_down",
    "endogenous_up",
    "liquidated_notional",
    "long_liquidated_notional",
    "short_liquidated_notional",
    "peak_step_liquidated_notional",
    "liquidation_count",
    "cascade_rounds",
    "max_rounds_in_step",
    "slippage_cost",
    "fees",
    "insurance_fund_draw",
    "bad_debt",
    "fund_exhausted",
    "fund_exhausted_at",
    "adl_notional",
    "adl_count",
    "partial_liquidation_count",
    "book_exhausted",
    "unfilled_notional",
    "open_interest",
    "cascade",
    "circuit_breaker_halts",
    "halted_steps",
];
