//! Liquidation cluster map (`cascadesim heatmap`): where the scenario's positions would be
//! liquidated, how crowded each side is, the dense zones (clusters), a risk score per asset
//! and the critical shock that sets off a self-sustaining cascade.
//!
//! Pure computation on a validated [`Scenario`]: no files, no terminal. `docs/heatmap.md`
//! documents every method and formula.
//!
//! - [`grid`]: the price grid, liquidatable notional per bin and the cumulative curves;
//! - [`sources`]: the positions per venue and the lending collateral sales;
//! - [`depth`]: book depth between the current price and another price;
//! - [`clusters`]: smoothing, peaks and zones;
//! - [`score`]: the risk score;
//! - [`critical`]: the critical shock, with the deterministic engine;
//! - [`groups`]: positions on any asset that the same joint move liquidates (DBSCAN);
//! - [`pair`]: the 2-D map over the moves of two assets.

pub mod clusters;
pub mod critical;
pub mod depth;
pub mod grid;
pub mod groups;
pub mod pair;
pub mod score;
pub mod sources;

use serde::Serialize;

use crate::model::population::long_share_from_funding;
use crate::model::spec::{PopulationMode, PositionSource, Scenario};
use clusters::Side;
use critical::{CriticalOptions, CriticalShocks, ShockLab};
use depth::{Depth, DepthCurve, depth_to_all};
use grid::{Cumulative, Grid, SideBook, SideHistogram};
use score::{RiskScore, ScoreTerm};

/// Choices of the analysis. [`Options::default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Options {
    /// Bin width, fraction of the current price (0.001 = 0.1%).
    pub bin_width: f64,
    /// The grid covers `price·(1 ± half_range)`.
    pub half_range: f64,
    /// Standard deviation of the smoothing kernel, fraction of the current price.
    pub kernel_width: f64,
    /// A peak is a cluster when its prominence is at least this multiple of the median
    /// smoothed density (over the bins the side occupies).
    pub prominence: f64,
    /// A zone is the contiguous bins at or above this share of its peak's height.
    pub zone_height: f64,
    /// Which clusters get a reach × severity term beside the risk score (a description of
    /// where the risk sits): the `score_clusters` largest contributions among the clusters
    /// holding at least `score_min_share` of the asset's open interest.
    pub score_clusters: usize,
    pub score_min_share: f64,
    /// Endogenous move (log) that makes a shock critical; `None`: the scenario's
    /// `cascade.endogenous_move`, or 0.05 when it has none.
    pub critical_threshold: Option<f64>,
    /// Simulated time after the shock, seconds.
    pub critical_horizon_seconds: f64,
    /// Scan step of the critical-shock search, fraction of price.
    pub critical_scan_step: f64,
    /// Bisection tolerance of the critical shock, fraction of price.
    pub critical_tolerance: f64,
    /// Whether to search the critical shocks at all (the slowest part).
    pub critical: bool,
    /// The pair map's assets (indices); `None`: the first two. Recorded in `pair_map`.
    #[serde(skip)]
    pub pair: Option<[usize; 2]>,
    /// The groups' DBSCAN radius (one-day σ); `None`: the k-distance knee. Recorded in
    /// `groups`.
    #[serde(skip)]
    pub group_eps: Option<f64>,
    /// The groups' density: share of the book a core point has within the radius.
    #[serde(skip)]
    pub group_min_share: f64,
    /// A cluster is flagged as an anomaly when its size is at least this multiple of the book
    /// depth between the price and its centre (`notional_to_depth ≥ anomaly_ratio`), or when
    /// no book stands in front of it.
    pub anomaly_ratio: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bin_width: 0.001,
            half_range: 0.5,
            kernel_width: 0.002,
            prominence: 1.5,
            zone_height: 0.5,
            score_clusters: 3,
            score_min_share: 0.01,
            critical_threshold: None,
            critical_horizon_seconds: 3600.0,
            critical_scan_step: 0.0025,
            critical_tolerance: 1e-6,
            critical: true,
            pair: None,
            group_eps: None,
            group_min_share: groups::GroupOptions::default().min_share,
            anomaly_ratio: 1.0,
        }
    }
}

/// Options that make no sense.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid heatmap option: {0}")]
pub struct OptionError(pub String);

impl Options {
    /// Checks every option.
    ///
    /// # Errors
    /// The first option out of its range, with the range.
    pub fn check(&self) -> Result<(), OptionError> {
        let bad = |name: &str, v: f64, range: &str| {
            Err(OptionError(format!("{name} must be {range}, found {v}")))
        };
        if !(self.bin_width > 0.0 && self.bin_width <= 0.1) {
            return bad("bin width", self.bin_width, "in (0, 0.1] of the price");
        }
        if !(self.half_range > 0.0 && self.half_range <= 0.99) {
            return bad("half range", self.half_range, "in (0, 0.99]");
        }
        if self.half_range / self.bin_width > 1e6 {
            return Err(OptionError(format!(
                "a grid of ±{} in bins of {} has more than two million bins",
                self.half_range, self.bin_width
            )));
        }
        if !(self.kernel_width >= 0.0 && self.kernel_width <= self.half_range) {
            return bad("kernel width", self.kernel_width, "in [0, half range]");
        }
        if !(self.prominence >= 0.0 && self.prominence.is_finite()) {
            return bad("prominence", self.prominence, "a finite number >= 0");
        }
        if !(self.zone_height > 0.0 && self.zone_height <= 1.0) {
            return bad("zone height", self.zone_height, "in (0, 1]");
        }
        if !(self.score_min_share >= 0.0 && self.score_min_share <= 1.0) {
            return bad("score minimum share", self.score_min_share, "in [0, 1]");
        }
        if let Some(t) = self.critical_threshold
            && !(t > 0.0 && t < 10.0)
        {
            return bad("critical threshold", t, "in (0, 10) (a log move)");
        }
        if !(self.anomaly_ratio > 0.0 && self.anomaly_ratio.is_finite()) {
            return bad("anomaly ratio", self.anomaly_ratio, "a finite number > 0");
        }
        if !(self.critical_horizon_seconds > 0.0 && self.critical_horizon_seconds.is_finite()) {
            return bad(
                "critical horizon",
                self.critical_horizon_seconds,
                "a positive number of seconds",
            );
        }
        if !(self.critical_scan_step > 0.0 && self.critical_scan_step <= self.half_range) {
            return bad(
                "critical scan step",
                self.critical_scan_step,
                "in (0, half range]",
            );
        }
        if !(self.critical_tolerance > 0.0 && self.critical_tolerance <= self.critical_scan_step) {
            return bad(
                "critical tolerance",
                self.critical_tolerance,
                "in (0, scan step]",
            );
        }
        if let Some(e) = self.group_eps
            && !(e > 0.0 && e <= 10.0)
        {
            return bad("group radius", e, "in (0, 10] one-day σ");
        }
        if !(self.group_min_share > 0.0 && self.group_min_share <= 1.0) {
            return bad("group minimum share", self.group_min_share, "in (0, 1]");
        }
        Ok(())
    }
}

/// Which side of the open interest is crowded, and by how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crowding {
    /// Open interest at entry prices, USD.
    pub long_open_interest: f64,
    pub short_open_interest: f64,
    /// Long share of open interest.
    pub long_share: f64,
    /// `"long"`, `"short"`, or `"balanced"` (long share within 47.5–52.5%).
    pub crowded_side: &'static str,
    /// How far the long share is from 50%, percentage points (positive: longs crowded).
    pub excess_points: f64,
    /// Crowded side's open interest over the other's (`None` when the other is empty).
    pub ratio: Option<f64>,
    /// The funding rate per 8 h that the scenario's funding map gives this long share
    /// (`0.0001 + 0.0002·ln(s / (1 − s))`, the inverse of `long_share_from_funding`); equals
    /// the scenario's `funding_rate_8h` when that was given.
    pub funding_equivalent_8h: Option<f64>,
    /// Long and short notional (at liquidation prices) that a move of 5% and 10% would
    /// liquidate, without feedback.
    pub long_liquidatable_5pct: f64,
    pub short_liquidatable_5pct: f64,
    pub long_liquidatable_10pct: f64,
    pub short_liquidatable_10pct: f64,
    /// Per population: name, long share stated by the scenario (synthetic populations) and
    /// open interest by side.
    pub populations: Vec<PopulationCrowding>,
    /// One sentence.
    pub statement: String,
}

/// Crowding of one population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationCrowding {
    pub name: String,
    /// `long_share` of a synthetic population (from `funding_rate_8h` when given).
    pub scenario_long_share: Option<f64>,
    pub long_open_interest: f64,
    pub short_open_interest: f64,
    pub long_positions: usize,
    pub short_positions: usize,
}

/// One cluster (see [`clusters`] for how zones are found).
///
/// Where a cluster "is" for its ratio to the book and for the risk score: its **centre**, the
/// notional-weighted mean liquidation price of the positions in its zone.
/// The centre barely moves with the zone's edges, so a broad zone that happens to touch the
/// current price does not count as a cluster at the price. The near edge, where the zone's
/// liquidations start, is reported too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub side: Side,
    /// Price range of the zone, USD (bin edges).
    pub price_low: f64,
    pub price_high: f64,
    /// Centre of the peak bin, USD.
    pub peak_price: f64,
    /// Notional-weighted mean liquidation price of the zone, USD.
    pub centre_price: f64,
    /// Notional at liquidation prices, USD; size in base units; positions.
    pub notional: f64,
    pub qty: f64,
    pub positions: u64,
    /// Smoothed density at the peak and the peak's prominence (USD per bin), and the
    /// prominence over the side's median density.
    pub peak_density: f64,
    pub prominence: f64,
    pub prominence_ratio: f64,
    /// Distance from the current price to the zone's near edge (the upper edge for longs, the
    /// lower for shorts), % of the price; 0 when the zone reaches the price.
    pub distance_pct: f64,
    /// The same distance in log-price over the one-day volatility `σ·√(1/365)`; `None` when
    /// the asset's volatility is 0.
    pub distance_sigmas: Option<f64>,
    /// Distance to the centre, % of the price, and in one-day volatilities.
    pub centre_distance_pct: f64,
    pub centre_distance_sigmas: Option<f64>,
    /// Book depth between the current price and the centre (see [`depth`]).
    pub depth_in_front: Depth,
    /// Cluster size over the depth in front (base units over base units); `None` when no book
    /// stands in front (the centre is at or past the price).
    pub notional_to_depth: Option<f64>,
    /// Whether the cluster is unusually large against the book in front of it:
    /// `notional_to_depth ≥` [`Options::anomaly_ratio`], or no book in front.
    pub anomaly: bool,
}

/// One venue's share of an asset's map (only for assets with `[[assets.venues]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueMap {
    pub venue: String,
    /// Weight in the index.
    pub weight: f64,
    /// Its positions' liquidatable notional per bin, by side.
    pub long: SideHistogram,
    pub short: SideHistogram,
    /// Depth of its own book from the price to each edge.
    pub depth: DepthCurve,
}

/// One lending market's collateral sales on an asset (see [`sources`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LendingMap {
    pub market: String,
    /// Accounts holding the asset as collateral.
    pub accounts: usize,
    /// Of those, accounts the asset's move alone cannot liquidate.
    pub out_of_reach_accounts: usize,
    /// Accounts whose first call seizes another asset's collateral, and its value, USD.
    pub seized_elsewhere_accounts: usize,
    pub seized_elsewhere_usd: f64,
    /// Collateral sold at each account's trigger price, per bin (notional = seized size ×
    /// trigger price; `positions` counts accounts).
    pub sales: SideHistogram,
}

/// The whole analysis of one asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetHeatmap {
    pub asset: String,
    /// Current (start) price, USD.
    pub price: f64,
    /// Annualised volatility, and the one-day standard deviation of the log-price with the
    /// jumps' variance, `√(σ²/365 + λ(m² + s²))` ([`score::one_day_sigma`]; `σ·√(1/365)`
    /// without jumps).
    pub volatility: f64,
    pub daily_volatility: f64,
    /// UTC hour at the scenario's start and its depth multiplier (used for every depth).
    pub hour_utc: usize,
    pub depth_multiplier: f64,
    pub grid: Grid,
    /// Liquidatable notional per bin, by side.
    pub long: SideHistogram,
    pub short: SideHistogram,
    /// Smoothed densities the clusters are found on (USD per bin).
    pub long_density: Vec<f64>,
    pub short_density: Vec<f64>,
    /// Median of each side's positive smoothed density (the prominence reference).
    pub long_median_density: f64,
    pub short_median_density: f64,
    /// Cumulative curves at the grid's edges.
    pub cumulative: Cumulative,
    /// Book depth from the current price to each edge.
    pub depth: DepthCurve,
    pub crowding: Crowding,
    /// Clusters, largest notional first.
    pub clusters: Vec<Cluster>,
    pub score: RiskScore,
    /// `None` when the search was switched off.
    pub critical: Option<CriticalShocks>,
    /// Per venue, for an asset with venues (the columns above are their total).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub venues: Vec<VenueMap>,
    /// Per lending market taking the asset as collateral (included in the long side above).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lending: Vec<LendingMap>,
}

/// The analysis of every asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatmapReport {
    pub options: Options,
    /// The critical-shock search as run (threshold resolved, horizon in steps).
    pub critical_options: CriticalOptions,
    pub critical_horizon_steps: u32,
    /// Where the positions come from.
    pub population: &'static str,
    pub assets: Vec<AssetHeatmap>,
    /// Cross-asset groups; absent with a single asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<groups::Groups>,
    /// The 2-D map of a pair of assets; absent with a single asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_map: Option<pair::PairMap>,
}

/// Runs the whole analysis.
///
/// # Errors
/// When an option is out of range.
pub fn analyze(scenario: &Scenario, options: &Options) -> Result<HeatmapReport, OptionError> {
    options.check()?;
    let threshold = options
        .critical_threshold
        .or(scenario.simulation.cascade.endogenous_move)
        .filter(|t| *t > 0.0)
        .unwrap_or(0.05);
    let copts = CriticalOptions {
        threshold,
        horizon_seconds: options.critical_horizon_seconds,
        scan_step: options.critical_scan_step,
        max_shock: options.half_range,
        tolerance: options.critical_tolerance,
    };
    let mut lab = ShockLab::new(scenario, options.critical_horizon_seconds);
    let hour =
        ((scenario.simulation.start_second_of_day / 3600.0).floor() as i64).rem_euclid(24) as usize;
    let mut assets = Vec::with_capacity(scenario.assets.len());
    for a in 0..scenario.assets.len() {
        let (mut heat, terms) = static_map(scenario, lab.market(), a, hour, options);
        if options.critical {
            heat.critical = Some(CriticalShocks {
                down: lab.critical(a, true, &copts),
                up: lab.critical(a, false, &copts),
            });
        }
        let daily = heat.daily_volatility;
        let sides = heat.critical.as_ref().map(|c| {
            (
                score::side(c.down.shock, copts.max_shock.min(0.95), true, daily),
                score::side(c.up.shock, copts.max_shock, false, daily),
            )
        });
        heat.score = score::combine(sides, daily, terms);
        assets.push(heat);
    }
    let group_options = groups::GroupOptions {
        eps: options.group_eps,
        min_share: options.group_min_share,
        ..groups::GroupOptions::default()
    };
    let groups = groups::find(scenario, lab.market(), &assets, &group_options);
    let pair_map = pair_map(scenario, lab.market(), &assets, options);
    Ok(HeatmapReport {
        options: *options,
        critical_options: copts,
        critical_horizon_steps: lab.horizon_steps,
        population: match scenario.simulation.population_mode {
            PopulationMode::Fixed => {
                "replicate 0 of the scenario's fixed population (the one path 0 of a run uses)"
            }
            PopulationMode::PerPath => {
                "one draw of the per-path population: the one a fixed run would use (run seed)"
            }
        },
        assets,
        groups,
        pair_map,
    })
}

/// The pair map of `options.pair` (the first two assets by default); `None` with one asset.
fn pair_map(
    scenario: &Scenario,
    market: &crate::engine::Market,
    assets: &[AssetHeatmap],
    options: &Options,
) -> Option<pair::PairMap> {
    let [i, j] = options.pair.unwrap_or([0, 1]);
    if i == j || i.max(j) >= assets.len() {
        return None;
    }
    let books = groups::side_books(market);
    let n = assets.len();
    let corr = groups::correlation(n, scenario.cholesky.as_deref());
    let axis = |k: usize| {
        let h = &assets[k];
        pair::axis(
            &h.asset,
            &books[k],
            h.price,
            h.daily_volatility,
            options.half_range,
        )
    };
    Some(pair::build(
        axis(i),
        axis(j),
        [&books[i], &books[j]],
        corr[i * n + j],
    ))
}

/// Everything but the critical shock and the score, for asset `a`, and the clusters' score
/// terms.
/// The books an asset's liquidations walk, each with its depth multiplier at `hour`: its
/// venues' books, or its own. The 1-D map and the groups measure depth against these.
pub(crate) fn asset_books(
    model: &crate::engine::AssetModel,
    hour: usize,
) -> Vec<(&crate::model::book::BookShape, f64)> {
    match &model.venues {
        Some(v) => v.books.iter().map(|b| (b, b.hourly[hour])).collect(),
        None => vec![(&model.book, model.book.hourly[hour])],
    }
}

fn static_map(
    scenario: &Scenario,
    market: &crate::engine::Market,
    a: usize,
    hour: usize,
    o: &Options,
) -> (AssetHeatmap, Vec<ScoreTerm>) {
    let model = &market.assets[a];
    let price = model.start_price;
    let volatility = scenario.assets[a].volatility;
    let daily = score::one_day_sigma(
        volatility,
        scenario.assets[a]
            .jumps
            .map(|j| (j.rate_per_day, j.mean, j.sd)),
    );
    let book = &model.book;
    let multiplier = book.hourly[hour];
    let books = asset_books(model, hour);

    // Positions of every population on this asset (per venue), and lending collateral sales.
    let sides = sources::venue_sides(scenario, market, a);
    let sales = sources::lending_sales(scenario, market, a);
    let mut longs = SideBook::default();
    let mut shorts = SideBook::default();
    for (l, s) in sides.longs.iter().zip(&sides.shorts) {
        longs.extend(&l.liq, &l.qty);
        shorts.extend(&s.liq, &s.qty);
    }
    // Crowding counts perpetual positions only.
    let perp_longs = (!sales.is_empty()).then(|| longs.clone());
    for s in &sales {
        longs.extend(&s.sales.liq, &s.sales.qty);
    }
    let mut pops = Vec::new();
    let (mut long_oi, mut short_oi) = (0.0, 0.0);
    for (k, pos) in sources::populations_on(market, a) {
        let (lo, so) = (pos.longs.open_interest(), pos.shorts.open_interest());
        long_oi += lo;
        short_oi += so;
        let spec = &scenario.populations[k];
        pops.push(PopulationCrowding {
            name: spec.name.clone(),
            scenario_long_share: match &spec.source {
                PositionSource::Synthetic(s) => Some(s.long_share),
                PositionSource::Explicit(_) => None,
            },
            long_open_interest: lo,
            short_open_interest: so,
            long_positions: pos.longs.len(),
            short_positions: pos.shorts.len(),
        });
    }

    let grid = Grid::new(price, o.bin_width, o.half_range);
    let edges = grid.edges();
    let long = SideHistogram::build(&grid, &longs);
    let short = SideHistogram::build(&grid, &shorts);
    let cumulative = Cumulative::build(&grid, &longs, &shorts);
    let depth = DepthCurve::build_all(&books, price, multiplier, &edges);
    let sigma_bins = o.kernel_width / o.bin_width;
    let long_density = clusters::smooth(&long.notional, sigma_bins);
    let short_density = clusters::smooth(&short.notional, sigma_bins);
    let long_median_density = clusters::positive_median(&long_density);
    let short_median_density = clusters::positive_median(&short_density);

    let mut found = Vec::new();
    for (side, hist, density, median) in [
        (Side::Long, &long, &long_density, long_median_density),
        (Side::Short, &short, &short_density, short_median_density),
    ] {
        for z in clusters::find_zones(density, o.prominence * median, o.zone_height) {
            found.push(cluster(side, &grid, hist, &z, median, &books, daily, o));
        }
    }
    found.sort_by(|x, y| y.notional.total_cmp(&x.notional));

    // Score: the largest contributions among the large clusters.
    let large = o.score_min_share * (long_oi + short_oi);
    let mut terms: Vec<ScoreTerm> = found
        .iter()
        .enumerate()
        .filter(|(_, c)| c.notional >= large)
        .map(|(i, c)| {
            let log_d = match c.side {
                Side::Long => (price / c.centre_price).ln(),
                Side::Short => (c.centre_price / price).ln(),
            }
            .max(0.0);
            let reach = score::reach(log_d, daily);
            let severity = score::severity(c.notional_to_depth);
            ScoreTerm {
                cluster: i,
                reach,
                severity,
                contribution: reach * severity,
            }
        })
        .collect();
    // Largest contribution first; ties (e.g. all 0) keep the notional order.
    terms.sort_by(|x, y| y.contribution.total_cmp(&x.contribution));
    terms.truncate(o.score_clusters);

    let at = |x: f64, long: bool| -> f64 {
        let side = if long {
            perp_longs.as_ref().unwrap_or(&longs)
        } else {
            &shorts
        };
        side.liq
            .iter()
            .zip(&side.qty)
            .filter(|(l, _)| if long { **l >= x } else { **l <= x })
            .map(|(l, q)| q * l.max(0.0))
            .sum()
    };
    let crowding = crowding(
        long_oi,
        short_oi,
        [
            at(price * 0.95, true),
            at(price * 1.05, false),
            at(price * 0.90, true),
            at(price * 1.10, false),
        ],
        pops,
    );

    let venues = match &model.venues {
        Some(v) => (0..v.len())
            .map(|k| VenueMap {
                venue: v.names[k].clone(),
                weight: v.weights[k],
                long: SideHistogram::build(&grid, &sides.longs[k]),
                short: SideHistogram::build(&grid, &sides.shorts[k]),
                depth: DepthCurve::build(&v.books[k], price, books[k].1, &edges),
            })
            .collect(),
        None => Vec::new(),
    };
    let lending = sales
        .iter()
        .map(|s| LendingMap {
            market: s.market.clone(),
            accounts: s.accounts,
            out_of_reach_accounts: s.out_of_reach,
            seized_elsewhere_accounts: s.seized_elsewhere,
            seized_elsewhere_usd: s.seized_elsewhere_usd,
            sales: SideHistogram::build(&grid, &s.sales),
        })
        .collect();
    let heat = AssetHeatmap {
        asset: model.name.clone(),
        price,
        volatility,
        daily_volatility: daily,
        hour_utc: hour,
        depth_multiplier: multiplier,
        grid,
        long,
        short,
        long_density,
        short_density,
        long_median_density,
        short_median_density,
        cumulative,
        depth,
        crowding,
        clusters: found,
        score: score::combine(None, daily, Vec::new()),
        critical: None,
        venues,
        lending,
    };
    (heat, terms)
}

#[allow(clippy::too_many_arguments)]
fn cluster(
    side: Side,
    grid: &Grid,
    hist: &SideHistogram,
    z: &clusters::Zone,
    median: f64,
    books: &[(&crate::model::book::BookShape, f64)],
    daily: f64,
    o: &Options,
) -> Cluster {
    let price = grid.price;
    let bins = z.first..=z.last;
    let notional: f64 = hist.notional[bins.clone()].iter().sum();
    let qty: f64 = hist.qty[bins.clone()].iter().sum();
    let positions: u64 = hist.positions[bins.clone()]
        .iter()
        .map(|&c| u64::from(c))
        .sum();
    let weighted: f64 = hist.notional_price[bins].iter().sum();
    let price_low = grid.edge(z.first);
    let price_high = grid.edge(z.last + 1);
    let peak_price = grid.centre(z.peak);
    let centre_price = if notional > 0.0 {
        weighted / notional
    } else {
        peak_price
    };
    let near = match side {
        Side::Long => price_high.min(price),
        Side::Short => price_low.max(price),
    };
    // A centre on the wrong side of the price (positions liquidatable already) is at the
    // price: no book in front, no distance.
    let centre_at = match side {
        Side::Long => centre_price.min(price),
        Side::Short => centre_price.max(price),
    };
    let sigmas = |x: f64| (daily > 0.0).then(|| (x / price).ln().abs() / daily);
    let depth_in_front = depth_to_all(books, price, centre_at);
    let notional_to_depth = (depth_in_front.qty > 0.0).then(|| qty / depth_in_front.qty);
    Cluster {
        side,
        price_low,
        price_high,
        peak_price,
        centre_price,
        notional,
        qty,
        positions,
        peak_density: z.height,
        prominence: z.prominence,
        prominence_ratio: if median > 0.0 {
            z.prominence / median
        } else {
            0.0
        },
        distance_pct: 100.0 * (near - price).abs() / price,
        distance_sigmas: sigmas(near),
        centre_distance_pct: 100.0 * (centre_at - price).abs() / price,
        centre_distance_sigmas: sigmas(centre_at),
        depth_in_front,
        notional_to_depth,
        anomaly: notional_to_depth.is_none_or(|r| r >= o.anomaly_ratio),
    }
}

fn crowding(
    long_oi: f64,
    short_oi: f64,
    near: [f64; 4],
    populations: Vec<PopulationCrowding>,
) -> Crowding {
    let total = long_oi + short_oi;
    let long_share = if total > 0.0 { long_oi / total } else { 0.5 };
    let excess_points = 100.0 * (long_share - 0.5);
    let crowded_side = if total <= 0.0 || excess_points.abs() < 2.5 {
        "balanced"
    } else if excess_points > 0.0 {
        "long"
    } else {
        "short"
    };
    let (big, small) = if long_oi >= short_oi {
        (long_oi, short_oi)
    } else {
        (short_oi, long_oi)
    };
    let ratio = (small > 0.0).then(|| big / small);
    let funding = (long_share > 0.0 && long_share < 1.0)
        .then(|| 0.0001 + 0.0002 * (long_share / (1.0 - long_share)).ln());
    debug_assert!(
        funding.is_none_or(|f| (long_share_from_funding(f) - long_share).abs() < 1e-9),
        "the funding equivalent inverts the scenario's map"
    );
    let statement = if total <= 0.0 {
        "no open interest".to_string()
    } else {
        let ratio_text = ratio.map_or("the other side is empty".into(), |r| {
            format!("{r:.2}× the other side")
        });
        let funding_text = funding.map_or(String::new(), |f| {
            format!("; funding-equivalent {:+.4}%/8h", 100.0 * f)
        });
        match crowded_side {
            "balanced" => format!(
                "balanced: {:.1}% of open interest long{funding_text}",
                100.0 * long_share
            ),
            side => format!(
                "{side}s crowded: {:.1}% of open interest is {side} ({:+.1} points from even, {ratio_text}){funding_text}",
                100.0
                    * if side == "long" {
                        long_share
                    } else {
                        1.0 - long_share
                    },
                excess_points.abs(),
            ),
        }
    };
    Crowding {
        long_open_interest: long_oi,
        short_open_interest: short_oi,
        long_share,
        crowded_side,
        excess_points,
        ratio,
        funding_equivalent_8h: funding,
        long_liquidatable_5pct: near[0],
        short_liquidatable_5pct: near[1],
        long_liquidatable_10pct: near[2],
        short_liquidatable_10pct: near[3],
        populations,
        statement,
    }
}
