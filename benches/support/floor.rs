//! The floor of a scenario of independent plain assets: exactly the random numbers one of
//! its paths draws (the path's ChaCha8 stream, per step and asset, in asset order, one
//! standard normal, and one χ²(ν) draw for Student-t innovations, with the engine's
//! samplers) and each asset's log-price update with its `exp`, no book, no positions.
//! Shared by `benches/engine.rs` (`floor/flash_crash_rng`, `peer/floor`,
//! `several/floor/{1,2,4}assets`) and `examples/floor.rs` (the same work for a given number
//! of paths, to count its instructions under callgrind).

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use cascadesim::model::chi2::Chi2;

use cascadesim::model::spec::{Innovations, Scenario};

/// One asset's per-path constants, as the engine precomputes them.
#[derive(Clone, Copy)]
struct FloorAsset {
    log_f0: f64,
    /// `(μ − σ²/2)·dt`.
    drift: f64,
    /// `σ·√dt`.
    vol: f64,
    /// `(ν − 2, χ²(ν))` for Student-t innovations; `None` for Gaussian ones.
    t: Option<(f64, Chi2)>,
    /// `(step, ln(1 + r))` of the scheduled shock; the step is `u32::MAX` without one.
    shock: (u32, f64),
}

/// The floor of a scenario's paths.
pub struct FloorPath {
    seed: u64,
    pub steps: u32,
    assets: Vec<FloorAsset>,
}

impl FloorPath {
    /// The floor of every asset of `s`; panics unless each has at most one scheduled shock.
    pub fn new(s: &Scenario) -> FloorPath {
        let dt = s.dt_years();
        let assets = s
            .assets
            .iter()
            .map(|a| {
                let t = match a.innovations {
                    Innovations::StudentT { dof } => {
                        Some((dof - 2.0, Chi2::new(dof).expect("dof > 2")))
                    }
                    Innovations::Gaussian => None,
                };
                assert!(a.shocks.len() <= 1, "the floor knows one scheduled shock");
                FloorAsset {
                    log_f0: a.price.ln(),
                    drift: (a.drift - 0.5 * a.volatility * a.volatility) * dt,
                    vol: a.volatility * dt.sqrt(),
                    t,
                    shock: a
                        .shocks
                        .first()
                        .map_or((u32::MAX, 0.0), |k| (k.step, k.ret.ln_1p())),
                }
            })
            .collect();
        FloorPath {
            seed: s.simulation.seed,
            steps: s.simulation.steps,
            assets,
        }
    }

    /// How many assets a path moves.
    pub fn assets(&self) -> usize {
        self.assets.len()
    }

    /// One path's worth of random numbers and log-price updates, nothing else. Returns the
    /// lowest price of any asset so that every `exp` is used.
    pub fn run(&self, path: u64) -> f64 {
        match self.assets.len() {
            1 => self.run_n::<1>(path),
            2 => self.run_n::<2>(path),
            3 => self.run_n::<3>(path),
            4 => self.run_n::<4>(path),
            n => panic!("the floor knows 1 to 4 assets, found {n}"),
        }
    }

    /// [`FloorPath::run`] for `N` assets, their state in registers; the innovation is
    /// monomorphised when every asset is Gaussian or every one Student-t.
    fn run_n<const N: usize>(&self, path: u64) -> f64 {
        let a: [FloorAsset; N] = std::array::from_fn(|i| self.assets[i]);
        if a.iter().all(|x| x.t.is_none()) {
            self.run_with(path, &a, |_, z, _| z)
        } else {
            self.run_with(path, &a, |x, z, rng| match &x.t {
                None => z,
                Some((nu_minus_2, chi2)) => {
                    let w: f64 = chi2.sample(rng);
                    z * (nu_minus_2 / w).sqrt()
                }
            })
        }
    }

    #[inline(always)]
    fn run_with<const N: usize>(
        &self,
        path: u64,
        a: &[FloorAsset; N],
        eps: impl Fn(&FloorAsset, f64, &mut ChaCha8Rng) -> f64,
    ) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path);
        let mut log_f: [f64; N] = std::array::from_fn(|i| a[i].log_f0);
        let mut trough = [f64::INFINITY; N];
        for step in 0..self.steps {
            for i in 0..N {
                let z: f64 = StandardNormal.sample(&mut rng);
                log_f[i] += a[i].drift + a[i].vol * eps(&a[i], z, &mut rng);
                if step == a[i].shock.0 {
                    log_f[i] += a[i].shock.1;
                }
                let f = log_f[i].exp();
                trough[i] = trough[i].min(f);
            }
        }
        trough.into_iter().fold(f64::INFINITY, f64::min)
    }
}
