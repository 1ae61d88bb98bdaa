//! `heatmap.h5`'s `groups` and `pair_map` groups (scenarios with two or more assets): the
//! cross-asset liquidation groups as two tables (one row per group, one per group part) and
//! the 2-D pair map with its axes as coordinate datasets. The same numbers as
//! `heatmap.json`'s `groups` and `pair_map` keys; absent with a single asset.

use super::super::h5::{AttrValue, Column, ColumnData, Group};
use super::{Cols, attr, opt};
use crate::heatmap::HeatmapReport;
use crate::heatmap::clusters::Side;
use crate::heatmap::groups::Groups;
use crate::heatmap::pair::PairMap;

/// Owned values of the extra groups, so that [`Extra::groups`] can borrow them: each an
/// HDF5 group's path, attributes and columns.
pub(super) struct Extra(Vec<(String, Attrs, Table)>);

/// Attributes of one HDF5 group, in order.
type Attrs = Vec<(String, AttrValue)>;

/// One table: the file's usual float, count and flag columns ([`Cols`]) and row-major
/// matrices (name, unit, description, values, columns).
struct Table {
    cols: Cols,
    m: Vec<(&'static str, &'static str, &'static str, Vec<f64>, usize)>,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            cols: Cols::new(),
            m: Vec::new(),
        }
    }
}

impl Table {
    fn columns(&self) -> Vec<Column<'_>> {
        let mut out = self.cols.columns();
        out.extend(self.m.iter().map(|(n, u, d, v, cols)| {
            Column::new(
                n,
                u,
                d,
                ColumnData::F64Matrix {
                    data: v,
                    cols: *cols,
                },
            )
        }));
        out
    }
}

impl Extra {
    pub(super) fn new(report: &HeatmapReport) -> Extra {
        let names: Vec<&str> = report.assets.iter().map(|a| a.asset.as_str()).collect();
        let mut out = Vec::new();
        if let Some(g) = &report.groups {
            let (attrs, rows, parts) = groups(g, &names);
            out.push(("groups".to_string(), attrs, Table::default()));
            for (path, t, desc) in [
                (
                    "groups/groups",
                    rows,
                    "one row per group, largest notional first",
                ),
                (
                    "groups/parts",
                    parts,
                    "one row per group, asset and side, groups in order, largest part first",
                ),
            ] {
                out.push((path.to_string(), vec![attr("description", desc)], t));
            }
        }
        if let Some(p) = &report.pair_map {
            let (attrs, t) = pair(p);
            out.push(("pair_map".to_string(), attrs, t));
        }
        Extra(out)
    }

    /// The HDF5 groups, to append to the file's others.
    pub(super) fn groups(&self) -> Vec<Group<'_>> {
        self.0
            .iter()
            .map(|(path, attrs, t)| Group {
                path: path.clone(),
                attrs: attrs.clone(),
                columns: t.columns(),
            })
            .collect()
    }
}

fn groups(g: &Groups, names: &[&str]) -> (Attrs, Table, Table) {
    let o = &g.options;
    let attrs = vec![
        attr("method", g.method),
        attr("assets", serde_json::to_string(names).unwrap_or_default()),
        attr("eps", g.eps),
        attr("eps_rule", g.eps_rule),
        attr("k_distance_knee", opt(g.k_distance_knee)),
        attr("min_samples", g.min_samples as u64),
        attr("quanta", o.quanta as u64),
        attr("min_share", o.min_share),
        attr("max_sigmas", o.max_sigmas),
        attr("quantum_notional", g.quantum_notional),
        attr("reachable_notional", g.reachable_notional),
        attr("ungrouped_notional", g.ungrouped_notional),
        attr("correlation", AttrValue::F64s(g.correlation.clone())),
    ];
    let n = names.len();
    let col = |f: fn(&crate::heatmap::groups::Group) -> f64| g.groups.iter().map(f).collect();
    let mut rows = Table::default();
    rows.cols.f.push((
        "notional",
        "USD",
        "notional at liquidation prices",
        col(|x| x.notional),
    ));
    rows.cols.f.push((
        "share_of_book",
        "fraction",
        "notional over the reachable book",
        col(|x| x.share_of_book),
    ));
    rows.cols.u.push((
        "positions",
        "count",
        "member positions",
        g.groups.iter().map(|x| x.positions as u32).collect(),
    ));
    rows.cols.b.push((
        "cross_asset",
        "flag",
        "1 when members sit on more than one asset",
        g.groups.iter().map(|x| u8::from(x.cross_asset)).collect(),
    ));
    let moves = |f: fn(&crate::heatmap::groups::GroupMove) -> f64| -> Vec<f64> {
        g.groups
            .iter()
            .flat_map(|x| x.joint_move.iter().map(f))
            .collect()
    };
    rows.m.push((
        "joint_move_pct",
        "%",
        "the group's centroid move, one column per asset (attribute assets)",
        moves(|m| m.pct),
        n,
    ));
    rows.m.push((
        "joint_move_sigmas",
        "one-day sigma",
        "the same in one-day standard deviations",
        moves(|m| m.sigmas),
        n,
    ));

    let mut parts = Table::default();
    let all: Vec<(usize, &crate::heatmap::groups::GroupPart)> = g
        .groups
        .iter()
        .enumerate()
        .flat_map(|(i, x)| x.parts.iter().map(move |p| (i, p)))
        .collect();
    let pf = |f: fn(&crate::heatmap::groups::GroupPart) -> f64| -> Vec<f64> {
        all.iter().map(|(_, p)| f(p)).collect()
    };
    for (name, unit, desc, v) in [
        (
            "notional",
            "USD",
            "notional at liquidation prices",
            pf(|p| p.notional),
        ),
        ("qty", "base units", "size", pf(|p| p.qty)),
        (
            "trigger_pct",
            "%",
            "notional-weighted mean trigger, % of the price",
            pf(|p| p.trigger_pct),
        ),
        (
            "trigger_sigmas",
            "one-day sigma",
            "the same in one-day standard deviations",
            pf(|p| p.trigger_sigmas),
        ),
        (
            "nearest_trigger_sigmas",
            "one-day sigma",
            "the nearest member's trigger",
            pf(|p| p.nearest_trigger_sigmas),
        ),
        (
            "farthest_trigger_sigmas",
            "one-day sigma",
            "the farthest member's trigger (a move there takes the whole part)",
            pf(|p| p.farthest_trigger_sigmas),
        ),
        (
            "depth_qty",
            "base units",
            "book depth between the price and the mean trigger",
            pf(|p| p.depth.qty),
        ),
        ("depth_usd", "USD", "the same in USD", pf(|p| p.depth.usd)),
        (
            "share_of_depth",
            "ratio",
            "size over that depth (NaN: no book in front)",
            pf(|p| opt(p.share_of_depth)),
        ),
    ] {
        parts.cols.f.push((name, unit, desc, v));
    }
    let names_index = |a: &str| names.iter().position(|x| *x == a).unwrap_or(0) as u32;
    parts.cols.u.push((
        "group",
        "index",
        "row of groups/groups",
        all.iter().map(|(i, _)| *i as u32).collect(),
    ));
    parts.cols.u.push((
        "asset",
        "index",
        "asset, in the order of the attribute assets",
        all.iter().map(|(_, p)| names_index(&p.asset)).collect(),
    ));
    parts.cols.u.push((
        "positions",
        "count",
        "member positions",
        all.iter().map(|(_, p)| p.positions as u32).collect(),
    ));
    parts.cols.b.push((
        "long",
        "flag",
        "1 for longs, 0 for shorts",
        all.iter()
            .map(|(_, p)| u8::from(p.side == Side::Long))
            .collect(),
    ));
    parts.cols.flags.push((
        "beyond_book",
        "flag",
        "true when the trigger lies beyond the book (depth is the whole side)",
        all.iter()
            .map(|(_, p)| u8::from(p.depth.beyond_book))
            .collect(),
    ));
    (attrs, rows, parts)
}

fn pair(p: &PairMap) -> (Attrs, Table) {
    let mut attrs = vec![
        attr("asset_a", p.a.asset.clone()),
        attr("asset_b", p.b.asset.clone()),
        attr("price_a", p.a.price),
        attr("price_b", p.b.price),
        attr("daily_volatility_a", p.a.daily_volatility),
        attr("daily_volatility_b", p.b.daily_volatility),
        attr("correlation", p.correlation),
    ];
    for e in &p.ellipses {
        let k = e.sigmas as u64;
        attrs.push(attr(&format!("ellipse_{k}sigma_move_a"), e.move_a));
        attrs.push(attr(&format!("ellipse_{k}sigma_move_b"), e.move_b));
        attrs.push(attr(&format!("ellipse_{k}sigma_notional"), e.notional));
    }
    let mut axes = Table::default();
    for (name, unit, desc, v) in [
        (
            "move_a",
            "fraction",
            "coordinate: move of asset_a (rows)",
            &p.a.moves,
        ),
        (
            "move_b",
            "fraction",
            "coordinate: move of asset_b (columns)",
            &p.b.moves,
        ),
        (
            "long_notional_a",
            "USD",
            "asset_a's longs each move_a liquidates",
            &p.a.long_notional,
        ),
        (
            "short_notional_a",
            "USD",
            "asset_a's shorts each move_a liquidates",
            &p.a.short_notional,
        ),
        (
            "long_notional_b",
            "USD",
            "asset_b's longs each move_b liquidates",
            &p.b.long_notional,
        ),
        (
            "short_notional_b",
            "USD",
            "asset_b's shorts each move_b liquidates",
            &p.b.short_notional,
        ),
    ] {
        axes.cols.f.push((name, unit, desc, v.clone()));
    }
    axes.m.push((
        "notional",
        "USD",
        "notional liquidated by the move (move_a[i], move_b[j]): row i, column j",
        p.notional.iter().flatten().copied().collect(),
        p.b.moves.len(),
    ));
    (attrs, axes)
}
