//! The critical shock: the smallest instantaneous exogenous move after which the
//! liquidation cascade keeps going on its own.
//!
//! **Definition.** Take the scenario with every asset deterministic (volatility 0, drift 0,
//! no scheduled shocks, jumps or volatility feedback), the fixed population, the scenario's
//! books (with their volatility-dependent depth and price floor), circuit breaker, hour of
//! day, engine speed (`max_rounds`) and step length, and a horizon of [`CriticalOptions::horizon_seconds`].
//! Apply one shock `r` to one asset's fundamental at step 0. The fundamental then stays at
//! `F = price·(1 + r)` and only liquidations move the mark. The **endogenous move** is the
//! log-distance between the fundamental and the mark's extreme over the horizon:
//! `ln(F / min mark)` for a fall, `ln(max mark / F)` for a rise. The cascade **keeps going on
//! its own** when the endogenous move is at least the threshold `θ` (by default the
//! scenario's `cascade.endogenous_move`, else 5%): the liquidations alone carry the price at
//! least `θ` beyond where the shock left it. The critical shock is the smallest `|r|` that
//! does this, searched separately downward (long liquidations) and upward (short squeezes).
//!
//! **Search.** A scan over `|r| = 0, h, 2h, …` up to the range, then bisection between the
//! last scanned shock that does not keep going and the first that does, to an absolute
//! tolerance (`h` = 0.25%, tolerance 10⁻⁶ by default). The scan makes the answer the *first*
//! crossing even where the endogenous move is not monotone in the shock; scanned shocks
//! above the critical one that fall short again are counted (`non_monotone_points`). Within
//! one step the endogenous move is monotone in the shock (a larger shock triggers a superset
//! of positions at every round and the mid falls with the quantity sold); across steps book
//! refill, the hour's depth factor and, for books that are not flat, the permanent-impact
//! bookkeeping can break this, which the count reports.

use serde::Serialize;

use crate::engine::{AssetPathMetrics, Market, NoObserver, simulate_path};
use crate::model::price::PriceProcess;
use crate::model::spec::{Asset, Innovations, PopulationMode, Scenario, Shock};

/// How the critical shock is searched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CriticalOptions {
    /// Endogenous move (log) at or above which the cascade keeps going on its own.
    pub threshold: f64,
    /// Simulated time after the shock, seconds.
    pub horizon_seconds: f64,
    /// Scan step of the shock size (fraction of price).
    pub scan_step: f64,
    /// Largest shock scanned, fraction of price (falls are capped at 95%).
    pub max_shock: f64,
    /// Bisection tolerance on the shock size (fraction of price).
    pub tolerance: f64,
}

/// Most steps a horizon may take (a very short `step_seconds` would otherwise ask for
/// millions).
pub const MAX_HORIZON_STEPS: u32 = 100_000;

/// One deterministic run after a shock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trial {
    /// Shock size, fraction of price (positive both ways).
    pub shock: f64,
    /// The shock as a simple return (negative for falls).
    pub shock_return: f64,
    /// Fundamental after the shock, USD.
    pub price_after_shock: f64,
    /// Mark at its extreme (lowest after a fall, highest after a rise): where the cascade
    /// ended, USD.
    pub end_price: f64,
    /// Mark at the end of the horizon (after the transient impact refilled), USD.
    pub final_price: f64,
    /// Endogenous move, log: `ln(F / end_price)` (fall) or `ln(end_price / F)` (rise).
    pub endogenous_move: f64,
    /// Notional liquidated on this asset at fill prices, USD.
    pub liquidated_notional: f64,
    /// Positions liquidated (all assets; only this one moves).
    pub liquidations: u32,
    /// Cascade rounds that liquidated something, summed over steps.
    pub rounds: u32,
    /// Most rounds in one step (the engine runs at most `max_rounds` per step).
    pub max_rounds_in_step: u32,
    /// Whether some step used all `max_rounds` rounds: the engine's speed limit cut the
    /// cascade there, so `end_price` is where the limit left it, not where it would stop.
    pub round_limit_hit: bool,
    /// Market orders that went through a whole side of the book.
    pub book_exhausted: u32,
    /// Losses nobody covered, USD.
    pub bad_debt: f64,
    /// Whether `endogenous_move ≥ threshold`.
    pub keeps_going: bool,
}

/// The critical shock in one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalShock {
    /// `"down"` (long liquidations) or `"up"` (short squeeze).
    pub direction: &'static str,
    /// Whether a shock within the range keeps the cascade going.
    pub found: bool,
    /// The critical shock size (fraction of price), `None` when not found.
    pub shock: Option<f64>,
    /// The run at the critical shock.
    pub at: Option<Trial>,
    /// The largest tested shock below it that does not keep going (the bisection's other
    /// end), for contrast.
    pub just_below: Option<Trial>,
    /// Largest endogenous move seen in the scan and the shock that gave it.
    pub largest_endogenous_move: f64,
    pub largest_at_shock: f64,
    /// Scanned shocks above the critical one that do not keep going.
    pub non_monotone_points: usize,
    /// The scan: shock sizes, their endogenous moves and liquidated notionals.
    pub scan_shock: Vec<f64>,
    pub scan_endogenous_move: Vec<f64>,
    pub scan_liquidated_notional: Vec<f64>,
    /// One sentence for humans.
    pub note: String,
}

/// Both directions for one asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticalShocks {
    pub down: CriticalShock,
    pub up: CriticalShock,
}

/// A deterministic copy of a scenario's market in which shocks can be tried one by one.
pub struct ShockLab {
    market: Market,
    base: Vec<Asset>,
    dt: f64,
    /// Steps of the horizon.
    pub horizon_steps: u32,
}

impl ShockLab {
    /// Builds the deterministic copy of `scenario`: every asset with volatility, drift,
    /// shocks, jumps and volatility feedback removed, one path, the fixed population (replicate
    /// 0, the one path 0 of a fixed run uses), `horizon_seconds` of steps.
    pub fn new(scenario: &Scenario, horizon_seconds: f64) -> ShockLab {
        let mut s = scenario.clone();
        for a in &mut s.assets {
            a.volatility = 0.0;
            a.drift = 0.0;
            a.innovations = Innovations::Gaussian;
            a.bootstrap = None;
            a.shocks.clear();
            a.jumps = None;
            a.vol_feedback = None;
        }
        s.cholesky = None;
        s.dependence = Default::default();
        let steps = (horizon_seconds / s.simulation.step_seconds).ceil();
        let horizon_steps = if steps.is_finite() && steps >= 1.0 {
            (steps as u32).min(MAX_HORIZON_STEPS)
        } else {
            1
        };
        s.simulation.steps = horizon_steps;
        s.simulation.paths = 1;
        s.simulation.population_mode = PopulationMode::Fixed;
        let market = Market::new(&s);
        ShockLab {
            dt: s.dt_years(),
            base: s.assets,
            market,
            horizon_steps,
        }
    }

    /// The deterministic market (its fixed populations are the scenario's).
    pub fn market(&self) -> &Market {
        &self.market
    }

    /// Runs one shock `ret` (simple return) on asset `asset` and measures the endogenous move
    /// in the shock's direction.
    pub fn trial(&mut self, asset: usize, ret: f64, threshold: f64) -> Trial {
        let mut shocked = self.base[asset].clone();
        shocked.shocks = vec![Shock { step: 0, ret }];
        self.market.assets[asset].process = PriceProcess::new(&shocked, self.dt);
        let mut per = vec![AssetPathMetrics::default(); self.market.assets.len()];
        let sum = simulate_path(&self.market, 0, &mut per, &mut NoObserver);
        self.market.assets[asset].process = PriceProcess::new(&self.base[asset], self.dt);
        let m = &per[asset];
        let p0 = self.market.assets[asset].start_price;
        let fall = ret < 0.0;
        // The engine's own endogenous move (the mark against the fundamental at the same
        // step); with the fundamental held at `F` after the shock it is `ln(F / min mark)`
        // for a fall and `ln(max mark / F)` for a rise.
        let (end_price, endogenous_move) = if fall {
            (p0 * (1.0 - m.max_drawdown), m.endogenous_down)
        } else {
            (p0 * (1.0 + m.max_drawup), m.endogenous_up)
        };
        Trial {
            shock: ret.abs(),
            shock_return: ret,
            price_after_shock: p0 * (1.0 + ret),
            end_price,
            final_price: p0 * (1.0 + m.end_return),
            endogenous_move,
            liquidated_notional: m.liquidated_notional,
            liquidations: sum.liquidation_count,
            rounds: sum.cascade_rounds,
            max_rounds_in_step: sum.max_rounds_in_step,
            round_limit_hit: sum.max_rounds_in_step >= self.market.max_rounds,
            book_exhausted: sum.book_exhausted,
            bad_debt: sum.bad_debt,
            keeps_going: endogenous_move >= threshold,
        }
    }

    /// Searches the critical shock of `asset` in one direction.
    pub fn critical(&mut self, asset: usize, down: bool, o: &CriticalOptions) -> CriticalShock {
        let max = if down {
            o.max_shock.min(0.95)
        } else {
            o.max_shock
        };
        let sign = if down { -1.0 } else { 1.0 };
        let k_max = (max / o.scan_step + 1e-9).floor() as usize;
        let mut scan: Vec<Trial> = Vec::with_capacity(k_max + 1);
        for k in 0..=k_max {
            let s = (k as f64 * o.scan_step).min(max);
            scan.push(self.trial(asset, sign * s, o.threshold));
        }
        let (largest_at_shock, largest) = scan
            .iter()
            .map(|t| (t.shock, t.endogenous_move))
            .fold((0.0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
        let direction = if down { "down" } else { "up" };
        let first = scan.iter().position(|t| t.keeps_going);
        let mut out = CriticalShock {
            direction,
            found: false,
            shock: None,
            at: None,
            just_below: None,
            largest_endogenous_move: largest,
            largest_at_shock,
            non_monotone_points: 0,
            scan_shock: scan.iter().map(|t| t.shock).collect(),
            scan_endogenous_move: scan.iter().map(|t| t.endogenous_move).collect(),
            scan_liquidated_notional: scan.iter().map(|t| t.liquidated_notional).collect(),
            note: String::new(),
        };
        let what = if down { "fall" } else { "rise" };
        let Some(k) = first else {
            out.note = format!(
                "no instantaneous {what} up to {:.1}% makes the cascade carry the price {:.2}% further on its own (largest endogenous move {:.2}% after a {:.2}% {what})",
                100.0 * max,
                100.0 * o.threshold,
                100.0 * largest,
                100.0 * largest_at_shock
            );
            return out;
        };
        out.non_monotone_points = scan[k..].iter().filter(|t| !t.keeps_going).count();
        let (at, below) = if k == 0 {
            (scan[0], None)
        } else {
            let (mut lo, mut hi) = (scan[k - 1], scan[k]);
            while hi.shock - lo.shock > o.tolerance {
                let mid = 0.5 * (lo.shock + hi.shock);
                if mid <= lo.shock || mid >= hi.shock {
                    break;
                }
                let t = self.trial(asset, sign * mid, o.threshold);
                if t.keeps_going {
                    hi = t;
                } else {
                    lo = t;
                }
            }
            (hi, Some(lo))
        };
        out.found = true;
        out.shock = Some(at.shock);
        out.at = Some(at);
        out.just_below = below;
        out.note = if k == 0 {
            format!(
                "the market cascades without any shock: positions are liquidatable at the current price (endogenous move {:.2}%)",
                100.0 * at.endogenous_move
            )
        } else {
            format!(
                "a {:.2}% instantaneous {what} sets off liquidations that carry the price {:.2}% further on their own (to {:.6}); {:.2}% gives only {:.2}%",
                100.0 * at.shock,
                100.0 * at.endogenous_move,
                at.end_price,
                100.0 * below.map_or(0.0, |b| b.shock),
                100.0 * below.map_or(0.0, |b| b.endogenous_move)
            )
        };
        out
    }
}
