//! One grid point: its Monte Carlo run and the figures a sweep reports for it (cascade
//! probability with its interval, empirical tail numbers, bad debt and insurance fund). The
//! fields are one table ([`POINT_FIELDS`]) so the CSV, the HDF5 file and the docs agree.

use std::sync::atomic::AtomicBool;

use crate::clustered::proportion95;
use crate::engine::Market;
use crate::mc::{self, Cancelled};
use crate::metrics::{self, Column, Values};
use crate::model::spec::Scenario;
use crate::stats::{MetricSummary, Proportion, var_sorted};

/// The figures of one grid point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointStats {
    /// Cascade probability with its 95% interval (over paths and population replicates when
    /// the run has them, else Wilson).
    pub cascade: Proportion,
    /// Share of paths with bad debt > 0, with its 95% interval (the same method).
    pub bad_debt_share: Proportion,
    max_drawdown: Option<MetricSummary>,
    amplification: Option<MetricSummary>,
    liquidated_notional: Option<MetricSummary>,
    bad_debt: Option<MetricSummary>,
    insurance_fund_draw: Option<MetricSummary>,
    /// 99.9% VaR (inverse ECDF) of `insurance_fund_draw + bad_debt` per path.
    shortfall_var999: f64,
}

/// What one grid point's run leaves behind: its figures and the per-path cascade indicator
/// (kept for paired differences with its neighbours).
#[derive(Debug, Clone)]
pub struct PointOutcome {
    pub stats: PointStats,
    pub cascade: Vec<u8>,
}

/// One reported field of a grid point.
#[derive(Debug, Clone, Copy)]
pub struct PointField {
    pub name: &'static str,
    pub unit: &'static str,
    pub description: &'static str,
    get: fn(&PointStats) -> f64,
}

impl PointField {
    /// The field's value (NaN when the run had no paths).
    pub fn value(&self, s: &PointStats) -> f64 {
        (self.get)(s)
    }
}

fn at(m: &Option<MetricSummary>, which: fn(&MetricSummary) -> f64) -> f64 {
    m.as_ref().map_or(f64::NAN, which)
}

fn level(v: &[crate::stats::AtLevel], p: f64) -> f64 {
    v.iter().find(|a| a.p == p).map_or(f64::NAN, |a| a.value)
}

/// Every reported field of a grid point, in the order written.
pub const POINT_FIELDS: &[PointField] = &[
    PointField {
        name: "cascade_probability",
        unit: "probability",
        description: "share of paths that meet the scenario's cascade definition",
        get: |s| s.cascade.estimate,
    },
    PointField {
        name: "cascade_ci_low",
        unit: "probability",
        description: "lower end of the 95% interval of cascade_probability (Korn-Graubard over paths and population replicates; Wilson without replicates)",
        get: |s| s.cascade.ci_low,
    },
    PointField {
        name: "cascade_ci_high",
        unit: "probability",
        description: "upper end of the 95% interval of cascade_probability (Korn-Graubard over paths and population replicates; Wilson without replicates)",
        get: |s| s.cascade.ci_high,
    },
    PointField {
        name: "cascades",
        unit: "paths",
        description: "number of cascade paths",
        get: |s| s.cascade.successes as f64,
    },
    PointField {
        name: "max_drawdown_var99",
        unit: "fraction",
        description: "99% VaR (empirical) of max_drawdown",
        get: |s| at(&s.max_drawdown, |m| level(&m.var, 0.99)),
    },
    PointField {
        name: "max_drawdown_es99",
        unit: "fraction",
        description: "99% expected shortfall (empirical) of max_drawdown",
        get: |s| at(&s.max_drawdown, |m| level(&m.es, 0.99)),
    },
    PointField {
        name: "amplification_es99",
        unit: "fraction",
        description: "99% expected shortfall (empirical) of amplification",
        get: |s| at(&s.amplification, |m| level(&m.es, 0.99)),
    },
    PointField {
        name: "liquidated_notional_mean",
        unit: "USD",
        description: "mean liquidated notional per path",
        get: |s| at(&s.liquidated_notional, |m| m.mean),
    },
    PointField {
        name: "liquidated_notional_es99",
        unit: "USD",
        description: "99% expected shortfall (empirical) of liquidated_notional",
        get: |s| at(&s.liquidated_notional, |m| level(&m.es, 0.99)),
    },
    PointField {
        name: "bad_debt_probability",
        unit: "probability",
        description: "share of paths with bad debt > 0",
        get: |s| s.bad_debt_share.estimate,
    },
    PointField {
        name: "bad_debt_ci_low",
        unit: "probability",
        description: "lower end of the 95% interval of bad_debt_probability (as cascade_ci_low)",
        get: |s| s.bad_debt_share.ci_low,
    },
    PointField {
        name: "bad_debt_ci_high",
        unit: "probability",
        description: "upper end of the 95% interval of bad_debt_probability (as cascade_ci_high)",
        get: |s| s.bad_debt_share.ci_high,
    },
    PointField {
        name: "bad_debt_mean",
        unit: "USD",
        description: "mean bad debt per path",
        get: |s| at(&s.bad_debt, |m| m.mean),
    },
    PointField {
        name: "bad_debt_var999",
        unit: "USD",
        description: "99.9% VaR (empirical) of bad_debt",
        get: |s| at(&s.bad_debt, |m| level(&m.var, 0.999)),
    },
    PointField {
        name: "bad_debt_es99",
        unit: "USD",
        description: "99% expected shortfall (empirical) of bad_debt",
        get: |s| at(&s.bad_debt, |m| level(&m.es, 0.99)),
    },
    PointField {
        name: "insurance_fund_draw_mean",
        unit: "USD",
        description: "mean amount paid by insurance funds per path",
        get: |s| at(&s.insurance_fund_draw, |m| m.mean),
    },
    PointField {
        name: "insurance_fund_draw_var999",
        unit: "USD",
        description: "99.9% VaR (empirical) of insurance_fund_draw",
        get: |s| at(&s.insurance_fund_draw, |m| level(&m.var, 0.999)),
    },
    PointField {
        name: "shortfall_var999",
        unit: "USD",
        description: "99.9% VaR (empirical) of insurance_fund_draw + bad_debt per path: losses beyond the liquidated positions' margins; a starting fund this large covers them in 99.9% of paths even without fee income",
        get: |s| s.shortfall_var999,
    },
];

fn column<'c>(columns: &'c [Column], name: &str) -> &'c Values {
    &columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("metric `{name}` is in metrics::PATH_METRICS"))
        .values
}

/// The per-path cascade indicator, 0/1.
fn cascade_flags(columns: &[Column]) -> Vec<u8> {
    match column(columns, "cascade") {
        Values::Flag(v) => v.clone(),
        other => other.to_f64().iter().map(|&x| u8::from(x != 0.0)).collect(),
    }
}

impl PointStats {
    /// The figures of a run, from its metric columns (all paths from path 0; `replicates`:
    /// the run's population replicates, [`Scenario::replicates`]).
    pub fn from_columns(columns: &[Column], replicates: Option<u64>) -> PointStats {
        let flags: Vec<bool> = cascade_flags(columns).iter().map(|&x| x != 0).collect();
        let summary = |name: &str, unit| MetricSummary::of(&column(columns, name).to_f64(), unit);
        let bad = column(columns, "bad_debt").to_f64();
        let draw = column(columns, "insurance_fund_draw").to_f64();
        let with_bad: Vec<bool> = bad.iter().map(|&x| x > 0.0).collect();
        let mut shortfall: Vec<f64> = bad.iter().zip(&draw).map(|(b, d)| b + d).collect();
        shortfall.sort_by(f64::total_cmp);
        PointStats {
            cascade: proportion95(&flags, 0, replicates).0,
            bad_debt_share: proportion95(&with_bad, 0, replicates).0,
            max_drawdown: summary("max_drawdown", "fraction"),
            amplification: summary("amplification", "fraction"),
            liquidated_notional: summary("liquidated_notional", "USD"),
            bad_debt: summary("bad_debt", "USD"),
            insurance_fund_draw: summary("insurance_fund_draw", "USD"),
            shortfall_var999: if shortfall.is_empty() {
                f64::NAN
            } else {
                var_sorted(&shortfall, 0.999)
            },
        }
    }

    /// The 99% expected shortfall of `max_drawdown` (the tornado's second ranking).
    pub fn drawdown_es99(&self) -> f64 {
        at(&self.max_drawdown, |m| level(&m.es, 0.99))
    }
}

/// Runs one grid point's scenario (paths `0..paths` of its seed) and reduces it to its
/// figures and cascade indicator. Must be called on the rayon pool that should do the work.
///
/// # Errors
/// [`Cancelled`] when `cancel` was set.
pub fn evaluate(
    scenario: &Scenario,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<PointOutcome, Cancelled> {
    let market = Market::new(scenario);
    let mut results = mc::run(&market, 0, scenario.simulation.paths, progress, cancel)?;
    Ok(PointOutcome::from_columns(
        &metrics::columns(&mut results),
        scenario.replicates().map(u64::from),
    ))
}

impl PointOutcome {
    /// The outcome of a grid point from its runs' per-path columns (all paths, path order)
    /// and its population replicates.
    pub fn from_columns(columns: &[Column], replicates: Option<u64>) -> PointOutcome {
        PointOutcome {
            stats: PointStats::from_columns(columns, replicates),
            cascade: cascade_flags(columns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PathSummary;
    use crate::mc::RunResults;

    fn field(s: &PointStats, name: &str) -> f64 {
        POINT_FIELDS
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .value(s)
    }

    #[test]
    fn figures_of_a_hand_made_run() {
        // 1000 paths: path i draws i USD from the fund; paths 990.. also leave 1000 USD of
        // bad debt; paths 0..250 are cascades.
        let paths: Vec<PathSummary> = (0..1000)
            .map(|i| PathSummary {
                insurance_fund_draw: f64::from(i),
                bad_debt: if i >= 990 { 1000.0 } else { 0.0 },
                cascade: i < 250,
                max_drawdown: f64::from(i) / 1000.0,
                ..PathSummary::default()
            })
            .collect();
        let mut results = RunResults {
            first_path: 0,
            paths,
            assets: Vec::new(),
            n_assets: 0,
            lending: false,
            ..RunResults::default()
        };
        let s = PointStats::from_columns(&metrics::columns(&mut results), None);
        assert_eq!(field(&s, "cascade_probability"), 0.25);
        assert_eq!(field(&s, "cascades"), 250.0);
        assert_eq!(field(&s, "bad_debt_probability"), 0.01);
        assert_eq!(field(&s, "bad_debt_mean"), 10.0);
        // Shortfall i (+1000 for i ≥ 990): sorted, the 999th of 1000 (⌈0.999·1000⌉) is
        // path 998's 1998.
        assert_eq!(field(&s, "shortfall_var999"), 1998.0);
        assert_eq!(field(&s, "insurance_fund_draw_var999"), 998.0);
        // ES99 of max_drawdown: mean of the worst 10, 0.990 … 0.999.
        assert!((s.drawdown_es99() - 0.9945).abs() < 1e-12);
        assert!(s.cascade.ci_low < 0.25 && 0.25 < s.cascade.ci_high);
    }
}
