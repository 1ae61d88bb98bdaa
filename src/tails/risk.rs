//! Quantities read off a fitted GPD tail: return levels ("1 in N observations"), VaR and
//! expected shortfall beyond the data (McNeil–Frey–Embrechts POT formulas), each with a
//! delta-method standard error and a profile-likelihood interval.
//!
//! With `ζ = N_u/n` the exceedance rate and `m = ln(N ζ)`, the N-observation return level is
//! `z_N = u + σ/ξ ((Nζ)^ξ − 1) = u + σ m expm1(ξm)/(ξm)`; `VaR_p = z_{1/(1−p)}`;
//! `ES_p = VaR_p/(1−ξ) + (σ − ξu)/(1−ξ)` for ξ < 1 (infinite for ξ ≥ 1).

use serde::Serialize;

use super::error::{TailError, check_probability};
use super::gpd::GpdFit;
use super::outcome::Outcome;
use super::profile::{ConfidenceRegion, ProfileInterval};
use super::special::{expm1_div, expm1_div_slope, normal_quantile};

/// `m = ln(N ζ)`, checked to be > 0 (level above the threshold).
fn log_n_zeta(fit: &GpdFit, period: f64, what: impl FnOnce() -> String) -> Result<f64, TailError> {
    if !(period.is_finite() && period > 1.0) {
        return Err(TailError::InvalidArgument(format!(
            "a return period must be a finite number of observations > 1, got {period}"
        )));
    }
    let m = (period * fit.exceedance_rate).ln();
    if m.is_nan() || m <= 0.0 {
        return Err(TailError::NotInTail {
            what: what(),
            threshold: fit.threshold,
            exceedance_rate: fit.exceedance_rate,
        });
    }
    Ok(m)
}

#[inline]
fn level_at(u: f64, xi: f64, sigma: f64, m: f64) -> f64 {
    u + sigma * m * expm1_div(xi * m)
}

#[inline]
fn es_at(u: f64, xi: f64, sigma: f64, m: f64) -> f64 {
    if xi >= 1.0 {
        return f64::INFINITY;
    }
    (level_at(u, xi, sigma, m) + sigma - xi * u) / (1.0 - xi)
}

fn finite(x: f64, what: impl FnOnce() -> String) -> Result<f64, TailError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(TailError::Overflow(what()))
    }
}

/// The N-observation return level: the level exceeded on average once every `period`
/// observations, `P(X > z_N) = 1/N`, from the fitted tail.
///
/// # Errors
/// [`TailError::InvalidArgument`] unless `period > 1` is finite; [`TailError::NotInTail`] if
/// `1/N` is not below the exceedance rate (the level would lie below the threshold);
/// [`TailError::Overflow`].
pub fn return_level(fit: &GpdFit, period: f64) -> Result<f64, TailError> {
    let m = log_n_zeta(fit, period, || format!("the 1-in-{period} return level"))?;
    finite(level_at(fit.threshold, fit.xi, fit.sigma, m), || {
        format!("the 1-in-{period} return level")
    })
}

/// Value-at-Risk at probability `p` from the fitted tail:
/// `VaR_p = u + σ/ξ [((n/N_u)(1 − p))^(−ξ) − 1]`.
///
/// # Errors
/// [`TailError::InvalidArgument`] unless `0 < p < 1`; [`TailError::NotInTail`] if
/// `1 − p ≥ N_u/n`; [`TailError::Overflow`].
pub fn tail_var(fit: &GpdFit, p: f64) -> Result<f64, TailError> {
    check_probability(p, "p")?;
    let m = log_n_zeta(fit, 1.0 / (1.0 - p), || format!("VaR at p = {p}"))?;
    finite(level_at(fit.threshold, fit.xi, fit.sigma, m), || {
        format!("VaR at p = {p}")
    })
}

/// Expected shortfall at probability `p` from the fitted tail:
/// `ES_p = VaR_p/(1 − ξ) + (σ − ξu)/(1 − ξ)`.
///
/// # Errors
/// As [`tail_var`], plus [`TailError::InfiniteMean`] when ξ̂ ≥ 1 (the ES is infinite; no
/// number is returned).
pub fn tail_es(fit: &GpdFit, p: f64) -> Result<f64, TailError> {
    let var = tail_var(fit, p)?;
    if fit.xi >= 1.0 {
        return Err(TailError::InfiniteMean {
            what: format!("expected shortfall at p = {p}"),
            xi: fit.xi,
        });
    }
    finite(
        (var + fit.sigma - fit.xi * fit.threshold) / (1.0 - fit.xi),
        || format!("expected shortfall at p = {p}"),
    )
}

/// A delta-method (Wald) standard error and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeltaMethod {
    /// Standard error.
    pub standard_error: f64,
    /// Confidence level.
    pub level: f64,
    /// `estimate − z·se`.
    pub lower: f64,
    /// `estimate + z·se`.
    pub upper: f64,
}

/// Delta-method interval for a quantity with gradient `(∂/∂ξ, ∂/∂σ, ∂/∂ζ)`; the variance of
/// the exceedance rate ζ̂ = N_u/n is ζ(1 − ζ)/n, independent of (ξ̂, σ̂) (Coles 2001, §4.4.1).
fn delta(fit: &GpdFit, estimate: f64, grad: [f64; 3], level: f64) -> Outcome<DeltaMethod> {
    let cov = match &fit.covariance {
        Outcome::Available { value } => value,
        Outcome::Unavailable { reason } => {
            return Outcome::unavailable(format!("no standard errors: {reason}"));
        }
    };
    let v = &cov.matrix;
    let zeta = fit.exceedance_rate;
    let var_zeta = zeta * (1.0 - zeta) / fit.n_total as f64;
    let var = grad[0] * grad[0] * v[0][0]
        + 2.0 * grad[0] * grad[1] * v[0][1]
        + grad[1] * grad[1] * v[1][1]
        + grad[2] * grad[2] * var_zeta;
    let z = match normal_quantile(0.5 + 0.5 * level) {
        Ok(z) => z,
        Err(e) => return Outcome::unavailable(e.to_string()),
    };
    let se = var.sqrt();
    if !se.is_finite() {
        return Outcome::unavailable("the delta-method variance is not finite");
    }
    Outcome::Available {
        value: DeltaMethod {
            standard_error: se,
            level,
            lower: estimate - z * se,
            upper: estimate + z * se,
        },
    }
}

/// Gradient of `z_N` with respect to (ξ, σ, ζ).
fn level_gradient(fit: &GpdFit, m: f64) -> [f64; 3] {
    let (xi, sigma) = (fit.xi, fit.sigma);
    let d_xi = sigma * m * m * expm1_div_slope(xi * m);
    let d_sigma = m * expm1_div(xi * m);
    // ∂/∂ζ of σ/ξ((Nζ)^ξ − 1) = σ N^ξ ζ^(ξ−1) = σ (Nζ)^ξ / ζ
    let d_zeta = sigma * (xi * m).exp() / fit.exceedance_rate;
    [d_xi, d_sigma, d_zeta]
}

/// A return level with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnLevel {
    /// N: the level is exceeded on average once every N observations.
    pub period: f64,
    /// 1/N.
    pub exceedance_probability: f64,
    /// The return level z_N.
    pub level: f64,
    /// Delta-method standard error (including the uncertainty of the exceedance rate) and
    /// Wald interval, or why not available.
    pub wald: Outcome<DeltaMethod>,
    /// Profile-likelihood interval (exceedance rate held fixed, as in Coles 2001).
    pub profile_interval: ProfileInterval,
}

/// An estimate from the fitted tail with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailEstimate {
    /// Point estimate.
    pub estimate: f64,
    /// Delta-method standard error and Wald interval, or why not available.
    pub wald: Outcome<DeltaMethod>,
    /// Profile-likelihood interval (exceedance rate held fixed).
    pub profile_interval: ProfileInterval,
}

/// VaR and ES at one probability from the fitted tail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailRisk {
    /// The probability p (e.g. 0.999).
    pub p: f64,
    /// Value-at-Risk.
    pub var: TailEstimate,
    /// Expected shortfall, or why it is unavailable (infinite when ξ̂ ≥ 1).
    pub es: Outcome<TailEstimate>,
}

impl ConfidenceRegion<'_> {
    /// The 1-in-`period` return level with delta-method and profile-likelihood intervals at
    /// this region's level.
    ///
    /// # Errors
    /// As [`return_level`].
    pub fn return_level(&self, period: f64) -> Result<ReturnLevel, TailError> {
        let fit = self.model().gpd_fit();
        let level = return_level(fit, period)?;
        let m = log_n_zeta(fit, period, String::new)?;
        let u = fit.threshold;
        let grad = level_gradient(fit, m);
        Ok(ReturnLevel {
            period,
            exceedance_probability: 1.0 / period,
            level,
            wald: delta(fit, level, grad, self.level()),
            profile_interval: self.interval(level, |xi, sigma| level_at(u, xi, sigma, m)),
        })
    }

    /// VaR and ES at `p` with delta-method and profile-likelihood intervals.
    ///
    /// # Errors
    /// As [`tail_var`] (an infinite ES is reported inside the result, not as an error).
    pub fn tail_risk(&self, p: f64) -> Result<TailRisk, TailError> {
        let fit = self.model().gpd_fit();
        let var = tail_var(fit, p)?;
        let period = 1.0 / (1.0 - p);
        let m = log_n_zeta(fit, period, String::new)?;
        let u = fit.threshold;
        let g = level_gradient(fit, m);
        let var_est = TailEstimate {
            estimate: var,
            wald: delta(fit, var, g, self.level()),
            profile_interval: self.interval(var, |xi, sigma| level_at(u, xi, sigma, m)),
        };
        let es = tail_es(fit, p).map(|es| {
            let xi = fit.xi;
            let c = 1.0 / (1.0 - xi);
            let grad = [
                (g[0] - u) * c + (var + fit.sigma - xi * u) * c * c,
                (g[1] + 1.0) * c,
                g[2] * c,
            ];
            TailEstimate {
                estimate: es,
                wald: delta(fit, es, grad, self.level()),
                profile_interval: self.interval(es, |xi, sigma| es_at(u, xi, sigma, m)),
            }
        });
        Ok(TailRisk {
            p,
            var: var_est,
            es: es.into(),
        })
    }
}
