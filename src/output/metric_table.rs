//! The report's table of per-path metrics: grouped and ordered by importance, each with a
//! readable name and its unit (the `summary.json` name in small print, the description in a
//! tooltip), and the metrics that were zero on every path summarised in one line.

use std::fmt::Write as _;

use super::format::{human, percent};
use super::page::escape;
use crate::metrics::PATH_METRICS;
use crate::stats::{AtLevel, MetricSummary};
use crate::summary::Summary;

/// A group of the table, in the order shown, with its metrics in order of importance: the
/// `summary.json` name and the name a person reads.
const GROUPS: &[(&str, &[(&str, &str)])] = &[
    (
        "Price moves",
        &[
            ("max_drawdown", "Largest fall of the mark price"),
            ("amplification", "Part of the fall liquidations added"),
            ("exogenous_drawdown", "Fall without liquidations"),
            ("endogenous_down", "Push below the no-liquidation price"),
            ("max_drawup", "Largest rise of the mark price"),
            ("endogenous_up", "Push above the no-liquidation price"),
        ],
    ),
    (
        "Liquidations",
        &[
            ("liquidated_notional", "Notional liquidated"),
            (
                "peak_step_liquidated_notional",
                "Most liquidated in one step",
            ),
            ("liquidation_count", "Positions liquidated"),
            ("partial_liquidation_count", "Partial liquidations"),
            ("cascade_rounds", "Cascade rounds"),
            ("slippage_cost", "Slippage cost of liquidations"),
        ],
    ),
    (
        "Losses and backstops",
        &[
            ("bad_debt", "Bad debt"),
            ("fund_exhausted", "Insurance fund ran dry"),
            ("insurance_fund_draw", "Paid by insurance funds"),
            ("adl_notional", "Auto-deleveraged notional"),
            ("adl_count", "Positions auto-deleveraged"),
        ],
    ),
];

/// The readable name of a metric (its own name when it has none).
pub fn label(name: &str) -> &str {
    GROUPS
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, l)| l)
}

/// A unit as a reader says it.
fn unit_words(unit: &str) -> &str {
    match unit {
        "fraction" => "% of price",
        "log" => "log points, %",
        "0/1" => "share of paths",
        u => u,
    }
}

/// A value in its unit; a 0/1 flag's statistics are shares of paths.
fn value(x: f64, unit: &str) -> String {
    if unit == "0/1" {
        percent(x)
    } else {
        human(x, unit)
    }
}

/// The columns after the name: header, tooltip and how to get the value. One quantile
/// definition (the VaR's) at 99%, so no `p99` column beside `VaR 99%`.
type Cell = fn(&MetricSummary) -> f64;
const COLUMNS: [(&str, &str, Cell); 7] = [
    ("mean", "mean over paths", |m| m.mean),
    ("median", "50% quantile", |m| at(&m.quantiles, 0.5)),
    ("p90", "90% quantile", |m| at(&m.quantiles, 0.9)),
    ("VaR 99%", "value at risk: the 99% quantile", |m| {
        at(&m.var, 0.99)
    }),
    (
        "ES 99%",
        "expected shortfall: the mean of the worst 1% of paths",
        |m| at(&m.es, 0.99),
    ),
    ("p99.9", "99.9% quantile", |m| at(&m.quantiles, 0.999)),
    ("max", "largest over paths", |m| m.max),
];

fn at(v: &[AtLevel], p: f64) -> f64 {
    v.iter().find(|x| x.p == p).map_or(f64::NAN, |x| x.value)
}

/// Whether a metric was zero on every path.
fn all_zero(m: &MetricSummary) -> bool {
    m.max == 0.0 && m.mean == 0.0
}

/// The metrics of `s` in table order: (group, name, summary); names the groups do not list
/// come last under "Other", alphabetically.
fn ordered(s: &Summary) -> Vec<(&'static str, &'static str, &MetricSummary)> {
    let mut out = Vec::new();
    for (group, rows) in GROUPS {
        for (name, _) in *rows {
            if let Some((k, m)) = s.metrics.get_key_value(name) {
                out.push((*group, *k, m));
            }
        }
    }
    for (k, m) in &s.metrics {
        if !out.iter().any(|(_, n, _)| n == k) {
            out.push(("Other", *k, m));
        }
    }
    out
}

/// Appends the table (and the line of all-zero metrics) to `o`.
pub fn write(o: &mut String, s: &Summary) {
    if s.metrics.is_empty() {
        return;
    }
    let rows = ordered(s);
    o.push_str("<div class=\"scroll\"><table class=\"metrics\">\n<thead><tr><th>per path</th>");
    for (head, tip, _) in COLUMNS {
        let _ = write!(o, "<th title=\"{}\">{head}</th>", escape(tip));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    let mut group = "";
    for (g, name, m) in rows.iter().filter(|(_, _, m)| !all_zero(m)) {
        if *g != group {
            group = g;
            let _ = writeln!(
                o,
                "<tr class=\"group\"><th colspan=\"{}\">{}</th></tr>",
                COLUMNS.len() + 1,
                escape(g)
            );
        }
        let description = PATH_METRICS
            .iter()
            .find(|d| d.name == *name)
            .map_or("", |d| d.description);
        let _ = write!(
            o,
            "<tr><td class=\"name\" title=\"{}\">{} <small>{} · <code>{}</code></small></td>",
            escape(description),
            escape(label(name)),
            escape(unit_words(m.unit)),
            escape(name)
        );
        for (_, _, get) in COLUMNS {
            let _ = write!(o, "<td>{}</td>", escape(&value(get(m), m.unit)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
    let zero = rows.iter().filter(|(_, _, m)| all_zero(m));
    zero_line(
        o,
        "Zero on every path",
        zero.map(|(_, n, _)| (label(n), *n)),
    );
}

/// Appends one line naming the figures (readable name, `summary.json` name) that were zero,
/// after `lead`; nothing when there are none.
pub(super) fn zero_line<'a>(
    o: &mut String,
    lead: &str,
    figures: impl Iterator<Item = (&'a str, &'a str)>,
) {
    let zero: Vec<String> = figures
        .map(|(name, key)| format!("{} (<code>{}</code>)", escape(name), escape(key)))
        .collect();
    if !zero.is_empty() {
        let _ = writeln!(o, "<p class=\"meta\">{lead}: {}.</p>", zero.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_summarised_metric_has_a_readable_name_in_a_group() {
        for d in PATH_METRICS.iter().filter(|d| d.summarize) {
            assert_ne!(label(d.name), d.name, "{} has no readable name", d.name);
        }
        // And every name the groups list is a metric.
        for (_, rows) in GROUPS {
            for (name, _) in *rows {
                assert!(PATH_METRICS.iter().any(|d| d.name == *name), "{name}");
            }
        }
    }

    #[test]
    fn flags_read_as_shares_and_units_as_words() {
        assert_eq!(value(0.25, "0/1"), "25.00%");
        assert_eq!(unit_words("fraction"), "% of price");
        assert_eq!(unit_words("USD"), "USD");
    }
}
