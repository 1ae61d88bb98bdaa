//! One Monte Carlo path: the market built once per run ([`Market`]), the per-step update
//! (fundamentals → book refill → cascade loop → record) and the per-path summary.
//!
//! The engine owns the loop and its termination; recording beyond the summary plugs in as
//! an [`Observer`], so the hot loop carries no I/O. Path `i` draws from ChaCha8 seeded with
//! the run seed on stream `i`, so any path can be replayed alone.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use crate::model::book::{BookShape, BookState};
use crate::model::margin::{MarginSchedule, PartialRule};
use crate::model::population::{self, Positions};
use crate::model::price::{Dependence, PriceProcess};
use crate::scenario::{CascadeRule, CircuitBreaker, Population, PopulationMode, Scenario};

pub mod realised;
pub mod trace;
mod venue;

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
    /// Open interest of the fixed populations (None in per-path mode).
    fixed_oi: Option<f64>,
}

/// One asset's price process and book.
#[derive(Debug, Clone)]
pub struct AssetModel {
    pub name: String,
    pub start_price: f64,
    pub process: PriceProcess,
    pub book: BookShape,
}

/// One population's venue rules and, in fixed mode, its positions.
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
    /// Shared positions (fixed mode) — `None` when every path draws its own.
    pub positions: Option<Positions>,
    spec: Population,
}

impl Market {
    /// Builds the shared market: precomputes processes and books and, in fixed mode, draws
    /// every population from the run seed (population `k` on ChaCha8 stream `u64::MAX − k`,
    /// which no path uses).
    pub fn new(s: &Scenario) -> Market {
        let dt = s.dt_years();
        let assets: Vec<AssetModel> = s
            .assets
            .iter()
            .map(|a| AssetModel {
                name: a.name.clone(),
                start_price: a.price,
                process: if s.dependence.shared_t_mixing {
                    PriceProcess::new(a, dt).with_shared_mixing()
                } else {
                    PriceProcess::new(a, dt)
                },
                book: BookShape::new(&a.book, s.simulation.step_seconds),
            })
            .collect();
        let fixed = s.simulation.population_mode == PopulationMode::Fixed;
        let populations: Vec<PopulationModel> = s
            .populations
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let positions = fixed.then(|| {
                    let mut rng = ChaCha8Rng::seed_from_u64(s.simulation.seed);
                    rng.set_stream(u64::MAX - k as u64);
                    population::build(p, s.assets[p.asset].price, &mut rng)
                });
                PopulationModel {
                    asset: p.asset,
                    fee: p.liquidation_fee,
                    insurance_fund: p.insurance_fund,
                    margin: p.margin.clone(),
                    partial: p.partial,
                    auto_deleverage: p.auto_deleverage,
                    positions,
                    spec: p.clone(),
                }
            })
            .collect();
        let fixed_oi = populations
            .iter()
            .map(|p: &PopulationModel| p.positions.as_ref().map(Positions::open_interest))
            .sum();
        Market {
            fixed_oi,
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
        }
    }

    /// The random stream of path `path`.
    pub fn path_rng(&self, path: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(path);
        rng
    }

    /// Open interest of the fixed populations (USD), or `None` in per-path mode.
    pub fn fixed_open_interest(&self) -> Option<f64> {
        self.fixed_oi
    }

    /// Total number of positions in fixed mode.
    pub fn fixed_position_count(&self) -> Option<usize> {
        self.populations
            .iter()
            .map(|p| p.positions.as_ref().map(|x| x.longs.len() + x.shorts.len()))
            .sum()
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
}

/// Per-path, per-asset figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AssetPathMetrics {
    pub max_drawdown: f64,
    pub exogenous_drawdown: f64,
    pub amplification: f64,
    pub max_drawup: f64,
    pub exogenous_drawup: f64,
    pub liquidated_notional: f64,
    /// Mark at the last step over the start price, minus 1.
    pub end_return: f64,
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

/// Simulates path `path` and writes per-asset figures into `per_asset` (one per asset).
pub fn simulate_path<O: Observer>(
    market: &Market,
    path: u64,
    per_asset: &mut [AssetPathMetrics],
    observer: &mut O,
) -> PathSummary {
    let mut rng = market.path_rng(path);
    let mut jump_rng = market.path_rng(path);
    jump_rng.set_word_pos(JUMP_WORD_OFFSET);
    let n_assets = market.assets.len();
    debug_assert_eq!(per_asset.len(), n_assets);

    // Per-path populations, drawn from far along the path's own stream.
    let owned: Vec<Positions> = if market.population_mode == PopulationMode::PerPath {
        let mut prng = market.path_rng(path);
        prng.set_word_pos(POPULATION_WORD_OFFSET);
        market
            .populations
            .iter()
            .map(|p| population::build(&p.spec, market.assets[p.asset].start_price, &mut prng))
            .collect()
    } else {
        Vec::new()
    };
    let pops: Vec<&Positions> = market
        .populations
        .iter()
        .enumerate()
        .map(|(k, p)| p.positions.as_ref().unwrap_or_else(|| &owned[k]))
        .collect();

    // Fixed populations: computed once per run, so a path never touches positions it does
    // not liquidate.
    let open_interest = market
        .fixed_oi
        .unwrap_or_else(|| pops.iter().map(|p| p.open_interest()).sum());
    let mut summary = PathSummary {
        open_interest,
        ..PathSummary::default()
    };
    let mut venues: Vec<Venue> = market
        .populations
        .iter()
        .map(|p| Venue::new(p.insurance_fund))
        .collect();

    let mut log_f: Vec<f64> = market.assets.iter().map(|a| a.start_price.ln()).collect();
    let mut fundamental: Vec<f64> = market.assets.iter().map(|a| a.start_price).collect();
    let mut books = vec![BookState::default(); n_assets];
    let mut mark = fundamental.clone();
    // Whether an asset's mark must be recomputed (its fundamental or its book changed).
    let mut dirty = vec![false; n_assets];
    let mut price_state: Vec<_> = market.assets.iter().map(|a| a.process.start()).collect();
    let mut draws = market.dependence.draws(n_assets);
    let mut sell_qty = vec![0.0; n_assets];
    let mut buy_qty = vec![0.0; n_assets];
    let mut sell_px = vec![0.0; n_assets];
    let mut buy_px = vec![0.0; n_assets];
    let mut step_liq = vec![0.0; n_assets];
    let mut step_qty = vec![0.0; n_assets];
    let mut view = vec![AssetStep::default(); n_assets];
    let mut mark_ext: Vec<Extremes> = fundamental.iter().map(|&p| Extremes::new(p)).collect();
    let mut fund_ext = mark_ext.clone();
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

    for step in 0..market.steps {
        // 1. Fundamentals.
        market
            .dependence
            .draw(step, &mut draws, &mut rng, &mut jump_rng);
        for a in 0..n_assets {
            let r =
                market.assets[a]
                    .process
                    .log_return(a, step, &draws, &mut price_state[a], &mut rng);
            if r != 0.0 {
                // Validation keeps prices far inside this range; the clamp makes overflow to
                // inf or underflow to 0 impossible even for the wildest fat-tailed draw.
                log_f[a] = (log_f[a] + r).clamp(-700.0, 700.0);
                fundamental[a] = log_f[a].exp();
                dirty[a] = true;
            }
        }
        // 2. Books: refill, hour of day; halts.
        let hour = market.hour_of(step);
        for a in 0..n_assets {
            dirty[a] |= books[a].refill(&market.assets[a].book);
            step_liq[a] = 0.0;
            step_qty[a] = 0.0;
        }
        if breaker.is_some() {
            summary.halted_steps += halts.start_step(step);
        }
        // 3. Cascade loop.
        let mut rounds = 0u32;
        while rounds < market.max_rounds {
            // A mark is recomputed only when its fundamental or its book changed.
            for a in 0..n_assets {
                if dirty[a] {
                    mark[a] = books[a].mid(&market.assets[a].book, fundamental[a]);
                    dirty[a] = false;
                }
                sell_qty[a] = 0.0;
                buy_qty[a] = 0.0;
            }
            if let Some(cb) = breaker {
                summary.circuit_breaker_halts += halts.trip(cb, step, &mark, &close);
            }
            for (k, pos) in pops.iter().enumerate() {
                let pm = &market.populations[k];
                // A halted asset trades nothing: its triggered positions wait for the halt
                // to end (and are neither collected nor settled meanwhile).
                if breaker.is_some() && halts.halted[pm.asset] {
                    continue;
                }
                let (sq, bq) = venues[k].collect(pos, pm, mark[pm.asset]);
                sell_qty[pm.asset] += sq;
                buy_qty[pm.asset] += bq;
            }
            if sell_qty.iter().chain(&buy_qty).all(|&q| q == 0.0) {
                break;
            }
            rounds += 1;
            // Opposite liquidations cross internally at the mark; the net walks the book.
            for a in 0..n_assets {
                let (sq, bq) = (sell_qty[a], buy_qty[a]);
                if sq == 0.0 && bq == 0.0 {
                    continue;
                }
                let m = mark[a];
                let crossed = sq.min(bq);
                let net = sq - bq;
                let hourly = market.assets[a].book.hourly[hour] * vol_factor[a];
                sell_px[a] = m;
                buy_px[a] = m;
                if net != 0.0 {
                    dirty[a] = true;
                    let sell = net > 0.0;
                    let fill = books[a].market_order(
                        &market.assets[a].book,
                        fundamental[a],
                        sell,
                        net.abs(),
                        hourly,
                    );
                    summary.slippage_cost += (fill.notional - net.abs() * m).abs();
                    summary.book_exhausted += u32::from(fill.exhausted);
                    if fill.unfilled > 0.0 {
                        summary.unfilled_notional += fill.notional - fill.vwap() * fill.filled;
                    }
                    let px = (crossed * m + fill.notional) / (crossed + net.abs());
                    if sell {
                        sell_px[a] = px;
                    } else {
                        buy_px[a] = px;
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
                    mark: mark[a],
                    sell_px: sell_px[a],
                    buy_px: buy_px[a],
                    step,
                };
                let f = venues[k].settle(pos, pm, &round, &mut summary);
                step_liq[a] += f.notional;
                step_qty[a] += f.qty;
            }
        }
        summary.cascade_rounds += rounds;
        summary.max_rounds_in_step = summary.max_rounds_in_step.max(rounds);

        // 4. Record; end-of-step rules (breaker, realised volatility and the depth it leaves).
        let mut step_total = 0.0;
        for a in 0..n_assets {
            if dirty[a] {
                mark[a] = books[a].mid(&market.assets[a].book, fundamental[a]);
                dirty[a] = false;
            }
            let m = mark[a];
            debug_assert!(
                m.is_finite() && m > 0.0,
                "mark must stay positive and finite"
            );
            mark_ext[a].update(m);
            fund_ext[a].update(fundamental[a]);
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
    }

    summary.liquidated_notional =
        summary.long_liquidated_notional + summary.short_liquidated_notional;
    let mut endogenous: f64 = 0.0;
    for a in 0..n_assets {
        let m = &mut per_asset[a];
        m.max_drawdown = mark_ext[a].drawdown;
        m.exogenous_drawdown = fund_ext[a].drawdown;
        m.amplification = m.max_drawdown - m.exogenous_drawdown;
        m.max_drawup = mark_ext[a].drawup;
        m.exogenous_drawup = fund_ext[a].drawup;
        m.end_return = mark[a] / market.assets[a].start_price - 1.0;
        summary.max_drawdown = summary.max_drawdown.max(m.max_drawdown);
        summary.exogenous_drawdown = summary.exogenous_drawdown.max(m.exogenous_drawdown);
        summary.max_drawup = summary.max_drawup.max(m.max_drawup);
        summary.exogenous_drawup = summary.exogenous_drawup.max(m.exogenous_drawup);
        endogenous = endogenous
            .max(m.amplification)
            .max(m.max_drawup - m.exogenous_drawup);
        if a == 0 {
            summary.amplification = m.amplification;
        } else {
            summary.amplification = summary.amplification.max(m.amplification);
        }
    }
    summary.cascade = is_cascade(
        &market.cascade,
        endogenous,
        summary.liquidated_notional,
        summary.open_interest,
    );
    summary
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
