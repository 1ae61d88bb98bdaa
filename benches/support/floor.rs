//! The floor of a one-asset scenario: exactly the random numbers one of its paths draws
//! (the path's ChaCha8 stream, per step one standard normal, and one χ²(ν) draw for
//! Student-t innovations, with the engine's samplers) and the log-price update with its
//! `exp`, no book, no positions. Shared by `benches/engine.rs` (`floor/flash_crash_rng`,
//! `peer/floor`) and `examples/floor.rs` (the same work for a given number of paths, to
//! count its instructions under callgrind).

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use cascadesim::model::chi2::Chi2;

use cascadesim::model::spec::{Innovations, Scenario};

/// The per-path constants of the scenario's price process, as the engine precomputes them.
pub struct FloorPath {
    seed: u64,
    pub steps: u32,
    log_f0: f64,
    /// `(μ − σ²/2)·dt`.
    drift: f64,
    /// `σ·√dt`.
    vol: f64,
    /// `(ν − 2, χ²(ν))` for Student-t innovations; `None` for Gaussian ones.
    t: Option<(f64, Chi2)>,
    /// `(step, ln(1 + r))` of the scheduled shock.
    shock: (u32, f64),
}

impl FloorPath {
    /// The floor of `s`'s first asset; panics unless it has exactly one scheduled shock.
    pub fn new(s: &Scenario) -> FloorPath {
        let a = &s.assets[0];
        let dt = s.dt_years();
        let t = match a.innovations {
            Innovations::StudentT { dof } => Some((dof - 2.0, Chi2::new(dof).expect("dof > 2"))),
            Innovations::Gaussian => None,
        };
        assert_eq!(a.shocks.len(), 1, "the floor knows one scheduled shock");
        FloorPath {
            seed: s.simulation.seed,
            steps: s.simulation.steps,
            log_f0: a.price.ln(),
            drift: (a.drift - 0.5 * a.volatility * a.volatility) * dt,
            vol: a.volatility * dt.sqrt(),
            t,
            shock: (a.shocks[0].step, a.shocks[0].ret.ln_1p()),
        }
    }

    /// One path's worth of random numbers and log-price updates, nothing else. Returns the
    /// lowest price so that every `exp` is used.
    pub fn run(&self, path: u64) -> f64 {
        match &self.t {
            None => self.run_with(path, |z, _| z),
            Some((nu_minus_2, chi2)) => self.run_with(path, |z, rng| {
                let w: f64 = chi2.sample(rng);
                z * (nu_minus_2 / w).sqrt()
            }),
        }
    }

    #[inline(always)]
    fn run_with(&self, path: u64, eps: impl Fn(f64, &mut ChaCha8Rng) -> f64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path);
        let mut log_f = self.log_f0;
        let mut trough = f64::INFINITY;
        for step in 0..self.steps {
            let z: f64 = StandardNormal.sample(&mut rng);
            log_f += self.drift + self.vol * eps(z, &mut rng);
            if step == self.shock.0 {
                log_f += self.shock.1;
            }
            let f = log_f.exp();
            trough = trough.min(f);
        }
        trough
    }
}
