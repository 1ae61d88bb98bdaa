//! How a cascade round adds up the quantity one side of a venue closes: the triggered ladder
//! run in [`LANES`] interleaved partial sums (the position at offset `i` of the run into lane
//! `i % LANES`), added as `(l0 + l1) + (l2 + l3)`, or, for a full-close run of
//! `bulk::MIN_RUN` or more, the run's total from the ladder's prefix sums (rounded once);
//! then the re-armed remainders one by one. The venue (`venue.rs`) sums its rounds this way,
//! and the liquidation engine's queue (`queue.rs`) sums what it releases the same way (the
//! venue hands it the run's total, used when the queue releases the whole run in full), so
//! a queue without limits sends the book the venue's quantity to the bit.

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

/// Flag on a lane: the close belongs to a run whose total the venue took from the prefix
/// sums ([`RoundSum::with_run`]); the rest of the byte is its lane, used if the run is not
/// released whole.
pub(super) const RUN: u8 = 0x80;

/// One side's closes of a round, added as the venue adds them: a close in lane `l < LANES`
/// joins that lane until the first close of the [`TAIL`] arrives; from then on every close
/// is added in order to the folded lanes. When the round's run was summed from the prefix
/// sums and every close of it (flagged [`RUN`]) arrives in full before the tail, the run's
/// total stands for the lanes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RoundSum {
    lanes: [f64; LANES],
    folded: Option<f64>,
    /// The run's size and total from the prefix sums, if the venue took it from them.
    run: Option<(u32, f64)>,
    /// How many closes flagged [`RUN`] arrived before the tail.
    run_seen: u32,
}

impl RoundSum {
    /// A round whose ladder run the venue summed from the prefix sums: `(size, total)`.
    pub(super) fn with_run(run: Option<(u32, f64)>) -> RoundSum {
        RoundSum {
            run,
            ..RoundSum::default()
        }
    }

    pub(super) fn add(&mut self, lane: u8, q: f64) {
        let (in_run, lane) = (lane & RUN != 0, usize::from(lane & !RUN));
        match &mut self.folded {
            None if lane < LANES => {
                self.run_seen += u32::from(in_run);
                self.lanes[lane] += q;
            }
            Some(s) => *s += q,
            None => self.folded = Some(self.head() + q),
        }
    }

    /// The run's part: its prefix total if all of it arrived, else the lanes.
    fn head(&self) -> f64 {
        match self.run {
            Some((n, total)) if n == self.run_seen => total,
            _ => fold(&self.lanes),
        }
    }

    pub(super) fn total(&self) -> f64 {
        self.folded.unwrap_or_else(|| self.head())
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

    /// A run the venue summed from the prefix sums: its total stands for the lanes when every
    /// close of it arrives (flagged) before the tail, and not when one is missing.
    #[test]
    fn a_whole_run_adds_as_its_prefix_total() {
        let total = 0.1 + 0.2 + 0.3 + 0.4 + 0.5; // any value the lanes would not give
        let closes = [0.1, 0.2, 0.3, 0.4, 0.5];
        let mut whole = RoundSum::with_run(Some((5, 7.0)));
        for (i, &q) in closes.iter().enumerate() {
            whole.add(RUN | (i % LANES) as u8, q);
        }
        assert_eq!(whole.total().to_bits(), 7.0f64.to_bits());
        whole.add(TAIL, 0.25);
        assert_eq!(whole.total().to_bits(), (7.0f64 + 0.25).to_bits());
        // One close missing (the capacity cut it: not flagged): the lanes, as before.
        let mut cut = RoundSum::with_run(Some((5, total)));
        let mut lanes = [0.0; LANES];
        for (i, &q) in closes.iter().enumerate() {
            let flag = if i == 4 { 0 } else { RUN };
            cut.add(flag | (i % LANES) as u8, q);
            lanes[i % LANES] += q;
        }
        assert_eq!(cut.total().to_bits(), fold(&lanes).to_bits());
    }
}
