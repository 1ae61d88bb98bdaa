//! The validated description of a run, the values every layer below the scenario reader
//! works from: the simulation clock and cascade rule, each asset's price-process parameters
//! and book levels (and venues), the correlation factors, the populations' margin schedules
//! and position sources, the lending markets, and what a run records (`[output]`,
//! `[rare_event]`, `[check]`). `scenario` parses and validates TOML into these types;
//! nothing here knows TOML. Kept in one file so the schema reads in one place, and the
//! computation files of `model` stay free of it.

use super::bootstrap::BlockBootstrap;
use super::funding::Funding;
use super::margin::{MarginSchedule, PartialRule};

/// Magnitudes the engine's arithmetic stays well inside of (the range of `assets.price`, and
/// of a price series' prices). Without them a valid-looking
/// `price = 1e-300` or `open_interest_usd = 1e300` overflowed sizes in coins (USD / price),
/// and an hourly factor of 1e-300 overflowed `qty / factor` in the book walk: liquidated
/// notional, bad debt and slippage came out inf/NaN (shown as null in summary.json).
pub const MIN_PRICE: f64 = 1e-12;
pub const MAX_PRICE: f64 = 1e12;

/// Seconds in the (365-day, 24/7) year used to scale annual volatility and drift.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Human-readable name (`[scenario].name`, or empty).
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// The TOML text it was read from, recorded in every output.
    pub text: String,
    pub simulation: Simulation,
    pub assets: Vec<Asset>,
    /// Lower-triangular Cholesky factor of the asset correlation matrix, row-major n×n.
    /// `None` for a single asset or independent assets.
    pub cholesky: Option<Vec<f64>>,
    /// `[correlation]` beyond the base matrix: later regimes, jump clock, t mixing.
    pub dependence: Dependence,
    pub populations: Vec<Population>,
    /// `[[lending]]`: Aave-style lending markets (accounts with collateral and stablecoin debt).
    pub lending: Vec<LendingMarket>,
    /// `[cross_margin]`: cross-margin accounts (positions on several assets, one collateral).
    pub cross_margin: Option<CrossMargin>,
    /// `[output]`: extra records a run writes (step-by-step traces of chosen paths).
    pub output: OutputSpec,
    /// `[rare_event]`: how a run estimates rare events (absent: plain Monte Carlo).
    pub rare_event: Option<RareEventSpec>,
    /// `[check]`: the settings of `cascadesim check` (a run ignores them).
    pub check: CheckSpec,
}

/// `[check]`: what `cascadesim check` refuses.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CheckSpec {
    /// `no_trade_buffer`: a position whose liquidation price lies within this distance of a
    /// major liquidation cluster is inside the buffer. `None`: no buffer.
    pub no_trade_buffer: Option<Buffer>,
}

/// A distance from a price: a percentage of the current price, or a number of one-day
/// standard deviations of the log-price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Buffer {
    /// Percent of the current price (`"2%"`), in (0, 100).
    Percent(f64),
    /// One-day σ (`"1.5 sigma"` or `"1.5σ"`), in (0, 100].
    Sigma(f64),
}

impl std::fmt::Display for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Buffer::Percent(x) => write!(f, "{x}%"),
            Buffer::Sigma(x) => write!(f, "{x}σ"),
        }
    }
}

/// `[rare_event]`: the estimator of a run and its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RareEventSpec {
    pub method: RareMethod,
    /// Importance sampling: the mean shift of every asset's diffusion normal per step, in
    /// standard deviations (negative: towards falling prices). `None`: chosen by a
    /// cross-entropy pilot run.
    pub tilt: Option<f64>,
    /// Importance sampling: the jump rate of the sampling law over the stated rate (with
    /// `tilt`; `None` with a pilot, which chooses it).
    pub jump_rate_factor: Option<f64>,
    /// Paths per cross-entropy iteration of the pilot run.
    pub pilot_paths: u64,
    /// Splitting: increasing levels of the running largest drawdown of the mark (fractions
    /// of the peak) at which paths are cloned.
    pub levels: Vec<f64>,
    /// Splitting: clones made of a path at each level it crosses.
    pub clones: u32,
}

/// Which rare-event estimator a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RareMethod {
    ImportanceSampling,
    Splitting,
}

/// Default paths per cross-entropy pilot iteration.
pub const DEFAULT_PILOT_PATHS: u64 = 2_000;
/// Default clones per splitting level.
pub const DEFAULT_CLONES: u32 = 4;

impl RareEventSpec {
    /// The settings `--rare-event` gives a scenario without a `[rare_event]` table.
    pub fn defaults(method: RareMethod) -> RareEventSpec {
        RareEventSpec {
            method,
            tilt: None,
            jump_rate_factor: None,
            pilot_paths: DEFAULT_PILOT_PATHS,
            levels: Vec::new(),
            clones: DEFAULT_CLONES,
        }
    }
}

/// `[simulation]`: how many paths, how long, and what counts as a cascade.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub paths: u64,
    pub steps: u32,
    /// Length of one step, seconds.
    pub step_seconds: f64,
    pub seed: u64,
    /// Time of day at step 0, seconds after 00:00 UTC (selects the hourly liquidity factor).
    pub start_second_of_day: f64,
    /// Liquidation-engine rounds per step (the engine's speed).
    pub max_rounds: u32,
    pub population_mode: PopulationMode,
    /// Independent draws of the synthetic populations in fixed mode (path `i` uses replicate
    /// `i mod population_replicates`), so the intervals cover which population was drawn.
    pub population_replicates: u32,
    pub cascade: CascadeRule,
    /// `[simulation.circuit_breaker]`: trading halts after a large one-step move.
    pub circuit_breaker: Option<CircuitBreaker>,
}

/// Halts an asset's trading (no liquidations, no book trades) after its mark moves more than
/// `max_move` within one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CircuitBreaker {
    /// Largest tolerated move of the mark against the previous step's close, fraction.
    pub max_move: f64,
    /// Steps the halt lasts after the step in which it trips.
    pub halt_steps: u32,
}

/// How the assets' random moves depend on each other, beyond the base correlation matrix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependence {
    /// Correlation matrices taking over at later steps (sorted by step).
    pub regimes: Vec<CorrelationRegime>,
    /// One uniform decides the jump counts of every asset (jumps arrive together), and the
    /// jump sizes are correlated like the diffusion.
    pub common_jump_clock: bool,
    /// One χ² mixing variable for every Student-t asset (a multivariate t), instead of one
    /// per asset.
    pub shared_t_mixing: bool,
}

/// A correlation matrix that applies from `from_step` on.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRegime {
    pub from_step: u32,
    /// Lower-triangular Cholesky factor, row-major n×n.
    pub cholesky: Vec<f64>,
}

/// Whether positions are drawn once for the run or afresh for every path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopulationMode {
    /// One population shared by every path (drawn from the run seed).
    Fixed,
    /// Each path draws its own population from its own random stream.
    PerPath,
}

/// When a path counts as a cascade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CascadeRule {
    /// Endogenous move (largest amplification of any asset, fraction of price) at or above
    /// which a path is a cascade.
    pub endogenous_move: Option<f64>,
    /// Liquidated notional as a share of open interest at or above which a path is a cascade.
    pub liquidated_oi_share: Option<f64>,
    /// `true`: every given criterion must hold; `false`: any one is enough.
    pub require_all: bool,
}

/// One asset: its fundamental price process and its order book.
#[derive(Debug, Clone)]
pub struct Asset {
    pub name: String,
    /// Price at step 0, USD.
    pub price: f64,
    /// Annualised volatility of log returns (0.6 = 60%/year).
    pub volatility: f64,
    /// Annualised drift of the price.
    pub drift: f64,
    pub innovations: Innovations,
    /// `innovations = "bootstrap"`: the returns are resampled from a series in blocks
    /// (then `innovations` is unused, `volatility` only the depth law's reference).
    pub bootstrap: Option<BlockBootstrap>,
    /// Scheduled returns, sorted by step.
    pub shocks: Vec<Shock>,
    /// Poisson jumps with normal log sizes (Merton), if any.
    pub jumps: Option<Jumps>,
    /// GARCH(1,1) feedback of large moves into the volatility, if any.
    pub vol_feedback: Option<VolFeedback>,
    pub book: BookSpec,
    /// Several books with an index over them (`[[assets.venues]]`); `None`: one book.
    pub venues: Option<Venues>,
}

/// Merton jumps: a Poisson number of jumps per step, each with a normal log size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jumps {
    /// Expected jumps per day (86,400 s).
    pub rate_per_day: f64,
    /// Mean of a jump's log size.
    pub mean: f64,
    /// Standard deviation of a jump's log size.
    pub sd: f64,
    /// Whether the drift is lowered by `λ·(e^(m + s²/2) − 1)` so jumps leave the expected
    /// price unchanged.
    pub compensate: bool,
}

/// GARCH(1,1) on the per-step variance: `h' = ω + α·x² + β·h`, with `ω` set so the long-run
/// variance is the stated volatility's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolFeedback {
    pub alpha: f64,
    pub beta: f64,
    /// Cap on the volatility as a multiple of the stated one.
    pub max_ratio: f64,
}

/// Distribution of the per-step standardised innovation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Innovations {
    Gaussian,
    /// Student-t with `dof` > 2 degrees of freedom, scaled to unit variance.
    StudentT {
        dof: f64,
    },
}

/// A deterministic return applied to the fundamental price at the start of a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shock {
    pub step: u32,
    /// Simple return, > −1 (−0.08 = an 8% fall).
    pub ret: f64,
}

/// The order book of one asset, as resolved levels.
#[derive(Debug, Clone)]
pub struct BookSpec {
    /// Bid levels, nearest first.
    pub bid: Vec<Level>,
    /// Ask levels, nearest first.
    pub ask: Vec<Level>,
    /// Depth multiplier for each UTC hour (0 = 00:00–01:00).
    pub hourly: [f64; 24],
    /// Half-life of depth recovery after a sweep, seconds.
    pub refill_half_life_s: f64,
    /// Share of each sweep's price move that is permanent (the rest decays as depth refills).
    pub permanent_impact: f64,
    /// Depth that shrinks when realised volatility rises, if any.
    pub vol_depth: Option<VolDepth>,
    /// A backstop bid: sells never fill, and the mark never goes, below this price (USD).
    pub price_floor: Option<f64>,
}

/// Depth multiplier `clamp((σ_ref/σ_realised)^β, min, max)`, σ_realised an EWMA of the mark's
/// squared one-step log returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolDepth {
    pub beta: f64,
    /// σ_ref, annualised.
    pub reference_volatility: f64,
    /// Half-life of the EWMA, seconds.
    pub half_life_s: f64,
    pub min: f64,
    pub max: f64,
}

/// One price level of one side of the book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// Distance from the mid in log-price (≈ fraction: 0.0001 = 1 bp), > 0, increasing.
    pub distance: f64,
    /// Resting size in base units at a depth multiplier of 1.
    pub size: f64,
}

/// Perpetual-futures positions on one asset (one venue, isolated margin).
#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    /// Index into [`Scenario::assets`].
    pub asset: usize,
    pub margin: MarginSchedule,
    /// Liquidation fee, fraction of liquidated notional, paid into the insurance fund.
    pub liquidation_fee: f64,
    /// Insurance fund at step 0, USD.
    pub insurance_fund: f64,
    /// Partial liquidation (`[populations.partial_liquidation]`); `None`: full liquidation.
    pub partial: Option<PartialRule>,
    /// Whether shortfalls the fund cannot cover are auto-deleveraged (`auto_deleverage`).
    pub auto_deleverage: bool,
    /// Funding paid along the path (`funding`); `None`: none is paid.
    pub funding: Option<Funding>,
    /// The venue's liquidation engine (`liquidation_engine`); `None`: every triggered
    /// position reaches the book in the round that finds it, without limit.
    pub liquidation_engine: Option<LiquidationEngine>,
    pub source: PositionSource,
    /// Index into the asset's venues (0 without venues).
    pub venue: usize,
    /// The price that triggers liquidations: the mark (index) or the venue's own mid.
    pub trigger: TriggerPrice,
}

/// A venue's liquidation engine (`[populations.liquidation_engine]`): finite throughput,
/// a delay before a triggered position's order reaches the book, and a backstop liquidator.
/// See `docs/model.md`, "Liquidation engine".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiquidationEngine {
    /// Most notional the engine sends to the book per step, USD at the trigger price
    /// (`capacity_usd_per_step`); `f64::INFINITY`: no limit.
    pub capacity_usd_per_step: f64,
    /// Steps between a position becoming liquidatable and its order reaching the book.
    pub delay_steps: u32,
    /// The backstop liquidator; `None`: none.
    pub backstop: Option<Backstop>,
}

/// A backstop liquidator (Hyperliquid's liquidator vault, dYdX's insurance-fund takeover):
/// takes a queued position over, off the book, when its equity is below `margin_fraction`
/// times its maintenance requirement, while its capital lasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backstop {
    /// Equity over maintenance requirement below which it takes a position over, in (0, 1].
    pub margin_fraction: f64,
    /// Most notional it holds, USD at its takeover prices.
    pub capital_usd: f64,
    /// The price it takes positions over at.
    pub price: BackstopPrice,
}

/// The price a backstop takes a position over at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackstopPrice {
    /// The position's bankruptcy price: the trader keeps nothing, the fund pays nothing.
    Bankruptcy,
    /// The trigger price: the trader keeps its equity there (a negative one is the fund's).
    Mark,
}

impl Population {
    /// Number of positions: the synthetic count, or the positions file's rows.
    pub fn position_count(&self) -> u64 {
        match &self.source {
            PositionSource::Synthetic(x) => x.count,
            PositionSource::Explicit(r) => r.len() as u64,
        }
    }
}

/// `[[lending]]`: one Aave-style lending market. Every account borrows the stablecoin (1 USD)
/// against the market's collateral assets, held in the same value shares by every account.
#[derive(Debug, Clone)]
pub struct LendingMarket {
    pub name: String,
    /// Number of accounts.
    pub accounts: u64,
    /// Total debt over the accounts, USD.
    pub debt_usd: f64,
    /// Log-normal sigma of one account's debt (the debts are rescaled to add up to `debt_usd`).
    pub debt_sigma: f64,
    /// Health factor at step 0, drawn uniformly in `[hf_min, hf_max]` (both > 1).
    pub hf_min: f64,
    pub hf_max: f64,
    /// Close factor and the health factor below which a liquidation may repay everything.
    pub rule: CloseRule,
    /// The collateral assets (distinct), with their share of each account's collateral value
    /// at step 0 (the shares add up to 1).
    pub collateral: Vec<LendingCollateral>,
    /// When liquidators act (`liquidator`); `None`: whenever an account's HF is below 1.
    pub liquidator: Option<Liquidator>,
}

/// `[cross_margin]`: accounts that hold positions on several assets against one pool of
/// collateral, liquidated on their total equity against their total maintenance requirement.
#[derive(Debug, Clone)]
pub struct CrossMargin {
    /// Maintenance margin rate of each scenario asset (0 for an asset not listed in
    /// `[[cross_margin.assets]]`: no account holds it).
    pub maintenance_margin: Vec<f64>,
    /// The listed assets (`[[cross_margin.assets]]`), in the order given.
    pub assets: Vec<usize>,
    /// The venue's rule when an account's equity falls below its maintenance requirement.
    pub rule: CrossRule,
    pub source: AccountSource,
}

/// What happens to a cross-margin account whose equity is below its total maintenance
/// requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossRule {
    /// Every position of the account is closed at market in the same round (`"close_all"`).
    CloseAll,
}

/// Where cross-margin accounts come from.
#[derive(Debug, Clone)]
pub enum AccountSource {
    Synthetic(SyntheticAccounts),
    /// `file`: the accounts' positions, one row each.
    Explicit(Vec<AccountRecord>),
}

/// Synthetic cross-margin accounts, drawn once per run.
#[derive(Debug, Clone)]
pub struct SyntheticAccounts {
    pub accounts: u64,
    /// Total position notional over the accounts at step 0, USD.
    pub notional_usd: f64,
    /// Log-normal sigma of one account's notional (rescaled to add up to `notional_usd`).
    pub notional_sigma: f64,
    /// Distinct listed assets each account holds (chosen uniformly), notional split equally.
    pub assets_per_account: usize,
    /// Probability that an account's first position is long.
    pub long_share: f64,
    /// In [-1, 1]: each later position has the first's side with probability (1 + ρ)/2.
    pub side_correlation: f64,
    /// The account's leverage: its total notional over its collateral at step 0.
    pub leverage: LeverageDist,
}

/// One position of one explicit cross-margin account (`file`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountRecord {
    /// The account's id in the file (rows of one account share it).
    pub account: u64,
    pub asset: usize,
    pub long: bool,
    /// Base units, > 0.
    pub size: f64,
    pub entry_price: f64,
    /// The account's collateral, USD (the same on every row of the account).
    pub collateral: f64,
}

/// A lending market's liquidators' profitability rule (`[lending.liquidator]`): they call a
/// liquidation only when its bonus exceeds what they expect to lose selling the seized
/// collateral plus a fixed cost (gas, operations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liquidator {
    /// Fixed cost of one liquidation, USD.
    pub fixed_cost_usd: f64,
    /// Expected slippage selling the seized collateral, fraction of its value at the oracle
    /// price (`expected_slippage_bp` / 10⁴).
    pub expected_slippage: f64,
}

impl Liquidator {
    /// Whether a liquidation paying `bonus` (USD) on collateral worth `seized_value` (USD at
    /// the oracle price) is worth calling: `bonus > expected_slippage · seized_value +
    /// fixed_cost_usd` (strictly: a liquidator does not act for nothing).
    pub fn acts(&self, bonus: f64, seized_value: f64) -> bool {
        bonus > self.expected_slippage * seized_value + self.fixed_cost_usd
    }
}

/// A collateral asset's risk parameters in one lending market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollateralParams {
    /// Index into the scenario's assets.
    pub asset: usize,
    /// Liquidation threshold `LT` (fraction of the collateral's value that counts towards the
    /// health factor), in (0, 1).
    pub liquidation_threshold: f64,
    /// Liquidation bonus (fraction of the repaid debt the liquidator receives on top, in
    /// collateral), in [0, 0.5).
    pub bonus: f64,
}

/// The market-wide close-factor rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloseRule {
    /// Share of the debt one liquidation may repay while the health factor is at or above
    /// `full_below` (Aave: 0.5).
    pub close_factor: f64,
    /// Below this health factor one liquidation may repay all of the debt (Aave v3: 0.95).
    pub full_below: f64,
}

/// One collateral asset of a lending market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LendingCollateral {
    pub params: CollateralParams,
    /// Share of an account's collateral value at step 0, in (0, 1].
    pub share: f64,
}

/// Where a population's positions come from.
#[derive(Debug, Clone)]
pub enum PositionSource {
    Synthetic(SyntheticSpec),
    Explicit(Vec<PositionRecord>),
}

/// Distributions from which positions are drawn.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    pub count: u64,
    /// Total open interest, USD notional at entry.
    pub open_interest: f64,
    /// Share of open interest (and of the count) that is long.
    pub long_share: f64,
    pub size: SizeDist,
    pub leverage: LeverageDist,
    pub entry: EntryDist,
}

/// Distribution of position notional (rescaled so the sizes add up to the open interest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeDist {
    LogNormal { sigma: f64 },
    Pareto { alpha: f64 },
}

/// Distribution of leverage (> 1).
#[derive(Debug, Clone, PartialEq)]
pub enum LeverageDist {
    Discrete {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
    LogNormal {
        median: f64,
        sigma: f64,
        min: f64,
        max: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
}

/// Distribution of the entry price, as a log offset from the start price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryDist {
    Normal { mean: f64, sd: f64 },
    Uniform { low: f64, high: f64 },
}

/// One explicit position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionRecord {
    pub long: bool,
    /// Base units.
    pub qty: f64,
    /// Entry price, USD.
    pub entry: f64,
    /// Isolated margin, USD.
    pub margin: f64,
}

impl Scenario {
    /// Population `k`'s name for messages and tables: its `name`, or its key path
    /// `populations[k]` when it has none.
    pub fn population_name(&self, k: usize) -> String {
        match self.populations[k].name.as_str() {
            "" => format!("populations[{k}]"),
            name => name.to_string(),
        }
    }

    /// Total open interest (USD at entry) over all populations.
    pub fn open_interest(&self) -> f64 {
        self.populations
            .iter()
            .map(|p| match &p.source {
                PositionSource::Synthetic(s) => s.open_interest,
                PositionSource::Explicit(r) => r.iter().map(|x| x.qty * x.entry).sum(),
            })
            .sum()
    }

    /// Number of positions over all populations (synthetic counts and CSV rows); drawn
    /// once per run in fixed mode, once per path in per-path mode.
    pub fn position_count(&self) -> u64 {
        self.populations
            .iter()
            .map(Population::position_count)
            .sum()
    }

    /// The population replicates a run draws: `Some(R)` in fixed mode with at least one
    /// synthetic population (path `i` uses replicate `i mod R`); `None` when there is no
    /// population noise to estimate: per-path mode (every path draws its own population) or
    /// only positions files (one known population).
    pub fn replicates(&self) -> Option<u32> {
        let synthetic = self
            .populations
            .iter()
            .any(|p| matches!(p.source, PositionSource::Synthetic(_)));
        (self.simulation.population_mode == PopulationMode::Fixed && synthetic)
            .then_some(self.simulation.population_replicates)
    }

    /// Book levels over all assets and both sides.
    pub fn book_level_count(&self) -> usize {
        self.assets
            .iter()
            .map(|a| a.book.bid.len() + a.book.ask.len())
            .sum()
    }

    /// Step length in years.
    pub fn dt_years(&self) -> f64 {
        self.simulation.step_seconds / SECONDS_PER_YEAR
    }
}

/// `[output]`: what a run records beyond its standard files.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSpec {
    /// Path ids whose step-by-step traces go to `results.h5` under `/traces/<id>`, ascending,
    /// without repeats.
    pub trace_paths: Vec<u64>,
    /// Also trace this many paths with the largest `trace_metric` (0: none).
    pub trace_worst: u32,
    /// The per-path metric (a name of `metrics::PATH_METRICS`, `metric_names::PATH_METRIC_NAMES`)
    /// that ranks the worst paths.
    pub trace_metric: String,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            trace_paths: Vec::new(),
            trace_worst: 0,
            trace_metric: "max_drawdown".into(),
        }
    }
}

/// The venues of one asset. Only present when `[[assets.venues]]` is given.
#[derive(Debug, Clone)]
pub struct Venues {
    /// At least one venue, in file order; the first is the default of a population.
    pub list: Vec<VenueSpec>,
    /// `k` of the mark: the mark in step `t` is the index at the end of step `t − k`.
    pub index_lag_steps: u32,
    /// `κ ∈ [0, 1]`: the share of each venue's log gap to the index that arbitrage closes at
    /// the end of every step.
    pub arbitrage_speed: f64,
}

/// One venue: its book and its weight in the index.
#[derive(Debug, Clone)]
pub struct VenueSpec {
    pub name: String,
    /// Weight in the index, normalised so the venues' weights sum to 1.
    pub weight: f64,
    /// The venue's book: its own `book` table or the asset's, sizes times `depth_scale`.
    pub book: BookSpec,
}

/// Which price a population's positions are liquidated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TriggerPrice {
    /// The asset's mark: the (lagged) index over its venues; the book's mid without venues.
    #[default]
    Mark,
    /// The mid of the population's own venue.
    Venue,
}
