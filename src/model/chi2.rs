//! The χ²(ν) sampler behind Student-t innovations (ν > 2), owned here so that it can be
//! inlined into the engine's step loop.
//!
//! χ²(ν) is a gamma law of shape ν/2 and scale 2; for shape > 1 it is drawn by Marsaglia and
//! Tsang's squeeze-and-reject method ("A simple method for generating gamma variables", ACM
//! TOMS 26(3), 2000): with `d = shape − 1/3` and `c = 1/√(9d)`, draw a standard normal `x`
//! and a uniform `u` on (0, 1), set `v = (1 + c·x)³`, and accept `d·v` when
//! `u < 1 − 0.0331·x⁴` or `ln u < x²/2 + d·(1 − v + ln v)`.
//!
//! The operations, and the order in which numbers are taken from the stream, are those of
//! `rand_distr` 0.6's `ChiSquared` (itself this method), so switching to this sampler left
//! every result bit-identical; the test below holds it to that. `rand_distr`'s version
//! is reached through two generic layers that the compiler would not inline into the step
//! loop; this one is `#[inline(always)]`.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Open01, StandardNormal};

/// χ²(ν) for ν > 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2 {
    /// `ν/2 − 1/3`.
    d: f64,
    /// `1/√(9d)`.
    c: f64,
    /// `d · 2`: the accepted `v` times the law's scale.
    d_scale: f64,
}

impl Chi2 {
    /// The sampler for `nu` degrees of freedom; `None` unless `nu > 2` (and finite).
    pub fn new(nu: f64) -> Option<Chi2> {
        if !(nu > 2.0 && nu.is_finite()) {
            return None;
        }
        let shape = 0.5 * nu;
        let d = shape - 1.0 / 3.0;
        Some(Chi2 {
            d,
            c: 1.0 / (9.0 * d).sqrt(),
            d_scale: d * 2.0,
        })
    }

    /// One draw.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        loop {
            let x: f64 = StandardNormal.sample(rng);
            let v_cbrt = 1.0 + self.c * x;
            if v_cbrt <= 0.0 {
                continue;
            }
            let v = v_cbrt * v_cbrt * v_cbrt;
            let u: f64 = rng.sample(Open01);
            let x_sqr = x * x;
            if u < 1.0 - 0.0331 * x_sqr * x_sqr
                || u.ln() < 0.5 * x_sqr + self.d * (1.0 - v + v.ln())
            {
                return v * self.d_scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use rand_distr::ChiSquared;

    /// The same stream gives the same numbers as `rand_distr::ChiSquared`, to the bit, and
    /// leaves the stream at the same place (checked by the next raw draw).
    #[test]
    fn draws_what_rand_distr_draws() {
        for nu in [2.0001, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 30.0, 1000.0] {
            let reference = ChiSquared::new(nu).unwrap();
            let ours = Chi2::new(nu).unwrap();
            let mut a = ChaCha8Rng::seed_from_u64(11);
            let mut b = ChaCha8Rng::seed_from_u64(11);
            for i in 0..20_000 {
                let x: f64 = reference.sample(&mut a);
                let y = ours.sample(&mut b);
                assert_eq!(x.to_bits(), y.to_bits(), "nu = {nu}, draw {i}");
            }
            assert_eq!(a.next_u64(), b.next_u64(), "nu = {nu}: streams diverged");
        }
    }

    #[test]
    fn refuses_degrees_of_freedom_it_does_not_cover() {
        for nu in [2.0, 1.0, 0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert!(Chi2::new(nu).is_none(), "nu = {nu}");
        }
    }
}
