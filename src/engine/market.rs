//! The market of a run: everything a path needs that does not change between paths
//! (price processes, books, population rules, lending markets, the population replicates),
//! built once per run from the validated scenario, and the random streams of a path.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use super::accounts::CrossModel;
use super::index::VenueSet;
use super::lending::LendingModel;
use super::replicates::{self, Replicate, Replicates};
use crate::model::accounts;
use crate::model::book::BookShape;
use crate::model::funding::Funding;
use crate::model::lending::draw_accounts;
use crate::model::margin::{MarginSchedule, PartialRule};
use crate::model::population::{self, Positions};
use crate::model::price::{Dependence, PriceProcess};
use crate::model::spec::{
    AccountSource, CascadeRule, CircuitBreaker, CrossMargin, LiquidationEngine, Population,
    PopulationMode, Scenario, TriggerPrice,
};

/// Stream offset (in 32-bit words) at which a path's own population draws start when the
/// population is re-drawn per path; far beyond what the price draws can reach.
const POPULATION_WORD_OFFSET: u128 = 1 << 66;

/// Stream offset (in 32-bit words) of a path's jump draws (counts and sizes), so that jumps
/// leave the diffusion draws where they were.
pub(super) const JUMP_WORD_OFFSET: u128 = 1 << 65;

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
    /// `[cross_margin]`: the accounts, drawn (or read) once per run.
    pub cross_margin: Option<CrossModel>,
    /// Fixed mode: the population replicates (path `i` uses replicate `i mod R`); none in
    /// per-path mode.
    pub(super) replicates: Replicates,
    /// Every book of the run: one per asset, or one per venue of an asset with venues.
    pub(super) slots: Vec<Slot>,
    /// Assets with venues, ascending.
    pub(super) venue_assets: Vec<usize>,
    /// Whether any population pays funding (steps then go through the cascade loop, which
    /// pays it at its first round).
    pub(super) funding: bool,
    /// Which fast paths a path may take ([`FastPaths::All`] but in tests that pin them).
    pub(super) fast_paths: FastPaths,
}

/// Which fast paths the engine may take where a scenario allows them. Every choice gives
/// the same numbers to the bit; tests force the general step to prove it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FastPaths {
    /// The quiet lane, and the loop of quiet steps (lone-asset or several-asset) where the
    /// scenario allows it.
    #[default]
    All,
    /// The quiet lane inside the general step, never the loop of quiet steps.
    LaneOnly,
    /// Every step goes through the general step's cascade loop.
    None,
}

/// One book of the run: whose it is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) asset: usize,
    /// Whether it is the asset's only book (its mid is the asset's mark).
    pub(super) single: bool,
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
    pub(super) first_slot: usize,
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
    /// The venue's liquidation engine (capacity, delay, backstop; `engine::queue`); `None`:
    /// triggered positions reach the book at once, without limit.
    pub engine: Option<LiquidationEngine>,
    /// The book its liquidation orders walk (among all the run's books).
    pub(super) slot: usize,
    /// Whether its positions trigger on their venue's mid rather than the asset's mark.
    pub(super) on_mid: bool,
    pub(super) spec: Population,
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
                engine: p.liquidation_engine,
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
                    liquidator: l.liquidator,
                    collateral: l.collateral.iter().map(|c| c.params).collect(),
                    accounts: draw_accounts(l, &prices, &mut rng),
                }
            })
            .collect();
        let cross_margin = s.cross_margin.as_ref().map(|c| cross_model(s, c));
        Market {
            cross_margin,
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

    /// The shape of book `b` (among all the run's books), whose slot is `s`.
    #[inline(always)]
    pub(super) fn shape(&self, b: usize, s: Slot) -> &BookShape {
        let a = &self.assets[s.asset];
        match &a.venues {
            Some(v) if !s.single => &v.books[b - a.first_slot],
            _ => &a.book,
        }
    }

    /// The books of asset `a` (a range of the run's books).
    #[inline]
    pub(super) fn books_of(&self, a: usize) -> std::ops::Range<usize> {
        let m = &self.assets[a];
        m.first_slot..m.first_slot + m.venues.as_ref().map_or(1, VenueSet::len)
    }

    /// Depth multiplier of the hour that step `step` falls in.
    #[inline]
    pub(super) fn hour_of(&self, step: u32) -> usize {
        let t = self.start_second_of_day + f64::from(step) * self.step_seconds;
        let h = t / 3600.0;
        // Truncation is the floor for h ≥ 0 (always, for a validated scenario) and costs no
        // call of the software `floor` the baseline x86-64 target needs.
        let h = if h >= 0.0 { h as i64 } else { h.floor() as i64 };
        h.rem_euclid(24) as usize
    }
}

/// The cross-margin accounts of `s`: drawn on stream `u64::MAX − 2³³`, which neither a path,
/// a population nor a lending market uses, or read from its file.
fn cross_model(s: &Scenario, c: &CrossMargin) -> CrossModel {
    let start: Vec<f64> = s.assets.iter().map(|a| a.price).collect();
    let accounts = match &c.source {
        AccountSource::Synthetic(x) => {
            let mut rng = ChaCha8Rng::seed_from_u64(s.simulation.seed);
            rng.set_stream(u64::MAX - (1 << 33));
            accounts::draw_accounts(x, &c.assets, &c.maintenance_margin, &start, &mut rng)
        }
        AccountSource::Explicit(r) => accounts::from_records(r, &c.maintenance_margin, &start),
    };
    CrossModel {
        rule: c.rule,
        mm: c.maintenance_margin.clone(),
        start,
        accounts,
    }
}
