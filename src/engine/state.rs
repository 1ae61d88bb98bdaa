//! The state of one path while it runs ([`PathState`]): its random streams, its venues and
//! lending markets, and per asset and per book what the step reads and writes. Set up from
//! the market at the start of a path and turned into the path's figures at its end
//! ([`PathState::finish`]). For the step loop it is borrowed once, every column as a slice
//! ([`StepState`]), and the step's stages (`step`) and the lone-asset loop (`solo`) work on
//! that.
//!
//! Per-asset and per-book values are kept as columns (one `Vec` each) rather than one
//! struct per asset or book: the step passes whole columns to the code it shares with the
//! rest of the crate (`arbitrage::index` and the venues' index read a run of mids, the
//! circuit breaker and lending read every mark), and the columns a stage touches stay
//! contiguous.

use rand::rngs::ChaCha8Rng;

use super::accounts::CrossVenue;
use super::extremes::Measures;
use super::halts::Halts;
use super::index::IndexState;
use super::lending::LendingVenue;
use super::market::{JUMP_WORD_OFFSET, Market};
use super::queue::Queue;
use super::summary::{AssetPathMetrics, AssetStep, PathSummary, PopulationPathMetrics, is_cascade};
use super::venue::Venue;
use crate::model::book::BookState;
use crate::model::population::Positions;
use crate::model::price::{PriceState, StepDraws};

/// Defines a struct of columns (one `Vec` each) and the same columns borrowed as slices,
/// which is how the step loop holds them (see [`StepState`]).
macro_rules! columns {
    (
        $(#[$doc:meta])* $owned:ident, $view:ident {
            $($(#[$field_doc:meta])* $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$doc])*
        pub(super) struct $owned {
            $($(#[$field_doc])* pub(super) $field: Vec<$ty>,)*
        }

        /// The columns of
        #[doc = concat!("[`", stringify!($owned), "`]")]
        /// borrowed as slices.
        pub(super) struct $view<'s> {
            $(pub(super) $field: &'s mut [$ty],)*
        }

        impl $owned {
            /// The columns borrowed as slices.
            #[inline(always)]
            pub(super) fn view(&mut self) -> $view<'_> {
                $view {
                    $($field: &mut self.$field,)*
                }
            }
        }
    };
}

columns! {
    /// Per asset, what the step reads and writes.
    Assets, AssetColumns {
        /// Log of the fundamental price.
        log_f: f64,
        fundamental: f64,
        /// The mark: the asset's only book's mid, or its venues' (possibly lagged) index.
        mark: f64,
        price: PriceState,
        /// Extremes and endogenous move so far.
        measures: Measures,
        /// The lagged index of an asset with venues.
        index: Option<IndexState>,
        /// Its venues' spread at the end of this step, before arbitrage.
        spread: f64,
        /// Notional and quantity liquidated in this step.
        step_liq: f64,
        step_qty: f64,
        /// End-of-step rules: the previous close, the realised variance and the depth factor
        /// it gives.
        close: f64,
        realised_var: f64,
        vol_factor: f64,
        /// What an observer sees of this step.
        view: AssetStep,
        /// Whether the cascade loop of the current step must look at the asset: always
        /// outside the several-asset loop; after it, only for the assets whose mark left
        /// their armed band (`solo`). The others cannot trigger within the step (see
        /// `StepState::cascade`), and their venues, books and bands stay as they were.
        active: bool,
    }
}

columns! {
    /// Per book (one per asset, or one per venue of an asset with venues), what the step
    /// reads and writes.
    Books, BookColumns {
        state: BookState,
        mid: f64,
        /// Whether a book's mid must be recomputed (its fundamental or its book changed).
        dirty: bool,
        /// The round's liquidation orders (base units) and their average fills.
        sell_qty: f64,
        buy_qty: f64,
        sell_px: f64,
        buy_px: f64,
    }
}

/// One asset's place in the several-asset loop (`solo`): the interval of log fundamentals
/// in which its quiet step changes nothing but the log fundamental, the armed band it was
/// found for, and whether its fundamental and mid are those of its current log
/// fundamental. Kept across a step that went through the cascade loop when that step left
/// the asset alone.
#[derive(Clone, Copy)]
pub(super) struct Lane {
    pub(super) skip: (f64, f64),
    pub(super) band: (f64, f64),
    pub(super) fresh: bool,
}

impl Lane {
    /// At the start of a run of the several-asset loop: nothing skipped (an empty
    /// interval), the fundamental and the mid those of the log fundamental.
    pub(super) const START: Lane = Lane {
        skip: (f64::INFINITY, f64::NEG_INFINITY),
        band: (f64::NEG_INFINITY, f64::INFINITY),
        fresh: true,
    };
}

/// A path's random streams and the step's draws. Kept apart from [`PathState`] (a local of
/// its own): the draws are calls that write through these, and a write through a pointer
/// into the path's state would make the compiler reload every column after each draw.
pub(super) struct Streams {
    pub(super) rng: ChaCha8Rng,
    pub(super) jump_rng: ChaCha8Rng,
    pub(super) draws: StepDraws,
}

impl Streams {
    /// Path `path`'s streams at its start.
    pub(super) fn new(market: &Market, path: u64) -> Streams {
        let mut s = Streams {
            rng: market.path_rng(path),
            jump_rng: market.path_rng(path),
            draws: market.dependence.draws(market.assets.len()),
        };
        s.jump_rng.set_word_pos(JUMP_WORD_OFFSET);
        s
    }

    /// Switches to the stream of key `key` (a rare-event control's switch).
    pub(super) fn switch(&mut self, market: &Market, key: u64) {
        self.rng = market.path_rng(key);
        self.jump_rng = market.path_rng(key);
        self.jump_rng.set_word_pos(JUMP_WORD_OFFSET);
    }
}

/// One path's state.
pub(super) struct PathState<'a> {
    pub(super) market: &'a Market,
    /// The path's populations (its replicate's, or drawn for it), in scenario order.
    pub(super) pops: &'a [&'a Positions],
    pub(super) summary: PathSummary,
    /// One per population.
    pub(super) venues: Vec<Venue>,
    pub(super) lenders: Vec<LendingVenue>,
    /// Lending's seized collateral per asset (sold on the asset's first book) and its fill.
    pub(super) lend_qty: Vec<f64>,
    pub(super) lend_px: Vec<f64>,
    /// `[cross_margin]`'s accounts during the path.
    pub(super) cross: Option<Box<CrossVenue>>,
    pub(super) assets: Assets,
    pub(super) books: Books,
    pub(super) halts: Halts,
    /// The quiet lane's armed band per asset (highest armed long and lowest armed short
    /// trigger of its populations); empty without the lane.
    pub(super) band: Vec<(f64, f64)>,
    /// The several-asset loop's per-asset skip intervals; empty unless the path takes it.
    pub(super) lanes: Vec<Lane>,
}

/// A path's state as the step loop holds it: every column borrowed once, as a slice, for
/// the whole loop ([`PathState::step_state`]). The stages (`step`) work on this rather than
/// on `&mut PathState`: a slice's pointer and length are values the compiler keeps in
/// registers (or its own stack slots) across the step, where columns behind a pointer to
/// the path's state would be reloaded after every call that might write through it (the
/// venues' settlement takes the summary, the breaker its halts).
pub(super) struct StepState<'s> {
    pub(super) market: &'s Market,
    pub(super) pops: &'s [&'s Positions],
    pub(super) summary: &'s mut PathSummary,
    pub(super) venues: &'s mut [Venue],
    pub(super) lenders: &'s mut [LendingVenue],
    pub(super) lend_qty: &'s mut [f64],
    pub(super) lend_px: &'s mut [f64],
    pub(super) cross: Option<&'s mut CrossVenue>,
    pub(super) assets: AssetColumns<'s>,
    pub(super) books: BookColumns<'s>,
    pub(super) halts: &'s mut Halts,
    pub(super) band: &'s mut [(f64, f64)],
    pub(super) lanes: &'s mut [Lane],
    /// Whether `band` must be recomputed (after a step that went through the cascade loop).
    pub(super) band_stale: bool,
}

impl<'a> PathState<'a> {
    /// The state at the start of a path trading against `pops` (open interest
    /// `open_interest`); `lane`: whether the path may take the quiet lane, `several`: the
    /// several-asset loop. Inlined into the
    /// path's loop, so the compiler sees each column come from an allocation of its own and
    /// knows that writing one cannot change another (or the market).
    #[inline(always)]
    pub(super) fn new(
        market: &'a Market,
        pops: &'a [&'a Positions],
        open_interest: f64,
        lane: bool,
        several: bool,
    ) -> Self {
        let n_assets = market.assets.len();
        let mut venues: Vec<Venue> = market
            .populations
            .iter()
            .map(|p| {
                let mut v = Venue::new(p.insurance_fund);
                v.queue = p.engine.map(|e| Box::new(Queue::new(e)));
                v
            })
            .collect();
        if market.funding {
            for ((v, pm), pos) in venues.iter_mut().zip(&market.populations).zip(pops) {
                if pm.funding.is_some() {
                    v.start_funding(pos);
                }
            }
        }
        let lenders: Vec<LendingVenue> = market.lending.iter().map(LendingVenue::new).collect();
        // Lending works per asset; its seized collateral is sold on the asset's first book
        // (its only book, or its first venue), at that book's round price.
        let lend_qty = vec![0.0; if lenders.is_empty() { 0 } else { n_assets }];
        let fundamental: Vec<f64> = market.assets.iter().map(|a| a.start_price).collect();
        let n_books = market.slots.len();
        let books = Books {
            state: vec![BookState::default(); n_books],
            mid: market.slots.iter().map(|b| fundamental[b.asset]).collect(),
            dirty: vec![false; n_books],
            sell_qty: vec![0.0; n_books],
            buy_qty: vec![0.0; n_books],
            sell_px: vec![0.0; n_books],
            buy_px: vec![0.0; n_books],
        };
        let assets = Assets {
            log_f: market.assets.iter().map(|a| a.start_price.ln()).collect(),
            mark: fundamental.clone(),
            close: fundamental.clone(),
            price: market.assets.iter().map(|a| a.process.start()).collect(),
            measures: fundamental.iter().map(|&p| Measures::new(p)).collect(),
            index: market
                .assets
                .iter()
                .map(|a| a.venues.as_ref().map(|v| IndexState::new(v, a.start_price)))
                .collect(),
            spread: vec![0.0; n_assets],
            step_liq: vec![0.0; n_assets],
            step_qty: vec![0.0; n_assets],
            realised_var: market
                .assets
                .iter()
                .map(|a| a.book.vol_depth.map_or(0.0, |v| v.reference_var))
                .collect(),
            vol_factor: vec![1.0; n_assets],
            view: vec![AssetStep::default(); n_assets],
            active: vec![true; n_assets],
            fundamental,
        };
        PathState {
            market,
            pops,
            summary: PathSummary {
                open_interest,
                ..PathSummary::default()
            },
            venues,
            lend_px: lend_qty.clone(),
            lend_qty,
            lenders,
            cross: market
                .cross_margin
                .as_ref()
                .map(|m| Box::new(CrossVenue::new(m))),
            assets,
            books,
            halts: Halts::new(n_assets),
            band: vec![(f64::NEG_INFINITY, f64::INFINITY); if lane { n_assets } else { 0 }],
            lanes: vec![Lane::START; if several { n_assets } else { 0 }],
        }
    }

    /// The state borrowed for the step loop.
    #[inline(always)]
    pub(super) fn step_state(&mut self) -> StepState<'_> {
        StepState {
            market: self.market,
            pops: self.pops,
            summary: &mut self.summary,
            venues: &mut self.venues,
            lenders: &mut self.lenders,
            lend_qty: &mut self.lend_qty,
            lend_px: &mut self.lend_px,
            cross: self.cross.as_deref_mut(),
            assets: self.assets.view(),
            books: self.books.view(),
            halts: &mut self.halts,
            band: &mut self.band,
            lanes: &mut self.lanes,
            band_stale: true,
        }
    }

    /// The path's figures: the summary, and per asset (`per_asset`) and per population
    /// (`per_population`, whose other figures the steps already added up).
    pub(super) fn finish(
        self,
        per_asset: &mut [AssetPathMetrics],
        per_population: &mut [PopulationPathMetrics],
    ) -> PathSummary {
        let market = self.market;
        let mut summary = self.summary;
        summary.liquidated_notional =
            summary.long_liquidated_notional + summary.short_liquidated_notional;
        for ((p, v), pm) in per_population
            .iter_mut()
            .zip(&self.venues)
            .zip(&market.populations)
        {
            p.fund_exhausted = v.exhausted;
            if let Some(q) = &v.queue {
                let px = if pm.on_mid {
                    self.books.mid[pm.slot]
                } else {
                    self.assets.mark[pm.asset]
                };
                q.finish(px, p);
            }
        }
        if let Some(c) = &self.cross {
            c.finish(per_asset);
        }
        for (a, m) in per_asset.iter_mut().enumerate() {
            let x = &self.assets.measures[a];
            m.max_drawdown = x.mark.drawdown;
            m.exogenous_drawdown = x.fund.drawdown;
            m.amplification = m.max_drawdown - m.exogenous_drawdown;
            m.max_drawup = x.mark.drawup;
            m.exogenous_drawup = x.fund.drawup;
            m.endogenous_down = x.endo.down;
            m.endogenous_up = x.endo.up;
            m.end_return = self.assets.mark[a] / market.assets[a].start_price - 1.0;
            summary.max_drawdown = summary.max_drawdown.max(m.max_drawdown);
            summary.exogenous_drawdown = summary.exogenous_drawdown.max(m.exogenous_drawdown);
            summary.max_drawup = summary.max_drawup.max(m.max_drawup);
            summary.exogenous_drawup = summary.exogenous_drawup.max(m.exogenous_drawup);
            summary.endogenous_down = summary.endogenous_down.max(m.endogenous_down);
            summary.endogenous_up = summary.endogenous_up.max(m.endogenous_up);
            if a == 0 {
                summary.amplification = m.amplification;
            } else {
                summary.amplification = summary.amplification.max(m.amplification);
            }
        }
        summary.cascade = is_cascade(
            &market.cascade,
            summary.endogenous_down.max(summary.endogenous_up),
            summary.liquidated_notional,
            summary.open_interest,
        );
        summary
    }
}
