//! Special functions the tail estimates need: normal and chi-square distribution and quantile
//! functions (via the regularized incomplete gamma function), and cancellation-free helpers such
//! as `log1p(t)/t` that keep the GPD formulas exact as the shape ξ → 0.

use super::error::{TailError, check_probability};

/// ln Γ(k/2) for a positive integer `k`, exact up to rounding (by the recurrences from Γ(1) = 1
/// and Γ(1/2) = √π).
fn ln_gamma_half_int(k: u32) -> f64 {
    let mut s = 0.0;
    if k.is_multiple_of(2) {
        // Γ(m) = (m-1)!
        let m = k / 2;
        for j in 1..m {
            s += f64::from(j).ln();
        }
    } else {
        // Γ(m + 1/2) = Γ(1/2) · Π_{j=0}^{m-1} (j + 1/2)
        let m = k / 2;
        s = 0.5 * std::f64::consts::PI.ln();
        for j in 0..m {
            s += (f64::from(j) + 0.5).ln();
        }
    }
    s
}

/// Regularized incomplete gamma functions (P(a, x), Q(a, x)) = (lower, upper), given ln Γ(a).
///
/// Series for x < a + 1, Lentz's continued fraction otherwise; relative accuracy ≈ 1e-15 for the
/// smaller of the two.
fn incomplete_gamma(a: f64, x: f64, ln_gamma_a: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    let log_prefactor = -x + a * x.ln() - ln_gamma_a;
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut n = 1.0;
        while n < 10_000.0 {
            term *= x / (a + n);
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
            n += 1.0;
        }
        let p = (sum.ln() + log_prefactor).exp();
        (p, 1.0 - p)
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        let mut i = 1.0;
        while i < 10_000.0 {
            let an = -i * (i - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
            i += 1.0;
        }
        let q = (h.ln() + log_prefactor).exp();
        (1.0 - q, q)
    }
}

/// Standard normal distribution function Φ(x).
///
/// Accurate to about 1e-15 relative in both tails (computed from the incomplete gamma function,
/// Φ(−x) = Q(1/2, x²/2)/2). Returns 0 or 1 for ±∞ and NaN for NaN.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { 0.0 };
    }
    let (_, q) = incomplete_gamma(0.5, 0.5 * x * x, ln_gamma_half_int(1));
    if x < 0.0 { 0.5 * q } else { 1.0 - 0.5 * q }
}

/// Standard normal density φ(x).
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile Φ⁻¹(p).
///
/// Starts from the Abramowitz–Stegun 26.2.23 rational approximation and polishes it with Halley
/// steps on an accurate Φ, giving close to full double precision.
///
/// # Errors
/// [`TailError::InvalidArgument`] unless `0 < p < 1`.
pub fn normal_quantile(p: f64) -> Result<f64, TailError> {
    check_probability(p, "p")?;
    if p > 0.5 {
        return Ok(-normal_quantile(1.0 - p)?);
    }
    if p == 0.5 {
        return Ok(0.0);
    }
    // Lower tail: p < 0.5, x < 0.
    let t = (-2.0 * p.ln()).sqrt();
    let num = 2.515517 + 0.802853 * t + 0.010328 * t * t;
    let den = 1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t;
    let mut x = -(t - num / den);
    for _ in 0..6 {
        let pdf = normal_pdf(x);
        if pdf <= 0.0 {
            break;
        }
        let delta = (normal_cdf(x) - p) / pdf;
        let step = delta / (1.0 + 0.5 * x * delta);
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1e-300) {
            break;
        }
    }
    Ok(x)
}

/// Chi-square distribution function with `df` degrees of freedom.
///
/// # Errors
/// [`TailError::InvalidArgument`] if `df == 0` or `x` is NaN.
pub fn chi2_cdf(x: f64, df: u32) -> Result<f64, TailError> {
    if df == 0 || x.is_nan() {
        return Err(TailError::InvalidArgument(format!(
            "chi2_cdf needs df ≥ 1 and a number, got df = {df}, x = {x}"
        )));
    }
    if x <= 0.0 {
        return Ok(0.0);
    }
    if x.is_infinite() {
        return Ok(1.0);
    }
    let a = 0.5 * f64::from(df);
    Ok(incomplete_gamma(a, 0.5 * x, ln_gamma_half_int(df)).0)
}

/// Chi-square quantile: the `x` with P(χ²_df ≤ x) = `p`.
///
/// Wilson–Hilferty start, then safeguarded Newton steps on the incomplete gamma function (the
/// upper tail is used for p > 1/2 so that p close to 1 keeps its precision). For `df = 1`,
/// `chi2_quantile(0.95, 1)` = 3.841458820694124.
///
/// # Errors
/// [`TailError::InvalidArgument`] unless `0 < p < 1` and `df ≥ 1`.
pub fn chi2_quantile(p: f64, df: u32) -> Result<f64, TailError> {
    check_probability(p, "p")?;
    if df == 0 {
        return Err(TailError::InvalidArgument(
            "chi2_quantile needs df ≥ 1".to_string(),
        ));
    }
    let k = f64::from(df);
    let a = 0.5 * k;
    let lg = ln_gamma_half_int(df);
    let upper = p > 0.5;
    let target = if upper { 1.0 - p } else { p };
    // f(x) = (P or Q)(x) − target, monotone: increasing for P, decreasing for Q.
    let eval = |x: f64| -> f64 {
        let (lo, hi) = incomplete_gamma(a, 0.5 * x, lg);
        if upper { hi - target } else { lo - target }
    };
    let density =
        |x: f64| -> f64 { ((a - 1.0) * x.ln() - 0.5 * x - a * std::f64::consts::LN_2 - lg).exp() };
    let z = normal_quantile(p)?;
    let wh = 1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt();
    let mut x = k * wh * wh * wh;
    if !(x > 0.0 && x.is_finite()) {
        // Small p and small df: the lower-tail series P ≈ (x/2)^a / Γ(a+1).
        x = 2.0 * ((target.ln() + lg + a.ln()) / a).exp();
    }
    // Bracket [lo, hi] with the root inside.
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..200 {
        let f = eval(x);
        let increasing_sign = if upper { -f } else { f };
        if increasing_sign > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let d = density(x);
        let slope = if upper { -d } else { d };
        let mut next = if slope != 0.0 && slope.is_finite() {
            x - f / slope
        } else {
            f64::NAN
        };
        if !(next > lo && next < hi) {
            next = if hi.is_finite() {
                if lo > 0.0 { (lo * hi).sqrt() } else { 0.5 * hi }
            } else {
                2.0 * x.max(1.0)
            };
        }
        if (next - x).abs() <= 4.0 * f64::EPSILON * x {
            return Ok(next);
        }
        x = next;
    }
    Ok(x)
}

/// `log1p(t)/t`, continuous at `t = 0` (value 1) and exact there to rounding; needs `t > -1`.
pub(crate) fn log1p_div(t: f64) -> f64 {
    if t.abs() < 1e-2 {
        // Σ_{k≥0} (−t)^k/(k+1), truncated after t^8 (error < t^9/10 < 1e-19).
        let mut s = 0.0;
        let mut k = 8;
        loop {
            s = 1.0 / f64::from(k + 1) - t * s;
            if k == 0 {
                break;
            }
            k -= 1;
        }
        s
    } else {
        t.ln_1p() / t
    }
}

/// `expm1(x)/x`, continuous at `x = 0` (value 1).
pub(crate) fn expm1_div(x: f64) -> f64 {
    if x.abs() < 1e-2 {
        // Σ_{k≥0} x^k/(k+1)!
        1.0 + x / 2.0
            * (1.0
                + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 * (1.0 + x / 7.0)))))
    } else {
        x.exp_m1() / x
    }
}

/// `(x·eˣ − expm1(x))/x²` = d/dx of `expm1(x)/x`·… (the ξ-derivative kernel of return levels),
/// continuous at 0 (value 1/2).
pub(crate) fn expm1_div_slope(x: f64) -> f64 {
    if x.abs() < 1e-2 {
        // Σ_{j≥2} (j−1)/j! · x^{j−2}
        let c = [
            1.0 / 2.0,
            1.0 / 3.0,
            1.0 / 8.0,
            1.0 / 30.0,
            1.0 / 144.0,
            1.0 / 840.0,
            1.0 / 5760.0,
            1.0 / 45360.0,
        ];
        c.iter().rev().fold(0.0, |acc, &ck| acc * x + ck)
    } else {
        (x * x.exp() - x.exp_m1()) / (x * x)
    }
}

/// `G(t) = (log1p(t) − t/(1+t))/t²`, continuous at 0 (value 1/2); needs `t > -1`.
pub(crate) fn g1(t: f64) -> f64 {
    if t.abs() < 0.05 {
        // Σ_{k≥2} (−1)^k (k−1)/k · t^{k−2}, k = 2..=17 (truncation < 0.05^16 ≈ 2e-21)
        let mut s = 0.0;
        for k in (2..=17).rev() {
            let kf = f64::from(k);
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            s = s * t + sign * (kf - 1.0) / kf;
        }
        s
    } else {
        (t.ln_1p() - t / (1.0 + t)) / (t * t)
    }
}

/// `G'(t)` for [`g1`], continuous at 0 (value −2/3); needs `t > -1`.
pub(crate) fn g1_prime(t: f64) -> f64 {
    // The closed form cancels two O(t²) terms down to O(t³) and loses ~1e-13/|t| relative
    // accuracy, so the series is used further out than for the other kernels.
    if t.abs() < 0.05 {
        // Σ_{k≥3} (−1)^k (k−1)(k−2)/k · t^{k−3}, k = 3..=19 (truncation < 17·0.05^17 ≈ 1e-21)
        let mut s = 0.0;
        for k in (3..=19).rev() {
            let kf = f64::from(k);
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            s = s * t + sign * (kf - 1.0) * (kf - 2.0) / kf;
        }
        s
    } else {
        let q = 1.0 / (1.0 + t);
        (t * t * q * q - 2.0 * (t.ln_1p() - t * q)) / (t * t * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_known_values() {
        // Reference values (mpmath, 30 digits), to 1e-13 absolute.
        let cases = [
            (0.975, 1.959963984540054),
            (0.995, 2.5758293035489004),
            (0.9, 1.2815515655446004),
            (0.5, 0.0),
            (1e-10, -6.361340902404056),
            (0.025, -1.959963984540054),
        ];
        for (p, want) in cases {
            let got = normal_quantile(p).unwrap();
            assert!((got - want).abs() < 1e-13, "p={p}: got {got}, want {want}");
        }
        assert!(normal_quantile(0.0).is_err());
        assert!(normal_quantile(1.0).is_err());
        assert!(normal_quantile(f64::NAN).is_err());
    }

    #[test]
    fn normal_cdf_known_values() {
        assert!((normal_cdf(1.959963984540054) - 0.975).abs() < 1e-15);
        // Φ(−8) = 6.2209605742717841e-16 (mpmath), relative 1e-12.
        assert!((normal_cdf(-8.0) / 6.220_960_574_271_784e-16 - 1.0).abs() < 1e-12);
        assert_eq!(normal_cdf(0.0), 0.5);
    }

    #[test]
    fn chi2_quantile_known_values() {
        // Reference values (computed with mpmath at 30 digits), to 1e-12 relative.
        let cases = [
            (0.95, 1, 3.841458820694124),
            (0.99, 1, 6.634896601021214),
            (0.95, 2, 5.991464547107979),
            (0.95, 10, 18.307038053275146),
            (0.5, 1, 0.454_936_423_119_572_8),
            (0.05, 3, 0.351_846_317_749_271_4),
        ];
        for (p, df, want) in cases {
            let got = chi2_quantile(p, df).unwrap();
            assert!(
                (got / want - 1.0).abs() < 1e-12,
                "p={p} df={df}: got {got}, want {want}"
            );
            let back = chi2_cdf(got, df).unwrap();
            assert!((back - p).abs() < 1e-14, "cdf round trip {back} vs {p}");
        }
    }

    #[test]
    fn stable_helpers_match_direct_formulas() {
        for &t in &[-0.5, -1e-2 - 1e-9, 1e-2 + 1e-9, 0.3, 2.0] {
            assert!((log1p_div(t) - t.ln_1p() / t).abs() < 1e-15);
        }
        // Series branches against the closed forms near the switch point |t| = 1e-2.
        for t in [-0.0099, 0.0099, -0.009, 0.0095] {
            let pairs = [
                (log1p_div(t), f64::ln_1p(t) / t),
                (expm1_div(t), t.exp_m1() / t),
                (expm1_div_slope(t), (t * t.exp() - t.exp_m1()) / (t * t)),
            ];
            for (i, (series, direct)) in pairs.into_iter().enumerate() {
                assert!(
                    (series - direct).abs() < 1e-12 * direct.abs(),
                    "function {i} at t = {t}: {series} vs {direct}"
                );
            }
        }
        // G and G' against 40-digit mpmath values, on both sides of their switch at 0.05.
        let reference = [
            (-0.009, 0.506_061_338_718_582_7, -0.680_363_525_098_586_9),
            (0.03, 0.480_654_054_790_436_7, -0.623_740_014_903_967_6),
            (-0.045, 0.531_595_232_968_264, -0.739_349_014_049_639),
            (0.0004, 0.499_733_453_282_154_7, -0.666_067_050_453_442_9),
        ];
        for (t, g, gp) in reference {
            assert!((g1(t) - g).abs() < 1e-15, "G({t}) = {} vs {g}", g1(t));
            assert!(
                (g1_prime(t) - gp).abs() < 1e-15,
                "G'({t}) = {} vs {gp}",
                g1_prime(t)
            );
        }
        let (a, b) = (g1_prime(0.05 - 1e-12), g1_prime(0.05 + 1e-12));
        assert!((a - b).abs() < 1e-11, "G' jumps at the switch: {a} vs {b}");
        assert_eq!(log1p_div(0.0), 1.0);
        assert_eq!(g1(0.0), 0.5);
        assert!((g1_prime(0.0) + 2.0 / 3.0).abs() < 1e-16);
        assert_eq!(expm1_div_slope(0.0), 0.5);
    }
}
