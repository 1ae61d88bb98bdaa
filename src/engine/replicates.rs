//! Population replicates: in fixed mode a run draws `R` independent copies of its synthetic
//! populations and path `i` trades against replicate `i mod R`, so the spread between
//! replicates measures how much the answer depends on which population was drawn.
//!
//! Replicate `r` of population `k` draws from ChaCha8 stream `u64::MAX − k` of the run seed,
//! from word `r·2⁵⁶` on (replicate 0 is the single population of earlier versions). A
//! replicate is drawn the first time a path needs it, so a shard, an MPI rank or a replayed
//! path builds only its own; the result depends on `(seed, k, r)` only, never on which thread
//! drew it first. Memory: `R` × one population.

use std::sync::OnceLock;

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::model::population::{self, Positions};
use crate::model::spec::Population;

/// Word offset between replicates on a population's stream: far beyond what one draw uses,
/// and `MAX_REPLICATES · 2⁵⁶ ≤ 2⁶⁸` words, a ChaCha8 stream's length.
const REPLICATE_WORD_STRIDE: u128 = 1 << 56;

/// One drawn copy of every population of the run.
#[derive(Debug, Clone)]
pub struct Replicate {
    /// One per population, in scenario order.
    pub positions: Vec<Positions>,
    /// Their open interest, USD at entry (summed in population order).
    pub open_interest: f64,
}

/// The replicates of a fixed-mode run, each drawn on first use.
#[derive(Debug, Clone, Default)]
pub(super) struct Replicates {
    slots: Vec<OnceLock<Replicate>>,
}

impl Replicates {
    /// `count` replicates, none drawn yet; `count = 0` in per-path mode.
    pub(super) fn new(count: u32) -> Replicates {
        Replicates {
            slots: (0..count).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Number of replicates (0 in per-path mode).
    pub(super) fn count(&self) -> u32 {
        self.slots.len() as u32
    }

    /// Replicate `r`, drawn by `draw` now if no path has needed it yet.
    pub(super) fn get(&self, r: u32, draw: impl FnOnce() -> Replicate) -> &Replicate {
        self.slots[r as usize].get_or_init(draw)
    }
}

/// Draws replicate `r`: population `k` (`specs[k]`: its spec and its asset's start price) on
/// stream `u64::MAX − k` from word `r·2⁵⁶`.
pub(super) fn draw(r: u32, seed: u64, specs: &[(&Population, f64)]) -> Replicate {
    let positions: Vec<Positions> = specs
        .iter()
        .enumerate()
        .map(|(k, (p, price))| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u64::MAX - k as u64);
            rng.set_word_pos(u128::from(r) * REPLICATE_WORD_STRIDE);
            population::build(p, *price, &mut rng)
        })
        .collect();
    let open_interest = positions.iter().map(Positions::open_interest).sum();
    Replicate {
        positions,
        open_interest,
    }
}

/// The replicates paths `first .. first + count` use, ascending (`r` replicates in all).
pub fn needed(r: u32, first: u64, count: u64) -> Vec<u32> {
    if r == 0 {
        return Vec::new();
    }
    let r64 = u64::from(r);
    if count >= r64 {
        return (0..r).collect();
    }
    let mut v: Vec<u32> = (first..first + count).map(|i| (i % r64) as u32).collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_needs_only_its_residues() {
        assert_eq!(needed(4, 0, 100), vec![0, 1, 2, 3]);
        assert_eq!(needed(32, 30, 4), vec![0, 1, 30, 31]);
        assert_eq!(needed(0, 0, 10), Vec::<u32>::new());
        assert_eq!(needed(5, 7, 0), Vec::<u32>::new());
    }
}
