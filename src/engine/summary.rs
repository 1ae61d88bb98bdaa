//! What a path gives: its summary ([`PathSummary`]), per-asset and per-population figures,
//! the per-step view an [`Observer`](super::Observer) sees, and the cascade definition
//! applied to them.

use crate::model::spec::CascadeRule;

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
#[derive(Debug, Clone, Default, PartialEq)]
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
    /// `[cross_margin]`: notional of this asset's cross-margin positions closed, USD at fill
    /// prices (not in `liquidated_notional`, which is the populations').
    pub cross_margin_liquidated_notional: f64,
    /// The part of it from accounts whose largest loss since step 0 was on another asset.
    pub cross_margin_liquidated_by_other: f64,
    /// Cross-margin accounts liquidated whose largest loss was on this asset.
    pub cross_margin_triggered_accounts: f64,
    /// Their losses beyond collateral at the fill prices, USD.
    pub cross_margin_bad_debt: f64,
    /// `[cross_margin]`: `cross_margin_liquidated_notional` split by trigger asset, one entry
    /// per asset in scenario order (this asset's own entry included; the others sum to
    /// `cross_margin_liquidated_by_other`). Empty without `[cross_margin]` (no allocation).
    pub cross_margin_by_trigger: Vec<f64>,
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
    /// With a `liquidation_engine` (0 without): the most notional waiting in its queue at
    /// the end of a round, USD at the trigger price.
    pub queue_peak_notional: f64,
    /// The most positions waiting in its queue at the end of a round.
    pub queue_peak_length: u32,
    /// Positions that left its queue by liquidation (their last part) or backstop takeover.
    pub queue_cleared: u32,
    /// Their mean wait in the queue, steps (0 when none left it).
    pub queue_wait_mean_steps: f64,
    /// Their longest wait, steps.
    pub queue_wait_max_steps: u32,
    /// Notional still queued at the end of the path, USD at the last trigger price.
    pub queue_uncleared_notional: f64,
    /// Positions the backstop took over.
    pub backstop_count: u32,
    /// Their notional at the takeover prices, USD.
    pub backstop_notional: f64,
    /// The backstop's profit on them at the last trigger price, USD (negative: a loss).
    pub backstop_pnl: f64,
}

impl PopulationPathMetrics {
    /// The path totals the per-population figures are differences of.
    #[inline]
    pub(super) fn totals(s: &PathSummary) -> [f64; 6] {
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
    pub(super) fn add_since(&mut self, before: &[f64; 6], s: &PathSummary) {
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
