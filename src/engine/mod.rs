//! One Monte Carlo path: the market built once per run ([`Market`]), the per-step update
//! (fundamentals → book refill → cascade loop → record) and the per-path summary.
//!
//! A step on which no position can trigger (every mark strictly inside its asset's armed
//! band, see `Venue::armed`) skips the cascade loop and only records the extremes: the
//! quiet lane. With one asset and one book the lane is a loop of its own (`Solo`) that
//! keeps the path's state in registers; with a plain price process its draws are inlined
//! ([`SoloReturn`](crate::model::price::SoloReturn)), and while the log fundamental stays
//! in an interval where the step can change nothing else (`skip_interval`), it does not even
//! take the `exp`. The lane gives the same numbers as the full step, to the bit.
//!
//! The engine owns the loop and its termination; recording beyond the summary plugs in as
//! an [`Observer`], so the hot loop carries no I/O. Path `i` draws from ChaCha8 seeded with
//! the run seed on stream `i`, so any path can be replayed alone.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::model::arbitrage;
use crate::model::book::{BookShape, BookState};
use crate::model::funding::Funding;
use crate::model::lending::draw_accounts;
use crate::model::margin::{MarginSchedule, PartialRule};
use crate::model::population::{self, Positions};
use crate::model::price::{Dependence, PriceProcess, PriceState, SoloReturn, StepDraws};
use crate::scenario::{
    CascadeRule, CircuitBreaker, Population, PopulationMode, Scenario, TriggerPrice,
};

pub mod index;
pub mod lending;
pub mod realised;
pub mod replicates;
pub mod trace;
mod venue;

use index::{IndexState, VenueSet};
use lending::{LendingModel, LendingVenue};
use replicates::{Replicate, Replicates};
use venue::{Round, Venue};

/// Stream offset (in 32-bit words) at which a path's own population draws start when the
/// population is re-drawn per path; far beyond what the price draws can reach.
const POPULATION_WORD_OFFSET: u128 = 1 << 66;

/// Stream offset (in 32-bit words) of a path's jump draws (counts and sizes), so that jumps
/// leave the diffusion draws where they were.
const JUMP_WORD_OFFSET: u128 = 1 << 65;

/// Everything a path needs that does not change between paths. Built once per run.
#[derive(Debug, Clone)]
pub struct Market {
    pub seed: u64,
    pub steps: u32,
    pub step_seconds: f64,
    pub start_second_of_day: f64,
    pub max_rounds: u32,
    pub cascade: CascadeRule,
    pub assets: Vec<AssetModel>,
    /// Correlation regimes, jump clock and t mixing shared by the assets.
    pub dependence: Dependence,
    pub circuit_breaker: Option<CircuitBreaker>,
    pub populations: Vec<PopulationModel>,
    pub population_mode: PopulationMode,
    /// Lending markets (their accounts drawn once per run, whatever the population mode).
    pub lending: Vec<LendingModel>,
    /// Fixed mode: the population replicates (path `i` uses replicate `i mod R`); none in
    /// per-path mode.
    replicates: Replicates,
    /// Every book of the run: one per asset, or one per venue of an asset with venues.
    slots: Vec<Slot>,
    /// Assets with venues, ascending.
    venue_assets: Vec<usize>,
    /// Whether any population pays funding (steps then go through the cascade loop, which
    /// pays it at its first round).
    funding: bool,
    /// Which fast paths a path may take ([`FastPaths::All`] but in tests that pin them).
    fast_paths: FastPaths,
}

/// Which fast paths the engine may take where a scenario allows them. Every choice gives
/// the same numbers to the bit; tests force the general step to prove it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FastPaths {
    /// The quiet lane, and the lone-asset loop where the scenario allows it.
    #[default]
    All,
    /// The quiet lane inside the general step, never the lone-asset loop.
    LaneOnly,
    /// Every step goes through the general step's cascade loop.
    None,
}

/// One book of the run: whose it is.
#[derive(Debug, Clone, Copy)]
struct Slot {
    asset: usize,
    /// Whether it is the asset's only book (its mid is the asset's mark).
    single: bool,
}

/// One asset's price process and book.
#[derive(Debug, Clone)]
pub struct AssetModel {
    pub name: String,
    pub start_price: f64,
    pub process: PriceProcess,
    pub book: BookShape,
    /// The asset's venues when it has several books; `None`: `book` is its only one.
    pub venues: Option<VenueSet>,
    /// Index of its first book among all the run's books.
    first_slot: usize,
}

/// One population's venue rules (its positions are in the run's replicates, or drawn per
/// path).
#[derive(Debug, Clone)]
pub struct PopulationModel {
    pub asset: usize,
    pub fee: f64,
    pub insurance_fund: f64,
    pub margin: MarginSchedule,
    /// Partial liquidation rule; `None`: positions are closed in full.
    pub partial: Option<PartialRule>,
    /// Whether shortfalls the fund cannot pay are covered by auto-deleveraging.
    pub auto_deleverage: bool,
    /// Funding paid along the path; `None`: none.
    pub funding: Option<Funding>,
    /// The book its liquidation orders walk (among all the run's books).
    slot: usize,
    /// Whether its positions trigger on their venue's mid rather than the asset's mark.
    on_mid: bool,
    spec: Population,
}

impl Market {
    /// Builds the shared market: precomputes processes and books and, in fixed mode, sets up
    /// the population replicates (drawn on first use, see [`replicates`]: population `k` on
    /// ChaCha8 stream `u64::MAX − k`, which no path uses). A scenario whose populations are
    /// all positions files has one replicate: it has no population noise.
    pub fn new(s: &Scenario) -> Market {
        let dt = s.dt_years();
        let mut slots = Vec::new();
        let assets: Vec<AssetModel> = s
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| AssetModel {
                name: a.name.clone(),
                start_price: a.price,
                process: if s.dependence.shared_t_mixing {
                    PriceProcess::new(a, dt).with_shared_mixing()
                } else {
                    PriceProcess::new(a, dt)
                },
                book: BookShape::new(&a.book, s.simulation.step_seconds),
                venues: a
                    .venues
                    .as_ref()
                    .map(|v| VenueSet::new(v, s.simulation.step_seconds)),
                first_slot: {
                    let n = a.venues.as_ref().map_or(1, |v| v.list.len());
                    let first = slots.len();
                    slots.extend((0..n).map(|_| Slot {
                        asset: i,
                        single: a.venues.is_none(),
                    }));
                    first
                },
            })
            .collect();
        let venue_assets = (0..assets.len())
            .filter(|&a| assets[a].venues.is_some())
            .collect();
        let replicates = Replicates::new(match s.simulation.population_mode {
            PopulationMode::PerPath => 0,
            PopulationMode::Fixed => s.replicates().unwrap_or(1),
        });
        let populations: Vec<PopulationModel> = s
            .populations
            .iter()
            .map(|p| PopulationModel {
                asset: p.asset,
                fee: p.liquidation_fee,
                insurance_fund: p.insurance_fund,
                margin: p.margin.clone(),
                partial: p.partial,
                auto_deleverage: p.auto_deleverage,
                funding: p.funding.clone(),
                slot: assets[p.asset].first_slot + p.venue,
                on_mid: assets[p.asset].venues.is_some() && p.trigger == TriggerPrice::Venue,
                spec: p.clone(),
            })
            .collect();
        // Lending market `k` draws its accounts on stream `u64::MAX − 2³² − k`, which neither
        // a path nor a population uses.
        let lending = s
            .lending
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let mut rng = ChaCha8Rng::seed_from_u64(s.simulation.seed);
                rng.set_stream(u64::MAX - (1 << 32) - k as u64);
                let prices: Vec<f64> = l
                    .collateral
                    .iter()
                    .map(|c| s.assets[c.params.asset].price)
                    .collect();
                LendingModel {
                    rule: l.rule,
                    collateral: l.collateral.iter().map(|c| c.params).collect(),
                    accounts: draw_accounts(l, &prices, &mut rng),
                }
            })
            .collect();
        Market {
            replicates,
            slots,
            venue_assets,
            funding: populations.iter().any(|p| p.funding.is_some()),
            fast_paths: FastPaths::All,
            seed: s.simulation.seed,
            steps: s.simulation.steps,
            step_seconds: s.simulation.step_seconds,
            start_second_of_day: s.simulation.start_second_of_day,
            max_rounds: s.simulation.max_rounds,
            cascade: s.simulation.cascade,
            dependence: Dependence::new(s, &assets.iter().map(|a| &a.process).collect::<Vec<_>>()),
            circuit_breaker: s.simulation.circuit_breaker,
            assets,
            populations,
            population_mode: s.simulation.population_mode,
            lending,
        }
    }

    /// The same market with only the fast paths `f` allowed (tests pin them to the general
    /// step with it). Read once per path, never in the step loop.
    #[doc(hidden)]
    pub fn with_fast_paths(mut self, f: FastPaths) -> Market {
        self.fast_paths = f;
        self
    }

    /// The random stream of path `path`.
    pub fn path_rng(&self, path: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path);
        rng
    }

    /// Number of population replicates: `R` in fixed mode (1 when every population is a
    /// positions file), 0 in per-path mode.
    pub fn replicate_count(&self) -> u32 {
        self.replicates.count()
    }

    /// The replicate path `path` trades against (`path mod R`), or `None` in per-path mode.
    pub fn replicate_of(&self, path: u64) -> Option<u32> {
        let r = u64::from(self.replicates.count());
        (r > 0).then(|| (path % r) as u32)
    }

    /// Replicate `r` of the fixed populations, drawn now if no path has needed it yet.
    ///
    /// # Panics
    /// In per-path mode, or for `r ≥` [`Market::replicate_count`].
    pub fn replicate(&self, r: u32) -> &Replicate {
        self.replicates.get(r, || {
            let specs: Vec<(&Population, f64)> = self
                .populations
                .iter()
                .map(|p| (&p.spec, self.assets[p.asset].start_price))
                .collect();
            replicates::draw(r, self.seed, &specs)
        })
    }

    /// Per-path mode: the populations path `path` draws, from far along its own stream (one
    /// per population, in scenario order).
    pub fn draw_path_populations(&self, path: u64) -> Vec<Positions> {
        let mut prng = self.path_rng(path);
        prng.set_word_pos(POPULATION_WORD_OFFSET);
        self.populations
            .iter()
            .map(|p| population::build(&p.spec, self.assets[p.asset].start_price, &mut prng))
            .collect()
    }

    /// Total number of positions of one replicate in fixed mode (every replicate has the
    /// same count).
    pub fn fixed_position_count(&self) -> Option<usize> {
        (self.replicates.count() > 0).then(|| {
            self.populations
                .iter()
                .map(|p| p.spec.position_count() as usize)
                .sum()
        })
    }

    /// The shape of book `b` (among all the run's books).
    #[inline(always)]
    fn shape(&self, b: usize) -> &BookShape {
        let s = self.slots[b];
        let a = &self.assets[s.asset];
        match &a.venues {
            Some(v) if !s.single => &v.books[b - a.first_slot],
            _ => &a.book,
        }
    }

    /// The books of asset `a` (a range of the run's books).
    #[inline]
    fn books_of(&self, a: usize) -> std::ops::Range<usize> {
        let m = &self.assets[a];
        m.first_slot..m.first_slot + m.venues.as_ref().map_or(1, VenueSet::len)
    }

    /// Depth multiplier of the hour that step `step` falls in.
    #[inline]
    fn hour_of(&self, step: u32) -> usize {
        let t = self.start_second_of_day + f64::from(step) * self.step_seconds;
        let h = t / 3600.0;
        // Truncation is the floor for h ≥ 0 (always, for a validated scenario) and costs no
        // call of the software `floor` the baseline x86-64 target needs.
        let h = if h >= 0.0 { h as i64 } else { h.floor() as i64 };
        h.rem_euclid(24) as usize
    }
}

/// Per-path figures, all for the whole path. Money in USD, moves as fractions of price.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathSummary {
    /// Largest peak-to-trough fall of the mark (largest over assets).
    pub max_drawdown: f64,
    /// The same for the fundamental price: what the exogenous moves alone would give.
    pub exogenous_drawdown: f64,
    /// Endogenous part of the fall, `max_drawdown − exogenous_drawdown` (largest over assets).
    pub amplification: f64,
    /// Largest trough-to-peak rise of the mark (short squeezes).
    pub max_drawup: f64,
    /// The same for the fundamental price.
    pub exogenous_drawup: f64,
    /// How far liquidations pushed the mark below the counterfactual mark (the same random
    /// numbers without liquidations) at any one moment, `max_t ln(C_t / M_t)`, log units;
    /// largest over assets. The cascade rule's endogenous move is the larger of this and
    /// `endogenous_up`.
    pub endogenous_down: f64,
    /// The same upward, `max_t ln(M_t / C_t)`: only buy orders (short liquidations) raise it.
    pub endogenous_up: f64,
    /// Notional liquidated at fill prices.
    pub liquidated_notional: f64,
    pub long_liquidated_notional: f64,
    pub short_liquidated_notional: f64,
    /// Largest notional liquidated within one step.
    pub peak_step_liquidated_notional: f64,
    pub liquidation_count: u32,
    /// Cascade-loop rounds that liquidated something, summed over steps.
    pub cascade_rounds: u32,
    /// Most rounds in one step.
    pub max_rounds_in_step: u32,
    /// Cost of liquidation orders against the pre-trade mid: Σ |fill − mid| × qty.
    pub slippage_cost: f64,
    /// Liquidation fees paid into insurance funds.
    pub fees: f64,
    /// Paid by insurance funds for fills beyond bankruptcy prices.
    pub insurance_fund_draw: f64,
    /// Losses nobody covered (neither the fund nor auto-deleveraging).
    pub bad_debt: f64,
    /// Whether an insurance fund could not cover a shortfall.
    pub fund_exhausted: bool,
    /// Step (counted from 1) of the first shortfall a fund could not cover; 0 if none.
    pub fund_exhausted_at: u32,
    /// Notional closed by auto-deleveraging, at the bankruptcy prices it used.
    pub adl_notional: f64,
    /// Positions auto-deleveraged (fully or partly).
    pub adl_count: u32,
    /// Liquidations that closed only part of a position.
    pub partial_liquidation_count: u32,
    /// Market orders that went through a whole side of a book.
    pub book_exhausted: u32,
    /// Quantity the books could not absorb, valued at the backstop price.
    pub unfilled_notional: f64,
    /// Open interest of the path's population, USD at entry.
    pub open_interest: f64,
    /// Whether the path meets the scenario's cascade definition.
    pub cascade: bool,
    /// Times a circuit breaker halted an asset.
    pub circuit_breaker_halts: u32,
    /// Steps an asset spent halted, summed over assets (the steps in which a halt tripped
    /// not counted).
    pub halted_steps: u32,
    /// Lending liquidations (calls against one collateral of one account).
    pub lending_liquidation_count: u32,
    /// Debt repaid by lending liquidators, USD.
    pub lending_repaid_debt: f64,
    /// Liquidation bonus received by lending liquidators, USD at the oracle (mark) price.
    pub lending_bonus: f64,
    /// Seized collateral sold through the books, USD at fill prices.
    pub lending_sold_notional: f64,
    /// Lending debt written off with no collateral left, USD.
    pub lending_bad_debt: f64,
}

/// Per-path, per-asset figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AssetPathMetrics {
    pub max_drawdown: f64,
    pub exogenous_drawdown: f64,
    pub amplification: f64,
    pub max_drawup: f64,
    pub exogenous_drawup: f64,
    /// `max_t ln(C_t / M_t)`: see [`PathSummary::endogenous_down`].
    pub endogenous_down: f64,
    /// `max_t ln(M_t / C_t)`: see [`PathSummary::endogenous_up`].
    pub endogenous_up: f64,
    pub liquidated_notional: f64,
    /// Mark at the last step over the start price, minus 1.
    pub end_return: f64,
    /// Largest gap between two of the asset's venues at the end of a step (before that
    /// step's arbitrage), `max mid / min mid − 1`; 0 with one book.
    pub max_venue_spread: f64,
}

/// Per-path, per-population figures: which venue's fund ran out and where the losses arose.
/// Each is the change of the path's total ([`PathSummary`]) while that population's
/// positions were settled, so the totals themselves are summed exactly as without them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PopulationPathMetrics {
    /// Notional of this population's positions liquidated, at fill prices.
    pub liquidated_notional: f64,
    pub liquidation_count: u32,
    /// Liquidation fees paid into this population's insurance fund.
    pub fees: f64,
    /// Paid by this population's insurance fund for fills beyond bankruptcy prices.
    pub insurance_fund_draw: f64,
    /// Whether this population's fund met a shortfall it could not cover.
    pub fund_exhausted: bool,
    /// Notional of this population's positions closed by auto-deleveraging.
    pub adl_notional: f64,
    /// Losses of this population's liquidations that nobody covered.
    pub bad_debt: f64,
    /// Funding this population's positions paid, USD (0 without `funding`).
    pub funding_paid: f64,
    /// Funding this population's positions received, USD.
    pub funding_received: f64,
}

impl PopulationPathMetrics {
    /// The path totals the per-population figures are differences of.
    #[inline]
    fn totals(s: &PathSummary) -> [f64; 6] {
        [
            s.long_liquidated_notional + s.short_liquidated_notional,
            f64::from(s.liquidation_count),
            s.fees,
            s.insurance_fund_draw,
            s.adl_notional,
            s.bad_debt,
        ]
    }

    /// Adds what the path's totals gained since `before`.
    #[inline]
    fn add_since(&mut self, before: &[f64; 6], s: &PathSummary) {
        let now = Self::totals(s);
        self.liquidated_notional += now[0] - before[0];
        self.liquidation_count += (now[1] - before[1]) as u32;
        self.fees += now[2] - before[2];
        self.insurance_fund_draw += now[3] - before[3];
        self.adl_notional += now[4] - before[4];
        self.bad_debt += now[5] - before[5];
    }
}

/// What an observer sees at the end of each step, per asset.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssetStep {
    pub fundamental: f64,
    pub mark: f64,
    /// Notional liquidated on this asset during the step, at fill prices.
    pub liquidated_notional: f64,
    /// Quantity liquidated on this asset during the step, base units (so
    /// `liquidated_notional / liquidated_qty` is the step's average fill price).
    pub liquidated_qty: f64,
    /// Resting depth within the book in this step (hour of day × volatility factor), as a
    /// multiplier of the stated depth.
    pub depth_multiplier: f64,
    /// Balance of the insurance funds of the populations on this asset, USD.
    pub insurance_fund: f64,
    /// Gap between the asset's venues at the end of the step, before arbitrage:
    /// `max mid / min mid − 1` (0 with one book).
    pub venue_spread: f64,
}

/// Receives each step of a path (traces, sample-path plots). The summary needs none.
pub trait Observer {
    /// Whether the observer must see steps in which nothing was liquidated. `false` lets the
    /// engine skip building the step's view on quiet steps.
    const QUIET_STEPS: bool = true;

    /// Called once per step after the cascade loop (only for steps with liquidations when
    /// [`Observer::QUIET_STEPS`] is `false`).
    fn on_step(&mut self, step: u32, assets: &[AssetStep]);
}

/// An observer that records nothing (the Monte Carlo hot path).
pub struct NoObserver;

impl Observer for NoObserver {
    const QUIET_STEPS: bool = false;

    #[inline]
    fn on_step(&mut self, _step: u32, _assets: &[AssetStep]) {}
}

/// Steers a path beyond the plain simulation, for rare-event estimation: importance
/// sampling changes the step's draws (and keeps the path's likelihood ratio); splitting
/// switches the path to another random stream from a given step and stops it when its
/// drawdown crosses a level. The plain run uses [`Plain`], for which the engine compiles
/// none of these calls.
pub trait Control {
    /// `false` only for [`Plain`]: the engine then skips every call.
    const ACTIVE: bool = true;

    /// Called after step `step`'s numbers are drawn into `d`, before the returns use them.
    fn on_draws(&mut self, market: &Market, step: u32, d: &mut StepDraws);

    /// The stream key whose draws the path uses from step `step` on, if it changes there.
    fn switch_at(&mut self, step: u32) -> Option<u64>;

    /// Called at the end of step `step` with the running largest drawdown of the mark
    /// (largest over assets); `true` stops the path there.
    fn stop_after(&mut self, step: u32, drawdown: f64) -> bool;
}

/// No control: the plain Monte Carlo path.
pub struct Plain;

impl Control for Plain {
    const ACTIVE: bool = false;

    #[inline(always)]
    fn on_draws(&mut self, _market: &Market, _step: u32, _d: &mut StepDraws) {}

    #[inline(always)]
    fn switch_at(&mut self, _step: u32) -> Option<u64> {
        None
    }

    #[inline(always)]
    fn stop_after(&mut self, _step: u32, _drawdown: f64) -> bool {
        false
    }
}

/// Running extremes of one price series. The prices at which the drawdown or drawup would
/// grow are kept, so a step that sets no new extreme costs two comparisons and no division.
#[derive(Clone, Copy)]
struct Extremes {
    peak: f64,
    trough: f64,
    drawdown: f64,
    drawup: f64,
    /// `peak·(1 − drawdown)`: a price below this deepens the drawdown.
    down_at: f64,
    /// `trough·(1 + drawup)`: a price above this extends the drawup.
    up_at: f64,
}

impl Extremes {
    fn new(p: f64) -> Self {
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
    fn update(&mut self, p: f64) {
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
struct Endogenous {
    down: f64,
    up: f64,
}

impl Endogenous {
    /// Records `gap = ln(M_t / C_t)`.
    #[inline(always)]
    fn record(&mut self, gap: f64) {
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
    fn record_book(&mut self, book: &BookState, floor: f64, fundamental: f64, mark: f64) {
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
    fn covers(&self, log_permanent: f64) -> bool {
        self.down >= -log_permanent && self.up >= log_permanent
    }
}

/// Simulates path `path` and writes per-asset figures into `per_asset` (one per asset).
pub fn simulate_path<O: Observer>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    observer: &mut O,
) -> PathSummary {
    simulate_controlled(market, path, per_asset, observer, &mut Plain)
}

/// [`simulate_path`] steered by `control` (rare-event estimation). The per-path
/// population is always drawn from path `path`'s own stream.
pub fn simulate_controlled<O: Observer, C: Control>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    observer: &mut O,
    control: &mut C,
) -> PathSummary {
    let mut per_population = vec![PopulationPathMetrics::default(); market.populations.len()];
    simulate_full(
        market,
        path,
        per_asset,
        &mut per_population,
        observer,
        control,
    )
}

/// [`simulate_controlled`] that also gives the per-population figures in `per_population`
/// (one per `market.populations`, zeroed by the caller).
pub fn simulate_full<O: Observer, C: Control>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    per_population: &mut [PopulationPathMetrics],
    observer: &mut O,
    control: &mut C,
) -> PathSummary {
    debug_assert_eq!(per_population.len(), market.populations.len());
    let mut rng = market.path_rng(path);
    let mut jump_rng = market.path_rng(path);
    jump_rng.set_word_pos(JUMP_WORD_OFFSET);
    let n_assets = market.assets.len();
    debug_assert_eq!(per_asset.len(), n_assets);

    // Per-path populations, drawn from far along the path's own stream; in fixed mode the
    // path's replicate.
    let replicate = market.replicate_of(path).map(|r| market.replicate(r));
    let owned: Vec<Positions> = if replicate.is_none() {
        market.draw_path_populations(path)
    } else {
        Vec::new()
    };
    let pops: Vec<&Positions> = replicate.map_or(&owned, |r| &r.positions).iter().collect();

    // Fixed populations: computed once per replicate, so a path never touches positions it
    // does not liquidate.
    let open_interest = replicate.map_or_else(
        || pops.iter().map(|p| p.open_interest()).sum(),
        |r| r.open_interest,
    );
    let mut summary = PathSummary {
        open_interest,
        ..PathSummary::default()
    };
    let mut venues: Vec<Venue> = market
        .populations
        .iter()
        .map(|p| Venue::new(p.insurance_fund))
        .collect();
    if market.funding {
        for ((v, pm), pos) in venues.iter_mut().zip(&market.populations).zip(&pops) {
            if pm.funding.is_some() {
                v.start_funding(pos);
            }
        }
    }
    let mut lenders: Vec<LendingVenue> = market.lending.iter().map(LendingVenue::new).collect();
    // Lending works per asset; its seized collateral is sold on the asset's first book (its
    // only book, or its first venue), at that book's round price.
    let mut lend_qty = vec![
        0.0;
        if lenders.is_empty() {
            0
        } else {
            market.assets.len()
        }
    ];
    let mut lend_px = lend_qty.clone();

    let mut log_f: Vec<f64> = market.assets.iter().map(|a| a.start_price.ln()).collect();
    let mut fundamental: Vec<f64> = market.assets.iter().map(|a| a.start_price).collect();
    // Books (one per asset, or one per venue of an asset with venues) and their mids.
    let n_books = market.slots.len();
    let mut books = vec![BookState::default(); n_books];
    let mut mid: Vec<f64> = market.slots.iter().map(|b| fundamental[b.asset]).collect();
    let mut mark = fundamental.clone();
    // Whether a book's mid must be recomputed (its fundamental or its book changed).
    let mut dirty = vec![false; n_books];
    // The lagged index of each asset with venues; its venues' spread this step.
    let mut indices: Vec<Option<IndexState>> = market
        .assets
        .iter()
        .map(|a| a.venues.as_ref().map(|v| IndexState::new(v, a.start_price)))
        .collect();
    let mut spread = vec![0.0; n_assets];
    let mut price_state: Vec<_> = market.assets.iter().map(|a| a.process.start()).collect();
    let mut draws = market.dependence.draws(n_assets);
    let mut sell_qty = vec![0.0; n_books];
    let mut buy_qty = vec![0.0; n_books];
    let mut sell_px = vec![0.0; n_books];
    let mut buy_px = vec![0.0; n_books];
    let mut step_liq = vec![0.0; n_assets];
    let mut step_qty = vec![0.0; n_assets];
    let mut view = vec![AssetStep::default(); n_assets];
    let mut mark_ext: Vec<Extremes> = fundamental.iter().map(|&p| Extremes::new(p)).collect();
    let mut fund_ext = mark_ext.clone();
    let mut endo = vec![Endogenous::default(); n_assets];
    // End-of-step rules: the previous close, realised variance and depth factor per asset,
    // and the circuit breaker's halts (the last halted step, or -1).
    let mut close = mark.clone();
    let mut realised_var: Vec<f64> = market
        .assets
        .iter()
        .map(|a| a.book.vol_depth.map_or(0.0, |v| v.reference_var))
        .collect();
    let mut vol_factor = vec![1.0; n_assets];
    let mut halts = Halts::new(n_assets);
    let breaker = market.circuit_breaker.as_ref();
    let track_close = breaker.is_some() || market.assets.iter().any(|a| a.book.vol_depth.is_some());

    // The quiet lane (below) needs one book per asset and no rule that acts on quiet steps:
    // lending, the circuit breaker, volatility depth, or an observer of every step.
    let lane = market.fast_paths != FastPaths::None
        && market.venue_assets.is_empty()
        && !market.funding
        && lenders.is_empty()
        && breaker.is_none()
        && !track_close
        && !O::QUIET_STEPS;
    // Per asset, the highest armed long and lowest armed short trigger of its populations;
    // recomputed after any step that went through the cascade loop.
    let mut band = vec![(f64::NEG_INFINITY, f64::INFINITY); if lane { n_assets } else { 0 }];
    let mut band_stale = true;
    // One asset, one book, no control: the quiet lane runs as a tight loop of its own.
    let solo = lane && market.fast_paths == FastPaths::All && n_assets == 1 && !C::ACTIVE;
    let solo_ret = if solo {
        market.assets[0].process.solo_return(&market.dependence)
    } else {
        None
    };

    let mut step = 0;
    while step < market.steps {
        if solo {
            // Called once per step that went through the cascade loop (and at the start).
            armed_bands(market, &venues, &pops, &mut band);
            let mut lane = Solo {
                ret: solo_ret,
                rng: &mut rng,
                jump_rng: &mut jump_rng,
                draws: &mut draws,
                price_state: &mut price_state[0],
                log_f: &mut log_f[0],
                fundamental: &mut fundamental[0],
                book: &mut books[0],
                mid: &mut mid[0],
                mark: &mut mark[0],
                mark_ext: &mut mark_ext[0],
                fund_ext: &mut fund_ext[0],
                endo: &mut endo[0],
            };
            match lane.run(market, step, band[0]) {
                Some(s) => step = s,
                None => break,
            }
            dirty[0] = false;
        } else {
            if C::ACTIVE
                && let Some(key) = control.switch_at(step)
            {
                rng = market.path_rng(key);
                jump_rng = market.path_rng(key);
                jump_rng.set_word_pos(JUMP_WORD_OFFSET);
            }
            // 1. Fundamentals.
            market
                .dependence
                .draw(step, &mut draws, &mut rng, &mut jump_rng);
            if C::ACTIVE {
                control.on_draws(market, step, &mut draws);
            }
            for a in 0..n_assets {
                let r = market.assets[a].process.log_return(
                    a,
                    step,
                    &draws,
                    &mut price_state[a],
                    &mut rng,
                );
                if r != 0.0 {
                    // Validation keeps prices far inside this range; the clamp makes overflow to
                    // inf or underflow to 0 impossible even for the wildest fat-tailed draw.
                    log_f[a] = (log_f[a] + r).clamp(-700.0, 700.0);
                    fundamental[a] = log_f[a].exp();
                    let m = &market.assets[a];
                    if m.venues.is_none() {
                        dirty[m.first_slot] = true;
                    } else {
                        dirty[market.books_of(a)].fill(true);
                    }
                }
            }
            // 2. Books: refill; the quiet lane.
            for (b, (book, d)) in books.iter_mut().zip(dirty.iter_mut()).enumerate() {
                *d |= book.refill(market.shape(b));
            }
            // The quiet lane: every mark strictly inside its asset's armed band, so the cascade
            // loop would find nothing and the step only records the extremes.
            if lane {
                if band_stale {
                    armed_bands(market, &venues, &pops, &mut band);
                    band_stale = false;
                }
                refresh_mids(
                    market,
                    &mut books,
                    &fundamental,
                    &mut dirty,
                    &mut mid,
                    &mut mark,
                );
                if mark.iter().zip(&band).all(|(&m, &(l, s))| m > l && m < s) {
                    for a in 0..n_assets {
                        mark_ext[a].update(mark[a]);
                        fund_ext[a].update(fundamental[a]);
                        let b = market.assets[a].first_slot;
                        endo[a].record_book(
                            &books[b],
                            market.shape(b).floor,
                            fundamental[a],
                            mark[a],
                        );
                    }
                    if C::ACTIVE && control.stop_after(step, deepest(&mark_ext)) {
                        break;
                    }
                    step += 1;
                    continue;
                }
                band_stale = true;
            }
        }
        // Hour of day; halts.
        let hour = market.hour_of(step);
        for a in 0..n_assets {
            step_liq[a] = 0.0;
            step_qty[a] = 0.0;
        }
        // A lagged mark stays at the index of `k` steps ago for the whole step.
        for &a in &market.venue_assets {
            if let Some(m) = indices[a].as_ref().and_then(IndexState::lagged) {
                mark[a] = m;
            }
        }
        if breaker.is_some() {
            summary.halted_steps += halts.start_step(step);
        }
        // 3. Cascade loop.
        let mut rounds = 0u32;
        while rounds < market.max_rounds {
            // Several books give their asset's mark through their index.
            refresh_mids(
                market,
                &mut books,
                &fundamental,
                &mut dirty,
                &mut mid,
                &mut mark,
            );
            for (s, b) in sell_qty.iter_mut().zip(buy_qty.iter_mut()) {
                *s = 0.0;
                *b = 0.0;
            }
            for &a in &market.venue_assets {
                if let Some(v) = market.assets[a].venues.as_ref().filter(|v| v.lag == 0) {
                    mark[a] = arbitrage::index(&mid[market.books_of(a)], &v.weights);
                }
            }
            if let Some(cb) = breaker {
                summary.circuit_breaker_halts += halts.trip(cb, step, &mark, &close);
            }
            // Funding falls at the start of a step, at the price its positions trigger on,
            // before anything is liquidated (a halt stops trading, not funding).
            if market.funding && rounds == 0 {
                pay_funding(
                    market,
                    step,
                    (&mark, &mid, &fundamental),
                    &mut venues,
                    per_population,
                );
            }
            for (k, pos) in pops.iter().enumerate() {
                let pm = &market.populations[k];
                // A halted asset trades nothing: its triggered positions wait for the halt
                // to end (and are neither collected nor settled meanwhile).
                if breaker.is_some() && halts.halted[pm.asset] {
                    continue;
                }
                let px = if pm.on_mid {
                    mid[pm.slot]
                } else {
                    mark[pm.asset]
                };
                let (sq, bq) = venues[k].collect(pos, pm, px);
                sell_qty[pm.slot] += sq;
                buy_qty[pm.slot] += bq;
            }
            if !lenders.is_empty() {
                let halted = breaker.is_some().then_some(&halts.halted[..]);
                lend_qty.fill(0.0);
                lending::collect(&mut lenders, &market.lending, &mark, halted, &mut lend_qty);
                for (m, &q) in market.assets.iter().zip(&lend_qty) {
                    sell_qty[m.first_slot] += q;
                }
            }
            if sell_qty.iter().chain(&buy_qty).all(|&q| q == 0.0) {
                break;
            }
            rounds += 1;
            // Opposite liquidations cross internally at the book's mid; the net walks it.
            for b in 0..n_books {
                let (sq, bq) = (sell_qty[b], buy_qty[b]);
                if sq == 0.0 && bq == 0.0 {
                    continue;
                }
                let a = market.slots[b].asset;
                let shape = market.shape(b);
                let m = mid[b];
                let crossed = sq.min(bq);
                let net = sq - bq;
                let hourly = shape.hourly[hour] * vol_factor[a];
                sell_px[b] = m;
                buy_px[b] = m;
                if net != 0.0 {
                    dirty[b] = true;
                    let sell = net > 0.0;
                    let fill =
                        books[b].market_order(shape, fundamental[a], sell, net.abs(), hourly);
                    summary.slippage_cost += (fill.notional - net.abs() * m).abs();
                    summary.book_exhausted += u32::from(fill.exhausted);
                    if fill.unfilled > 0.0 {
                        summary.unfilled_notional += fill.notional - fill.vwap() * fill.filled;
                    }
                    let px = (crossed * m + fill.notional) / (crossed + net.abs());
                    if sell {
                        sell_px[b] = px;
                    } else {
                        buy_px[b] = px;
                    }
                }
            }
            // Settle every liquidated position at its side's price.
            for (k, pos) in pops.iter().enumerate() {
                let pm = &market.populations[k];
                let a = pm.asset;
                if breaker.is_some() && halts.halted[a] {
                    continue;
                }
                let round = Round {
                    mark: if pm.on_mid { mid[pm.slot] } else { mark[a] },
                    sell_px: sell_px[pm.slot],
                    buy_px: buy_px[pm.slot],
                    step,
                };
                let before = PopulationPathMetrics::totals(&summary);
                let f = venues[k].settle(pos, pm, &round, &mut summary);
                per_population[k].add_since(&before, &summary);
                step_liq[a] += f.notional;
                step_qty[a] += f.qty;
            }
            if !lenders.is_empty() {
                for (px, m) in lend_px.iter_mut().zip(&market.assets) {
                    *px = sell_px[m.first_slot];
                }
                for (l, lm) in lenders.iter_mut().zip(&market.lending) {
                    l.settle(lm, &lend_px, &mut summary);
                }
            }
        }
        summary.cascade_rounds += rounds;
        summary.max_rounds_in_step = summary.max_rounds_in_step.max(rounds);

        // 4. Record; end-of-step rules (breaker, realised volatility and the depth it leaves).
        refresh_mids(
            market,
            &mut books,
            &fundamental,
            &mut dirty,
            &mut mid,
            &mut mark,
        );
        // Venues: their spread, then arbitrage pulls them together and the index is stored.
        for &a in &market.venue_assets {
            let (Some(v), Some(ix)) = (&market.assets[a].venues, indices[a].as_mut()) else {
                continue;
            };
            let r = market.books_of(a);
            // The counterfactual mark: the index of the venues' mids without liquidations,
            // lagged like the mark (read before this step's index is stored).
            let undisturbed = v.undisturbed_index(fundamental[a]);
            let counterfactual = ix.lagged_undisturbed().unwrap_or(undisturbed);
            let (gap, index) = ix.end_of_step(
                v,
                &mut books[r.clone()],
                &mut mid[r],
                fundamental[a],
                undisturbed,
            );
            spread[a] = gap;
            per_asset[a].max_venue_spread = per_asset[a].max_venue_spread.max(gap);
            if v.lag == 0 {
                mark[a] = index;
            }
            if v.len() == 1 && v.lag == 0 {
                // One venue marked live is the asset's book: measured as such, to the bit.
                let b = market.books_of(a).start;
                endo[a].record_book(&books[b], v.books[0].floor, fundamental[a], mark[a]);
            } else {
                endo[a].record((mark[a] / counterfactual).ln());
            }
        }
        let mut step_total = 0.0;
        for a in 0..n_assets {
            let m = mark[a];
            debug_assert!(
                m.is_finite() && m > 0.0,
                "mark must stay positive and finite"
            );
            mark_ext[a].update(m);
            fund_ext[a].update(fundamental[a]);
            let asset = &market.assets[a];
            if asset.venues.is_none() {
                let b = asset.first_slot;
                endo[a].record_book(&books[b], market.shape(b).floor, fundamental[a], m);
            }
            per_asset[a].liquidated_notional += step_liq[a];
            step_total += step_liq[a];
        }
        // What the observer sees, built only for an observer that wants this step (the
        // Monte Carlo run's realised heatmap looks at steps with liquidations only).
        let record = O::QUIET_STEPS || step_total > 0.0;
        if record {
            for a in 0..n_assets {
                view[a] = AssetStep {
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
                view[p.asset].insurance_fund += venues[k].fund;
            }
        }
        if track_close {
            if let Some(cb) = breaker {
                summary.circuit_breaker_halts += halts.trip(cb, step, &mark, &close);
            }
            for a in 0..n_assets {
                if let Some(v) = &market.assets[a].book.vol_depth {
                    realised_var[a] = v.update(realised_var[a], (mark[a] / close[a]).ln());
                    vol_factor[a] = v.multiplier(realised_var[a]);
                }
                close[a] = mark[a];
            }
        }
        summary.peak_step_liquidated_notional =
            summary.peak_step_liquidated_notional.max(step_total);
        if record {
            observer.on_step(step, &view);
        }
        if C::ACTIVE && control.stop_after(step, deepest(&mark_ext)) {
            break;
        }
        step += 1;
    }

    summary.liquidated_notional =
        summary.long_liquidated_notional + summary.short_liquidated_notional;
    for (p, v) in per_population.iter_mut().zip(&venues) {
        p.fund_exhausted = v.exhausted;
    }
    for a in 0..n_assets {
        let m = &mut per_asset[a];
        m.max_drawdown = mark_ext[a].drawdown;
        m.exogenous_drawdown = fund_ext[a].drawdown;
        m.amplification = m.max_drawdown - m.exogenous_drawdown;
        m.max_drawup = mark_ext[a].drawup;
        m.exogenous_drawup = fund_ext[a].drawup;
        m.endogenous_down = endo[a].down;
        m.endogenous_up = endo[a].up;
        m.end_return = mark[a] / market.assets[a].start_price - 1.0;
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

/// Pays the funding that falls at the start of `step` (see `model::funding`): per
/// population with a `funding` table, at the price its positions trigger on (`prices`: the
/// marks, the books' mids and the fundamentals). Out of line: scenarios without funding never
/// call it.
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

/// The path's deepest drawdown so far, over its assets' marks.
fn deepest(mark_ext: &[Extremes]) -> f64 {
    mark_ext.iter().fold(0.0f64, |m, e| m.max(e.drawdown))
}

/// Per asset, the band of marks at which none of its populations' venues would find a
/// triggered position: (highest armed long trigger, lowest armed short trigger).
fn armed_bands(market: &Market, venues: &[Venue], pops: &[&Positions], band: &mut [(f64, f64)]) {
    band.fill((f64::NEG_INFINITY, f64::INFINITY));
    for ((v, pos), pm) in venues.iter().zip(pops).zip(&market.populations) {
        let (long, short) = v.armed(pos);
        let b = &mut band[pm.asset];
        *b = (b.0.max(long), b.1.min(short));
    }
}

/// The quiet lane of a path with one asset and one book and no control, as a loop of its
/// own: the state it touches, borrowed from the path's, its scalars held in registers.
struct Solo<'a> {
    /// The lone asset's step as one inlinable function, when it is that simple
    /// (`PriceProcess::solo_return`, found once per path).
    ret: Option<SoloReturn<'a>>,
    rng: &'a mut ChaCha8Rng,
    jump_rng: &'a mut ChaCha8Rng,
    draws: &'a mut StepDraws,
    price_state: &'a mut PriceState,
    log_f: &'a mut f64,
    fundamental: &'a mut f64,
    book: &'a mut BookState,
    mid: &'a mut f64,
    mark: &'a mut f64,
    mark_ext: &'a mut Extremes,
    fund_ext: &'a mut Extremes,
    endo: &'a mut Endogenous,
}

impl Solo<'_> {
    /// From `step` on: draws the step's return, refills the book and updates the mid and
    /// mark (the general step's stage 1, refill and `refresh_mids`, in the same order with
    /// the same arithmetic) and, while the mark stays strictly inside `band` (nothing is
    /// triggered), records the extremes and goes on. Returns the first step whose mark left
    /// the band, its draws, refill and mid done, or `None` when the path ended.
    fn run(&mut self, market: &Market, step: u32, band: (f64, f64)) -> Option<u32> {
        let process = &market.assets[0].process;
        match self.ret {
            // The step's draws as one small inlined function, as in the floor benchmark.
            Some(ret) => self.run_with(market, step, band, |step, st, rng, _, _| {
                ret.log_return(step, st, rng)
            }),
            None => self.run_with(market, step, band, |step, st, rng, jump_rng, draws| {
                market.dependence.draw(step, draws, rng, jump_rng);
                process.log_return(0, step, draws, st, rng)
            }),
        }
    }

    #[inline(never)]
    fn run_with<F>(
        &mut self,
        market: &Market,
        mut step: u32,
        band: (f64, f64),
        mut log_return: F,
    ) -> Option<u32>
    where
        F: FnMut(u32, &mut PriceState, &mut ChaCha8Rng, &mut ChaCha8Rng, &mut StepDraws) -> f64,
    {
        let asset = &market.assets[0];
        let shape = &asset.book;
        let mut log_f = *self.log_f;
        let mut fundamental = *self.fundamental;
        let mut book = *self.book;
        let mut mid = *self.mid;
        let mut mark_ext = *self.mark_ext;
        let mut fund_ext = *self.fund_ext;
        let mut endo = *self.endo;
        // While the log fundamental stays inside `skip`, the step changes nothing but the
        // log fundamental: the book is whole, the mark is inside the band and sets no new
        // extreme, nor does the fundamental. Its `exp`, the mid and the extremes wait.
        let mut skip = NO_SKIP;
        // Whether `fundamental` (and the mid) are those of the current `log_f`.
        let mut fresh = true;
        let stop = loop {
            let r = log_return(step, self.price_state, self.rng, self.jump_rng, self.draws);
            if r != 0.0 {
                log_f = (log_f + r).clamp(-700.0, 700.0);
            }
            if log_f > skip.0 && log_f < skip.1 {
                fresh &= r == 0.0;
            } else {
                let mut dirty = false;
                if r != 0.0 || !fresh {
                    fundamental = log_f.exp();
                    dirty = true;
                    fresh = true;
                }
                dirty |= book.refill(shape);
                if dirty {
                    mid = book.mid(shape, fundamental);
                }
                if !(mid > band.0 && mid < band.1) {
                    break Some(step);
                }
                mark_ext.update(mid);
                fund_ext.update(fundamental);
                endo.record_book(&book, shape.floor, fundamental, mid);
                skip = skip_interval(&book, shape, band, &mark_ext, &fund_ext, &endo);
            }
            step += 1;
            if step == market.steps {
                break None;
            }
        };
        if !fresh {
            fundamental = log_f.exp();
            mid = book.mid(shape, fundamental);
        }
        *self.log_f = log_f;
        *self.fundamental = fundamental;
        *self.book = book;
        *self.mid = mid;
        *self.mark = mid;
        *self.mark_ext = mark_ext;
        *self.fund_ext = fund_ext;
        *self.endo = endo;
        stop
    }
}

/// An empty interval: no step is skipped.
const NO_SKIP: (f64, f64) = (f64::INFINITY, f64::NEG_INFINITY);

/// The open interval of log fundamentals at which a lone asset's quiet step changes nothing
/// but the log fundamental (see `Solo::run_with`): with a whole book the mark is
/// `max(F·e^p, floor)` (`p` the permanent offset), and neither it nor `F` may leave the
/// range in which [`Extremes::update`] does nothing, nor the mark the armed band; the
/// endogenous gap is then `p` exactly (both prices above the floor), so the interval is empty
/// unless `p` is already inside the recorded extremes. Found in
/// log space and shrunk by `1e-9` on each side, far more than the few ulps by which
/// `exp`, `ln` and the product can differ from exact arithmetic, so a step inside it is
/// certain to be one of those steps. Empty unless the book is whole.
fn skip_interval(
    book: &BookState,
    shape: &BookShape,
    band: (f64, f64),
    mark: &Extremes,
    fund: &Extremes,
    endo: &Endogenous,
) -> (f64, f64) {
    const MARGIN: f64 = 1e-9;
    if !book.is_whole() || !endo.covers(book.log_permanent) {
        return NO_SKIP;
    }
    let mark_lo = band.0.max(mark.down_at).max(mark.trough).max(shape.floor);
    let mark_hi = band.1.min(mark.peak).min(mark.up_at);
    let fund_lo = fund.down_at.max(fund.trough).max(shape.floor);
    let fund_hi = fund.peak.min(fund.up_at);
    let p = book.log_permanent;
    let lo = (mark_lo.ln() - p).max(fund_lo.ln()) + MARGIN;
    let hi = (mark_hi.ln() - p).min(fund_hi.ln()) - MARGIN;
    (lo, hi)
}

/// Recomputes the mid of every book whose fundamental or depth changed (`dirty`); an asset's
/// only book gives its mark too.
#[inline(always)]
fn refresh_mids(
    market: &Market,
    books: &mut [BookState],
    fundamental: &[f64],
    dirty: &mut [bool],
    mid: &mut [f64],
    mark: &mut [f64],
) {
    for (b, ((book, d), m)) in books
        .iter_mut()
        .zip(dirty.iter_mut())
        .zip(mid.iter_mut())
        .enumerate()
    {
        if *d {
            let slot = market.slots[b];
            *m = book.mid(market.shape(b), fundamental[slot.asset]);
            *d = false;
            if slot.single {
                mark[slot.asset] = *m;
            }
        }
    }
}

/// Per-path state of the circuit breaker: which assets are halted, and through which step.
struct Halts {
    halted: Vec<bool>,
    /// Last halted step of each asset (-1: none).
    through: Vec<i64>,
}

impl Halts {
    fn new(n: usize) -> Halts {
        Halts {
            halted: vec![false; n],
            through: vec![-1; n],
        }
    }

    /// Updates the halts for the start of `step`; returns how many assets are halted.
    fn start_step(&mut self, step: u32) -> u32 {
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
    fn trip(&mut self, cb: &CircuitBreaker, step: u32, mark: &[f64], close: &[f64]) -> u32 {
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

/// Applies the scenario's cascade definition.
pub fn is_cascade(
    rule: &CascadeRule,
    endogenous_move: f64,
    liquidated: f64,
    open_interest: f64,
) -> bool {
    let share = if open_interest > 0.0 {
        liquidated / open_interest
    } else {
        0.0
    };
    let tests = [
        rule.endogenous_move.map(|t| endogenous_move >= t),
        rule.liquidated_oi_share
            .map(|t| share >= t && liquidated > 0.0),
    ];
    let given = tests.iter().flatten();
    if rule.require_all {
        let mut any = false;
        for &t in given {
            if !t {
                return false;
            }
            any = true;
        }
        any
    } else {
        given.into_iter().any(|&t| t)
    }
}
