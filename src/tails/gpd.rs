//! The generalized Pareto distribution (GPD) for excesses over a threshold: its log-likelihood
//! with ξ → 0-stable formulas, the maximum-likelihood fit by Grimshaw's one-dimensional
//! reduction with an analytic observed information matrix, and the Hosking–Wallis PWM fit.
//!
//! Parametrisation: for an excess `y = x − u ≥ 0`,
//! `P(Y > y) = (1 + ξ y/σ)^(−1/ξ)` (`exp(−y/σ)` at ξ = 0), support `y < σ/|ξ|` when ξ < 0.

use serde::Serialize;

use super::error::TailError;
use super::optim::brent_max;
use super::outcome::Outcome;
use super::sample::Exceedances;
use super::special::{expm1_div, g1, g1_prime, log1p_div};

/// Lowest shape the ML fit considers. For ξ < −1 the GPD likelihood is unbounded (it → ∞ as
/// σ/|ξ| → max excess), so the parameter space is closed at ξ = −1 (the uniform distribution on
/// `(0, σ)`, whose likelihood is maximised at σ = max excess).
pub const XI_MIN: f64 = -1.0;

/// Below this shape the likelihood is non-regular (Smith 1985): the estimate exists but the
/// observed-information standard errors and Wald intervals are not valid, so none are reported.
pub const XI_REGULAR: f64 = -0.5;

/// A generalized Pareto distribution for excesses (location 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gpd {
    /// Shape ξ.
    pub xi: f64,
    /// Scale σ > 0.
    pub sigma: f64,
}

impl Gpd {
    /// A GPD with shape `xi` and scale `sigma`.
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] unless `xi` is finite and `sigma > 0` is finite.
    pub fn new(xi: f64, sigma: f64) -> Result<Self, TailError> {
        if xi.is_finite() && sigma.is_finite() && sigma > 0.0 {
            Ok(Self { xi, sigma })
        } else {
            Err(TailError::InvalidArgument(format!(
                "a GPD needs a finite shape and a finite positive scale, got ξ = {xi}, σ = {sigma}"
            )))
        }
    }

    /// Upper end of the support: `σ/|ξ|` for ξ < 0, `None` (unbounded) otherwise.
    pub fn upper_endpoint(&self) -> Option<f64> {
        (self.xi < 0.0).then(|| self.sigma / -self.xi)
    }

    /// Survival function `P(Y > y)`.
    pub fn survival(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 1.0;
        }
        let z = y / self.sigma;
        let t = self.xi * z;
        if t <= -1.0 {
            return 0.0;
        }
        (-z * log1p_div(t)).exp()
    }

    /// Distribution function `P(Y ≤ y)`.
    pub fn cdf(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 0.0;
        }
        let z = y / self.sigma;
        let t = self.xi * z;
        if t <= -1.0 {
            return 1.0;
        }
        -(-z * log1p_div(t)).exp_m1()
    }

    /// Quantile: the `y` with `P(Y ≤ y) = q`, for `0 ≤ q < 1` (`q = 1` gives the upper endpoint
    /// when ξ < 0).
    ///
    /// # Errors
    /// [`TailError::InvalidArgument`] for `q` outside `[0, 1)` (or `q = 1` with ξ ≥ 0).
    pub fn quantile(&self, q: f64) -> Result<f64, TailError> {
        if q == 1.0
            && let Some(end) = self.upper_endpoint()
        {
            return Ok(end);
        }
        if !(0.0..1.0).contains(&q) {
            return Err(TailError::InvalidArgument(format!(
                "a GPD quantile needs 0 ≤ q < 1, got {q}"
            )));
        }
        // y = σ/ξ ((1−q)^(−ξ) − 1) = σ m expm1(ξ m)/(ξ m), m = −ln(1−q)
        let m = -(-q).ln_1p();
        Ok(self.sigma * m * expm1_div(self.xi * m))
    }

    /// Log-density at `y` (−∞ outside the support).
    pub fn ln_pdf(&self, y: f64) -> f64 {
        if y < 0.0 {
            return f64::NEG_INFINITY;
        }
        ln_density(y, self.xi, self.sigma)
    }
}

/// `(log1p(t), log1p(t)/t)` with a single logarithm.
#[inline]
fn log1p_pair(t: f64) -> (f64, f64) {
    let a = t.ln_1p();
    let d = if t.abs() < 1e-2 { log1p_div(t) } else { a / t };
    (a, d)
}

#[inline]
fn ln_density(y: f64, xi: f64, sigma: f64) -> f64 {
    let z = y / sigma;
    let t = xi * z;
    if t <= -1.0 {
        return f64::NEG_INFINITY;
    }
    let (a, d) = log1p_pair(t);
    // −ln σ − (1 + 1/ξ) log1p(ξ z) = −ln σ − log1p(t) − z·log1p(t)/t
    -sigma.ln() - a - z * d
}

/// GPD log-likelihood of excesses `y` (any order) at `(xi, sigma)`; −∞ where some excess lies
/// outside the support. Exact in the limit ξ → 0 (no `1/ξ` is ever formed).
pub(crate) fn loglik(y: &[f64], xi: f64, sigma: f64) -> f64 {
    if !(sigma > 0.0 && sigma.is_finite() && xi.is_finite()) {
        return f64::NEG_INFINITY;
    }
    let n = y.len() as f64;
    if xi == -1.0 {
        // Uniform on (0, σ): density 1/σ.
        let ymax = y.iter().copied().fold(0.0_f64, f64::max);
        return if ymax <= sigma {
            -n * sigma.ln()
        } else {
            f64::NEG_INFINITY
        };
    }
    let inv = 1.0 / sigma;
    let mut s = 0.0;
    for &yi in y {
        let z = yi * inv;
        let t = xi * z;
        if t <= -1.0 {
            return f64::NEG_INFINITY;
        }
        let (a, d) = log1p_pair(t);
        s += a + z * d;
    }
    -n * sigma.ln() - s
}

/// Log-likelihood of GPD excesses.
///
/// Returns `Ok(-∞)` when an excess lies at or beyond the upper end point `σ/|ξ|` (ξ < 0), i.e.
/// where the likelihood is zero. The formula is evaluated without dividing by ξ, so ξ = 1e−12
/// and ξ = 0 agree to rounding.
///
/// # Errors
/// [`TailError::NonFinite`] for non-finite excesses, [`TailError::InvalidArgument`] for
/// negative excesses, non-finite ξ or σ ≤ 0.
pub fn gpd_log_likelihood(excesses: &[f64], xi: f64, sigma: f64) -> Result<f64, TailError> {
    super::error::check_finite(excesses)?;
    Gpd::new(xi, sigma)?;
    if let Some(bad) = excesses.iter().find(|&&y| y < 0.0) {
        return Err(TailError::InvalidArgument(format!(
            "excesses must be ≥ 0, found {bad}"
        )));
    }
    Ok(loglik(excesses, xi, sigma))
}

/// Gradient and Hessian of the log-likelihood at an interior point `(ξ, σ)`, in the order
/// `(ξ, σ)`. All terms are written with `t = ξ y/σ` kernels that have series expansions at 0.
pub(crate) fn grad_hess(y: &[f64], xi: f64, sigma: f64) -> ([f64; 2], [[f64; 2]; 2]) {
    let inv = 1.0 / sigma;
    let (mut gx, mut gs) = (0.0, 0.0);
    let (mut hxx, mut hxs, mut hss) = (0.0, 0.0, 0.0);
    let one_xi = 1.0 + xi;
    for &yi in y {
        let z = yi * inv;
        let t = xi * z;
        let q = 1.0 / (1.0 + t);
        let zq = z * q;
        // ∂l/∂ξ = z² G(t) − z q
        gx += z * z * g1(t) - zq;
        // σ ∂l/∂σ = −1 + (1+ξ) z q
        gs += -1.0 + one_xi * zq;
        // ∂²l/∂ξ² = z³ G'(t) + z² q²
        hxx += z * z * z * g1_prime(t) + zq * zq;
        // σ ∂²l/∂σ∂ξ = z q (1 − (1+ξ) z q)
        hxs += zq * (1.0 - one_xi * zq);
        // σ² ∂²l/∂σ² = 1 − (1+ξ) z q (1 + q)
        hss += 1.0 - one_xi * zq * (1.0 + q);
    }
    (
        [gx, gs * inv],
        [[hxx, hxs * inv], [hxs * inv, hss * inv * inv]],
    )
}

/// The profile maximiser σ̂(ξ) = argmax_σ l(ξ, σ) for ξ > −1 (at ξ = −1 it is max excess).
///
/// `σ·∂l/∂σ = −n + (1+ξ) Σ y/(σ + ξ y)` is strictly decreasing in σ on the support, from +∞ (or
/// n/ξ) to −n, so the root is unique; it is found by Newton steps kept inside a bracket.
pub(crate) fn sigma_hat(y: &[f64], xi: f64, hint: Option<f64>) -> f64 {
    let n = y.len() as f64;
    let ymax = y.iter().copied().fold(0.0_f64, f64::max);
    if xi <= -1.0 {
        return ymax;
    }
    let ybar = y.iter().sum::<f64>() / n;
    let mut lo = (-xi).max(0.0) * ymax;
    let mut hi = 2.0 * (1.0 + xi) * ybar + lo;
    let score = |s: f64| -> (f64, f64) {
        let (mut a, mut b) = (0.0, 0.0);
        for &yi in y {
            let r = 1.0 / (s + xi * yi);
            let w = yi * r;
            a += w;
            b += w * r;
        }
        (-n + (1.0 + xi) * a, -(1.0 + xi) * b)
    };
    let mut s = match hint {
        Some(h) if h > lo && h < hi => h,
        _ => {
            // Method-of-moments-like start σ ≈ (1 − ξ) ȳ, kept inside the bracket.
            let g = (1.0 - xi).max(0.1) * ybar;
            if g > lo && g < hi { g } else { 0.5 * (lo + hi) }
        }
    };
    for _ in 0..200 {
        let (f, df) = score(s);
        if f == 0.0 {
            return s;
        }
        if f > 0.0 {
            lo = s;
        } else {
            hi = s;
        }
        let mut next = s - f / df;
        if next.is_nan() || next <= lo || next >= hi {
            next = 0.5 * (lo + hi);
        }
        if (next - s).abs() <= 1e-15 * s || hi - lo <= 1e-15 * hi {
            return next;
        }
        s = next;
    }
    s
}

/// Profile log-likelihood of ξ: `max_σ l(ξ, σ)` (ξ ≥ −1), with the maximising σ.
pub(crate) fn profile_xi(y: &[f64], xi: f64, hint: Option<f64>) -> (f64, f64) {
    let s = sigma_hat(y, xi, hint);
    (loglik(y, xi, s), s)
}

/// Options for the ML fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpdOptions {
    /// Fewer exceedances than this is an error (default 20; values below 3 are raised to 3).
    pub min_exceedances: usize,
    /// Largest shape searched (default 10). A likelihood still increasing at this ξ is reported
    /// as [`TailError::NonConvergence`] rather than as an estimate.
    pub max_xi: f64,
}

impl Default for GpdOptions {
    fn default() -> Self {
        Self {
            min_exceedances: 20,
            max_xi: 10.0,
        }
    }
}

/// Standard errors and covariance of the ML estimates, from the inverse of the observed
/// information matrix (analytic Hessian at the MLE).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Covariance {
    /// Standard error of ξ̂.
    pub se_xi: f64,
    /// Standard error of σ̂.
    pub se_sigma: f64,
    /// Covariance matrix of (ξ̂, σ̂): `[[var ξ, cov], [cov, var σ]]`.
    pub matrix: [[f64; 2]; 2],
    /// Correlation of ξ̂ and σ̂.
    pub correlation: f64,
}

/// A GPD fitted to the excesses over a threshold by maximum likelihood.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpdFit {
    /// The threshold `u`.
    pub threshold: f64,
    /// Shape ξ̂ (≥ −1).
    pub xi: f64,
    /// Scale σ̂.
    pub sigma: f64,
    /// Maximised log-likelihood of the excesses.
    pub log_likelihood: f64,
    /// Number of exceedances `N_u`.
    pub n_exceedances: usize,
    /// Size of the whole sample `n`.
    pub n_total: usize,
    /// `N_u / n`, the estimated probability of exceeding `u`.
    pub exceedance_rate: f64,
    /// `true` if the estimate is the boundary ξ = −1 (uniform tail, σ̂ = max excess).
    pub at_boundary: bool,
    /// Standard errors and covariance, or why they are not available (boundary or ξ̂ ≤ −0.5).
    pub covariance: Outcome<Covariance>,
}

impl GpdFit {
    /// The fitted excess distribution.
    pub fn gpd(&self) -> Gpd {
        Gpd {
            xi: self.xi,
            sigma: self.sigma,
        }
    }

    /// The covariance, if available.
    pub fn cov(&self) -> Option<&Covariance> {
        self.covariance.value()
    }
}

fn check_exceedances(exc: &Exceedances, min: usize) -> Result<(), TailError> {
    let y = exc.excesses();
    let required = min.max(3);
    if y.len() < required {
        return Err(TailError::TooFewExceedances {
            threshold: exc.threshold(),
            found: y.len(),
            required,
        });
    }
    if y[0] == y[y.len() - 1] {
        return Err(TailError::DegenerateExceedances {
            threshold: exc.threshold(),
            n: y.len(),
            value: exc.threshold() + y[0],
        });
    }
    Ok(())
}

/// Grimshaw's reduction: along θ = ξ/σ the likelihood is maximised in closed form by
/// ξ(θ) = mean log1p(θ y), σ(θ) = ξ(θ)/θ = mean(y·log1p(θy)/(θy)), giving the profile
/// l*(θ) = −n ln σ(θ) − n (1 + ξ(θ)). Returns `(l*, ξ, σ)`, or `None` outside 1 + θ y_max > 0.
fn grimshaw(y: &[f64], ymax: f64, theta: f64) -> Option<(f64, f64, f64)> {
    if !theta.is_finite() || 1.0 + theta * ymax <= 0.0 {
        return None;
    }
    let n = y.len() as f64;
    let s: f64 = y.iter().map(|&yi| yi * log1p_div(theta * yi)).sum();
    let sigma = s / n;
    let xi = theta * sigma;
    if !(sigma > 0.0 && sigma.is_finite()) {
        return None;
    }
    Some((-n * sigma.ln() - n * (1.0 + xi), xi, sigma))
}

/// Fit a GPD to the excesses by maximum likelihood.
///
/// Method (Grimshaw 1993): the two-parameter problem is reduced to the one-dimensional profile
/// l*(θ) over θ = ξ/σ (see `grimshaw`), which is scanned on a grid of 120+ points covering
/// ξ(θ) ∈ [−1, `max_xi`] (plus the PWM estimate and the exponential θ = 0), every local maximum
/// is refined by Brent's method, and the best is polished by Newton steps on the full
/// likelihood. The closed boundary ξ = −1 (σ = max excess) is a candidate too; see [`XI_MIN`].
/// Standard errors come from the analytic observed information and are reported only for
/// ξ̂ > −0.5 ([`XI_REGULAR`]).
///
/// # Errors
/// [`TailError::TooFewExceedances`], [`TailError::DegenerateExceedances`] (all excesses
/// equal), [`TailError::NonConvergence`] (likelihood still increasing at `max_xi`: the tail is
/// too heavy for a GPD fit at this threshold).
pub fn fit_gpd_ml(exc: &Exceedances, options: &GpdOptions) -> Result<GpdFit, TailError> {
    check_exceedances(exc, options.min_exceedances)?;
    if !(options.max_xi > 0.0 && options.max_xi.is_finite()) {
        return Err(TailError::InvalidArgument(format!(
            "max_xi must be positive and finite, got {}",
            options.max_xi
        )));
    }
    let y = exc.excesses();
    let n = y.len() as f64;
    let ymax = exc.max();
    let ybar = exc.mean();
    let theta_of = |phi: f64| {
        if phi < 0.0 {
            phi.exp_m1() / ymax
        } else {
            phi.exp_m1() / ybar
        }
    };
    let xi_at = |phi: f64| grimshaw(y, ymax, theta_of(phi)).map_or(f64::NEG_INFINITY, |g| g.1);

    // Lower end of the search: ξ(θ) = −1 (or 1 + θ y_max = e^−30, the limit of resolution).
    const PHI_FLOOR: f64 = -30.0;
    let phi_lo = if xi_at(PHI_FLOOR) < XI_MIN {
        let (mut a, mut b) = (PHI_FLOOR, 0.0);
        for _ in 0..60 {
            let m = 0.5 * (a + b);
            if xi_at(m) < XI_MIN {
                a = m;
            } else {
                b = m;
            }
        }
        b
    } else {
        PHI_FLOOR
    };
    // Upper end: ξ(θ) = max_xi. By Jensen ξ(θ(φ)) ≤ φ for φ ≥ 0, so start at φ = max_xi.
    let mut phi_hi = options.max_xi;
    while xi_at(phi_hi) < options.max_xi && phi_hi < 700.0 {
        phi_hi = (2.0 * phi_hi).min(700.0);
    }
    {
        let (mut a, mut b) = (0.0, phi_hi);
        for _ in 0..60 {
            let m = 0.5 * (a + b);
            if xi_at(m) < options.max_xi {
                a = m;
            } else {
                b = m;
            }
        }
        phi_hi = b;
    }

    // Grid, uniform in asinh(φ): dense near the exponential case, sparse far out.
    const GRID: usize = 120;
    let (v_lo, v_hi) = (phi_lo.asinh(), phi_hi.asinh());
    let mut phis: Vec<f64> = (0..=GRID)
        .map(|i| (v_lo + (v_hi - v_lo) * i as f64 / GRID as f64).sinh())
        .collect();
    phis[0] = phi_lo;
    phis[GRID] = phi_hi;
    if phi_lo < 0.0 && phi_hi > 0.0 {
        phis.push(0.0);
    }
    if let Ok(pwm) = fit_gpd_pwm(exc) {
        let theta = pwm.xi / pwm.sigma;
        let phi = if theta < 0.0 {
            (theta * ymax).ln_1p()
        } else {
            (theta * ybar).ln_1p()
        };
        if phi > phi_lo && phi < phi_hi {
            phis.push(phi);
        }
    }
    phis.sort_unstable_by(f64::total_cmp);
    phis.dedup();
    let prof = |phi: f64| grimshaw(y, ymax, theta_of(phi)).map_or(f64::NEG_INFINITY, |g| g.0);
    let values: Vec<f64> = phis.iter().map(|&p| prof(p)).collect();

    // Refine every local maximum of the grid.
    let last = phis.len() - 1;
    let mut best: Option<(f64, f64)> = None; // (l*, φ)
    for j in 0..=last {
        let v = values[j];
        if !v.is_finite() {
            continue;
        }
        let left_ok = j == 0 || values[j - 1] <= v;
        let right_ok = j == last || values[j + 1] < v;
        if !(left_ok && right_ok) {
            continue;
        }
        let (a, b) = (phis[j.saturating_sub(1)], phis[(j + 1).min(last)]);
        let (phi, l) = if a < b {
            let (x, fx) = brent_max(prof, a, b, 1e-12, 1e-14, 200);
            if fx >= v { (x, fx) } else { (phis[j], v) }
        } else {
            (phis[j], v)
        };
        if best.is_none_or(|(bl, _)| l > bl) {
            best = Some((l, phi));
        }
    }
    let boundary_l = -n * ymax.ln();
    let interior = best.and_then(|(_, phi)| grimshaw(y, ymax, theta_of(phi)));

    let (mut xi, mut sigma, mut l, at_boundary) = match interior {
        Some((l, xi, sigma)) if l > boundary_l => (xi, sigma, l, false),
        _ => (XI_MIN, ymax, boundary_l, true),
    };
    if !at_boundary && xi >= options.max_xi * (1.0 - 1e-6) {
        return Err(TailError::NonConvergence(format!(
            "the GPD likelihood is still increasing at ξ = {}: the tail above u = {} is too heavy \
             to fit (try a higher threshold)",
            options.max_xi,
            exc.threshold()
        )));
    }

    if !at_boundary {
        // Newton polish on the full two-parameter likelihood.
        for _ in 0..8 {
            let (g, h) = grad_hess(y, xi, sigma);
            let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
            if !(h[0][0] < 0.0 && det > 0.0) {
                break;
            }
            let dxi = -(h[1][1] * g[0] - h[0][1] * g[1]) / det;
            let dsig = -(-h[1][0] * g[0] + h[0][0] * g[1]) / det;
            let (nxi, nsig) = (xi + dxi, sigma + dsig);
            if !(nxi > XI_MIN && nsig > 0.0) {
                break;
            }
            let nl = loglik(y, nxi, nsig);
            if nl.is_nan() || nl < l - 1e-12 * l.abs().max(1.0) {
                break;
            }
            xi = nxi;
            sigma = nsig;
            l = nl.max(l);
            if dxi.abs() < 1e-14 && dsig.abs() < 1e-14 * sigma {
                break;
            }
        }
        l = loglik(y, xi, sigma);
    }

    let covariance = if at_boundary {
        Outcome::unavailable(
            "the fit is on the boundary ξ = −1 (a uniform tail); the information matrix does not \
             give standard errors there",
        )
    } else if xi <= XI_REGULAR {
        Outcome::unavailable(format!(
            "the estimated shape ξ = {xi:.4} is ≤ −0.5: the GPD likelihood is non-regular here (Smith 1985), so standard \
             errors from the information matrix are not valid"
        ))
    } else {
        covariance_at(y, xi, sigma)
    };

    Ok(GpdFit {
        threshold: exc.threshold(),
        xi,
        sigma,
        log_likelihood: l,
        n_exceedances: y.len(),
        n_total: exc.n_total(),
        exceedance_rate: exc.rate(),
        at_boundary,
        covariance,
    })
}

/// Inverse of the observed information at `(ξ, σ)`.
fn covariance_at(y: &[f64], xi: f64, sigma: f64) -> Outcome<Covariance> {
    let (_, h) = grad_hess(y, xi, sigma);
    // Observed information I = −H.
    let (a, b, d) = (-h[0][0], -h[0][1], -h[1][1]);
    let det = a * d - b * b;
    if !(a > 0.0 && d > 0.0 && det > 0.0 && det.is_finite()) {
        return Outcome::unavailable(
            "the observed information matrix is not positive definite at the estimate",
        );
    }
    let vxx = d / det;
    let vss = a / det;
    let vxs = -b / det;
    Outcome::Available {
        value: Covariance {
            se_xi: vxx.sqrt(),
            se_sigma: vss.sqrt(),
            matrix: [[vxx, vxs], [vxs, vss]],
            correlation: vxs / (vxx * vss).sqrt(),
        },
    }
}

/// A GPD fitted by probability-weighted moments (Hosking & Wallis 1987), location fixed at the
/// threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PwmFit {
    /// The threshold `u`.
    pub threshold: f64,
    /// Shape ξ̂ (always < 2; the estimator assumes ξ < 1, and its usual asymptotics ξ < 1/2).
    pub xi: f64,
    /// Scale σ̂.
    pub sigma: f64,
    /// Number of exceedances.
    pub n_exceedances: usize,
    /// Size of the whole sample.
    pub n_total: usize,
    /// `N_u / n`.
    pub exceedance_rate: f64,
}

/// Fit a GPD by probability-weighted moments.
///
/// With the excesses sorted ascending `y_(1) ≤ … ≤ y_(m)`, `a₀ = mean(y)` and the unbiased
/// estimator `a₁ = (1/m) Σ_j (m − j)/(m − 1) · y_(j)` of `E[Y (1 − F(Y))]`:
/// `ξ = 2 − a₀/(a₀ − 2a₁)`, `σ = 2 a₀ a₁/(a₀ − 2a₁)` (Hosking & Wallis 1987, with k = −ξ).
/// These unbiased PWMs reproduce the published PWM fits of the rain and Danish data; the
/// plotting-position variant `p_j = (j − 0.35)/m` differs by about 0.005 in ξ there.
///
/// # Errors
/// [`TailError::TooFewExceedances`] (fewer than 3), [`TailError::DegenerateExceedances`].
pub fn fit_gpd_pwm(exc: &Exceedances) -> Result<PwmFit, TailError> {
    check_exceedances(exc, 3)?;
    let y = exc.excesses();
    let m = y.len() as f64;
    let a0 = exc.mean();
    // Unbiased estimator of a₁ = E[Y (1 − F(Y))]: mean of (m − j)/(m − 1) · y_(j), j = 1..m.
    let a1 = y
        .iter()
        .enumerate()
        .map(|(j, &v)| (m - 1.0 - j as f64) / (m - 1.0) * v)
        .sum::<f64>()
        / m;
    let den = a0 - 2.0 * a1;
    let xi = 2.0 - a0 / den;
    let sigma = 2.0 * a0 * a1 / den;
    if !(den > 0.0 && xi.is_finite() && sigma > 0.0 && sigma.is_finite()) {
        return Err(TailError::NonConvergence(format!(
            "the probability-weighted moments are inconsistent with a GPD (a₀ = {a0}, a₁ = {a1})"
        )));
    }
    Ok(PwmFit {
        threshold: exc.threshold(),
        xi,
        sigma,
        n_exceedances: y.len(),
        n_total: exc.n_total(),
        exceedance_rate: exc.rate(),
    })
}

/// Log-likelihood and its derivative in s = ln σ (`σ ∂l/∂σ = −n + (1+ξ) Σ y/(σ+ξy)`), one pass.
pub(crate) fn loglik_ds(y: &[f64], xi: f64, sigma: f64) -> (f64, f64) {
    if !(sigma > 0.0 && sigma.is_finite()) || xi == -1.0 {
        return (loglik(y, xi, sigma), f64::NAN);
    }
    let n = y.len() as f64;
    let inv = 1.0 / sigma;
    let (mut s, mut w) = (0.0, 0.0);
    for &yi in y {
        let z = yi * inv;
        let t = xi * z;
        if t <= -1.0 {
            return (f64::NEG_INFINITY, f64::NAN);
        }
        let (a, d) = log1p_pair(t);
        s += a + z * d;
        w += z / (1.0 + t);
    }
    (-n * sigma.ln() - s, -n + (1.0 + xi) * w)
}

/// Solve `l(ξ, σ) = target` for σ on one side of the profile maximiser σ̂ = σ̂(ξ)
/// (`upper = true`: σ > σ̂), given `l(ξ, σ̂) > target` (else σ̂ is returned).
///
/// For fixed ξ > −1, l is concave in s = ln σ (its s-derivative `σ ∂l/∂σ` is decreasing), so
/// Newton steps in s approach the crossing monotonically from outside; a bracket keeps every
/// step inside the support. ξ = −1 (uniform) is solved in closed form.
pub(crate) fn sigma_crossing(
    y: &[f64],
    xi: f64,
    sigma_hat: f64,
    target: f64,
    upper: bool,
    hint: Option<f64>,
) -> f64 {
    let n = y.len() as f64;
    let ymax = y.iter().copied().fold(0.0_f64, f64::max);
    let l_hat = loglik(y, xi, sigma_hat);
    if l_hat.is_nan() || l_hat <= target {
        return sigma_hat;
    }
    if xi <= -1.0 {
        // l = −n ln σ for σ ≥ y_max.
        return if upper { (-target / n).exp() } else { ymax };
    }
    let s_hat = sigma_hat.ln();
    let dir = if upper { 1.0 } else { -1.0 };
    // Domain of w = dir (s − ŝ): w < w_max.
    let smin = (-xi).max(0.0) * ymax;
    let w_max = if upper || smin <= 0.0 {
        f64::INFINITY
    } else {
        s_hat - smin.ln()
    };
    let eval = |w: f64| -> (f64, f64) {
        let (l, d) = loglik_ds(y, xi, (s_hat + dir * w).exp());
        (l - target, dir * d)
    };
    // Start: the hint if usable, else the quadratic approximation of l around ŝ.
    // −d²l/ds² at ŝ = σ (1+ξ) Σ y/(σ+ξy)².
    let curvature = {
        let w: f64 = y
            .iter()
            .map(|&yi| {
                let r = 1.0 / (sigma_hat + xi * yi);
                yi * r * r
            })
            .sum();
        (1.0 + xi) * sigma_hat * w
    };
    let quad = (2.0 * (l_hat - target) / curvature.max(1e-300)).sqrt();
    let mut w = match hint.map(|h| dir * (h.ln() - s_hat)) {
        Some(hw) if hw > 0.0 && hw < w_max => hw,
        _ => {
            if quad.is_finite() && quad < w_max {
                quad
            } else if w_max.is_finite() {
                0.5 * w_max
            } else {
                1.0
            }
        }
    };
    let (mut a, mut b) = (0.0_f64, w_max); // f(a) > 0 ≥ f(b)
    for _ in 0..200 {
        let (f, d) = eval(w);
        if !f.is_finite() {
            // Outside the support numerically: treat as below the target.
            b = w;
            w = 0.5 * (a + b);
            continue;
        }
        if f >= 0.0 {
            a = w;
        } else {
            b = w;
        }
        let mut next = if d < 0.0 && d.is_finite() {
            w - f / d
        } else {
            f64::NAN
        };
        if !(next > a && next < b) {
            next = if b.is_finite() {
                0.5 * (a + b)
            } else {
                2.0 * w + 1.0
            };
        }
        if (next - w).abs() <= 1e-14 * w.max(1.0) || (b.is_finite() && b - a <= 1e-14 * b.max(1.0))
        {
            w = next;
            break;
        }
        w = next;
    }
    (s_hat + dir * w).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<f64> {
        // A deterministic spread of positive values.
        (1..=50)
            .map(|i| (f64::from(i) * 0.37).sin().abs() * 3.0 + 0.01 * f64::from(i))
            .collect()
    }

    #[test]
    fn loglik_is_continuous_through_xi_zero() {
        let y = sample();
        let sigma: f64 = 1.3;
        let expo: f64 = -(y.len() as f64) * sigma.ln() - y.iter().sum::<f64>() / sigma;
        for xi in [0.0, 1e-12, -1e-12, 1e-9] {
            let l = loglik(&y, xi, sigma);
            assert!(
                (l - expo).abs() < 1e-6 * expo.abs(),
                "xi={xi}: {l} vs {expo}"
            );
        }
        assert!((loglik(&y, 0.0, sigma) - expo).abs() < 1e-12 * expo.abs());
    }

    #[test]
    fn analytic_derivatives_match_finite_differences() {
        let y = sample();
        for (xi, sigma) in [
            (0.3, 1.1),
            (0.0, 1.5),
            (-0.2, 2.5),
            (1e-9, 0.9),
            (0.005, 1.2),
        ] {
            let (g, h) = grad_hess(&y, xi, sigma);
            let e = 1e-5;
            let dx = (loglik(&y, xi + e, sigma) - loglik(&y, xi - e, sigma)) / (2.0 * e);
            let ds = (loglik(&y, xi, sigma + e) - loglik(&y, xi, sigma - e)) / (2.0 * e);
            assert!(
                (g[0] - dx).abs() < 1e-5 * dx.abs().max(1.0),
                "{g:?} vs {dx}"
            );
            assert!(
                (g[1] - ds).abs() < 1e-5 * ds.abs().max(1.0),
                "{g:?} vs {ds}"
            );
            let gx = |x: f64, s: f64| grad_hess(&y, x, s).0;
            let hxx = (gx(xi + e, sigma)[0] - gx(xi - e, sigma)[0]) / (2.0 * e);
            let hxs = (gx(xi, sigma + e)[0] - gx(xi, sigma - e)[0]) / (2.0 * e);
            let hss = (gx(xi, sigma + e)[1] - gx(xi, sigma - e)[1]) / (2.0 * e);
            for (a, b) in [(h[0][0], hxx), (h[0][1], hxs), (h[1][1], hss)] {
                assert!((a - b).abs() < 1e-5 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn sigma_hat_solves_the_score() {
        let y = sample();
        for xi in [-0.9, -0.3, 0.0, 0.4, 2.0] {
            let s = sigma_hat(&y, xi, None);
            let (g, _) = grad_hess(&y, xi, s);
            assert!(
                g[1].abs() < 1e-9 * y.len() as f64 / s,
                "xi={xi} score {}",
                g[1]
            );
        }
    }

    #[test]
    fn gpd_quantile_inverts_cdf() {
        for xi in [-0.4, 0.0, 1e-10, 0.5] {
            let g = Gpd::new(xi, 2.0).unwrap();
            for q in [0.01, 0.5, 0.99, 0.999_999] {
                let y = g.quantile(q).unwrap();
                assert!((g.cdf(y) - q).abs() < 1e-12, "xi={xi} q={q}");
                assert!((g.survival(y) - (1.0 - q)).abs() < 1e-12 * (1.0 - q).max(1e-3));
            }
        }
        assert!(Gpd::new(0.1, 0.0).is_err());
        assert!(Gpd::new(0.1, 1.0).unwrap().quantile(1.0).is_err());
        assert_eq!(Gpd::new(-0.5, 1.0).unwrap().quantile(1.0).unwrap(), 2.0);
    }
}
