//! Whether a rare-event estimate can be trusted: the diagnostics `summary.json` reports as
//! `rare_event.checks` and the `reliable` verdict drawn from them. Pure arithmetic on the
//! run's independent units (paths under importance sampling, roots under splitting) and on
//! what the estimator recorded ([`RareEventInfo`]). The thresholds and their reasons are in
//! `docs/rare_event.md`.

use serde::Serialize;

use super::RareEventInfo;
use crate::stats::beta_quantile;

/// Fewest effective cascade units `(ΣY)²/ΣY²` for the normal interval to be trusted.
pub const MIN_EFFECTIVE_CASCADES: f64 = 30.0;
/// Largest share of the estimate one unit may carry.
pub const MAX_LARGEST_SHARE: f64 = 0.1;
/// Largest standardised gap between the pilot's estimate and the run's.
pub const MAX_PILOT_GAP_Z: f64 = 3.0;
/// Level of the exact interval of the defensive (plain) paths that must hold the estimate.
pub const DEFENSIVE_LEVEL: f64 = 0.999;

/// One diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    /// The measured value (`None`: the check does not apply to this run).
    pub value: Option<f64>,
    /// What it is compared with, in words (`>= 30`, `<= 0.1`, ...).
    pub limit: String,
    pub passed: bool,
    /// One sentence: what was measured and what it means here.
    pub note: String,
}

/// The verdict and the checks behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reliability {
    /// Every applicable check passed.
    pub reliable: bool,
    pub checks: Vec<Check>,
}

/// The notes of the checks that failed, joined with "; ".
pub fn failures(checks: &[Check]) -> String {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.note.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Assesses an estimate `estimate ± 1.96·se` made from the independent `units`
/// (`Y = Σ w·1{cascade}` per path or per root) by the estimator `info` describes.
pub fn assess(units: &[f64], estimate: f64, se: f64, info: &RareEventInfo) -> Reliability {
    let total: f64 = units.iter().sum();
    let squares: f64 = units.iter().map(|y| y * y).sum();
    let largest = units.iter().copied().fold(0.0, f64::max);
    let unit = if info.estimator == "splitting" {
        "root path"
    } else {
        "path"
    };
    let mut checks = Vec::new();

    let ess = if squares > 0.0 {
        total * total / squares
    } else {
        0.0
    };
    checks.push(Check {
        name: "effective_cascades",
        value: Some(ess),
        limit: format!(">= {MIN_EFFECTIVE_CASCADES}"),
        passed: ess >= MIN_EFFECTIVE_CASCADES,
        note: format!(
            "the estimate rests on {ess:.1} effective cascading {unit}s (needs {MIN_EFFECTIVE_CASCADES} for its normal interval to hold)"
        ),
    });

    let share = if total > 0.0 { largest / total } else { 1.0 };
    checks.push(Check {
        name: "largest_share",
        value: Some(share),
        limit: format!("<= {MAX_LARGEST_SHARE}"),
        passed: total > 0.0 && share <= MAX_LARGEST_SHARE,
        note: if total > 0.0 {
            format!(
                "one {unit} carries {:.1}% of the estimate (at most {:.0}%)",
                100.0 * share,
                100.0 * MAX_LARGEST_SHARE
            )
        } else {
            "no weighted cascade: the estimator saw no event".into()
        },
    });

    if let Some(p) = info.pilot_estimate.filter(|p| p.cascades > 0) {
        let spread = (se * se + p.standard_error * p.standard_error).sqrt();
        let z = if spread > 0.0 {
            (estimate - p.estimate).abs() / spread
        } else if estimate == p.estimate {
            0.0
        } else {
            f64::INFINITY
        };
        checks.push(Check {
            name: "pilot_agreement",
            value: Some(z),
            limit: format!("<= {MAX_PILOT_GAP_Z}"),
            passed: z <= MAX_PILOT_GAP_Z,
            note: format!(
                "the pilot's last iteration estimated {:.3e} ± {:.1e} from {} paths; the run {estimate:.3e} ± {se:.1e}: {z:.1} standard errors apart (at most {MAX_PILOT_GAP_Z})",
                p.estimate, p.standard_error, p.paths
            ),
        });
    }

    if let Some(d) = info.defensive.filter(|d| d.paths > 0) {
        let (lo, hi) = exact_interval(d.cascades, d.paths, DEFENSIVE_LEVEL);
        let inside = lo <= estimate && estimate <= hi;
        checks.push(Check {
            name: "defensive_agreement",
            value: Some(d.cascades as f64 / d.paths as f64),
            limit: format!(
                "its exact {:.1}% interval [{lo:.3e}, {hi:.3e}] holds the estimate",
                100.0 * DEFENSIVE_LEVEL
            ),
            passed: inside,
            note: format!(
                "{} of the {} paths drawn from the stated law cascaded (exact {:.1}% interval [{lo:.3e}, {hi:.3e}]); the weighted estimate {estimate:.3e} is {}",
                d.cascades,
                d.paths,
                100.0 * DEFENSIVE_LEVEL,
                if inside { "inside" } else { "outside" }
            ),
        });
    }

    Reliability {
        reliable: checks.iter().all(|c| c.passed),
        checks,
    }
}

/// The two-sided Clopper–Pearson interval of `k` successes in `n > 0` trials at `level`.
fn exact_interval(k: u64, n: u64, level: f64) -> (f64, f64) {
    let (kf, nf) = (k as f64, n as f64);
    let tail = 0.5 * (1.0 - level);
    let lo = if k == 0 {
        0.0
    } else {
        beta_quantile(kf, nf - kf + 1.0, tail)
    };
    let hi = if k >= n {
        1.0
    } else {
        beta_quantile(kf + 1.0, nf - kf, 1.0 - tail)
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(estimator: &'static str) -> RareEventInfo {
        RareEventInfo {
            estimator,
            tilt: None,
            pilot_paths: None,
            pilot_estimate: None,
            defensive: None,
            levels: Vec::new(),
            clones: None,
            particles_per_stage: Vec::new(),
            path_equivalents: 1.0,
        }
    }

    #[test]
    fn many_equal_cascades_are_reliable_and_one_dominant_path_is_not() {
        let mut units = vec![0.0; 1_000];
        for u in units.iter_mut().take(100) {
            *u = 0.01;
        }
        let r = assess(&units, 1e-3, 1e-4, &info("splitting"));
        assert!(r.reliable, "{r:?}");
        // One path with 20 times the others' weight: 28 effective cascades, 17% on one path.
        units[0] = 0.2;
        let r = assess(&units, 2.9e-4, 2e-4, &info("splitting"));
        assert!(!r.reliable);
        assert_eq!(r.checks.iter().filter(|c| !c.passed).count(), 2, "{r:?}");
        assert!(
            failures(&r.checks).contains("16.8%"),
            "{}",
            failures(&r.checks)
        );
        // No cascade at all is never reliable.
        assert!(!assess(&[0.0; 10], 0.0, 0.0, &info("splitting")).reliable);
    }

    #[test]
    fn the_pilot_and_the_defensive_paths_must_agree() {
        let units = vec![0.01; 100];
        let mut i = info("importance_sampling");
        i.pilot_estimate = Some(super::super::PilotEstimate {
            paths: 1_000,
            cascades: 50,
            estimate: 0.02,
            standard_error: 0.001,
        });
        // 0.01 ± 0.001 against 0.02 ± 0.001: 7 standard errors apart.
        let r = assess(&units, 0.01, 0.001, &i);
        assert!(!r.reliable);
        assert_eq!(r.checks[2].name, "pilot_agreement");
        assert!((r.checks[2].value.unwrap() - 0.01 / 2f64.sqrt() / 0.001).abs() < 1e-9);
        i.pilot_estimate = None;
        // 30 of 200 plain paths cascaded: the exact interval excludes 0.01.
        i.defensive = Some(super::super::DefensiveStratum {
            share: 0.2,
            paths: 200,
            cascades: 30,
        });
        let r = assess(&units, 0.01, 0.001, &i);
        assert!(!r.reliable);
        // 2 of 200 cascaded: 0.01 is inside.
        i.defensive = Some(super::super::DefensiveStratum {
            share: 0.2,
            paths: 200,
            cascades: 2,
        });
        assert!(assess(&units, 0.01, 0.001, &i).reliable);
    }
}
