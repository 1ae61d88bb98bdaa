//! Which way a path's steps go: the general step, the quiet lane inside it, or the loop of
//! quiet steps (`solo`: the lone-asset loop, or the several-asset loop). A fast path is
//! taken only when every feature the run uses is on that path's list of what it supports
//! ([`LANE`], [`SOLO`]): a positive list, so a rule the lists do not name keeps the general
//! step.
//!
//! What counts as a feature is found by [`Features::of`], which names every field of the
//! market, its assets and its populations without `..`: a field added to any of them does
//! not compile until it is classified there, as a feature or as something no mode needs to
//! know of (and why).

use super::market::{AssetModel, FastPaths, Market, PopulationModel};

/// What a run or a path uses that decides which modes its steps may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(super) enum Feature {
    /// More than one asset (the lone-asset loop keeps one asset's state in registers; the
    /// several-asset loop takes its place).
    SeveralAssets = 1,
    /// An asset with several venues (books joined by arbitrage and an index, possibly
    /// lagged: the mark is not a book's mid, and arbitrage acts at the end of every step).
    Venues = 1 << 1,
    /// Funding, paid at the start of a step whatever is triggered.
    Funding = 1 << 2,
    /// Lending markets (their accounts trigger on prices the armed bands do not cover).
    Lending = 1 << 3,
    /// A circuit breaker (its halts and the previous close are kept on every step).
    CircuitBreaker = 1 << 4,
    /// Volatility-dependent depth (the realised variance is updated on every step).
    VolatilityDepth = 1 << 5,
    /// An observer that sees every step, quiet or not.
    QuietStepObserver = 1 << 6,
    /// A rare-event control (tilted draws, stream switches, stops).
    Control = 1 << 7,
    /// A liquidation engine (its queue releases orders on steps whose marks trigger nothing).
    LiquidationEngine = 1 << 8,
    /// Cross-margin accounts (their trigger boxes are outside the armed bands).
    CrossMargin = 1 << 9,
}

/// What the quiet lane supports: on a step where every mark is strictly inside its asset's
/// armed band, it records the extremes and skips the cascade loop.
const LANE: &[Feature] = &[Feature::SeveralAssets, Feature::Control];

/// What the loop of quiet steps supports (it is the lane as a loop of its own: the
/// lone-asset loop, or with several assets, each with one book, the several-asset loop).
const SOLO: &[Feature] = &[Feature::SeveralAssets];

/// A set of [`Feature`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Features(u16);

impl Features {
    pub(super) fn with(self, f: Feature, on: bool) -> Features {
        Features(if on { self.0 | f as u16 } else { self.0 })
    }

    /// Whether every feature of `self` is on `list`.
    fn within(self, list: &[Feature]) -> bool {
        let allowed = list.iter().fold(0u16, |m, &f| m | f as u16);
        self.0 & !allowed == 0
    }

    /// The features of a run's market (those of a path's observer and control are added by
    /// [`Mode::of`]).
    pub(super) fn of(market: &Market) -> Features {
        // Every field by name: see the module docs.
        let Market {
            // Step count and length, clock, round limit, seed, cascade rule: every mode reads
            // them the same way.
            seed: _,
            steps: _,
            step_seconds: _,
            start_second_of_day: _,
            max_rounds: _,
            cascade: _,
            // The price processes and their dependence are stage 1, which every mode runs
            // the same way (the lone-asset loop through `PriceProcess::solo_return` where
            // the process allows it, else the general draw).
            dependence: _,
            population_mode: _,
            replicates: _,
            slots: _,
            assets,
            circuit_breaker,
            populations,
            lending,
            cross_margin,
            // Derived from `assets` and `populations` (classified below).
            venue_assets: _,
            funding: _,
            fast_paths: _,
        } = market;
        let mut f = Features::default()
            .with(Feature::SeveralAssets, assets.len() > 1)
            .with(Feature::CircuitBreaker, circuit_breaker.is_some())
            .with(Feature::Lending, !lending.is_empty())
            .with(Feature::CrossMargin, cross_margin.is_some());
        for a in assets {
            let AssetModel {
                name: _,
                start_price: _,
                process: _,
                // A book's shape is walked by the cascade loop and refilled and read (mid,
                // floor) by every mode alike; only its volatility-dependent depth acts on
                // quiet steps.
                book,
                venues,
                first_slot: _,
            } = a;
            f = f
                .with(Feature::Venues, venues.is_some())
                .with(Feature::VolatilityDepth, book.vol_depth.is_some());
        }
        for p in populations {
            let PopulationModel {
                // Trigger, fee, fund, margin, partial rule and ADL act only in the cascade
                // loop, which a step enters as soon as a mark leaves its armed band.
                asset: _,
                fee: _,
                insurance_fund: _,
                margin: _,
                partial: _,
                auto_deleverage: _,
                slot: _,
                on_mid: _,
                spec: _,
                funding,
                engine,
            } = p;
            f = f
                .with(Feature::Funding, funding.is_some())
                .with(Feature::LiquidationEngine, engine.is_some());
        }
        f
    }
}

/// The modes a path's steps may take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    /// Quiet steps skip the cascade loop.
    pub(super) lane: bool,
    /// Runs of quiet steps go through the lone-asset loop (the several-asset loop with
    /// more than one asset).
    pub(super) solo: bool,
}

impl Mode {
    /// The modes of a path of `market` seen by an observer of every step or not
    /// (`quiet_observer`), steered by a control or not (`control`).
    pub(super) fn of(market: &Market, quiet_observer: bool, control: bool) -> Mode {
        // Once per path: a walk over the assets and populations, never per step.
        let f = Features::of(market)
            .with(Feature::QuietStepObserver, quiet_observer)
            .with(Feature::Control, control);
        let lane = market.fast_paths != FastPaths::None && f.within(LANE);
        Mode {
            lane,
            solo: lane && market.fast_paths == FastPaths::All && f.within(SOLO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_off_the_list_turns_the_mode_off() {
        let none = Features::default();
        assert!(none.within(LANE) && none.within(SOLO));
        let two = none.with(Feature::SeveralAssets, true);
        assert!(two.within(LANE) && two.within(SOLO));
        for f in [
            Feature::Venues,
            Feature::Funding,
            Feature::Lending,
            Feature::CircuitBreaker,
            Feature::VolatilityDepth,
            Feature::QuietStepObserver,
            Feature::LiquidationEngine,
            Feature::CrossMargin,
        ] {
            assert!(!two.with(f, true).within(LANE), "{f:?}");
            assert!(!two.with(f, true).within(SOLO), "{f:?}");
            assert!(!none.with(f, true).within(SOLO), "{f:?}");
        }
        assert!(!none.with(Feature::Control, true).within(SOLO));
        assert!(!two.with(Feature::Control, true).within(SOLO));
    }
}
