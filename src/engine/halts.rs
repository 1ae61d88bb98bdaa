//! The circuit breaker's per-path state: which assets are halted, and through which step.

use crate::model::spec::CircuitBreaker;

/// Per-path state of the circuit breaker: which assets are halted, and through which step.
pub(super) struct Halts {
    pub(super) halted: Vec<bool>,
    /// Last halted step of each asset (-1: none).
    through: Vec<i64>,
}

impl Halts {
    pub(super) fn new(n: usize) -> Halts {
        Halts {
            halted: vec![false; n],
            through: vec![-1; n],
        }
    }

    /// Updates the halts for the start of `step`; returns how many assets are halted.
    pub(super) fn start_step(&mut self, step: u32) -> u32 {
        let mut n = 0;
        for (h, &t) in self.halted.iter_mut().zip(&self.through) {
            *h = i64::from(step) <= t;
            n += u32::from(*h);
        }
        n
    }

    /// Halts every asset not yet halted whose mark moved more than the breaker's limit from
    /// the previous close: for the rest of step `step` and the breaker's `halt_steps` after
    /// it. Returns the number of new halts.
    #[inline(never)]
    pub(super) fn trip(
        &mut self,
        cb: &CircuitBreaker,
        step: u32,
        mark: &[f64],
        close: &[f64],
    ) -> u32 {
        let mut trips = 0;
        for a in 0..mark.len() {
            if !self.halted[a] && (mark[a] / close[a] - 1.0).abs() > cb.max_move {
                self.halted[a] = true;
                self.through[a] = i64::from(step) + i64::from(cb.halt_steps);
                trips += 1;
            }
        }
        trips
    }
}
