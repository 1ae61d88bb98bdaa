//! The pre-trade check of prospective positions (`cascadesim check`): each position's
//! liquidation price against the scenario's major liquidation clusters (the heatmap's, from
//! replicate 0), the desk's no-trade buffer, the slippage of its entry order on the book now
//! and at the cluster, and, from a Monte Carlo run of the scenario with the positions added,
//! how often it is liquidated and how often that happens on a cascade path.
//!
//! The Monte Carlo part is exact for the positions as stated: each becomes a one-position
//! population of its own (explicit, with the tiers, fee, fund, partial-liquidation and ADL
//! rules of the population it trades on), appended after the scenario's, so the scenario's
//! own populations draw the same numbers (population `k` draws from stream `u64::MAX − k`)
//! and the paths are the paths of `cascadesim run` with the positions added. Their
//! liquidation orders walk the book like everyone else's. All positions of one check are
//! added together, as a desk holding all of them would be.

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::position::Resolved;
use crate::engine::Market;
use crate::heatmap::{self, AssetHeatmap, Options, clusters::Side};
use crate::model::book::BookState;
use crate::model::spec::{Buffer, PositionRecord, PositionSource, Scenario};
use crate::stats::{Proportion, wilson95};

/// Most positions the Monte Carlo part takes: each is a population of its own, with its own
/// per-path venue state, so a path's cost grows with their number. Larger lists are checked
/// with `--paths 0`.
pub const MAX_MC_POSITIONS: usize = 1_000;

/// What the check needs beyond the positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckOptions {
    /// The no-trade buffer (the scenario's `[check] no_trade_buffer`, or the command line's).
    pub buffer: Option<Buffer>,
    /// A cluster is major when it holds at least this share of its asset's open interest.
    pub major_share: f64,
    /// Monte Carlo paths (0: no Monte Carlo part).
    pub paths: u64,
}

/// The major cluster nearest to a position's liquidation price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearestCluster {
    /// `"long"` or `"short"`: whose liquidations it holds.
    pub side: &'static str,
    /// Zone and notional-weighted centre, USD.
    pub price_low: f64,
    pub price_high: f64,
    pub centre_price: f64,
    /// Notional at liquidation prices, USD, and its share of the asset's open interest.
    pub notional: f64,
    pub share_of_open_interest: f64,
    /// From the position's liquidation price to the zone (0 inside it): % of the current
    /// price, and `|ln(liq / edge)|` over the one-day σ (`None` without volatility).
    pub distance_pct: f64,
    pub distance_sigmas: Option<f64>,
    /// From the current price to the zone's near edge, as the heatmap reports it.
    pub distance_from_price_pct: f64,
}

/// Whether the position's liquidation price lies within the no-trade buffer of a major cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BufferCheck {
    /// The buffer as stated (`"2%"`, `"1.5σ"`), or `None` when there is none.
    pub buffer: Option<String>,
    pub inside: bool,
    /// Distance from the liquidation price to the nearest major cluster (as in
    /// [`NearestCluster`]); `None` when the asset has no major cluster.
    pub distance_pct: Option<f64>,
    pub distance_sigmas: Option<f64>,
}

/// Slippage of a market order against the mid before it, % (positive: a cost).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slippage {
    /// The entry order on the book as it stands now (the start hour's depth).
    pub now_pct: f64,
    /// The same order when the price is at the nearest major cluster's centre and the
    /// cluster's liquidation orders have just walked the book, against the mid before them;
    /// `None` without a major cluster.
    pub at_cluster_pct: Option<f64>,
    /// Whether some of the order went past the book (filled by the backstop) now.
    pub beyond_book_now: bool,
}

/// The Monte Carlo part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McCheck {
    pub paths: u64,
    /// Paths on which the position was liquidated (in full or in part) within the horizon.
    pub liquidated: Proportion,
    /// Paths on which it was liquidated and the path is a cascade path (the scenario's
    /// `cascade` rule).
    pub liquidated_on_cascade_path: Proportion,
    /// Cascade paths among all paths (with the positions added).
    pub cascade: Proportion,
}

/// The check of one position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionCheck {
    pub position: String,
    pub asset: String,
    /// Population whose tiers (venue) apply.
    pub population: String,
    pub side: &'static str,
    pub size: f64,
    pub entry_price: f64,
    pub leverage: f64,
    pub margin: f64,
    pub liquidation_price: f64,
    /// From the current price to the liquidation price, % and one-day σ.
    pub liquidation_distance_pct: f64,
    pub liquidation_distance_sigmas: Option<f64>,
    pub current_price: f64,
    pub one_day_sigma: f64,
    pub nearest_cluster: Option<NearestCluster>,
    pub no_trade_buffer: BufferCheck,
    pub slippage: Slippage,
    /// `None` with `--paths 0`.
    pub monte_carlo: Option<McCheck>,
}

/// The check cannot run on this scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckError(pub String);

/// Refuses scenarios whose books the check cannot read: assets with venues (the cluster map
/// reads one book per asset).
///
/// # Errors
/// The first asset with `[[assets.venues]]`.
pub fn supported(s: &Scenario) -> Result<(), CheckError> {
    if let Some(a) = s.assets.iter().find(|a| a.venues.is_some()) {
        return Err(CheckError(format!(
            "asset \"{}\" trades on several venues ([[assets.venues]]); `check` reads one book per asset",
            a.name
        )));
    }
    Ok(())
}

/// The static part: clusters, buffer and slippage, for every position (no Monte Carlo).
pub fn static_checks(s: &Scenario, positions: &[Resolved], o: &CheckOptions) -> Vec<PositionCheck> {
    let options = Options {
        critical: false,
        ..Options::default()
    };
    let report = heatmap::analyze(s, &options).expect("the default options are valid");
    positions
        .iter()
        .map(|p| one(s, &report.assets[p.asset], p, o))
        .collect()
}

fn sigmas(a: f64, b: f64, daily: f64) -> Option<f64> {
    (daily > 0.0).then(|| (a / b).ln().abs() / daily)
}

fn one(s: &Scenario, h: &AssetHeatmap, p: &Resolved, o: &CheckOptions) -> PositionCheck {
    let price = h.price;
    let daily = h.daily_volatility;
    let liq = p.liquidation_price;
    let oi = h.crowding.long_open_interest + h.crowding.short_open_interest;
    let nearest = h
        .clusters
        .iter()
        .filter(|c| oi > 0.0 && c.notional >= o.major_share * oi)
        .map(|c| {
            let edge = liq.clamp(c.price_low, c.price_high);
            (c, edge, (liq - edge).abs())
        })
        .min_by(|x, y| x.2.total_cmp(&y.2));
    let nearest_cluster = nearest.map(|(c, edge, d)| NearestCluster {
        side: c.side.name(),
        price_low: c.price_low,
        price_high: c.price_high,
        centre_price: c.centre_price,
        notional: c.notional,
        share_of_open_interest: c.notional / oi,
        distance_pct: 100.0 * d / price,
        distance_sigmas: sigmas(liq, edge, daily),
        distance_from_price_pct: c.distance_pct,
    });
    let (dpct, dsig) = nearest_cluster
        .as_ref()
        .map_or((None, None), |c| (Some(c.distance_pct), c.distance_sigmas));
    let inside = match (o.buffer, dpct) {
        (Some(Buffer::Percent(b)), Some(d)) => d <= b,
        // Without volatility every distance in σ is infinite: only a zero distance is inside.
        (Some(Buffer::Sigma(b)), Some(d)) => dsig.map_or(d == 0.0, |x| x <= b),
        _ => false,
    };
    PositionCheck {
        position: p.label.clone(),
        asset: h.asset.clone(),
        population: s.population_name(p.population),
        side: if p.long { "long" } else { "short" },
        size: p.qty,
        entry_price: p.entry,
        leverage: p.leverage,
        margin: p.margin,
        liquidation_price: liq,
        liquidation_distance_pct: 100.0 * (liq - price).abs() / price,
        liquidation_distance_sigmas: sigmas(liq, price, daily),
        current_price: price,
        one_day_sigma: daily,
        no_trade_buffer: BufferCheck {
            buffer: o.buffer.map(|b| b.to_string()),
            inside,
            distance_pct: dpct,
            distance_sigmas: dsig,
        },
        slippage: slippage(s, h, p, nearest.map(|(c, _, _)| c)),
        nearest_cluster,
        monte_carlo: None,
    }
}

/// Walks the asset's book (start hour's depth) with the entry order, now and at the cluster.
fn slippage(
    s: &Scenario,
    h: &AssetHeatmap,
    p: &Resolved,
    cluster: Option<&heatmap::Cluster>,
) -> Slippage {
    let market_book =
        crate::model::book::BookShape::new(&s.assets[p.asset].book, s.simulation.step_seconds);
    let mult = h.depth_multiplier;
    let buy = p.long;
    let cost = |vwap: f64, mid: f64| {
        100.0
            * if buy {
                vwap / mid - 1.0
            } else {
                1.0 - vwap / mid
            }
    };
    let mut now = BookState::default();
    let mid = now.mid(&market_book, h.price);
    let fill = now.market_order(&market_book, h.price, !buy, p.qty, mult);
    let at_cluster_pct = cluster.map(|c| {
        // The fundamental at the cluster's centre (at most the current price for longs'
        // liquidations, at least it for shorts'), then the cluster's orders, then ours.
        let at = match c.side {
            Side::Long => c.centre_price.min(h.price),
            Side::Short => c.centre_price.max(h.price),
        };
        let mut b = BookState::default();
        let before = b.mid(&market_book, at);
        b.market_order(&market_book, at, c.side == Side::Long, c.qty, mult);
        let f = b.market_order(&market_book, at, !buy, p.qty, mult);
        cost(f.vwap(), before)
    });
    Slippage {
        now_pct: cost(fill.vwap(), mid),
        at_cluster_pct,
        beyond_book_now: fill.unfilled > 0.0,
    }
}

/// The scenario with each position appended as a one-position population of its own (see
/// the module documentation); returns it and the index of the first added population.
pub fn with_positions(s: &Scenario, positions: &[Resolved]) -> (Scenario, usize) {
    let mut out = s.clone();
    let first = out.populations.len();
    for (j, p) in positions.iter().enumerate() {
        let mut pop = s.populations[p.population].clone();
        pop.name = format!("check:{j}");
        pop.source = PositionSource::Explicit(vec![PositionRecord {
            long: p.long,
            qty: p.qty,
            entry: p.entry,
            margin: p.margin,
        }]);
        out.populations.push(pop);
    }
    // The check is plain Monte Carlo whatever the scenario's estimator.
    out.rare_event = None;
    (out, first)
}

/// The Monte Carlo part: runs `paths` paths of the scenario with the positions added (on the
/// current rayon pool) and fills in every check's `monte_carlo`. The paths are run in blocks
/// (at most [`crate::mc::BLOCK`] paths, at most 64 MiB of results) and only counted, so
/// memory does not grow with `paths`.
///
/// # Errors
/// When `cancel` was set before the run finished.
pub fn monte_carlo(
    s: &Scenario,
    positions: &[Resolved],
    checks: &mut [PositionCheck],
    paths: u64,
    progress: &(dyn Fn(u64) + Sync),
    cancel: &AtomicBool,
) -> Result<(), crate::mc::Cancelled> {
    let (mut scenario, first) = with_positions(s, positions);
    scenario.simulation.paths = paths;
    let market = Market::new(&scenario);
    // Per check: paths on which its position was liquidated, and those of them that cascaded.
    let mut liquidated = vec![(0u64, 0u64); checks.len()];
    let mut cascades = 0u64;
    // A block's results take per path one summary, one per asset and one per population
    // (each checked position is a population): at most 64 MiB of them (1,000 positions in
    // blocks of `mc::BLOCK` paths took 7.9 GB).
    let per_path = std::mem::size_of::<crate::engine::PathSummary>()
        + market.assets.len() * std::mem::size_of::<crate::engine::AssetPathMetrics>()
        + market.populations.len() * std::mem::size_of::<crate::engine::PopulationPathMetrics>();
    let block = ((64u64 << 20) / per_path as u64).clamp(1, crate::mc::BLOCK);
    crate::mc::run_blocks(
        &market,
        0..paths,
        block,
        progress,
        cancel,
        &|| crate::engine::NoObserver,
        &mut |run| {
            let np = run.n_populations;
            for (i, path) in run.paths.iter().enumerate() {
                cascades += u64::from(path.cascade);
                let pops = &run.populations[i * np..(i + 1) * np];
                for (j, (hit, on_cascade)) in liquidated.iter_mut().enumerate() {
                    if pops[first + j].liquidation_count > 0 {
                        *hit += 1;
                        *on_cascade += u64::from(path.cascade);
                    }
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    for (c, &(hit, on_cascade)) in checks.iter_mut().zip(&liquidated) {
        c.monte_carlo = Some(McCheck {
            paths,
            liquidated: wilson95(hit, paths),
            liquidated_on_cascade_path: wilson95(on_cascade, paths),
            cascade: wilson95(cascades, paths),
        });
    }
    Ok(())
}
