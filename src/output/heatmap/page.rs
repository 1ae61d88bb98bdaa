//! `heatmap.html`: the heatmap's page in the report's style (shared skeleton of
//! [`crate::output::page`]): per asset its facts, the clusters table and the inline figure,
//! with the scenario text beside. It reads the same [`HeatmapReport`] that `heatmap.json` is
//! written from: a fact is one line of [`facts`], a cluster column one name in
//! [`CLUSTER_COLUMNS`] (taken with its unit from the HDF5 column table).

use std::fmt::Write as _;
use std::path::Path;

use super::columns::{CLUSTERS, Spec};
use super::{HeatmapProvenance, figure_stem, pair_figure};
use crate::heatmap::critical::CriticalShock;
use crate::heatmap::groups::Groups;
use crate::heatmap::{AssetHeatmap, HeatmapReport};
use crate::output::format::{number, percent, points, price, sig, signed, thousands, usd};
use crate::output::page::{self, escape};

/// The clusters table's columns after `#` and side, by their `heatmap.h5` names.
const CLUSTER_COLUMNS: &[&str] = &[
    "price_low",
    "price_high",
    "notional",
    "positions",
    "distance_pct",
    "centre_distance_sigmas",
    "depth_in_front_usd",
    "notional_to_depth",
    "score_contribution",
];

/// Rows of the clusters table shown (all are in `heatmap.json`).
const CLUSTER_ROWS: usize = 10;

/// A critical shock in words: its size, or the note of why there is none.
fn critical(s: &CriticalShock) -> String {
    match (s.shock, &s.at) {
        (Some(x), Some(t)) => format!(
            "{} (then liquidations move the price {} and liquidate {}); {}",
            percent(x),
            percent(t.endogenous_move),
            usd(t.liquidated_notional),
            s.note
        ),
        _ => s.note.clone(),
    }
}

/// An asset's facts, one (label, text) each, in the order shown.
fn facts(a: &AssetHeatmap) -> Vec<(&'static str, String)> {
    let c = &a.crowding;
    let mut rows = vec![
        ("price", format!("${}", price(a.price))),
        ("one-day volatility", percent(a.daily_volatility)),
        (
            "book depth",
            format!("×{:.2} at {:02}:00 UTC", a.depth_multiplier, a.hour_utc),
        ),
        ("crowding", c.statement.clone()),
        (
            "in reach",
            format!(
                "a 5% move liquidates {} of longs / {} of shorts; 10%: {} / {} (no feedback)",
                usd(c.long_liquidatable_5pct),
                usd(c.short_liquidatable_5pct),
                usd(c.long_liquidatable_10pct),
                usd(c.short_liquidatable_10pct)
            ),
        ),
        ("risk score", a.score.note.clone()),
    ];
    if let Some(cs) = &a.critical {
        rows.push(("critical shock down", critical(&cs.down)));
        rows.push(("critical shock up", critical(&cs.up)));
    }
    rows
}

/// A cluster column's value in its unit.
fn cell(spec: &Spec<f64>, v: f64) -> String {
    match spec.unit {
        _ if !v.is_finite() => "–".into(),
        "USD" if spec.name.contains("price") => format!("${}", price(v)),
        "USD" => usd(v),
        "%" => points(v),
        "positions" => thousands(v as u64),
        "1" => sig(v, 3),
        _ => number(v),
    }
}

fn clusters(o: &mut String, a: &AssetHeatmap) {
    if a.clusters.is_empty() {
        o.push_str("<p class=\"meta\">No clusters.</p>\n");
        return;
    }
    let specs: Vec<&Spec<f64>> = CLUSTER_COLUMNS
        .iter()
        .filter_map(|n| CLUSTERS.f64.iter().find(|s| s.name == *n))
        .collect();
    o.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>#</th><th>side</th>");
    for s in &specs {
        let _ = write!(
            o,
            "<th title=\"{}\">{}</th>",
            escape(s.description),
            escape(&s.name.replace('_', " "))
        );
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for (i, cl) in a.clusters.iter().enumerate().take(CLUSTER_ROWS) {
        let _ = write!(o, "<tr><td>{}</td><td>{}</td>", i + 1, cl.side.name());
        for s in &specs {
            let _ = write!(o, "<td>{}</td>", escape(&cell(s, (s.get)(a, i))));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
    if a.clusters.len() > CLUSTER_ROWS {
        let _ = writeln!(
            o,
            "<p class=\"meta\">{} more in <code>heatmap.json</code>.</p>",
            thousands((a.clusters.len() - CLUSTER_ROWS) as u64)
        );
    }
}

/// Cross-asset groups: one row per group with its joint move and its parts.
fn groups(o: &mut String, g: &Groups) {
    let _ = writeln!(
        o,
        "<p class=\"meta\">{}: radius {} one-day σ ({}), a core point needs {} of the book within it; {} of {} reachable notional is in no group.</p>",
        escape(g.method),
        sig(g.eps, 3),
        escape(g.eps_rule),
        percent(g.options.min_share),
        usd(g.ungrouped_notional),
        usd(g.reachable_notional)
    );
    if g.groups.is_empty() {
        o.push_str("<p class=\"meta\">No groups.</p>\n");
        return;
    }
    o.push_str("<div class=\"scroll\"><table>\n<thead><tr><th>#</th><th>notional</th><th>positions</th><th>share of book</th><th>joint move that triggers it</th><th>parts: notional, nearest to farthest trigger</th></tr></thead>\n<tbody>\n");
    for (i, gr) in g.groups.iter().enumerate() {
        let moves: Vec<String> = gr
            .joint_move
            .iter()
            .map(|m| format!("{} {} ({} σ)", m.asset, points(m.pct), signed(m.sigmas)))
            .collect();
        let parts: Vec<String> = gr
            .parts
            .iter()
            .map(|pt| {
                format!(
                    "{} {}: {}, {} to {} σ",
                    pt.asset,
                    pt.side.name(),
                    usd(pt.notional),
                    signed(pt.nearest_trigger_sigmas),
                    signed(pt.farthest_trigger_sigmas)
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            usd(gr.notional),
            thousands(gr.positions),
            percent(gr.share_of_book),
            moves
                .iter()
                .map(|t| escape(t))
                .collect::<Vec<_>>()
                .join("<br>"),
            parts
                .iter()
                .map(|t| escape(t))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    o.push_str("</tbody>\n</table></div>\n");
}

/// The page; the figures are read from `dir` (where `heatmap_<asset>.svg` were written).
pub fn render(r: &HeatmapReport, p: &HeatmapProvenance, dir: &Path) -> String {
    let name = if p.scenario_name.is_empty() {
        &p.scenario_file
    } else {
        &p.scenario_name
    };
    let meta = vec![format!(
        "cascadesim {} · heatmap · {} · seed {} · positions: {}",
        escape(&p.cascadesim_version),
        escape(&p.scenario_file),
        p.seed,
        escape(r.population)
    )];
    let mut o = page::open(
        &format!("heatmap · {name}"),
        &format!("Liquidation heatmap: {name}"),
        &meta,
    );
    o.push_str("<div class=\"layout\">\n<main>\n");
    let _ = writeln!(
        o,
        "<p class=\"meta\">Critical shock: the smallest instantaneous move after which liquidations carry the price {} further within {} s (no random moves).</p>",
        percent(r.critical_options.threshold),
        number(r.critical_options.horizon_seconds)
    );
    for a in &r.assets {
        let _ = writeln!(o, "<h2 id=\"{0}\">{0}</h2>", escape(&a.asset));
        o.push_str("<table class=\"facts\"><tbody>\n");
        for (label, text) in facts(a) {
            let _ = writeln!(o, "<tr><td>{label}</td><td>{}</td></tr>", escape(&text));
        }
        o.push_str("</tbody></table>\n<h3>Clusters, largest first</h3>\n");
        clusters(&mut o, a);
        let stem = figure_stem(&a.asset);
        let title = format!("Where {} positions are liquidated", a.asset);
        let svg = page::svg_file(&dir.join(format!("{stem}.svg")), &title);
        let caption = format!(
            "Liquidatable notional by price, longs below and shorts above the price, with the book depth and the critical shocks (<code>{}.png</code>, <code>.svg</code>).",
            escape(&stem)
        );
        page::figure(&mut o, &stem, &title, svg, &caption);
    }
    if let Some(g) = &r.groups {
        o.push_str("<h2 id=\"groups\">Groups across assets</h2>\n");
        groups(&mut o, g);
    }
    if let Some(pm) = &r.pair_map {
        let stem = pair_figure::stem(pm);
        let title = format!(
            "Liquidated notional by the moves of {} and {}",
            pm.a.asset, pm.b.asset
        );
        let svg = page::svg_file(&dir.join(format!("{stem}.svg")), &title);
        let caption = format!(
            "Static: positions whose liquidation price the joint move crosses, no book impact; the 1σ and 2σ one-day correlation ellipses with the largest liquidation on each (<code>{}.png</code>, <code>.svg</code>).",
            escape(&stem)
        );
        o.push_str("<h2 id=\"pair-map\">Pair map</h2>\n");
        page::figure(&mut o, &stem, &title, svg, &caption);
    }
    o.push_str("</main>\n<aside>\n<h2 id=\"scenario\">Scenario</h2>\n<pre>");
    o.push_str(&escape(&p.scenario));
    o.push_str("</pre>\n</aside>\n</div>\n");
    page::close(&mut o);
    o
}
