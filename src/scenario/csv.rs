//! Parsing of the CSV files a scenario may reference: explicit positions and explicit book
//! levels. Pure text → records; every bad row is reported with its line number.

use super::{Level, PositionRecord};
use crate::model::margin::{self, MarginSchedule};

/// Splits a CSV text into (line number, fields) rows, skipping blank lines and `#` comments.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            None
        } else {
            Some((i + 1, line.split(',').map(str::trim).collect()))
        }
    })
}

/// Maps required/optional column names to indices; reports unknown columns.
struct Header {
    names: Vec<String>,
}

impl Header {
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

fn number(field: &str, line: usize, col: &str, errors: &mut Vec<String>) -> Option<f64> {
    match field.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            errors.push(format!(
                "{line}: column `{col}`: \"{field}\" is not a finite number"
            ));
            None
        }
    }
}

/// Reads `side,size,entry_price` plus `leverage` or `liquidation_price`.
///
/// `size` is in base units; `side` is `long` or `short`.
pub(super) fn positions(
    text: &str,
    sched: &MarginSchedule,
) -> Result<Vec<PositionRecord>, Vec<String>> {
    let mut errors = Vec::new();
    let mut it = rows(text);
    let Some((hline, hfields)) = it.next() else {
        return Err(vec!["1: the file is empty; expected a header `side,size,entry_price,leverage` (or `liquidation_price` instead of `leverage`)".into()]);
    };
    let header = Header {
        names: hfields.iter().map(|s| s.to_lowercase()).collect(),
    };
    let known = [
        "side",
        "size",
        "entry_price",
        "leverage",
        "liquidation_price",
    ];
    for n in &header.names {
        if !known.contains(&n.as_str()) {
            errors.push(format!("{hline}: unknown column `{n}`; columns are side, size, entry_price and leverage or liquidation_price"));
        }
    }
    let (side, size, entry) = (
        header.index("side"),
        header.index("size"),
        header.index("entry_price"),
    );
    let (lev, liq) = (header.index("leverage"), header.index("liquidation_price"));
    for (name, idx) in [("side", side), ("size", size), ("entry_price", entry)] {
        if idx.is_none() {
            errors.push(format!("{hline}: missing column `{name}`"));
        }
    }
    if lev.is_none() == liq.is_none() {
        errors.push(format!(
            "{hline}: needs exactly one of the columns `leverage` and `liquidation_price`"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (side, size, entry) = (side.unwrap_or(0), size.unwrap_or(0), entry.unwrap_or(0));
    let mut out = Vec::new();
    for (line, f) in it {
        if f.len() != header.names.len() {
            errors.push(format!(
                "{line}: expected {} fields, found {}",
                header.names.len(),
                f.len()
            ));
            continue;
        }
        let long = match f[side].to_lowercase().as_str() {
            "long" | "buy" => Some(true),
            "short" | "sell" => Some(false),
            other => {
                errors.push(format!(
                    "{line}: column `side`: \"{other}\" is neither long nor short"
                ));
                None
            }
        };
        let qty = number(f[size], line, "size", &mut errors);
        let e = number(f[entry], line, "entry_price", &mut errors);
        if qty.is_some_and(|q| q <= 0.0) {
            errors.push(format!("{line}: column `size` must be > 0 base units"));
        }
        if e.is_some_and(|p| p <= 0.0) {
            errors.push(format!("{line}: column `entry_price` must be > 0"));
        }
        let (Some(long), Some(qty), Some(e)) = (long, qty, e) else {
            continue;
        };
        if qty <= 0.0 || e <= 0.0 {
            continue;
        }
        let tier = sched.tier(qty * e);
        let margin_usd = if let Some(i) = lev {
            let Some(l) = number(f[i], line, "leverage", &mut errors) else {
                continue;
            };
            if l <= 1.0 || l >= 1.0 / tier.rate {
                errors.push(format!("{line}: column `leverage` must be > 1 and below 1/maintenance rate = {:.1}, found {l}", 1.0 / tier.rate));
                continue;
            }
            qty * e / l
        } else {
            let i = liq.unwrap_or(0);
            let Some(p) = number(f[i], line, "liquidation_price", &mut errors) else {
                continue;
            };
            let m = margin::margin_from_liquidation_price(long, qty, e, p, tier);
            let wrong_side = if long { p >= e } else { p <= e };
            if p <= 0.0 || wrong_side || m <= 0.0 {
                errors.push(format!(
                    "{line}: column `liquidation_price` {p} is inconsistent with a {} entered at {e} (it must lie {} the entry and imply positive margin)",
                    if long { "long" } else { "short" },
                    if long { "below" } else { "above" }
                ));
                continue;
            }
            m
        };
        out.push(PositionRecord {
            long,
            qty,
            entry: e,
            margin: margin_usd,
        });
    }
    if out.is_empty() && errors.is_empty() {
        // With the header's line, like every other message (it is shown as `file.csv:LINE: …`).
        errors.push(format!("{hline}: the file has a header but no positions"));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Reads `side,distance_bp,size_usd` rows (side `bid` or `ask`); sizes in USD are converted
/// to base units at `price`. Each side needs at least one level; distances must be distinct.
pub(super) fn book_levels(text: &str, price: f64) -> Result<(Vec<Level>, Vec<Level>), Vec<String>> {
    let mut errors = Vec::new();
    let mut it = rows(text);
    let Some((hline, hfields)) = it.next() else {
        return Err(vec![
            "1: the file is empty; expected a header `side,distance_bp,size_usd`".into(),
        ]);
    };
    let names: Vec<String> = hfields.iter().map(|s| s.to_lowercase()).collect();
    if names != ["side", "distance_bp", "size_usd"] {
        return Err(vec![format!(
            "{hline}: header must be `side,distance_bp,size_usd`, found `{}`",
            hfields.join(",")
        )]);
    }
    let (mut bid, mut ask) = (Vec::new(), Vec::new());
    for (line, f) in it {
        if f.len() != 3 {
            errors.push(format!("{line}: expected 3 fields, found {}", f.len()));
            continue;
        }
        let d = number(f[1], line, "distance_bp", &mut errors);
        let s = number(f[2], line, "size_usd", &mut errors);
        let (Some(d), Some(s)) = (d, s) else { continue };
        if d <= 0.0 || d >= 10_000.0 {
            errors.push(format!(
                "{line}: column `distance_bp` must be in (0, 10000), found {d}"
            ));
            continue;
        }
        if s < 0.0 {
            errors.push(format!("{line}: column `size_usd` must be >= 0, found {s}"));
            continue;
        }
        let level = Level {
            distance: d * 1e-4,
            size: s / price,
        };
        match f[0].to_lowercase().as_str() {
            "bid" => bid.push((line, level)),
            "ask" => ask.push((line, level)),
            other => errors.push(format!(
                "{line}: column `side`: \"{other}\" is neither bid nor ask"
            )),
        }
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
            errors.push(format!(
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
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_with_liquidation_price_imply_margin() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,liquidation_price\nlong,1,100000,90361.4457831\n";
        let r = positions(text, &s).unwrap();
        assert!((r[0].margin - 10_000.0).abs() < 1e-3, "{}", r[0].margin);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let s = MarginSchedule::flat(0.004);
        let text = "side,size,entry_price,leverage\nlong,1,100,10\nsideways,1,100,10\nshort,-1,100,10\nlong,1,100,0.5\n";
        let e = positions(text, &s).unwrap_err();
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
}
