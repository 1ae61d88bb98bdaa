//! Cross-asset liquidation groups: the positions, on any asset, that the same joint market
//! move would liquidate, found by DBSCAN (the `petal-clustering` crate) on the most likely
//! joint move that reaches each position. `docs/heatmap.md` ("Groups across assets") gives
//! the reasoning, the method and how its parameters were chosen.
//!
//! Feature of a position on asset `a` with liquidation price `L` (current price `P`, one-day
//! standard deviation `σ_a` of the log-price): its trigger `z = ln(L/P)/σ_a` and the most
//! likely one-day joint move (in each asset's σ) that reaches it, `m = z·R[·, a]` (`R` the
//! scenario's base correlation matrix): the Gaussian conditional mean of the other assets'
//! moves given that asset `a` moved by `z`. Side and asset are in `m`'s sign and direction;
//! size is a weight (notional quanta), not a coordinate, so that a large and a small position
//! that the same move liquidates stay together. A cross-margin account (issue 23) would
//! become one point of the same space (the most likely move that reaches its own boundary).
//!
//! Weight: the reachable book is cut into `quanta` equal slices of notional along each
//! (asset, side)'s trigger order; each slice is one DBSCAN point, so point density is
//! notional density and `min_samples` slices are a share of the book. This keeps the
//! clustering at about `quanta` points whatever the number of positions (10⁵–10⁶ positions
//! would give neighbourhood lists of thousands each).

use std::collections::HashMap;

use ndarray::Array2;
use petal_clustering::{Dbscan, Fit};
use petal_neighbors::distance::Euclidean;
use serde::Serialize;

use super::AssetHeatmap;
use super::clusters::Side;
use super::depth::{Depth, depth_to_all};
use super::grid::SideBook;
use crate::engine::Market;
use crate::model::spec::Scenario;

/// Choices of the grouping. [`GroupOptions::default`] gives the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GroupOptions {
    /// Number of equal-notional slices the reachable book is cut into (DBSCAN points).
    pub quanta: usize,
    /// A core point has at least this share of the reachable book within `eps`.
    pub min_share: f64,
    /// Neighbourhood radius in one-day σ; `None`: one hour's σ, `√(1/24)` (see
    /// [`HOUR_EPS`]).
    pub eps: Option<f64>,
    /// Positions whose liquidation price is more than this many one-day σ away are out of
    /// reach of a day's move and left out.
    pub max_sigmas: f64,
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            quanta: 1000,
            min_share: 0.02,
            eps: None,
            max_sigmas: 6.0,
        }
    }
}

/// The default radius: the standard deviation of one hour's move in units of one day's,
/// `√(1/24) ≈ 0.204`. Two positions are neighbours when the most likely moves that reach
/// them differ by less than an hour's typical move.
pub const HOUR_EPS: f64 = 0.204_124_145_231_931_5;

/// One position reduced to what the grouping needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trigger {
    pub asset: usize,
    pub side: Side,
    /// Trigger in one-day σ of its asset (≤ 0 for longs, ≥ 0 for shorts).
    pub z: f64,
    /// Notional at the liquidation price (USD) and size (base units).
    pub notional: f64,
    pub qty: f64,
}

/// The members of one group on one asset and side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupPart {
    pub asset: String,
    pub side: Side,
    pub positions: u64,
    /// Notional at liquidation prices (USD) and size (base units).
    pub notional: f64,
    pub qty: f64,
    /// Notional-weighted mean trigger of these members: move of the asset in % of the
    /// price and in one-day σ.
    pub trigger_pct: f64,
    pub trigger_sigmas: f64,
    /// The nearest and the farthest member's trigger, one-day σ: a move to the farthest
    /// takes the whole part.
    pub nearest_trigger_sigmas: f64,
    pub farthest_trigger_sigmas: f64,
    /// Book depth between the current price and that trigger.
    pub depth: Depth,
    /// Size over that depth (`None` when no book stands in front).
    pub share_of_depth: Option<f64>,
}

/// The joint move that sets a group off, on one asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMove {
    pub asset: String,
    /// Move in % of the current price and in one-day σ.
    pub pct: f64,
    pub sigmas: f64,
}

/// One group of positions that the same joint move liquidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Total notional (USD at liquidation prices), positions, share of the reachable book.
    pub notional: f64,
    pub positions: u64,
    pub share_of_book: f64,
    /// Whether members sit on more than one asset.
    pub cross_asset: bool,
    /// The group's centroid in the feature space: the notional-weighted mean of its
    /// members' most likely triggering moves, per asset.
    pub joint_move: Vec<GroupMove>,
    /// Members per asset and side, largest notional first.
    pub parts: Vec<GroupPart>,
}

/// The groups of a scenario with two or more assets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Groups {
    pub method: &'static str,
    pub options: GroupOptions,
    /// The radius used (one-day σ) and where it comes from (`"one hour"`, `"given"`).
    pub eps: f64,
    pub eps_rule: &'static str,
    /// The knee of the sorted distances to the `min_samples − 1`-th neighbour (one-day σ),
    /// reported as a check of the radius; `None` on a flat curve.
    pub k_distance_knee: Option<f64>,
    pub min_samples: usize,
    /// USD of one DBSCAN point.
    pub quantum_notional: f64,
    /// Notional within `max_sigmas` (what was clustered) and the part left as noise.
    pub reachable_notional: f64,
    pub ungrouped_notional: f64,
    /// Correlation matrix used (row-major, assets in scenario order).
    pub correlation: Vec<f64>,
    /// Largest notional first.
    pub groups: Vec<Group>,
}

/// Each asset's long and short positions (replicate 0 in fixed mode, as the 1-D map).
pub fn side_books(market: &Market) -> Vec<(SideBook, SideBook)> {
    let mut out: Vec<(SideBook, SideBook)> = (0..market.assets.len())
        .map(|_| Default::default())
        .collect();
    let Some(rep) = market.replicate_of(0).map(|r| market.replicate(r)) else {
        return out;
    };
    for (k, pm) in market.populations.iter().enumerate() {
        let pos = &rep.positions[k];
        out[pm.asset].0.extend(&pos.longs.liq, &pos.longs.qty);
        out[pm.asset].1.extend(&pos.shorts.liq, &pos.shorts.qty);
    }
    out
}

/// The correlation matrix `L·Lᵀ` (row-major `n×n`) of a Cholesky factor; the identity
/// without one.
pub fn correlation(n: usize, cholesky: Option<&[f64]>) -> Vec<f64> {
    let mut r = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            r[i * n + j] = match cholesky {
                Some(l) => (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum(),
                None => f64::from(u8::from(i == j)),
            };
        }
    }
    r
}

/// The triggers of every position within `max_sigmas` (zero-σ assets are left out).
pub fn triggers(
    books: &[(SideBook, SideBook)],
    prices: &[f64],
    sigmas: &[f64],
    max: f64,
) -> Vec<Trigger> {
    let mut out = Vec::new();
    for (a, (longs, shorts)) in books.iter().enumerate() {
        if sigmas[a].is_nan() || sigmas[a] <= 0.0 {
            continue;
        }
        for (side, book) in [(Side::Long, longs), (Side::Short, shorts)] {
            for (&liq, &qty) in book.liq.iter().zip(&book.qty) {
                if liq.is_nan() || liq <= 0.0 {
                    continue;
                }
                let z = (liq / prices[a]).ln() / sigmas[a];
                // Already past the price: liquidatable now, trigger 0.
                let z = match side {
                    Side::Long => z.min(0.0),
                    Side::Short => z.max(0.0),
                };
                if z.abs() <= max {
                    out.push(Trigger {
                        asset: a,
                        side,
                        z,
                        notional: qty * liq,
                        qty,
                    });
                }
            }
        }
    }
    out
}

/// The DBSCAN points: `(feature row, members)` where members are indices into `triggers`.
/// Each (asset, side) in trigger order is cut into slices of `unit` notional; slice `j` sits
/// at the position holding the cumulative notional `(j + ½)·unit`, and each position belongs
/// to the slice holding its notional's midpoint (none on a side with less than half a unit).
///
/// A slice's point is `(|z| + gap)·sign·R[·, a]` (sign −1 for longs): every point sits at
/// least `gap` from the origin, so longs and shorts near the price, which opposite moves
/// liquidate, do not chain into one group through the no-move point.
fn quanta(
    triggers: &[Trigger],
    n: usize,
    corr: &[f64],
    unit: f64,
    gap: f64,
) -> (Vec<Vec<f64>>, Vec<Option<usize>>) {
    let point = |t: &Trigger| -> Vec<f64> {
        let w = (t.z.abs() + gap) * if t.side == Side::Long { -1.0 } else { 1.0 };
        (0..n).map(|b| w * corr[b * n + t.asset]).collect()
    };
    let mut order: Vec<usize> = (0..triggers.len()).collect();
    let key = |t: &Trigger| (t.asset, matches!(t.side, Side::Short));
    order.sort_by(|&x, &y| {
        let (a, b) = (&triggers[x], &triggers[y]);
        key(a)
            .cmp(&key(b))
            .then(a.z.abs().total_cmp(&b.z.abs()))
            .then(x.cmp(&y))
    });
    let mut points = Vec::new();
    let mut slice_of = vec![None; triggers.len()];
    let mut start = 0;
    while start < order.len() {
        let k = key(&triggers[order[start]]);
        let end = start + order[start..].partition_point(|&i| key(&triggers[i]) == k);
        let side: &[usize] = &order[start..end];
        let total: f64 = side.iter().map(|&i| triggers[i].notional).sum();
        let count = (total / unit + 0.5).floor() as usize;
        if count > 0 {
            let first = points.len();
            let (mut cum, mut j) = (0.0, 0);
            for &i in side {
                let t = &triggers[i];
                let hi = cum + t.notional;
                while j < count && (j as f64 + 0.5) * unit < hi {
                    points.push(point(t));
                    j += 1;
                }
                let mid = ((cum + 0.5 * t.notional) / unit).floor() as usize;
                slice_of[i] = Some(first + mid.min(count - 1));
                cum = hi;
            }
            // Rounding may leave the last slices unplaced: they sit at the side's end.
            let last = &triggers[*side.last().unwrap_or(&0)];
            while j < count {
                points.push(point(last));
                j += 1;
            }
        }
        start = end;
    }
    (points, slice_of)
}

/// Distance from each point to its `k`-th nearest other point.
fn k_distances(points: &[Vec<f64>], k: usize) -> Vec<f64> {
    let dist = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    };
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut d: Vec<f64> = points
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, q)| dist(p, q))
                .collect();
            if d.is_empty() {
                return 0.0;
            }
            let k = k.clamp(1, d.len());
            d.select_nth_unstable_by(k - 1, f64::total_cmp);
            d[k - 1]
        })
        .collect()
}

/// The knee of an increasing curve (Kneedle: the point farthest below the chord from the
/// first to the last value, both axes scaled to [0, 1]).
pub fn knee(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    let (lo, hi) = (*sorted.first()?, *sorted.last()?);
    if n < 3 || hi.is_nan() || lo.is_nan() || hi <= lo {
        return None;
    }
    (0..n)
        .map(|i| {
            let x = i as f64 / (n - 1) as f64;
            let y = (sorted[i] - lo) / (hi - lo);
            (x - y, sorted[i])
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, d)| d)
}

/// What DBSCAN found: the radius and how it was chosen, and each group's members (indices
/// into the triggers, increasing), groups in order of their first slice.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    pub eps: f64,
    pub eps_rule: &'static str,
    pub knee: Option<f64>,
    pub members: Vec<Vec<usize>>,
}

/// Clusters the triggers of `n` assets with correlation `corr` (row-major).
pub fn cluster(trig: &[Trigger], n: usize, corr: &[f64], o: &GroupOptions) -> Clustering {
    let reachable: f64 = trig.iter().map(|t| t.notional).sum();
    let quanta_n = o.quanta.max(1);
    let min_samples = min_samples(o);
    let mut out = Clustering {
        eps: o.eps.unwrap_or(HOUR_EPS),
        eps_rule: if o.eps.is_some() { "given" } else { "one hour" },
        knee: None,
        members: Vec::new(),
    };
    if reachable.is_nan() || reachable <= 0.0 {
        return out;
    }
    let unit = reachable / quanta_n as f64;
    let (points, slice_of) = quanta(trig, n, corr, unit, out.eps);
    let mut kd = k_distances(&points, min_samples - 1);
    kd.sort_by(f64::total_cmp);
    out.knee = knee(&kd);
    let flat: Vec<f64> = points.iter().flatten().copied().collect();
    let Ok(array) = Array2::from_shape_vec((points.len(), n), flat) else {
        return out;
    };
    let (clusters, _noise) =
        Dbscan::new(out.eps, min_samples, Euclidean::default()).fit(&array, None);
    // Label per point; groups in order of their smallest point, so the result does not
    // depend on the crate's map order.
    let mut ids: Vec<(usize, &Vec<usize>)> = clusters
        .values()
        .map(|m| (*m.iter().min().unwrap_or(&0), m))
        .collect();
    ids.sort_by_key(|(first, _)| *first);
    let mut label = vec![None; points.len()];
    for (g, (_, pts)) in ids.iter().enumerate() {
        for &p in pts.iter() {
            label[p] = Some(g);
        }
    }
    out.members = vec![Vec::new(); ids.len()];
    for (i, s) in slice_of.iter().enumerate() {
        if let Some(g) = s.and_then(|p| label[p]) {
            out.members[g].push(i);
        }
    }
    out.members.retain(|m| !m.is_empty());
    out
}

/// DBSCAN's `min_samples`: `min_share` of the slices, at least 2.
fn min_samples(o: &GroupOptions) -> usize {
    ((o.min_share * o.quanta.max(1) as f64).ceil() as usize).max(2)
}

/// Finds the groups; `None` with fewer than two assets.
pub fn find(
    scenario: &Scenario,
    market: &Market,
    assets: &[AssetHeatmap],
    o: &GroupOptions,
) -> Option<Groups> {
    let n = assets.len();
    if n < 2 {
        return None;
    }
    let corr = correlation(n, scenario.cholesky.as_deref());
    let books = side_books(market);
    let prices: Vec<f64> = assets.iter().map(|a| a.price).collect();
    let sigmas: Vec<f64> = assets.iter().map(|a| a.daily_volatility).collect();
    let trig = triggers(&books, &prices, &sigmas, o.max_sigmas);
    let reachable: f64 = trig.iter().map(|t| t.notional).sum();
    let mut out = Groups {
        method: "DBSCAN (petal-clustering) on equal-notional slices of each asset's trigger ladder, at the most likely joint one-day move (σ units) that reaches them",
        options: *o,
        eps: f64::NAN,
        eps_rule: "given",
        k_distance_knee: None,
        min_samples: min_samples(o),
        quantum_notional: reachable / o.quanta.max(1) as f64,
        reachable_notional: reachable,
        ungrouped_notional: reachable,
        correlation: corr.clone(),
        groups: Vec::new(),
    };
    if reachable.is_nan() || reachable <= 0.0 {
        return Some(out);
    }
    let c = cluster(&trig, n, &corr, o);
    (out.eps, out.eps_rule, out.k_distance_knee) = (c.eps, c.eps_rule, c.knee);
    let members = c.members;
    let names: Vec<&str> = assets.iter().map(|a| a.asset.as_str()).collect();
    out.groups = members
        .iter()
        .map(|m| summarise(&trig, m, &corr, market, assets, &names, reachable))
        .collect();
    out.groups.sort_by(|x, y| y.notional.total_cmp(&x.notional));
    out.ungrouped_notional = reachable - out.groups.iter().map(|g| g.notional).sum::<f64>();
    Some(out)
}

/// Running sums of one group's members on one asset and side.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    count: u64,
    notional: f64,
    qty: f64,
    /// Σ notional × trigger.
    nz: f64,
    near: f64,
    far: f64,
}

fn summarise(
    trig: &[Trigger],
    members: &[usize],
    corr: &[f64],
    market: &Market,
    assets: &[AssetHeatmap],
    names: &[&str],
    reachable: f64,
) -> Group {
    let n = assets.len();
    let mut parts: HashMap<(usize, bool), Sums> = HashMap::new();
    let mut centre = vec![0.0; n];
    let mut total = 0.0;
    for &i in members {
        let t = &trig[i];
        let e = parts
            .entry((t.asset, t.side == Side::Short))
            .or_insert(Sums {
                near: t.z,
                far: t.z,
                ..Sums::default()
            });
        e.count += 1;
        e.notional += t.notional;
        e.qty += t.qty;
        e.nz += t.notional * t.z;
        if t.z.abs() < e.near.abs() {
            e.near = t.z;
        }
        if t.z.abs() > e.far.abs() {
            e.far = t.z;
        }
        for (b, c) in centre.iter_mut().enumerate() {
            *c += t.notional * t.z * corr[b * n + t.asset];
        }
        total += t.notional;
    }
    let pct = |a: usize, z: f64| 100.0 * ((z * assets[a].daily_volatility).exp() - 1.0);
    let mut keys: Vec<(usize, bool)> = parts.keys().copied().collect();
    keys.sort();
    let mut parts: Vec<GroupPart> = keys
        .into_iter()
        .map(|(a, short)| {
            let Sums {
                count,
                notional,
                qty,
                nz,
                near,
                far,
            } = parts[&(a, short)];
            let z = nz / notional.max(f64::MIN_POSITIVE);
            let h = &assets[a];
            let target = h.price * (z * h.daily_volatility).exp();
            // The same books as the 1-D map's clusters: every venue's, or the asset's own.
            let books = super::asset_books(&market.assets[a], h.hour_utc);
            let depth = depth_to_all(&books, h.price, target);
            GroupPart {
                asset: names[a].to_string(),
                side: if short { Side::Short } else { Side::Long },
                positions: count,
                notional,
                qty,
                trigger_pct: pct(a, z),
                trigger_sigmas: z,
                nearest_trigger_sigmas: near,
                farthest_trigger_sigmas: far,
                depth,
                share_of_depth: (depth.qty > 0.0).then(|| qty / depth.qty),
            }
        })
        .collect();
    parts.sort_by(|x, y| y.notional.total_cmp(&x.notional));
    let assets_in: std::collections::BTreeSet<&str> =
        parts.iter().map(|p| p.asset.as_str()).collect();
    Group {
        notional: total,
        positions: members.len() as u64,
        share_of_book: total / reachable,
        cross_asset: assets_in.len() > 1,
        joint_move: (0..n)
            .map(|a| {
                let z = centre[a] / total;
                GroupMove {
                    asset: names[a].to_string(),
                    pct: pct(a, z),
                    sigmas: z,
                }
            })
            .collect(),
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` longs on `asset` with triggers spread evenly over `z ± half` σ, each of
    /// `notional`.
    fn ladder(asset: usize, z: f64, half: f64, count: usize, notional: f64) -> Vec<Trigger> {
        (0..count)
            .map(|k| Trigger {
                asset,
                side: Side::Long,
                z: z - half + 2.0 * half * k as f64 / (count.max(2) - 1) as f64,
                notional,
                qty: notional / 100.0,
            })
            .collect()
    }

    fn corr2(rho: f64) -> Vec<f64> {
        vec![1.0, rho, rho, 1.0]
    }

    /// A thin background on both assets: longs every 0.02σ from −0.1σ to −6σ.
    fn background() -> Vec<Trigger> {
        let mut t = ladder(0, -3.05, 2.95, 296, 1.0);
        t.extend(ladder(1, -3.05, 2.95, 296, 1.0));
        t
    }

    fn group_of(c: &Clustering, i: usize) -> Option<usize> {
        c.members.iter().position(|m| m.binary_search(&i).is_ok())
    }

    #[test]
    fn a_planted_cross_asset_group_is_found_whole() {
        // ρ = 0.95: A's longs at −1.5σ and B's at −1.5σ are reached by the same joint move
        // (each one's most likely trigger puts the other asset at −1.43σ).
        let mut trig = background();
        let first = trig.len();
        trig.extend(ladder(0, -1.5, 0.03, 50, 40.0));
        trig.extend(ladder(1, -1.5, 0.03, 50, 40.0));
        let last = trig.len();
        let c = cluster(&trig, 2, &corr2(0.95), &GroupOptions::default());
        assert!(c.eps > 0.0 && c.eps <= 0.5, "{c:?}");
        let g = group_of(&c, first).expect("the planted positions are grouped");
        for i in first..last {
            assert_eq!(
                group_of(&c, i),
                Some(g),
                "planted position {i} in the group"
            );
        }
        // The background far from −1.5σ stays out of it.
        for (i, t) in trig[..first].iter().enumerate() {
            if (t.z + 1.5).abs() > 0.5 {
                assert_ne!(group_of(&c, i), Some(g), "background at {}σ", t.z);
            }
        }
    }

    #[test]
    fn independent_positions_are_not_grouped_together() {
        // ρ = 0: the same ladders on A and B are reached by different moves.
        let mut trig = background();
        let a = trig.len();
        trig.extend(ladder(0, -1.5, 0.03, 50, 40.0));
        let b = trig.len();
        trig.extend(ladder(1, -1.5, 0.03, 50, 40.0));
        let c = cluster(&trig, 2, &corr2(0.0), &GroupOptions::default());
        let ga = group_of(&c, a).expect("A's ladder is dense enough to be a group");
        let gb = group_of(&c, b).expect("B's ladder too");
        assert_ne!(ga, gb);
        for m in &c.members {
            let assets: std::collections::BTreeSet<usize> =
                m.iter().map(|&i| trig[i].asset).collect();
            assert_eq!(assets.len(), 1, "a group spans two independent assets");
        }
        // Far-apart triggers on one asset are two groups, not one.
        let mut far = ladder(0, -0.5, 0.03, 50, 40.0);
        far.extend(ladder(0, -3.0, 0.03, 50, 40.0));
        let c = cluster(&far, 2, &corr2(0.0), &GroupOptions::default());
        assert_eq!(c.members.len(), 2, "{c:?}");
    }

    #[test]
    fn every_slice_and_position_is_accounted_for() {
        let mut trig = ladder(0, -1.0, 0.5, 7, 3.0);
        trig.push(Trigger {
            asset: 1,
            side: Side::Short,
            z: 0.4,
            notional: 9.0,
            qty: 1.0,
        });
        // 30 USD in slices of 1: 21 on A's longs, 9 on B's shorts (the big one 9 times).
        let (points, slice_of) = quanta(&trig, 2, &corr2(0.5), 1.0, 0.1);
        assert_eq!(points.len(), 30);
        assert!(slice_of.iter().all(Option::is_some));
        assert_eq!(points[29], vec![0.5 * 0.5, 0.5]);
        assert_eq!(points[0], vec![-0.6, -0.3]);
        // Each position's slice holds its notional's midpoint: the big short's is slice 25.
        // A's ladder in trigger order: the nearest (index 6) holds [0, 3), slice 1; the
        // farthest (index 0) holds [18, 21), slice 19.
        assert_eq!(slice_of[7], Some(25));
        assert_eq!(slice_of[6], Some(1));
        assert_eq!(slice_of[0], Some(19));
    }

    #[test]
    fn the_knee_is_where_the_curve_turns() {
        let mut d: Vec<f64> = (0..90).map(|i| 0.1 + 0.001 * f64::from(i)).collect();
        d.extend((0..10).map(|i| 1.0 + f64::from(i)));
        let k = knee(&d).unwrap();
        assert!((0.18..=1.0).contains(&k), "{k}");
        assert_eq!(knee(&[1.0, 1.0, 1.0]), None);
    }

    #[test]
    fn a_factor_gives_back_its_correlation() {
        let l = [1.0, 0.0, 0.8, 0.6];
        assert_eq!(correlation(2, Some(&l)), vec![1.0, 0.8, 0.8, 1.0]);
        assert_eq!(correlation(2, None), vec![1.0, 0.0, 0.0, 1.0]);
    }
}
