//! Running measures of one asset along a path: the extremes of its mark and fundamental
//! (drawdown, drawup) and how far liquidations pushed the mark from where it would be
//! without them (the endogenous move). Every mode of the step records them through
//! [`Measures`], so they are computed the same way whatever path a step takes.

use crate::model::book::BookState;

/// Running extremes of one price series. The prices at which the drawdown or drawup would
/// grow are kept, so a step that sets no new extreme costs two comparisons and no division.
#[derive(Clone, Copy)]
pub(super) struct Extremes {
    pub(super) peak: f64,
    pub(super) trough: f64,
    pub(super) drawdown: f64,
    pub(super) drawup: f64,
    /// `peak·(1 − drawdown)`: a price below this deepens the drawdown.
    pub(super) down_at: f64,
    /// `trough·(1 + drawup)`: a price above this extends the drawup.
    pub(super) up_at: f64,
}

impl Extremes {
    pub(super) fn new(p: f64) -> Self {
        Extremes {
            peak: p,
            trough: p,
            drawdown: 0.0,
            drawup: 0.0,
            down_at: p,
            up_at: p,
        }
    }

    #[inline]
    pub(super) fn update(&mut self, p: f64) {
        if p < self.down_at {
            self.drawdown = self.drawdown.max(1.0 - p / self.peak);
            self.down_at = self.peak * (1.0 - self.drawdown);
        } else if p > self.peak {
            self.peak = p;
            self.down_at = self.peak * (1.0 - self.drawdown);
        }
        if p > self.up_at {
            self.drawup = self.drawup.max(p / self.trough - 1.0);
            self.up_at = self.trough * (1.0 + self.drawup);
        } else if p < self.trough {
            self.trough = p;
            self.up_at = self.trough * (1.0 + self.drawup);
        }
    }
}

/// How far liquidations have pushed one asset's mark away from where it would be without
/// them, at the same moment: the largest `ln(C_t / M_t)` (down) and `ln(M_t / C_t)` (up)
/// so far, where `M_t` is the mark and `C_t` the counterfactual mark, the one the same
/// random numbers give with no liquidations (the fundamental, above any price floor; for an
/// asset with venues, their index of such mids, lagged like the mark). Log units, both ≥ 0.
#[derive(Clone, Copy, Default)]
pub(super) struct Endogenous {
    pub(super) down: f64,
    pub(super) up: f64,
}

impl Endogenous {
    /// Records `gap = ln(M_t / C_t)`.
    #[inline(always)]
    pub(super) fn record(&mut self, gap: f64) {
        if -gap > self.down {
            self.down = -gap;
        }
        if gap > self.up {
            self.up = gap;
        }
    }

    /// Records the mark `mark` of an asset whose only book is `book` (its mid, just computed
    /// by [`BookState::mid`] from `fundamental`). Without a binding price floor the gap is
    /// the book's own log shift, exact and constant while the book is whole; where the floor
    /// holds the mark or the counterfactual, the gap is computed from the prices.
    #[inline(always)]
    pub(super) fn record_book(
        &mut self,
        book: &BookState,
        floor: f64,
        fundamental: f64,
        mark: f64,
    ) {
        let gap = if floor > 0.0 && !(mark > floor && fundamental > floor) {
            (mark / fundamental.max(floor)).ln()
        } else {
            book.last_log_shift()
        };
        self.record(gap);
    }

    /// Whether a whole book with permanent offset `log_permanent` (and no binding floor)
    /// would set no new extreme.
    #[inline(always)]
    pub(super) fn covers(&self, log_permanent: f64) -> bool {
        self.down >= -log_permanent && self.up >= log_permanent
    }
}

/// One asset's running measures along a path.
#[derive(Clone, Copy)]
pub(super) struct Measures {
    /// Extremes of the mark.
    pub(super) mark: Extremes,
    /// Extremes of the fundamental (what the exogenous moves alone give).
    pub(super) fund: Extremes,
    pub(super) endo: Endogenous,
}

impl Measures {
    pub(super) fn new(start: f64) -> Self {
        Measures {
            mark: Extremes::new(start),
            fund: Extremes::new(start),
            endo: Endogenous::default(),
        }
    }

    /// Records a step's mark and fundamental in the extremes (an asset with venues records
    /// its endogenous gap through its index).
    #[inline(always)]
    pub(super) fn record(&mut self, mark: f64, fundamental: f64) {
        self.mark.update(mark);
        self.fund.update(fundamental);
    }

    /// Records a step of an asset whose only book is `book` (with price floor `floor`): the
    /// extremes and the endogenous gap. The general step, the quiet lane and the lone-asset
    /// loop all record through this.
    #[inline(always)]
    pub(super) fn record_book(
        &mut self,
        book: &BookState,
        floor: f64,
        fundamental: f64,
        mark: f64,
    ) {
        self.record(mark, fundamental);
        self.endo.record_book(book, floor, fundamental, mark);
    }

    /// Whether `self` and `o` are the same to the bit (debug checks of skipped work).
    #[cfg(debug_assertions)]
    pub(super) fn same(&self, o: &Measures) -> bool {
        let bits = |m: &Measures| {
            let e = |x: &Extremes| [x.peak, x.trough, x.drawdown, x.drawup, x.down_at, x.up_at];
            let (a, b) = (e(&m.mark), e(&m.fund));
            a.into_iter()
                .chain(b)
                .chain([m.endo.down, m.endo.up])
                .map(f64::to_bits)
                .collect::<Vec<u64>>()
        };
        bits(self) == bits(o)
    }
}

/// The path's deepest drawdown so far, over its assets' marks.
pub(super) fn deepest(m: &[Measures]) -> f64 {
    m.iter().fold(0.0f64, |d, e| d.max(e.mark.drawdown))
}
