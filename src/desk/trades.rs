//! The post-trade check (`cascadesim check --trades`): executed trades read from CSV text and
//! set against a replayed series' **cascade steps**, the steps whose observed liquidations
//! are among the series' largest. For each trade: its step, the nearest cascade, whether the
//! trade came within a window of it, and the slippage it paid against the price before that
//! cascade began. Pure computation on a [`StepGrid`]; `docs/output.md` documents every key.

use serde::Serialize;

use crate::diagnostics::{Bounded, Issue};
use crate::history::grid::StepGrid;
use crate::history::series::{checked_row, csv_reader, header_issues, utf8_issues};
use crate::history::time::{format_time, parse_time};
use crate::text::cut;

/// The trades file's columns: required, then optional.
pub const COLUMNS: [&str; 5] = ["time", "side", "size", "price", "kind"];

/// Trade direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Buy,
    Sell,
}

/// One executed trade as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    /// 1-based line in the file.
    pub line: usize,
    /// Unix seconds.
    pub time: f64,
    pub side: Direction,
    /// Asset units, > 0.
    pub size: f64,
    /// Execution price, USD, > 0.
    pub price: f64,
    /// Whether the trade closed a position (`kind = exit`, the default) rather than opened
    /// one (`entry`).
    pub exit: bool,
}

fn issue(line: usize, column: &str, message: String) -> Issue {
    Issue {
        path: column.to_string(),
        line: Some(line),
        column: None,
        message,
    }
}

/// Parses the trades CSV and checks every trade lies within `grid`'s steps. Blank lines and
/// lines starting with `#` are ignored.
///
/// # Errors
/// Every problem at once (a trade outside the series' steps among them, see
/// [`outside_series`]), each with its 1-based line and column: an unknown, repeated or
/// missing column, a row with the wrong field count, a time that is neither RFC 3339 UTC
/// nor unix seconds, a side other than `buy`/`sell`, a size or price that is not a positive
/// finite number, a kind other than `entry`/`exit`, no trade at all.
pub fn read_trades(text: &str, grid: &StepGrid) -> Result<Vec<Trade>, Vec<Issue>> {
    let (trades, mut issues) = parse(text);
    issues.extend(outside_series(grid, &trades));
    let mut issues = issues.into_issues();
    issues.sort_by_key(|i| i.line);
    if issues.is_empty() {
        Ok(trades)
    } else {
        Err(issues)
    }
}

/// Parses the trades CSV: the rows that read, and the problems of the others (as
/// [`read_trades`], without the series).
pub fn parse_trades(text: &str) -> (Vec<Trade>, Vec<Issue>) {
    let (trades, issues) = parse(text);
    (trades, issues.into_issues())
}

/// [`parse_trades`] with the problems as found (the first [`crate::diagnostics::LISTED`]
/// kept).
fn parse(text: &str) -> (Vec<Trade>, Bounded<Issue>) {
    let (mut reader, mut lines, header) = csv_reader(text);
    let mut issues = Bounded::default();
    let (hl, header) = match header {
        Ok(h) => h,
        Err(e) => {
            issues.push(e);
            issues.extend(utf8_issues(text));
            return (Vec::new(), issues);
        }
    };
    issues.extend(utf8_issues(text));
    let n_utf8 = issues.len();
    issues.extend(header_issues(&header, hl, COLUMNS.into_iter()));
    let find = |name: &str| header.iter().position(|h| h == name);
    for name in &COLUMNS[..4] {
        if find(name).is_none() {
            issues.push(issue(hl, name, "required column is missing".into()));
        }
    }
    if issues.len() > n_utf8 {
        return (Vec::new(), issues);
    }
    let col = |name: &str| find(name).expect("checked above");
    let (ti, si, zi, pi, ki) = (
        col("time"),
        col("side"),
        col("size"),
        col("price"),
        find("kind"),
    );
    let mut out = Vec::new();
    for rec in reader.records() {
        let Some((line, rec)) = checked_row(rec, header.len(), &mut lines, &mut issues) else {
            continue;
        };
        let line = line.unwrap_or(0);
        let n0 = issues.len();
        let time = parse_time(&rec[ti]);
        if time.is_none() {
            issues.push(issue(
                line,
                "time",
                format!("{} is neither RFC 3339 UTC nor unix seconds", cut(&rec[ti])),
            ));
        }
        let side = match rec[si].to_ascii_lowercase().as_str() {
            "buy" => Some(Direction::Buy),
            "sell" => Some(Direction::Sell),
            _ => {
                issues.push(issue(
                    line,
                    "side",
                    format!("{} must be `buy` or `sell`", cut(&rec[si])),
                ));
                None
            }
        };
        let mut positive = |c: usize, name: &str| {
            let v = rec[c]
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0);
            if v.is_none() {
                issues.push(issue(
                    line,
                    name,
                    format!("{} is not a positive finite number", cut(&rec[c])),
                ));
            }
            v
        };
        let size = positive(zi, "size");
        let price = positive(pi, "price");
        // As a position's notional in a positions file: at most 1e15 USD (a size of 1e300
        // was read, and its slippage came out as null).
        if let (Some(q), Some(p)) = (size, price)
            && q * p > crate::scenario::MAX_USD
        {
            issues.push(issue(
                line,
                "size",
                format!(
                    "size x price = {:e} USD; a trade's notional must be at most 1e15 USD",
                    q * p
                ),
            ));
        }
        let exit = match ki.map(|k| rec[k].to_ascii_lowercase()) {
            None => Some(true),
            Some(k) if k == "exit" || k.is_empty() => Some(true),
            Some(k) if k == "entry" => Some(false),
            Some(k) => {
                issues.push(issue(
                    line,
                    "kind",
                    format!("{} must be `entry` or `exit`", cut(&k)),
                ));
                None
            }
        };
        if issues.len() > n0 {
            continue;
        }
        if let (Some(time), Some(side), Some(size), Some(price), Some(exit)) =
            (time, side, size, price, exit)
        {
            out.push(Trade {
                line,
                time,
                side,
                size,
                price,
                exit,
            });
        }
    }
    if out.is_empty() && issues.is_empty() {
        issues.push(issue(
            1,
            "",
            "no trade: the file has a header and no rows".into(),
        ));
    }
    (out, issues)
}

/// How cascade steps are found and how near a trade must be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradeOptions {
    /// A step is a cascade step when its observed liquidations (long + short, asset units)
    /// are positive and at least the `cascade_quantile` of the positive steps' (inverse
    /// ECDF: a value of the series).
    pub cascade_quantile: f64,
    /// A trade is inside a cascade's window when it is at most this many minutes from one of
    /// its steps.
    pub window_minutes: f64,
}

impl Default for TradeOptions {
    fn default() -> Self {
        TradeOptions {
            cascade_quantile: 0.99,
            window_minutes: 15.0,
        }
    }
}

/// Cascade steps grouped: two cascade steps belong to the same cascade when at most the
/// window lies between them (so a trade between them is within the window of one anyway).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cascade {
    /// First and last step (indices into the grid).
    pub first_step: usize,
    pub last_step: usize,
    /// Start of the first step's interval and end of the last's (RFC 3339).
    pub start: String,
    pub end: String,
    /// `"down"` when its observed long liquidations are at least its short ones, else `"up"`.
    pub direction: &'static str,
    /// Observed liquidations over its steps, asset units.
    pub long_liquidated: f64,
    pub short_liquidated: f64,
    /// The price at the end of the step before it began (the series' first step price when
    /// it begins at step 0), USD.
    pub pre_cascade_mid: f64,
}

/// The cascade steps of a grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CascadeSteps {
    /// Observed liquidations (asset units) a step needs to be a cascade step.
    pub threshold: f64,
    /// Steps with positive observed liquidations (the threshold's sample).
    pub steps_with_liquidations: usize,
    pub cascades: Vec<Cascade>,
}

/// Finds the cascade steps of `grid` and groups them into cascades. `None` when the series
/// has no liquidation columns.
pub fn cascade_steps(grid: &StepGrid, o: &TradeOptions) -> Option<CascadeSteps> {
    let q = o.cascade_quantile;
    let (long, short) = (grid.observed_long.as_ref()?, grid.observed_short.as_ref()?);
    let total: Vec<f64> = long.iter().zip(short).map(|(l, s)| l + s).collect();
    let mut positive: Vec<f64> = total.iter().copied().filter(|&x| x > 0.0).collect();
    positive.sort_by(f64::total_cmp);
    let threshold = if positive.is_empty() {
        f64::INFINITY
    } else {
        crate::stats::var_sorted(&positive, q)
    };
    let dt = grid.dt;
    let marked: Vec<usize> = (0..grid.len())
        .filter(|&k| total[k] > 0.0 && total[k] >= threshold)
        .collect();
    // Steps strictly between two cascade steps that still join them.
    let join = (o.window_minutes * 60.0 / dt as f64).floor() as usize;
    let mut cascades = Vec::new();
    let mut i = 0;
    while i < marked.len() {
        let first = marked[i];
        while i + 1 < marked.len() && marked[i + 1] - marked[i] - 1 <= join {
            i += 1;
        }
        let k = marked[i];
        let (l, s): (f64, f64) = (long[first..=k].iter().sum(), short[first..=k].iter().sum());
        cascades.push(Cascade {
            first_step: first,
            last_step: k,
            start: format_time(grid.time[first] - dt),
            end: format_time(grid.time[k]),
            direction: if l >= s { "down" } else { "up" },
            long_liquidated: l,
            short_liquidated: s,
            pre_cascade_mid: grid.price[first.saturating_sub(1)],
        });
        i += 1;
    }
    Some(CascadeSteps {
        threshold,
        steps_with_liquidations: positive.len(),
        cascades,
    })
}

/// One trade checked against the cascades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeCheck {
    /// Line in the trades file.
    pub line: usize,
    /// RFC 3339 (to the second) and unix seconds.
    pub time: String,
    pub unix_time: f64,
    pub side: Direction,
    pub kind: &'static str,
    pub size: f64,
    pub price: f64,
    /// The step the trade falls in (`t_{k−1} < time ≤ t_k`, the series reader's rule) and
    /// its end time.
    pub step: usize,
    pub step_time: String,
    /// The nearest cascade (by the distance to its steps' intervals), `None` when the
    /// series has none.
    pub cascade: Option<Cascade>,
    /// Minutes from the nearest cascade: negative before it began, 0 during it, positive
    /// after it ended.
    pub minutes_from_cascade: Option<f64>,
    /// Whether `|minutes_from_cascade| ≤ window_minutes`.
    pub within_window: bool,
    /// Slippage paid against the pre-cascade mid, when within the window: positive when
    /// the trade did worse than that mid (a sell below it, a buy above it), in basis points
    /// of the mid and in USD (`size × |price − mid|` with that sign).
    pub slippage_bps: Option<f64>,
    pub slippage_usd: Option<f64>,
    /// An exit within the window of a cascade: an exit into cluster-driven volatility.
    pub exit_into_cascade: bool,
}

/// The distance in seconds (signed) from `t` to the cascade's steps' span
/// `(t_first − dt, t_last]`: negative before, 0 inside, positive after.
fn seconds_from(grid: &StepGrid, c: &Cascade, t: f64) -> f64 {
    let start = (grid.time[c.first_step] - grid.dt) as f64;
    let end = grid.time[c.last_step] as f64;
    if t <= start {
        t - start
    } else if t <= end {
        0.0
    } else {
        t - end
    }
}

/// Checks every trade. Trades must lie within the grid (see [`outside_series`]).
pub fn check_trades(
    grid: &StepGrid,
    steps: &CascadeSteps,
    trades: &[Trade],
    o: &TradeOptions,
) -> Vec<TradeCheck> {
    trades
        .iter()
        .map(|t| {
            let step = grid
                .time
                .partition_point(|&s| (s as f64) < t.time)
                .min(grid.len() - 1);
            // Nearest by absolute distance; a tie goes to the earlier cascade.
            let nearest = steps
                .cascades
                .iter()
                .map(|c| (c, seconds_from(grid, c, t.time)))
                .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
            let minutes = nearest.map(|(_, s)| s / 60.0);
            let within = minutes.is_some_and(|m| m.abs() <= o.window_minutes);
            let slip = nearest.filter(|_| within).map(|(c, _)| {
                let mid = c.pre_cascade_mid;
                let worse = match t.side {
                    Direction::Sell => mid - t.price,
                    Direction::Buy => t.price - mid,
                };
                (1e4 * worse / mid, t.size * worse)
            });
            TradeCheck {
                line: t.line,
                time: format_time(t.time.floor() as i64),
                unix_time: t.time,
                side: t.side,
                kind: if t.exit { "exit" } else { "entry" },
                size: t.size,
                price: t.price,
                step,
                step_time: format_time(grid.time[step]),
                cascade: nearest.map(|(c, _)| c.clone()),
                minutes_from_cascade: minutes,
                within_window: within,
                slippage_bps: slip.map(|s| s.0),
                slippage_usd: slip.map(|s| s.1),
                exit_into_cascade: within && t.exit,
            }
        })
        .collect()
}

/// A trade's time as `YYYY-MM-DDTHH:MM:SSZ` within the years 1 to 9999, else as the number
/// of seconds it is (a time like 1e20 would otherwise saturate to the year 292277026596).
fn shown_time(t: f64) -> String {
    const YEAR_1: f64 = -62_135_596_800.0;
    const YEAR_10000: f64 = 253_402_300_800.0;
    if (YEAR_1..YEAR_10000).contains(&t) {
        format_time(t.floor() as i64)
    } else {
        format!(
            "{} s since the epoch (beyond the years 1 to 9999)",
            crate::text::shortest(t)
        )
    }
}

/// The trades outside the series' steps (before the first step's interval or after the
/// last step), as issues with their lines.
pub fn outside_series(grid: &StepGrid, trades: &[Trade]) -> Vec<Issue> {
    let (first, last) = (grid.time[0] - grid.dt, grid.time[grid.len() - 1]);
    trades
        .iter()
        .filter(|t| t.time <= first as f64 || t.time > last as f64)
        .map(|t| {
            issue(
                t.line,
                "time",
                format!(
                    "{} lies outside the series' steps ({} .. {}]",
                    shown_time(t.time),
                    format_time(first),
                    format_time(last)
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {

    /// Review D13: comment and blank lines before and after the header keep the file's
    /// line numbers (the csv crate's count gave 3 for line 5).
    #[test]
    fn lines_count_comments_and_blank_lines() {
        let text = "# c\ntime,side,size,price\n\n#x\n2021-01-01T00:00:00Z,buy,-50,100\n";
        let (_, issues) = parse_trades(text);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!((issues[0].line, issues[0].path.as_str()), (Some(5), "size"));
        let (_, issues) = parse_trades("# c\ntime,side,size,prize\n");
        assert_eq!(issues[0].line, Some(2), "{issues:?}");
    }

    use super::*;

    /// A file of bad rows keeps the first `LISTED` problems, and a field is quoted cut, not
    /// whole (a 100,000-character side was quoted in full).
    #[test]
    fn problems_are_bounded_and_fields_cut() {
        use crate::diagnostics::LISTED;
        let rows = "2021-01-01T00:00:00Z,hold,1,100\n".repeat(LISTED + 3);
        let (_, issues) = parse_trades(&format!("time,side,size,price\n{rows}"));
        assert_eq!(issues.len(), LISTED + 1);
        assert!(
            issues[LISTED].message.starts_with("and 3 more problems"),
            "{:?}",
            issues[LISTED]
        );
        let (_, issues) = parse_trades("time,side,size,price\n1,buy,1e300,10\n2,buy,1e14,10\n");
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].message,
            "size x price = 1e301 USD; a trade's notional must be at most 1e15 USD"
        );
        let side = "b".repeat(100_000);
        let (_, issues) = parse_trades(&format!("time,side,size,price\n1,{side},1,1\n"));
        assert!(
            issues[0].message.len() < 100,
            "{:?}",
            issues[0].message.len()
        );
        assert!(
            issues[0].message.contains("(100000 characters)"),
            "{}",
            issues[0].message
        );
    }

    /// A trade time far beyond the year 9999 is shown as the number it is, not as the year
    /// 292277026596 that saturating to i64 gave.
    #[test]
    fn far_off_times_are_shown_as_numbers() {
        assert_eq!(shown_time(1_609_459_200.0), "2021-01-01T00:00:00Z");
        assert_eq!(
            shown_time(1e20),
            "1e20 s since the epoch (beyond the years 1 to 9999)"
        );
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "time,side,size,price,kind\n\
                    2021-01-01T00:00:00Z,sell,1,100,exit\n\
                    yesterday,hold,-1,abc,maybe\n\
                    1609459200,buy,2,100\n";
        let (ok, e) = parse_trades(text);
        assert_eq!(ok.len(), 1);
        let got: Vec<(Option<usize>, &str)> = e.iter().map(|i| (i.line, i.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(3), "time"),
                (Some(3), "side"),
                (Some(3), "size"),
                (Some(3), "price"),
                (Some(3), "kind"),
                (Some(4), ""),
            ]
        );
        let e = parse_trades("time,side,sizes,price\n").1;
        assert!(e.iter().any(|i| i.message.contains("did you mean `size`")));
        assert!(
            e.iter()
                .any(|i| i.path == "size" && i.message.contains("missing"))
        );
    }

    #[test]
    fn kind_defaults_to_exit() {
        let (t, e) = parse_trades("time,side,size,price\n1609459200,SELL,1.5,730\n");
        assert!(e.is_empty());
        assert_eq!(t[0].side, Direction::Sell);
        assert!(t[0].exit);
        assert_eq!((t[0].line, t[0].time, t[0].size), (2, 1_609_459_200.0, 1.5));
    }
}
