//! Files of `cascadesim heatmap`: `heatmap.json`, `heatmap.h5` (the same numbers), one
//! figure per asset, `heatmap_<asset>.png` / `.svg`, with two or more assets the pair map
//! `pair_map_<A>_<B>.png` / `.svg`, and `heatmap.html` (`page.rs`), all written into a
//! [`Staging`] folder.
//!
//! `heatmap.h5` layout (every dataset 1-D with `unit` and `description` attributes):
//! - root attributes: provenance (version, scenario file, name and text, seed), the options,
//!   and the whole JSON document (`heatmap_json`);
//! - `/assets/<asset>`: attributes with the price, volatility, depth multiplier, crowding,
//!   score and both critical shocks (NaN where there is no value);
//! - `/assets/<asset>/bins`: one row per price bin (edges, notional, size, positions, smoothed
//!   density, by side);
//! - `/assets/<asset>/edges`: one row per bin edge (cumulative curves and book depth);
//! - `/assets/<asset>/clusters`: one row per cluster, largest first, with its score terms;
//! - `/assets/<asset>/critical/{down,up}`: the critical shock as attributes and the scan as
//!   columns;
//! - `/groups`, `/pair_map` (two or more assets): see [`groups`].
//! - `/assets/<asset>/venues/<venue>/{bins,edges}` (assets with venues) and
//!   `/assets/<asset>/lending/<k>/bins` (collateral of lending markets, `k` = 0, 1, … in
//!   scenario order, the market's name an attribute): each part's
//!   columns; the asset's `bins` and `edges` hold their total.
//!
//! In the JSON, a value that does not exist (a critical shock not found, a depth beyond the
//! book) is `null`; in HDF5 it is NaN.

use std::path::Path;

use serde::Serialize;

use super::h5::{self, AttrValue, Column, ColumnData, Group};
use super::plot;
use super::{OutputError, Staging};
use crate::heatmap::HeatmapReport;
use crate::heatmap::critical::{CriticalShock, Trial};

mod columns;
mod figure;
mod groups;
mod page;
mod pair_figure;

pub use figure::HeatmapFigure;
pub use pair_figure::stem as pair_stem;

/// What produced the heatmap.
#[derive(Debug, Clone, Serialize)]
pub struct HeatmapProvenance {
    pub cascadesim_version: String,
    pub scenario_file: String,
    pub scenario_name: String,
    pub seed: u64,
    /// The scenario's TOML text.
    pub scenario: String,
}

#[derive(Serialize)]
struct Document<'a> {
    provenance: &'a HeatmapProvenance,
    #[serde(flatten)]
    report: &'a HeatmapReport,
}

/// Pixel size of each figure.
pub const FIGURE_SIZE: (u32, u32) = (1400, 1000);

/// The file stem of an asset's figure: `heatmap_<asset>` with characters other than letters,
/// digits, `-`, `_` and `.` replaced by `_`.
pub fn figure_stem(asset: &str) -> String {
    format!("heatmap_{}", super::plot::file_safe(asset))
}

/// Writes `heatmap.json`, `heatmap.h5` and the figures into `staging`; returns the names of
/// the files written.
///
/// # Errors
/// On any failure to serialise, draw or write.
pub fn write_heatmap(
    staging: &Staging,
    report: &HeatmapReport,
    provenance: &HeatmapProvenance,
) -> Result<Vec<String>, OutputError> {
    let json = serde_json::to_string_pretty(&Document { provenance, report })?;
    staging.write("heatmap.json", format!("{json}\n").as_bytes())?;
    write_h5(&staging.path("heatmap.h5"), report, provenance, &json)?;
    let mut files = vec!["heatmap.json".to_string(), "heatmap.h5".to_string()];
    let dir = staging.path("");
    for a in &report.assets {
        let stem = figure_stem(&a.asset);
        plot::save(&HeatmapFigure(a), &dir, &stem, FIGURE_SIZE).map_err(|e| OutputError::Io {
            path: dir.join(format!("{stem}.png")),
            source: std::io::Error::other(e.to_string()),
        })?;
        files.push(format!("{stem}.png"));
        files.push(format!("{stem}.svg"));
    }
    if let Some(p) = &report.pair_map {
        files.extend(pair_figure::save(p, &dir)?);
    }
    staging.write(
        "heatmap.html",
        page::render(report, provenance, &dir).as_bytes(),
    )?;
    files.push("heatmap.html".to_string());
    Ok(files)
}

fn opt(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

fn attr(name: &str, v: impl Into<AttrValue>) -> (String, AttrValue) {
    (name.to_string(), v.into())
}

/// Owned column values, so groups can borrow them.
struct Cols {
    f: Vec<(&'static str, &'static str, &'static str, Vec<f64>)>,
    u: Vec<(&'static str, &'static str, &'static str, Vec<u32>)>,
    b: Vec<(&'static str, &'static str, &'static str, Vec<u8>)>,
    /// Flags as 0/1 bytes, written as HDF5 booleans.
    flags: Vec<(&'static str, &'static str, &'static str, Vec<u8>)>,
}

impl Cols {
    fn new() -> Cols {
        Cols {
            f: Vec::new(),
            u: Vec::new(),
            b: Vec::new(),
            flags: Vec::new(),
        }
    }
    fn f(&mut self, name: &'static str, unit: &'static str, d: &'static str, v: Vec<f64>) {
        self.f.push((name, unit, d, v));
    }
    /// The columns of `table` over rows `0..rows` of source `a`.
    fn from_table<S>(a: &S, rows: usize, table: &columns::Table<S>) -> Cols {
        fn values<S, T>(a: &S, rows: usize, get: fn(&S, usize) -> T) -> Vec<T> {
            (0..rows).map(|i| get(a, i)).collect()
        }
        Cols {
            f: table
                .f64
                .iter()
                .map(|c| (c.name, c.unit, c.description, values(a, rows, c.get)))
                .collect(),
            u: table
                .u32
                .iter()
                .map(|c| (c.name, c.unit, c.description, values(a, rows, c.get)))
                .collect(),
            b: table
                .u8
                .iter()
                .map(|c| (c.name, c.unit, c.description, values(a, rows, c.get)))
                .collect(),
            flags: table
                .flags
                .iter()
                .map(|c| {
                    let v = values(a, rows, c.get).into_iter().map(u8::from).collect();
                    (c.name, c.unit, c.description, v)
                })
                .collect(),
        }
    }

    fn columns(&self) -> Vec<Column<'_>> {
        let mut out: Vec<Column<'_>> = self
            .f
            .iter()
            .map(|(n, u, d, v)| Column::new(n, u, d, ColumnData::F64(v)))
            .collect();
        out.extend(
            self.u
                .iter()
                .map(|(n, u, d, v)| Column::new(n, u, d, ColumnData::U32(v))),
        );
        out.extend(
            self.b
                .iter()
                .map(|(n, u, d, v)| Column::new(n, u, d, ColumnData::U8(v))),
        );
        out.extend(
            self.flags
                .iter()
                .map(|(n, u, d, v)| Column::new(n, u, d, ColumnData::Bool(v))),
        );
        out
    }
}

fn trial_attrs(prefix: &str, t: Option<&Trial>) -> Vec<(String, AttrValue)> {
    let g = |f: fn(&Trial) -> f64| t.map_or(f64::NAN, f);
    vec![
        attr(&format!("{prefix}shock"), g(|t| t.shock)),
        attr(
            &format!("{prefix}price_after_shock"),
            g(|t| t.price_after_shock),
        ),
        attr(&format!("{prefix}end_price"), g(|t| t.end_price)),
        attr(&format!("{prefix}final_price"), g(|t| t.final_price)),
        attr(
            &format!("{prefix}endogenous_move"),
            g(|t| t.endogenous_move),
        ),
        attr(
            &format!("{prefix}liquidated_notional"),
            g(|t| t.liquidated_notional),
        ),
        attr(
            &format!("{prefix}liquidations"),
            g(|t| f64::from(t.liquidations)),
        ),
        attr(&format!("{prefix}rounds"), g(|t| f64::from(t.rounds))),
        attr(
            &format!("{prefix}max_rounds_in_step"),
            g(|t| f64::from(t.max_rounds_in_step)),
        ),
        attr(
            &format!("{prefix}round_limit_hit"),
            g(|t| f64::from(u8::from(t.round_limit_hit))),
        ),
        attr(
            &format!("{prefix}book_exhausted"),
            g(|t| f64::from(t.book_exhausted)),
        ),
        attr(&format!("{prefix}bad_debt"), g(|t| t.bad_debt)),
    ]
}

fn write_h5(
    path: &Path,
    report: &HeatmapReport,
    p: &HeatmapProvenance,
    json: &str,
) -> Result<(), OutputError> {
    let o = &report.options;
    let c = &report.critical_options;
    let root = vec![
        attr("cascadesim_version", p.cascadesim_version.clone()),
        attr("scenario_file", p.scenario_file.clone()),
        attr("scenario_name", p.scenario_name.clone()),
        attr("scenario_toml", p.scenario.clone()),
        attr("seed", p.seed),
        attr("population", report.population),
        attr("bin_width", o.bin_width),
        attr("half_range", o.half_range),
        attr("kernel_width", o.kernel_width),
        attr("prominence", o.prominence),
        attr("zone_height", o.zone_height),
        attr("score_clusters", o.score_clusters as u64),
        attr("anomaly_ratio", o.anomaly_ratio),
        attr("critical_threshold", c.threshold),
        attr("critical_horizon_seconds", c.horizon_seconds),
        attr(
            "critical_horizon_steps",
            u64::from(report.critical_horizon_steps),
        ),
        attr("critical_scan_step", c.scan_step),
        attr("critical_tolerance", c.tolerance),
        attr("heatmap_json", json.to_string()),
    ];
    // Build every group's owned data first, then borrow it.
    struct AssetData {
        name: String,
        attrs: Vec<(String, AttrValue)>,
        bins: Cols,
        edges: Cols,
        clusters: Cols,
        critical: Vec<SubGroup>,
        /// Per venue and per lending market: sub-path, attributes, columns.
        parts: Vec<SubGroup>,
    }
    let mut data = Vec::new();
    for a in &report.assets {
        let cr = &a.crowding;
        let mut attrs = vec![
            attr("asset", a.asset.clone()),
            attr("price", a.price),
            attr("volatility", a.volatility),
            attr("daily_volatility", a.daily_volatility),
            attr("hour_utc", a.hour_utc as u64),
            attr("depth_multiplier", a.depth_multiplier),
            attr("long_open_interest", cr.long_open_interest),
            attr("short_open_interest", cr.short_open_interest),
            attr("long_share", cr.long_share),
            attr("crowded_side", cr.crowded_side),
            attr("crowding_excess_points", cr.excess_points),
            attr("crowding_ratio", opt(cr.ratio)),
            attr("funding_equivalent_8h", opt(cr.funding_equivalent_8h)),
            attr("crowding", cr.statement.clone()),
            attr("long_notional_below_grid", a.long.notional_below_grid),
            attr("long_notional_above_grid", a.long.notional_above_grid),
            attr("short_notional_below_grid", a.short.notional_below_grid),
            attr("short_notional_above_grid", a.short.notional_above_grid),
            attr("risk_score", opt(a.score.value)),
            attr("risk_score_note", a.score.note.clone()),
            attr("risk_score_formula", a.score.formula.clone()),
        ];
        if let Some(cs) = &a.critical {
            for s in [&cs.down, &cs.up] {
                attrs.extend(trial_attrs(
                    &format!("critical_{}_", s.direction),
                    s.at.as_ref(),
                ));
            }
        }

        let bins = Cols::from_table(a, a.grid.bins, &columns::BINS);
        let edges = Cols::from_table(a, a.grid.bins + 1, &columns::EDGES);
        let clusters = Cols::from_table(a, a.clusters.len(), &columns::CLUSTERS);

        let mut critical = Vec::new();
        if let Some(cs) = &a.critical {
            for s in [&cs.down, &cs.up] {
                critical.push(critical_group(s));
            }
        }
        let mut parts = Vec::new();
        for v in &a.venues {
            let dir = format!("venues/{}", group_name(&v.venue));
            let head = vec![attr("venue", v.venue.clone()), attr("weight", v.weight)];
            let bins = Cols::from_table(v, a.grid.bins, &columns::VENUE_BINS);
            parts.push((format!("{dir}/bins"), head.clone(), bins));
            let edges = Cols::from_table(v, a.grid.bins + 1, &columns::VENUE_EDGES);
            parts.push((format!("{dir}/edges"), head, edges));
        }
        // Lending markets by their position among this asset's markets: a market's `name` is
        // an optional label (empty by default, not unique), so it is an attribute only.
        for (k, l) in a.lending.iter().enumerate() {
            let head = vec![
                attr("market", l.market.clone()),
                attr("accounts", l.accounts as u64),
                attr("out_of_reach_accounts", l.out_of_reach_accounts as u64),
                attr(
                    "seized_elsewhere_accounts",
                    l.seized_elsewhere_accounts as u64,
                ),
                attr("seized_elsewhere_usd", l.seized_elsewhere_usd),
                attr("sold_below_grid_usd", l.sales.notional_below_grid),
            ];
            let bins = Cols::from_table(l, a.grid.bins, &columns::LENDING_BINS);
            parts.push((format!("lending/{k}/bins"), head, bins));
        }
        data.push(AssetData {
            parts,
            name: group_name(&a.asset),
            attrs,
            bins,
            edges,
            clusters,
            critical,
        });
    }
    let mut groups = Vec::new();
    for d in &data {
        groups.push(Group {
            path: format!("assets/{}", d.name),
            attrs: d.attrs.clone(),
            columns: Vec::new(),
        });
        for (sub, cols, desc) in [
            ("bins", &d.bins, "one row per price bin"),
            ("edges", &d.edges, "one row per bin edge"),
            (
                "clusters",
                &d.clusters,
                "one row per cluster, largest notional first",
            ),
        ] {
            groups.push(Group {
                path: format!("assets/{}/{sub}", d.name),
                attrs: vec![attr("description", desc)],
                columns: cols.columns(),
            });
        }
        for (sub, attrs, cols) in &d.parts {
            groups.push(Group {
                path: format!("assets/{}/{sub}", d.name),
                attrs: attrs.clone(),
                columns: cols.columns(),
            });
        }
        for (dir, attrs, cols) in &d.critical {
            groups.push(Group {
                path: format!("assets/{}/critical/{dir}", d.name),
                attrs: attrs.clone(),
                columns: cols.columns(),
            });
        }
    }
    let extra = groups::Extra::new(report);
    groups.extend(extra.groups());
    h5::write_h5_atomic(path, &root, &groups)?;
    Ok(())
}

/// A subgroup (a critical shock, a venue, a lending market): its name, attributes and columns.
type SubGroup = (String, Vec<(String, AttrValue)>, Cols);

fn critical_group(s: &CriticalShock) -> SubGroup {
    let mut attrs = vec![
        attr("found", u64::from(s.found)),
        attr("note", s.note.clone()),
        attr("largest_endogenous_move", s.largest_endogenous_move),
        attr("largest_at_shock", s.largest_at_shock),
        attr("non_monotone_points", s.non_monotone_points as u64),
    ];
    attrs.extend(trial_attrs("", s.at.as_ref()));
    attrs.extend(trial_attrs("just_below_", s.just_below.as_ref()));
    let mut cols = Cols::new();
    cols.f(
        "scan_shock",
        "fraction",
        "scanned shock sizes",
        s.scan_shock.clone(),
    );
    cols.f(
        "scan_endogenous_move",
        "log",
        "endogenous move after each scanned shock",
        s.scan_endogenous_move.clone(),
    );
    cols.f(
        "scan_liquidated_notional",
        "USD",
        "notional liquidated after each scanned shock",
        s.scan_liquidated_notional.clone(),
    );
    (s.direction.to_string(), attrs, cols)
}

/// The HDF5 group name of an asset: its name with `/` replaced by `_` (and `_` for a name
/// that is empty, `.` or `..`); the real name is the group's `asset` attribute.
pub fn group_name(asset: &str) -> String {
    match asset {
        "" | "." | ".." => "_".into(),
        a => a.replace('/', "_"),
    }
}
