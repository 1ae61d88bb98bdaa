//! The column tables of `results.h5`'s diagnostic groups, as data (like
//! [`crate::metrics::PATH_METRICS`] for `/paths`): each column's name, unit, description and
//! how to read it from one row — a step of a trace (`/traces/<id>/<asset>`) or a point of a
//! tail diagnostic (`/tails/<metric>`). Written in table order.

use crate::engine::AssetStep;
use crate::tails::diagnostics::{
    HillPoint, MeanExcessPoint, StabilityFit, StabilityIntervals, StabilityPoint,
};

/// One column: name, unit, one-line description, and its value in one row.
pub(super) struct Spec<R> {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    pub get: fn(&R) -> f64,
}

/// The fit at a stability point, if it succeeded.
fn fit(p: &StabilityPoint) -> Option<&StabilityFit> {
    p.fit.value()
}

/// The Wald intervals of the fit at a stability point, where available.
fn intervals(p: &StabilityPoint) -> Option<&StabilityIntervals> {
    fit(p).and_then(|f| f.intervals.value())
}

/// `/traces/<id>/<asset>`: one row per step.
pub(super) const TRACE: &[Spec<AssetStep>] = &[
    Spec {
        name: "fundamental_price",
        unit: "USD",
        description: "fundamental price at the end of each step (no liquidation impact)",
        get: |s| s.fundamental,
    },
    Spec {
        name: "mark_price",
        unit: "USD",
        description: "mark price (book mid) at the end of each step",
        get: |s| s.mark,
    },
    Spec {
        name: "liquidated_notional",
        unit: "USD",
        description: "notional liquidated on this asset during each step, at fill prices",
        get: |s| s.liquidated_notional,
    },
    Spec {
        name: "liquidated_quantity",
        unit: "base units",
        description: "quantity liquidated on this asset during each step (liquidated_notional / liquidated_quantity is the step's average fill price)",
        get: |s| s.liquidated_qty,
    },
    Spec {
        name: "depth_multiplier",
        unit: "1",
        description: "resting book depth in the step's UTC hour, as a multiple of the stated depth",
        get: |s| s.depth_multiplier,
    },
    Spec {
        name: "insurance_fund",
        unit: "USD",
        description: "balance of the insurance funds of the populations on this asset at the end of each step",
        get: |s| s.insurance_fund,
    },
];

/// `/tails/<metric>`: the Hill plot, one row per k.
pub(super) const HILL: &[Spec<HillPoint>] = &[
    Spec {
        name: "hill_k",
        unit: "observations",
        description: "number of upper order statistics k",
        get: |p| p.k as f64,
    },
    Spec {
        name: "hill_threshold",
        unit: "metric unit",
        description: "the (k+1)-th largest value, the implied threshold",
        get: |p| p.threshold,
    },
    Spec {
        name: "hill_xi",
        unit: "1",
        description: "Hill estimate of the tail index xi = 1/alpha",
        get: |p| p.xi,
    },
    Spec {
        name: "hill_se",
        unit: "1",
        description: "standard error xi/sqrt(k)",
        get: |p| p.standard_error,
    },
];

/// `/tails/<metric>`: the mean residual life plot, one row per threshold.
pub(super) const MEAN_EXCESS: &[Spec<MeanExcessPoint>] = &[
    Spec {
        name: "mean_excess_threshold",
        unit: "metric unit",
        description: "threshold u of the mean residual life plot",
        get: |p| p.threshold,
    },
    Spec {
        name: "mean_excess_count",
        unit: "observations",
        description: "values above u",
        get: |p| p.n_exceedances as f64,
    },
    Spec {
        name: "mean_excess",
        unit: "metric unit",
        description: "mean of (x - u) over x > u",
        get: |p| p.mean_excess,
    },
    Spec {
        name: "mean_excess_lower",
        unit: "metric unit",
        description: "lower end of the pointwise 95% interval",
        get: |p| p.lower,
    },
    Spec {
        name: "mean_excess_upper",
        unit: "metric unit",
        description: "upper end of the pointwise 95% interval",
        get: |p| p.upper,
    },
];

/// `/tails/<metric>`: the parameter-stability plot, one row per threshold.
pub(super) const STABILITY: &[Spec<StabilityPoint>] = &[
    Spec {
        name: "stability_threshold",
        unit: "metric unit",
        description: "threshold of the parameter-stability plot",
        get: |p| p.threshold,
    },
    Spec {
        name: "stability_count",
        unit: "observations",
        description: "exceedances of the threshold",
        get: |p| p.n_exceedances as f64,
    },
    Spec {
        name: "stability_xi",
        unit: "1",
        description: "ML shape xi at this threshold (NaN where the fit failed)",
        get: |p| fit(p).map_or(f64::NAN, |f| f.xi),
    },
    Spec {
        name: "stability_xi_lower",
        unit: "1",
        description: "lower end of the 95% Wald interval for xi (NaN where unavailable)",
        get: |p| intervals(p).map_or(f64::NAN, |i| i.xi_lower),
    },
    Spec {
        name: "stability_xi_upper",
        unit: "1",
        description: "upper end of the 95% Wald interval for xi (NaN where unavailable)",
        get: |p| intervals(p).map_or(f64::NAN, |i| i.xi_upper),
    },
    Spec {
        name: "stability_modified_scale",
        unit: "metric unit",
        description: "modified scale sigma - xi*u (NaN where the fit failed)",
        get: |p| fit(p).map_or(f64::NAN, |f| f.modified_scale),
    },
    Spec {
        name: "stability_modified_scale_lower",
        unit: "metric unit",
        description: "lower end of the 95% interval for the modified scale (NaN where unavailable)",
        get: |p| intervals(p).map_or(f64::NAN, |i| i.modified_scale_lower),
    },
    Spec {
        name: "stability_modified_scale_upper",
        unit: "metric unit",
        description: "upper end of the 95% interval for the modified scale (NaN where unavailable)",
        get: |p| intervals(p).map_or(f64::NAN, |i| i.modified_scale_upper),
    },
];

/// The columns of the `/tails/<metric>` tables: (name, whether NaN is a valid value, as the
/// description says: "NaN where the fit failed"). The validated readers refuse any other
/// non-finite value.
pub(super) fn tail_table_columns() -> Vec<(&'static str, bool)> {
    let names = |n: &'static str, d: &'static str| (n, d.contains("NaN"));
    HILL.iter()
        .map(|c| names(c.name, c.description))
        .chain(MEAN_EXCESS.iter().map(|c| names(c.name, c.description)))
        .chain(STABILITY.iter().map(|c| names(c.name, c.description)))
        .collect()
}
