//! The price-series CSV: text → a validated [`PriceSeries`], every bad row reported at once
//! with its line. Columns: `time` (RFC 3339 UTC or unix seconds), `price` (USD), and
//! optionally `long_liquidated`, `short_liquidated` (asset units liquidated since the
//! previous row), `open_interest` (USD) and `funding_rate` (per 8 h). Pure: no file access.

use crate::diagnostics::{Bounded, Issue, ScenarioError};
use crate::model::spec::{MAX_PRICE, MIN_PRICE};
use crate::text::{LineCounter, NOT_UTF8, cut, not_utf8_lines};

use super::time::parse_time;

/// Latest time a row may have: 2200-01-01T00:00:00Z. A unix time beyond it is almost surely
/// in milliseconds (2021 in milliseconds reads as the year 52971 in seconds).
pub const MAX_TIME: f64 = 7_258_118_400.0;
/// Longest gap between two consecutive rows, seconds (366 days): a longer one is a broken
/// row (a time of 0, a wrong year), not a quiet market, and the steps over it would carry
/// one price for years.
pub const MAX_GAP: f64 = 366.0 * 86_400.0;
/// A gap longer than this many times the series' median spacing (and than a day) is
/// reported as a warning by [`PriceSeries::long_gap`].
pub const GAP_WARNING_FACTOR: f64 = 100.0;

/// The optional columns, in the order [`PriceSeries`] stores them.
pub const OPTIONAL_COLUMNS: [&str; 4] = [
    "long_liquidated",
    "short_liquidated",
    "open_interest",
    "funding_rate",
];

/// A validated series: strictly increasing times, positive prices, and for every optional
/// column present, one finite value per row (non-negative except the funding rate).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    /// Seconds since 1970-01-01T00:00:00Z, strictly increasing.
    pub time: Vec<f64>,
    /// Price in USD, > 0.
    pub price: Vec<f64>,
    /// Asset units of longs liquidated since the previous row.
    pub long_liquidated: Option<Vec<f64>>,
    /// Asset units of shorts liquidated since the previous row.
    pub short_liquidated: Option<Vec<f64>>,
    /// Open interest in USD at the row's time.
    pub open_interest: Option<Vec<f64>>,
    /// Funding rate per 8 hours at the row's time (0.0001 = 0.01 %).
    pub funding_rate: Option<Vec<f64>>,
    /// The file line of each row (for messages about rows found after parsing).
    pub line: Vec<usize>,
}

impl PriceSeries {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether there are no rows (never true for a parsed series).
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Whether both observed-liquidation columns are present.
    pub fn has_liquidations(&self) -> bool {
        self.long_liquidated.is_some() && self.short_liquidated.is_some()
    }

    /// The longest gap between consecutive rows when it is more than [`GAP_WARNING_FACTOR`]
    /// times the median spacing and more than a day: a message naming the row after it
    /// (`line N: …`), for a warning. Prices are carried over a gap, so a long one is a flat
    /// stretch the data never showed.
    pub fn long_gap(&self) -> Option<String> {
        let mut gaps: Vec<f64> = self.time.windows(2).map(|w| w[1] - w[0]).collect();
        let (i, &widest) = gaps.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        (widest > 86_400.0 && widest > GAP_WARNING_FACTOR * median).then(|| {
            format!(
                "line {}: {:.1} days after the previous row (line {}), {:.0} times the series' median spacing of {} s; prices are carried over the gap",
                self.line[i + 1],
                widest / 86_400.0,
                self.line[i],
                widest / median,
                median
            )
        })
    }
}

/// A CSV header: its line and its column names.
pub type Header = (usize, Vec<String>);

/// A CSV reader over `text` as the house's data files are read (a header, fields trimmed,
/// `#` lines skipped, rows of any length so that a wrong count is reported by line), the
/// counter of its records' file lines, and its header with its line, or the issue that
/// makes it unreadable.
pub fn csv_reader(text: &str) -> (csv::Reader<&[u8]>, LineCounter<'_>, Result<Header, Issue>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(text);
    let at = lines.record_line(0);
    let header = match reader.headers() {
        Ok(h) => Ok((at, h.iter().map(str::to_string).collect())),
        Err(e) => Err(issue(Some(at), "", format!("bad header: {e}"))),
    };
    (reader, lines, header)
}

/// The lines of `text` that are not UTF-8 (see [`crate::text`]), as issues made one at a
/// time (a [`Bounded`] keeps the first ones: a file with a bad byte on each of its lines held
/// one message per line).
pub fn utf8_issues(text: &str) -> impl Iterator<Item = Issue> {
    not_utf8_lines(text)
        .into_iter()
        .map(|l| issue(Some(l), "", NOT_UTF8.into()))
}

/// The header's unknown columns (with "did you mean" among `known`) and repeated ones, as
/// issues on the header's `line`.
pub fn header_issues<'k>(
    header: &[String],
    line: usize,
    known: impl Iterator<Item = &'k str> + Clone,
) -> Vec<Issue> {
    let mut issues = Vec::new();
    // Each unknown name once, at its first column, with how often it appears (a header of a
    // million `x` columns was a million issues); a known name given twice, once.
    for (i, h, count) in crate::text::distinct(header.iter().map(String::as_str)) {
        if !known.clone().any(|k| k == h) {
            let hint = crate::diagnostics::suggest(h, known.clone())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            issues.push(issue(
                Some(line),
                h,
                format!(
                    "unknown column {}{}{hint}",
                    i + 1,
                    crate::text::times(count)
                ),
            ));
        } else if count > 1 {
            issues.push(issue(Some(line), h, "column given twice".into()));
        }
    }
    issues
}

/// One row of a reader from [`csv_reader`] with its line, or `None` after pushing the issue
/// of an unreadable row or of one whose field count is not `width`.
pub fn checked_row(
    rec: csv::Result<csv::StringRecord>,
    width: usize,
    lines: &mut LineCounter<'_>,
    issues: &mut Bounded<Issue>,
) -> Option<(Option<usize>, csv::StringRecord)> {
    let rec = match rec {
        Ok(r) => r,
        Err(e) => {
            let line = e.position().map(|p| lines.record_line(p.byte()));
            issues.push(issue(line, "", format!("unreadable row: {e}")));
            return None;
        }
    };
    let line = rec.position().map(|p| lines.record_line(p.byte()));
    if rec.len() != width {
        issues.push(issue(
            line,
            "",
            format!("{} fields, the header has {}", rec.len(), width),
        ));
        return None;
    }
    Some((line, rec))
}

fn issue(line: Option<usize>, column: &str, message: String) -> Issue {
    Issue {
        path: column.to_string(),
        line,
        column: None,
        message,
    }
}

/// Parses a series from CSV text; `origin` names it in errors (usually the file path).
/// Blank lines and lines starting with `#` are ignored.
///
/// # Errors
/// Every problem at once, each with its 1-based line and column name: a missing or unknown
/// column, a field count that differs from the header's, a time that is not RFC 3339 UTC
/// or unix seconds, a time not after the previous row's, a price that is not a positive
/// finite number, a liquidated quantity or open interest that is negative or not finite,
/// a funding rate that is not finite, fewer than two rows.
pub fn parse_series(text: &str, origin: &str) -> Result<PriceSeries, ScenarioError> {
    let mut issues = Bounded::default();
    issues.extend(utf8_issues(text));
    let fail = |issues: Vec<Issue>| ScenarioError {
        origin: origin.to_string(),
        issues,
    };
    let (mut reader, mut lines, header) = csv_reader(text);
    let (hl, header) = header.map_err(|e| fail(vec![e]))?;
    let find = |name: &str| header.iter().position(|h| h == name);
    issues.extend(header_issues(
        &header,
        hl,
        ["time", "price"].into_iter().chain(OPTIONAL_COLUMNS),
    ));
    let (ti, pi) = (find("time"), find("price"));
    for (name, idx) in [("time", ti), ("price", pi)] {
        if idx.is_none() {
            issues.push(issue(Some(hl), name, "required column is missing".into()));
        }
    }
    let opt_idx: Vec<Option<usize>> = OPTIONAL_COLUMNS.iter().map(|c| find(c)).collect();
    let mut time = Vec::new();
    let mut price = Vec::new();
    let mut opt: Vec<Vec<f64>> = vec![Vec::new(); OPTIONAL_COLUMNS.len()];
    let mut prev_time: Option<(f64, usize)> = None;
    let mut row_lines = Vec::new();
    for rec in reader.records() {
        let Some((line, rec)) = checked_row(rec, header.len(), &mut lines, &mut issues) else {
            continue;
        };
        if let Some(ti) = ti {
            match parse_time(&rec[ti]) {
                Some(t) => {
                    let unix = rec[ti].parse::<f64>().is_ok();
                    if let Some(m) = time_problem(t, unix, prev_time) {
                        issues.push(issue(line, "time", format!("{} {m}", cut(&rec[ti]))));
                    }
                    // A time out of range is not the next row's reference: one stray
                    // millisecond time would make the next row "not after" it as well.
                    if (0.0..=MAX_TIME).contains(&t) {
                        prev_time = Some((t, line.unwrap_or(0)));
                    }
                    time.push(t);
                    row_lines.push(line.unwrap_or(0));
                }
                None => issues.push(issue(
                    line,
                    "time",
                    format!(
                        "{} is neither RFC 3339 UTC (2021-01-01T00:00:00Z) nor unix seconds",
                        cut(&rec[ti])
                    ),
                )),
            }
        }
        if let Some(pi) = pi {
            match rec[pi].parse::<f64>() {
                Ok(x) if (MIN_PRICE..=MAX_PRICE).contains(&x) => price.push(x),
                _ => issues.push(issue(
                    line,
                    "price",
                    format!(
                        "{} is not a number between {MIN_PRICE:e} and {MAX_PRICE:e} USD (the limits of assets.price)",
                        cut(&rec[pi])
                    ),
                )),
            }
        }
        for (k, idx) in opt_idx.iter().enumerate() {
            let Some(idx) = *idx else { continue };
            let name = OPTIONAL_COLUMNS[k];
            let signed = name == "funding_rate";
            match rec[idx].parse::<f64>() {
                Ok(x) if x.is_finite() && (signed || x >= 0.0) => opt[k].push(x),
                _ => issues.push(issue(
                    line,
                    name,
                    format!(
                        "{} is not a {}finite number",
                        cut(&rec[idx]),
                        if signed { "" } else { "non-negative " }
                    ),
                )),
            }
        }
    }
    if issues.is_empty() && time.len() < 2 {
        issues.push(issue(
            None,
            "",
            format!("{} data rows; a series needs at least 2", time.len()),
        ));
    }
    if !issues.is_empty() {
        let mut issues = issues.into_issues();
        issues.sort_by_key(|i| i.line.unwrap_or(0));
        return Err(fail(issues));
    }
    let mut opt = opt.into_iter().zip(&opt_idx).map(|(v, i)| i.map(|_| v));
    Ok(PriceSeries {
        time,
        price,
        long_liquidated: opt.next().flatten(),
        short_liquidated: opt.next().flatten(),
        open_interest: opt.next().flatten(),
        funding_rate: opt.next().flatten(),
        line: row_lines,
    })
}

/// What is wrong with a row's time `t` (given as unix seconds when `unix`; after the previous
/// row's time and line, if any):
/// before 1970, after [`MAX_TIME`] (milliseconds?), not after the previous row, or more than
/// [`MAX_GAP`] after it.
fn time_problem(t: f64, unix: bool, prev: Option<(f64, usize)>) -> Option<String> {
    if t < 0.0 {
        return Some(
            "is before 1970-01-01 (unix time 0); times are RFC 3339 UTC or unix seconds".into(),
        );
    }
    if t > MAX_TIME {
        return Some(if unix {
            format!(
                "is after 2200-01-01 (unix seconds {MAX_TIME}): unix times in milliseconds? give seconds (or RFC 3339 UTC)"
            )
        } else {
            "is after 2200-01-01".into()
        });
    }
    let (p, pl) = prev?;
    if t <= p {
        return Some(format!("is not after the previous row's time (line {pl})"));
    }
    (t - p > MAX_GAP).then(|| {
        format!(
            "is {:.1} years after the previous row's time (line {pl}); a gap may be at most 366 days (a time of 0 or a wrong year?)",
            (t - p) / (365.25 * 86_400.0)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each unknown column name once, with its count; a known one given twice, once.
    #[test]
    fn a_repeated_unknown_column_is_one_issue() {
        let header: Vec<String> = ["time", "price", "price", "price"]
            .into_iter()
            .chain(std::iter::repeat_n("x", 1000))
            .map(String::from)
            .collect();
        let issues = header_issues(&header, 1, ["time", "price"].into_iter());
        let messages: Vec<&str> = issues.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(
            messages,
            ["column given twice", "unknown column 5 (1000 times)"],
            "{issues:?}"
        );
    }

    /// A series with a bad price on every row keeps the first `LISTED` problems and counts
    /// the others in a last one, on the line of the first not listed.
    #[test]
    fn problems_beyond_the_listed_ones_are_counted() {
        use crate::diagnostics::LISTED;
        let rows: String = (0..LISTED + 5).map(|i| format!("{i},-1\n")).collect();
        let e = parse_series(&format!("time,price\n{rows}"), "s.csv").unwrap_err();
        assert_eq!(e.issues.len(), LISTED + 1);
        let last = &e.issues[LISTED];
        assert_eq!(last.line, Some(LISTED + 2));
        assert_eq!(
            last.message,
            format!(
                "and 5 more problems not listed, the first of them on this line ({} in this file; the first {LISTED} found are listed)",
                LISTED + 5
            )
        );
        assert!(e.to_string().contains("s.csv: 401 problems found"), "{e}");
    }

    #[test]
    fn reads_both_time_forms_and_optional_columns() {
        let text = "time,price,long_liquidated,short_liquidated\n\
                    # a comment\n\
                    2021-01-01T00:00:30Z,730.5,1.5,0\n\
                    1609459300,731,0,2.25\n";
        let s = parse_series(text, "s.csv").unwrap();
        assert_eq!(s.time, vec![1_609_459_230.0, 1_609_459_300.0]);
        assert_eq!(s.price, vec![730.5, 731.0]);
        assert_eq!(s.long_liquidated, Some(vec![1.5, 0.0]));
        assert_eq!(s.short_liquidated, Some(vec![0.0, 2.25]));
        assert_eq!(s.open_interest, None);
        assert!(s.has_liquidations());
    }

    #[test]
    fn reports_every_bad_row_with_its_line() {
        let text = "time,price,long_liquidated,funding_rat\n\
                    2021-01-01T00:00:00Z,730,1,0\n\
                    2021-01-01T00:00:00Z,-3,1,0\n\
                    tomorrow,730,x,0\n\
                    2021-01-01T00:05:00Z,730\n";
        let e = parse_series(text, "s.csv").unwrap_err();
        let msg = e.to_string();
        let lines: Vec<_> = e.issues.iter().map(|i| (i.line, i.path.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (Some(1), "funding_rat"),
                (Some(3), "time"),
                (Some(3), "price"),
                (Some(4), "time"),
                (Some(4), "long_liquidated"),
                (Some(5), ""),
            ],
            "{msg}"
        );
        assert!(msg.contains("did you mean `funding_rate`"), "{msg}");
        assert!(msg.contains("s.csv:3: time"), "{msg}");
    }

    /// One stray time out of range (milliseconds) is one problem: the next row is compared
    /// with the last time in range, not with it.
    #[test]
    fn a_stray_millisecond_time_is_one_problem() {
        let text = "time,price\n\
                    1609459200,730\n\
                    1609459260000,731\n\
                    1609459320,732\n";
        let e = parse_series(text, "s.csv").unwrap_err();
        let lines: Vec<_> = e.issues.iter().map(|i| (i.line, i.path.as_str())).collect();
        assert_eq!(lines, vec![(Some(3), "time")], "{e}");
        assert!(e.to_string().contains("milliseconds"), "{e}");
    }

    #[test]
    fn missing_columns_and_short_series() {
        let e = parse_series("time,long_liquidated\n1,2\n", "s.csv").unwrap_err();
        assert!(e.to_string().contains("price: required column is missing"));
        let e = parse_series("time,price\n1,2\n", "s.csv").unwrap_err();
        assert!(e.to_string().contains("needs at least 2"), "{e}");
    }
}
