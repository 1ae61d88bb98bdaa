//! The cross-margin accounts' figures where users read them (issue 23, item 4): one line per
//! asset for the terminal summary and one table for `report.html`, from `summary.json`'s
//! `cross_margin` (per asset: notional closed in accounts, the part from accounts whose largest
//! loss was on another asset, accounts triggered, losses beyond collateral, and with three or
//! more assets the closed notional split by trigger asset, `by_trigger_asset`; with two the
//! part from the other asset says it all). Nothing for a run without `[cross_margin]`. The accounts' losses beyond collateral are also a failure
//! line (`failure_line`), since `bad_debt` of the populations does not include them.

use std::fmt::Write;

use super::format::{human, number, percent};
use super::page::escape;
use crate::summary::{CrossMarginSummary, Summary};

/// Readable figures of one asset: (closed, from another asset, accounts triggered, bad debt).
fn cells(c: &CrossMarginSummary) -> [String; 4] {
    let from_other = match c.share_from_other {
        Some(share) => format!(
            "{} ({})",
            human(c.liquidated_by_other_mean, "USD"),
            percent(share)
        ),
        None => human(c.liquidated_by_other_mean, "USD"),
    };
    [
        human(c.liquidated_notional_mean, "USD"),
        from_other,
        number(c.triggered_accounts_mean),
        human(c.bad_debt_mean, "USD"),
    ]
}

/// The split by trigger asset as one text (`BTC $297M, ETH $0, SOL $0`), or `None` with
/// fewer than three assets.
fn split(c: &CrossMarginSummary) -> Option<String> {
    (c.by_trigger_asset.len() >= 3).then(|| {
        c.by_trigger_asset
            .iter()
            .map(|t| format!("{} {}", t.asset, human(t.notional_mean, "USD")))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// One line per asset for the terminal, as its parts: `closed $297M`, `from accounts hurt by
/// another asset $297M (100.00%)`, `0.0 accounts triggered by ETH`, `bad debt $0`.
pub fn lines(s: &Summary) -> Vec<(String, Vec<String>)> {
    s.cross_margin
        .iter()
        .map(|c| {
            let [closed, other, accounts, bad] = cells(c);
            let parts = vec![
                format!("closed {closed}"),
                format!("from accounts hurt by another asset {other}"),
                format!("{accounts} accounts triggered by {}", c.asset),
                format!("bad debt {bad}"),
            ];
            let mut parts = parts;
            if let Some(split) = split(c) {
                parts.push(format!("closed by trigger asset: {split}"));
            }
            (c.asset.clone(), parts)
        })
        .collect()
}

/// The accounts' losses beyond collateral over all assets, as a failure line, or `None`.
pub fn failure_line(s: &Summary) -> Option<String> {
    let bad: f64 = s.cross_margin.iter().map(|c| c.bad_debt_mean).sum();
    (bad > 0.0).then(|| {
        format!(
            "cross-margin accounts lost {} per path beyond their collateral (not in bad_debt)",
            human(bad, "USD")
        )
    })
}

/// The report's table: one row per asset.
pub fn write(o: &mut String, s: &Summary) {
    if s.cross_margin.is_empty() {
        return;
    }
    let matrix = s.cross_margin.iter().any(|c| split(c).is_some());
    o.push_str("<div class=\"scroll\"><table class=\"metrics\">\n<thead><tr><th>cross-margin accounts</th><th>closed</th><th title=\"closed in accounts whose largest loss was on another asset\">from another asset</th><th title=\"accounts whose largest loss was on this asset\">accounts triggered</th><th>beyond collateral</th>");
    if matrix {
        o.push_str("<th>closed by trigger asset</th>");
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for c in &s.cross_margin {
        let _ = write!(o, "<tr><td class=\"name\">{}</td>", escape(&c.asset));
        for cell in cells(c) {
            let _ = write!(o, "<td>{}</td>", escape(&cell));
        }
        if matrix {
            let _ = write!(o, "<td>{}</td>", escape(&split(c).unwrap_or_default()));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n<p class=\"meta\">Means over paths, in USD per path apart from the accounts (<code>cross_margin</code> in summary.json). An account's closes count for each asset it held; \"from another asset\": closed in accounts whose largest loss since step 0 was on another asset; \"accounts triggered\": accounts whose largest loss was on this asset; \"beyond collateral\": those accounts' losses beyond their collateral. These closes are not in the populations' <code>liquidated_notional</code>.</p>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(asset: &str, closed: f64, other: f64, bad: f64) -> CrossMarginSummary {
        CrossMarginSummary {
            asset: asset.into(),
            liquidated_notional_mean: closed,
            liquidated_by_other_mean: other,
            share_from_other: (closed > 0.0).then(|| other / closed),
            triggered_accounts_mean: 3.0,
            bad_debt_mean: bad,
            by_trigger_asset: Vec::new(),
        }
    }

    #[test]
    fn cells_show_the_share_from_another_asset_and_nothing_without_accounts() {
        let c = cells(&one("ETH", 2e8, 5e7, 0.0));
        assert!(c[1].contains("25.00%"), "{c:?}");
        let none = cells(&one("ETH", 0.0, 0.0, 0.0));
        assert!(!none[1].contains('%'), "{none:?}");
    }

    #[test]
    fn the_split_by_trigger_asset_shows_from_three_assets_on() {
        let share = |asset: &str, notional_mean| crate::summary::TriggerShare {
            asset: asset.into(),
            notional_mean,
        };
        let mut c = one("ETH", 2e8, 2e8, 0.0);
        c.by_trigger_asset = vec![share("BTC", 2e8), share("ETH", 0.0)];
        assert_eq!(split(&c), None);
        c.by_trigger_asset.push(share("SOL", 0.0));
        assert_eq!(split(&c).as_deref(), Some("BTC $200M, ETH $0, SOL $0"));
    }
}
