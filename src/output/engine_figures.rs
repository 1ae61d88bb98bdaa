//! The liquidation engine's per-population figures (`summary.json`'s
//! `populations[].liquidation_engine`) as people read them: readable names, units and
//! groups (queue, backstop), for the report's table ([`write`]) and the terminal summary
//! (`cli::table`, through [`rows`]). Runs without an engine show nothing.

use std::fmt::Write as _;

use super::format::{human, percent};
use super::metric_table;
use super::page::escape;
use crate::summary::{EngineSummary, Summary};

/// One figure: its `summary.json` key, group, readable name, short terminal label, unit and
/// value (`None`: there is none, e.g. no position left a queue).
pub struct Figure {
    pub key: &'static str,
    pub group: &'static str,
    pub name: &'static str,
    pub short: &'static str,
    pub unit: &'static str,
    get: fn(&EngineSummary) -> Option<f64>,
}

impl Figure {
    pub fn value(&self, e: &EngineSummary) -> Option<f64> {
        (self.get)(e)
    }

    /// The value as shown: USD with three significant digits, shares of paths in percent,
    /// counts and steps as numbers; "–" for none.
    pub fn show(&self, e: &EngineSummary) -> String {
        match self.value(e) {
            None => "–".into(),
            Some(x) if self.unit == "share of paths" => percent(x),
            Some(x) => human(x, self.unit),
        }
    }
}

const QUEUE: &str = "Liquidation queue";
const BACKSTOP: &str = "Backstop liquidator";

/// Every figure, in table order.
pub const FIGURES: &[Figure] = &[
    Figure {
        key: "queue_peak_notional_mean",
        group: QUEUE,
        name: "Peak queued notional, mean over paths",
        short: "peak queue",
        unit: "USD",
        get: |e| Some(e.queue_peak_notional_mean),
    },
    Figure {
        key: "queue_peak_length_max",
        group: QUEUE,
        name: "Longest queue, largest over paths",
        short: "longest",
        unit: "positions",
        get: |e| Some(e.queue_peak_length_max),
    },
    Figure {
        key: "queue_wait_mean_steps",
        group: QUEUE,
        name: "Wait from liquidatable to leaving the queue, mean",
        short: "wait",
        unit: "steps",
        get: |e| e.queue_wait_mean_steps,
    },
    Figure {
        key: "queue_wait_max_steps",
        group: QUEUE,
        name: "Longest wait, largest over paths",
        short: "longest wait",
        unit: "steps",
        get: |e| Some(e.queue_wait_max_steps),
    },
    Figure {
        key: "queue_uncleared_notional_mean",
        group: QUEUE,
        name: "Still queued at the end, mean over paths",
        short: "left queued",
        unit: "USD",
        get: |e| Some(e.queue_uncleared_notional_mean),
    },
    Figure {
        key: "queue_uncleared_share",
        group: QUEUE,
        name: "Paths that end with positions queued",
        short: "paths ending queued",
        unit: "share of paths",
        get: |e| Some(e.queue_uncleared_share),
    },
    Figure {
        key: "backstop_count_mean",
        group: BACKSTOP,
        name: "Positions taken over, mean over paths",
        short: "takeovers",
        unit: "positions",
        get: |e| Some(e.backstop_count_mean),
    },
    Figure {
        key: "backstop_notional_mean",
        group: BACKSTOP,
        name: "Notional taken over, mean over paths",
        short: "taken over",
        unit: "USD",
        get: |e| Some(e.backstop_notional_mean),
    },
    Figure {
        key: "backstop_pnl_mean",
        group: BACKSTOP,
        name: "Backstop profit (negative: loss), mean over paths",
        short: "backstop P&L",
        unit: "USD",
        get: |e| Some(e.backstop_pnl_mean),
    },
    Figure {
        key: "backstop_loss_share",
        group: BACKSTOP,
        name: "Paths in which the backstop lost money",
        short: "paths with a backstop loss",
        unit: "share of paths",
        get: |e| Some(e.backstop_loss_share),
    },
];

/// The populations with an engine: (name, its figures); empty for a run without one.
pub fn rows(s: &Summary) -> Vec<(&str, &EngineSummary)> {
    s.populations
        .iter()
        .filter_map(|p| p.liquidation_engine.as_ref().map(|e| (p.name.as_str(), e)))
        .collect()
}

/// Whether a figure is zero (or has no value) in every population with an engine.
fn all_zero(f: &Figure, engines: &[(&str, &EngineSummary)]) -> bool {
    engines
        .iter()
        .all(|(_, e)| f.value(e).is_none_or(|x| x == 0.0))
}

/// Appends the report's table of engine figures (a column per population with an engine,
/// rows grouped into queue and backstop, each with its unit and `summary.json` key), and
/// one line naming the figures that are zero in every population. Nothing without an engine.
pub fn write(o: &mut String, s: &Summary) {
    let engines = rows(s);
    if engines.is_empty() {
        return;
    }
    o.push_str(
        "<div class=\"scroll\"><table class=\"metrics\">\n<thead><tr><th>liquidation engine</th>",
    );
    for (name, _) in &engines {
        let _ = write!(o, "<th>{}</th>", escape(name));
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    let mut group = "";
    for f in FIGURES.iter().filter(|f| !all_zero(f, &engines)) {
        if f.group != group {
            group = f.group;
            let _ = writeln!(
                o,
                "<tr class=\"group\"><th colspan=\"{}\">{}</th></tr>",
                engines.len() + 1,
                escape(group)
            );
        }
        let _ = write!(
            o,
            "<tr><td class=\"name\">{} <small>{} · <code>{}</code></small></td>",
            escape(f.name),
            escape(f.unit),
            escape(f.key)
        );
        for (_, e) in &engines {
            let _ = write!(o, "<td>{}</td>", escape(&f.show(e)));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table></div>\n");
    let zero = FIGURES.iter().filter(|f| all_zero(f, &engines));
    let lead = "Zero in every population with an engine";
    metric_table::zero_line(o, lead, zero.map(|f| (f.name, f.key)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> EngineSummary {
        EngineSummary {
            queue_peak_notional_mean: 8.24e7,
            queue_peak_length_max: 2288.0,
            queue_wait_mean_steps: None,
            queue_wait_max_steps: 1.0,
            queue_uncleared_notional_mean: 0.0,
            queue_uncleared_share: 0.25,
            backstop_count_mean: 0.0,
            backstop_notional_mean: 0.0,
            backstop_pnl_mean: -1.5e6,
            backstop_loss_share: 0.5,
        }
    }

    /// Every engine figure `summary.json` writes has exactly one readable row, and every
    /// row reads a figure it writes.
    #[test]
    fn every_engine_figure_has_one_readable_row() {
        let json = serde_json::to_value(engine()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in &keys {
            let n = FIGURES.iter().filter(|f| f.key == *k).count();
            assert_eq!(n, 1, "{k}");
        }
        assert_eq!(FIGURES.len(), keys.len());
        for f in FIGURES {
            assert_ne!(f.name, f.key);
            assert!(f.group == QUEUE || f.group == BACKSTOP, "{}", f.key);
        }
    }

    #[test]
    fn values_read_in_their_units() {
        let e = engine();
        let show = |key: &str| FIGURES.iter().find(|f| f.key == key).unwrap().show(&e);
        assert_eq!(show("queue_peak_notional_mean"), "$82.4M");
        assert_eq!(show("queue_peak_length_max"), "2,288");
        assert_eq!(show("queue_wait_mean_steps"), "–");
        assert_eq!(show("queue_uncleared_share"), "25.00%");
        assert_eq!(show("backstop_pnl_mean"), "-$1.50M");
        let engines = [("p", &e)];
        let zero = |key: &str| all_zero(FIGURES.iter().find(|f| f.key == key).unwrap(), &engines);
        assert!(zero("backstop_count_mean") && zero("queue_wait_mean_steps"));
        assert!(!zero("backstop_pnl_mean"));
    }
}
