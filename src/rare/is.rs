//! Importance sampling of the exogenous price moves: the sampling law shifts each asset's
//! independent diffusion normal by `θ_{a,b}` per step of block `b` (through the Cholesky factor for
//! correlated assets), draws jumps at `κ_a` times the stated rate and shifts the jump-size
//! normal by `δ_a`. Each path carries its log likelihood ratio (original over sampling law),
//! accumulated in f64 from its own draws, so it is as reproducible as the path.
//!
//! Per step and asset the log-weight gains `−θξ − θ²/2` (`ξ` the unshifted normal: the
//! shifted one is `ξ + θ`), `N·ln(1/κ) + (κ − 1)λ` for `N` jumps at rate `κλ`, and
//! `−δη − δ²/2` for the size normal `η` of a step with jumps. Student-t innovations
//! `z·√((ν−2)/W)` shift their Gaussian numerator `z` and leave the χ² mixing `W` alone, so the
//! ratio is the Gaussian one. With a common jump clock only the diffusion is tilted.
//!
//! The tilt is set in the scenario or chosen by cross-entropy on pilot runs
//! ([`cross_entropy`]), whose paths use stream ids from [`PILOT_STREAM_BASE`] on, which no
//! run path uses.

use serde::Serialize;

use crate::engine::{AssetPathMetrics, Control, Market, NoObserver, PathSummary};
use crate::model::price::StepDraws;
use crate::model::spec::CascadeRule;

/// First stream id of the pilot paths (iteration `k`'s path `i` is on `BASE + k·2³² + i`).
pub const PILOT_STREAM_BASE: u64 = 1 << 62;
/// Most cross-entropy iterations.
pub const CE_ITERATIONS: usize = 10;
/// Share of pilot paths kept as the elite while the event itself is rarer.
pub const CE_RHO: f64 = 0.1;
/// Most blocks of steps over which cross-entropy sets the diffusion shift separately.
pub const CE_MAX_BLOCKS: u32 = 48;

/// The sampling law of an importance-sampling run, per asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tilt {
    /// Mean shift of the independent diffusion normal per step, in standard deviations, per
    /// asset and block of steps: `diffusion_shift[a][b]` applies to steps
    /// `b·block_steps … (b + 1)·block_steps − 1` (the last block runs to the horizon).
    pub diffusion_shift: Vec<Vec<f64>>,
    /// Steps per block of `diffusion_shift`.
    pub block_steps: u32,
    /// Jump rate of the sampling law over the stated rate (1: untilted).
    pub jump_rate_factor: Vec<f64>,
    /// Mean shift of the jump-size normal, in standard deviations (0: untilted).
    pub jump_size_shift: Vec<f64>,
    /// How it was chosen: "scenario" or "cross_entropy".
    pub chosen_by: &'static str,
    /// Cross-entropy iterations run (0 when set in the scenario).
    pub iterations: usize,
}

impl Tilt {
    /// No tilt on `n` assets, with `blocks` blocks of `block_steps` steps.
    pub fn none(n: usize, blocks: usize, block_steps: u32, chosen_by: &'static str) -> Tilt {
        Tilt {
            diffusion_shift: vec![vec![0.0; blocks.max(1)]; n],
            block_steps: block_steps.max(1),
            jump_rate_factor: vec![1.0; n],
            jump_size_shift: vec![0.0; n],
            chosen_by,
            iterations: 0,
        }
    }

    /// The same shift on every asset with diffusion, the same jump-rate factor on every asset
    /// with jumps (1 under a common clock, where jumps are not tilted).
    pub fn uniform(market: &Market, shift: f64, jump_rate_factor: f64) -> Tilt {
        let mut t = Tilt::none(market.assets.len(), 1, market.steps, "scenario");
        let tilt_jumps = !market.dependence.common_jump_clock();
        for (a, m) in market.assets.iter().enumerate() {
            if m.process.is_random() {
                t.diffusion_shift[a][0] = shift;
            }
            if m.process.has_jumps() && tilt_jumps {
                t.jump_rate_factor[a] = jump_rate_factor;
            }
        }
        t
    }

    /// The blocks of `diffusion_shift`'s rows.
    pub fn blocks(&self) -> usize {
        self.diffusion_shift.first().map_or(1, Vec::len)
    }

    /// The block of step `step`.
    pub fn block(&self, step: u32) -> usize {
        ((step / self.block_steps) as usize).min(self.blocks() - 1)
    }

    /// The market whose processes draw jumps at the tilted rates (the drift and its jump
    /// compensator stay those of `market`).
    pub fn sampling_market(&self, market: &Market) -> Market {
        let mut m = market.clone();
        for (a, asset) in m.assets.iter_mut().enumerate() {
            if let Some(l) = asset.process.jump_rate() {
                asset.process = asset
                    .process
                    .clone()
                    .with_jump_rate(l * self.jump_rate_factor[a]);
            }
        }
        m
    }
}

/// The importance-sampling control of one path: applies the tilt to each step's draws and
/// accumulates the log likelihood ratio and the sufficient statistics of the cross-entropy
/// update.
pub struct TiltControl<'a> {
    tilt: &'a Tilt,
    /// Stated jump rate per step of each asset (0 without jumps or when untilted).
    lambda: Vec<f64>,
    xi: Vec<f64>,
    /// Whether any diffusion shift is non-zero.
    shifts: bool,
    /// `true`: the draws are shifted (a path of the tilted law); `false`: they are left as
    /// drawn (a path of the stated law, the defensive share) and only their likelihood
    /// ratio under the tilt is evaluated.
    apply: bool,
    /// Log likelihood ratio `ln dP/dQ` (stated law over tilted law) of the path's draws so
    /// far, whichever law drew them.
    pub log_weight: f64,
    /// Σ over the steps of each block of the shifted diffusion normal, per asset and block
    /// (`xi_sum[a·blocks + b]`), and the steps seen per block.
    pub xi_sum: Vec<f64>,
    pub block_count: Vec<f64>,
    /// Σ over steps of the jump count, per asset.
    pub jump_sum: Vec<f64>,
    /// Σ of the shifted jump-size normal over steps with jumps, per asset, and their count.
    pub size_sum: Vec<f64>,
    pub size_steps: Vec<f64>,
    steps: u32,
}

impl<'a> TiltControl<'a> {
    /// A control for one path of `original` (the stated market) drawn under `tilt`.
    pub fn new(original: &Market, tilt: &'a Tilt) -> TiltControl<'a> {
        TiltControl::with(original, tilt, true)
    }

    /// A control for one path of `original` drawn from the stated law: the draws are not
    /// changed, and `log_weight` is `ln dP/dQ` of the tilt `tilt` at them.
    pub fn evaluating(original: &Market, tilt: &'a Tilt) -> TiltControl<'a> {
        TiltControl::with(original, tilt, false)
    }

    fn with(original: &Market, tilt: &'a Tilt, apply: bool) -> TiltControl<'a> {
        let n = original.assets.len();
        let tilt_jumps = !original.dependence.common_jump_clock();
        TiltControl {
            tilt,
            lambda: original
                .assets
                .iter()
                .map(|a| a.process.jump_rate().filter(|_| tilt_jumps).unwrap_or(0.0))
                .collect(),
            xi: vec![0.0; n],
            shifts: tilt.diffusion_shift.iter().flatten().any(|&s| s != 0.0),
            apply,
            log_weight: 0.0,
            xi_sum: vec![0.0; n * tilt.blocks()],
            block_count: vec![0.0; tilt.blocks()],
            jump_sum: vec![0.0; n],
            size_sum: vec![0.0; n],
            size_steps: vec![0.0; n],
            steps: 0,
        }
    }

    /// The path's likelihood ratio.
    pub fn weight(&self) -> f64 {
        self.log_weight.exp()
    }
}

impl Control for TiltControl<'_> {
    fn on_draws(&mut self, market: &Market, step: u32, d: &mut StepDraws) {
        self.steps += 1;
        let block = self.tilt.block(step);
        let blocks = self.tilt.blocks();
        self.block_count[block] += 1.0;
        let n = self.xi.len();
        let any_random = market.assets.iter().any(|a| a.process.is_random());
        if any_random {
            // The independent normals behind z: z itself, or L⁻¹z by forward substitution.
            let chol = market.dependence.factor(d);
            match chol {
                None => self.xi.copy_from_slice(&d.z),
                Some(l) => {
                    for i in 0..n {
                        let s: f64 = (0..i).map(|j| l[i * n + j] * self.xi[j]).sum();
                        self.xi[i] = (d.z[i] - s) / l[i * n + i];
                    }
                }
            }
            if self.shifts && !self.apply {
                // ln dP/dQ at the drawn x: −θx + θ²/2.
                for (x, th) in self.xi.iter().zip(&self.tilt.diffusion_shift) {
                    let th = th[block];
                    self.log_weight += -th * x + 0.5 * th * th;
                }
            } else if self.shifts {
                for (x, th) in self.xi.iter_mut().zip(&self.tilt.diffusion_shift) {
                    let th = th[block];
                    self.log_weight += -th * *x - 0.5 * th * th;
                    *x += th;
                }
                match chol {
                    None => d.z.copy_from_slice(&self.xi),
                    Some(l) => {
                        for i in 0..n {
                            d.z[i] = (0..=i).map(|j| l[i * n + j] * self.xi[j]).sum();
                        }
                    }
                }
            }
            for (a, &x) in self.xi.iter().enumerate() {
                self.xi_sum[a * blocks + block] += x;
            }
        }
        for a in 0..n {
            let lambda = self.lambda[a];
            if lambda == 0.0 {
                continue;
            }
            let k = self.tilt.jump_rate_factor[a];
            // Drawn by the market the path runs on (rate kλ when applied, λ when evaluated);
            // the ratio of the two Poisson laws is the same function of the count.
            let count = market.assets[a].process.jump_count(d.jump_u[a]);
            self.log_weight += -f64::from(count) * k.ln() + (k - 1.0) * lambda;
            self.jump_sum[a] += f64::from(count);
            if count > 0 {
                let dl = self.tilt.jump_size_shift[a];
                if dl != 0.0 && self.apply {
                    self.log_weight += -dl * d.jump_z[a] - 0.5 * dl * dl;
                    d.jump_z[a] += dl;
                } else if dl != 0.0 {
                    self.log_weight += -dl * d.jump_z[a] + 0.5 * dl * dl;
                }
                self.size_sum[a] += d.jump_z[a];
                self.size_steps[a] += 1.0;
            }
        }
    }

    #[inline]
    fn switch_at(&mut self, _step: u32) -> Option<u64> {
        None
    }

    #[inline]
    fn stop_after(&mut self, _step: u32, _drawdown: f64) -> bool {
        false
    }
}

/// Simulates path `path` of `original` under `tilt` (`sampling` its sampling market);
/// returns its summary and its control (log-weight and statistics).
pub fn simulate_tilted<'a>(
    original: &Market,
    sampling: &Market,
    tilt: &'a Tilt,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
) -> (PathSummary, TiltControl<'a>) {
    run_path(sampling, TiltControl::new(original, tilt), path, per_asset)
}

/// Simulates path `path` of `original` from the stated law (a defensive path): its draws
/// are the plain path's, and its control holds `ln dP/dQ` of `tilt` at them.
pub fn simulate_untilted<'a>(
    original: &Market,
    tilt: &'a Tilt,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
) -> (PathSummary, TiltControl<'a>) {
    run_path(
        original,
        TiltControl::evaluating(original, tilt),
        path,
        per_asset,
    )
}

/// Path `path` on `market` under the control `c`.
fn run_path<'a>(
    market: &Market,
    mut c: TiltControl<'a>,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
) -> (PathSummary, TiltControl<'a>) {
    let s = crate::engine::simulate_controlled(market, path, per_asset, &mut NoObserver, &mut c);
    (s, c)
}

/// The log-weight of a path of the defensive mixture `αP + (1 − α)Q` (`share` = `α`), from
/// its `log_ratio` `ℓ = ln dP/dQ`: `w = dP/(α dP + (1 − α) dQ) = 1/(α + (1 − α)e^{−ℓ})`,
/// evaluated as `−logsumexp(ln α, ln(1 − α) − ℓ)` so that no weight overflows. `w ≤ 1/α`
/// whatever the path.
pub fn mixture_log_weight(log_ratio: f64, share: f64) -> f64 {
    if share >= 1.0 {
        return 0.0;
    }
    let a = share.ln();
    let b = (1.0 - share).ln() - log_ratio;
    let m = a.max(b);
    -(m + ((a - m).exp() + (b - m).exp()).ln())
}

/// The cascade probability that the last cross-entropy iteration's pilot paths estimate
/// (plain importance sampling under the tilt that iteration used; plain Monte Carlo when
/// it was the first): an independent check of the main run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PilotEstimate {
    pub paths: u64,
    pub cascades: u64,
    pub estimate: f64,
    /// `s_Y/√n` of the weighted indicators `Y = w·1{cascade}`.
    pub standard_error: f64,
}

impl PilotEstimate {
    /// The estimate of the units `Y_i` (weighted cascade indicators) of `cascades` cascades.
    pub fn of(units: &[f64], cascades: u64) -> PilotEstimate {
        let n = units.len() as f64;
        let mean = if n > 0.0 {
            units.iter().sum::<f64>() / n
        } else {
            0.0
        };
        let var = if n > 1.0 {
            units.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        PilotEstimate {
            paths: units.len() as u64,
            cascades,
            estimate: mean,
            standard_error: (var / n.max(1.0)).sqrt(),
        }
    }
}

/// One pilot path's outcome for the cross-entropy update.
struct PilotPath {
    cascade: bool,
    /// [`closeness`] to the cascade rule, then the largest drawdown: the elite's ranking.
    closeness: f64,
    drawdown: f64,
    log_weight: f64,
    xi_mean: Vec<f64>,
    jump_mean: Vec<f64>,
    size_sum: Vec<f64>,
    size_steps: Vec<f64>,
}

/// How far a path that did not cascade went towards the scenario's cascade `rule`: each
/// given criterion's value over its threshold (endogenous move, liquidated share of open
/// interest), the largest of them (rule "any") or the smallest ("all"); 0 without a
/// criterion. The endogenous move is the one [`crate::engine`] tests.
pub fn closeness(rule: &CascadeRule, s: &PathSummary) -> f64 {
    let endogenous = s.endogenous_down.max(s.endogenous_up);
    let share = if s.open_interest > 0.0 {
        s.liquidated_notional / s.open_interest
    } else {
        0.0
    };
    let parts = [
        rule.endogenous_move.map(|t| endogenous / t),
        rule.liquidated_oi_share.map(|t| share / t),
    ];
    let given = parts.iter().flatten().copied();
    if rule.require_all {
        given.reduce(f64::min).unwrap_or(0.0)
    } else {
        given.fold(0.0, f64::max)
    }
}

/// Chooses the tilt by cross-entropy: from no tilt, each iteration simulates `pilot_paths`
/// paths under the current tilt, keeps an elite (the cascades, if at least a share
/// [`CE_RHO`] of the paths cascaded; else the `CE_RHO` share that came closest (see [`closeness`]) to
/// cascading, ties broken by the largest drawdown) and sets each parameter to its
/// likelihood-ratio-weighted mean over the elite: `θ_{a,b}` the mean shifted normal per
/// step of block `b` (at most [`CE_MAX_BLOCKS`] blocks of equal length), `κ_a` the mean
/// jump count per step over the stated rate, `δ_a` the mean size normal of steps with
/// jumps. Stops after the first iteration whose elite is
/// the cascades, or after [`CE_ITERATIONS`]. Deterministic: pilot paths have their own
/// stream ids and every reduction runs in path order. Also returns what the last
/// iteration's paths estimate ([`PilotEstimate`]).
pub fn cross_entropy(market: &Market, pilot_paths: u64) -> (Tilt, PilotEstimate) {
    use rayon::prelude::*;
    let n = market.assets.len();
    let tilt_jumps = !market.dependence.common_jump_clock();
    // Blocks of steps: the shift may differ along the path (a scheduled shock makes some
    // steps matter more than others). The noise of a block's estimate adds about
    // 1/(elite paths) to the log-weight's variance, so 48 blocks cost ≈ 0.24 with 200.
    let blocks = market.steps.clamp(1, CE_MAX_BLOCKS);
    let block_steps = market.steps.max(1).div_ceil(blocks);
    let blocks = market.steps.max(1).div_ceil(block_steps) as usize;
    let mut tilt = Tilt::none(n, blocks, block_steps, "cross_entropy");
    let mut last = PilotEstimate::of(&[], 0);
    for it in 0..CE_ITERATIONS {
        let sampling = tilt.sampling_market(market);
        let base = PILOT_STREAM_BASE + ((it as u64) << 32);
        let pilots: Vec<PilotPath> = (0..pilot_paths)
            .into_par_iter()
            .map(|i| {
                let mut per = vec![AssetPathMetrics::default(); n];
                let (s, c) = simulate_tilted(market, &sampling, &tilt, base + i, &mut per);
                let steps = f64::from(c.steps.max(1));
                PilotPath {
                    cascade: s.cascade,
                    closeness: closeness(&market.cascade, &s),
                    drawdown: s.max_drawdown,
                    log_weight: c.log_weight,
                    xi_mean: c
                        .xi_sum
                        .iter()
                        .enumerate()
                        .map(|(k, x)| x / c.block_count[k % blocks].max(1.0))
                        .collect(),
                    jump_mean: c.jump_sum.iter().map(|x| x / steps).collect(),
                    size_sum: c.size_sum,
                    size_steps: c.size_steps,
                }
            })
            .collect();
        let cascades = pilots.iter().filter(|p| p.cascade).count();
        let units: Vec<f64> = pilots
            .iter()
            .map(|p| if p.cascade { p.log_weight.exp() } else { 0.0 })
            .collect();
        last = PilotEstimate::of(&units, cascades as u64);
        let elite_k = ((pilot_paths as f64 * CE_RHO).ceil() as usize).max(1);
        let reached = cascades >= elite_k;
        let mut order: Vec<usize> = (0..pilots.len()).collect();
        let key = |p: &PilotPath| (p.cascade, p.closeness, p.drawdown);
        order.sort_by(|&a, &b| {
            let (x, y) = (key(&pilots[a]), key(&pilots[b]));
            y.0.cmp(&x.0)
                .then(y.1.total_cmp(&x.1))
                .then(y.2.total_cmp(&x.2))
                .then(a.cmp(&b))
        });
        let elite: Vec<usize> = if reached {
            order[..cascades].to_vec()
        } else {
            order[..elite_k.min(order.len())].to_vec()
        };
        // Weights relative to the largest, so that exp does not underflow.
        let top = elite
            .iter()
            .map(|&i| pilots[i].log_weight)
            .fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = elite
            .iter()
            .map(|&i| (pilots[i].log_weight - top).exp())
            .collect();
        let total: f64 = w.iter().sum();
        let mut next = Tilt::none(n, blocks, block_steps, "cross_entropy");
        next.iterations = it + 1;
        for a in 0..n {
            if market.assets[a].process.is_random() {
                for (b, th) in next.diffusion_shift[a].iter_mut().enumerate() {
                    *th = elite
                        .iter()
                        .zip(&w)
                        .map(|(&i, w)| w * pilots[i].xi_mean[a * blocks + b])
                        .sum::<f64>()
                        / total;
                }
            }
            if let (Some(l), true) = (market.assets[a].process.jump_rate(), tilt_jumps) {
                let rate = elite
                    .iter()
                    .zip(&w)
                    .map(|(&i, w)| w * pilots[i].jump_mean[a])
                    .sum::<f64>()
                    / total;
                // Keep the rate positive and bounded as validation would.
                next.jump_rate_factor[a] = (rate / l).clamp(0.05, 1000.0);
                let (sw, sn) = elite.iter().zip(&w).fold((0.0, 0.0), |(s, c), (&i, w)| {
                    (
                        s + w * pilots[i].size_sum[a],
                        c + w * pilots[i].size_steps[a],
                    )
                });
                if sn > 0.0 {
                    next.jump_size_shift[a] = (sw / sn).clamp(-40.0, 40.0);
                }
            }
        }
        tilt = next;
        if reached {
            break;
        }
    }
    (tilt, last)
}
