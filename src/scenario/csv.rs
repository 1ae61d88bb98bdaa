//! Parsing of the CSV files a scenario may reference: explicit positions, cross-margin
//! accounts and explicit book levels. Pure text → records. The `csv` crate tokenizes
//! (quoted fields, a UTF-8 byte-order mark, `#` comment lines); this module checks the
//! header (unknown, duplicate and missing columns) and every value against the same limits
//! as the TOML key it stands for, and reports every problem with its line. Messages quote at most a short piece of a column
//! name or value, never a whole line: the file may not be a CSV at all.

use super::common::{MAX_POSITIONS, MAX_PRICE, MAX_USD, MIN_PRICE, show};
use crate::diagnostics::Bounded;
use crate::model::margin::{self, MarginSchedule};
use crate::text::{LineCounter, NOT_UTF8, cut, not_utf8_lines};
use std::collections::HashMap;

use crate::model::spec::{AccountRecord, Level, PositionRecord};

/// The problems of one file, each `LINE: message`, the first [`LISTED`] kept.
type Problems = Bounded<String>;

/// The kept problems, and the note counting the others on the line of the first of them.
fn kept(problems: Problems) -> Vec<String> {
    problems.into_vec(|first, note| {
        let line = first.split(':').next().unwrap_or_default();
        format!("{line}: {note}")
    })
}

/// A CSV file's header and the count of its rows; the rows are read again, one at a time,
/// by [`Table::rows`] (a file of 50 million positions held as strings took 15 times its
/// size). Blank records and `#` comment lines are skipped.
struct Table<'t> {
    /// The text without its byte-order mark.
    text: &'t str,
    header_line: usize,
    /// Lower-cased column names.
    columns: Vec<String>,
    /// The records after the header that are not blank.
    rows: usize,
}

/// A reader of a house CSV file's records, as they are read (no header row: the first
/// record that is not blank is the header).
fn records(text: &str) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes())
}

/// Whether every field of a record is empty (a blank line, or a line of separators).
fn blank(r: &::csv::StringRecord) -> bool {
    r.iter().all(str::is_empty)
}

impl<'t> Table<'t> {
    /// Finds the header and counts the rows of `text`, reporting unreadable records and
    /// lines that are not UTF-8; `None` (with a message) when it holds no header.
    /// `expected` is the header to suggest, as a message shows it (code in backticks).
    fn read(text: &'t str, expected: &str, errors: &mut Problems) -> Option<Table<'t>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = records(text);
        let mut lines = LineCounter::new(text);
        let mut header: Option<(usize, Vec<String>)> = None;
        let mut rows = 0usize;
        let mut r = ::csv::StringRecord::new();
        loop {
            match reader.read_record(&mut r) {
                Ok(false) => break,
                Ok(true) => {
                    if blank(&r) {
                        continue;
                    }
                    if header.is_none() {
                        let line = r.position().map_or(0, |p| lines.record_line(p.byte()));
                        header = Some((line, r.iter().map(str::to_lowercase).collect()));
                    } else {
                        rows += 1;
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| lines.record_line(p.byte()));
                    errors.push(format!("{line}: not a CSV record"));
                }
            }
        }
        for l in not_utf8_lines(text) {
            errors.push(format!("{l}: {NOT_UTF8}"));
        }
        let Some((header_line, columns)) = header else {
            errors.push(format!(
                "1: the file is empty; expected a header {expected}"
            ));
            return None;
        };
        Some(Table {
            text,
            header_line,
            columns,
            rows,
        })
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|n| n == name)
    }

    /// Reports unknown and duplicate columns, and the `required` ones that are missing.
    /// The header checks of a positions table (its known and required columns, and one of
    /// `leverage` and `liquidation_price`), shared by the positions file and the check
    /// command's file; the indices of those two columns.
    fn position_columns(&self, errors: &mut Problems) -> (Option<usize>, Option<usize>) {
        self.check_columns(POSITION_COLUMNS, &["side", "size", "entry_price"], errors);
        let (lev, liq) = (self.index("leverage"), self.index("liquidation_price"));
        if lev.is_none() && liq.is_none() {
            errors.push(format!(
                "{}: needs one of the columns `leverage` and `liquidation_price`",
                self.header_line
            ));
        }
        (lev, liq)
    }

    fn check_columns(&self, known: &[&str], required: &[&str], errors: &mut Problems) {
        let line = self.header_line;
        // Each unknown name once, with how often it appears (a header of a million `x`
        // columns was a million lines); a known name given twice, once.
        for (_, n, count) in crate::text::distinct(self.columns.iter().map(String::as_str)) {
            if !known.contains(&n) {
                errors.push(format!(
                    "{line}: unknown column {}{}; columns are {}",
                    cut(n).replace('"', "`"),
                    crate::text::times(count),
                    known.join(", ")
                ));
            } else if count > 1 {
                errors.push(format!("{line}: column `{n}` appears twice"));
            }
        }
        for name in required {
            if self.index(name).is_none() {
                errors.push(format!("{line}: missing column `{name}`"));
            }
        }
    }

    /// Reports a file of more than [`MAX_POSITIONS`] rows.
    fn limit_rows(&self, errors: &mut Problems) {
        if self.rows as u64 > MAX_POSITIONS {
            errors.push(format!(
                "{}: {} positions; at most {MAX_POSITIONS} (the limit of positions)",
                self.header_line, self.rows
            ));
        }
    }

    /// Calls `row` with the line and fields of every row with as many fields as the
    /// header, in file order; the others are reported (an unreadable record was reported by
    /// [`Table::read`]).
    fn rows(
        &self,
        errors: &mut Problems,
        mut row: impl FnMut(usize, &::csv::StringRecord, &mut Problems),
    ) {
        let n = self.columns.len();
        let mut reader = records(self.text);
        let mut lines = LineCounter::new(self.text);
        let mut r = ::csv::StringRecord::new();
        let mut header = true;
        loop {
            match reader.read_record(&mut r) {
                Ok(false) => break,
                Ok(true) if blank(&r) => {}
                Ok(true) if header => header = false,
                Ok(true) => {
                    let line = r.position().map_or(0, |p| lines.record_line(p.byte()));
                    if r.len() == n {
                        row(line, &r, errors);
                    } else {
                        errors.push(format!("{line}: expected {n} fields, found {}", r.len()));
                    }
                }
                Err(_) => {}
            }
        }
    }
}

fn number(field: &str, line: usize, col: &str, errors: &mut Problems) -> Option<f64> {
    match field.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            errors.push(format!(
                "{line}: column `{col}`: {} is not a finite number",
                cut(field)
            ));
            None
        }
    }
}

/// The `side`, `size` and `entry_price` fields of one positions row (at column indices
/// `cols`), each checked like the key it stands for; `None` where a field is bad (its
/// problem is in `errors`).
fn side_size_entry(
    f: &::csv::StringRecord,
    line: usize,
    (side, size, entry): (usize, usize, usize),
    errors: &mut Problems,
) -> (Option<bool>, Option<f64>, Option<f64>) {
    let long = match f[side].to_lowercase().as_str() {
        "long" | "buy" => Some(true),
        "short" | "sell" => Some(false),
        _ => {
            errors.push(format!(
                "{line}: column `side`: {} is neither long nor short (nor buy or sell)",
                cut(&f[side])
            ));
            None
        }
    };
    let qty = number(&f[size], line, "size", errors);
    if qty.is_some_and(|q| q <= 0.0) {
        errors.push(format!("{line}: column `size` must be > 0 base units"));
    }
    let e = price_column(&f[entry], line, "entry_price", errors);
    (long, qty, e)
}

/// A row's notional `qty × entry`, or `None` (its problem in `errors`) above [`MAX_USD`],
/// the limit of the key `limit` the file stands for.
fn notional(qty: f64, entry: f64, line: usize, limit: &str, errors: &mut Problems) -> Option<f64> {
    let n = qty * entry;
    if n > MAX_USD {
        errors.push(format!(
            "{line}: size x entry_price = {} USD; a position's notional must be at most {} USD (the limit of {limit})",
            show(n),
            show(MAX_USD)
        ));
        return None;
    }
    Some(n)
}

/// A price column: finite, in the scenario's price range (the `assets.price` limits).
fn price_column(field: &str, line: usize, col: &str, errors: &mut Problems) -> Option<f64> {
    let p = number(field, line, col, errors)?;
    if p <= 0.0 {
        errors.push(format!(
            "{line}: column `{col}` must be > 0, found {}",
            show(p)
        ));
        return None;
    }
    if !(MIN_PRICE..=MAX_PRICE).contains(&p) {
        errors.push(format!(
            "{line}: column `{col}` must be between {} and {} USD (the limits of assets.price), found {}",
            show(MIN_PRICE),
            show(MAX_PRICE),
            show(p)
        ));
        return None;
    }
    Some(p)
}

/// Columns of a positions file. `population`, `asset` and `venue` are what `cascadesim
/// population` writes beside the others: `asset`, when present, must name the population's
/// asset on every row; the other two are not read.
pub const POSITION_COLUMNS: &[&str] = &[
    "population",
    "asset",
    "venue",
    "side",
    "size",
    "entry_price",
    "leverage",
    "liquidation_price",
];

/// Largest relative difference between a row's `liquidation_price` and the one its `leverage`
/// gives, when a row has both (a file written by `cascadesim population` agrees to ~1e-15).
const LIQUIDATION_AGREEMENT: f64 = 1e-9;

/// Reads the positions of a population trading `asset` under `sched`; with the asset's
/// `start` price (when the asset is valid), their open interest is limited at it too.
pub(super) fn positions(
    text: &str,
    sched: &MarginSchedule,
    asset: &str,
    start: Option<f64>,
) -> Result<Vec<PositionRecord>, Vec<String>> {
    let mut errors = Problems::default();
    let Some(table) = Table::read(
        text,
        "`side,size,entry_price,leverage` (or `liquidation_price` instead of `leverage`)",
        &mut errors,
    ) else {
        return Err(kept(errors));
    };
    // Problems so far are the file's own (records, UTF-8): the rows are still read.
    let n0 = errors.len();
    let hline = table.header_line;
    let (lev, liq) = table.position_columns(&mut errors);
    let asset_col = table.index("asset");
    table.limit_rows(&mut errors);
    if errors.len() > n0 {
        return Err(kept(errors));
    }
    let col = |name: &str| table.index(name).unwrap_or(0);
    let (side, size, entry) = (col("side"), col("size"), col("entry_price"));
    let mut out = Vec::new();
    let mut open_interest = 0.0;
    // Base units: the open interest at the start price (a position bought at 1e-12 and
    // worth 1e12 at the start passed the limit at entry, and its liquidations did not).
    let mut open_qty = 0.0;
    table.rows(&mut errors, |line, f, errors| {
        let (long, qty, e) = side_size_entry(f, line, (side, size, entry), errors);
        if let Some(i) = asset_col
            && &f[i] != asset
        {
            errors.push(format!(
                "{line}: column `asset`: {} is not this population's asset \"{}\" (split a file of several assets into one file per population)",
                cut(&f[i]),
                cut(asset).trim_matches('"')
            ));
            return;
        }
        let (Some(long), Some(qty), Some(e)) = (long, qty, e) else {
            return;
        };
        if qty <= 0.0 {
            return;
        }
        // Like `open_interest_usd`: a position's notional is at most MAX_USD.
        let Some(notional) = notional(qty, e, line, "open_interest_usd", errors) else {
            return;
        };
        open_interest += notional;
        open_qty += qty;
        let tier = sched.tier(notional);
        let from_leverage = match lev {
            Some(i) => {
                let Some(l) = number(&f[i], line, "leverage", errors) else {
                    return;
                };
                if l <= 1.0 || l >= 1.0 / tier.rate {
                    errors.push(format!("{line}: column `leverage` must be > 1 and below 1/maintenance rate = {:.1}, found {}", 1.0 / tier.rate, show(l)));
                    return;
                }
                Some(notional / l)
            }
            None => None,
        };
        let from_liquidation = match liq {
            Some(i) => {
                let Some(p) = price_column(&f[i], line, "liquidation_price", errors) else {
                    return;
                };
                Some(p)
            }
            None => None,
        };
        let margin_usd = match (from_leverage, from_liquidation) {
            (Some(m), Some(p)) => {
                let implied = margin::liquidation_price(long, qty, e, m, tier);
                if (implied - p).abs() > LIQUIDATION_AGREEMENT * p {
                    errors.push(format!(
                        "{line}: columns `leverage` and `liquidation_price` disagree: the leverage gives a liquidation price of {}, the file says {} (give one of them, or both as `cascadesim population` writes them)",
                        show(implied),
                        show(p)
                    ));
                    return;
                }
                m
            }
            (Some(m), None) => m,
            (None, Some(p)) => {
                let m = margin::margin_from_liquidation_price(long, qty, e, p, tier);
                let wrong_side = if long { p >= e } else { p <= e };
                if wrong_side || m <= 0.0 || !m.is_finite() {
                    errors.push(format!(
                        "{line}: column `liquidation_price` {} is inconsistent with a {} entered at {} (it must lie {} the entry and imply positive margin)",
                        show(p),
                        if long { "long" } else { "short" },
                        show(e),
                        if long { "below" } else { "above" }
                    ));
                    return;
                }
                m
            }
            (None, None) => return,
        };
        out.push(PositionRecord {
            long,
            qty,
            entry: e,
            margin: margin_usd,
        });
    });
    if open_interest > MAX_USD {
        errors.push_whole(format!(
            "{hline}: the positions' open interest is {} USD; at most {} USD (the limit of open_interest_usd)",
            show(open_interest),
            show(MAX_USD)
        ));
    } else if let Some(p) = start
        && open_qty * p > MAX_USD
    {
        errors.push_whole(format!(
            "{hline}: the positions' open interest at the asset's start price {} is {} USD; at most {} USD (the limit of open_interest_usd)",
            show(p),
            show(open_qty * p),
            show(MAX_USD)
        ));
    }
    positions_or_problems(out, kept(errors), hline)
}

/// Columns of a cross-margin accounts file (`[cross_margin] file`): one row per position.
pub const ACCOUNT_COLUMNS: &[&str] = &[
    "account",
    "asset",
    "side",
    "size",
    "entry_price",
    "collateral",
];

/// Reads a cross-margin accounts file: positions on the `listed` assets (scenario indices;
/// `names` the scenario's asset names), at most one per asset and account, the account's
/// `collateral` the same on each of its rows, a position's notional (`size × entry_price`) and
/// the file's at most [`MAX_USD`]; with the start `prices` (per scenario asset) and
/// maintenance rates `mm`, the file's notional at those prices at most [`MAX_USD`] too, and
/// every account must start above maintenance.
pub(super) fn accounts(
    text: &str,
    names: &[String],
    listed: &[usize],
    mm: &[f64],
    prices: Option<&[f64]>,
) -> Result<Vec<AccountRecord>, Vec<String>> {
    let mut errors = Problems::default();
    let Some(table) = Table::read(
        text,
        &format!("`{}`", ACCOUNT_COLUMNS.join(",")),
        &mut errors,
    ) else {
        return Err(kept(errors));
    };
    // Problems so far are the file's own (records, UTF-8): the rows are still read.
    let n0 = errors.len();
    let hline = table.header_line;
    table.check_columns(ACCOUNT_COLUMNS, ACCOUNT_COLUMNS, &mut errors);
    table.limit_rows(&mut errors);
    if errors.len() > n0 {
        return Err(kept(errors));
    }
    let col = |name: &str| table.index(name).unwrap_or(0);
    let (id_col, asset_col, coll_col) = (col("account"), col("asset"), col("collateral"));
    let cols = (col("side"), col("size"), col("entry_price"));
    // Per account id: its index, first line and collateral; per (account, asset): the line.
    let mut ids: HashMap<String, (u64, usize, f64)> = HashMap::new();
    let mut held: HashMap<(u64, usize), usize> = HashMap::new();
    let mut out = Vec::new();
    // Accounts with a bad row are not checked against maintenance (their rows are partial).
    let mut tainted: std::collections::HashSet<String> = std::collections::HashSet::new();
    // The positions' notional at their entry prices and at the assets' start prices.
    let (mut total, mut at_start) = (0.0, 0.0);
    table.rows(&mut errors, |line, f, errors| {
        let e0 = errors.len();
        let id = &f[id_col];
        let row = account_row(
            f,
            line,
            (id_col, asset_col, coll_col),
            cols,
            names,
            listed,
            errors,
        );
        if let Some((long, qty, e, asset, c)) = row {
            // As in a positions file: a position's notional is at most MAX_USD, and so is
            // the file's (`notional_usd` bounds the synthetic accounts' total).
            let Some(notional) = notional(qty, e, line, "cross_margin.notional_usd", errors) else {
                tainted.insert(id.to_string());
                return;
            };
            total += notional;
            if let Some(p) = prices {
                at_start += qty * p[asset];
            }
            if !ids.contains_key(id) {
                ids.insert(id.to_string(), (ids.len() as u64, line, c));
            }
            let (k, first, c0) = ids[id];
            if c != c0 {
                errors.push(format!(
                    "{line}: column `collateral`: {} differs from the account's {} (line {first})",
                    show(c),
                    show(c0)
                ));
            } else if let Some(prev) = held.insert((k, asset), line) {
                errors.push(format!(
                    "{line}: account {} already holds {} (line {prev}); give one position per asset",
                    cut(id),
                    names[asset]
                ));
            } else {
                out.push(AccountRecord {
                    account: k,
                    asset,
                    long,
                    size: qty,
                    entry_price: e,
                    collateral: c,
                });
            }
        }
        // Each account once, however many of its rows are bad.
        if errors.len() > e0 && !tainted.contains(id) {
            tainted.insert(id.to_string());
        }
    });
    // At the start prices too: `notional_usd` is the synthetic accounts' notional at step 0.
    let over = if total > MAX_USD {
        Some(("", total))
    } else {
        (at_start > MAX_USD).then_some((" at the assets' start prices", at_start))
    };
    if let Some((at, sum)) = over {
        errors.push_whole(format!(
            "{hline}: the accounts' notional{at} is {} USD; at most {} USD (the limit of cross_margin.notional_usd)",
            show(sum),
            show(MAX_USD)
        ));
    }
    if let Some(p) = prices {
        for t in &tainted {
            ids.remove(t);
        }
        below_maintenance(&out, &ids, mm, p, &mut errors);
    }
    positions_or_problems(out, kept(errors), hline)
}

/// The positions read, or every problem; a header without positions is one (reported on the
/// header's line, like every other message: it is shown as `file.csv:LINE: …`).
fn positions_or_problems<T>(
    out: Vec<T>,
    mut errors: Vec<String>,
    hline: usize,
) -> Result<Vec<T>, Vec<String>> {
    if out.is_empty() && errors.is_empty() {
        errors.push(format!("{hline}: the file has a header but no positions"));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One row's side, size, entry, asset and collateral, each checked; `None` when one is bad
/// (its problem in `errors`).
fn account_row(
    f: &::csv::StringRecord,
    line: usize,
    (id_col, asset_col, coll_col): (usize, usize, usize),
    cols: (usize, usize, usize),
    names: &[String],
    listed: &[usize],
    errors: &mut Problems,
) -> Option<(bool, f64, f64, usize, f64)> {
    let (long, qty, e) = side_size_entry(f, line, cols, errors);
    let asset = names
        .iter()
        .position(|n| *n == f[asset_col])
        .filter(|a| listed.contains(a));
    if asset.is_none() {
        errors.push(format!(
            "{line}: column `asset`: {} is not a `[[cross_margin.assets]]` asset",
            cut(&f[asset_col])
        ));
    }
    let mut collateral = number(&f[coll_col], line, "collateral", errors);
    if collateral.is_some_and(|c| !(0.0..=MAX_USD).contains(&c)) {
        errors.push(format!(
            "{line}: column `collateral` must be in [0, {}] USD",
            show(MAX_USD)
        ));
        collateral = None;
    }
    if f[id_col].is_empty() {
        errors.push(format!("{line}: column `account` is empty"));
        return None;
    }
    match (long, qty, e, asset, collateral) {
        (Some(l), Some(q), Some(e), Some(a), Some(c)) if q > 0.0 => Some((l, q, e, a, c)),
        _ => None,
    }
}

/// Reports every account that starts at or below maintenance at the start prices.
fn below_maintenance(
    rows: &[AccountRecord],
    ids: &HashMap<String, (u64, usize, f64)>,
    mm: &[f64],
    prices: &[f64],
    errors: &mut Problems,
) {
    let n = rows
        .iter()
        .map(|r| r.account as usize + 1)
        .max()
        .unwrap_or(0);
    let n = ids.values().map(|v| v.0 as usize + 1).fold(n, usize::max);
    let (mut equity, mut need) = (vec![0.0; n], vec![0.0; n]);
    for r in rows {
        let (k, p) = (r.account as usize, prices[r.asset]);
        let q = if r.long { r.size } else { -r.size };
        equity[k] += q * (p - r.entry_price);
        need[k] += mm[r.asset] * r.size * p;
    }
    let mut bad: Vec<(usize, &str, f64, f64)> = ids
        .iter()
        .filter_map(|(id, &(k, line, c))| {
            let (e, m) = (c + equity[k as usize], need[k as usize]);
            (e <= m).then_some((line, id.as_str(), e, m))
        })
        .collect();
    bad.sort_by_key(|b| b.0);
    for (line, id, e, m) in bad {
        errors.push(format!(
            "{line}: account {} starts at or below maintenance: equity {} USD, requirement {} USD at the start prices",
            cut(id),
            show(e),
            show(m)
        ));
    }
}

/// One row of a prospective-positions file (`cascadesim check --positions`), as read:
/// resolving it against a scenario (asset, tiers) is the desk module's work.
#[derive(Debug, Clone, PartialEq)]
pub struct ProspectiveRow {
    /// Line in the file.
    pub line: usize,
    pub long: bool,
    /// Base units, > 0.
    pub qty: f64,
    /// USD, in the price range of `assets.price`.
    pub entry: f64,
    /// The `leverage` column, when present.
    pub leverage: Option<f64>,
    /// The `liquidation_price` column, when present.
    pub liquidation_price: Option<f64>,
    /// The `asset` and `population` columns, when present.
    pub asset: Option<String>,
    pub population: Option<String>,
}

/// Reads a prospective-positions file: the columns of a positions file
/// ([`POSITION_COLUMNS`]; `asset` and `population` say which asset and whose tiers).
/// Returns the good rows and every problem, each with its line (a header problem: no rows).
pub fn prospective_positions(text: &str) -> (Vec<ProspectiveRow>, Vec<String>) {
    let mut errors = Problems::default();
    let Some(table) = Table::read(
        text,
        "`side,size,entry_price,leverage` (or `liquidation_price`; `asset`, `population` optional)",
        &mut errors,
    ) else {
        return (Vec::new(), kept(errors));
    };
    // Problems so far are the file's own (records, UTF-8): the rows are still read.
    let n0 = errors.len();
    let hline = table.header_line;
    let (lev, liq) = table.position_columns(&mut errors);
    if table.rows > 100_000 {
        errors.push(format!(
            "{hline}: {} positions; at most 100000 are checked at once",
            table.rows
        ));
    }
    if errors.len() > n0 {
        return (Vec::new(), kept(errors));
    }
    let col = |name: &str| table.index(name).unwrap_or(0);
    let (side, size, entry) = (col("side"), col("size"), col("entry_price"));
    let (asset, population) = (table.index("asset"), table.index("population"));
    let mut out = Vec::new();
    table.rows(&mut errors, |line, f, errors| {
        let (long, qty, e) = side_size_entry(f, line, (side, size, entry), errors);
        let leverage = lev.and_then(|i| number(&f[i], line, "leverage", errors));
        let liquidation_price =
            liq.and_then(|i| price_column(&f[i], line, "liquidation_price", errors));
        let (Some(long), Some(qty), Some(e)) = (long, qty, e) else {
            return;
        };
        if qty <= 0.0 || (leverage.is_none() && liquidation_price.is_none()) {
            return;
        }
        let named = |i: Option<usize>| i.map(|i| f[i].to_string()).filter(|s| !s.is_empty());
        out.push(ProspectiveRow {
            line,
            long,
            qty,
            entry: e,
            leverage,
            liquidation_price,
            asset: named(asset),
            population: named(population),
        });
    });
    if out.is_empty() && errors.is_empty() {
        errors.push(format!("{hline}: the file has a header but no positions"));
    }
    (out, kept(errors))
}

/// Reads `side,distance_bp,size_usd` rows (side `bid` or `ask`); sizes in USD are converted
/// to base units at `price`. Each side needs at least one level; distances must be distinct.
/// Sizes are at most the limit of `depth_usd`, in all.
pub(super) fn book_levels(text: &str, price: f64) -> Result<(Vec<Level>, Vec<Level>), Vec<String>> {
    let mut errors = Problems::default();
    let Some(table) = Table::read(text, "`side,distance_bp,size_usd`", &mut errors) else {
        return Err(kept(errors));
    };
    // Problems so far are the file's own (records, UTF-8): the rows are still read.
    let n0 = errors.len();
    let hline = table.header_line;
    let names = ["side", "distance_bp", "size_usd"];
    table.check_columns(&names, &names, &mut errors);
    if errors.len() > n0 {
        return Err(kept(errors));
    }
    let [side, dist, size] = names.map(|n| table.index(n).unwrap_or(0));
    let (mut bid, mut ask) = (Vec::new(), Vec::new());
    let mut depth = 0.0;
    table.rows(&mut errors, |line, f, errors| {
        let d = number(&f[dist], line, "distance_bp", errors);
        let s = number(&f[size], line, "size_usd", errors);
        let (Some(d), Some(s)) = (d, s) else {
            return;
        };
        if d <= 0.0 || d >= 10_000.0 {
            errors.push(format!(
                "{line}: column `distance_bp` must be in (0, 10000), found {}",
                show(d)
            ));
            return;
        }
        if !(0.0..=MAX_USD).contains(&s) {
            errors.push(format!(
                "{line}: column `size_usd` must be >= 0 and at most {} USD, found {}",
                show(MAX_USD),
                show(s)
            ));
            return;
        }
        depth += s;
        let level = Level {
            distance: d * 1e-4,
            size: s / price,
        };
        match f[side].to_lowercase().as_str() {
            "bid" => bid.push((line, level)),
            "ask" => ask.push((line, level)),
            _ => errors.push(format!(
                "{line}: column `side`: {} is neither bid nor ask",
                cut(&f[side])
            )),
        }
    });
    if depth > MAX_USD {
        errors.push_whole(format!(
            "{hline}: the levels hold {} USD in all; at most {} USD (the limit of depth_usd)",
            show(depth),
            show(MAX_USD)
        ));
    }
    let mut finish = |side: &mut Vec<(usize, Level)>, name: &str| -> Vec<Level> {
        side.sort_by(|a, b| a.1.distance.total_cmp(&b.1.distance));
        for w in side.windows(2) {
            if w[0].1.distance == w[1].1.distance {
                errors.push(format!(
                    "{}: duplicate {name} level at {} bp (also on line {})",
                    w[1].0,
                    w[1].1.distance * 1e4,
                    w[0].0
                ));
            }
        }
        if side.iter().all(|(_, l)| l.size == 0.0) {
            errors.push_whole(format!(
                "{hline}: the {name} side has no depth (no level, or every size is 0)"
            ));
        }
        side.iter().map(|(_, l)| *l).collect()
    };
    let b = finish(&mut bid, "bid");
    let a = finish(&mut ask, "ask");
    if errors.is_empty() {
        Ok((b, a))
    } else {
        Err(kept(errors))
    }
}

#[cfg(test)]
mod tests {

    /// Review D13: comment lines before the header and blank lines after it keep the file's
    /// line numbers (the csv crate's count gave 4 for line 6).
    #[test]
    fn book_lines_count_comments_and_blank_lines() {
        let e =
            book_levels("# c1\n# c2\nside,distance_bp,size_usd\n\n\nbid,-1,5\n", 1.0).unwrap_err();
        assert!(e[0].starts_with("6: column `distance_bp`"), "{e:?}");
        let e = book_levels("# c1\nside,distance_bp,size_usd,x\n", 1.0).unwrap_err();
        assert!(e[0].starts_with("2: unknown column"), "{e:?}");
    }

    /// A header of many columns of one unknown name is one problem saying how many (10⁶
    /// columns `x` were 10⁶ lines); a known column given three times is one problem too.
    #[test]
    fn a_repeated_unknown_column_is_one_problem() {
        let header = format!("side,distance_bp,size_usd{}", ",x".repeat(1000));
        let e = book_levels(
            &format!(
                "{header}
"
            ),
            1.0,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("1: unknown column `x` (1000 times)"),
            "{e:?}"
        );
        let e = book_levels(
            "side,side,side,distance_bp,size_usd
",
            1.0,
        )
        .unwrap_err();
        assert_eq!(e, ["1: column `side` appears twice"]);
    }

    /// Review D16: the header an empty file should have is quoted without stray backticks.
    #[test]
    fn empty_files_suggest_a_well_quoted_header() {
        let s = MarginSchedule::flat(0.004);
        let e = positions("", &s, "BTC", None).unwrap_err();
        assert_eq!(
            e,
            [
                "1: the file is empty; expected a header `side,size,entry_price,leverage` (or `liquidation_price` instead of `leverage`)"
            ]
        );
        let (_, e) = prospective_positions("\n");
        assert!(e[0].ends_with("`population` optional)"), "{e:?}");
        assert!(!e[0].contains("``"), "{e:?}");
        let e = book_levels("", 1.0).unwrap_err();
        assert!(
            e[0].ends_with("header `side,distance_bp,size_usd`"),
            "{e:?}"
        );
    }

    use super::*;
    use crate::diagnostics::LISTED;

    #[test]
    fn positions_with_liquidation_price_imply_margin() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,liquidation_price\nlong,1,100000,90361.4457831\n";
        let r = positions(text, &s, "BTC", None).unwrap();
        assert!((r[0].margin - 10_000.0).abs() < 1e-3, "{}", r[0].margin);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,leverage\nlong,1,100,10\nsideways,1,100,10\nshort,-1,100,10\nlong,1,100,0.5\n";
        let e = positions(text, &s, "BTC", None).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("3:") && e[1].starts_with("4:") && e[2].starts_with("5:"),
            "{e:?}"
        );
    }

    #[test]
    fn book_levels_are_sorted_and_converted() {
        let text = "side,distance_bp,size_usd\nbid,2,200\nbid,1,100\nask,1,100\n";
        let (b, a) = book_levels(text, 100.0).unwrap();
        assert_eq!(b.len(), 2);
        assert!(b[0].distance < b[1].distance && (b[0].size - 1.0).abs() < 1e-12);
        assert_eq!(a.len(), 1);
        assert!(book_levels("side,distance_bp,size_usd\nbid,1,1\n", 1.0).is_err());
    }

    /// Regression (issue 20): a byte-order mark, quoted fields, comments and blank lines are
    /// read as CSV; line numbers stay those of the file.
    #[test]
    fn bom_quotes_and_comments_are_csv() {
        let s = MarginSchedule::flat(0.004);
        let text = "\u{feff}\"side\",size,entry_price,leverage\n# a comment\n\n\"long\",\"1\",100000,10\nshort,x,100000,10\n";
        let e = positions(text, &s, "BTC", None).unwrap_err();
        assert_eq!(e, ["5: column `size`: \"x\" is not a finite number"]);
        let ok = positions(&text.replace(",x,", ",2,"), &s, "BTC", None).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(ok[0].long && ok[0].qty == 1.0 && !ok[1].long);
    }

    /// A file with a bad value on every row keeps the first [`LISTED`] problems and counts
    /// the others in one last message, which names the line they start on and the total.
    #[test]
    fn problems_beyond_the_listed_ones_are_counted() {
        let s = MarginSchedule::flat(0.004);
        let rows = LISTED + 1_234;
        let text = format!(
            "side,size,entry_price,leverage\n{}",
            "up,1,100,10\n".repeat(rows)
        );
        let e = positions(&text, &s, "BTC", None).unwrap_err();
        assert_eq!(e.len(), LISTED + 1, "{:?}", &e[LISTED - 1..]);
        assert!(e[LISTED - 1].starts_with(&format!("{}: column `side`", LISTED + 1)));
        assert_eq!(
            e[LISTED],
            format!(
                "{}: and 1234 more problems not listed, the first of them on this line (1634 in this file; the first {LISTED} found are listed)",
                LISTED + 2
            )
        );
        // A problem of the whole file after more than `LISTED` of the rows' is listed, not
        // only counted.
        let text = format!(
            "side,size,entry_price,leverage\n{}long,1e13,100,2\nlong,1e13,100,2\n",
            "up,1,100,10\n".repeat(rows)
        );
        let e = positions(&text, &s, "BTC", None).unwrap_err();
        assert_eq!(e.len(), LISTED + 2, "{:?}", &e[LISTED..]);
        assert!(
            e[LISTED].starts_with("1: the positions' open interest is 2e15 USD"),
            "{}",
            e[LISTED]
        );
        assert!(
            e[LISTED + 1].contains("and 1234 more problems"),
            "{}",
            e[LISTED + 1]
        );
        // Exactly `LISTED` problems: all listed, no note.
        let text = format!(
            "side,size,entry_price,leverage\n{}",
            "up,1,100,10\n".repeat(LISTED)
        );
        assert_eq!(positions(&text, &s, "BTC", None).unwrap_err().len(), LISTED);
    }

    /// Rows are read again after the header is checked: their lines, a row of the wrong
    /// width, blank lines and an unreadable record are each where they were.
    #[test]
    fn rows_read_twice_keep_their_lines() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,leverage\n\nlong,1,100,10\nlong,1\n,,,\n# c\nshort,1,100,0.5\n\"x\ny\n";
        let e = positions(text, &s, "BTC", None).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0], "4: expected 4 fields, found 2");
        assert!(
            e[1].starts_with("7: column `leverage` must be > 1"),
            "{e:?}"
        );
        assert_eq!(e[2], "8: expected 4 fields, found 1");
    }

    /// The open interest is limited at the asset's start price as well as at entry: a
    /// position bought at 1e-6 is worth a million times its entry notional at a start
    /// price of 1.
    #[test]
    fn open_interest_is_limited_at_the_start_price_too() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,leverage\nlong,1e18,1e-6,10\n";
        assert!(positions(text, &s, "BTC", None).is_ok());
        assert!(positions(text, &s, "BTC", Some(1e-3)).is_ok());
        let e = positions(text, &s, "BTC", Some(1.0)).unwrap_err();
        assert_eq!(
            e,
            [
                "1: the positions' open interest at the asset's start price 1 is 1e18 USD; at most 1e15 USD (the limit of open_interest_usd)"
            ]
        );
    }

    #[test]
    fn long_names_and_values_are_cut_in_messages() {
        let s = MarginSchedule::flat(0.004);
        let long = "y".repeat(500);
        let e = positions(
            &format!("side,size,entry_price,leverage\n{long},1,100,10\n"),
            &s,
            "BTC",
            None,
        )
        .unwrap_err();
        assert!(e[0].len() < 120, "{e:?}");
        assert!(e[0].contains("(500 characters)"), "{e:?}");
    }
}
