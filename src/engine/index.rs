//! An asset traded on several venues: the shared description ([`VenueSet`]: one book per
//! venue, index weights, lag and arbitrage speed) and the per-path state of its mark
//! ([`IndexState`]: the ring of the last `k` index values). The arithmetic (index, spread,
//! arbitrage shifts) is `model::arbitrage`.
//!
//! Per step an asset with `V` venues costs O(V): its mids, the index over them, the spread,
//! and at the end of the step one arbitrage shift per venue. Assets with one book never
//! touch this module.

use crate::model::arbitrage;
use crate::model::book::{BookShape, BookState};
use crate::model::spec::Venues;

/// The venues of one asset, shared by all paths.
#[derive(Debug, Clone)]
pub struct VenueSet {
    pub names: Vec<String>,
    /// One book per venue.
    pub books: Vec<BookShape>,
    /// Index weights, summing to 1.
    pub weights: Vec<f64>,
    /// `k`: the mark in step `t` is the index at the end of step `t − k` (0: the live index).
    pub lag: usize,
    /// `κ`: share of each venue's log gap to the weighted mean closed at the end of a step.
    pub kappa: f64,
}

impl VenueSet {
    /// Builds the venues' books from their validated description.
    pub fn new(v: &Venues, step_seconds: f64) -> VenueSet {
        VenueSet {
            names: v.list.iter().map(|x| x.name.clone()).collect(),
            books: v
                .list
                .iter()
                .map(|x| BookShape::new(&x.book, step_seconds))
                .collect(),
            weights: v.list.iter().map(|x| x.weight).collect(),
            lag: v.index_lag_steps as usize,
            kappa: v.arbitrage_speed,
        }
    }

    /// Number of venues.
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// Whether there is no venue (never, for a validated scenario).
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// The index the venues would show with no liquidations: every book untouched, so each
    /// mid is the fundamental above that book's price floor, and no gap for arbitrage.
    pub fn undisturbed_index(&self, fundamental: f64) -> f64 {
        self.books
            .iter()
            .zip(&self.weights)
            .map(|(b, w)| fundamental.max(b.floor) * w)
            .sum()
    }
}

/// Per-path state of one asset's mark: the index values of the last `k` steps.
#[derive(Debug, Clone)]
pub struct IndexState {
    /// `ring[head]` is the index at the end of step `t − k` during step `t` (the start price
    /// for steps before 0); empty when `k = 0`.
    ring: Vec<f64>,
    /// The same for the undisturbed index ([`VenueSet::undisturbed_index`]): the
    /// counterfactual of the lagged mark.
    undisturbed: Vec<f64>,
    head: usize,
    /// Scratch for the arbitrage shifts, one per venue.
    shifts: Vec<f64>,
}

impl IndexState {
    pub fn new(set: &VenueSet, start_price: f64) -> IndexState {
        IndexState {
            ring: vec![start_price; set.lag],
            undisturbed: vec![start_price; set.lag],
            head: 0,
            shifts: vec![0.0; set.len()],
        }
    }

    /// The mark during the current step when the index is lagged (`k ≥ 1`).
    #[inline]
    pub fn lagged(&self) -> Option<f64> {
        self.ring.get(self.head).copied()
    }

    /// The undisturbed index of `k` steps ago (the counterfactual of [`IndexState::lagged`]).
    #[inline]
    pub fn lagged_undisturbed(&self) -> Option<f64> {
        self.undisturbed.get(self.head).copied()
    }

    /// End of a step: records the spread of the venues' mids (fresh in `mids`), lets
    /// arbitrage close the share `κ` of every log gap (moving each book's reference, so the
    /// mids in `mids` are recomputed), and stores the index (and beside it `undisturbed`,
    /// this step's undisturbed index). Returns the spread before arbitrage and the index
    /// after it.
    pub fn end_of_step(
        &mut self,
        set: &VenueSet,
        books: &mut [BookState],
        mids: &mut [f64],
        fundamental: f64,
        undisturbed: f64,
    ) -> (f64, f64) {
        let spread = arbitrage::spread(mids);
        if set.kappa > 0.0 && spread > 0.0 {
            arbitrage::shifts(mids, &set.weights, set.kappa, &mut self.shifts);
            for v in 0..set.len() {
                books[v].shift_reference(self.shifts[v]);
                mids[v] = books[v].mid(&set.books[v], fundamental);
            }
        }
        let index = arbitrage::index(mids, &set.weights);
        if !self.ring.is_empty() {
            self.ring[self.head] = index;
            self.undisturbed[self.head] = undisturbed;
            self.head = (self.head + 1) % self.ring.len();
        }
        (spread, index)
    }
}
