//! The step as named stages on a path's state, in the order the general step runs them:
//!
//! 1. [`fundamentals`](StepState::fundamentals): the step's draws and each asset's return;
//! 2. [`refill`](StepState::refill): the books refill;
//! 3. [`quiet`](StepState::quiet) (the quiet lane only): if every mark is strictly inside its
//!    asset's armed band, the step only records the extremes and ends here;
//! 4. [`start_cascade`](StepState::start_cascade): hour of day, lagged marks, halts;
//! 5. the cascade loop, round by round ([`cascade`](StepState::cascade)):
//!    [`round_marks`](StepState::round_marks) (mids, live indices, breaker, funding),
//!    [`collect_triggered`](StepState::collect_triggered) (through a venue's liquidation
//!    engine where it has one: what its queue releases),
//!    [`walk_books`](StepState::walk_books), [`settle`](StepState::settle) (only the
//!    populations whose book got orders: see [`idle`]);
//! 6. [`record`](StepState::record): mids, venues' spread and arbitrage, extremes, the view
//!    an observer sees;
//! 7. [`end_of_step_rules`](StepState::end_of_step_rules): circuit breaker and
//!    volatility-dependent depth.
//!
//! After the several-asset loop, stages 5 and 6 and the next armed bands look only at the
//! assets whose marks left their bands (`Assets::active`; every asset otherwise): the
//! others' populations are neither collected nor settled, and an asset inside its skip
//! interval is not recorded. Debug builds do that work anyway and check it changed nothing.
//!
//! The lone-asset loop (`solo`) runs stages 1–3 for one asset with the same kernels
//! ([`advance`], `BookState::refill`/`mid`,
//! [`Measures::record_book`](super::extremes::Measures::record_book)).

use super::accounts::{CrossModel, CrossVenue};
use super::hooks::Control;
use super::index::IndexState;
use super::lending;
use super::market::{Market, PopulationModel};
use super::state::{StepState, Streams};
use super::summary::{AssetStep, PopulationPathMetrics};
use super::venue::{Round, Venue};
use crate::model::arbitrage;
use crate::model::book::BookState;
use crate::model::population::Positions;

/// The log fundamental after a step's log return `r` (≠ 0). Validation keeps prices far
/// inside this range; the clamp makes overflow to inf or underflow to 0 impossible even
/// for the wildest fat-tailed draw.
#[inline(always)]
pub(super) fn advance(log_f: f64, r: f64) -> f64 {
    (log_f + r).clamp(-700.0, 700.0)
}

impl StepState<'_> {
    /// Stage 1: the step's draws (steered by `control`) and each asset's new fundamental;
    /// marks the books of an asset that moved for a new mid.
    #[inline(always)]
    pub(super) fn fundamentals<C: Control>(&mut self, s: &mut Streams, step: u32, control: &mut C) {
        let market = self.market;
        if C::ACTIVE
            && let Some(key) = control.switch_at(step)
        {
            s.switch(market, key);
        }
        market
            .dependence
            .draw(step, &mut s.draws, &mut s.rng, &mut s.jump_rng);
        if C::ACTIVE {
            control.on_draws(market, step, &mut s.draws);
        }
        // Columns bound once: their lengths and pointers stay in registers.
        let a_ = &mut self.assets;
        let (log_f, fundamental, price) = (
            &mut a_.log_f[..],
            &mut a_.fundamental[..],
            &mut a_.price[..],
        );
        let dirty = &mut self.books.dirty[..];
        for (a, m) in market.assets.iter().enumerate() {
            let r = m
                .process
                .log_return(a, step, &s.draws, &mut price[a], &mut s.rng);
            if r != 0.0 {
                log_f[a] = advance(log_f[a], r);
                fundamental[a] = log_f[a].exp();
                if m.venues.is_none() {
                    dirty[m.first_slot] = true;
                } else {
                    dirty[market.books_of(a)].fill(true);
                }
            }
        }
    }

    /// Stage 2: every book refills; one whose depth changed needs a new mid.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        let (market, b_) = (self.market, &mut self.books);
        let slots = &market.slots[..b_.state.len()];
        let books = b_.state.iter_mut().zip(b_.dirty.iter_mut()).zip(slots);
        for (b, ((book, d), &slot)) in books.enumerate() {
            *d |= book.refill(market.shape(b, slot));
        }
    }

    /// Stage 3, the quiet lane: when every mark is strictly inside its asset's armed band,
    /// the cascade loop would find nothing, so the step records the extremes and returns
    /// `true` (it is over). Otherwise the band must be recomputed after the cascade loop.
    #[inline(always)]
    pub(super) fn quiet(&mut self) -> bool {
        let market = self.market;
        if self.band_stale {
            self.armed_bands();
            self.band_stale = false;
        }
        self.refresh_mids();
        let a_ = &mut self.assets;
        let (mark, fundamental) = (&a_.mark[..], &a_.fundamental[..]);
        if mark
            .iter()
            .zip(self.band.iter())
            .all(|(&m, &(l, s))| m > l && m < s)
        {
            let (measures, books) = (&mut a_.measures[..], &self.books.state[..]);
            for (a, m) in market.assets.iter().enumerate() {
                // The lane's assets have no venues: an asset's only book has its shape.
                debug_assert!(m.venues.is_none());
                measures[a].record_book(
                    &books[m.first_slot],
                    m.book.floor,
                    fundamental[a],
                    mark[a],
                );
            }
            return true;
        }
        self.band_stale = true;
        false
    }

    /// Per asset the cascade loop looked at (`Assets::active`: every asset outside the
    /// several-asset loop), the band of marks at which none of its populations' venues would
    /// find a triggered position (see [`armed_bands`]); the others' venues did not change,
    /// nor did their bands (debug builds recompute every band and check that).
    #[inline(always)]
    pub(super) fn armed_bands(&mut self) {
        let active = &self.assets.active[..];
        armed_bands(self.market, self.venues, self.pops, active, self.band);
        #[cfg(debug_assertions)]
        {
            let mut all = vec![(0.0, 0.0); self.band.len()];
            let every = vec![true; active.len()];
            armed_bands(self.market, self.venues, self.pops, &every, &mut all);
            assert!(
                all.iter()
                    .zip(self.band.iter())
                    .all(|(x, y)| x.0.to_bits() == y.0.to_bits() && x.1.to_bits() == y.1.to_bits()),
                "an asset the step left alone changed its band: {all:?} against {:?}",
                self.band
            );
        }
    }

    /// Stage 4: the step's hour of day (returned), its per-asset liquidation sums zeroed,
    /// lagged marks and the circuit breaker's halts.
    #[inline(always)]
    pub(super) fn start_cascade(&mut self, step: u32) -> usize {
        let market = self.market;
        let hour = market.hour_of(step);
        let a_ = &mut self.assets;
        for a in 0..market.assets.len() {
            a_.step_liq[a] = 0.0;
            a_.step_qty[a] = 0.0;
        }
        // A lagged mark stays at the index of `k` steps ago for the whole step.
        for &a in &market.venue_assets {
            if let Some(m) = a_.index[a].as_ref().and_then(IndexState::lagged) {
                a_.mark[a] = m;
            }
        }
        if market.circuit_breaker.is_some() {
            self.summary.halted_steps += self.halts.start_step(step);
        }
        hour
    }

    /// Stage 5: cascade rounds until one finds nothing to liquidate or the round limit is
    /// reached; returns the number of rounds that liquidated something.
    ///
    /// Only the active assets' populations are collected and settled (`Assets::active`).
    /// An inactive asset (after the several-asset loop: one book per asset, none of the
    /// rules by which another asset's liquidations reach its book) has its mark strictly
    /// inside its armed band, so its populations find nothing; its book then gets no orders,
    /// its mark does not move, and that holds for every round of the step.
    #[inline(always)]
    pub(super) fn cascade(
        &mut self,
        step: u32,
        hour: usize,
        per_population: &mut [PopulationPathMetrics],
    ) -> u32 {
        let mut rounds = 0u32;
        while rounds < self.market.max_rounds {
            self.round_marks(step, rounds, per_population);
            if !self.collect_triggered(step) {
                break;
            }
            rounds += 1;
            self.walk_books(hour);
            self.settle(step, per_population);
        }
        rounds
    }

    /// A round's prices: the mids of books that changed, the live indices of assets with
    /// venues, the circuit breaker's check and, at the first round, funding.
    #[inline(always)]
    fn round_marks(&mut self, step: u32, round: u32, per_population: &mut [PopulationPathMetrics]) {
        let market = self.market;
        self.refresh_mids();
        let a_ = &mut self.assets;
        for &a in &market.venue_assets {
            if let Some(v) = market.assets[a].venues.as_ref().filter(|v| v.lag == 0) {
                a_.mark[a] = arbitrage::index(&self.books.mid[market.books_of(a)], &v.weights);
            }
        }
        if let Some(cb) = &market.circuit_breaker {
            self.summary.circuit_breaker_halts += self.halts.trip(cb, step, a_.mark, a_.close);
        }
        // Funding falls at the start of a step, at the price its positions trigger on,
        // before anything is liquidated (a halt stops trading, not funding).
        if market.funding && round == 0 {
            self.pay_funding(step, per_population);
        }
    }

    /// The round's liquidation orders per book (positions and lending accounts triggered at
    /// the round's prices; through a venue's liquidation engine, what its queue releases);
    /// `false` when there are none and no backstop takes anything over.
    #[inline(always)]
    fn collect_triggered(&mut self, step: u32) -> bool {
        let market = self.market;
        let b_ = &mut self.books;
        let (sell_qty, buy_qty) = (&mut b_.sell_qty[..], &mut b_.buy_qty[..]);
        for (s, b) in sell_qty.iter_mut().zip(buy_qty.iter_mut()) {
            *s = 0.0;
            *b = 0.0;
        }
        let breaker = market.circuit_breaker.is_some();
        let a_ = &self.assets;
        let (mid, mark, venues) = (&b_.mid[..], &a_.mark[..], &mut self.venues[..]);
        let active = &a_.active[..];
        let mut taken = false;
        for (k, pos) in self.pops.iter().enumerate() {
            let pm = &market.populations[k];
            // A halted asset trades nothing: its triggered positions wait for the halt to
            // end (and are neither collected nor settled meanwhile).
            if breaker && self.halts.halted[pm.asset] {
                continue;
            }
            let px = || {
                if pm.on_mid {
                    mid[pm.slot]
                } else {
                    mark[pm.asset]
                }
            };
            if !active[pm.asset] {
                // Its mark is inside its armed band: nothing triggers (debug builds collect
                // and check that).
                #[cfg(debug_assertions)]
                assert_eq!(
                    venues[k].collect(pos, pm, px()),
                    (0.0, 0.0),
                    "an asset the step left alone found triggered positions"
                );
                continue;
            }
            let px = px();
            let (sq, bq) = if pm.engine.is_none() {
                venues[k].collect(pos, pm, px)
            } else {
                let (sq, bq, t) = venues[k].collect_engine(pos, pm, px, step);
                taken |= t;
                (sq, bq)
            };
            sell_qty[pm.slot] += sq;
            buy_qty[pm.slot] += bq;
        }
        if !self.lenders.is_empty() {
            let halted = breaker.then_some(&self.halts.halted[..]);
            self.lend_qty.fill(0.0);
            lending::collect(
                self.lenders,
                &market.lending,
                self.assets.mark,
                halted,
                self.lend_qty,
            );
            for (m, &q) in market.assets.iter().zip(self.lend_qty.iter()) {
                sell_qty[m.first_slot] += q;
            }
        }
        if let (Some(c), Some(cm)) = (self.cross.as_deref_mut(), &market.cross_margin) {
            let halted = breaker.then_some(&self.halts.halted[..]);
            if c.collect(cm, self.assets.mark, halted) {
                for (a, m) in market.assets.iter().enumerate() {
                    sell_qty[m.first_slot] += c.sell[a];
                    buy_qty[m.first_slot] += c.buy[a];
                }
            }
        }
        taken || !sell_qty.iter().chain(&*buy_qty).all(|&q| q == 0.0)
    }

    /// Opposite liquidations cross internally at the book's mid; the net walks the book.
    /// Sets each book's round fill prices.
    #[inline(always)]
    fn walk_books(&mut self, hour: usize) {
        let market = self.market;
        let (b_, a_, sum) = (&mut self.books, &self.assets, &mut self.summary);
        let (vol_factor, fundamental) = (&a_.vol_factor[..], &a_.fundamental[..]);
        let (books, mid, dirty) = (&mut b_.state[..], &b_.mid[..], &mut b_.dirty[..]);
        let (sell_px, buy_px) = (&mut b_.sell_px[..], &mut b_.buy_px[..]);
        for (b, (&sq, &bq)) in b_.sell_qty.iter().zip(b_.buy_qty.iter()).enumerate() {
            if sq == 0.0 && bq == 0.0 {
                continue;
            }
            let slot = market.slots[b];
            let (a, shape) = (slot.asset, market.shape(b, slot));
            let m = mid[b];
            let crossed = sq.min(bq);
            let net = sq - bq;
            let hourly = shape.hourly[hour] * vol_factor[a];
            sell_px[b] = m;
            buy_px[b] = m;
            if net != 0.0 {
                dirty[b] = true;
                let sell = net > 0.0;
                let fill = books[b].market_order(shape, fundamental[a], sell, net.abs(), hourly);
                sum.slippage_cost += (fill.notional - net.abs() * m).abs();
                sum.book_exhausted += u32::from(fill.exhausted);
                if fill.unfilled > 0.0 {
                    sum.unfilled_notional += fill.notional - fill.vwap() * fill.filled;
                }
                let px = (crossed * m + fill.notional) / (crossed + net.abs());
                if sell {
                    sell_px[b] = px;
                } else {
                    buy_px[b] = px;
                }
            }
        }
    }

    /// Settles every liquidated position at its side's price, then lending's calls.
    #[inline(always)]
    fn settle(&mut self, step: u32, per_population: &mut [PopulationPathMetrics]) {
        let market = self.market;
        let breaker = market.circuit_breaker.is_some();
        let (b_, a_) = (&self.books, &mut self.assets);
        let (mid, sell_px, buy_px) = (&b_.mid[..], &b_.sell_px[..], &b_.buy_px[..]);
        let (sell_qty, buy_qty) = (&b_.sell_qty[..], &b_.buy_qty[..]);
        let (mark, step_liq, step_qty) = (&a_.mark[..], &mut a_.step_liq[..], &mut a_.step_qty[..]);
        let active = &a_.active[..];
        let venues = &mut self.venues[..];
        for (k, pos) in self.pops.iter().enumerate() {
            let pm = &market.populations[k];
            let a = pm.asset;
            if breaker && self.halts.halted[a] {
                continue;
            }
            let round = || Round {
                mark: if pm.on_mid { mid[pm.slot] } else { mark[a] },
                sell_px: sell_px[pm.slot],
                buy_px: buy_px[pm.slot],
                step,
            };
            if !active[a] || idle(pm, sell_qty[pm.slot], buy_qty[pm.slot]) {
                // Nothing to settle (the asset's positions found none, see `cascade`):
                // skipped (debug builds settle it and check that it changed nothing).
                #[cfg(debug_assertions)]
                settles_nothing(&mut venues[k], pos, pm, &round(), self.summary);
                continue;
            }
            let round = round();
            let before = PopulationPathMetrics::totals(self.summary);
            let f = venues[k].settle(pos, pm, &round, self.summary);
            per_population[k].add_since(&before, self.summary);
            step_liq[a] += f.notional;
            step_qty[a] += f.qty;
        }
        if !self.lenders.is_empty() {
            for (px, m) in self.lend_px.iter_mut().zip(&market.assets) {
                *px = sell_px[m.first_slot];
            }
            for (l, lm) in self.lenders.iter_mut().zip(&market.lending) {
                l.settle(lm, self.lend_px, self.summary);
            }
        }
        if let (Some(c), Some(cm)) = (self.cross.as_deref_mut(), &market.cross_margin) {
            settle_cross(c, cm, market, sell_px, buy_px);
        }
    }

    /// Stage 6: the step's closing prices and what is recorded of them: mids, the venues'
    /// spread (then arbitrage pulls them together and their index is stored), the extremes
    /// and endogenous move, the per-asset liquidated notional (added to `per_asset`) and,
    /// when `view` is set or something was liquidated, the view an observer sees. Returns
    /// the notional liquidated in the step and whether the view was built.
    #[inline(always)]
    pub(super) fn record(
        &mut self,
        hour: usize,
        per_asset: &mut [super::AssetPathMetrics],
        view: bool,
    ) -> (f64, bool) {
        let market = self.market;
        self.refresh_mids();
        let (b_, a_) = (&mut self.books, &mut self.assets);
        for &a in &market.venue_assets {
            let (Some(v), Some(ix)) = (&market.assets[a].venues, a_.index[a].as_mut()) else {
                continue;
            };
            let r = market.books_of(a);
            // The counterfactual mark: the index of the venues' mids without liquidations,
            // lagged like the mark (read before this step's index is stored).
            let undisturbed = v.undisturbed_index(a_.fundamental[a]);
            let counterfactual = ix.lagged_undisturbed().unwrap_or(undisturbed);
            let (gap, index) = ix.end_of_step(
                v,
                &mut b_.state[r.clone()],
                &mut b_.mid[r],
                a_.fundamental[a],
                undisturbed,
            );
            a_.spread[a] = gap;
            per_asset[a].max_venue_spread = per_asset[a].max_venue_spread.max(gap);
            if v.lag == 0 {
                a_.mark[a] = index;
            }
            if v.len() == 1 && v.lag == 0 {
                // One venue marked live is the asset's book: measured as such, to the bit.
                let b = market.books_of(a).start;
                a_.measures[a].endo.record_book(
                    &b_.state[b],
                    v.books[0].floor,
                    a_.fundamental[a],
                    a_.mark[a],
                );
            } else {
                a_.measures[a]
                    .endo
                    .record((a_.mark[a] / counterfactual).ln());
            }
        }
        let mut step_total = 0.0;
        let (mark, fundamental, step_liq) = (&a_.mark[..], &a_.fundamental[..], &a_.step_liq[..]);
        let (measures, books) = (&mut a_.measures[..], &b_.state[..]);
        let (lanes, log_f) = (&self.lanes[..], &a_.log_f[..]);
        for (a, per) in per_asset.iter_mut().enumerate() {
            let m = mark[a];
            debug_assert!(
                m.is_finite() && m > 0.0,
                "mark must stay positive and finite"
            );
            let asset = &market.assets[a];
            if asset.venues.is_none() {
                // An asset without venues has one book, of the asset's shape.
                let b = asset.first_slot;
                if !lanes.is_empty() && lanes[a].inside(log_f[a]) {
                    // Inside its skip interval: recording the step changes nothing (the
                    // several-asset loop's rule; debug builds record it and check that).
                    #[cfg(debug_assertions)]
                    {
                        let mut x = measures[a];
                        x.record_book(&books[b], asset.book.floor, fundamental[a], m);
                        assert!(x.same(&measures[a]), "recording a skipped asset changed it");
                    }
                } else {
                    measures[a].record_book(&books[b], asset.book.floor, fundamental[a], m);
                }
            } else {
                measures[a].record(m, fundamental[a]);
            }
            per.liquidated_notional += step_liq[a];
            step_total += step_liq[a];
        }
        // What the observer sees, built only for an observer that wants this step (the
        // Monte Carlo run's realised heatmap looks at steps with liquidations only).
        let record = view || step_total > 0.0;
        if record {
            let views = &mut a_.view[..];
            let (step_qty, vol_factor, spread) =
                (&a_.step_qty[..], &a_.vol_factor[..], &a_.spread[..]);
            for (a, v) in views.iter_mut().enumerate() {
                *v = AssetStep {
                    fundamental: fundamental[a],
                    mark: mark[a],
                    liquidated_notional: step_liq[a],
                    liquidated_qty: step_qty[a],
                    depth_multiplier: market.assets[a].book.hourly[hour] * vol_factor[a],
                    insurance_fund: 0.0,
                    venue_spread: spread[a],
                };
            }
            for (k, p) in market.populations.iter().enumerate() {
                views[p.asset].insurance_fund += self.venues[k].fund;
            }
        }
        (step_total, record)
    }

    /// Stage 7: the circuit breaker's end-of-step check, the realised variance and the depth
    /// factor it gives the next step, and the close they compare with.
    #[inline(always)]
    pub(super) fn end_of_step_rules(&mut self, step: u32) {
        let market = self.market;
        let a_ = &mut self.assets;
        if let Some(cb) = &market.circuit_breaker {
            self.summary.circuit_breaker_halts += self.halts.trip(cb, step, a_.mark, a_.close);
        }
        let n = market.assets.len();
        let (mark, close) = (&a_.mark[..n], &mut a_.close[..n]);
        let (realised_var, vol_factor) = (&mut a_.realised_var[..n], &mut a_.vol_factor[..n]);
        for (a, m) in market.assets.iter().enumerate() {
            if let Some(v) = &m.book.vol_depth {
                realised_var[a] = v.update(realised_var[a], (mark[a] / close[a]).ln());
                vol_factor[a] = v.multiplier(realised_var[a]);
            }
            close[a] = mark[a];
        }
    }

    /// Recomputes the mid of every book whose fundamental or depth changed; an asset's only
    /// book gives its mark too.
    #[inline(always)]
    pub(super) fn refresh_mids(&mut self) {
        refresh_mids(
            self.market,
            self.books.state,
            self.assets.fundamental,
            self.books.dirty,
            self.books.mid,
            self.assets.mark,
        );
    }

    /// Pays the funding that falls at the start of `step` (see `model::funding`): per
    /// population with a `funding` table, at the price its positions trigger on. Out of
    /// line: scenarios without funding never call it.
    #[inline(always)]
    fn pay_funding(&mut self, step: u32, per_population: &mut [PopulationPathMetrics]) {
        let prices = (
            &self.assets.mark[..],
            &self.books.mid[..],
            &self.assets.fundamental[..],
        );
        pay_funding(self.market, step, prices, self.venues, per_population);
    }
}

/// Settles the round's closed cross-margin accounts at their assets' first books' fill
/// prices; out of line (only scenarios with `[cross_margin]` reach it).
#[inline(never)]
fn settle_cross(
    c: &mut CrossVenue,
    cm: &CrossModel,
    market: &Market,
    sell_px: &[f64],
    buy_px: &[f64],
) {
    let (s, b): (Vec<f64>, Vec<f64>) = market
        .assets
        .iter()
        .map(|m| (sell_px[m.first_slot], buy_px[m.first_slot]))
        .unzip();
    c.settle(cm, &s, &b);
}

/// Whether population `pm`'s venue has nothing to settle in a round whose orders on its
/// book are `sell_qty` and `buy_qty` (what every population, lending market and cross-margin
/// account on that book collected). Without a partial rule or a liquidation engine every
/// position `collect` finds closes its whole remaining quantity, which is positive (drawn or
/// read sizes are, and ADL leaves a positive remainder or removes the position), so the
/// population's own sums are zero only when it found none, and its settlement (an empty
/// ladder run, no re-armed remainder, zero closed) would change nothing. On a step where one
/// asset's mark triggers, the populations of the other assets are skipped, which keeps a
/// cascade step's cost from growing with the untouched assets.
#[inline(always)]
fn idle(pm: &PopulationModel, sell_qty: f64, buy_qty: f64) -> bool {
    sell_qty == 0.0 && buy_qty == 0.0 && pm.partial.is_none() && pm.engine.is_none()
}

/// Settles a population [`idle`] skipped and panics unless that changed nothing: the fills,
/// the path's totals, the fund (debug builds only, so every test checks the rule).
#[cfg(debug_assertions)]
#[cold]
fn settles_nothing(
    venue: &mut Venue,
    pos: &Positions,
    pm: &PopulationModel,
    round: &Round,
    sum: &mut super::PathSummary,
) {
    let (before, fund) = (PopulationPathMetrics::totals(sum), venue.fund);
    let f = venue.settle(pos, pm, round, sum);
    let after = PopulationPathMetrics::totals(sum);
    assert!(
        f.qty == 0.0
            && f.notional == 0.0
            && before == after
            && venue.fund.to_bits() == fund.to_bits(),
        "an idle population's settlement changed something: {f:?}, {before:?} → {after:?}"
    );
}

/// Per asset marked in `active`, the band of marks at which none of its populations' venues
/// would find a triggered position: (highest armed long trigger, lowest armed short
/// trigger); the other assets' bands are left as they are. A free function on the pieces it
/// reads, like every out-of-line call of the step: a call that took the whole path state
/// would keep its columns out of registers.
fn armed_bands(
    market: &Market,
    venues: &[Venue],
    pops: &[&Positions],
    active: &[bool],
    band: &mut [(f64, f64)],
) {
    for (b, &on) in band.iter_mut().zip(active) {
        if on {
            *b = (f64::NEG_INFINITY, f64::INFINITY);
        }
    }
    for ((v, pos), pm) in venues.iter().zip(pops).zip(&market.populations) {
        if !active[pm.asset] {
            continue;
        }
        let (long, short) = v.armed(pos);
        let b = &mut band[pm.asset];
        *b = (b.0.max(long), b.1.min(short));
    }
}

/// Pays the funding that falls at the start of `step` (`prices`: the marks, the books' mids
/// and the fundamentals). Out of line: scenarios without funding never call it.
#[cold]
#[inline(never)]
fn pay_funding(
    market: &Market,
    step: u32,
    prices: (&[f64], &[f64], &[f64]),
    venues: &mut [Venue],
    per_population: &mut [PopulationPathMetrics],
) {
    let (mark, mid, fundamental) = prices;
    for (k, pm) in market.populations.iter().enumerate() {
        let Some(f) = &pm.funding else { continue };
        let n = f.payments_at(step, market.step_seconds);
        if n == 0 {
            continue;
        }
        let px = if pm.on_mid {
            mid[pm.slot]
        } else {
            mark[pm.asset]
        };
        let mm = pm.margin.tiers()[0].rate;
        let rate = f.rate(step, px, fundamental[pm.asset]);
        let (paid, received) = venues[k].pay_funding(n, rate, px, mm);
        per_population[k].funding_paid += paid;
        per_population[k].funding_received += received;
    }
}

#[inline(always)]
fn refresh_mids(
    market: &Market,
    books: &mut [BookState],
    fundamental: &[f64],
    dirty: &mut [bool],
    mid: &mut [f64],
    mark: &mut [f64],
) {
    let slots = &market.slots[..books.len()];
    for (b, (((book, d), m), &slot)) in books
        .iter_mut()
        .zip(dirty.iter_mut())
        .zip(mid.iter_mut())
        .zip(slots)
        .enumerate()
    {
        if *d {
            *m = book.mid(market.shape(b, slot), fundamental[slot.asset]);
            *d = false;
            if slot.single {
                mark[slot.asset] = *m;
            }
        }
    }
}
