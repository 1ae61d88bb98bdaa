//! The floor of the flash-crash scenario: exactly the random numbers one of its paths draws
//! (the path's ChaCha8 stream, per step one standard normal and one χ²(4) draw, with the
//! engine's samplers) and the log-price update with its `exp`, no book, no positions. Shared
//! by `benches/engine.rs` (`floor/flash_crash_rng`) and `examples/floor.rs` (the same work
//! for a given number of paths, to count its instructions under callgrind).

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
    nu: f64,
    chi2: Chi2,
    /// `(step, ln(1 + r))` of the scheduled shock.
    shock: (u32, f64),
}

impl FloorPath {
    pub fn new(s: &Scenario) -> FloorPath {
        let a = &s.assets[0];
        let dt = s.dt_years();
        let nu = match a.innovations {
            Innovations::StudentT { dof } => dof,
            Innovations::Gaussian => panic!("the flash crash uses Student-t innovations"),
        };
        assert_eq!(nu, 4.0);
        FloorPath {
            seed: s.simulation.seed,
            steps: s.simulation.steps,
            log_f0: a.price.ln(),
            drift: (a.drift - 0.5 * a.volatility * a.volatility) * dt,
            vol: a.volatility * dt.sqrt(),
            nu,
            chi2: Chi2::new(nu).expect("dof > 2"),
            shock: (a.shocks[0].step, a.shocks[0].ret.ln_1p()),
        }
    }

    /// One path's worth of random numbers and log-price updates, nothing else. Returns the
    /// lowest price so that every `exp` is used.
    pub fn run(&self, path: u64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path);
        let mut log_f = self.log_f0;
        let mut trough = f64::INFINITY;
        for step in 0..self.steps {
            let z: f64 = StandardNormal.sample(&mut rng);
            let w: f64 = self.chi2.sample(&mut rng);
            log_f += self.drift + self.vol * z * ((self.nu - 2.0) / w).sqrt();
            if step == self.shock.0 {
                log_f += self.shock.1;
            }
            let f = log_f.exp();
            trough = trough.min(f);
        }
        trough
    }
}
