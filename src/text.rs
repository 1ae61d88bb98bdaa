//! What every reader of a text file shares: decoding bytes that may not be UTF-8 (lossily,
//! so that every other problem is still found, with the lines that were not UTF-8 kept as
//! problems of their own), and the file line of a CSV record (the csv crate's own count
//! misses blank and `#` lines between records and lone-CR line ends), a field quoted for a
//! message, a number quoted back in one ([`shortest`]) and a count with thousands separators
//! ([`thousands`]). A leaf: the scenario and history readers, `tails`' errors, `desk`,
//! `compare` and `output::format` use it.

/// A number in its shortest round-trip form (`0.31`, `1250`), as in messages that quote a
/// value back, but with an exponent outside [10⁻⁶, 10¹⁶) (`1e300`, not 301 digits).
pub fn shortest(value: f64) -> String {
    let a = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-6..1e16).contains(&a) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

/// The mark [`decode`] puts in place of bytes that are not UTF-8.
const MARK: char = char::REPLACEMENT_CHARACTER;

/// `bytes` as text: unchanged when UTF-8, otherwise with each invalid sequence replaced by
/// U+FFFD (which [`not_utf8_lines`] then finds).
pub fn decode(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The message for a line of [`not_utf8_lines`].
pub const NOT_UTF8: &str = "not valid UTF-8 (bytes shown as \u{FFFD}); save the file as UTF-8 text";

/// The 1-based lines holding U+FFFD: the bytes [`decode`] could not read (a file that holds
/// the character U+FFFD itself is reported too: no data file of the house needs it). Lines
/// end at LF, CRLF or a lone CR.
pub fn not_utf8_lines(text: &str) -> Vec<usize> {
    if !text.contains(MARK) {
        return Vec::new();
    }
    let mut lines = LineCounter::new(text);
    let mut out: Vec<usize> = text
        .match_indices(MARK)
        .map(|(i, _)| lines.line_at(i))
        .collect();
    out.dedup();
    out
}

/// Longest piece of a name or value a message quotes.
const QUOTED: usize = 24;

/// A name or value from the file, for a message: quoted, escaped, cut to [`QUOTED`] chars.
pub fn cut(s: &str) -> String {
    if s.chars().count() <= QUOTED {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(QUOTED).collect();
        format!("{head:?}… ({} characters)", s.chars().count())
    }
}

/// File lines of the records of a CSV reader over `text`, read in file order.
pub struct LineCounter<'t> {
    text: &'t [u8],
    /// Bytes before `at` are counted: `at` is on line `line`.
    at: usize,
    line: usize,
}

impl<'t> LineCounter<'t> {
    pub fn new(text: &'t str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the record (or error) whose csv position has byte offset `byte`: the
    /// crate puts it just after the previous record, so the blank and `#` lines from there
    /// are skipped to reach the record's first byte.
    pub fn record_line(&mut self, byte: u64) -> usize {
        let t = self.text;
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(t.len());
        loop {
            match t.get(start) {
                Some(b'\r' | b'\n') => start += 1,
                Some(b'#') => {
                    while start < t.len() && !matches!(t[start], b'\r' | b'\n') {
                        start += 1;
                    }
                }
                _ => break,
            }
        }
        self.line_at(start)
    }

    /// The line of byte `i` (at or after the last byte asked about).
    fn line_at(&mut self, i: usize) -> usize {
        if i < self.at {
            (self.at, self.line) = (0, 1);
        }
        let t = self.text;
        let i = i.min(t.len());
        self.line += t[self.at..i]
            .iter()
            .enumerate()
            .filter(|&(k, &b)| b == b'\n' || (b == b'\r' && t.get(self.at + k + 1) != Some(&b'\n')))
            .count();
        self.at = i;
        self.line
    }
}

/// Each distinct name once, in the order of its first occurrence: `(index of that
/// occurrence, name, how often it occurs)` (a CSV header's columns, whose repeats are
/// reported once with their count).
pub fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<(usize, &'a str, usize)> {
    let mut out: Vec<(usize, &str, usize)> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, n) in names.enumerate() {
        match at.entry(n) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()].2 += 1,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push((i, n, 1));
            }
        }
    }
    out
}

/// `" (N times)"` for a name that occurs `count > 1` times, else nothing.
pub fn times(count: usize) -> String {
    if count > 1 {
        format!(" ({count} times)")
    } else {
        String::new()
    }
}

/// An integer with thousands separators: `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_names_keep_their_first_place_and_count() {
        let names = ["a", "b", "a", "c", "a", "b"];
        assert_eq!(
            distinct(names.into_iter()),
            [(0, "a", 3), (1, "b", 2), (3, "c", 1)]
        );
        assert_eq!(times(1), "");
        assert_eq!(times(3), " (3 times)");
    }

    fn lines(text: &str) -> Vec<usize> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let mut c = LineCounter::new(text);
        r.records()
            .map(|rec| c.record_line(rec.unwrap().position().unwrap().byte()))
            .collect()
    }

    #[test]
    fn records_keep_their_file_lines() {
        assert_eq!(lines("h,a\n\n\n\nlong,-3\n"), [1, 5]);
        assert_eq!(lines("# c1\n# c2\nh,a\n\n\nbid,-1\n"), [3, 6]);
        assert_eq!(lines("h,a\r1,2\r3,4\r"), [1, 2, 3]);
        assert_eq!(lines("h,a\r\n\r\n#x\r\n1,2\r\n#y\r\n3,4"), [1, 4, 6]);
        assert_eq!(lines("h,a\r\r#x\r1,2\r"), [1, 4]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_found_by_line() {
        let text = decode(b"a,b\n1,\xff\n2,3\r\n\xfe\xfd\r5\n".to_vec());
        assert_eq!(not_utf8_lines(&text), [2, 4]);
        assert_eq!(decode(b"ok\n".to_vec()), "ok\n");
        assert!(not_utf8_lines("ok\nfine").is_empty());
    }
}
