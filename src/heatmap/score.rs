//! The per-asset risk score: one number in [0, 100] that agrees with the critical shock.
//!
//! `score = 100 · P(a driftless one-day move of the log-price touches the down or the up
//! critical shock)`, with the one-day standard deviation `s` of the asset's log-price
//! (diffusion and jumps): the probability that a Brownian motion of variance `s²` at one
//! day leaves the band `(−a, b)` within the day, `a = −ln(1 − shock_down)`,
//! `b = ln(1 + shock_up)` ([`band_exit`], the method of images). A market already
//! supercritical (critical shock 0) scores 100; one a daily σ from its critical shock on one
//! side scores 32; 2σ, 4.6; 3σ, 0.27. A direction with no critical shock within the searched
//! range counts at the range's edge, so the score is then an upper bound.
//!
//! The clusters' `reach × severity` terms ([`ScoreTerm`]) are kept beside it as a
//! description of where the risk sits (they do not enter the score: the critical shock
//! already weighs the clusters against the book, through the engine).

use serde::Serialize;

use crate::tails::normal_cdf;

/// One cluster's one-day reach and severity (a description; not in the score).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreTerm {
    /// Index into the asset's cluster list.
    pub cluster: usize,
    /// Probability of touching the cluster's centre within a day.
    pub reach: f64,
    /// `R / (1 + R)`, `R` the cluster's size over the book in front of it.
    pub severity: f64,
    /// `reach × severity`.
    pub contribution: f64,
}

/// One direction of the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreSide {
    /// The critical shock (fraction of price), or the range's edge when none was found.
    pub shock: f64,
    /// `true` when no critical shock was found within the range: `shock` is a lower bound.
    pub beyond_range: bool,
    /// Log-distance to the shock, `−ln(1 − shock)` down, `ln(1 + shock)` up.
    pub log_distance: f64,
    /// The same over the one-day σ (`None` when σ = 0).
    pub sigmas: Option<f64>,
    /// Probability that a one-day move touches it (this side alone).
    pub reach: f64,
}

/// The score of one asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskScore {
    /// `100·P(touch either critical shock within a day)`; `None` when the critical shock was
    /// not searched (`--no-critical`).
    pub value: Option<f64>,
    /// One-day standard deviation of the log-price, diffusion and jumps.
    pub daily_volatility: f64,
    pub down: Option<ScoreSide>,
    pub up: Option<ScoreSide>,
    /// The clusters' reach and severity, largest contribution first (not in the score).
    pub terms: Vec<ScoreTerm>,
    /// The formula, for readers of the JSON.
    pub formula: String,
    /// One sentence for humans.
    pub note: String,
}

/// The formula as text.
pub const FORMULA: &str = "100*P(a driftless one-day move of the log-price touches the critical shock, down or up) = 100*(1 - P(Brownian motion with one-day sd s stays in (-a, b) for a day)), a = -ln(1 - shock_down), b = ln(1 + shock_up), s = sqrt(sigma^2/365 + jumps per day*(mean^2 + sd^2)); a side with no critical shock in range counts at the range's edge";

/// One-day standard deviation of the log-price: `√(σ²/365 + λ(m² + s²))` with `λ` the jumps
/// per day and `m`, `s` the mean and standard deviation of a jump's log size.
pub fn one_day_sigma(volatility: f64, jumps: Option<(f64, f64, f64)>) -> f64 {
    let diffusion = volatility * volatility / 365.0;
    let jump = jumps.map_or(0.0, |(rate, mean, sd)| rate * (mean * mean + sd * sd));
    (diffusion + jump).sqrt()
}

/// Probability of touching a level at log-distance `d ≥ 0` within one day (`daily_vol` the
/// one-day σ), by the reflection principle: `2(1 − Φ(d/σ))`.
pub fn reach(log_distance: f64, daily_vol: f64) -> f64 {
    band_exit(log_distance, f64::INFINITY, daily_vol)
}

/// Probability that a driftless Brownian motion started at 0 with standard deviation `s` at
/// the horizon leaves the band `(−a, b)` before the horizon (`a, b ≥ 0`; either may be
/// infinite). By the method of images, the probability of staying inside is
/// `Σ_k [2Φ((b + 2kw)/s) − Φ((2kw − a)/s) − Φ((2b + a + 2kw)/s)]`, `w = a + b`, summed until
/// the terms vanish. A level at distance 0 is touched at once; with `s = 0` nothing else is.
pub fn band_exit(a: f64, b: f64, s: f64) -> f64 {
    if a <= 0.0 || b <= 0.0 {
        return 1.0;
    }
    if s.is_nan() || s <= 0.0 {
        return 0.0;
    }
    let one_sided = |d: f64| (2.0 * (1.0 - normal_cdf(d / s))).clamp(0.0, 1.0);
    match (a.is_finite(), b.is_finite()) {
        (false, false) => return 0.0,
        (true, false) => return one_sided(a),
        (false, true) => return one_sided(b),
        _ => {}
    }
    let w = a + b;
    if w / s < 1e-3 {
        // A band far narrower than one day's move: left at once (the series needs ~s/w terms).
        return 1.0;
    }
    let phi = |x: f64| normal_cdf(x / s);
    let k_max = (10.0 * s / w).ceil() as i64 + 2;
    let mut stay = 0.0;
    for k in -k_max..=k_max {
        let o = 2.0 * k as f64 * w;
        stay += 2.0 * phi(b + o) - phi(o - a) - phi(2.0 * b + a + o);
    }
    (1.0 - stay).clamp(0.0, 1.0)
}

/// `R / (1 + R)`, with `None` (no book in front) giving 1.
pub fn severity(ratio: Option<f64>) -> f64 {
    match ratio {
        Some(r) if r.is_finite() => r / (1.0 + r),
        _ => 1.0,
    }
}

/// One side of the score: the critical shock `shock` (`None`: not found up to `range`).
pub fn side(shock: Option<f64>, range: f64, down: bool, daily_vol: f64) -> ScoreSide {
    let s = shock.unwrap_or(range);
    let log_distance = if down {
        -(1.0 - s.min(1.0)).ln()
    } else {
        s.ln_1p()
    }
    .max(0.0);
    ScoreSide {
        shock: s,
        beyond_range: shock.is_none(),
        log_distance,
        sigmas: (daily_vol > 0.0).then(|| log_distance / daily_vol),
        reach: reach(log_distance, daily_vol),
    }
}

/// The score from both sides (`None`: the critical shock was not searched) and the
/// clusters' terms.
pub fn combine(
    sides: Option<(ScoreSide, ScoreSide)>,
    daily_vol: f64,
    terms: Vec<ScoreTerm>,
) -> RiskScore {
    let Some((down, up)) = sides else {
        return RiskScore {
            value: None,
            daily_volatility: daily_vol,
            down: None,
            up: None,
            terms,
            formula: FORMULA.into(),
            note: "no score: it needs the critical shock (the search was switched off)".into(),
        };
    };
    let value = 100.0 * band_exit(down.log_distance, up.log_distance, daily_vol);
    let describe = |s: &ScoreSide, what: &str| {
        let at = if s.beyond_range {
            format!("beyond {:.1}%", 100.0 * s.shock)
        } else {
            format!("{:.2}%", 100.0 * s.shock)
        };
        match s.sigmas {
            Some(z) => format!("{what} {at} ({z:.2} one-day σ)"),
            None => format!("{what} {at}"),
        }
    };
    let probability = value / 100.0;
    let note = format!(
        "{:.0}/100: a one-day move touches a critical shock with probability {}; critical {}, {}{}",
        value,
        if probability >= 1e-3 || probability == 0.0 {
            format!("{probability:.3}")
        } else {
            format!("{probability:.1e}")
        },
        describe(&down, "fall"),
        describe(&up, "rise"),
        if down.beyond_range || up.beyond_range {
            " (a side beyond the range counts at its edge: an upper bound)"
        } else {
            ""
        }
    );
    RiskScore {
        value: Some(value),
        daily_volatility: daily_vol,
        down: Some(down),
        up: Some(up),
        terms,
        formula: FORMULA.into(),
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_and_severity_are_monotone_and_bounded() {
        assert_eq!(reach(0.0, 0.02), 1.0);
        assert!(reach(0.01, 0.02) > reach(0.02, 0.02));
        assert!((reach(0.02, 0.02) - 2.0 * (1.0 - normal_cdf(1.0))).abs() < 1e-15);
        assert_eq!(reach(0.01, 0.0), 0.0);
        assert_eq!(severity(Some(1.0)), 0.5);
        assert!(severity(Some(2.0)) > severity(Some(1.0)));
        assert_eq!(severity(None), 1.0);
    }

    #[test]
    fn band_exit_matches_its_limits_and_a_simulation() {
        // A far side leaves the one-sided reach.
        let s = 0.03;
        assert!((band_exit(0.03, 10.0, s) - reach(0.03, s)).abs() < 1e-12);
        // Between the larger one-sided reach and their sum (union bound).
        let (a, b) = (0.03, 0.045);
        let p = band_exit(a, b, s);
        assert!(p > reach(a, s) && p < reach(a, s) + reach(b, s), "{p}");
        // Symmetric band ±1σ: 1 − P(stay) with the known value P(max |W| < 1) = 0.3708
        // (Feller's series at t = 1), so exit = 0.6292 to four digits.
        assert!(
            (band_exit(s, s, s) - 0.6292).abs() < 1e-4,
            "{}",
            band_exit(s, s, s)
        );
        // Monotone: a nearer level is never less likely to be touched.
        let mut last = 0.0;
        for k in (1..60).rev() {
            let d = 0.002 * f64::from(k);
            let q = band_exit(d, 0.05, s);
            assert!(q >= last, "{d}: {q} < {last}");
            last = q;
        }
        assert_eq!(band_exit(0.0, 0.05, s), 1.0);
        assert_eq!(band_exit(0.02, 0.05, 0.0), 0.0);
        // Against a random walk of 500 steps (discrete monitoring lowers the exit
        // probability by about 0.58·s/√n on each barrier, Broadie–Glasserman–Kou): 20 000
        // walks, standard error ≤ 0.0036, tolerance 0.02 after the correction.
        let (n, walks) = (500usize, 20_000usize);
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut normal = move || {
            // Box–Muller on a xorshift stream: enough for a test.
            let mut u = || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng >> 11) as f64 / (1u64 << 53) as f64
            };
            let (u1, u2) = (u().max(1e-300), u());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let step = s / (n as f64).sqrt();
        let shift = 0.5826 * step;
        let mut out = 0usize;
        for _ in 0..walks {
            let mut x = 0.0;
            for _ in 0..n {
                x += step * normal();
                if x <= -(a - shift) || x >= b - shift {
                    out += 1;
                    break;
                }
            }
        }
        let sim = out as f64 / walks as f64;
        assert!((sim - p).abs() < 0.02, "simulated {sim} vs {p}");
    }

    #[test]
    fn the_score_is_100_when_supercritical_and_falls_with_distance() {
        let s = 0.0262;
        let score = |d: f64, u: f64| {
            combine(
                Some((side(Some(d), 0.5, true, s), side(Some(u), 0.5, false, s))),
                s,
                Vec::new(),
            )
            .value
            .unwrap()
        };
        assert_eq!(score(0.0, 0.07), 100.0);
        // One daily σ on one side, the other far: 2(1 − Φ(1)) = 31.7.
        let one_sigma = 1.0 - (-s).exp();
        assert!((score(one_sigma, 0.5) - 31.73).abs() < 0.01);
        assert!(score(0.0456, 0.0688) > score(0.0456, 0.2));
        assert!(score(0.0456, 0.2) > score(0.10, 0.2));
        assert!(
            combine(None, s, Vec::new()).value.is_none(),
            "no critical shock, no score"
        );
    }
}
