//! Exogenous price dynamics: per-step log returns from correlated Gaussian or Student-t
//! innovations scaled to the stated volatility, plus scheduled shocks.

use rand::Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::scenario::{Asset, Innovations};

/// The fundamental-price process of one asset, with per-step constants precomputed.
#[derive(Debug, Clone)]
pub struct PriceProcess {
    /// Deterministic part of the per-step log return: `(μ − σ²/2)·dt`.
    drift_per_step: f64,
    /// `σ·√dt`.
    vol_per_step: f64,
    innovations: Innov,
    /// `(step, ln(1 + r))`, sorted by step.
    shocks: Vec<(u32, f64)>,
}

#[derive(Debug, Clone)]
enum Innov {
    Gaussian,
    /// Unit-variance Student-t: `z · sqrt((ν − 2) / W)`, `W ~ χ²(ν)`.
    StudentT {
        nu_minus_2: f64,
        chi2: ChiSquared<f64>,
    },
}

impl PriceProcess {
    /// Precomputes the per-step constants of an asset for steps of `dt_years`.
    pub fn new(asset: &Asset, dt_years: f64) -> PriceProcess {
        let s = asset.volatility;
        PriceProcess {
            drift_per_step: (asset.drift - 0.5 * s * s) * dt_years,
            vol_per_step: s * dt_years.sqrt(),
            innovations: match asset.innovations {
                Innovations::Gaussian => Innov::Gaussian,
                Innovations::StudentT { dof } => Innov::StudentT {
                    nu_minus_2: dof - 2.0,
                    chi2: ChiSquared::new(dof).expect("dof validated > 2"),
                },
            },
            shocks: asset
                .shocks
                .iter()
                .map(|s| (s.step, s.ret.ln_1p()))
                .collect(),
        }
    }

    /// Whether the process draws any random numbers (volatility > 0).
    pub fn is_random(&self) -> bool {
        self.vol_per_step > 0.0
    }

    /// Log return of step `step` given the (already correlated) standard normal `z`.
    #[inline]
    pub fn log_return<R: Rng + ?Sized>(
        &self,
        z: f64,
        step: u32,
        shock_cursor: &mut usize,
        rng: &mut R,
    ) -> f64 {
        let eps = match &self.innovations {
            Innov::Gaussian => z,
            Innov::StudentT { nu_minus_2, chi2 } => {
                let w: f64 = chi2.sample(rng);
                z * (nu_minus_2 / w).sqrt()
            }
        };
        let mut r = self.drift_per_step + self.vol_per_step * eps;
        while let Some(&(s, log_shock)) = self.shocks.get(*shock_cursor) {
            if s > step {
                break;
            }
            if s == step {
                r += log_shock;
            }
            *shock_cursor += 1;
        }
        r
    }
}

/// Fills `z` with independent standard normals and applies the Cholesky factor (row-major,
/// lower-triangular) in place when there is one.
#[inline]
pub fn correlated_normals<R: Rng + ?Sized>(
    rng: &mut R,
    cholesky: Option<&[f64]>,
    z: &mut [f64],
    scratch: &mut [f64],
) {
    match cholesky {
        None => {
            for x in z.iter_mut() {
                *x = StandardNormal.sample(rng);
            }
        }
        Some(l) => {
            let n = z.len();
            for x in scratch.iter_mut() {
                *x = StandardNormal.sample(rng);
            }
            for i in 0..n {
                let row = &l[i * n..i * n + i + 1];
                z[i] = row.iter().zip(scratch.iter()).map(|(a, b)| a * b).sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    #[test]
    fn student_t_innovations_have_unit_variance() {
        // 200k draws of a t(5) scaled to unit variance: the sample variance has sd about
        // sqrt((kurtosis − 1)/n) = sqrt(8/200000) ≈ 0.0063 (kurtosis of t5 is 9), so a
        // tolerance of 0.04 is over 6 sd and still catches a missing √((ν−2)/ν) factor (0.6).
        let asset = crate::scenario::Asset {
            name: "X".into(),
            price: 1.0,
            volatility: 1.0,
            drift: 0.5,
            innovations: Innovations::StudentT { dof: 5.0 },
            shocks: vec![],
            book: crate::scenario::BookSpec {
                bid: vec![],
                ask: vec![],
                hourly: [1.0; 24],
                refill_half_life_s: 1.0,
                permanent_impact: 0.0,
            },
        };
        let p = PriceProcess::new(&asset, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 200_000;
        let mut cursor = 0;
        let xs: Vec<f64> = (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                p.log_return(z, 0, &mut cursor, &mut rng)
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        assert!((var - 1.0).abs() < 0.04, "variance {var}");
        // drift − σ²/2 = 0; the mean has sd 1/√n ≈ 0.0022.
        assert!(mean.abs() < 0.015, "mean {mean}");
    }

    #[test]
    fn cholesky_factor_produces_the_target_correlation() {
        // ρ = 0.8 → L = [[1, 0], [0.8, 0.6]]. With 100k pairs the sample correlation has
        // sd (1 − ρ²)/√n ≈ 0.0011; tolerance 0.01 is ~9 sd.
        let l = [1.0, 0.0, 0.8, 0.6];
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (mut z, mut s) = ([0.0; 2], [0.0; 2]);
        let n = 100_000;
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            correlated_normals(&mut rng, Some(&l), &mut z, &mut s);
            sxy += z[0] * z[1];
            sxx += z[0] * z[0];
            syy += z[1] * z[1];
        }
        let rho = sxy / (sxx * syy).sqrt();
        assert!((rho - 0.8).abs() < 0.01, "{rho}");
    }
}
