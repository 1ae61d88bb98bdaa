//! Timestamps of price series: RFC 3339 in UTC (`2021-01-04T12:00:00Z`, optional fraction,
//! `+00:00` accepted) or unix seconds, to and from seconds since 1970-01-01T00:00:00Z.
//! Pure arithmetic on the proleptic Gregorian calendar (Hinnant's `days_from_civil`).

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)` (a space may replace `T`), or a number of
/// unix seconds, into seconds since the epoch. `None` for anything else, including offsets
/// other than UTC and impossible dates.
pub fn parse_time(text: &str) -> Option<f64> {
    let s = text.trim();
    if let Ok(x) = s.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .or_else(|| s.strip_suffix("+00:00"))?;
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let p = s.get(r)?;
        p.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| p.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = match &s[19..] {
        "" => 0.0,
        f if f.starts_with('.') && f.len() > 1 && f[1..].bytes().all(|c| c.is_ascii_digit()) => {
            format!("0{f}").parse::<f64>().ok()?
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    Some((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se) as f64 + frac)
}

/// Formats whole seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // 2021-01-01T00:00:00Z is 1609459200 (`date -u -d 2021-01-01 +%s`).
        assert_eq!(parse_time("2021-01-01T00:00:00Z"), Some(1_609_459_200.0));
        assert_eq!(parse_time("2021-01-01T00:14:29Z"), Some(1_609_460_069.0));
        assert_eq!(
            parse_time("2021-01-01 00:14:29+00:00"),
            Some(1_609_460_069.0)
        );
        assert_eq!(parse_time("2020-02-29T12:00:00.5Z"), Some(1_582_977_600.5));
        assert_eq!(parse_time("1609459200"), Some(1_609_459_200.0));
        assert_eq!(format_time(1_609_460_069), "2021-01-01T00:14:29Z");
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn rejects_bad_text() {
        for bad in [
            "2021-02-29T00:00:00Z",
            "2021-01-01T24:00:00Z",
            "2021-01-01T00:00:00+01:00",
            "2021-01-01T00:00:00",
            "2021-1-01T00:00:00Z",
            "yesterday",
            "NaN",
            "",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_over_centuries() {
        for secs in (-5_000_000_000_i64..10_000_000_000).step_by(86_399 * 997) {
            assert_eq!(parse_time(&format_time(secs)), Some(secs as f64), "{secs}");
        }
    }
}
