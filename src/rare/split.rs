//! Multilevel splitting on the running largest drawdown of the mark. A path that crosses
//! level `j` (first step `s` with drawdown ≥ `L_j`) is stopped there and replaced by `R`
//! clones of weight `w/R`; each clone is the same path through step `s` and continues from
//! step `s + 1` on its own random stream. Every path that reaches the horizon is a leaf and
//! keeps its weight `R^−k` (`k` the levels it split at). `E[Σ_leaves w·f] = E[f]` per root
//! for any per-path `f`, whatever the event, so probabilities and distributions are
//! estimated like those of importance sampling; the interval comes from the roots, which
//! are independent (see `summary`).
//!
//! Clones are replays: a clone is simulated from step 0 on its root's stream, switching to
//! each ancestor's child stream at the step after that ancestor's crossing, so no per-path
//! state is kept between stages and any leaf can be replayed from its switches. A child's
//! stream key is a hash of its parent's key, the level and the clone index (high bit set,
//! so it never meets a root's stream id), all from the run seed.

use rayon::prelude::*;

use crate::engine::{AssetPathMetrics, Control, Market, NoObserver, PathSummary};
use crate::model::price::StepDraws;

/// Most particles one stage may hold, per root path: beyond it the clone count is too high
/// for the levels.
pub const MAX_PARTICLES_PER_ROOT: u64 = 1_000;

/// One particle: which root it descends from, where its streams switch, its level.
#[derive(Debug, Clone)]
struct Particle {
    root: u64,
    key: u64,
    /// `(step, stream key)`: from `step` on the path draws from `key`'s stream.
    switches: Vec<(u32, u64)>,
    /// Splits in its ancestry (its weight is `R^−splits`).
    splits: u32,
    /// Step from which the level is checked (its parent's crossing step).
    check_from: u32,
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The stream key of clone `clone` made at level `level` of the particle with key `parent`.
pub fn child_key(parent: u64, level: usize, clone: u32) -> u64 {
    mix(parent ^ mix(((level as u64) << 32) | u64::from(clone))) | (1 << 63)
}

struct SplitControl<'a> {
    switches: &'a [(u32, u64)],
    next: usize,
    level: Option<f64>,
    check_from: u32,
    stopped_at: Option<u32>,
}

impl Control for SplitControl<'_> {
    #[inline]
    fn on_draws(&mut self, _market: &Market, _step: u32, _d: &mut StepDraws) {}

    fn switch_at(&mut self, step: u32) -> Option<u64> {
        // A path that crossed two levels in one step has two switches there: the last wins.
        let mut key = None;
        while let Some(&(s, k)) = self.switches.get(self.next) {
            if s != step {
                break;
            }
            key = Some(k);
            self.next += 1;
        }
        key
    }

    fn stop_after(&mut self, step: u32, drawdown: f64) -> bool {
        match self.level {
            Some(l) if step >= self.check_from && drawdown >= l => {
                self.stopped_at = Some(step);
                true
            }
            _ => false,
        }
    }
}

/// The leaves of a splitting run, sorted by root (and in a fixed order within a root).
#[derive(Debug, Clone, Default)]
pub struct SplitLeaves {
    pub paths: Vec<PathSummary>,
    /// Path-major, `assets[i * n_assets + a]`.
    pub assets: Vec<AssetPathMetrics>,
    pub log_weights: Vec<f64>,
    pub roots: Vec<u64>,
    /// Particles simulated at each stage (stage 0: the roots).
    pub particles_per_stage: Vec<u64>,
    /// Steps simulated over all particles, divided by the steps of one path.
    pub path_equivalents: f64,
}

/// Too many particles: the clone count is too large for the levels.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "splitting stage {stage} would hold {particles} paths (more than {MAX_PARTICLES_PER_ROOT} per root path): use fewer clones or fewer, higher levels"
)]
pub struct TooManyParticles {
    pub stage: usize,
    pub particles: u64,
}

/// Runs fixed splitting from root paths `0 .. roots` with `clones` clones per level.
///
/// # Errors
/// [`TooManyParticles`] when a stage grows beyond [`MAX_PARTICLES_PER_ROOT`] per root.
pub fn run(
    market: &Market,
    roots: u64,
    levels: &[f64],
    clones: u32,
) -> Result<SplitLeaves, TooManyParticles> {
    let n_assets = market.assets.len();
    let mut stage: Vec<Particle> = (0..roots)
        .map(|r| Particle {
            root: r,
            key: r,
            switches: Vec::new(),
            splits: 0,
            check_from: 0,
        })
        .collect();
    let mut out = SplitLeaves::default();
    let mut steps_done = 0u64;
    let mut leaves: Vec<(Particle, PathSummary, Vec<AssetPathMetrics>)> = Vec::new();
    let ln_r = f64::from(clones).ln();
    for j in 0..=levels.len() {
        if stage.is_empty() {
            break;
        }
        if stage.len() as u64 > roots.saturating_mul(MAX_PARTICLES_PER_ROOT) {
            return Err(TooManyParticles {
                stage: j,
                particles: stage.len() as u64,
            });
        }
        out.particles_per_stage.push(stage.len() as u64);
        let level = levels.get(j).copied();
        let done: Vec<(PathSummary, Vec<AssetPathMetrics>, Option<u32>)> = stage
            .par_iter()
            .map(|p| {
                let mut per = vec![AssetPathMetrics::default(); n_assets];
                let mut c = SplitControl {
                    switches: &p.switches,
                    next: 0,
                    level,
                    check_from: p.check_from,
                    stopped_at: None,
                };
                let s = crate::engine::simulate_controlled(
                    market,
                    p.root,
                    &mut per,
                    &mut NoObserver,
                    &mut c,
                );
                (s, per, c.stopped_at)
            })
            .collect();
        let mut next = Vec::new();
        for (p, (s, per, stopped)) in stage.into_iter().zip(done) {
            match stopped {
                // Crossed before the last step: split.
                Some(step) if step + 1 < market.steps => {
                    steps_done += u64::from(step) + 1;
                    for c in 0..clones {
                        let key = child_key(p.key, j, c);
                        let mut switches = p.switches.clone();
                        switches.push((step + 1, key));
                        next.push(Particle {
                            root: p.root,
                            key,
                            switches,
                            splits: p.splits + 1,
                            check_from: step,
                        });
                    }
                }
                // Reached the horizon (stopping at the last step loses nothing).
                _ => {
                    steps_done += u64::from(market.steps);
                    leaves.push((p, s, per));
                }
            }
        }
        stage = next;
    }
    // Stage-major order is deterministic; group by root for the per-root interval.
    leaves.sort_by_key(|(p, _, _)| p.root);
    for (p, s, per) in leaves {
        out.log_weights.push(-f64::from(p.splits) * ln_r);
        out.roots.push(p.root);
        out.paths.push(s);
        out.assets.extend(per);
    }
    out.path_equivalents = steps_done as f64 / f64::from(market.steps.max(1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_keys_differ_by_parent_level_and_clone_and_never_meet_root_ids() {
        let mut keys: Vec<u64> = Vec::new();
        for parent in [0u64, 1, 2, child_key(0, 0, 0)] {
            for level in 0..3 {
                for clone in 0..4 {
                    keys.push(child_key(parent, level, clone));
                }
            }
        }
        assert!(keys.iter().all(|k| k >> 63 == 1));
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}
