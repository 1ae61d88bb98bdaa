//! Exogenous price dynamics: per-step log returns from correlated Gaussian or Student-t
//! innovations scaled to the stated volatility, Merton jumps, GARCH(1,1) volatility
//! feedback and scheduled shocks ([`PriceProcess`], one per asset), and what the assets
//! share in a step ([`Dependence`]: correlation regimes, the jump clock, a common t mixing
//! variable), drawn into [`StepDraws`].
//!
//! Common random numbers: a step draws the same count of numbers whatever the books and
//! positions do. Diffusion normals (and χ² mixing) come from the path's main stream; jump
//! counts and sizes from a second stream, so switching jumps on leaves the diffusion as it
//! was.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::bootstrap::{self, BlockBootstrap};
use super::chi2::Chi2;

use super::spec::{Asset, Innovations, Scenario};

/// The fundamental-price process of one asset, with per-step constants precomputed.
#[derive(Debug, Clone)]
pub struct PriceProcess {
    /// Deterministic part of the per-step log return at the stated volatility:
    /// `(μ − σ²/2 − λ·k)·dt` (`λ·k` the jump compensator, 0 without jumps or compensation).
    drift_per_step: f64,
    /// `(μ − λ·k)·dt`: the drift before the variance term, for a varying variance.
    mu_per_step: f64,
    /// `σ·√dt`.
    vol_per_step: f64,
    /// `σ²·dt`, the long-run per-step variance.
    var_per_step: f64,
    innovations: Innov,
    jumps: Option<JumpLaw>,
    garch: Option<Garch>,
    /// No jumps and no feedback: the plain diffusion path of [`PriceProcess::log_return`].
    plain: bool,
    /// `(step, ln(1 + r))`, sorted by step.
    shocks: Vec<(u32, f64)>,
}

#[derive(Debug, Clone)]
enum Innov {
    Gaussian,
    /// Unit-variance Student-t: `z · sqrt((ν − 2) / W)`, `W ~ χ²(ν)`.
    StudentT {
        nu_minus_2: f64,
        chi2: Chi2,
    },
    /// Student-t whose mixing factor is shared by all assets ([`StepDraws::t_scale`]).
    SharedT,
    /// Historical returns resampled in blocks; the step's normal is not used.
    Bootstrap(BlockBootstrap),
}

/// Poisson jumps per step with normal log sizes.
#[derive(Debug, Clone, Copy)]
struct JumpLaw {
    /// Expected jumps per step.
    lambda: f64,
    /// `e^(−λ)`, the probability of no jump.
    p0: f64,
    mean: f64,
    sd: f64,
}

/// Most jumps one step can have; the Poisson tail beyond it is below 1e-40 for the largest
/// validated rate (100 per step).
const MAX_JUMP_COUNT: u32 = 400;

impl JumpLaw {
    /// Number of jumps for the uniform `u` (inverse Poisson CDF).
    #[inline]
    fn count(&self, u: f64) -> u32 {
        let mut p = self.p0;
        let mut cdf = p;
        let mut k = 0;
        while u > cdf && k < MAX_JUMP_COUNT {
            k += 1;
            p *= self.lambda / f64::from(k);
            cdf += p;
            if p == 0.0 {
                break;
            }
        }
        k
    }
}

#[derive(Debug, Clone, Copy)]
struct Garch {
    omega: f64,
    alpha: f64,
    beta: f64,
    max_var: f64,
}

/// Per-path state of one asset's process.
#[derive(Debug, Clone, Copy)]
pub struct PriceState {
    shock_cursor: usize,
    /// Current per-step variance (feedback only).
    var: f64,
    /// Position in the resampled series (bootstrap only).
    boot: u32,
}

impl PriceProcess {
    /// Precomputes the per-step constants of an asset for steps of `dt_years`.
    pub fn new(asset: &Asset, dt_years: f64) -> PriceProcess {
        let s = asset.volatility;
        let step_days = dt_years * 365.0;
        let jumps = asset
            .jumps
            .filter(|j| j.rate_per_day > 0.0)
            .map(|j| JumpLaw {
                lambda: j.rate_per_day * step_days,
                p0: (-j.rate_per_day * step_days).exp(),
                mean: j.mean,
                sd: j.sd,
            });
        // E[e^J − 1] per jump, times the rate: what the jumps add to the expected return.
        let compensator = match (asset.jumps, jumps) {
            (Some(j), Some(law)) if j.compensate => {
                law.lambda * ((j.mean + 0.5 * j.sd * j.sd).exp() - 1.0)
            }
            _ => 0.0,
        };
        let var_per_step = s * s * dt_years;
        let garch = asset.vol_feedback.map(|f| {
            let j2 = jumps.map_or(0.0, |j| {
                j.lambda * (j.mean * j.mean + j.sd * j.sd) + (j.lambda * j.mean).powi(2)
            });
            Garch {
                omega: (1.0 - f.alpha - f.beta) * var_per_step - f.alpha * j2,
                alpha: f.alpha,
                beta: f.beta,
                max_var: var_per_step * f.max_ratio * f.max_ratio,
            }
        });
        if let Some(b) = &asset.bootstrap {
            // The returns come from the series: no diffusion (so nothing tilts or reads the
            // step's normals), the stated drift added to the demeaned resampled returns.
            return PriceProcess {
                drift_per_step: asset.drift * dt_years,
                mu_per_step: asset.drift * dt_years,
                vol_per_step: 0.0,
                var_per_step: 0.0,
                innovations: Innov::Bootstrap(b.clone()),
                jumps: None,
                garch: None,
                plain: false,
                shocks: asset
                    .shocks
                    .iter()
                    .map(|s| (s.step, s.ret.ln_1p()))
                    .collect(),
            };
        }
        PriceProcess {
            drift_per_step: (asset.drift - 0.5 * s * s) * dt_years - compensator,
            mu_per_step: asset.drift * dt_years - compensator,
            vol_per_step: s * dt_years.sqrt(),
            var_per_step,
            innovations: match asset.innovations {
                Innovations::Gaussian => Innov::Gaussian,
                Innovations::StudentT { dof } => Innov::StudentT {
                    nu_minus_2: dof - 2.0,
                    chi2: Chi2::new(dof).expect("dof validated > 2"),
                },
            },
            plain: jumps.is_none() && garch.is_none(),
            jumps,
            garch,
            shocks: asset
                .shocks
                .iter()
                .map(|s| (s.step, s.ret.ln_1p()))
                .collect(),
        }
    }

    /// Takes the Student-t mixing factor from the step's shared draw instead of drawing its
    /// own (a multivariate t across assets).
    pub fn with_shared_mixing(mut self) -> PriceProcess {
        if matches!(self.innovations, Innov::StudentT { .. }) {
            self.innovations = Innov::SharedT;
        }
        self
    }

    /// Whether the process draws diffusion random numbers (volatility > 0).
    pub fn is_random(&self) -> bool {
        self.vol_per_step > 0.0
    }

    /// Whether the process has jumps.
    pub fn has_jumps(&self) -> bool {
        self.jumps.is_some()
    }

    /// Expected jumps per step (`None` without jumps).
    pub fn jump_rate(&self) -> Option<f64> {
        self.jumps.map(|j| j.lambda)
    }

    /// Mean and standard deviation of one jump's log size (`None` without jumps).
    pub fn jump_size(&self) -> Option<(f64, f64)> {
        self.jumps.map(|j| (j.mean, j.sd))
    }

    /// Number of jumps the uniform `u` gives (0 without jumps), as the step draws it.
    pub fn jump_count(&self, u: f64) -> u32 {
        self.jumps.map_or(0, |j| j.count(u))
    }

    /// The same process with jumps drawn at `lambda` per step instead of the stated rate,
    /// the drift (and its compensator) left as stated: the sampling law of an
    /// importance-sampling run, whose likelihood ratio corrects for the change.
    pub fn with_jump_rate(mut self, lambda: f64) -> PriceProcess {
        if let Some(j) = &mut self.jumps {
            j.lambda = lambda;
            j.p0 = (-lambda).exp();
        }
        self
    }

    /// The state at step 0.
    pub fn start(&self) -> PriceState {
        PriceState {
            shock_cursor: 0,
            var: self.var_per_step,
            boot: bootstrap::NOT_STARTED,
        }
    }

    /// Current volatility per step (`σ·√dt`, or the feedback's `√h`).
    pub fn current_vol(&self, st: &PriceState) -> f64 {
        if self.garch.is_some() {
            st.var.sqrt()
        } else {
            self.vol_per_step
        }
    }

    /// Log return of asset `a` in step `step`, from the step's draws `d` (`rng` for the
    /// per-asset Student-t mixing draw).
    #[inline(always)]
    pub fn log_return<R: Rng + ?Sized>(
        &self,
        a: usize,
        step: u32,
        d: &StepDraws,
        st: &mut PriceState,
        rng: &mut R,
    ) -> f64 {
        let z = d.z[a];
        let eps = match &self.innovations {
            Innov::Gaussian => z,
            Innov::StudentT { nu_minus_2, chi2 } => student_t(z, *nu_minus_2, chi2, rng),
            Innov::SharedT => z * d.t_scale,
            Innov::Bootstrap(b) => {
                let mut r = self.drift_per_step + b.next(&mut st.boot, rng);
                self.add_shocks(step, st, &mut r);
                return r;
            }
        };
        if self.plain {
            return self.plain_return(step, eps, st);
        }
        self.dynamic_return(a, step, eps, d, st)
    }

    /// [`PriceProcess::log_return`] with jumps and/or feedback, given the innovation `eps`.
    /// Kept out of line so the plain path stays small where it is inlined.
    #[inline(never)]
    fn dynamic_return(
        &self,
        a: usize,
        step: u32,
        eps: f64,
        d: &StepDraws,
        st: &mut PriceState,
    ) -> f64 {
        let (base, mut r) = match &self.garch {
            None => (
                self.drift_per_step,
                self.drift_per_step + self.vol_per_step * eps,
            ),
            Some(_) => {
                let b = self.mu_per_step - 0.5 * st.var;
                (b, b + st.var.sqrt() * eps)
            }
        };
        if let Some(j) = &self.jumps {
            let n = j.count(d.jump_u[a]);
            if n > 0 {
                let n = f64::from(n);
                r += n * j.mean + n.sqrt() * j.sd * d.jump_z[a];
            }
        }
        self.add_shocks(step, st, &mut r);
        if let Some(g) = &self.garch {
            let x = r - base;
            st.var = (g.omega + g.alpha * x * x + g.beta * st.var).min(g.max_var);
        }
        r
    }
}

impl PriceProcess {
    /// Adds the shocks of step `step` to `r`.
    #[inline(always)]
    fn add_shocks(&self, step: u32, st: &mut PriceState, r: &mut f64) {
        while let Some(&(s, log_shock)) = self.shocks.get(st.shock_cursor) {
            if s > step {
                break;
            }
            if s == step {
                *r += log_shock;
            }
            st.shock_cursor += 1;
        }
    }
}

/// The per-asset Student-t innovation from a standard normal `z`: `z·sqrt((ν − 2)/W)`, with
/// `W ~ χ²(ν)` drawn from `rng`, so that the innovation has unit variance.
#[inline(always)]
fn student_t<R: Rng + ?Sized>(z: f64, nu_minus_2: f64, chi2: &Chi2, rng: &mut R) -> f64 {
    let w: f64 = chi2.sample(rng);
    z * (nu_minus_2 / w).sqrt()
}

/// One step's log return of a lone asset whose step draws only its diffusion: one standard
/// normal and, for Student-t innovations, one χ² from the path's stream, in that order, with
/// the arithmetic of [`Dependence::draw`] followed by [`PriceProcess::log_return`] (the same
/// helpers). Small enough to be inlined with its samplers into the engine's quiet lane.
#[derive(Debug, Clone, Copy)]
pub struct SoloReturn<'a> {
    process: &'a PriceProcess,
    /// `(ν − 2, χ²(ν))` for Student-t innovations, `None` for Gaussian ones.
    t: Option<(f64, Chi2)>,
}

impl SoloReturn<'_> {
    /// Whether the innovations are Gaussian: then a step draws one normal per asset, so
    /// several independent assets' steps taken one after the other draw what
    /// [`Dependence::draw`] followed by each asset's [`PriceProcess::log_return`] draws.
    pub fn is_gaussian(&self) -> bool {
        self.t.is_none()
    }

    /// The return of step `step`, drawing from `rng` what the general path would.
    #[inline(always)]
    pub fn log_return<R: Rng>(&self, step: u32, st: &mut PriceState, rng: &mut R) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        let eps = match &self.t {
            None => z,
            Some((nu_minus_2, chi2)) => student_t(z, *nu_minus_2, chi2, rng),
        };
        self.process.plain_return(step, eps, st)
    }
}

impl PriceProcess {
    /// The [`SoloReturn`] of this process when it is the only asset's under `dep` and its
    /// step is that simple: plain (no jumps, no feedback), independent draws with one regime,
    /// a diffusion, no shared mixing. `None` otherwise.
    pub fn solo_return(&self, dep: &Dependence) -> Option<SoloReturn<'_>> {
        if !(self.plain && dep.plain && dep.diffusion && dep.regimes[0].1.is_none()) {
            return None;
        }
        let t = match &self.innovations {
            Innov::Gaussian => None,
            Innov::StudentT { nu_minus_2, chi2 } => Some((*nu_minus_2, *chi2)),
            Innov::SharedT | Innov::Bootstrap(_) => return None,
        };
        Some(SoloReturn { process: self, t })
    }

    /// A plain process's return from its innovation `eps`: drift plus scaled innovation,
    /// then the scheduled shocks of `step`.
    #[inline(always)]
    fn plain_return(&self, step: u32, eps: f64, st: &mut PriceState) -> f64 {
        let mut r = self.drift_per_step + self.vol_per_step * eps;
        self.add_shocks(step, st, &mut r);
        r
    }
}

/// What the assets share in a step: the correlation in force, the jump clock, the t mixing.
#[derive(Debug, Clone)]
pub struct Dependence {
    /// `(from_step, Cholesky factor)`, the first from step 0 (`None`: independent).
    regimes: Vec<(u32, Option<Vec<f64>>)>,
    common_jump_clock: bool,
    /// `(ν − 2, χ²(ν))` when one mixing variable serves every Student-t asset.
    shared_t: Option<(f64, Chi2)>,
    /// Whether any asset draws diffusion numbers.
    diffusion: bool,
    /// Whether any asset has jumps.
    jumps: bool,
    /// One regime, no jumps, no shared mixing: the draw is the diffusion normals alone.
    plain: bool,
}

/// One step's random numbers, shared by the assets (and the per-path regime cursor).
#[derive(Debug, Clone)]
pub struct StepDraws {
    /// Correlated standard normals of the diffusion, one per asset.
    pub z: Vec<f64>,
    scratch: Vec<f64>,
    /// `√((ν − 2)/W)` of the shared mixing variable (1 without).
    pub t_scale: f64,
    /// Uniforms deciding each asset's jump count (all equal with a common clock).
    pub jump_u: Vec<f64>,
    /// Standard normals of each asset's jump sizes (correlated with a common clock).
    pub jump_z: Vec<f64>,
    regime: usize,
}

impl Dependence {
    /// The dependence of `scenario`'s assets, given their processes.
    pub fn new(s: &Scenario, processes: &[&PriceProcess]) -> Dependence {
        let mut regimes = vec![(0, s.cholesky.clone())];
        regimes.extend(
            s.dependence
                .regimes
                .iter()
                .map(|r| (r.from_step, Some(r.cholesky.clone()))),
        );
        let shared_t = match s.assets.first().map(|a| a.innovations) {
            Some(Innovations::StudentT { dof }) if s.dependence.shared_t_mixing => {
                Some((dof - 2.0, Chi2::new(dof).expect("dof validated > 2")))
            }
            _ => None,
        };
        Dependence {
            common_jump_clock: s.dependence.common_jump_clock,
            diffusion: processes.iter().any(|p| p.is_random()),
            jumps: processes.iter().any(|p| p.has_jumps()),
            plain: s.dependence.regimes.is_empty()
                && shared_t.is_none()
                && !processes.iter().any(|p| p.has_jumps()),
            regimes,
            shared_t,
        }
    }

    /// The Cholesky factor in force for the step just drawn into `d` (`None`: the diffusion
    /// normals are independent).
    pub fn factor(&self, d: &StepDraws) -> Option<&[f64]> {
        self.regimes[d.regime].1.as_deref()
    }

    /// Whether one jump clock serves every asset.
    pub fn common_jump_clock(&self) -> bool {
        self.common_jump_clock
    }

    /// Buffers for `n` assets, at step 0.
    pub fn draws(&self, n: usize) -> StepDraws {
        StepDraws {
            z: vec![0.0; n],
            scratch: vec![0.0; n],
            t_scale: 1.0,
            jump_u: vec![1.0; n],
            jump_z: vec![0.0; n],
            regime: 0,
        }
    }

    /// Draws step `step`'s shared numbers: diffusion normals (and the shared χ²) from `rng`,
    /// jump uniforms and normals from `jump_rng`. The count depends only on the scenario.
    #[inline(always)]
    pub fn draw<R: Rng>(&self, step: u32, d: &mut StepDraws, rng: &mut R, jump_rng: &mut R) {
        // One call of the diffusion sampler (a second one would keep it from being inlined).
        let chol = if self.plain {
            // One correlation for the whole path, no jumps, no shared mixing.
            self.regimes[0].1.as_deref()
        } else {
            while d.regime + 1 < self.regimes.len() && self.regimes[d.regime + 1].0 <= step {
                d.regime += 1;
            }
            self.regimes[d.regime].1.as_deref()
        };
        if self.diffusion {
            correlated_normals(rng, chol, &mut d.z, &mut d.scratch);
        }
        if !self.plain {
            // Through trait objects: the shared χ² and the jump draws get their own instances
            // of the samplers, so the diffusion's normal and per-asset χ² draws stay the only
            // calls of the concrete ones and are inlined on the hot path.
            self.draw_rest(
                chol,
                d,
                rng as &mut dyn rand::Rng,
                jump_rng as &mut dyn rand::Rng,
            );
        }
    }

    /// The shared χ² mixing draw and the jump draws of one step (out of line).
    #[inline(never)]
    fn draw_rest(
        &self,
        chol: Option<&[f64]>,
        d: &mut StepDraws,
        rng: &mut dyn rand::Rng,
        jump_rng: &mut dyn rand::Rng,
    ) {
        if self.diffusion
            && let Some((nu_minus_2, chi2)) = &self.shared_t
        {
            let w: f64 = chi2.sample(rng);
            d.t_scale = (nu_minus_2 / w).sqrt();
        }
        if self.jumps {
            self.draw_jumps(chol, d, jump_rng);
        }
    }

    /// The jump uniforms and size normals of one step.
    fn draw_jumps(&self, chol: Option<&[f64]>, d: &mut StepDraws, jump_rng: &mut dyn rand::Rng) {
        if self.common_jump_clock {
            let u: f64 = jump_rng.random();
            d.jump_u.fill(u);
            correlated_normals(jump_rng, chol, &mut d.jump_z, &mut d.scratch);
        } else {
            for u in d.jump_u.iter_mut() {
                *u = jump_rng.random();
            }
            for x in d.jump_z.iter_mut() {
                *x = StandardNormal.sample(jump_rng);
            }
        }
    }
}

/// Fills `z` with independent standard normals and applies the Cholesky factor (row-major,
/// lower-triangular) in place when there is one.
#[inline(always)]
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
    use crate::scenario::NoFiles;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    /// A scenario of one-day steps with the given `[[assets]]` bodies (book added) and extra
    /// top-level TOML (a `[correlation]` table).
    fn scenario(assets: &[&str], extra: &str) -> Scenario {
        let mut t = String::from("[simulation]\nsteps = 1000\nstep_seconds = 86400\n");
        for (i, a) in assets.iter().enumerate() {
            t.push_str(&format!(
                "[[assets]]\nname = \"A{i}\"\nprice = 100.0\n{a}\n[assets.book]\nprofile = \"flat\"\ndepth_usd = 1e6\n"
            ));
        }
        t.push_str(extra);
        Scenario::parse(&t, "t.toml", &NoFiles).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `n` steps of every asset's log returns (`out[step][asset]`) and jump counts, drawn
    /// exactly as the engine draws them.
    fn returns(s: &Scenario, n: u32, seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<u32>>) {
        let dt = s.dt_years();
        let procs: Vec<PriceProcess> = s
            .assets
            .iter()
            .map(|a| {
                let p = PriceProcess::new(a, dt);
                if s.dependence.shared_t_mixing {
                    p.with_shared_mixing()
                } else {
                    p
                }
            })
            .collect();
        let dep = Dependence::new(s, &procs.iter().collect::<Vec<_>>());
        let mut d = dep.draws(procs.len());
        let mut st: Vec<PriceState> = procs.iter().map(PriceProcess::start).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut jrng = ChaCha8Rng::seed_from_u64(seed + 1000);
        let mut out = Vec::with_capacity(n as usize);
        let mut counts = Vec::with_capacity(n as usize);
        for step in 0..n {
            dep.draw(step, &mut d, &mut rng, &mut jrng);
            out.push(
                (0..procs.len())
                    .map(|a| procs[a].log_return(a, step, &d, &mut st[a], &mut rng))
                    .collect(),
            );
            counts.push(
                procs
                    .iter()
                    .enumerate()
                    .map(|(a, p)| p.jumps.map_or(0, |j| j.count(d.jump_u[a])))
                    .collect(),
            );
        }
        (out, counts)
    }

    fn column(x: &[Vec<f64>], a: usize) -> Vec<f64> {
        x.iter().map(|r| r[a]).collect()
    }

    fn mean_var(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (
            m,
            x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0),
        )
    }

    fn corr(x: &[f64], y: &[f64]) -> f64 {
        let ((mx, vx), (my, vy)) = (mean_var(x), mean_var(y));
        let c = x
            .iter()
            .zip(y)
            .map(|(a, b)| (a - mx) * (b - my))
            .sum::<f64>()
            / (x.len() as f64 - 1.0);
        c / (vx * vy).sqrt()
    }

    #[test]
    fn student_t_innovations_have_unit_variance() {
        // 200k daily steps of a t(5) at σ = 0.8: the sample variance over σ²·dt has relative
        // sd about sqrt((kurtosis − 1)/n) = sqrt(8/200000) ≈ 0.0063 (kurtosis of t5 is 9), so
        // a tolerance of 0.04 is over 6 sd and still catches a missing √((ν−2)/ν) factor (0.6).
        let s = scenario(
            &["volatility = 0.8\ndrift = 0.32\ninnovations = \"student_t\"\ndof = 5"],
            "",
        );
        let (r, _) = returns(&s, 200_000, 3);
        let (mean, var) = mean_var(&column(&r, 0));
        let th = 0.64 / 365.0;
        assert!((var / th - 1.0).abs() < 0.04, "variance {var} vs {th}");
        // (μ − σ²/2)·dt = 0; the mean has sd σ√dt/√n ≈ 0.0022 σ√dt.
        assert!(mean.abs() < 0.015 * th.sqrt(), "mean {mean}");
    }

    #[test]
    fn merton_jumps_match_the_theoretical_moments_and_frequency() {
        // Daily steps, σ = 0.8, 0.5 jumps/day of log size N(−0.05, 0.1²), compensated.
        // Per step: P(≥ 1 jump) = 1 − e^(−0.5); mean = (−σ²/2 − λk)·dt + λm with
        // k = e^(m + s²/2) − 1; variance = σ²·dt + λ(m² + s²); E[e^r] = 1 (μ = 0).
        let s = scenario(
            &["volatility = 0.8\njumps = { rate_per_day = 0.5, mean = -0.05, sd = 0.1 }"],
            "",
        );
        let n = 200_000;
        let (r, counts) = returns(&s, n, 11);
        let x = column(&r, 0);
        let (lambda, m, sd, dt) = (0.5f64, -0.05f64, 0.1f64, 1.0 / 365.0);
        let k = (m + sd * sd / 2.0).exp() - 1.0;
        let mean_th = (-0.32 - lambda * k * 365.0) * dt + lambda * m;
        let var_th = 0.64 * dt + lambda * (m * m + sd * sd);
        let (mean, var) = mean_var(&x);
        // sd of the mean: sqrt(var/n) ≈ 2e-4, so 1e-3 is 5 sd. The variance estimator's
        // relative sd is sqrt((2 + excess kurtosis 3.6)/n) ≈ 0.53%: 3% is over 5 sd.
        assert!((mean - mean_th).abs() < 1e-3, "mean {mean} vs {mean_th}");
        assert!((var / var_th - 1.0).abs() < 0.03, "var {var} vs {var_th}");
        // Frequency: sd sqrt(p(1 − p)/n) ≈ 0.0011; 0.006 is over 5 sd.
        let p_th = 1.0 - (-lambda).exp();
        let p = counts.iter().filter(|c| c[0] > 0).count() as f64 / f64::from(n);
        assert!((p - p_th).abs() < 0.006, "jump frequency {p} vs {p_th}");
        // Mean count λ (sd sqrt(λ/n) ≈ 0.0016).
        let mc = counts.iter().map(|c| f64::from(c[0])).sum::<f64>() / f64::from(n);
        assert!((mc - lambda).abs() < 0.01, "mean count {mc}");
        // Compensation: E[e^r] = e^(μ·dt) = 1; e^r has sd ≈ 0.09, the mean ±2e-4. Without
        // the compensator it would be e^(λk) ≈ 0.978.
        let growth = x.iter().map(|v| v.exp()).sum::<f64>() / f64::from(n);
        assert!((growth - 1.0).abs() < 1.5e-3, "E[e^r] = {growth}");
    }

    #[test]
    fn a_common_jump_clock_makes_jumps_arrive_together() {
        // Two assets at 0.5 jumps/day each: with a common clock both jump in the same steps
        // (P(both) = P(one) ≈ 0.39); independently P(both) = P(one)² ≈ 0.155. sd of each
        // share ≈ 0.002 at 50k steps; tolerance 0.01.
        let a = "volatility = 0.5\njumps = { rate_per_day = 0.5, mean = -0.05, sd = 0.05 }";
        let corr_t = "[correlation]\nmatrix = [[1, 0.7], [0.7, 1]]\n";
        let n = 50_000;
        let p1 = 1.0 - (-0.5f64).exp();
        for (clock, p_both) in [("common", p1), ("independent", p1 * p1)] {
            let s = scenario(&[a, a], &format!("{corr_t}jump_clock = \"{clock}\"\n"));
            let (_, c) = returns(&s, n, 5);
            let both = c.iter().filter(|c| c[0] > 0 && c[1] > 0).count() as f64 / f64::from(n);
            assert!((both - p_both).abs() < 0.01, "{clock}: {both} vs {p_both}");
        }
    }

    #[test]
    fn shared_t_mixing_gives_a_multivariate_t() {
        // t(10) on two assets at ρ = 0.6. The Pearson correlation of a multivariate t is ρ
        // (sd of the estimate ≈ (1 − ρ²)/√n ≈ 0.0014 at 200k; tolerance 0.015). With one
        // mixing variable the squares are correlated even at ρ = 0: corr(x², y²) =
        // (E[S⁴] − 1)/(3E[S⁴] − 1) with E[S⁴] = (ν−2)/(ν−4) = 4/3, i.e. 1/9; per-asset mixing
        // gives 0. Tolerance 0.03 for the squares (their estimate is noisier, sd ≈ 0.007).
        let a = "volatility = 0.5\ninnovations = \"student_t\"\ndof = 10";
        let n = 200_000;
        let s = scenario(
            &[a, a],
            "[correlation]\nmatrix = [[1, 0.6], [0.6, 1]]\nt_mixing = \"shared\"\n",
        );
        let (r, _) = returns(&s, n, 21);
        let rho = corr(&column(&r, 0), &column(&r, 1));
        assert!((rho - 0.6).abs() < 0.015, "{rho}");
        for (mixing, target) in [("shared", 1.0 / 9.0), ("per_asset", 0.0)] {
            let s = scenario(
                &[a, a],
                &format!("[correlation]\nmatrix = [[1, 0], [0, 1]]\nt_mixing = \"{mixing}\"\n"),
            );
            let (r, _) = returns(&s, n, 22);
            let sq = |a: usize| column(&r, a).iter().map(|v| v * v).collect::<Vec<_>>();
            let c2 = corr(&sq(0), &sq(1));
            assert!((c2 - target).abs() < 0.03, "{mixing}: corr of squares {c2}");
        }
    }

    #[test]
    fn correlation_regimes_switch_at_their_step() {
        // ρ = 0.9 for steps 0..50k, −0.5 from step 50k: each half's sample correlation has sd
        // (1 − ρ²)/√n ≤ 0.0034; tolerance 0.02.
        let a = "volatility = 0.5";
        let s = scenario(
            &[a, a],
            "[correlation]\nmatrix = [[1, 0.9], [0.9, 1]]\n[[correlation.regimes]]\nfrom_step = 500\nmatrix = [[1, -0.5], [-0.5, 1]]\n",
        );
        // The regime starts at step 500 of 1000 in the file; stretch it for the test.
        let mut s = s;
        s.dependence.regimes[0].from_step = 50_000;
        let (r, _) = returns(&s, 100_000, 8);
        let (before, after) = r.split_at(50_000);
        let c1 = corr(&column(before, 0), &column(before, 1));
        let c2 = corr(&column(after, 0), &column(after, 1));
        assert!((c1 - 0.9).abs() < 0.02, "before {c1}");
        assert!((c2 + 0.5).abs() < 0.02, "after {c2}");
    }

    #[test]
    fn volatility_feedback_keeps_the_long_run_variance_and_rises_after_a_move() {
        // GARCH(1,1) α = 0.1, β = 0.85 on daily steps at σ = 0.8: the long-run variance per
        // step is σ²·dt. The estimate's relative sd is about sqrt((kurtosis − 1)·(1 + 2Σρ_k)/n)
        // ≈ sqrt(2.8 · 8.2 / 400k) ≈ 0.8% (kurtosis 3.8, autocorrelation of squares 0.18
        // decaying by 0.95); tolerance 6%. max_ratio 100 keeps the cap out of the way.
        let s = scenario(
            &[
                "volatility = 0.8\nvolatility_feedback = { alpha = 0.1, beta = 0.85, max_ratio = 100 }",
            ],
            "",
        );
        let (r, _) = returns(&s, 400_000, 13);
        let (_, var) = mean_var(&column(&r, 0));
        let th = 0.64 / 365.0;
        assert!((var / th - 1.0).abs() < 0.06, "var {var} vs {th}");
        // Large moves come in clusters: the squares are autocorrelated (≈ 0.18), i.i.d.
        // returns would give 0 ± 0.0016.
        let sq: Vec<f64> = column(&r, 0).iter().map(|v| v * v).collect();
        let ac = corr(&sq[..sq.len() - 1], &sq[1..]);
        assert!(ac > 0.08, "autocorrelation of squares {ac}");

        // A −20% shock at step 3: the next step's variance is ω + α·x² + β·h with x the
        // step's move less its drift (x ≈ ln 0.8 dominates), far above the stated one.
        let s = scenario(
            &[
                "volatility = 0.8\nshocks = [{ step = 3, return = -0.2 }]\nvolatility_feedback = { alpha = 0.1, beta = 0.85 }",
            ],
            "",
        );
        let p = PriceProcess::new(&s.assets[0], s.dt_years());
        let dep = Dependence::new(&s, &[&p]);
        let mut d = dep.draws(1);
        let mut st = p.start();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut jrng = ChaCha8Rng::seed_from_u64(2);
        let mut vols = Vec::new();
        let mut r3 = 0.0;
        for step in 0..4 {
            dep.draw(step, &mut d, &mut rng, &mut jrng);
            r3 = p.log_return(0, step, &d, &mut st, &mut rng);
            vols.push(p.current_vol(&st));
        }
        let h_lr: f64 = 0.64 / 365.0;
        let stated = h_lr.sqrt();
        let h2 = vols[2] * vols[2];
        let x = r3 - (0.0 - 0.5 * h2);
        let expected = (0.05 * h_lr + 0.1 * x * x + 0.85 * h2).sqrt();
        assert!(vols[3] > 1.5 * stated, "{vols:?} vs {stated}");
        assert!(
            (vols[3] / expected - 1.0).abs() < 1e-12,
            "{} vs {expected}",
            vols[3]
        );
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
