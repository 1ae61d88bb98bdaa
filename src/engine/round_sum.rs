//! How a cascade round adds up the quantity one side of a venue closes: the triggered ladder
//! run in [`LANES`] interleaved partial sums (the position at offset `i` of the run into lane
//! `i % LANES`), added as `(l0 + l1) + (l2 + l3)`, then the re-armed remainders one by one.
//! The venue (`venue.rs`) sums its rounds this way, and the liquidation engine's queue
//! (`queue.rs`) sums what it releases the same way, so a queue without limits sends the book
//! the venue's quantity to the bit.

/// Interleaved partial sums of a round's triggered run.
pub(super) const LANES: usize = 4;
const _: () = assert!(LANES == 4);

/// The lane of a close that is not part of a round's ladder run (a re-armed remainder, or a
/// queued entry from an earlier round): added after the lanes, in order.
pub(super) const TAIL: u8 = LANES as u8;

/// The four lanes added up in their fixed order.
#[inline(always)]
pub(super) fn fold(lanes: &[f64; LANES]) -> f64 {
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// One side's closes of a round, added as the venue adds them: a close in lane `l < LANES`
/// joins that lane until the first close of the [`TAIL`] arrives; from then on every close
/// is added in order to the folded lanes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RoundSum {
    lanes: [f64; LANES],
    folded: Option<f64>,
}

impl RoundSum {
    pub(super) fn add(&mut self, lane: u8, q: f64) {
        match &mut self.folded {
            None if usize::from(lane) < LANES => self.lanes[usize::from(lane)] += q,
            Some(s) => *s += q,
            f @ None => *f = Some(fold(&self.lanes) + q),
        }
    }

    pub(super) fn total(&self) -> f64 {
        self.folded.unwrap_or_else(|| fold(&self.lanes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The venue's order: lanes by offset, folded, then the remainders in order (values whose
    /// sum depends on the order of the additions).
    #[test]
    fn a_round_sum_adds_in_the_venues_order() {
        let run = [1e16, 1.0, -1e16, 1.0, 3.0, 1e-3];
        let tail = [0.5, 1e16, -1e16];
        let mut lanes = [0.0; LANES];
        for (i, &q) in run.iter().enumerate() {
            lanes[i % LANES] += q;
        }
        let mut want = fold(&lanes);
        for &q in &tail {
            want += q;
        }
        let mut s = RoundSum::default();
        for (i, &q) in run.iter().enumerate() {
            s.add((i % LANES) as u8, q);
        }
        for &q in &tail {
            s.add(TAIL, q);
        }
        assert_eq!(s.total().to_bits(), want.to_bits());
        // A plain left-to-right sum differs here, so the test can tell the orders apart.
        let plain: f64 = run.iter().chain(&tail).fold(0.0, |a, &q| a + q);
        assert_ne!(plain.to_bits(), want.to_bits());
        assert_eq!(RoundSum::default().total().to_bits(), 0.0f64.to_bits());
    }
}
